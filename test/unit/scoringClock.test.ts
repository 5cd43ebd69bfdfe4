import { describe, expect, it } from 'vitest';
import { toKinesisEvents } from '../../bench/kinesisBatches.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { runSweep } from '../../consumers/sweep.ts';
import { DEFAULT_MAX_EVENT_SKEW_MS } from '../../consumers/watermark.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { DAY_MS } from '../../models/time/calendar.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { order } from '../support/orderEvents.ts';
import { RecencyModel, CHURN_POLICY } from '../support/recencyModel.ts';

const NOW = Date.parse('2024-03-01T12:00:00Z');

/** A memory store that counts the consumer's reads and writes of the watermark item. */
class CountingStore extends MemoryStateStore {
  watermarkReads = 0;
  watermarkWrites = 0;
  override async getWatermark(): Promise<number> {
    this.watermarkReads++;
    return super.getWatermark();
  }
  override async advanceWatermark(ms: number): Promise<void> {
    this.watermarkWrites++;
    return super.advanceWatermark(ms);
  }
}

function depsAt(now: () => number, clock: 'event' | 'wall' = 'event') {
  const store = new CountingStore();
  const metrics = new CounterMetrics();
  const alerts = new MemoryAlertSink();
  const deps: ConsumerDeps = {
    store, alerts, metrics, clock, now,
    deadLetters: new MemoryDeadLetterSink(),
    model: new RecencyModel(20),
    policy: CHURN_POLICY,
  };
  return { deps, store, metrics, alerts, handler: createKinesisHandler(() => deps) };
}

async function replay(events: readonly OrderEvent[], clock: 'event' | 'wall' = 'event') {
  const run = depsAt(() => NOW, clock);
  for (const batch of toKinesisEvents(events, 100)) expect((await run.handler(batch)).batchItemFailures).toEqual([]);
  return run;
}

describe('the scoring clock', () => {
  const good = [order('a', 'a1', '2024-02-01T10:00:00Z', 40), order('a', 'a2', '2024-02-10T10:00:00Z', 25)];

  for (const clock of ['event', 'wall'] as const) {
    it(`scores a customer as of its own latest event, whatever another customer's event says (clock ${clock})`, async () => {
      const alone = await replay(good, clock);
      const mixed = await replay([good[0], order('b', 'b1', new Date(NOW + DEFAULT_MAX_EVENT_SKEW_MS - 60_000).toISOString(), 10), good[1]], clock);
      const [a, b] = [(await alone.store.getMany(['a'])).get('a')!, (await mixed.store.getMany(['a'])).get('a')!];
      expect(b.score).toEqual(a.score);
      expect(b.score!.asOfMs).toBe(Date.parse('2024-02-10T10:00:00Z'));
      expect(b.atRisk).toBe(false);
      expect(mixed.alerts.delivered).toEqual([]);
    });
  }

  it('never lets the stored watermark pass the wall clock plus the allowed skew', async () => {
    const run = await replay([...good, order('b', 'b1', '2099-01-01T00:00:00Z', 10)]);
    expect(await run.store.getWatermark()).toBeLessThanOrEqual(NOW + DEFAULT_MAX_EVENT_SKEW_MS);
    // A sweep as of a watermark of 2099 would have scored every customer silent for 75 years.
    await runSweep(run.deps, await run.store.getWatermark(), 100);
    expect((await run.store.getMany(['a'])).get('a')!.score!.asOfMs).toBeLessThanOrEqual(NOW + DEFAULT_MAX_EVENT_SKEW_MS);
  });

  it('writes the watermark item at most once a minute per container, and never reads it', async () => {
    // 2,000 batches, one a second of wall time: 34 minutes of a busy shard.
    const events = generateEvents({ customers: 2_000, days: 120, seed: 3, start: '2024-01-01' });
    const batches = toKinesisEvents(events, 2);
    let now = Date.parse('2025-01-01T00:00:00Z');
    const run = depsAt(() => now);
    for (const batch of batches) {
      expect((await run.handler(batch)).batchItemFailures).toEqual([]);
      now += 1_000;
    }
    expect(batches.length).toBeGreaterThan(1_500);
    expect(run.store.watermarkReads).toBe(0);
    expect(run.store.watermarkWrites).toBe(run.metrics.get('WatermarkWrites'));
    expect(run.store.watermarkWrites / batches.length).toBeLessThanOrEqual(0.1);
    expect(run.store.watermarkWrites).toBe(Math.ceil((batches.length * 1_000) / 60_000));
    // Stale by at most the interval: at least the latest event time of a minute ago.
    expect(await run.store.getWatermark()).toBeGreaterThanOrEqual(Date.parse(events[events.length - 61 * 2].occurredAt));
  });

  it('announces a crossing as of its day before the next purchase, and none when the purchase is on that day', async () => {
    // A repeat customer: only those are announced at risk.
    const first = [order('c', 'c0', '2024-01-25T10:00:00Z', 20), order('c', 'c1', '2024-02-01T10:00:00Z', 40)];
    const probe = await replay(first);
    const dueAtMs = (await probe.store.getMany(['c'])).get('c')!.dueAtMs!;
    expect(dueAtMs % DAY_MS).toBe(0);

    const sameDay = await replay([...first, order('c', 'c2', new Date(dueAtMs + 20 * 3_600_000).toISOString(), 10)]);
    expect(sameDay.alerts.delivered).toEqual([]);

    const dayAfter = await replay([...first, order('c', 'c2', new Date(dueAtMs + DAY_MS + 3_600_000).toISOString(), 10)]);
    expect(dayAfter.alerts.delivered.map((a) => [a.detailType, a.detail.asOf])).toEqual([
      ['Customer At Risk', new Date(dueAtMs).toISOString()],
      ['Customer Recovered', new Date(dueAtMs + DAY_MS + 3_600_000).toISOString()],
    ]);
  });
});
