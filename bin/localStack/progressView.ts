import cliProgress from 'cli-progress';

/** Seconds between two plain progress lines when stderr is not a terminal (CI, pipes). */
const PLAIN_LINE_EVERY_MS = 5_000;
/** The rate is measured over this much recent wall time, so the ETA follows the current pace. */
const RATE_WINDOW_MS = 10_000;

/**
 * The replay's progress: a bar with records/s and an ETA on a terminal, a plain line every few
 * seconds elsewhere. Alerts print above the bar.
 */
export class ProgressView {
  private readonly multibar?: cliProgress.MultiBar;
  private readonly bar?: cliProgress.SingleBar;
  private readonly started = performance.now();
  private readonly samples: { at: number; done: number }[] = [];
  private lastLineAt = performance.now();
  private done = 0;

  constructor(private readonly total: number, private readonly quiet: boolean) {
    if (quiet || !process.stderr.isTTY) return;
    this.multibar = new cliProgress.MultiBar(
      {
        format: '  replay |{bar}| {value}/{total} records | {rate} records/s | ETA {eta_left}',
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stderr,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar = this.multibar.create(total, 0, { rate: '-', eta_left: '-' });
  }

  advance(records: number): void {
    this.done += records;
    const now = performance.now();
    this.samples.push({ at: now, done: this.done });
    while (this.samples.length > 2 && now - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
    const rate = this.rate(now);
    const eta = rate > 0 ? formatSeconds((this.total - this.done) / rate) : '-';
    if (this.bar) this.bar.update(Math.min(this.done, this.total), { rate: Math.round(rate).toLocaleString(), eta_left: eta });
    else if (!this.quiet && now - this.lastLineAt >= PLAIN_LINE_EVERY_MS) {
      this.lastLineAt = now;
      process.stderr.write(`  replay ${this.done.toLocaleString()}/${this.total.toLocaleString()} records, ${Math.round(rate).toLocaleString()} records/s, ETA ${eta}\n`);
    }
  }

  log(line: string): void {
    if (this.quiet) return;
    if (this.multibar) this.multibar.log(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  }

  stop(): void {
    this.multibar?.stop();
  }

  /** Records per second over the recent window (over the whole run until the window has two samples). */
  private rate(now: number): number {
    const first = this.samples.length > 1 ? this.samples[0] : { at: this.started, done: 0 };
    const seconds = (now - first.at) / 1000;
    return seconds > 0 ? (this.done - first.done) / seconds : 0;
  }
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
