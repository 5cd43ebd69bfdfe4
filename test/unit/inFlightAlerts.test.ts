import { describe, expect, it } from 'vitest';
import type { AlertSink } from '../../consumers/alerts/alertSink.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import { type ConsumerDeps, processRecords } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import type { ListingPosition, ReadOptions, SaveOptions, StateStore } from '../../consumers/stateStore/stateStore.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { cloneState, type CustomerState } from '../../models/customer/customerState.ts';
import { alertEventId } from '../../models/customer/riskPolicy.ts';
import { order } from '../support/orderEvents.ts';
import { CHURN_POLICY, RecencyModel } from '../support/recencyModel.ts';

// Churn = 1 - exp(-silentDays / 20): at risk (0.6) on the 19th silent day.
const model = new RecencyModel(20);
const at = (iso: string) => Date.parse(iso);
let position = 0;
const record = (customerId: string, orderId: string, occurredAt: string, source = 'shard-1') => ({
  source,
  position: String(++position),
  data: Buffer.from(JSON.stringify(order(customerId, orderId, occurredAt, 30))).toString('base64'),
});
/** Two orders, the last on 2024-01-01: a repeat customer (only those are announced at risk). */
const firstOrders = (customerId: string) => [record(customerId, 'o0', '2023-12-28T10:00:00Z'), record(customerId, 'o1', '2024-01-01T10:00:00Z')];
const AT_RISK_1 = alertEventId('c', 'Customer At Risk', 1);
const RECOVERED_2 = alertEventId('c', 'Customer Recovered', 2);

/** A memory store that counts customer saves and can fail them, or answer first reads from the version before the last save. */
class TestStore implements StateStore {
  readonly inner = new MemoryStateStore();
  saves = 0;
  failSaves = false;
  staleReads = false;
  failReceipts = false;
  private readonly previous = new Map<string, CustomerState>();

  async getMany(ids: readonly string[], options?: ReadOptions): Promise<Map<string, CustomerState>> {
    const found = await this.inner.getMany(ids, options);
    if (this.staleReads && !options?.consistent) for (const [id, old] of this.previous) if (found.has(id)) found.set(id, cloneState(old));
    return found;
  }
  async save(state: CustomerState, options?: SaveOptions): Promise<number> {
    if (this.failSaves) throw new Error('ServiceUnavailable');
    const before = (await this.inner.getMany([state.customerId])).get(state.customerId);
    const version = await this.inner.save(state, options);
    this.saves++;
    if (before) this.previous.set(state.customerId, before);
    return version;
  }
  dueBefore = (asOfMs: number, limit: number) => this.inner.dueBefore(asOfMs, limit);
  pendingOutboxes = (limit: number) => this.inner.pendingOutboxes(limit);
  scan = () => this.inner.scan();
  listCustomers = (limit: number, after?: ListingPosition) => this.inner.listCustomers(limit, after);
  atRiskCustomers = (limit: number, after?: string) => this.inner.atRiskCustomers(limit, after);
  getWatermark = () => this.inner.getWatermark();
  advanceWatermark = (ms: number) => this.inner.advanceWatermark(ms);
  isSettled = (invocation: string) => this.inner.isSettled(invocation);
  noteSettled = (invocation: string) => (this.failReceipts ? Promise.reject(new Error('ServiceUnavailable')) : this.inner.noteSettled(invocation));
}

function depsWith(store: StateStore, alerts: AlertSink) {
  const deps: ConsumerDeps & { metrics: CounterMetrics } = {
    store,
    alerts,
    deadLetters: new MemoryDeadLetterSink(),
    model,
    policy: CHURN_POLICY,
    metrics: new CounterMetrics(),
    clock: 'event',
  };
  return deps;
}

const ids = (bus: MemoryAlertSink) => bus.delivered.map((alert) => alert.detail.eventId);
const storedOf = async (store: StateStore) => (await store.getMany(['c'], { consistent: true })).get('c')!;

/** A repeat customer silent for 25 days, then back: At Risk as of its day, then Recovered, decided in one save. */
const silentThenBack = () => [...firstOrders('c'), record('c', 'o2', '2024-01-26T10:00:00Z')];

