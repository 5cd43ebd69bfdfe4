import { rebuildLocalSummaries } from '../../lake/duckdbCurationTarget.ts';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../api/apiService.ts';
import { statesFromLines, statesFromOrderTotals } from '../../api/lake/lakeStates.ts';
import { createDuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { QueryEngineError } from '../../api/engines/queryEngine.ts';
import { createApiHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent } from '../../api/http/events.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import { sqlString } from '../../api/lake/lakeLayout.ts';
import type { LakeQueries } from '../../api/lake/lakeQueries.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { featuresOf } from '../../models/customer/customerFeatures.ts';
import { applyEvent, type CustomerState, emptyState, NO_EVENT_LAST_MS } from '../../models/customer/customerState.ts';
import type { HybridModel } from '../../models/clv/hybridModel.ts';
import { trainHybridFromEvents } from '../../models/clv/hybridTraining.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

/*
 * The event's country through the lake: `lake build` writes it on every line, the lines and
 * totals queries return it, and the customer states the API builds from the lake are the ones
 * applyEvent builds from the same events (country and countryMs included), so a model with
 * country columns scores a lake customer exactly as the stream and the batch path do. A lake
 * written before the column existed still opens, its lines without a country.
 */

const COUNTRIES = ['United Kingdom', 'Germany', 'France'];
const MOVE_MS = Date.parse('2023-08-01T00:00:00Z');

/** Country by customer: none for every 5th, a move to EIRE for every 7th, none on some returns. */
function withCountry(event: OrderEvent): OrderEvent {
  const n = Number(event.customerId.slice(1));
  if (n % 5 === 0) return event;
  if (n % 11 === 0 && event.type === 'return') return event;
  const country = n % 7 === 0 && Date.parse(event.occurredAt) >= MOVE_MS ? 'EIRE' : COUNTRIES[n % 3];
  return { ...event, country };
}

const line = (productId: string, quantity: number, unitPrice: number) => ({ productId, categoryId: 'C-x', quantity, unitPrice });

/** Hand-made customers: a mover (three countries, a return last), one without any, a tie, a late event without one. */
const SPECIAL: OrderEvent[] = [
  { type: 'order', orderId: 'm-1', customerId: 'C-moves', occurredAt: '2023-02-01T10:00:00Z', country: 'France', lines: [line('P0001', 2, 3.5), line('P0002', 1, 9.99)] },
  { type: 'order', orderId: 'm-2', customerId: 'C-moves', occurredAt: '2023-06-01T23:30:00-05:00', country: 'Germany', lines: [line('P0003', 1, 12)] },
  { type: 'return', orderId: 'm-2', customerId: 'C-moves', occurredAt: '2023-09-10T08:00:00Z', country: 'Spain', lines: [line('P0003', 1, 12)] },
  { type: 'order', orderId: 'n-1', customerId: 'C-none', occurredAt: '2023-03-01T10:00:00Z', lines: [line('P0001', 1, 3.5)] },
  { type: 'order', orderId: 'n-2', customerId: 'C-none', occurredAt: '2023-10-01T10:00:00Z', lines: [line('P0002', 3, 9.99), line('P0004', 1, 1)] },
  // Two orders at the same instant: the greater country wins the tie, whatever the arrival order.
  { type: 'order', orderId: 't-1', customerId: 'C-tie', occurredAt: '2023-05-05T05:05:05.123Z', country: 'Belgium', lines: [line('P0001', 1, 3.5)] },
  { type: 'order', orderId: 't-2', customerId: 'C-tie', occurredAt: '2023-05-05T05:05:05.123Z', country: 'Austria', lines: [line('P0002', 1, 9.99)] },
  // The latest event has no country: the one before it still decides.
  { type: 'order', orderId: 'l-1', customerId: 'C-late-none', occurredAt: '2023-04-01T10:00:00Z', country: 'Denmark', lines: [line('P0001', 1, 3.5)] },
  { type: 'order', orderId: 'l-2', customerId: 'C-late-none', occurredAt: '2023-11-01T10:00:00Z', lines: [line('P0001', 1, 3.5)] },
];

const EXPECTED_SPECIAL: Record<string, { country: string | null; countryMs: number }> = {
  'C-moves': { country: 'Spain', countryMs: Date.parse('2023-09-10T08:00:00Z') },
  'C-none': { country: null, countryMs: NO_EVENT_LAST_MS },
  'C-tie': { country: 'Belgium', countryMs: Date.parse('2023-05-05T05:05:05.123Z') },
  'C-late-none': { country: 'Denmark', countryMs: Date.parse('2023-04-01T10:00:00Z') },
};

/** States compared whole; the recent-order memory is a set, compared in key order. */
function comparable(state: CustomerState | undefined) {
  if (!state) return state;
  return { ...state };
}

function expectSameStates(actual: Map<string, CustomerState>, expected: Map<string, CustomerState>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [id, state] of expected) expect(comparable(actual.get(id)), id).toEqual(comparable(state));
}

