import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyState, type CustomerState } from '../../models/customer/customerState.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { type ListingPosition, VersionConflictError, type StateStore } from '../../consumers/stateStore/stateStore.ts';

export interface StoreUnderTest {
  store: StateStore;
  close(): Promise<void>;
}

export interface ContractOptions {
  /** fast-check runs of the model test; each run gets a fresh store. */
  propertyRuns?: number;
}

const SHARD = 'shardId-000000000003';

function order(orderId: string, occurredAt: string, lines: OrderEvent['lines'], type: OrderEvent['type'] = 'order'): OrderEvent {
  return { type, orderId, customerId: 'C-10042', occurredAt, currency: 'EUR', lines };
}

/** A customer with a history: several purchase days, a return, a country, stream positions, a score and a pending alert. */
function richState(): CustomerState {
  const state = emptyState('C-10042');
  const events: [OrderEvent, string][] = [
    [order('O-1', '2024-01-03T09:15:00Z', [{ productId: 'P-7', categoryId: 'books', quantity: 2, unitPrice: 12.5 }]), '49650000000000000000000000000000000000000000000000000001'],
    [order('O-2', '2024-01-03T18:40:00+01:00', [{ productId: 'P-9', quantity: 1, unitPrice: 99.99 }]), '49650000000000000000000000000000000000000000000000000002'],
    [order('O-3', '2024-02-20T11:00:00Z', [{ productId: 'P-7', categoryId: 'books', quantity: 1, unitPrice: 12.5 }, { productId: 'P-2', quantity: 3, unitPrice: 4.2 }]), '49650000000000000000000000000000000000000000000000000003'],
    [order('O-2', '2024-02-25T08:00:00Z', [{ productId: 'P-9', quantity: 1, unitPrice: 99.99 }], 'return'), '49650000000000000000000000000000000000000000000000000004'],
    [{ ...order('O-6', '2024-03-02T14:30:00Z', [{ productId: 'P-3', quantity: 0.5, unitPrice: 19.9 }]), country: 'Côte d’Ivoire' }, '49650000000000000000000000000000000000000000000000000005'],
    [order('O-4', '2024-03-10T23:59:59Z', [{ productId: 'P-11', categoryId: 'games', quantity: 1, unitPrice: 59 }]), '49650000000000000000000000000000000000000000000000000006'],
  ];
  for (const [event, position] of events) expect(applyEvent(state, event, { source: SHARD, position })).toBe('applied');
  applyEvent(state, { ...order('O-5', '2023-12-30T10:00:00Z', [{ productId: 'P-1', quantity: 1, unitPrice: 5 }]), country: 'Germany' }, { source: 'orders-2', position: '17' });
  state.score = { asOfMs: Date.parse('2024-04-01T00:00:00Z'), modelVersion: 'bgnbd-2024-03-31', churnProbability: 0.6125, clv: 187.33, pAlive: 0.3875, expectedPurchases: 0.91, expectedSpend: 41.07 };
  state.atRisk = true;
  state.transitions = 1;
  state.dueAtMs = Date.parse('2024-05-12T00:00:00Z');
  state.outbox = [
    {
      detailType: 'Customer At Risk',
      detail: {
        eventId: 'c10042-at-risk-1',
        customerId: 'C-10042',
        churnProbability: 0.6125,
        previousChurnProbability: null,
        clv: 187.33,
        expectedLoss: 0,
        segment: null,
        trigger: 'churn',
        level: 0.6,
        modelVersion: 'bgnbd-2024-03-31',
        asOf: '2024-04-01T00:00:00.000Z',
        drivers: { recencyDays: 1, frequency: 3 },
      },
    },
  ];
  return state;
}

function withDue(customerId: string, dueAtMs: number | null): CustomerState {
  const state = emptyState(customerId);
  state.dueAtMs = dueAtMs;
  return state;
}

/** A customer at risk (no due time) with alerts pending, as of the given times. */
function withOutbox(customerId: string, asOf: string[]): CustomerState {
  const state = withDue(customerId, null);
  state.outbox = asOf.map((time, at) => ({
    detailType: at % 2 === 0 ? 'Customer At Risk' : 'Customer Recovered',
    detail: { ...richState().outbox[0].detail, eventId: `${customerId}-${at + 1}`, customerId, asOf: time },
  }));
  return state;
}