/** Runs a batch whose publish never returns, as an invocation stopped after its save; resolves once the save is stored. */
async function stoppedAfterSave(store: TestStore, batch: ReturnType<typeof record>[]): Promise<void> {
  const saves = store.saves;
  void processRecords(batch, depsWith(store, { publish: () => new Promise(() => {}) }));
  while (store.saves === saves) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('alerts in flight: published after the save, with no second write, and never lost', () => {
  it('saves a customer once for a batch that decides two alerts, and publishes them with nothing left pending', async () => {
    const store = new TestStore();
    const bus = new MemoryAlertSink();
    const deps = depsWith(store, bus);
    expect((await processRecords(silentThenBack(), deps)).failedPositions).toEqual([]);
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect(store.saves).toBe(1);
    const stored = await storedOf(store);
    expect(stored.outbox).toEqual([]);
    expect(stored.inFlight?.alerts.map((alert) => alert.detail.eventId)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect(await store.pendingOutboxes(10)).toEqual([]);

    // The next batch of the shard drops them with its save, and sends nothing again.
    await processRecords([record('c', 'o3', '2024-01-30T10:00:00Z')], deps);
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect((await storedOf(store)).inFlight).toBeNull();
  });

  it("does not publish them again when the batch is redelivered: the invocation's receipt covers it", async () => {
    const store = new TestStore();
    const bus = new MemoryAlertSink();
    const deps = depsWith(store, bus);
    const batch = silentThenBack();
    await processRecords(batch, deps);
    for (let i = 0; i < 3; i++) expect((await processRecords(batch, deps)).failedPositions).toEqual([]);
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect(deps.metrics.get('AlertsInFlightResent')).toBe(0);
    expect(store.saves).toBe(1);
  });

  it('publishes them again, with their ids, when the receipt could not be written: at least once, never lost', async () => {
    const store = new TestStore();
    const bus = new MemoryAlertSink();
    const deps = depsWith(store, bus);
    const batch = silentThenBack();
    store.failReceipts = true;
    await processRecords(batch, deps);
    expect(deps.metrics.get('SettledReceiptsFailed')).toBe(1);
    store.failReceipts = false;
    await processRecords(batch, deps);
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2, AT_RISK_1, RECOVERED_2]);
    // Resent through the outbox, then cleared: a third delivery sends nothing.
    await processRecords(batch, deps);
    expect(ids(bus)).toHaveLength(4);
    expect((await storedOf(store)).outbox).toEqual([]);
  });

  it('an invocation stopped between its save and its publish: the redelivery publishes the alerts once, with their ids', async () => {
    const store = new TestStore();
    const batch = silentThenBack();
    await stoppedAfterSave(store, batch);
    expect((await storedOf(store)).inFlight?.alerts).toHaveLength(2);

    const bus = new MemoryAlertSink();
    const deps = depsWith(store, bus);
    expect((await processRecords(batch, deps)).failedPositions).toEqual([]);
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect(deps.metrics.get('AlertsInFlightResent')).toBe(1);
    await processRecords(batch, deps);
    await processRecords([record('c', 'o3', '2024-01-30T10:00:00Z')], deps);
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect(await store.pendingOutboxes(10)).toEqual([]);
  });

  it('the same when the redelivery also carries newer records of the customer', async () => {
    const store = new TestStore();
    const batch = silentThenBack();
    await stoppedAfterSave(store, batch);
    const bus = new MemoryAlertSink();
    await processRecords([...batch, record('c', 'o3', '2024-01-27T10:00:00Z')], depsWith(store, bus));
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect(await storedOf(store)).toMatchObject({ orders: 4, outbox: [] });
  });

  it("concurrent batches of one shard (parallelization factor above 1): a later batch's receipt does not vouch for a stopped one", async () => {
    const store = new TestStore();
    const stopped = silentThenBack();
    await stoppedAfterSave(store, stopped);
    const bus = new MemoryAlertSink();
    const deps = depsWith(store, bus);
    // Another customer's batch, later positions of the same shard, settles and writes its receipt.
    await processRecords([...firstOrders('d'), record('d', 'o2', '2024-01-26T10:00:00Z')], deps);
    expect(deps.metrics.get('SettledReceipts')).toBe(1);
    await processRecords(stopped, deps);
    expect(bus.delivered.filter((alert) => alert.detail.customerId === 'c').map((alert) => alert.detail.eventId)).toEqual([AT_RISK_1, RECOVERED_2]);
  });

  it('the sweep leaves alerts in flight alone: it neither publishes them nor drops them, and the redelivery still sends them', async () => {
    const store = new TestStore();
    const batch = silentThenBack();
    await stoppedAfterSave(store, batch);
    const bus = new MemoryAlertSink();
    const deps = depsWith(store, bus);
    // Silent again past its due day: the sweep announces the next crossing, and only that one.
    expect(await sweepAll(deps, at('2024-03-01T00:00:00Z'), 10)).toMatchObject({ rescored: 1, alertsPublished: 1 });
    const atRisk3 = alertEventId('c', 'Customer At Risk', 3);
    expect(ids(bus)).toEqual([atRisk3]);
    expect((await storedOf(store)).inFlight?.alerts).toHaveLength(2);
    await processRecords(batch, deps);
    expect(ids(bus)).toEqual([atRisk3, AT_RISK_1, RECOVERED_2]);
  });

  it('fails the records when the bus is down and the store refuses the write taking the alerts back; the redelivery sends them', async () => {
    const store = new TestStore();
    const batch = silentThenBack();
    let down = true;
    const bus = new MemoryAlertSink();
    const deps = depsWith(store, { publish: async (alerts) => (down ? { retry: [...alerts], rejected: [] } : bus.publish(alerts)) });
    const original = store.save.bind(store);
    store.save = async (state, options) => {
      const version = await original(state, options);
      store.failSaves = true;
      return version;
    };
    const first = await processRecords(batch, deps);
    expect(first.failedPositions.sort()).toEqual(batch.map((r) => r.position).sort());
    expect((await storedOf(store)).inFlight?.alerts).toHaveLength(2);

    store.save = original;
    store.failSaves = false;
    down = false;
    expect((await processRecords(batch, deps)).failedPositions).toEqual([]);
    expect(ids(bus)).toEqual([AT_RISK_1, RECOVERED_2]);
    expect(await store.pendingOutboxes(10)).toEqual([]);
  });

  it('a stale first read never publishes an alert for a state that was not saved', async () => {
    const run = async (stale: boolean) => {
      const store = new TestStore();
      const bus = new MemoryAlertSink();
      const deps = depsWith(store, bus);
      await processRecords([...firstOrders('c')], deps);
      // Bought again the day before the crossing: the due day moves on, no alert.
      await processRecords([record('c', 'o2', '2024-01-19T10:00:00Z')], deps);
      store.staleReads = stale;
      // Read stale, this batch would see 25 silent days: At Risk and Recovered. The conditional
      // save loses, the retry rereads, and nothing was published before the save that decides it.
      expect((await processRecords([record('c', 'o3', '2024-01-26T10:00:00Z')], deps)).failedPositions).toEqual([]);
      return { alerts: bus.delivered, conflicts: deps.metrics.get('VersionConflicts') };
    };
    const fresh = await run(false);
    const stale = await run(true);
    expect(stale.conflicts).toBe(1);
    expect(fresh.alerts).toEqual([]);
    expect(stale.alerts).toEqual(fresh.alerts);
  });

  it('why alerts are not published before the save: the stale view decides alerts whose ids the true history later gives to others', async () => {
    // What the stale attempt above computed: o1, then o3, without o2.
    const viewBus = new MemoryAlertSink();
    const view = depsWith(new TestStore(), viewBus);
    await processRecords([...firstOrders('c'), record('c', 'o3', '2024-01-26T10:00:00Z')], view);
    expect(ids(viewBus)).toEqual([AT_RISK_1, RECOVERED_2]);
    // The true history's first At Risk comes weeks later, under the same id: a subscriber that
    // had the stale one would drop it as a duplicate.
    const trueBus = new MemoryAlertSink();
    const truth = depsWith(new TestStore(), trueBus);
    await processRecords([...firstOrders('c'), record('c', 'o2', '2024-01-19T10:00:00Z'), record('c', 'o3', '2024-01-26T10:00:00Z')], truth);
    await sweepAll(truth, at('2024-03-15T00:00:00Z'), 10);
    expect(ids(trueBus)).toEqual([AT_RISK_1]);
    expect(trueBus.delivered[0].detail.asOf).not.toBe(viewBus.delivered[0].detail.asOf);
  });

  describe('from the sweep', () => {
    const atRisk1 = alertEventId('s', 'Customer At Risk', 1);

    it('saves a customer crossing into risk once and publishes the alert with no clearing write; its next batch sends nothing again', async () => {
      const store = new TestStore();
      const bus = new MemoryAlertSink();
      const deps = depsWith(store, bus);
      await processRecords([...firstOrders('s')], deps);
      const saves = store.saves;
      expect(await sweepAll(deps, at('2024-01-25T00:00:00Z'), 10)).toMatchObject({ rescored: 1, alertsPublished: 1 });
      expect(store.saves - saves).toBe(1);
      expect(ids(bus)).toEqual([atRisk1]);
      // The first batch decided nothing, so only the sweep run wrote a receipt.
      expect(deps.metrics.get('SettledReceipts')).toBe(1);
      await processRecords([record('s', 'o2', '2024-02-01T10:00:00Z')], deps);
      expect(ids(bus)).toEqual([atRisk1, alertEventId('s', 'Customer Recovered', 2)]);
    });

    it('a sweep run stopped between its save and its publish: the customer stays unreceipted, and its next batch publishes the alert first', async () => {
      const store = new TestStore();
      const bus = new MemoryAlertSink();
      await processRecords([...firstOrders('s')], depsWith(store, bus));
      const saves = store.saves;
      void sweepAll(depsWith(store, { publish: () => new Promise(() => {}) }), at('2024-01-25T00:00:00Z'), 10);
      while (store.saves === saves) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(ids(bus)).toEqual([]);
      await processRecords([record('s', 'o2', '2024-02-01T10:00:00Z')], depsWith(store, bus));
      expect(ids(bus)).toEqual([atRisk1, alertEventId('s', 'Customer Recovered', 2)]);
    });
  });
});
