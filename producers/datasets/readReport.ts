import type { EventTimeBounds } from '../../models/customer/orderEvent.ts';

/** How a reader checks event times: rows outside the bounds, as of `nowMs`, are reported and left out. */
export interface DatasetReadOptions {
  /** Default: DEFAULT_EVENT_TIME_BOUNDS. */
  eventTime?: EventTimeBounds;
  /** Wall-clock time of the check (default: when the read starts). */
  nowMs?: number;
}

/** What a dataset reader did with each row: rows that cannot be read are never dropped silently. */
export interface RowIssue {
  line: number;
  reason: string;
}

const MAX_LISTED_ISSUES = 100;

export class ReadReport {
  rows = 0;
  events = 0;
  /** Rows deliberately left out by the format's rules (no customer, non-product code...), by reason. */
  readonly skipped: Record<string, number> = {};
  /** Rows that could not be read, by reason; the first MAX_LISTED_ISSUES are listed with line numbers. */
  readonly unreadable: Record<string, number> = {};
  readonly issues: RowIssue[] = [];

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  reject(line: number, reason: string): void {
    this.unreadable[reason] = (this.unreadable[reason] ?? 0) + 1;
    if (this.issues.length < MAX_LISTED_ISSUES) this.issues.push({ line, reason });
  }

  get unreadableCount(): number {
    return Object.values(this.unreadable).reduce((sum, count) => sum + count, 0);
  }

  toJSON() {
    return { rows: this.rows, events: this.events, skipped: this.skipped, unreadable: this.unreadable, issues: this.issues };
  }
}