async function saveAll(store: StateStore, states: CustomerState[]): Promise<void> {
  await Promise.all(states.map((state) => store.save(state)));
}

async function stored(store: StateStore, customerId: string): Promise<CustomerState> {
  const state = (await store.getMany([customerId])).get(customerId);
  if (!state) throw new Error(`${customerId} is not stored`);
  return state;
}

async function scanAll(store: StateStore): Promise<CustomerState[]> {
  const states: CustomerState[] = [];
  for await (const page of store.scan()) states.push(...page);
  return states;
}

/** Registers the StateStore contract; every adapter must pass it unchanged. */
export function describeStateStoreContract(
  name: string,
  makeStore: () => Promise<StoreUnderTest>,
  options: ContractOptions = {},
): void {
  async function withStore(body: (store: StateStore) => Promise<void>): Promise<void> {
    const { store, close } = await makeStore();
    try {
      await body(store);
    } finally {
      await close();
    }
  }

  describe(`${name} (StateStore contract)`, () => {
    it('leaves customers never stored out of getMany', () =>
      withStore(async (store) => {
        expect((await store.getMany(['nobody', 'nobody-else'])).size).toBe(0);
        expect((await store.getMany([])).size).toBe(0);
      }));

    it('creates at version 0 and returns version 1, without touching the argument', () =>
      withStore(async (store) => {
        const state = emptyState('C-1');
        expect(await store.save(state)).toBe(1);
        expect(state.version).toBe(0);
        expect(await stored(store, 'C-1')).toEqual({ ...emptyState('C-1'), version: 1 });
      }));

    it('rejects a stale version and keeps the stored state', () =>
      withStore(async (store) => {
        const first = emptyState('C-1');
        first.orders = 1;
        await store.save(first);
        const read = await stored(store, 'C-1');
        read.orders = 2;
        expect(await store.save(read)).toBe(2);

        const stale = { ...read, version: 1, orders: 99 };
        const error = await store.save(stale).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(VersionConflictError);
        expect(error).toMatchObject({ customerId: 'C-1', expectedVersion: 1 });
        await expect(store.save({ ...read, version: 0 })).rejects.toBeInstanceOf(VersionConflictError);
        await expect(store.save({ ...read, version: 7 })).rejects.toBeInstanceOf(VersionConflictError);
        await expect(store.save({ ...emptyState('C-2'), version: 1 })).rejects.toBeInstanceOf(VersionConflictError);

        expect(await stored(store, 'C-1')).toMatchObject({ version: 2, orders: 2 });
        expect((await store.getMany(['C-2'])).has('C-2')).toBe(false);
      }));

    it('lets exactly one of two concurrent saves from the same read win', () =>
      withStore(async (store) => {
        await store.save(emptyState('C-1'));
        const read = await stored(store, 'C-1');
        const outcomes = await Promise.allSettled([
          store.save({ ...read, orders: 1 }),
          store.save({ ...read, orders: 2 }),
        ]);
        const won = outcomes.flatMap((outcome, at) => (outcome.status === 'fulfilled' ? [{ at, version: outcome.value }] : []));
        const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
        expect(won).toHaveLength(1);
        expect(won[0].version).toBe(2);
        expect(lost[0]).toBeInstanceOf(VersionConflictError);
        expect(await stored(store, 'C-1')).toMatchObject({ version: 2, orders: won[0].at + 1 });

        const fresh = await Promise.allSettled([store.save(emptyState('C-new')), store.save(emptyState('C-new'))]);
        expect(fresh.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      }));

    it('round-trips a full state deep-equal, sentinels included', () =>
      withStore(async (store) => {
        const rich = richState();
        expect(rich.positions[SHARD]).toBeDefined();
        expect(rich.orderMemory.length).toBeGreaterThanOrEqual(4 * 3);
        expect(rich.dayBits.length).toBeGreaterThan(1);
        expect(rich.country).toBe('Côte d’Ivoire');
        expect(rich.countryMs).toBe(Date.parse('2024-03-02T14:30:00Z'));
        const untouched = emptyState('C-empty');
        const returnsOnly = emptyState('C-returns');
        applyEvent(returnsOnly, { ...order('R-1', '2024-01-05T00:00:00Z', [{ productId: 'P', quantity: 1, unitPrice: 3 }], 'return'), customerId: 'C-returns' });
        await saveAll(store, [rich, untouched, returnsOnly]);

        const found = await store.getMany(['C-10042', 'C-empty', 'C-returns']);
        expect(found.get('C-10042')).toEqual({ ...rich, version: 1 });
        expect(found.get('C-empty')).toEqual({ ...untouched, version: 1 });
        expect(found.get('C-empty')!.firstEventMs).toBe(Number.MAX_SAFE_INTEGER);
        expect(found.get('C-empty')!.lastEventMs).toBe(Number.MIN_SAFE_INTEGER);
        expect(found.get('C-empty')!.country).toBeNull();
        expect(found.get('C-empty')!.countryMs).toBe(Number.MIN_SAFE_INTEGER);
        expect(found.get('C-returns')).toEqual({ ...returnsOnly, version: 1 });

        // Saving what was read (with its new version) must round-trip again, a changed country too.
        const again = found.get('C-10042')!;
        again.orders += 1;
        again.country = 'France';
        again.countryMs += 1;
        expect(await store.save(again)).toBe(2);
        expect(await stored(store, 'C-10042')).toEqual({ ...again, version: 2 });
      }));

    it('hands out copies: mutating a returned or saved state does not change the store', () =>
      withStore(async (store) => {
        const saved = richState();
        await store.save(saved);
        const expected = { ...richState(), version: 1 };
        saved.orders = -1;
        saved.dayBits.push(7);
        saved.positions.x = '1';
        saved.orderMemory.length = 0;
        saved.score!.clv = -1;
        saved.outbox.pop();
        expect(await stored(store, 'C-10042')).toEqual(expected);

        const read = await stored(store, 'C-10042');
        read.spendCents = -1;
        read.weekCents[0] = -1;
        read.positions[SHARD] = '0';
        read.orderMemory.push(1, 2, 3);
        read.score!.churnProbability = 2;
        read.outbox.length = 0;
        read.version = 42;
        expect(await stored(store, 'C-10042')).toEqual(expected);

        for await (const page of store.scan()) for (const state of page) state.orders = -5;
        expect(await stored(store, 'C-10042')).toEqual(expected);
      }));

    it('reads more customers than one batch holds, ignoring duplicates and unknown ids', () =>
      withStore(async (store) => {
        const ids = Array.from({ length: 250 }, (_, at) => `C-${String(at).padStart(4, '0')}`);
        await saveAll(store, ids.map((id) => emptyState(id)));
        const found = await store.getMany([...ids, 'unknown-1', ids[0], ids[249], 'unknown-2']);
        expect([...found.keys()].sort()).toEqual(ids);
        for (const id of ids) expect(found.get(id)).toMatchObject({ customerId: id, version: 1 });
      }));

    it('lists exactly the customers due by a time, earliest first, within the limit', () =>
      withStore(async (store) => {
        await saveAll(store, [
          withDue('due-10', 10),
          withDue('due-20', 20),
          withDue('due-30', 30),
          withDue('due-40', 40),
          withDue('never', null),
          withDue('late', 1_000),
        ]);
        expect(await store.dueBefore(5, 100)).toEqual([]);
        expect(await store.dueBefore(30, 100)).toEqual(['due-10', 'due-20', 'due-30']);
        expect(await store.dueBefore(999, 2)).toEqual(['due-10', 'due-20']);
        expect(await store.dueBefore(999, 0)).toEqual([]);
        expect(await store.dueBefore(Date.parse('2030-01-01T00:00:00Z'), 100)).toEqual(['due-10', 'due-20', 'due-30', 'due-40', 'late']);
      }));

    it('follows due times as they change, and drops customers whose due time is cleared', () =>
      withStore(async (store) => {
        await saveAll(store, [withDue('a', 10), withDue('b', 20), withDue('c', 30)]);
        const [a, b, c] = ['a', 'b', 'c'].map((id) => ({ ...withDue(id, null), version: 1 }));
        await store.save({ ...a, dueAtMs: 500 });
        await store.save(b);
        await store.save({ ...c, dueAtMs: 5 });
        expect(await store.dueBefore(100, 10)).toEqual(['c']);
        expect(await store.dueBefore(500, 10)).toEqual(['c', 'a']);
        await store.save({ ...a, version: 2, dueAtMs: 10 });
        await store.save({ ...b, version: 2, dueAtMs: 10 });
        expect(await store.dueBefore(100, 10)).toEqual(['c', 'a', 'b']);
        await store.save({ ...c, version: 2, dueAtMs: null });
        expect(await store.dueBefore(1_000, 10)).toEqual(['a', 'b']);
      }));

    it('respects the limit over many due customers and ties, taking the earliest', () =>
      withStore(async (store) => {
        const dues = Array.from({ length: 60 }, (_, at) => ({ id: `t-${at}`, due: (at * 7) % 13 }));
        await saveAll(store, dues.map(({ id, due }) => withDue(id, due)));
        for (const [asOf, limit] of [[12, 60], [6, 10], [12, 25], [0, 3]] as const) {
          const listed = await store.dueBefore(asOf, limit);
          const eligible = dues.filter(({ due }) => due <= asOf);
          expect(listed).toHaveLength(Math.min(limit, eligible.length));
          expect(new Set(listed).size).toBe(listed.length);
          const dueOf = new Map(dues.map(({ id, due }) => [id, due]));
          const listedDues = listed.map((id) => dueOf.get(id)!);
          expect(listedDues).toEqual([...listedDues].sort((x, y) => x - y));
          expect(Math.max(-1, ...listedDues)).toBeLessThanOrEqual(asOf);
          const latest = Math.max(...listedDues);
          for (const { id, due } of eligible) if (due < latest) expect(listed).toContain(id);
        }
      }));

    it('lists exactly the customers saved with a pending outbox, oldest alert first, within the limit, until it is empty or saved as not pending', () =>
      withStore(async (store) => {
        const pending = { pendingOutbox: true };
        await Promise.all([
          store.save(withOutbox('p-new', ['2024-03-01T00:00:00.000Z']), pending),
          store.save(withOutbox('p-old', ['2024-02-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z']), pending),
          store.save(withOutbox('p-mid', ['2024-02-15T00:00:00.000Z']), pending),
          store.save(withOutbox('p-1969', ['1969-07-20T20:17:00.000Z']), pending),
          // Alerts about to be published by the saver: not the sweep's business yet.
          store.save(withOutbox('fresh', ['2023-01-01T00:00:00.000Z'])),
          store.save(withDue('quiet', 10), pending),
          store.save(withDue('never', null)),
        ]);
        expect(await store.pendingOutboxes(100)).toEqual(['p-1969', 'p-old', 'p-mid', 'p-new']);
        expect(await store.pendingOutboxes(2)).toEqual(['p-1969', 'p-old']);
        expect(await store.pendingOutboxes(0)).toEqual([]);
        // At risk, they have no due time: the outbox index is the only way the sweep finds them.
        expect(await store.dueBefore(Number.MAX_SAFE_INTEGER, 100)).toEqual(['quiet']);

        const old = await stored(store, 'p-old');
        await store.save({ ...old, outbox: old.outbox.slice(1) }, pending);
        expect(await store.pendingOutboxes(100)).toEqual(['p-1969', 'p-old', 'p-mid', 'p-new']);
        await store.save({ ...(await stored(store, 'p-old')), outbox: [] }, pending);
        await store.save(await stored(store, 'p-1969'));
        expect(await store.pendingOutboxes(100)).toEqual(['p-mid', 'p-new']);
        await store.save(await stored(store, 'fresh'), pending);
        const quiet = await stored(store, 'quiet');
        await store.save({ ...withOutbox('quiet', ['2024-02-20T00:00:00.000Z']), dueAtMs: 10, version: quiet.version }, pending);
        expect(await store.pendingOutboxes(100)).toEqual(['fresh', 'p-mid', 'quiet', 'p-new']);
        expect(await store.dueBefore(100, 100)).toEqual(['quiet']);
      }));

    it('scans every state exactly once, and never the watermark', () =>
      withStore(async (store) => {
        const ids = Array.from({ length: 37 }, (_, at) => `S-${at}`);
        const dueOf = (id: string) => Number(id.slice(2));
        await saveAll(store, ids.map((id) => withDue(id, dueOf(id))));
        await store.advanceWatermark(1_234);
        const states = await scanAll(store);
        expect(states.map((state) => state.customerId).sort()).toEqual([...ids].sort());
        for (const state of states) expect(state).toEqual({ ...withDue(state.customerId, dueOf(state.customerId)), version: 1 });
      }));

    it('lists every customer exactly once in pages of at most the limit, and never the watermark or receipts', () =>
      withStore(async (store) => {
        const ids = Array.from({ length: 53 }, (_, at) => `L-${at}`).concat(['é-accent', '\u{1F600}-astral', '\uFFFD-replacement']);
        await saveAll(store, ids.map((id) => withDue(id, null)));
        await store.advanceWatermark(99);
        await store.noteSettled('batch-1');
        for (const limit of [1, 7, 56, 1_000]) {
          const listed: string[] = [];
          let after: ListingPosition | undefined;
          for (let pages = 0; pages < 200; pages++) {
            const { states, next } = await store.listCustomers(limit, after);
            expect(states.length).toBeLessThanOrEqual(limit);
            for (const state of states) expect(state).toEqual({ ...withDue(state.customerId, null), version: 1 });
            listed.push(...states.map((state) => state.customerId));
            if (next === null) break;
            after = next;
          }
          expect(listed.length, `limit ${limit}`).toBe(ids.length);
          expect(new Set(listed), `limit ${limit}`).toEqual(new Set(ids));
        }
        expect(await store.listCustomers(0)).toEqual({ states: [], next: null });
        // A position no page returned is a place in the listing, not an error.
        const forged = await store.listCustomers(5, { bucket: 0, afterId: '\u{10FFFF}' });
        expect(forged.states.length).toBeLessThanOrEqual(5);
        expect((await store.listCustomers(5, { bucket: 1_000_000, afterId: '' })).states).toEqual([]);
      }));

    it('lists exactly the customers flagged at risk, most expected loss first, a page at a time, and follows them as they change', () =>
      withStore(async (store) => {
        const atRisk = (customerId: string, churn: number, clv: number, flagged = true) => {
          const state = withDue(customerId, null);
          state.score = { ...richState().score!, churnProbability: churn, clv };
          state.atRisk = flagged;
          return state;
        };
        await saveAll(store, [atRisk('r-low', 0.7, 10), atRisk('r-high', 0.9, 500), atRisk('r-mid', 0.8, 100), atRisk('r-tie-b', 0.8, 100), atRisk('calm', 0.95, 900, false), withDue('unscored', 5)]);
        const pages: string[][] = [];
        let after: string | undefined;
        for (;;) {
          const { states, next } = await store.atRiskCustomers(2, after);
          expect(states.length).toBeLessThanOrEqual(2);
          pages.push(states.map((state) => state.customerId));
          if (next === null) break;
          after = next;
        }
        expect(pages.flat()).toEqual(['r-high', 'r-tie-b', 'r-mid', 'r-low']);
        // Recovered: out of the index; newly at risk: in it, ranked by its new score.
        const mid = await stored(store, 'r-mid');
        await store.save({ ...mid, atRisk: false });
        const calm = await stored(store, 'calm');
        await store.save({ ...calm, atRisk: true });
        const all = await store.atRiskCustomers(100);
        expect(all.states.map((state) => state.customerId)).toEqual(['calm', 'r-high', 'r-tie-b', 'r-low']);
        expect(all.next).toBeNull();
        expect(await store.atRiskCustomers(0)).toEqual({ states: [], next: null });
      }));

    it('keeps a watermark that starts at 0 and only rises', () =>
      withStore(async (store) => {
        expect(await store.getWatermark()).toBe(0);
        await store.advanceWatermark(1_700_000_000_000);
        expect(await store.getWatermark()).toBe(1_700_000_000_000);
        await store.advanceWatermark(1_600_000_000_000);
        await store.advanceWatermark(1_700_000_000_000);
        expect(await store.getWatermark()).toBe(1_700_000_000_000);
        const advances = Array.from({ length: 20 }, (_, at) => 1_700_000_000_000 + ((at * 7_919) % 20) * 1_000);
        await Promise.all(advances.map((ms) => store.advanceWatermark(ms)));
        expect(await store.getWatermark()).toBe(Math.max(...advances));
        expect(await scanAll(store)).toEqual([]);
      }));

    it('round-trips alerts in flight, and keeps settled receipts that are never states', () =>
      withStore(async (store) => {
        const sending = withOutbox('sending', ['2024-02-20T00:00:00.000Z', '2024-02-21T00:00:00.000Z']);
        sending.inFlight = { source: SHARD, position: '49590338271490256608559692538361571095921575989136588898', invocation: 'Zm9vYmFyYmF6', alerts: sending.outbox };
        sending.outbox = [];
        await store.save(sending);
        expect(await stored(store, 'sending')).toEqual({ ...sending, version: 1 });
        expect(await store.pendingOutboxes(10)).toEqual([]);

        expect(await store.isSettled('Zm9vYmFyYmF6')).toBe(false);
        await store.noteSettled('Zm9vYmFyYmF6');
        await store.noteSettled('cXV4cXV4cXV4');
        expect(await store.isSettled('Zm9vYmFyYmF6')).toBe(true);
        expect(await store.isSettled('cXV4cXV4cXV4')).toBe(true);
        expect(await store.isSettled('bm90IG5vdGVk')).toBe(false);
        expect((await scanAll(store)).map((state) => state.customerId)).toEqual(['sending']);
      }));

    it('matches a reference model over random saves, conflicts, races and due-time changes', async () => {
      const customer = fc.constantFrom('m-0', 'm-1', 'm-2', 'm-3');
      const due = fc.option(fc.integer({ min: 0, max: 100 }), { nil: null });
      const command = fc.oneof(
        fc.record({ kind: fc.constant('write' as const), customer, due, cents: fc.integer({ min: 0, max: 10_000 }) }),
        fc.record({ kind: fc.constant('stale' as const), customer, offset: fc.constantFrom(-2, -1, 1, 3) }),
        fc.record({ kind: fc.constant('race' as const), customer, due, other: due }),
      );
      type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;
      type Model = Map<string, { version: number; dueAtMs: number | null; spendCents: number }>;

      async function current(store: StateStore, id: string): Promise<CustomerState> {
        return (await store.getMany([id])).get(id) ?? emptyState(id);
      }

      async function step(store: StateStore, model: Model, run: Command): Promise<void> {
        const read = await current(store, run.customer);
        expect(read.version).toBe(model.get(run.customer)?.version ?? 0);
        if (run.kind === 'write') {
          const next = { ...read, dueAtMs: run.due, spendCents: read.spendCents + run.cents };
          expect(await store.save(next)).toBe(read.version + 1);
          model.set(run.customer, { version: read.version + 1, dueAtMs: run.due, spendCents: next.spendCents });
        } else if (run.kind === 'stale') {
          const version = read.version + run.offset;
          if (version < 0) return;
          await expect(store.save({ ...read, version, spendCents: -1 })).rejects.toBeInstanceOf(VersionConflictError);
        } else {
          const contenders = [run.due, run.other].map((dueAtMs) => ({ ...read, dueAtMs, spendCents: read.spendCents + 1 }));
          const outcomes = await Promise.allSettled(contenders.map((state) => store.save(state)));
          const winners = outcomes.flatMap((outcome, at) => (outcome.status === 'fulfilled' ? [contenders[at]] : []));
          expect(winners).toHaveLength(1);
          model.set(run.customer, { version: read.version + 1, dueAtMs: winners[0].dueAtMs, spendCents: winners[0].spendCents });
        }
      }

      async function check(store: StateStore, model: Model, asOf: number): Promise<void> {
        const ids = ['m-0', 'm-1', 'm-2', 'm-3'];
        const found = await store.getMany(ids);
        expect(new Set(found.keys())).toEqual(new Set(model.keys()));
        for (const [id, expected] of model) expect(found.get(id)).toMatchObject(expected);
        const due = [...model].filter(([, entry]) => entry.dueAtMs !== null && entry.dueAtMs <= asOf).map(([id]) => id);
        expect((await store.dueBefore(asOf, 100)).sort()).toEqual(due.sort());
        expect((await scanAll(store)).map((state) => state.customerId).sort()).toEqual([...model.keys()].sort());
      }

      await fc.assert(
        fc.asyncProperty(fc.array(command, { maxLength: 20 }), fc.integer({ min: 0, max: 100 }), async (commands, asOf) => {
          await withStore(async (store) => {
            const model: Model = new Map();
            for (const run of commands) await step(store, model, run);
            await check(store, model, asOf);
          });
        }),
        { numRuns: options.propertyRuns ?? 100 },
      );
    });
  });
}
