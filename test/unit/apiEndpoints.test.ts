import { beforeAll, describe, expect, it } from 'vitest';
import { statesFromLines } from '../../api/lake/lakeStates.ts';
import { encodeCursor } from '../../api/pagination.ts';
import { weeklyTables } from '../../api/services/pricing.ts';
import {
  AtRiskResponseSchema,
  ChurnResponseSchema,
  ClvResponseSchema,
  ElasticityResponseSchema,
  ErrorResponseSchema,
  ForecastResponseSchema,
  PriceOptimizationResponseSchema,
  SegmentsResponseSchema,
} from '../../api/schemas.ts';
import { statesUpTo } from '../../models/clv/btydTraining.ts';
import { dayIndex, isoDay, parseIsoDay } from '../../models/time/calendar.ts';
import { featuresOf } from '../../models/customer/customerFeatures.ts';
import { cloneState } from '../../models/customer/customerState.ts';
import { riskRankKey } from '../../consumers/stateStore/stateStore.ts';
import { eligibility } from '../../models/demand/elasticity.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createTestApi, type TestApi } from '../support/testApi.ts';
import { order } from '../support/orderEvents.ts';

/*
 * Every endpoint through the Lambda handler (HTTP API events) on synthetic data, with the lake
 * in memory (test/support/memoryLakeQueries.ts): response shapes (the response schemas the
 * OpenAPI document publishes), edge cases, bad input, the customer-list policy, live scores.
 * The same endpoints on DuckDB and the Online Retail sample are in test/e2e/api*.test.ts.
 */

const events = generateEvents({ customers: 300, days: 400, seed: 5, start: '2024-01-01' });
let api: TestApi;
let eligibleProduct: string;
let thinProduct: string;
let category: string;

beforeAll(async () => {
  api = await createTestApi({ events });
  const tables = [...weeklyTables(await api.lake.weeklyProductSales({})).values()];
  eligibleProduct = tables.find((table) => eligibility(table).eligible)!.productId;
  thinProduct = tables.find((table) => table.weeks.length < 20)!.productId;
  category = events.flatMap((event) => event.lines).find((line) => line.categoryId)!.categoryId!;
});

function expectError(response: { status: number; body: unknown }, status: number, field?: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  const body = ErrorResponseSchema.parse(response.body);
  if (field !== undefined) {
    expect(body.error.field).toBe(field);
    expect(body.error.message.startsWith(`${field}:`)).toBe(true);
  }
  return body;
}

describe('GET /demand-insights/segments', () => {
  it('segments every lake customer into n_clusters named segments (default 5)', async () => {
    const response = await api.call('GET', '/demand-insights/segments');
    expect(response.status).toBe(200);
    const body = SegmentsResponseSchema.parse(response.body);
    const rfm = await api.lake.customerRfm(body.as_of);
    expect(body.n_clusters).toBe(5);
    expect(body.segments).toHaveLength(5);
    expect(body.customers).toBe(rfm.length);
    expect(body.segments.reduce((sum, s) => sum + s.size, 0)).toBe(rfm.length);
    expect(body.segments.reduce((sum, s) => sum + s.share, 0)).toBeCloseTo(1, 10);
    expect(new Set(body.segments.map((s) => s.name)).size).toBe(5);
    expect(body.silhouette.value).toBeGreaterThan(0);
  });

  it.each([2, 12])('accepts n_clusters=%i (the bounds)', async (k) => {
    const response = await api.call('GET', `/demand-insights/segments?n_clusters=${k}`);
    expect(response.status).toBe(200);
    expect(SegmentsResponseSchema.parse(response.body).segments).toHaveLength(k);
  });

  it.each(['1', '13', '5.5', 'abc', '', '-3', '0x5', '5%20', ' 5', '1e400'])('rejects n_clusters=%j with a 400 naming it', async (value) => {
    expectError(await api.call('GET', `/demand-insights/segments?n_clusters=${encodeURIComponent(value)}`), 400, 'n_clusters');
  });

  it('rejects unknown and repeated query parameters', async () => {
    expectError(await api.call('GET', '/demand-insights/segments?k=5'), 400, 'k');
    expectError(await api.call('GET', '/demand-insights/segments?n_clusters=4&n_clusters=5'), 400, 'n_clusters');
  });

  it('fits once per n_clusters: the next calls read the lake no more and answer the same', async () => {
    const first = await api.call('GET', '/demand-insights/segments?n_clusters=7');
    const before = api.lake.calls.get('customerRfm');
    for (let i = 0; i < 20; i++) {
      const again = await api.call('GET', '/demand-insights/segments?n_clusters=7');
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
    }
    expect(api.lake.calls.get('customerRfm')).toBe(before);
  });

  it('answers 422 when there are fewer customers than segments', async () => {
    const tiny = await createTestApi({ events: [order('a', 'o1', '2024-01-01T10:00:00Z'), order('b', 'o2', '2024-01-03T10:00:00Z'), order('a', 'o3', '2024-02-01T10:00:00Z')], streamDays: 0 });
    const body = expectError(await tiny.call('GET', '/demand-insights/segments?n_clusters=3'), 422);
    expect(body.error.code).toBe('too_few_customers');
  });
});

