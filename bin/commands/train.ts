import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { trainBtyd } from '../../models/btydTraining.ts';
import { dayIndex, isoDay, parseIsoDay } from '../../models/calendar.ts';
import { DATASET_FORMATS, readDataset, type DatasetFormat } from '../../producers/datasets/index.ts';

/** `demand-insights train`: fit BG/NBD + Gamma-Gamma on a dataset and write the versioned artifact. */
export interface TrainOptions {
  data?: unknown;
  format?: unknown;
  out?: unknown;
  calibrationEnd?: unknown;
  horizonDays?: unknown;
}

const MAX_HORIZON_DAYS = 3650;

export async function run(options: TrainOptions): Promise<void> {
  const started = performance.now();
  const data = requiredText(options.data, '--data');
  const out = requiredText(options.out, '--out');
  const format = datasetFormat(options.format);
  const horizonDays = horizonDaysOf(options.horizonDays ?? '90');
  const requestedEnd = options.calibrationEnd === undefined ? undefined : calibrationEndOf(options.calibrationEnd);

  await access(data).catch((error: Error) => {
    throw new Error(`--data: cannot read ${data} (${error.message})`);
  });
  const { events, report } = await readDataset(data, format);
  if (events.length === 0) throw new Error(`${data}: no events could be read (${report.unreadableCount} unreadable rows)`);
  const calibrationEnd = requestedEnd ?? isoDay(dayIndex(Date.parse(events[events.length - 1].occurredAt)));
  const artifact = trainBtyd(events, { calibrationEnd, horizonDays });

  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(artifact, null, 2)}\n`);
  const seconds = (performance.now() - started) / 1000;
  const { bgnbd, gammaGamma, trainedOn } = artifact;
  const lines = [
    `model ${artifact.version} written to ${out}`,
    `  data        ${data} (${format}): ${report.events} events read, ${report.unreadableCount} rows unreadable`,
    `  calibration up to ${calibrationEnd}: ${trainedOn.customers} customers, ${trainedOn.events} events; horizon ${horizonDays} days`,
    `  BG/NBD      r=${fixed(bgnbd.r)} alpha=${fixed(bgnbd.alpha)} a=${fixed(bgnbd.a)} b=${fixed(bgnbd.b)}  log-likelihood ${bgnbd.logLikelihood.toFixed(2)}`,
    `  Gamma-Gamma p=${fixed(gammaGamma.p)} q=${fixed(gammaGamma.q)} gamma=${fixed(gammaGamma.gamma)}  log-likelihood ${gammaGamma.logLikelihood.toFixed(2)}`,
    `  ${seconds.toFixed(2)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function fixed(value: number): string {
  return value.toPrecision(4);
}

function requiredText(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${flag} is required`);
  return value;
}

function datasetFormat(value: unknown): DatasetFormat {
  if (typeof value === 'string' && (DATASET_FORMATS as readonly string[]).includes(value)) return value as DatasetFormat;
  throw new Error(`--format must be one of ${DATASET_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
}

function horizonDaysOf(value: unknown): number {
  const text = String(value).trim();
  const days = Number(text);
  if (!/^\d+$/.test(text) || days < 1 || days > MAX_HORIZON_DAYS) {
    throw new Error(`--horizon-days must be a whole number of days from 1 to ${MAX_HORIZON_DAYS}, got "${text}"`);
  }
  return days;
}

function calibrationEndOf(value: unknown): string {
  const text = String(value).trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new Error(`--calibration-end must be a date YYYY-MM-DD, got "${text}"`);
  // Date.parse rolls 2024-02-30 over to March; a real date survives the round trip.
  if (isoDayOrNull(text) !== text) throw new Error(`--calibration-end is not a calendar date: "${text}"`);
  return text;
}

function isoDayOrNull(text: string): string | null {
  try {
    return isoDay(parseIsoDay(text));
  } catch {
    return null;
  }
}
