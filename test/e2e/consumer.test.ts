import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { runSweep } from '../../consumers/sweep.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import { type CustomerState, statisticsOf } from '../../models/customer/customerState.ts';
import { type OrderEvent, OrderEventSchema } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { kinesisRecord, toKinesisEvents } from '../../bench/kinesisBatches.ts';
import { startConsumerPeers, deliverUntilDone } from '../support/consumerHarness.ts';
import { order, shuffled } from '../support/orderEvents.ts';
import { RecencyModel } from '../support/recencyModel.ts';

const model = new RecencyModel(20);
const events = generateEvents({ customers: 40, days: 240, seed: 11, start: '2024-01-01' });

let peers: Awaited<ReturnType<typeof startConsumerPeers>>;
beforeAll(async () => {
  peers = await startConsumerPeers();
});
afterAll(() => peers.close());

async function allStates(store: StateStore): Promise<Map<string, CustomerState>> {
  const states = new Map<string, CustomerState>();
  for await (const page of store.scan()) for (const state of page) states.set(state.customerId, state);
  return states;
}

function statistics(states: Map<string, CustomerState>) {
  return [...states.values()].map(statisticsOf).sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
}

async function runOnce(batches: KinesisStreamEvent[], times = 1) {
  const deps = await peers.deps(model);
  const before = peers.eventBridge.received.length;
  const handler = createKinesisHandler(() => deps);
  for (const batch of batches) for (let i = 0; i < times; i++) await deliverUntilDone(handler, batch);
  return { deps, states: await allStates(deps.store), alerts: peers.eventBridge.received.slice(before) };
}