describe('POST /demand-insights/forecast', () => {
  it('forecasts the store for 30 days by default, starting the day after the history', async () => {
    const response = await api.call('POST', '/demand-insights/forecast', {});
    expect(response.status).toBe(200);
    const body = ForecastResponseSchema.parse(response.body);
    expect(body.scope).toEqual({ level: 'store', product_id: null, category_id: null });
    expect(body.points).toHaveLength(30);
    const range = (await api.lake.dateRange())!;
    expect(body.history_start).toBe(range.first);
    expect(body.history_end).toBe(range.last);
    body.points.forEach((point, i) => {
      expect(point.date).toBe(isoDay(parseIsoDay(range.last) + 1 + i));
      expect(point.lower).toBeLessThanOrEqual(point.forecast + 1e-9);
      expect(point.forecast).toBeLessThanOrEqual(point.upper + 1e-9);
    });
    const importances = body.feature_importances;
    expect(importances.level + importances.weekday + importances.irregular).toBeCloseTo(1, 6);
    expect(body.expected_total).toBeCloseTo(body.points.reduce((sum, p) => sum + p.mean, 0), 6);
  });

  it('forecasts a product, a category, and a product within its category', async () => {
    const line = events.flatMap((event) => event.lines).find((l) => l.productId === eligibleProduct)!;
    for (const [request, level] of [
      [{ product_id: eligibleProduct, forecast_days: 14 }, 'product'],
      [{ category_id: category, forecast_days: 1 }, 'category'],
      [{ product_id: eligibleProduct, category_id: line.categoryId, forecast_days: 365 }, 'product'],
    ] as const) {
      const response = await api.call('POST', '/demand-insights/forecast', request);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const body = ForecastResponseSchema.parse(response.body);
      expect(body.scope.level).toBe(level);
      expect(body.points).toHaveLength(request.forecast_days);
    }
  });

  it('answers 404 for an unknown product or category', async () => {
    expect(expectError(await api.call('POST', '/demand-insights/forecast', { product_id: 'NOPE' }), 404).error.details).toEqual({ kind: 'product', ids: ['NOPE'] });
    expectError(await api.call('POST', '/demand-insights/forecast', { category_id: 'NOPE' }), 404);
    expectError(await api.call('POST', '/demand-insights/forecast', { product_id: eligibleProduct, category_id: 'NOPE' }), 404);
  });

  it.each([0, 366, 1.5, '30', null, true, [30], {}])('rejects forecast_days=%j with a 400 naming it', async (value) => {
    expectError(await api.call('POST', '/demand-insights/forecast', { forecast_days: value }), 400, 'forecast_days');
  });

  it('rejects ids that are not text, too long, or carry control characters', async () => {
    for (const value of [null, true, 1.5, { id: 1 }, [], '', 'x'.repeat(129), 'a\u0000b', 'line\nbreak']) {
      expectError(await api.call('POST', '/demand-insights/forecast', { product_id: value }), 400, 'product_id');
    }
  });

  it('takes an integer id as its decimal text (old callers sent numbers)', async () => {
    const body = expectError(await api.call('POST', '/demand-insights/forecast', { product_id: 85123 }), 404);
    expect(body.error.details).toEqual({ kind: 'product', ids: ['85123'] });
  });

  it('fits a scope once and serves every horizon from that fit', async () => {
    await api.call('POST', '/demand-insights/forecast', { category_id: category, forecast_days: 10 });
    const before = api.lake.calls.get('dailyUnits');
    const short = await api.call('POST', '/demand-insights/forecast', { category_id: category, forecast_days: 10 });
    const long = await api.call('POST', '/demand-insights/forecast', { category_id: category, forecast_days: 40 });
    expect(api.lake.calls.get('dailyUnits')).toBe(before);
    expect(long.body.points.slice(0, 10)).toEqual(short.body.points);
  });
});

