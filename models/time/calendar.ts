/** Event time is kept as UTC milliseconds; purchase occasions are UTC calendar days. */
export const DAY_MS = 86_400_000;
export const WEEK_DAYS = 7;

export function dayIndex(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Weeks start on Monday; 1970-01-01 was a Thursday, so shift by 3 days. */
export function weekIndex(day: number): number {
  return Math.floor((day + 3) / WEEK_DAYS);
}

export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function parseIsoDay(text: string): number {
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new Error(`not a date (YYYY-MM-DD): ${text}`);
  return dayIndex(ms);
}
