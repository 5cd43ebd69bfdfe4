import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDuckDbEngine, type DuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { QUERY_NAMES, TABLE_PLACEHOLDERS } from '../../api/engines/queryEngine.ts';
import { buildLake, type LakeSummary } from '../../api/lake/buildLake.ts';
import type { DemandScope, LakeOrderLine, LakeOrderTotals, LakeQueries } from '../../api/lake/lakeQueries.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { compareCodePoints } from '../../models/customer/customerIds.ts';
import { statesFromLines, statesFromOrderTotals } from '../../api/lake/lakeStates.ts';
import { statisticsOf } from '../../models/customer/customerState.ts';
import { weekIndex } from '../../models/time/calendar.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { ONLINE_RETAIL_II } from '../support/sharedData.ts';
import { MemoryLakeQueries } from '../support/memoryLakeQueries.ts';

/*
 * The lake as `lake build` writes it and every LakeQueries method on DuckDB, checked against the
 * same figures computed here in TypeScript straight from the events: on synthetic data with
 * categories, returns, offsets and hostile ids, and on the shared Online Retail II sample.
 */

const RETAIL = ONLINE_RETAIL_II;

// ---------------------------------------------------------------------------------------------
// The reference: the same answers, computed from the events

/** A lake line as the query answers it, with its UTC day and event time for the reference's sorting. */
interface RefLine extends LakeOrderLine {
  day: string;
  ms: number;
}

function flatten(events: readonly OrderEvent[]): RefLine[] {
  const lines: RefLine[] = [];
  for (const event of events) {
    const ms = Date.parse(event.occurredAt);
    const occurredAt = new Date(ms).toISOString();
    for (const line of event.lines) {
      lines.push({
        orderId: event.orderId,
        customerId: event.customerId,
        productId: line.productId,
        categoryId: line.categoryId ?? null,
        quantity: line.quantity,
        unitPrice: line.unitPrice,
        occurredAt,
        type: event.type,
        country: event.country ?? null,
        day: occurredAt.slice(0, 10),
        ms,
      });
    }
  }
  return lines;
}

const cents = (line: RefLine) => Math.round(line.quantity * line.unitPrice * 100);
const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / 86_400_000;
const isoOfDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);
const inScope = (line: RefLine, scope: DemandScope) =>
  (scope.productId === undefined || line.productId === scope.productId) && (scope.categoryId === undefined || line.categoryId === scope.categoryId);

function refDateRange(lines: readonly RefLine[]) {
  if (!lines.length) return null;
  const days = lines.map((line) => line.day).sort();
  return { first: days[0], last: days[days.length - 1] };
}

/** A product's category: that of its latest line with one (ties: the greatest category). */
function refProducts(lines: readonly RefLine[]): Map<string, string | null> {
  const best = new Map<string, { category: string | null; ms: number }>();
  for (const line of lines) {
    const current = best.get(line.productId);
    if (!current) best.set(line.productId, { category: line.categoryId, ms: line.ms });
    else if (line.categoryId !== null) {
      const better =
        current.category === null || line.ms > current.ms || (line.ms === current.ms && compareCodePoints(line.categoryId, current.category) > 0);
      if (better) best.set(line.productId, { category: line.categoryId, ms: line.ms });
    }
  }
  return new Map([...best].map(([product, { category }]) => [product, category]));
}

function refDailyUnits(lines: readonly RefLine[], scope: DemandScope) {
  const units = new Map<string, number>();
  for (const line of lines) if (line.type === 'order' && inScope(line, scope)) units.set(line.day, (units.get(line.day) ?? 0) + line.quantity);
  return [...units].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, total]) => ({ date, units: total }));
}