let dir: string;
let events: OrderEvent[];
let truth: Map<string, CustomerState>;
let queries: ReturnType<typeof createLakeQueries>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-country-'));
  events = [...generateEvents({ customers: 400, days: 360, seed: 41, start: '2023-01-01' }).map(withCountry), ...SPECIAL];
  // The truth: every event applied with applyEvent, as the stream and the batch path apply them.
  truth = new Map();
  for (const event of events) {
    let state = truth.get(event.customerId);
    if (!state) truth.set(event.customerId, (state = emptyState(event.customerId)));
    applyEvent(state, event);
  }
  await buildLake(events, join(dir, 'lake'));
  queries = createLakeQueries(await createDuckDbEngine({ lakeDir: join(dir, 'lake') }));
}, 60_000);

afterAll(async () => {
  await queries?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the country through a lake built from events', () => {
  it('is on every line as its event carries it, NULL when the event has none', async () => {
    const lines = await queries.customerOrderLines();
    const byEvent = new Map(events.map((event) => [`${event.type}\u0000${event.orderId}\u0000${event.customerId}`, event]));
    expect(lines.length).toBe(events.reduce((sum, event) => sum + event.lines.length, 0));
    for (const row of lines) expect(row.country).toBe(byEvent.get(`${row.type}\u0000${row.orderId}\u0000${row.customerId}`)!.country ?? null);
    expect(new Set(lines.map((row) => row.country))).toEqual(new Set([...COUNTRIES, 'EIRE', 'Spain', 'Belgium', 'Austria', 'Denmark', null]));
    // The query for some customers answers the same rows as the full one.
    const some = ['C-moves', 'C-none', 'U000007', 'U000010'];
    expect(await queries.customerOrderLines(some)).toEqual(lines.filter((row) => some.includes(row.customerId)));
  });

  it('is on every order total: one row per event, with its country', async () => {
    const totals = await queries.customerOrderTotals();
    expect(totals.length).toBe(events.length);
    const byEvent = new Map(events.map((event) => [`${event.type}\u0000${event.orderId}\u0000${event.customerId}`, event]));
    for (const total of totals) expect(total.country).toBe(byEvent.get(`${total.type}\u0000${total.orderId}\u0000${total.customerId}`)!.country ?? null);
    expect((await queries.customerOrderTotals(['C-moves'])).map((total) => [total.type, total.orderId, total.country])).toEqual([
      ['order', 'm-1', 'France'],
      ['order', 'm-2', 'Germany'],
      ['return', 'm-2', 'Spain'],
    ]);
    expect((await queries.customerOrderTotals(['C-none'])).map((total) => total.country)).toEqual([null, null]);
  });

  it('gives the states applyEvent builds from the events, country and countryMs included, from lines and from totals', async () => {
    for (const [id, expected] of Object.entries(EXPECTED_SPECIAL)) expect({ country: truth.get(id)!.country, countryMs: truth.get(id)!.countryMs }, id).toEqual(expected);
    expectSameStates(statesFromLines(await queries.customerOrderLines()), truth);
    expectSameStates(statesFromOrderTotals(await queries.customerOrderTotals()), truth);
    const some = ['C-moves', 'C-none', 'C-tie', 'C-late-none', 'U000007', 'U000014', 'U000022'];
    const expected = new Map(some.map((id) => [id, truth.get(id)!]));
    expectSameStates(statesFromOrderTotals(await queries.customerOrderTotals(some)), expected);
    expectSameStates(statesFromLines(await queries.customerOrderLines(some)), expected);
  });

  it('scores lake customers through the API as the stream and the batch path do, with a model that has country columns', async () => {
    const model = loadModel(JSON.parse(JSON.stringify(trainHybridFromEvents(events, { calibrationEnd: '2023-12-26', horizonDays: 90 })))) as HybridModel;
    expect(model.featureNames.filter((name) => name.startsWith('country='))).not.toHaveLength(0);
    const ids = ['C-moves', 'C-none', 'C-tie', 'C-late-none', ...[...truth.keys()].filter((id) => id.startsWith('U')).slice(0, 60)];
    const lakes: [string, LakeQueries][] = [
      ['totals, by id', queries],
      // Without the order-totals query the service rebuilds states from order lines.
      ['lines', { ...queries, customerOrderTotals: undefined } as LakeQueries],
    ];
    let countryMatters = 0;
    for (const [name, lake] of lakes) {
      const service = new ApiService({ lake, store: new MemoryStateStore(), model, now: () => 0 });
      const handler = createApiHandler({ service: () => service });
      const response = await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/churn', body: { customer_ids: ids } }));
      expect(response.statusCode, name).toBe(200);
      const body = JSON.parse(response.body);
      const asOf = Date.parse(body.as_of);
      expect(body.customers).toHaveLength(ids.length);
      for (const row of body.customers) {
        expect(row, `${name} ${row.customer_id}`).toMatchObject({ found: true, source: 'lake' });
        const state = truth.get(row.customer_id)!;
        const expected = model.score(featuresOf(state, asOf));
        expect([row.customer_id, row.churn_probability, row.p_alive], name).toEqual([row.customer_id, expected.churnProbability, expected.pAlive]);
        if (state.country !== null && model.score(featuresOf({ ...state, country: null }, asOf)).churnProbability !== expected.churnProbability) countryMatters++;
      }
    }
    // The country reaches the score (a lake without it would score these customers differently).
    expect(countryMatters).toBeGreaterThan(0);
  }, 120_000);
});