describe('POST /demand-insights/price-elasticity', () => {
  it('estimates one product by log-log OLS', async () => {
    const response = await api.call('POST', '/demand-insights/price-elasticity', { product_id: eligibleProduct });
    expect(response.status).toBe(200);
    const body = ElasticityResponseSchema.parse(response.body);
    expect(body.method).toBe('log-log-ols');
    expect(body.scope).toEqual({ level: 'product', product_id: eligibleProduct, category_id: null });
    expect(body.ci[0]).toBeLessThan(body.coefficient);
    expect(body.ci[1]).toBeGreaterThan(body.coefficient);
    expect(body.observations).toBeGreaterThanOrEqual(20);
    expect(body.clustered).toBeNull();
    expect(body.interpretation).toMatch(/1% higher price/);
  });

  it('pools a category and the store with product fixed effects', async () => {
    for (const [request, level] of [[{ category }, 'category'], [{}, 'store']] as const) {
      const response = await api.call('POST', '/demand-insights/price-elasticity', request);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const body = ElasticityResponseSchema.parse(response.body);
      expect(body.method).toBe('pooled-fixed-effects');
      expect(body.scope.level).toBe(level);
      expect(body.products).toBeGreaterThan(0);
      expect(body.clustered).not.toBeNull();
      expect(body.intercept).toBeNull();
    }
  });

  it('answers 422, not a number, when a product has too little price variation', async () => {
    const body = expectError(await api.call('POST', '/demand-insights/price-elasticity', { product_id: thinProduct }), 422);
    expect(body.error.code).toBe('insufficient_price_variation');
    expect(body.error.message).toMatch(/weeks with sales/);
  });

  it('answers 404 for unknown products and categories, 400 for a misspelt field', async () => {
    expectError(await api.call('POST', '/demand-insights/price-elasticity', { product_id: 'NOPE' }), 404);
    expectError(await api.call('POST', '/demand-insights/price-elasticity', { category: 'NOPE' }), 404);
    expectError(await api.call('POST', '/demand-insights/price-elasticity', { category_id: category }), 400, 'category_id');
  });
});