function refWeekly(lines: readonly RefLine[], scope: DemandScope) {
  const weeks = new Map<string, { productId: string; weekStart: string; units: number; cents: number }>();
  for (const line of lines) {
    if (line.type !== 'order' || line.unitPrice <= 0 || !inScope(line, scope)) continue;
    const weekStart = isoOfDay(weekIndex(dayNumber(line.day)) * 7 - 3);
    const key = `${line.productId}\u0000${weekStart}`;
    const entry = weeks.get(key) ?? { productId: line.productId, weekStart, units: 0, cents: 0 };
    entry.units += line.quantity;
    entry.cents += cents(line);
    weeks.set(key, entry);
  }
  return [...weeks.values()]
    .filter((week) => week.units > 0)
    .sort((a, b) => compareCodePoints(a.productId, b.productId) || (a.weekStart < b.weekStart ? -1 : 1))
    .map(({ productId, weekStart, units, cents: total }) => ({ productId, weekStart, units, revenue: total / 100 }));
}

function refRfm(lines: readonly RefLine[], asOf: string) {
  const customers = new Map<string, { last: string; orders: Set<string>; cents: number }>();
  for (const line of lines) {
    if (line.type !== 'order' || line.day > asOf) continue;
    const entry = customers.get(line.customerId) ?? { last: line.day, orders: new Set<string>(), cents: 0 };
    if (line.day > entry.last) entry.last = line.day;
    entry.orders.add(line.orderId);
    entry.cents += cents(line);
    customers.set(line.customerId, entry);
  }
  return [...customers]
    .sort(([a], [b]) => compareCodePoints(a, b))
    .map(([customerId, entry]) => ({
      customerId,
      recencyDays: dayNumber(asOf) - dayNumber(entry.last),
      frequency: entry.orders.size,
      monetary: entry.cents / 100,
    }));
}

function refOrderLines(lines: readonly RefLine[], customerIds?: readonly string[]) {
  const wanted = customerIds ? new Set(customerIds) : undefined;
  return lines
    .filter((line) => !wanted || wanted.has(line.customerId))
    .sort(
      (a, b) =>
        compareCodePoints(a.customerId, b.customerId) ||
        a.ms - b.ms ||
        compareCodePoints(a.orderId, b.orderId) ||
        compareCodePoints(a.productId, b.productId) ||
        a.quantity - b.quantity ||
        a.unitPrice - b.unitPrice ||
        compareCodePoints(a.type, b.type) ||
        compareNullsLast(a.categoryId, b.categoryId) ||
        compareNullsLast(a.country, b.country),
    )
    .map(({ orderId, customerId, productId, categoryId, quantity, unitPrice, occurredAt, type, country }) => ({
      orderId,
      customerId,
      productId,
      categoryId,
      quantity,
      unitPrice,
      occurredAt,
      type,
      country,
    }));
}

const compareNullsLast = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : compareCodePoints(a, b));

/** One row per (customer, type, order, time): cents and units summed, the greatest country; by customer, time, order, type. */
function refOrderTotals(lines: readonly RefLine[], customerIds?: readonly string[]) {
  const wanted = customerIds ? new Set(customerIds) : undefined;
  const totals = new Map<string, { orderId: string; customerId: string; type: 'order' | 'return'; occurredAt: string; cents: number; units: number; country: string | null; ms: number }>();
  for (const line of lines) {
    if (wanted && !wanted.has(line.customerId)) continue;
    const key = `${line.customerId}\u0000${line.type}\u0000${line.orderId}\u0000${line.ms}`;
    const total = totals.get(key) ?? { orderId: line.orderId, customerId: line.customerId, type: line.type, occurredAt: line.occurredAt, cents: 0, units: 0, country: null, ms: line.ms };
    total.cents += cents(line);
    total.units += line.quantity;
    if (line.country !== null && (total.country === null || compareCodePoints(line.country, total.country) > 0)) total.country = line.country;
    totals.set(key, total);
  }
  return [...totals.values()]
    .sort((a, b) => compareCodePoints(a.customerId, b.customerId) || a.ms - b.ms || compareCodePoints(a.orderId, b.orderId) || compareCodePoints(a.type, b.type))
    .map(({ ms: _ms, ...total }) => total);
}

