import { describe, expect, it } from 'vitest';
import type { AlertSink } from '../../consumers/alerts/alertSink.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import { type ConsumerDeps, processRecords } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { runSweep, sweepAll } from '../../consumers/sweep.ts';
import { ALERT_SOURCE } from '../../models/customer/alertEvent.ts';
import { alertEventId } from '../../models/customer/riskPolicy.ts';
import { order } from '../support/orderEvents.ts';
import { RecencyModel, CHURN_POLICY } from '../support/recencyModel.ts';

// Churn = 1 - exp(-silentDays / 20): at risk (0.6) on the 19th silent day.
const model = new RecencyModel(20);
const at = (iso: string) => Date.parse(iso);
let position = 0;
const record = (customerId: string, orderId: string, occurredAt: string) => ({
  source: 'shard-1',
  position: String(++position),
  data: Buffer.from(JSON.stringify(order(customerId, orderId, occurredAt, 30))).toString('base64'),
});

function depsWith(alerts: AlertSink, deadLetters = new MemoryDeadLetterSink()) {
  const deps: ConsumerDeps & { metrics: CounterMetrics; deadLetters: MemoryDeadLetterSink } = {
    store: new MemoryStateStore(),
    alerts,
    deadLetters,
    model,
    policy: CHURN_POLICY,
    metrics: new CounterMetrics(),
    clock: 'event',
  };
  return deps;
}

describe('alert outboxes: delivered by the sweep, never by failing records', () => {
  it('fails no record while the bus refuses every call, and the sweep delivers the outbox in order once it answers', async () => {
    const bus = new MemoryAlertSink();
    let broken = false;
    const deps = depsWith({ publish: (alerts) => (broken ? Promise.reject(new Error('ResourceNotFoundException: no such bus')) : bus.publish(alerts)) });
    expect((await processRecords([record('c', 'o0', '2023-12-28T10:00:00Z'), record('c', 'o1', '2024-01-01T10:00:00Z')], deps)).failedPositions).toEqual([]);

    broken = true;
    expect(await sweepAll(deps, at('2024-01-25T00:00:00Z'), 10)).toMatchObject({ rescored: 1, alertsPublished: 0, deferred: 1 });
    expect((await processRecords([record('c', 'o2', '2024-01-26T10:00:00Z')], deps)).failedPositions).toEqual([]);
    const stored = (await deps.store.getMany(['c'])).get('c')!;
    expect(stored).toMatchObject({ orders: 3, atRisk: false });
    const ids = [alertEventId('c', 'Customer At Risk', 1), alertEventId('c', 'Customer Recovered', 2)];
    expect(stored.outbox.map((alert) => alert.detail.eventId)).toEqual(ids);
    expect(await deps.store.pendingOutboxes(10)).toEqual(['c']);

    broken = false;
    expect(await sweepAll(deps, at('2024-01-27T00:00:00Z'), 10)).toMatchObject({ pending: 1, alertsPublished: 2, deferred: 0 });
    expect(bus.delivered.map((alert) => alert.detail.eventId)).toEqual(ids);
    expect(await deps.store.pendingOutboxes(10)).toEqual([]);
    expect((await deps.store.getMany(['c'])).get('c')!.outbox).toEqual([]);
    expect(await runSweep(deps, at('2024-01-27T00:00:00Z'), 10)).toMatchObject({ pending: 0, alertsPublished: 0 });
    expect(bus.delivered).toHaveLength(2);
  });

  it('keeps a refused alert pending while the dead-letter sink is down, and sets it aside with its code on the next sweep', async () => {
    const deps = depsWith(new MemoryAlertSink({ rejectWhen: (alert) => (alert.detail.customerId === 'r' ? 'MalformedDetail' : undefined) }));
    // A repeat customer: only those are announced at risk (a one-time buyer is 'not returning').
    await processRecords([record('r', 'o0', '2023-12-28T10:00:00Z'), record('r', 'o1', '2024-01-01T10:00:00Z')], deps);
    deps.deadLetters.failNext(1);
    expect(await runSweep(deps, at('2024-01-25T00:00:00Z'), 10)).toMatchObject({ rescored: 1, alertsDeadLettered: 0, deferred: 1 });
    expect(await deps.store.pendingOutboxes(10)).toEqual(['r']);

    expect(await runSweep(deps, at('2024-01-25T00:00:00Z'), 10)).toMatchObject({ due: 0, pending: 1, alertsDeadLettered: 1, deferred: 0 });
    const eventId = alertEventId('r', 'Customer At Risk', 1);
    expect(deps.deadLetters.letters).toEqual([
      expect.objectContaining({ source: ALERT_SOURCE, position: eventId, partitionKey: 'r', errorCode: 'MalformedDetail', reason: 'alert refused by the event bus: MalformedDetail: MalformedDetail (injected)' }),
    ]);
    expect(JSON.parse(deps.deadLetters.letters[0].data)).toMatchObject({ detailType: 'Customer At Risk', detail: { eventId } });
    expect(await deps.store.pendingOutboxes(10)).toEqual([]);
    expect(deps.metrics.get('AlertsDeadLettered')).toBe(1);
  });
});