describe('POST /demand-insights/price-optimization', () => {
  const valid = () => ({ product_id: eligibleProduct, current_price: 10, current_quantity: 100, cost_per_unit: 6 });

  it('answers current and optimal price points inside the band, under the product\'s elasticity', async () => {
    const response = await api.call('POST', '/demand-insights/price-optimization', valid());
    expect(response.status).toBe(200);
    const body = PriceOptimizationResponseSchema.parse(response.body);
    const elasticity = (await api.call('POST', '/demand-insights/price-elasticity', { product_id: eligibleProduct })).body;
    expect(body.elasticity.coefficient).toBe(elasticity.coefficient);
    expect(body.band).toEqual({ min_factor: 0.5, max_factor: 2, min_price: 5, max_price: 20 });
    expect(body.optimal.price).toBeGreaterThanOrEqual(5);
    expect(body.optimal.price).toBeLessThanOrEqual(20);
    expect(body.current).toEqual({ price: 10, quantity: 100, revenue: 1000, profit: 400 });
    expect(body.optimal.profit).toBeGreaterThanOrEqual(body.current.profit - 1e-9);
    expect(body.regime).toBe(body.elasticity.coefficient < -1 ? 'elastic' : body.elasticity.coefficient < 0 ? 'inelastic' : 'non-negative');
    if (body.regime !== 'elastic') {
      expect(body.position).toBe('upper-edge');
      expect(body.explanation).toMatch(/upper edge/);
    }
  });

  it('honours a band given in the request', async () => {
    const response = await api.call('POST', '/demand-insights/price-optimization', { ...valid(), band: [0.9, 1.1] });
    const body = PriceOptimizationResponseSchema.parse(response.body);
    expect(body.band.min_price).toBeCloseTo(9, 10);
    expect(body.band.max_price).toBeCloseTo(11, 10);
    expect(body.optimal.price).toBeGreaterThanOrEqual(9 - 1e-9);
    expect(body.optimal.price).toBeLessThanOrEqual(11 + 1e-9);
  });

  it.each([
    [{ current_price: 0 }, 'current_price'],
    [{ current_price: 5e-324 }, 'current_price'],
    [{ current_price: -1 }, 'current_price'],
    [{ current_price: 1_000_001 }, 'current_price'],
    [{ current_quantity: 1e13 }, 'current_quantity'],
    [{ cost_per_unit: 1e300 }, 'cost_per_unit'],
    [{ current_price: '10' }, 'current_price'],
    [{ current_quantity: -1 }, 'current_quantity'],
    [{ cost_per_unit: -0.01 }, 'cost_per_unit'],
    [{ band: [0, 1] }, 'band.0'],
    [{ band: [0, 0] }, 'band.0'],
    [{ band: [0.005, 1] }, 'band.0'],
    [{ band: [1] }, 'band'],
    [{ band: [0.5, 1000] }, 'band.1'],
    [{ band: '0.5,2' }, 'band'],
    [{ extra: 1 }, 'extra'],
  ])('rejects %j with a 400 naming %s', async (change, field) => {
    expectError(await api.call('POST', '/demand-insights/price-optimization', { ...valid(), ...change }), 400, field);
  });

  it("takes a band's edges in either order, as the document says", async () => {
    const ordered = await api.call('POST', '/demand-insights/price-optimization', { ...valid(), band: [0.9, 1.1] });
    const reversed = await api.call('POST', '/demand-insights/price-optimization', { ...valid(), band: [1.1, 0.9] });
    expect(reversed.status).toBe(200);
    expect(reversed.body).toEqual(ordered.body);
    expect(reversed.body.band).toMatchObject({ min_factor: 0.9, max_factor: 1.1 });
  });

  it('answers every band the document allows with finite numbers', async () => {
    for (const band of [[0.01, 0.01], [0.01, 100], [100, 100]]) {
      const response = await api.call('POST', '/demand-insights/price-optimization', { ...valid(), current_price: 0.0001, current_quantity: 1e12, band });
      expect(response.status, JSON.stringify(band)).toBe(200);
      const numbers = [response.body.current, response.body.optimal].flatMap((point: Record<string, number>) => Object.values(point));
      expect(numbers.every(Number.isFinite)).toBe(true);
    }
  });

  it.each(['product_id', 'current_price', 'current_quantity', 'cost_per_unit'])('requires %s', async (field) => {
    const request: Record<string, unknown> = valid();
    delete request[field];
    const body = expectError(await api.call('POST', '/demand-insights/price-optimization', request), 400, field);
    expect(body.error.message).toBe(`${field}: is required`);
  });

  it('answers 404 for an unknown product and 422 when its elasticity cannot be estimated', async () => {
    expectError(await api.call('POST', '/demand-insights/price-optimization', { ...valid(), product_id: 'NOPE' }), 404);
    expect(expectError(await api.call('POST', '/demand-insights/price-optimization', { ...valid(), product_id: thinProduct }), 422).error.code).toBe('insufficient_price_variation');
  });
});