// ---------------------------------------------------------------------------------------------
// Synthetic data with everything awkward in it

/** Ids a caller could send to break out of a literal, a comment or an encoding. */
export const HOSTILE_IDS = [
  "O'Brien",
  "x'; DROP TABLE order_lines; --",
  "' OR '1'='1",
  '/* comment */',
  '-- comment',
  'semi;colon',
  'back\\slash\\',
  "back\\'quote",
  '"double"',
  'ünïcödé 😀 客户',
  '%_wildcards_%',
  '?',
  '{{orders}}',
  '$1',
];

function syntheticEvents(): OrderEvent[] {
  const events = generateEvents({ customers: 600, days: 200, seed: 11, start: '2024-01-01' });
  const extra: OrderEvent[] = HOSTILE_IDS.slice(0, 8).map((id, index) => ({
    type: 'order',
    orderId: `hostile-${index}`,
    customerId: id,
    occurredAt: `2024-02-${String(10 + index).padStart(2, '0')}T10:00:00Z`,
    // Countries are text like any other: hostile ones on every other event, none on the rest.
    ...(index % 2 === 0 ? { country: HOSTILE_IDS[13 - index] } : {}),
    lines: [
      { productId: id, categoryId: id, quantity: index + 1, unitPrice: 1.25 },
      { productId: 'P0010', categoryId: 'C10', quantity: 1, unitPrice: 8.53 },
    ],
  }));
  extra.push(
    // 22:30 at UTC-5 is 03:30 the next day in UTC: the line belongs to 2024-03-02.
    { type: 'order', orderId: 'offset-1', customerId: 'U-offset', occurredAt: '2024-03-01T22:30:00-05:00', lines: [{ productId: 'P-offset', quantity: 3, unitPrice: 0.1 }] },
    // A product that moved category: the products table keeps the latest.
    // ... bought by a customer who moved country (the return carries none).
    { type: 'order', orderId: 'move-1', customerId: 'U-move', occurredAt: '2024-01-05T09:00:00Z', country: 'France', lines: [{ productId: 'P-moved', categoryId: 'CAT-OLD', quantity: 2, unitPrice: 3 }] },
    { type: 'order', orderId: 'move-2', customerId: 'U-move', occurredAt: '2024-04-05T09:00:00Z', country: 'Österreich', lines: [{ productId: 'P-moved', categoryId: 'CAT-NEW', quantity: 1, unitPrice: 3.1 }] },
    { type: 'return', orderId: 'move-2-R', customerId: 'U-move', occurredAt: '2024-04-07T09:00:00Z', lines: [{ productId: 'P-moved', categoryId: 'CAT-NEW', quantity: 1, unitPrice: 3.1 }] },
    // Same product twice in one order, and sub-cent prices.
    {
      type: 'order',
      orderId: 'dup-1',
      customerId: 'U-dup',
      occurredAt: '2024-05-01T00:00:00.123Z',
      lines: [
        { productId: 'P-dup', quantity: 1, unitPrice: 0.005 },
        { productId: 'P-dup', quantity: 1, unitPrice: 0.005 },
        { productId: 'P-dup', quantity: 7, unitPrice: 1.015 },
      ],
    },
  );
  return [...events, ...extra];
}

// ---------------------------------------------------------------------------------------------

