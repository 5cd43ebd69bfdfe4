import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDuckDbEngine, type DuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { lakeStates, statesFromLines } from '../../api/lake/lakeStates.ts';
import { curateLake } from '../../lake/curateLake.ts';
import { openDuckdbCurationTarget } from '../../lake/duckdbCurationTarget.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';
import { BtydModel } from '../../models/clv/btydModel.ts';
import { trainBtyd } from '../../models/clv/btydTraining.ts';
import { featuresOf } from '../../models/customer/customerFeatures.ts';
import { applyEvent, type CustomerState, emptyState } from '../../models/customer/customerState.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

/*
 * Firehose delivers at least once and producers retry: the lake the API reads can hold one order
 * twice, as exact copies (another object, same day: the curation keeps one) and as a retry with
 * a later event time (another day: only the API's customer SQL can drop it, by type and order id,
 * as the stream's order-id memory does). Customers rebuilt from such a lake must equal, and
 * score as, the states the stream built from the same records in arrival order.
 */

const NOW = Date.parse('2024-06-30T12:00:00Z');
const texts = (events: readonly OrderEvent[]) => events.map((event) => JSON.stringify(event));

let dir: string;
let engine: DuckDbEngine;
let original: OrderEvent[];
let retries: OrderEvent[];
let stream: Map<string, CustomerState>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-dedup-'));
  original = generateEvents({ customers: 60, days: 150, seed: 23, start: '2024-01-01' });
  // Every fifth event sent again three days later, with another quantity: the same type and id.
  retries = original
    .filter((_, at) => at % 5 === 0)
    .map((event) => ({
      ...event,
      occurredAt: new Date(Date.parse(event.occurredAt) + 3 * 86_400_000).toISOString(),
      lines: event.lines.map((line) => ({ ...line, quantity: line.quantity + 1 })),
    }));
  // The stream, in arrival order: the originals, then the retries (rejected by the order-id memory).
  stream = new Map();
  let rejected = 0;
  for (const event of [...original, ...retries]) {
    let state = stream.get(event.customerId);
    if (!state) stream.set(event.customerId, (state = emptyState(event.customerId)));
    if (applyEvent(state, event) !== 'applied') rejected++;
  }
  expect(rejected).toBe(retries.length);
  // The lake: every record, half of them delivered twice, and the retries.
  await deliverRawOrders(dir, texts(original), NOW);
  await deliverRawOrders(dir, texts(original.slice(Math.floor(original.length / 2))), NOW);
  await deliverRawOrders(dir, texts(retries), NOW);
  const target = await openDuckdbCurationTarget(dir);
  try {
    await curateLake(target, { from: '2024-01-01', to: '2024-06-30' }, { nowMs: NOW, lookbackDays: 3, eventTime: DEFAULT_EVENT_TIME_BOUNDS, graceMs: 3_600_000 });
  } finally {
    await target.close();
  }
  engine = await createDuckDbEngine({ lakeDir: dir });
}, 120_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The state without the stream's positions (the lake has none) and the save counter. */
function comparable(state: CustomerState | undefined) {
  if (!state) return state;
  const { positions: _p, version: _v, ...rest } = state;
  return rest;
}

describe('the API\'s customer SQL over a lake with duplicated and retried lines', () => {
  it('rebuilds every customer as the stream built it, from order totals and from order lines', async () => {
    const lake = createLakeQueries(engine);
    const ids = [...stream.keys()];
    const retried = new Set(retries.map((event) => event.customerId));
    expect(retried.size).toBeGreaterThan(10);
    const fromTotals = await lakeStates(lake, ids);
    const fromLines = statesFromLines(await lake.customerOrderLines(ids));
    const fromAll = await lakeStates(lake);
    for (const id of ids) {
      expect(comparable(fromTotals.get(id)), id).toEqual(comparable(stream.get(id)));
      expect(comparable(fromLines.get(id)), id).toEqual(comparable(stream.get(id)));
      expect(comparable(fromAll.get(id)), id).toEqual(comparable(stream.get(id)));
    }
  });

  it('gives the stream\'s scores', async () => {
    const lake = createLakeQueries(engine);
    const model = BtydModel.load(trainBtyd(original, { calibrationEnd: '2024-05-29', horizonDays: 90 }));
    const fromLake = await lakeStates(lake, [...stream.keys()]);
    for (const [id, state] of stream) expect(model.score(featuresOf(fromLake.get(id)!, NOW)), id).toEqual(model.score(featuresOf(state, NOW)));
  });

  it('would count the retries without the deduplication (the lake does hold them)', async () => {
    const rows = (await engine.query('customer_order_totals')).rows.length;
    const distinct = new Set(original.map((event) => `${event.customerId}\u0000${event.type}\u0000${event.orderId}`)).size;
    expect(rows).toBe(distinct);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const raw = await connection.runAndReadAll(`SELECT COUNT(DISTINCT (customer_id, type, order_id, occurred_at)) AS n FROM read_parquet('${join(dir, 'orders', '*', '*.parquet')}', hive_partitioning = true, union_by_name = true)`);
      expect(Number(raw.getRowsJson()[0][0])).toBe(distinct + retries.length);
    } finally {
      connection.closeSync();
      db.closeSync();
    }
  });
});