describe('POST /demand-insights/clv and /churn: named customers', () => {
  it('answers one row per distinct id in request order, found:false for unknown ids', async () => {
    const known = [...new Set(events.map((e) => e.customerId))].slice(0, 3);
    const ids = [known[2], 'ghost', known[0], known[2], known[1]];
    for (const path of ['/demand-insights/clv', '/demand-insights/churn']) {
      const response = await api.call('POST', path, { customer_ids: ids });
      expect(response.status).toBe(200);
      const body = (path.endsWith('clv') ? ClvResponseSchema : ChurnResponseSchema).parse(response.body);
      expect(body.customers.map((row) => row.customer_id)).toEqual([known[2], 'ghost', known[0], known[1]]);
      expect(body.customers.map((row) => row.found)).toEqual([true, false, true, true]);
      expect(body.total).toBe(4);
      expect(body.next_cursor).toBeNull();
    }
  });

  it('answers 404 when none of the ids is known', async () => {
    const body = expectError(await api.call('POST', '/demand-insights/clv', { customer_ids: ['ghost', 'spectre'] }), 404);
    expect(body.error.details).toEqual({ kind: 'customer', ids: ['ghost', 'spectre'] });
    expectError(await api.call('POST', '/demand-insights/churn', { customer_ids: ['ghost'] }), 404);
  });

  it('pages named customers too: limit rows per page, in request order, next_cursor for the rest', async () => {
    const known = [...new Set(events.map((e) => e.customerId))].slice(0, 5);
    const ids = [known[4], 'ghost', known[0], known[4], known[3], known[1], known[2]];
    const distinct = [known[4], 'ghost', known[0], known[3], known[1], known[2]];
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await api.call('POST', '/demand-insights/churn', { customer_ids: ids, limit: 4, ...(cursor ? { cursor } : {}) });
      expect(response.status, response.raw).toBe(200);
      const body = ChurnResponseSchema.parse(response.body);
      expect(body.total).toBe(6);
      expect(body.customers.length).toBeLessThanOrEqual(4);
      seen.push(...body.customers.map((row) => row.customer_id));
      cursor = body.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen).toEqual(distinct);
  });

  it('answers an empty last page to a cursor naming none of the ids, and 404 only when no id is known', async () => {
    const known = [...new Set(events.map((e) => e.customerId))].slice(0, 2);
    const body = ClvResponseSchema.parse((await api.call('POST', '/demand-insights/clv', { customer_ids: known, cursor: encodeCursor('elsewhere') })).body);
    expect(body).toMatchObject({ total: 2, next_cursor: null, customers: [] });
    expectError(await api.call('POST', '/demand-insights/clv', { customer_ids: ['ghost'], limit: 1, cursor: encodeCursor('ghost') }), 404);
  });

  it('rejects empty, oversized and malformed lists', async () => {
    expectError(await api.call('POST', '/demand-insights/clv', { customer_ids: [] }), 400, 'customer_ids');
    expectError(await api.call('POST', '/demand-insights/clv', { customer_ids: Array.from({ length: 1001 }, (_, i) => `c${i}`) }), 400, 'customer_ids');
    expectError(await api.call('POST', '/demand-insights/clv', { customer_ids: 'U000001' }), 400, 'customer_ids');
    expectError(await api.call('POST', '/demand-insights/clv', { customer_ids: ['U000001', null] }), 400, 'customer_ids.1');
  });

  it('scores lake customers exactly as the stream would: the same state, the same model', async () => {
    const { states } = statesUpTo(events, Number.MAX_SAFE_INTEGER);
    const streamIds = new Set<string>();
    for await (const page of api.store.scan()) for (const state of page) streamIds.add(state.customerId);
    const lakeIds = [...states.keys()].filter((id) => !streamIds.has(id)).slice(0, 20);
    const body = ChurnResponseSchema.parse((await api.call('POST', '/demand-insights/churn', { customer_ids: lakeIds })).body);
    const asOf = Date.parse(body.as_of);
    expect(asOf).toBe((dayIndex(api.lastMs) + 1) * 86_400_000 - 1);
    for (const row of body.customers) {
      if (!row.found) throw new Error(`${row.customer_id} not found`);
      expect(row.source).toBe('lake');
      const expected = api.model.score(featuresOf(states.get(row.customer_id)!, asOf));
      expect(row.churn_probability).toBe(expected.churnProbability);
      expect(row.p_alive).toBe(expected.pAlive);
    }
    // The lake's states are the ones applyEvent builds from the events themselves.
    const rebuilt = statesFromLines(await api.lake.customerOrderLines(lakeIds));
    for (const id of lakeIds) expect(rebuilt.get(id)).toEqual(states.get(id));
  });

  it('uses the stream\'s stored score when it is current, and rescores it when it is older or from another model', async () => {
    const streamId = (await firstStreamState()).customerId;
    const stored = (await api.store.getMany([streamId])).get(streamId)!;

    // Stored as of its last event, earlier than the watermark's day: rescored as of the watermark.
    const rescored = ClvResponseSchema.parse((await api.call('POST', '/demand-insights/clv', { customer_ids: [streamId] })).body).customers[0];
    expect(rescored).toMatchObject({ found: true, source: 'stream' });
    if (!rescored.found) throw new Error('unreachable');
    const watermark = await api.store.getWatermark();
    if (dayIndex(stored.score!.asOfMs) < dayIndex(watermark)) {
      expect(rescored.clv).toBe(api.model.score(featuresOf(stored, Math.max(watermark, (dayIndex(api.lastMs) + 1) * 86_400_000 - 1))).clv);
    }

    // A stored score as of today's watermark from this model is served as stored.
    const current = cloneState(stored);
    current.score = { ...current.score!, asOfMs: (dayIndex(api.lastMs) + 1) * 86_400_000 - 1, clv: 12345.678, modelVersion: api.model.version };
    current.version = await api.store.save(current);
    const served = (await api.call('POST', '/demand-insights/clv', { customer_ids: [streamId] })).body.customers[0];
    expect(served.clv).toBe(12345.678);
    expect(served.as_of).toBe(new Date(current.score.asOfMs).toISOString());

    // The same stored score from another model version is not trusted.
    const foreign = cloneState(current);
    foreign.score = { ...foreign.score!, modelVersion: 'btyd-000000000000' };
    foreign.version = await api.store.save(foreign);
    const redone = (await api.call('POST', '/demand-insights/clv', { customer_ids: [streamId] })).body.customers[0];
    expect(redone.clv).not.toBe(12345.678);
    expect(redone.model_version).toBe(api.model.version);
  });

  it('shows a state saved to the store on the very next request (no cache in between)', async () => {
    const state = cloneState(await firstStreamState());
    const before = (await api.call('POST', '/demand-insights/churn', { customer_ids: [state.customerId] })).body.customers[0];
    // A purchase on the watermark's day: recency drops to 0 and churn probability falls.
    const { applyEvent } = await import('../../models/customer/customerState.ts');
    applyEvent(state, order(state.customerId, `live-${Date.now()}`, new Date(api.lastMs).toISOString(), 50));
    state.score = null;
    await api.store.save(state);
    const after = (await api.call('POST', '/demand-insights/churn', { customer_ids: [state.customerId] })).body.customers[0];
    expect(after.recency_days).toBe(0);
    expect(after.frequency).toBeGreaterThanOrEqual(before.frequency);
    expect(after.churn_probability).toBeLessThan(before.churn_probability);
  });
});