async function checkAllMethods(queries: LakeQueries, events: readonly OrderEvent[], scopes: DemandScope[], asOfs: string[], customerSets: string[][]) {
  const lines = flatten(events);
  expect(await queries.dateRange()).toEqual(refDateRange(lines));
  const products = refProducts(lines);
  for (const [productId] of [...products].slice(0, 25)) expect(await queries.productExists(productId)).toBe(true);
  expect(await queries.productExists('no such product')).toBe(false);
  const categories = new Set([...products.values()].filter((category): category is string => category !== null));
  for (const category of categories) expect(await queries.categoryExists(category)).toBe(true);
  expect(await queries.categoryExists('no such category')).toBe(false);
  for (const scope of scopes) {
    expect(await queries.dailyUnits(scope)).toEqual(refDailyUnits(lines, scope));
    expect(await queries.weeklyProductSales(scope)).toEqual(refWeekly(lines, scope));
  }
  expect(await queries.productSales()).toEqual(await new MemoryLakeQueries(events).productSales());
  for (const asOf of asOfs) expect(await queries.customerRfm(asOf)).toEqual(refRfm(lines, asOf));
  for (const ids of customerSets) expect(await queries.customerOrderLines(ids)).toEqual(refOrderLines(lines, ids));
  const all = await queries.customerOrderLines();
  expect(all.length).toBe(lines.length);
  // 400k objects: compare as text, which is faster than a deep equal and as strict.
  expect(JSON.stringify(all)).toBe(JSON.stringify(refOrderLines(lines)));
  const totals = queries as LakeQueries & LakeOrderTotals;
  for (const ids of customerSets) expect(await totals.customerOrderTotals(ids)).toEqual(refOrderTotals(lines, ids));
  expect(JSON.stringify(await totals.customerOrderTotals())).toBe(JSON.stringify(refOrderTotals(lines)));
}

