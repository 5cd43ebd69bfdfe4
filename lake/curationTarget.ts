import { randomBytes } from 'node:crypto';

/**
 * The curation's port: where raw orders are read and curated partitions written and swapped in.
 * Adapters: Athena over S3 and Glue (athenaCurationTarget.ts) and DuckDB over local files
 * (duckdbCurationTarget.ts). Both run the same SQL files (lake/sql/); they differ only in how a
 * rebuild is written (CTAS / COPY) and swapped in (a Glue partition location / a symlink).
 */

/** A range of raw days, inclusive. */
export interface DayRange {
  from: string;
  to: string;
}

/** Event-time bounds as ISO-8601 UTC times: events outside them never enter the curated lake. */
export interface TimeBounds {
  earliest: string;
  latest: string;
}

export interface RawDayCount {
  date: string;
  /** Events the curation takes (well-formed, within the bounds), copies included. */
  events: number;
  /** Distinct (type, order id) among them. */
  distinctEvents: number;
}

/** What a clean-up of superseded rebuilds did. */
export interface SupersededRemoval {
  /** Rebuilds removed (DuckDB: partition directories; Athena: S3 objects). */
  removed: number;
  /** Objects the store refused to delete; a later run tries again. */
  failed: number;
  /** The first few refusals, `key: code`, for the log. */
  refused: string[];
  /** Why the clean-up did not run or stopped (S3 unreachable, say); null when it ran. The run itself stands. */
  error: string | null;
}

export interface CurationTarget {
  readonly kind: 'athena' | 'duckdb';
  rawDayCounts(range: DayRange, bounds: TimeBounds): Promise<RawDayCount[]>;
  /** Lines per day of the live curated table. */
  curatedDayCounts(range: DayRange): Promise<Map<string, number>>;
  /** Writes the rebuild of every day of the range to a location of this run, not yet read by anyone; lines per day written. */
  stageOrderLines(runId: string, range: DayRange, bounds: TimeBounds): Promise<Map<string, number>>;
  /** Points each of `days` at this run's rebuild, one atomic swap per partition; removes the partitions of `drop`. */
  publishOrderLines(runId: string, range: DayRange, days: readonly string[], drop: readonly string[]): Promise<void>;
  /** Rebuilds products from the live order lines into this run's location and swaps it in. */
  rebuildProducts(runId: string): Promise<void>;
  /** Rebuilds every summary table (SUMMARY_TABLES) from the live order lines into this run's locations and swaps each in. */
  rebuildSummaries(runId: string): Promise<void>;
  /** Whether every summary table points at a rebuild (false for a lake curated before the summaries existed). */
  summariesBuilt(): Promise<boolean>;
  /** Deletes rebuilds no table points at any more, once older than the grace period (queries that planned on them have finished). Never throws. */
  removeSuperseded(nowMs: number, graceMs: number): Promise<SupersededRemoval>;
  /** Bytes the target's queries scanned so far (Athena's DataScannedInBytes; DuckDB: bytes of the files read). */
  bytesScanned(): number;
  close(): Promise<void>;
}

/**
 * A run's id: its start time (so superseded rebuilds can be aged) and 48 random bits (so two runs
 * started in the same second never share a location). Lower-case letters, digits and `_`: it is
 * part of table names and S3 keys.
 */
export function newRunId(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
  return `r${stamp}z_${randomBytes(6).toString('hex')}`;
}

const RUN_ID = /^r(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z_[0-9a-f]{12}$/;

/** The start time of a run id, or undefined for anything else (never deleted). */
export function runStartMs(runId: string): number | undefined {
  const match = RUN_ID.exec(runId);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isRunId(text: string): boolean {
  return RUN_ID.test(text);
}
