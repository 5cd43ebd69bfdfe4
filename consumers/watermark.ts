import { DEFAULT_EVENT_TIME_BOUNDS } from '../models/customer/orderEvent.ts';
import type { StateStore } from './stateStore/stateStore.ts';

/** How far past the wall clock an event time may lie: the OrderEvent bounds' default skew. */
export const DEFAULT_MAX_EVENT_SKEW_MS = DEFAULT_EVENT_TIME_BOUNDS.maxSkewMs;
/**
 * Wall time between two watermark writes of one consumer container. The stored watermark only
 * sets the as-of time of the sweep and of the API's reads (the consumer scores each customer as
 * of its own events), and the sweep runs every few minutes: a minute-old value costs nothing,
 * while writing it every batch would make one DynamoDB item the cap on the stream's width.
 */
const DEFAULT_WATERMARK_INTERVAL_MS = 60_000;

export interface WatermarkOptions {
  maxEventSkewMs?: number;
  publishIntervalMs?: number;
}

/** The watermark, bounded: never past the wall clock plus the allowed skew, whatever one event says. */
export function boundedWatermark(ms: number, nowMs: number, maxEventSkewMs = DEFAULT_MAX_EVENT_SKEW_MS): number {
  return Math.min(ms, nowMs + maxEventSkewMs);
}

/**
 * A consumer container's view of event time, per source (shard or partition): the latest event
 * time it has processed there, bounded by the wall clock plus the skew. It writes the store's
 * watermark item at most once per interval (the first batch of a container writes at once), so
 * the item's write rate is one per container per minute, not one per batch on every shard.
 *
 * `low()` is the event time every source has reached: a sweep as of it cannot run ahead of a
 * lagging shard (what the local runner sweeps by, so its alerts do not depend on the shards'
 * relative speed); `high()` is what is published.
 */
export class WatermarkTracker {
  private readonly bySource = new Map<string, number>();
  private readonly maxEventSkewMs: number;
  private readonly publishIntervalMs: number;
  private published = Number.NEGATIVE_INFINITY;
  private lastPublishAt = Number.NEGATIVE_INFINITY;
  /** Writes of the store's watermark so far. */
  writes = 0;

  constructor(options: WatermarkOptions = {}) {
    this.maxEventSkewMs = options.maxEventSkewMs ?? DEFAULT_MAX_EVENT_SKEW_MS;
    this.publishIntervalMs = options.publishIntervalMs ?? DEFAULT_WATERMARK_INTERVAL_MS;
  }

  observe(source: string, eventMs: number, nowMs: number): void {
    const ms = boundedWatermark(eventMs, nowMs, this.maxEventSkewMs);
    const known = this.bySource.get(source);
    if (known === undefined || ms > known) this.bySource.set(source, ms);
  }

  /** The latest event time seen on any source (-Infinity before any). */
  high(): number {
    let high = Number.NEGATIVE_INFINITY;
    for (const ms of this.bySource.values()) if (ms > high) high = ms;
    return high;
  }

  /** The latest event time every one of `sources` has reached (-Infinity until each has reported). */
  low(sources: number = this.bySource.size): number {
    if (this.bySource.size < sources || this.bySource.size === 0) return Number.NEGATIVE_INFINITY;
    let low = Number.POSITIVE_INFINITY;
    for (const ms of this.bySource.values()) if (ms < low) low = ms;
    return low;
  }

  /**
   * Writes the watermark if it rose since the last write and the interval has passed (or
   * `force`). Returns whether it wrote. A failed write is left for the next batch: the
   * watermark is advisory, never a reason to redeliver records.
   */
  async publish(store: Pick<StateStore, 'advanceWatermark'>, nowMs: number, force = false): Promise<boolean> {
    const high = this.high();
    if (!(high > this.published)) return false;
    if (!force && nowMs - this.lastPublishAt < this.publishIntervalMs) return false;
    try {
      await store.advanceWatermark(high);
    } catch {
      return false;
    }
    this.published = high;
    this.lastPublishAt = nowMs;
    this.writes++;
    return true;
  }
}

/** A batch's records grouped (by customer), each with its source and event time. */
export type BatchEventTimes = readonly { records: readonly { record: { source: string }; order: { eventMs: number } }[] }[];

export interface WatermarkDeps {
  store: Pick<StateStore, 'advanceWatermark'>;
  metrics: { count(name: 'WatermarkWrites', value: number): void };
  now?: () => number;
  /** This container's tracker; unset, one is kept per deps object. */
  watermark?: WatermarkTracker;
  eventTime?: { maxSkewMs?: number };
}

const trackers = new WeakMap<WatermarkDeps, WatermarkTracker>();

/** The container's watermark: `deps.watermark`, or one kept for this deps object. */
export function watermarkTrackerOf(deps: WatermarkDeps): WatermarkTracker {
  let tracker = deps.watermark ?? trackers.get(deps);
  if (tracker === undefined) {
    tracker = new WatermarkTracker({ maxEventSkewMs: deps.eventTime?.maxSkewMs });
    trackers.set(deps, tracker);
  }
  return tracker;
}

/**
 * Notes how far each source has been processed (a batch's records, in order) and writes the
 * store's watermark when the tracker's interval allows: no score depends on it, only the sweep's
 * and the API's as-of times.
 */
export async function publishBatchWatermark(groups: BatchEventTimes, deps: WatermarkDeps): Promise<void> {
  const now = deps.now?.() ?? Date.now();
  const tracker = watermarkTrackerOf(deps);
  // A batch comes from one source: observe once per run of records from the same source.
  let source = '';
  let high = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < groups.length; i++) {
    const items = groups[i].records;
    for (let j = 0; j < items.length; j++) {
      const { record, order } = items[j];
      if (record.source !== source) {
        if (high > Number.NEGATIVE_INFINITY) tracker.observe(source, high, now);
        source = record.source;
        high = Number.NEGATIVE_INFINITY;
      }
      if (order.eventMs > high) high = order.eventMs;
    }
  }
  if (high > Number.NEGATIVE_INFINITY) tracker.observe(source, high, now);
  if (await tracker.publish(deps.store, now)) deps.metrics.count('WatermarkWrites', 1);
}