describe('lake on synthetic data', () => {
  let dir: string;
  let events: OrderEvent[];
  let summary: LakeSummary;
  let engine: DuckDbEngine;
  let queries: ReturnType<typeof createLakeQueries>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-synthetic-'));
    events = syntheticEvents();
    summary = await buildLake(events, dir);
    engine = await createDuckDbEngine({ lakeDir: dir });
    queries = createLakeQueries(engine);
  });

  afterAll(async () => {
    await queries?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one row per order line, by UTC day, in Hive partitions', async () => {
    const lines = flatten(events);
    expect(summary.orderLines).toBe(lines.length);
    expect(summary.orderTypeLines + summary.returnLines).toBe(lines.length);
    expect(summary.returnLines).toBe(lines.filter((line) => line.type === 'return').length);
    expect(summary.customers).toBe(new Set(lines.map((line) => line.customerId)).size);
    expect(summary.products).toBe(new Set(lines.map((line) => line.productId)).size);
    const days = [...new Set(lines.map((line) => line.day))].sort();
    expect(readdirSync(join(dir, 'orders')).sort()).toEqual(days.map((day) => `date=${day}`));
    expect(summary.days).toBe(days.length);
    expect(readdirSync(join(dir, 'orders', `date=${days[0]}`))).toEqual(['part-0.parquet']);
    expect(existsSync(join(dir, 'products', 'part-0.parquet'))).toBe(true);
    expect(existsSync(join(dir, 'orders', 'date=2024-03-02'))).toBe(true);

    // The files themselves, read without the engine: schema and per-day counts.
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const schema = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${join(dir, 'orders', '*', '*.parquet')}', hive_partitioning = false)`);
    expect(schema.getRowObjectsJson().map((row) => [row.column_name, row.column_type])).toEqual([
      ['order_id', 'VARCHAR'],
      ['customer_id', 'VARCHAR'],
      ['product_id', 'VARCHAR'],
      ['category_id', 'VARCHAR'],
      ['quantity', 'DOUBLE'],
      ['unit_price', 'DOUBLE'],
      ['occurred_at', 'TIMESTAMP'],
      ['type', 'VARCHAR'],
      ['country', 'VARCHAR'],
    ]);
    const perDay = await connection.runAndReadAll(
      `SELECT "date", COUNT(*) AS n, COUNT(*) FILTER (WHERE strftime(occurred_at, '%Y-%m-%d') <> "date") AS misplaced
       FROM read_parquet('${join(dir, 'orders', '*', '*.parquet')}', hive_partitioning = true, hive_types = {'date': VARCHAR}) GROUP BY 1 ORDER BY 1`,
    );
    const expected = new Map<string, number>();
    for (const line of lines) expected.set(line.day, (expected.get(line.day) ?? 0) + 1);
    expect(perDay.getRowObjectsJson().map((row) => [row.date, Number(row.n), Number(row.misplaced)])).toEqual([...expected].sort().map(([day, n]) => [day, n, 0]));
    connection.closeSync();
    db.closeSync();
  });

  it('answers every LakeQueries method as the events say', async () => {
    await checkAllMethods(
      queries,
      events,
      [{}, { productId: 'P0010' }, { categoryId: 'C10' }, { productId: 'P0010', categoryId: 'C10' }, { productId: 'P0010', categoryId: 'C01' }, { categoryId: 'CAT-OLD' }, { productId: 'P-dup' }],
      ['2024-01-15', '2024-03-01', '2024-03-02', '2024-07-18', '2030-01-01', '1999-01-01'],
      [['U000065'], ['U000065', 'U000349', 'U-move', 'U-offset', 'nobody'], HOSTILE_IDS, []],
    );
  });

  it('keeps a product in its latest category, while its old lines keep theirs', async () => {
    expect(await queries.categoryExists('CAT-NEW')).toBe(true);
    expect(await queries.categoryExists('CAT-OLD')).toBe(false);
    expect(await queries.dailyUnits({ categoryId: 'CAT-OLD' })).toEqual([{ date: '2024-01-05', units: 2 }]);
  });

  it('treats hostile ids as plain values: exact matches or nothing', async () => {
    for (const [index, id] of HOSTILE_IDS.entries()) {
      const known = index < 8;
      expect(await queries.productExists(id)).toBe(known);
      expect(await queries.categoryExists(id)).toBe(known);
      expect(await queries.dailyUnits({ productId: id })).toEqual(known ? [{ date: `2024-02-${String(10 + index).padStart(2, '0')}`, units: index + 1 }] : []);
      const lines = await queries.customerOrderLines([id]);
      expect(lines.map((line) => line.customerId)).toEqual(known ? [id, id] : []);
    }
    expect(await queries.productExists('')).toBe(false);
    expect(await queries.dailyUnits({ productId: '' })).toEqual([]);
  });

  it('runs every query file, including through a live view over the files', async () => {
    const live = await createDuckDbEngine({ lakeDir: dir, snapshot: false });
    try {
      const viewOf = (text: string) => TABLE_PLACEHOLDERS.reduce((sql, table) => sql.replaceAll(`"${table}"`, `"lake_${table}"`), text);
      for (const name of QUERY_NAMES) expect(live.sqlText(name)).toBe(viewOf(engine.sqlText(name)));
      const viaFiles = createLakeQueries(live);
      expect(await viaFiles.customerRfm('2024-06-01')).toEqual(await queries.customerRfm('2024-06-01'));
      expect(await viaFiles.weeklyProductSales({ categoryId: 'C03' })).toEqual(await queries.weeklyProductSales({ categoryId: 'C03' }));
    } finally {
      await live.close();
    }
  });

  it('rejects a malformed as-of day before any SQL runs', async () => {
    await expect(queries.customerRfm('2024-02-30')).rejects.toThrow(/calendar date/);
    await expect(queries.customerRfm("2024-01-01' OR 1=1")).rejects.toThrow(/calendar date/);
  });

  it('rebuilds the same customer states from order totals as from order lines', async () => {
    const fromLines = statesFromLines(await queries.customerOrderLines());
    const fromTotals = statesFromOrderTotals(await queries.customerOrderTotals());
    expect(fromTotals.size).toBe(fromLines.size);
    for (const [id, state] of fromLines) expect(statisticsOf(fromTotals.get(id)!)).toEqual(statisticsOf(state));
    // The country of the latest event that has one (statisticsOf compares country and countryMs too).
    expect([fromTotals.get('U-move')!.country, fromTotals.get('U-move')!.countryMs]).toEqual(['Österreich', Date.parse('2024-04-05T09:00:00Z')]);
    expect(fromTotals.get(HOSTILE_IDS[1])!.country).toBeNull();
    const some = [...fromLines.keys()].slice(0, 120);
    const subset = statesFromOrderTotals(await queries.customerOrderTotals(some));
    expect([...subset.keys()].sort()).toEqual([...some].sort());
  });

  it('batches long customer lists and keeps the order', async () => {
    const lines = flatten(events);
    const ids = [...new Set(lines.map((line) => line.customerId))].reverse().slice(0, 250);
    expect(await queries.customerOrderLines(ids)).toEqual(refOrderLines(lines, ids));
  });
});

