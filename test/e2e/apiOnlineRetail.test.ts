import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../api/apiService.ts';
import { weeklyTables } from '../../api/services/pricing.ts';
import { createDuckDbEngine, type DuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { createApiHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent, restApiEvent } from '../../api/http/events.ts';
import { buildLake, type LakeSummary } from '../../api/lake/buildLake.ts';
import type { LakeQueries } from '../../api/lake/lakeQueries.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { ROUTES } from '../../api/routes/index.ts';
import {
  AtRiskResponseSchema,
  ChurnResponseSchema,
  ClvResponseSchema,
  ElasticityResponseSchema,
  ForecastResponseSchema,
  PriceOptimizationResponseSchema,
  SegmentsResponseSchema,
} from '../../api/schemas.ts';
import { streamStore } from '../../consumers/stateBootstrap.ts';
import type { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { BtydModel } from '../../models/clv/btydModel.ts';
import { statesUpTo, trainBtyd } from '../../models/clv/btydTraining.ts';
import { featuresOf } from '../../models/customer/customerFeatures.ts';
import { eligibility } from '../../models/demand/elasticity.ts';
import { weekdayOf } from '../../models/demand/weekdayQuantile.ts';
import { parseIsoDay } from '../../models/time/calendar.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { ONLINE_RETAIL_II } from '../support/sharedData.ts';

/*
 * Every endpoint on DuckDB with the shared Online Retail II sample (2009-12-01..2010-11-30), the
 * lake written by `lake build`'s code, BTYD trained on all of it, and a state store holding the
 * customers active in the last 30 days as the stream would (the rest come from the lake). The
 * OpenAPI examples (product 85123A, customers 13085 and 13078) are real here. `bench api` times
 * the same requests; these tests check answers, not speed.
 */

const DATA = ONLINE_RETAIL_II;

let events: OrderEvent[];
let dir: string;
let summary: LakeSummary;
let engine: DuckDbEngine;
let lake: LakeQueries;
let model: BtydModel;
let store: MemoryStateStore;
let handler: ReturnType<typeof createApiHandler>;
let thinProduct: string;

beforeAll(async () => {
  events = (await readDataset(DATA, 'online-retail')).events;
  dir = await mkdtemp(join(tmpdir(), 'di-api-retail-'));
  summary = await buildLake(events, dir);
  engine = await createDuckDbEngine({ lakeDir: dir });
  lake = createLakeQueries(engine);
  model = BtydModel.load(trainBtyd(events, { calibrationEnd: summary.lastDay!, horizonDays: 90 }));
  store = await streamStore(events, model, 30);
  const service = new ApiService({ lake, store, model });
  handler = createApiHandler({ service: () => service });
  thinProduct = [...weeklyTables(await lake.weeklyProductSales({})).values()].find((table) => table.weeks.length < 20)!.productId;
}, 180_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(method: string, url: string, body?: unknown) {
  const response = await handler(httpApiEvent({ method, url, body }));
  return { status: response.statusCode, body: JSON.parse(response.body), raw: response.body };
}

describe('the API on the Online Retail II sample', () => {
  it('segments the 2009-10 customers as of 2010-11-30', async () => {
    const response = await call('GET', '/demand-insights/segments?n_clusters=5');
    expect(response.status).toBe(200);
    const body = SegmentsResponseSchema.parse(response.body);
    expect(body.as_of).toBe('2010-11-30');
    expect(body.customers).toBeGreaterThan(4_200);
    expect(body.customers).toBeLessThanOrEqual(summary.customers);
    expect(body.segments.reduce((sum, s) => sum + s.size, 0)).toBe(body.customers);
    expect(body.silhouette.value).toBeGreaterThan(0.2);
    // Named by profile: the most recent, frequent, high-spending centroid is not called "Lost".
    const best = [...body.segments].sort((a, b) => b.centroid.monetary - a.centroid.monetary)[0];
    expect(['Champions', 'Loyal', "Can't lose them", 'Big spenders']).toContain(best.name);
  });

  it('forecasts 85123A and the store with Saturdays closed (no Saturday trading)', async () => {
    for (const body of [{ product_id: '85123A', forecast_days: 30 }, { forecast_days: 30 }]) {
      const response = await call('POST', '/demand-insights/forecast', body);
      expect(response.status).toBe(200);
      const forecast = ForecastResponseSchema.parse(response.body);
      expect(forecast.history_end).toBe('2010-11-30');
      expect(forecast.points[0].date).toBe('2010-12-01');
      for (const point of forecast.points) {
        if (weekdayOf(parseIsoDay(point.date)) === 5) expect(point).toMatchObject({ closed: true, forecast: 0, lower: 0, upper: 0 });
      }
      expect(forecast.points.some((point) => !point.closed && point.forecast > 0)).toBe(true);
      expect(forecast.backtest_coverage).not.toBeNull();
    }
  });

  it('estimates 85123A\'s elasticity, pools the store, and refuses a thin product with 422', async () => {
    const product = ElasticityResponseSchema.parse((await call('POST', '/demand-insights/price-elasticity', { product_id: '85123A' })).body);
    expect(product.observations).toBeGreaterThanOrEqual(20);
    expect(product.coefficient).toBeLessThan(0);
    const store = ElasticityResponseSchema.parse((await call('POST', '/demand-insights/price-elasticity', {})).body);
    expect(store.products).toBeGreaterThan(1_000);
    expect(store.coefficient).toBeLessThan(-1);
    expect(store.ci[1]).toBeLessThan(0);
    const thin = await call('POST', '/demand-insights/price-elasticity', { product_id: thinProduct });
    expect(thin.status).toBe(422);
    expect(thin.body.error.code).toBe('insufficient_price_variation');
    // No categories in this dataset: any category is unknown.
    expect((await call('POST', '/demand-insights/price-elasticity', { category: 'HOME' })).status).toBe(404);
  });

  it('optimises 85123A\'s price inside the band', async () => {
    const response = await call('POST', '/demand-insights/price-optimization', { product_id: '85123A', current_price: 2.55, current_quantity: 500, cost_per_unit: 1.5 });
    expect(response.status).toBe(200);
    const body = PriceOptimizationResponseSchema.parse(response.body);
    expect(body.optimal.price).toBeGreaterThanOrEqual(body.band.min_price);
    expect(body.optimal.price).toBeLessThanOrEqual(body.band.max_price);
    expect(body.optimal.profit).toBeGreaterThanOrEqual(body.current.profit);
  });

  it('scores named customers from the stream or the lake, exactly as the model scores their history', async () => {
    const { states } = statesUpTo(events, Number.MAX_SAFE_INTEGER);
    const ids = ['13085', '13078', '12346', '18102', 'ghost'];
    const body = ChurnResponseSchema.parse((await call('POST', '/demand-insights/churn', { customer_ids: ids })).body);
    expect(body.customers.map((row) => row.found)).toEqual([true, true, true, true, false]);
    for (const row of body.customers) {
      if (!row.found) continue;
      const expected = model.score(featuresOf(states.get(row.customer_id)!, Date.parse(row.as_of)));
      expect(row.churn_probability, row.customer_id).toBeCloseTo(expected.churnProbability, 12);
    }
    expect(new Set(body.customers.filter((row) => row.found).map((row) => (row.found ? row.source : '')))).toEqual(new Set(['stream', 'lake']));
  });

  it('lists every live customer for clv, and pages the flagged at-risk ones', async () => {
    let live = 0;
    for await (const page of store.scan()) live += page.length;
    const clv = ClvResponseSchema.parse((await call('POST', '/demand-insights/clv', { limit: 5000 })).body);
    expect(clv.total).toBeNull();
    expect(clv.customers).toHaveLength(live);
    expect(clv.next_cursor).toBeNull();
    const atRisk = AtRiskResponseSchema.parse((await call('GET', '/demand-insights/at-risk-customers?threshold=0.6&limit=100')).body);
    expect(atRisk.customers.length).toBeLessThanOrEqual(100);
    for (const row of atRisk.customers) expect(row.churn_probability).toBeGreaterThanOrEqual(0.6);
  });

  it('answers the OpenAPI examples of every route with 200, as REST and HTTP API events', async () => {
    for (const route of ROUTES) {
      const url = route.input === 'query' ? `${route.path}?${new URLSearchParams(route.example as Record<string, string>)}` : route.path;
      const body = route.input === 'body' ? route.example : undefined;
      for (const build of [httpApiEvent, restApiEvent]) {
        const response = await handler(build({ method: route.method, url, body }));
        expect(response.statusCode, `${route.path}: ${response.body.slice(0, 200)}`).toBe(200);
        expect(route.response.safeParse(JSON.parse(response.body)).success).toBe(true);
      }
    }
  });

  // Speed is `bench api`'s to measure; this checks that a fresh service's first answer (no cache
  // yet) is the answer its caches then give.
  it('answers the first request of a fresh service as it answers the warm ones', async () => {
    const requests: Array<[string, string, unknown?]> = [
      ['GET', '/demand-insights/segments?n_clusters=5'],
      ['POST', '/demand-insights/forecast', { product_id: '85123A', forecast_days: 30 }],
      ['POST', '/demand-insights/price-elasticity', { product_id: '85123A' }],
      ['POST', '/demand-insights/price-optimization', { product_id: '85123A', current_price: 2.55, current_quantity: 500, cost_per_unit: 1.5 }],
      ['POST', '/demand-insights/clv', { customer_ids: ['13085'] }],
      ['POST', '/demand-insights/churn', { limit: 1000 }],
      ['GET', '/demand-insights/at-risk-customers'],
    ];
    for (const [method, url, body] of requests) {
      const fresh = new ApiService({ lake, store, model });
      const freshHandler = createApiHandler({ service: () => fresh });
      const cold = await freshHandler(httpApiEvent({ method, url, body }));
      expect(cold.statusCode, `${url} cold`).toBe(200);
      for (let i = 0; i < 3; i++) {
        const warm = await freshHandler(httpApiEvent({ method, url, body }));
        expect(warm.statusCode, `${url} warm`).toBe(200);
        expect(JSON.parse(warm.body), `${url} warm`).toEqual(JSON.parse(cold.body));
      }
    }
  }, 120_000);
});