describe('a lake written before the country column', () => {
  /** Copies the lake with its order files rewritten without `country` (all days, or the days before `before`). */
  async function withoutCountry(name: string, before?: string): Promise<string> {
    const target = join(dir, name);
    await cp(join(dir, 'lake'), target, { recursive: true });
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const source = `read_parquet(${sqlString(join(dir, 'lake', 'orders', '*', '*.parquet'))}, hive_partitioning = true, hive_types = {'date': VARCHAR})`;
      const days = (await connection.runAndReadAll(`SELECT DISTINCT "date" FROM ${source} ${before ? `WHERE "date" < ${sqlString(before)}` : ''} ORDER BY 1`)).getRows();
      await connection.run(`CREATE TABLE old AS SELECT * EXCLUDE (country) FROM ${source} ${before ? `WHERE "date" < ${sqlString(before)}` : ''}`);
      for (const [day] of days) await rm(join(target, 'orders', `date=${String(day)}`), { recursive: true });
      await connection.run(
        `COPY (SELECT * FROM old ORDER BY occurred_at, order_id, product_id) TO ${sqlString(join(target, 'orders'))} (FORMAT PARQUET, PARTITION_BY ("date"), FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE)`,
      );
    } finally {
      connection.closeSync();
      db.closeSync();
    }
    // Its summaries as the curation builds them from such files (country NULL where a file has none).
    await rebuildLocalSummaries(target);
    return target;
  }

  it('opens, and reads every line as without a country (as Athena reads such files through Glue)', async () => {
    const old = createLakeQueries(await createDuckDbEngine({ lakeDir: await withoutCountry('old') }));
    try {
      const lines = await old.customerOrderLines();
      expect(lines).toEqual((await queries.customerOrderLines()).map((row) => ({ ...row, country: null })));
      const states = statesFromOrderTotals(await old.customerOrderTotals());
      for (const [id, state] of truth) expect(comparable(states.get(id)), id).toEqual(comparable({ ...state, country: null, countryMs: NO_EVENT_LAST_MS }));
    } finally {
      await old.close();
    }
  });

  it('mixed with days written since: each line reads its own file, whichever day comes first', async () => {
    for (const snapshot of [true, false]) {
      const old = createLakeQueries(await createDuckDbEngine({ lakeDir: await withoutCountry(`mixed-${snapshot}`, '2023-07-01'), snapshot }));
      try {
        const expected = (await queries.customerOrderLines()).map((row) => (row.occurredAt < '2023-07-01' ? { ...row, country: null } : row));
        expect(await old.customerOrderLines(), `snapshot ${snapshot}`).toEqual(expected);
        expect(await old.customerOrderTotals(['C-moves']), `snapshot ${snapshot}`).toEqual(
          (await queries.customerOrderTotals(['C-moves'])).map((total) => (total.occurredAt < '2023-07-01' ? { ...total, country: null } : total)),
        );
      } finally {
        await old.close();
      }
    }
  });

  it('is refused, naming the rebuild, when a required column is missing', async () => {
    const target = join(dir, 'broken');
    await cp(join(dir, 'lake'), target, { recursive: true });
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const source = `read_parquet(${sqlString(join(dir, 'lake', 'orders', '*', '*.parquet'))}, hive_partitioning = true, hive_types = {'date': VARCHAR})`;
    await rm(join(target, 'orders'), { recursive: true });
    await connection.run(`COPY (SELECT * EXCLUDE (type) FROM ${source}) TO ${sqlString(join(target, 'orders'))} (FORMAT PARQUET, PARTITION_BY ("date"))`);
    connection.closeSync();
    db.closeSync();
    const opening = createDuckDbEngine({ lakeDir: target });
    await expect(opening).rejects.toThrow(QueryEngineError);
    await expect(opening).rejects.toThrow(/lack the column\(s\) type.*demand-insights lake build/);
  });
});