describe('a rebuilt lake', () => {
  it('is seen after refresh(), not before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-refresh-'));
    try {
      const first = generateEvents({ customers: 20, days: 30, seed: 1, start: '2024-01-01' });
      await buildLake(first, dir);
      const engine = await createDuckDbEngine({ lakeDir: dir });
      const queries = createLakeQueries(engine);
      expect(await queries.dateRange()).toEqual(refDateRange(flatten(first)));
      const second = generateEvents({ customers: 20, days: 30, seed: 1, start: '2025-06-01' });
      await buildLake(second, dir);
      expect(await queries.dateRange()).toEqual(refDateRange(flatten(first)));
      await engine.refresh();
      expect(await queries.dateRange()).toEqual(refDateRange(flatten(second)));
      expect(await queries.customerRfm('2025-07-15')).toEqual(refRfm(flatten(second), '2025-07-15'));
      await queries.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an empty lake', () => {
  it('builds and answers with nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-empty-'));
    try {
      const summary = await buildLake([], dir);
      expect(summary).toMatchObject({ orderLines: 0, products: 0, days: 0, firstDay: null, lastDay: null });
      const queries = createLakeQueries(await createDuckDbEngine({ lakeDir: dir }));
      expect(await queries.dateRange()).toBeNull();
      expect(await queries.productExists('P1')).toBe(false);
      expect(await queries.dailyUnits({})).toEqual([]);
      expect(await queries.weeklyProductSales({})).toEqual([]);
      expect(await queries.customerRfm('2024-01-01')).toEqual([]);
      expect(await queries.customerOrderLines()).toEqual([]);
      await queries.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lake on the Online Retail II sample', () => {
  let dir: string;
  let events: OrderEvent[];
  let summary: LakeSummary;
  let queries: LakeQueries;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-retail-'));
    events = (await readDataset(RETAIL, 'online-retail')).events;
    summary = await buildLake(events, dir);
    queries = createLakeQueries(await createDuckDbEngine({ lakeDir: dir }));
  });

  afterAll(async () => {
    await queries?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds every line of every event, returns included', () => {
    const lines = flatten(events);
    expect(summary.orderLines).toBe(lines.length);
    expect(summary.orderLines).toBeGreaterThan(400_000);
    expect(summary.returnLines).toBe(lines.filter((line) => line.type === 'return').length);
    expect(summary.returnLines).toBeGreaterThan(5_000);
    expect(summary.days).toBe(new Set(lines.map((line) => line.day)).size);
    expect(summary.products).toBe(new Set(lines.map((line) => line.productId)).size);
  });

  it('answers every LakeQueries method as the events say', async () => {
    const lines = flatten(events);
    const units = new Map<string, number>();
    for (const line of lines) if (line.type === 'order') units.set(line.productId, (units.get(line.productId) ?? 0) + line.quantity);
    const top = [...units].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([product]) => product);
    const customers = [...new Set(lines.map((line) => line.customerId))];
    await checkAllMethods(
      queries,
      events,
      [{}, ...top.map((productId) => ({ productId })), { categoryId: 'none' }],
      ['2010-11-30', '2010-06-15', '2009-12-01'],
      [customers.slice(0, 5), customers.filter((_, index) => index % 17 === 0)],
    );
  });
});
