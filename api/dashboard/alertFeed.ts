import type { PendingAlert } from '../../models/customer/alertEvent.ts';

/** One alert as the dashboard's feed sends it: a sequence number, then the bus event's type and detail. */
export interface FeedEntry {
  seq: number;
  detailType: PendingAlert['detailType'];
  detail: PendingAlert['detail'];
}

export interface AlertFeedOptions {
  /** Alerts kept for late subscribers and pollers; older ones are dropped (default 5,000). */
  capacity?: number;
}

/**
 * The live alert feed behind the dashboard: the local stack's alert sink adds what it delivered
 * (consumers/alerts/fanOutAlertSink.ts), and the dashboard's server-sent-event stream and polling
 * endpoint read it. Delivery to the bus is at least once, so a repeat of an event id already in
 * the feed is dropped: a subscriber sees each transition once. Bounded: a replay of millions of
 * alerts keeps only the last `capacity` (and their ids).
 */
export class AlertFeed {
  private readonly capacity: number;
  private readonly entries: FeedEntry[] = [];
  private readonly ids = new Set<string>();
  private readonly listeners = new Set<(entry: FeedEntry) => void>();
  private nextSeq = 1;

  constructor(options: AlertFeedOptions = {}) {
    this.capacity = Math.max(1, options.capacity ?? 5_000);
  }

  add(alerts: readonly PendingAlert[]): void {
    for (const alert of alerts) {
      if (this.ids.has(alert.detail.eventId)) continue;
      const entry: FeedEntry = { seq: this.nextSeq++, detailType: alert.detailType, detail: alert.detail };
      this.entries.push(entry);
      this.ids.add(alert.detail.eventId);
      if (this.entries.length > this.capacity) this.ids.delete(this.entries.shift()!.detail.eventId);
      for (const listener of this.listeners) listener(entry);
    }
  }

  /** Kept entries with a sequence number above `afterSeq`, oldest first, at most `limit`. */
  since(afterSeq: number, limit = this.capacity): FeedEntry[] {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.entries[mid].seq <= afterSeq) low = mid + 1;
      else high = mid;
    }
    return this.entries.slice(low, low + limit);
  }

  /** The sequence number of the latest alert (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  subscribe(listener: (entry: FeedEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
