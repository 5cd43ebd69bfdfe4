import { dayIndex, isoDay } from '../models/time/calendar.ts';
import type { EventTimeBounds } from '../models/customer/orderEvent.ts';
import { type CurationRequest, curationWindow, lastCompleteDay, windowBatches } from './curationWindow.ts';
import { type CurationTarget, newRunId, type TimeBounds } from './curationTarget.ts';

/**
 * The curation core: for every raw day of the window, rebuild its curated partition from the raw
 * orders (deduplicated, bounded) into a new location, then swap it in; then rebuild products and
 * the summary tables the API reads (lake/sql/curate_*.sql over the live order lines).
 * Idempotent: the rebuild is a function of the raw orders, so a second run, or a concurrent one,
 * swaps in the same rows. Nothing is appended, so nothing is counted twice.
 */

export interface CurateOptions {
  nowMs: number;
  lookbackDays: number;
  eventTime: EventTimeBounds;
  /** How long a superseded rebuild stays readable before it is deleted. */
  graceMs: number;
  /** Days per staged rebuild (Athena CTAS writes at most 100 partitions). */
  batchDays?: number;
  runId?: string;
}

export interface CuratedDay {
  date: string;
  lines: number;
  /** Lines before this run; null when the day had no partition. */
  previousLines: number | null;
  events: number;
  duplicates: number;
}

export interface CurationReport {
  runId: string;
  from: string;
  to: string;
  explicit: boolean;
  partitionsRebuilt: number;
  partitionsDropped: number;
  /** Whether this run rebuilt the summary tables (after any change, or when a lake had none yet). */
  summariesRebuilt: boolean;
  rows: number;
  events: number;
  duplicatesDropped: number;
  /** Lines a rebuild added to a past day that already had a partition: events that arrived after their day was curated (today's growth is not late). */
  lateRows: number;
  /** Lines of the last whole UTC day after this run (the freshness alarm's metric); null when the window does not hold it. */
  lastCompleteDayRows: number | null;
  /** Superseded rebuilds deleted (DuckDB: partition directories; Athena: S3 objects), older than the grace period. */
  removedVersions: number;
  /** Objects of superseded rebuilds the store refused to delete this run (retried by the next). */
  cleanupFailures: number;
  /** The first few refusals, `key: code`. */
  cleanupRefused: string[];
  /** Why the clean-up did not run or stopped (the run's curation stands); null when it ran. */
  cleanupError: string | null;
  bytesScanned: number;
  ms: number;
  days: CuratedDay[];
}

export async function curateLake(target: CurationTarget, request: CurationRequest, options: CurateOptions): Promise<CurationReport> {
  const started = performance.now();
  const window = curationWindow(request, options.nowMs, options.lookbackDays, options.eventTime.maxSkewMs);
  const runId = options.runId ?? newRunId(options.nowMs);
  const bounds: TimeBounds = {
    earliest: new Date(options.eventTime.earliestMs).toISOString(),
    latest: new Date(options.nowMs + options.eventTime.maxSkewMs).toISOString(),
  };
  const days: CuratedDay[] = [];
  let dropped = 0;
  for (const range of windowBatches(window, options.batchDays ?? 100)) {
    const raw = new Map((await target.rawDayCounts(range, bounds)).map((count) => [count.date, count]));
    const previous = await target.curatedDayCounts(range);
    const staged = await target.stageOrderLines(runId, range, bounds);
    const publish = [...staged.entries()].filter(([, lines]) => lines > 0).map(([date]) => date).sort();
    // A day whose rebuild is empty (its raw events all out of bounds, say) must not keep old lines.
    const drop = [...previous.keys()].filter((date) => !staged.get(date)).sort();
    if (publish.length > 0 || drop.length > 0) await target.publishOrderLines(runId, range, publish, drop);
    dropped += drop.length;
    for (const date of publish) {
      const count = raw.get(date);
      const events = count?.events ?? 0;
      days.push({ date, lines: staged.get(date)!, previousLines: previous.get(date) ?? null, events, duplicates: events - (count?.distinctEvents ?? 0) });
    }
  }
  const changed = days.length > 0 || dropped > 0;
  if (changed) await target.rebuildProducts(runId);
  // A lake curated before the summaries existed gets them at its next run, even a quiet one.
  const summariesRebuilt = changed || !(await target.summariesBuilt());
  if (summariesRebuilt) await target.rebuildSummaries(runId);
  // After the swaps, and never able to fail the run: the curated table is already right.
  const cleanup = await target.removeSuperseded(options.nowMs, options.graceMs);
  const yesterday = lastCompleteDay(options.nowMs);
  const today = isoDay(dayIndex(options.nowMs));
  const inWindow = window.from <= yesterday && yesterday <= window.to;
  return {
    runId,
    from: window.from,
    to: window.to,
    explicit: window.explicit,
    partitionsRebuilt: days.length,
    partitionsDropped: dropped,
    summariesRebuilt,
    rows: sum(days.map((day) => day.lines)),
    events: sum(days.map((day) => day.events)),
    duplicatesDropped: sum(days.map((day) => day.duplicates)),
    lateRows: sum(days.map((day) => (day.previousLines === null || day.date >= today ? 0 : Math.max(0, day.lines - day.previousLines)))),
    lastCompleteDayRows: inWindow ? (days.find((day) => day.date === yesterday)?.lines ?? 0) : null,
    removedVersions: cleanup.removed,
    cleanupFailures: cleanup.failed,
    cleanupRefused: cleanup.refused,
    cleanupError: cleanup.error,
    bytesScanned: target.bytesScanned(),
    ms: performance.now() - started,
    days,
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