async function firstStreamState() {
  for await (const page of api.store.scan()) if (page.length > 0) return page[0];
  throw new Error('no stream customers in the fixture');
}

async function storeIds(store: TestApi['store']): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of store.scan()) for (const state of page) ids.push(state.customerId);
  return ids.sort();
}

describe('POST /demand-insights/clv and /churn: all customers', () => {
  it('lists every live customer once, in the store\'s key order, a page at a time, with no total', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await api.call('POST', '/demand-insights/clv', { limit: 17, ...(cursor ? { cursor } : {}) });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const body = ClvResponseSchema.parse(response.body);
      expect(body.total).toBeNull();
      expect(body.customers.length).toBeLessThanOrEqual(17);
      seen.push(...body.customers.map((row) => row.customer_id));
      cursor = body.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 100);
    const live = await storeIds(api.store);
    expect(live.length).toBeGreaterThan(17);
    expect(pages).toBe(Math.ceil(live.length / 17));
    expect(seen).toEqual(live);
  });

  it('defaults to pages of 1000, all from the stream (lake-only customers are answered by id, never listed)', async () => {
    const body = ChurnResponseSchema.parse((await api.call('POST', '/demand-insights/churn', {})).body);
    expect(body.customers).toHaveLength((await storeIds(api.store)).length);
    expect(body.next_cursor).toBeNull();
    expect(new Set(body.customers.map((row) => (row.found ? row.source : 'none')))).toEqual(new Set(['stream']));
  });

  it('takes any base64url cursor as a place in the listing (a forged one moves the page, never widens it), and rejects other text and limits outside 1..5000', async () => {
    const all = await storeIds(api.store);
    const after = ChurnResponseSchema.parse((await api.call('POST', '/demand-insights/churn', { cursor: encodeCursor('U000100a') })).body);
    expect(after.customers.map((row) => row.customer_id)).toEqual(all.filter((id) => id > 'U000100a'));
    const first = ChurnResponseSchema.parse((await api.call('POST', '/demand-insights/churn', { cursor: 'AAAA', limit: 3 })).body);
    expect(first.customers.map((row) => row.customer_id)).toEqual(all.slice(0, 3));
    // JSON of the right shape but a bucket no store has: an empty last page, not an error.
    const far = ChurnResponseSchema.parse((await api.call('POST', '/demand-insights/churn', { cursor: encodeCursor('{"b":999999,"a":""}') })).body);
    expect([far.customers, far.next_cursor]).toEqual([[], null]);
    // Wrong shapes are read as text: still a place, still at most limit rows.
    for (const forged of ['{"b":-1,"a":"x"}', '{"b":0,"a":"x","admin":true}', '[1,2]', '{"b":1e308}']) {
      const page = ChurnResponseSchema.parse((await api.call('POST', '/demand-insights/churn', { cursor: encodeCursor(forged), limit: 5 })).body);
      expect(page.customers.length).toBeLessThanOrEqual(5);
    }
    expectError(await api.call('POST', '/demand-insights/churn', { cursor: 'not a cursor!' }), 400, 'cursor');
    expectError(await api.call('POST', '/demand-insights/churn', { cursor: 'Zm9v=' }), 400, 'cursor');
    for (const limit of [0, 5001, 2.5, '10', 1e9]) expectError(await api.call('POST', '/demand-insights/churn', { limit }), 400, 'limit');
  });
});