describe('Kinesis consumer against dynalite and the EventBridge protocol endpoint', () => {
  it('reaches the same state and sends exactly one alert per transition when every batch is delivered three times', async () => {
    const batches = toKinesisEvents(events, 50);
    const once = await runOnce(batches, 1);
    const thrice = await runOnce(batches, 3);
    expect(once.alerts.length).toBeGreaterThan(0);
    const ids = (alerts: typeof once.alerts) => alerts.map((a) => JSON.parse(a.Detail!).eventId as string);
    expect(new Set(ids(thrice.alerts)).size).toBe(thrice.alerts.length);
    expect(ids(thrice.alerts).sort()).toEqual(ids(once.alerts).sort());
    const strip = (states: Map<string, CustomerState>) => [...states.values()].map(({ version: _v, ...rest }) => rest).sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
    expect(strip(thrice.states)).toEqual(strip(once.states));
    expect(thrice.deps.metrics.get('DuplicatePositions')).toBe(2 * events.length);
  });

  it('reaches the same statistics when events are shuffled within and across batches', async () => {
    const ordered = await runOnce(toKinesisEvents(events, 50));
    for (const seed of [1, 2]) {
      const mixed = await runOnce(toKinesisEvents(shuffled(events, seed), 37));
      expect(statistics(mixed.states)).toEqual(statistics(ordered.states));
    }
  });

  it('recovers the same final state after the handler fails part-way and the batch is redelivered', async () => {
    const batches = toKinesisEvents(events, 100);
    const reference = await runOnce(batches);
    const deps = await peers.deps(model);
    const real = deps.store;
    let saves = 0;
    // A transient store outage on every 7th write: those customers' records are reported failed.
    deps.store = Object.assign(Object.create(real), {
      save: async (state: CustomerState) => {
        if (++saves % 7 === 0) throw new Error('ProvisionedThroughputExceededException (injected)');
        return real.save(state);
      },
      getMany: real.getMany.bind(real),
    });
    const handler = createKinesisHandler(() => deps);
    let redeliveries = 0;
    for (const batch of batches) redeliveries += (await deliverUntilDone(handler, batch)) - 1;
    expect(redeliveries).toBeGreaterThan(0);
    expect(statistics(await allStates(real))).toEqual(statistics(reference.states));
  });

  it('loses no update when the consumer and the sweep race on one customer', async () => {
    for (const sweepFirst of [true, false]) {
      const deps = await peers.deps(model);
      const handler = createKinesisHandler(() => deps);
      await deliverUntilDone(handler, toKinesisEvents([order('race', 'o0', '2023-12-28T10:00:00Z', 10), order('race', 'o1', '2024-01-01T10:00:00Z', 40)], 10)[0]);
      const stored = (await deps.store.getMany(['race'])).get('race')!;
      // The day after the crossing day: the sweep announces the crossing, and so does the purchase's batch.
      const asOf = stored.dueAtMs! + 86_400_000 + 3_600_000;

      // Both read the same version before either writes.
      const real = deps.store;
      let waiting: (() => void)[] = [];
      let held = 0;
      deps.store = Object.assign(Object.create(real), {
        getMany: async (ids: readonly string[]) => {
          const result = await real.getMany(ids);
          if (held < 2) {
            held++;
            await new Promise<void>((resolve) => {
              waiting.push(resolve);
              if (waiting.length === 2) { waiting.forEach((go) => go()); waiting = []; }
            });
          }
          return result;
        },
        save: async (state: CustomerState) => {
          if (!sweepFirst && state.outbox.length === 0 && state.orders === 2) await new Promise((r) => setTimeout(r, 50));
          if (sweepFirst && state.orders === 3) await new Promise((r) => setTimeout(r, 50));
          return real.save(state);
        },
      });
      const purchase = toKinesisEvents([order('race', 'o2', new Date(asOf).toISOString(), 15)], 10)[0];
      purchase.Records[0] = kinesisRecord(purchase.Records[0].kinesis.data, 'race', 2);
      await Promise.all([deliverUntilDone(handler, purchase), runSweep(deps, asOf, 10)]);

      const final = (await real.getMany(['race'])).get('race')!;
      expect(final.orders).toBe(3);
      expect(final.spendCents).toBe(6_500);
      expect(deps.metrics.get('VersionConflicts')).toBeGreaterThan(0);
      expect(final.atRisk).toBe(false);
      expect(final.outbox).toEqual([]);
    }
  });

  it('sets aside 1,000 malformed records with their reasons and applies every good record around them', async () => {
    const valid = (payload: unknown) => OrderEventSchema.safeParse(payload).success;
    const good = events.filter((e) => e.type === 'order').slice(0, 500);
    const mutated = fc.oneof(
      fc.string(),
      fc.json(),
      fc.constantFrom(...good).chain((e) =>
        fc.oneof(
          fc.constant({ ...e, customerId: undefined }),
          fc.constant({ ...e, occurredAt: 'not a date' }),
          fc.constant({ ...e, type: 'refund' }),
          fc.constant({ ...e, lines: [] }),
          fc.double().map((q) => ({ ...e, lines: [{ ...e.lines[0], quantity: -Math.abs(q) }] })),
          fc.anything().map((value) => ({ ...e, lines: value })),
        ),
      ),
    );
    const bad = fc.sample(mutated, { seed: 5, numRuns: 4_000 }).map((p) => (typeof p === 'string' ? p : JSON.stringify(p) ?? 'undefined'))
      .filter((text) => { try { return !valid(JSON.parse(text)); } catch { return true; } })
      .slice(0, 1_000);
    expect(bad).toHaveLength(1_000);
    const payloads = [...good.map((e) => JSON.stringify(e)), ...bad];
    const mixed = shuffled(payloads.map((text, i) => ({ text, i })), 3);
    const records = mixed.map(({ text }, i) => kinesisRecord(Buffer.from(text).toString('base64'), `k${i}`, i));
    const deps = await peers.deps(model);
    const deadBefore = peers.sqs.received.length;
    const handler = createKinesisHandler(() => deps);
    for (let i = 0; i < records.length; i += 100) await deliverUntilDone(handler, { Records: records.slice(i, i + 100) });

    const letters = peers.sqs.received.slice(deadBefore).map((m) => JSON.parse(m.MessageBody!));
    expect(letters).toHaveLength(1_000);
    for (const letter of letters) expect(letter.reason).toMatch(/^(not JSON|not an OrderEvent v1): ./);
    const states = await allStates(deps.store);
    const expectedOrders = new Map<string, number>();
    for (const e of good) expectedOrders.set(e.customerId, (expectedOrders.get(e.customerId) ?? 0) + 1);
    expect(new Map([...states].map(([id, s]) => [id, s.orders]))).toEqual(expectedOrders);
  });

  it('resends only the failed alerts and keeps the rest of the batch moving when EventBridge partly fails', async () => {
    const flaky = await startConsumerPeers({ failEntry: (_entry, { attempt }) => (attempt <= 2 ? { code: 'ThrottlingException', message: 'Rate exceeded' } : undefined) });
    try {
      const deps = await flaky.deps(model);
      const handler = createKinesisHandler(() => deps);
      for (const batch of toKinesisEvents(events, 50)) await deliverUntilDone(handler, batch);
      const accepted = flaky.eventBridge.received.map((e) => JSON.parse(e.Detail!).eventId as string);
      expect(accepted.length).toBeGreaterThan(0);
      expect(new Set(accepted).size).toBe(accepted.length);
      const sent = flaky.eventBridge.calls.flatMap((c) => c.entries.map((e) => JSON.parse(e.Detail!).eventId as string));
      const perAlert = new Map<string, number>();
      for (const id of sent) perAlert.set(id, (perAlert.get(id) ?? 0) + 1);
      // Each alert travels exactly three times: twice failed, once accepted.
      expect([...perAlert.values()].every((n) => n === 3)).toBe(true);
      for (const state of (await allStates(deps.store)).values()) expect(state.outbox).toEqual([]);
    } finally {
      await flaky.close();
    }
  });
});

export type { OrderEvent };
