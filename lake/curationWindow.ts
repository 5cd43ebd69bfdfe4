import { z } from 'zod';
import { DAY_MS, dayIndex, isoDay, parseIsoDay } from '../models/time/calendar.ts';

/**
 * Which raw days a curation run rebuilds. Scheduled runs (no input) take the look-back window:
 * the last `lookbackDays` whole days, today, and, when events may be stamped up to the skew ahead
 * of the clock, the days that reaches. That covers Firehose's buffering and late arrivals. A replay
 * or backfill older than that names its days: `{from, to}`, inclusive.
 */

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day, YYYY-MM-DD')
  .refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), 'is not a calendar day');

/** The Lambda's event and the CLI's options: both days or neither. */
export const CurationRequestSchema = z
  .object({ from: Day.optional(), to: Day.optional() })
  .strict()
  .refine((request) => (request.from === undefined) === (request.to === undefined), 'from and to go together')
  .refine((request) => request.from === undefined || request.to === undefined || request.from <= request.to, 'from must not be after to');

export type CurationRequest = z.infer<typeof CurationRequestSchema>;

/** A run's days, inclusive; `explicit` when the caller named them. */
export interface CurationWindow {
  from: string;
  to: string;
  days: number;
  explicit: boolean;
}

/** The longest explicit range one run takes (ten years); longer backfills are split by the caller. */
export const MAX_WINDOW_DAYS = 3660;

export function curationWindow(request: CurationRequest, nowMs: number, lookbackDays: number, maxSkewMs: number): CurationWindow {
  if (request.from !== undefined && request.to !== undefined) {
    const days = parseIsoDay(request.to) - parseIsoDay(request.from) + 1;
    if (days > MAX_WINDOW_DAYS) throw new RangeError(`from..to spans ${days} days, more than ${MAX_WINDOW_DAYS}: split the backfill`);
    return { from: request.from, to: request.to, days, explicit: true };
  }
  const today = dayIndex(nowMs);
  const first = today - lookbackDays;
  const last = dayIndex(nowMs + maxSkewMs);
  return { from: isoDay(first), to: isoDay(last), days: last - first + 1, explicit: false };
}

/** The window cut into consecutive ranges of at most `size` days (Athena's CTAS writes up to 100 partitions). */
export function windowBatches(window: CurationWindow, size: number): { from: string; to: string }[] {
  const batches: { from: string; to: string }[] = [];
  const last = parseIsoDay(window.to);
  for (let first = parseIsoDay(window.from); first <= last; first += size) {
    batches.push({ from: isoDay(first), to: isoDay(Math.min(last, first + size - 1)) });
  }
  return batches;
}

/** The last whole UTC day before `nowMs`: the day the freshness alarm watches. */
export function lastCompleteDay(nowMs: number): string {
  return isoDay(dayIndex(nowMs - DAY_MS));
}
