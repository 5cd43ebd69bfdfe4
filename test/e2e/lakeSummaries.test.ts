import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AthenaClient } from '@aws-sdk/client-athena';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { athenaClient } from '../../aws/clients.ts';
import { ApiService } from '../../api/apiService.ts';
import { createAthenaEngine } from '../../api/engines/athenaEngine.ts';
import { createDuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { createApiHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent } from '../../api/http/events.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import { ORDERS_DIR, sqlString, SUMMARY_TABLES } from '../../api/lake/lakeLayout.ts';
import { createLakeQueries, SUMMARIES_RETRY_SECONDS } from '../../api/lake/lakeQueriesSql.ts';
import { LakeUnavailableError } from '../../api/errors.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createAthenaCurationTarget } from '../../lake/athenaCurationTarget.ts';
import { statementRunner } from '../../lake/athenaStatements.ts';
import { type CurateOptions, curateLake } from '../../lake/curateLake.ts';
import { openDuckdbCurationTarget } from '../../lake/duckdbCurationTarget.ts';
import { curateLocalLake } from '../../lake/localCuration.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';
import { startAthenaEndpoint, type AthenaEndpoint } from '../support/athenaEndpoint.ts';
import { createTestApi } from '../support/testApi.ts';

/*
 * The curation's summary tables (customer_summary, product_daily_sales, daily_totals) hold exactly
 * the aggregates of the curated order lines, computed here in JS from the lines read back: after
 * a first run, and after a re-curation of an old day with late events, which changes them. The
 * same on DuckDB and through the real AthenaClient against the Athena stand-in (CTAS + swap). A
 * lake curated before the summaries answers 503 with Retry-After on the endpoints that read them,
 * its date range from the lines, until a run builds them, which a run does even with no new day.
 */

const NOW = Date.parse('2024-03-31T12:00:00Z');
const S3 = 's3://test-lake/curated';
const DATABASE = 'demand_insights_lake';
const WORKGROUP = 'demand-insights';
const options = (nowMs = NOW): CurateOptions => ({ nowMs, lookbackDays: 3, eventTime: DEFAULT_EVENT_TIME_BOUNDS, graceMs: 3_600_000 });
const texts = (events: readonly OrderEvent[]) => events.map((event) => JSON.stringify(event));

/** Lines the plain aggregates must handle: a free line, a product under two categories and none, a customer with only a return. */
const EDGE_EVENTS: OrderEvent[] = [
  { type: 'order', orderId: 'edge-1', customerId: 'E1', occurredAt: '2024-03-01T10:00:00Z', lines: [{ productId: 'PX', categoryId: 'K1', quantity: 2, unitPrice: 1.25 }, { productId: 'PX', categoryId: 'K1', quantity: 5, unitPrice: 0 }] },
  { type: 'order', orderId: 'edge-2', customerId: 'E1', occurredAt: '2024-03-01T18:00:00Z', lines: [{ productId: 'PX', categoryId: 'K2', quantity: 1, unitPrice: 1.3 }, { productId: 'PY', quantity: 3, unitPrice: 0.1 }] },
  { type: 'return', orderId: 'edge-3', customerId: 'E2', occurredAt: '2024-03-02T09:00:00Z', lines: [{ productId: 'PX', categoryId: 'K1', quantity: 1, unitPrice: 1.25 }] },
];

/** Late events for 2024-03-05, delivered after that day was curated. */
const LATE_EVENTS: OrderEvent[] = [
  { type: 'order', orderId: 'late-1', customerId: 'E1', occurredAt: '2024-03-05T08:00:00Z', lines: [{ productId: 'PX', categoryId: 'K1', quantity: 4, unitPrice: 1.2 }] },
  { type: 'order', orderId: 'late-2', customerId: 'E3', occurredAt: '2024-03-05T09:00:00Z', lines: [{ productId: 'PZ', categoryId: 'K9', quantity: 1, unitPrice: 9.99 }] },
];

interface Line {
  order_id: string;
  customer_id: string;
  product_id: string;
  category_id: string | null;
  quantity: number;
  unit_price: number;
  occurred_at: string;
  type: string;
  country: string | null;
}

/** A timestamp as ISO-8601 UTC with milliseconds, from either engine's text. */
function iso(text: string): string {
  const normal = text.replace(' ', 'T');
  return new Date(/Z$|[+-]\d\d(:?\d\d)?$/.test(normal) ? normal : `${normal}Z`).toISOString();
}

type Table = Record<string, string[]>;

/** The summaries as the order lines say, in JS, rows as sorted JSON text. */
function expectedSummaries(lines: readonly Line[]): Table {
  const cents = (line: Line) => Math.round(line.quantity * line.unit_price * 100);
  const day = (line: Line) => line.occurred_at.slice(0, 10);
  const customers = new Map<string, { last: string; orders: Set<string>; cents: number }>();
  const products = new Map<string, { units: number; priced: number; cents: number }>();
  const days = new Map<string, number>();
  // customer_orders: one event per (customer, type, order id), the earliest; its lines summed.
  const earliest = new Map<string, string>();
  for (const line of lines) {
    const key = JSON.stringify([line.customer_id, line.type, line.order_id]);
    const at = iso(line.occurred_at);
    if (!earliest.has(key) || at < earliest.get(key)!) earliest.set(key, at);
  }
  const events = new Map<string, { cents: number; units: number; country: string | null }>();
  for (const line of lines) {
    const at = iso(line.occurred_at);
    if (earliest.get(JSON.stringify([line.customer_id, line.type, line.order_id])) !== at) continue;
    const key = JSON.stringify([line.customer_id, line.type, line.order_id, at]);
    const event = events.get(key) ?? { cents: 0, units: 0, country: null };
    event.cents += cents(line);
    event.units += line.quantity;
    event.country = line.country ?? event.country;
    events.set(key, event);
  }
  for (const line of lines) {
    days.set(day(line), (days.get(day(line)) ?? 0) + 1);
    if (line.type !== 'order') continue;
    const customer = customers.get(line.customer_id) ?? { last: '', orders: new Set<string>(), cents: 0 };
    customer.last = day(line) > customer.last ? day(line) : customer.last;
    customer.orders.add(line.order_id);
    customer.cents += cents(line);
    customers.set(line.customer_id, customer);
    const key = JSON.stringify([line.product_id, line.category_id, day(line)]);
    const product = products.get(key) ?? { units: 0, priced: 0, cents: 0 };
    product.units += line.quantity;
    product.priced += line.unit_price > 0 ? line.quantity : 0;
    product.cents += cents(line);
    products.set(key, product);
  }
  return {
    customer_summary: [...customers].map(([id, c]) => JSON.stringify([id, c.last, c.orders.size, c.cents])).sort(),
    customer_orders: [...events].map(([key, e]) => JSON.stringify([...JSON.parse(key), e.cents, e.units, e.country])).sort(),
    product_daily_sales: [...products].map(([key, p]) => JSON.stringify([...JSON.parse(key), p.units, p.priced, p.cents])).sort(),
    daily_totals: [...days].map(([d, n]) => JSON.stringify([d, n])).sort(),
  };
}

/** Rows of a summary table as the same JSON text (numbers as numbers, days as YYYY-MM-DD). */
function summaryRows(name: string, rows: readonly Record<string, unknown>[]): string[] {
  const columns = SUMMARY_TABLES.find((table) => table.name === name)!.columns;
  return rows
    .map((row) => JSON.stringify(columns.map((column) => {
      const value = row[column.name];
      if (value === null || value === undefined) return null;
      if (column.duckdb === 'TIMESTAMP') return iso(String(value));
      if (column.duckdb === 'DATE') return String(value).slice(0, 10);
      return column.duckdb === 'VARCHAR' ? String(value) : Number(value);
    })))
    .sort();
}

async function duckdbRows(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run("SET TimeZone = 'UTC'");
    return (await connection.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function localLines(root: string): Promise<Line[]> {
  const rows = await duckdbRows(`SELECT order_id, customer_id, product_id, category_id, quantity, unit_price, strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%g') AS occurred_at, type, country FROM read_parquet(${sqlString(join(root, ORDERS_DIR, '*', '*.parquet'))})`);
  return rows.map((row) => ({ ...row, quantity: Number(row.quantity), unit_price: Number(row.unit_price) }) as Line);
}

async function localSummaries(root: string): Promise<Table> {
  const out: Table = {};
  for (const table of SUMMARY_TABLES) out[table.name] = summaryRows(table.name, await duckdbRows(`SELECT * FROM read_parquet(${sqlString(join(root, table.name, '*.parquet'))})`));
  return out;
}

describe('summary tables', () => {
  let dir: string;
  let events: OrderEvent[];
  let endpoint: AthenaEndpoint;
  let client: AthenaClient;

  const athenaTarget = () => createAthenaCurationTarget({ client, database: DATABASE, workgroup: WORKGROUP, curatedRoot: S3, pollIntervalMs: 1 });
  const athenaRows = async (sql: string) => {
    const runner = statementRunner({ client, database: DATABASE, workgroup: WORKGROUP, pollIntervalMs: 1 });
    return runner.run(sql, 'read back');
  };
  const athenaSummaries = async (): Promise<Table> => {
    const out: Table = {};
    for (const table of SUMMARY_TABLES) out[table.name] = summaryRows(table.name, await athenaRows(`SELECT * FROM ${table.name}`));
    return out;
  };
  const athenaLines = async (): Promise<Line[]> =>
    (await athenaRows('SELECT order_id, customer_id, product_id, category_id, quantity, unit_price, occurred_at, type, country FROM order_lines')).map(
      (row) => ({ ...row, quantity: Number(row.quantity), unit_price: Number(row.unit_price), occurred_at: String(row.occurred_at).replace(' ', 'T') }) as unknown as Line,
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-summaries-'));
    events = [...generateEvents({ customers: 50, days: 40, seed: 29, start: '2024-02-15' }), ...EDGE_EVENTS];
    // One raw store read by both targets: the DuckDB one's lake root, and the stand-in's rawDir.
    await deliverRawOrders(join(dir, 'duck'), texts(events));
    endpoint = await startAthenaEndpoint({ lakeDir: join(dir, 'athena'), rawDir: join(dir, 'duck', 'raw', 'orders'), s3Root: S3, queuedPolls: 0, runningPolls: 0 });
    client = athenaClient({ endpoint: endpoint.endpoint, region: 'us-east-1' });
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await endpoint?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('equal the aggregates of the curated order lines, on DuckDB and on Athena, and again after late events change them', async () => {
    const duck = await openDuckdbCurationTarget(join(dir, 'duck'));
    try {
      const first = await curateLake(duck, { from: '2024-02-15', to: '2024-03-31' }, options());
      expect(first.summariesRebuilt).toBe(true);
    } finally {
      await duck.close();
    }
    await curateLake(athenaTarget(), { from: '2024-02-15', to: '2024-03-31' }, options());
    const lines = await localLines(join(dir, 'duck'));
    expect(lines.length).toBeGreaterThan(200);
    const expected = expectedSummaries(lines);
    expect(expected.customer_summary.length).toBeGreaterThan(40);
    // The free line counts in units, not in priced units or cents; E2 (a return only) has no row.
    expect(expected.product_daily_sales).toContain(JSON.stringify(['PX', 'K1', '2024-03-01', 7, 2, 250]));
    expect(expected.customer_summary.some((row) => row.includes('"E2"'))).toBe(false);
    expect(await localSummaries(join(dir, 'duck'))).toEqual(expected);
    expect(expectedSummaries(await athenaLines())).toEqual(expected);
    expect(await athenaSummaries()).toEqual(expected);

    // Late events for a day long curated: its re-curation (an explicit range) rebuilds the summaries too.
    await deliverRawOrders(join(dir, 'duck'), texts(LATE_EVENTS));
    await curateLocalLake(join(dir, 'duck'), { from: '2024-03-05', to: '2024-03-05' }, { nowMs: NOW + 60_000 });
    await curateLake(athenaTarget(), { from: '2024-03-05', to: '2024-03-05' }, options(NOW + 60_000));
    const later = expectedSummaries(await localLines(join(dir, 'duck')));
    expect(later).not.toEqual(expected);
    const e1 = (table: Table) => table.customer_summary.find((row) => row.startsWith('["E1"'));
    expect(e1(expected)).toBe(JSON.stringify(['E1', '2024-03-01', 2, 250 + 130 + 30]));
    expect(e1(later)).toBe(JSON.stringify(['E1', '2024-03-05', 3, 250 + 130 + 30 + 480]));
    expect(await localSummaries(join(dir, 'duck'))).toEqual(later);
    expect(await athenaSummaries()).toEqual(later);
  }, 240_000);

  it('a lake without them: 503 with Retry-After where an endpoint needs them, the date range from the lines, then served once a run builds them', async () => {
    const root = join(dir, 'old');
    await buildLake(events, root, { nowMs: NOW });
    for (const table of SUMMARY_TABLES) await rm(join(root, table.name), { force: true });
    const engine = await createDuckDbEngine({ lakeDir: root });
    const api = await createTestApi({ events });
    const service = new ApiService({ lake: createLakeQueries(engine), store: api.store, model: api.model });
    const handler = createApiHandler({ service: () => service });
    const call = (method: 'GET' | 'POST', url: string, body?: unknown) => handler(httpApiEvent({ method, url, headers: { 'content-type': 'application/json', host: 'test.local' }, body }));
    try {
      const days = events.map((event) => event.occurredAt.slice(0, 10)).sort();
      expect(await createLakeQueries(engine).dateRange()).toEqual({ first: days[0], last: days[days.length - 1] });
      for (const [method, url, body] of [
        ['GET', '/demand-insights/segments?n_clusters=4'],
        ['POST', '/demand-insights/forecast', { forecast_days: 7 }],
        ['POST', '/demand-insights/price-elasticity', {}],
        ['GET', '/demand-insights/products?limit=5'],
      ] as const) {
        const response = await call(method, url, body);
        expect(response.statusCode, url).toBe(503);
        expect(JSON.parse(response.body).error.code, url).toBe('lake_unavailable');
        expect(response.headers?.['retry-after'], url).toBe(String(SUMMARIES_RETRY_SECONDS));
      }
      // The next scheduled run, with no new raw day at all, still builds them.
      const report = await curateLocalLake(root, {}, { nowMs: NOW });
      expect(report.partitionsRebuilt).toBe(0);
      expect(report.summariesRebuilt).toBe(true);
      expect(await localSummaries(root)).toEqual(expectedSummaries(await localLines(root)));
      await engine.refresh();
      const fresh = new ApiService({ lake: createLakeQueries(engine), store: api.store, model: api.model });
      const served = createApiHandler({ service: () => fresh });
      const segments = await served(httpApiEvent({ method: 'GET', url: '/demand-insights/segments?n_clusters=4', headers: { host: 'test.local' } }));
      expect(segments.statusCode).toBe(200);
      const customers = expectedSummaries(await localLines(root)).customer_summary.length;
      expect(JSON.parse(segments.body).segments.reduce((sum: number, segment: { size: number }) => sum + segment.size, 0)).toBe(customers);
      // A later quiet run leaves them alone.
      expect((await curateLocalLake(root, {}, { nowMs: NOW })).summariesRebuilt).toBe(false);
    } finally {
      await engine.close();
    }
  }, 120_000);

  it('through Athena too: an empty summary with order lines is a LakeUnavailableError, an empty lake an empty answer', async () => {
    const root = join(dir, 'old-athena');
    await buildLake(events, root, { nowMs: NOW });
    for (const table of SUMMARY_TABLES) await rm(join(root, table.name), { force: true });
    const empty = join(dir, 'empty');
    await buildLake([], empty, { nowMs: NOW });
    for (const [lakeDir, missing] of [[root, true], [empty, false]] as const) {
      const at = await startAthenaEndpoint({ lakeDir, queuedPolls: 0, runningPolls: 0 });
      const lake = createLakeQueries(createAthenaEngine({ database: at.database, workgroup: at.workgroup, endpoint: at.endpoint, pollIntervalMs: 1 }));
      try {
        const sample = lake.segmentSample('2024-03-31');
        if (missing) await expect(sample).rejects.toBeInstanceOf(LakeUnavailableError);
        else await expect(sample).resolves.toEqual([]);
        if (missing) await expect(lake.pooledElasticitySums({})).rejects.toThrow(/summary tables are not built yet/);
      } finally {
        await lake.close();
        await at.close();
      }
    }
  }, 120_000);
});