describe('GET /demand-insights/at-risk-customers', () => {
  // Every customer in the store, swept as of the history's end: the scorer's at-risk flags are set.
  let whole: TestApi;
  beforeAll(async () => {
    whole = await createTestApi({ events, streamDays: 100_000, model: api.model });
  });

  async function flagged(store: TestApi['store']) {
    const rows: { id: string; key: string }[] = [];
    for await (const page of store.scan()) for (const state of page) if (riskRankKey(state) !== null) rows.push({ id: state.customerId, key: riskRankKey(state)! });
    return rows.sort((a, b) => (a.key < b.key ? 1 : -1)).map((row) => row.id);
  }

  async function allPages(target: TestApi, query: string): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await target.call('GET', `/demand-insights/at-risk-customers?${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const body = AtRiskResponseSchema.parse(response.body);
      expect(body.customers.length).toBeLessThanOrEqual(body.limit);
      for (const row of body.customers) expect(row.expected_loss).toBeCloseTo(row.churn_probability * row.clv, 9);
      ids.push(...body.customers.map((row) => row.customer_id));
      cursor = body.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 1_000);
    return { ids, pages };
  }

  it('pages through exactly the customers the scorer flags at risk, ranked by stored expected loss', async () => {
    const expected = await flagged(whole.store);
    expect(expected.length).toBeGreaterThan(10);
    const { ids, pages } = await allPages(whole, 'threshold=0&limit=7');
    expect(ids).toEqual(expected);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / 7));
  });

  it('leaves out of each page those whose churn probability is now below threshold', async () => {
    const body = AtRiskResponseSchema.parse((await whole.call('GET', '/demand-insights/at-risk-customers?threshold=0.9&limit=1000')).body);
    for (const row of body.customers) expect(row.churn_probability).toBeGreaterThanOrEqual(0.9);
    const all = (await allPages(whole, 'threshold=0&limit=1000')).ids;
    const churn = ChurnResponseSchema.parse((await whole.call('POST', '/demand-insights/churn', { customer_ids: all })).body);
    const high = churn.customers.filter((row) => row.found && row.churn_probability >= 0.9).map((row) => row.customer_id);
    expect(body.customers.map((row) => row.customer_id).sort()).toEqual(high.sort());
  });

  it('uses threshold 0.6 and limit 100 by default', async () => {
    const defaults = AtRiskResponseSchema.parse((await whole.call('GET', '/demand-insights/at-risk-customers')).body);
    expect([defaults.threshold, defaults.limit]).toEqual([0.6, 100]);
  });

  it.each([
    ['threshold=1.5', 'threshold'],
    ['threshold=-0.1', 'threshold'],
    ['threshold=abc', 'threshold'],
    ['threshold=', 'threshold'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=1000000000', 'limit'],
    ['limit=10.5', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['cursor=not%20a%20cursor', 'cursor'],
    ['treshold=0.5', 'treshold'],
  ])('rejects %s with a 400 naming %s', async (query, field) => {
    expectError(await api.call('GET', `/demand-insights/at-risk-customers?${query}`), 400, field);
  });

  it('shows a store change on the next request: a customer who buys leaves the list (no snapshot in between)', async () => {
    const live = await createTestApi({ events, streamDays: 100_000, model: api.model });
    const first = AtRiskResponseSchema.parse((await live.call('GET', '/demand-insights/at-risk-customers?threshold=0&limit=1000')).body);
    const target = first.customers[0];
    const state = (await live.store.getMany([target.customer_id])).get(target.customer_id)!;
    const { applyEvent } = await import('../../models/customer/customerState.ts');
    applyEvent(state, order(state.customerId, 'fresh-order', new Date(live.lastMs).toISOString(), 5000));
    const { rescore, DEFAULT_RISK_POLICY } = await import('../../models/customer/riskPolicy.ts');
    rescore(state, live.model, DEFAULT_RISK_POLICY, live.lastMs, 'order');
    expect(state.atRisk).toBe(false);
    await live.store.save(state);
    const next = AtRiskResponseSchema.parse((await live.call('GET', '/demand-insights/at-risk-customers?threshold=0&limit=1000')).body);
    expect(next.customers.map((row) => row.customer_id)).not.toContain(target.customer_id);
    expect(next.customers).toHaveLength(first.customers.length - 1);
  });
});

describe('the API over an empty lake', () => {
  it('answers 422/404 instead of failing', async () => {
    const empty = await createTestApi({ events: [], streamDays: 0, model: api.model });
    expect((await empty.call('GET', '/demand-insights/segments')).status).toBe(422);
    expect((await empty.call('POST', '/demand-insights/forecast', {})).status).toBe(422);
    expect((await empty.call('POST', '/demand-insights/forecast', { product_id: 'P1' })).status).toBe(404);
    expect((await empty.call('POST', '/demand-insights/price-elasticity', {})).status).toBe(422);
    expect((await empty.call('POST', '/demand-insights/clv', { customer_ids: ['a'] })).status).toBe(404);
    const all = await empty.call('POST', '/demand-insights/churn', {});
    expect(all.status).toBe(200);
    expect(all.body.customers).toEqual([]);
    expect((await empty.call('GET', '/demand-insights/at-risk-customers')).body.customers).toEqual([]);
  });
});
