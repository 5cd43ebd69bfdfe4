import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../api/apiService.ts';
import { weeklyTables } from '../../api/services/pricing.ts';
import { createDuckDbEngine, type DuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { QUERY_NAMES } from '../../api/engines/queryEngine.ts';
import { createApiHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent, restApiEvent } from '../../api/http/events.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { type LocalServer, serveLocal } from '../../api/localServer.ts';
import { ROUTES } from '../../api/routes/index.ts';
import { ErrorResponseSchema } from '../../api/schemas.ts';
import { eligibility } from '../../models/demand/elasticity.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createTestApi, type TestApi } from '../support/testApi.ts';

/*
 * Every endpoint on DuckDB over a lake written by `lake build`'s code from synthetic data
 * (categories, returns, drifting prices), checked against the same service over the in-memory
 * lake (an implementation without SQL); injection strings through the SQL path; and the local
 * HTTP server in front of the handler.
 */

const events = generateEvents({ customers: 400, days: 420, seed: 31, start: '2024-02-01' });
let dir: string;
let engine: DuckDbEngine;
let oracle: TestApi;
let duck: ReturnType<typeof createApiHandler>;
let duckService: ApiService;
let server: LocalServer;
let product: string;
let thinProduct: string;
let category: string;
let customers: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'di-api-duckdb-'));
  await buildLake(events, dir);
  engine = await createDuckDbEngine({ lakeDir: dir });
  oracle = await createTestApi({ events });
  duckService = new ApiService({ lake: createLakeQueries(engine), store: oracle.store, model: oracle.model });
  duck = createApiHandler({ service: () => duckService, cors: { allowedOrigins: ['http://localhost:3000'] } });
  server = await serveLocal({ handler: duck });
  const tables = [...weeklyTables(await oracle.lake.weeklyProductSales({})).values()];
  product = tables.find((table) => eligibility(table).eligible)!.productId;
  thinProduct = tables.find((table) => table.weeks.length < 20)!.productId;
  category = events.flatMap((event) => event.lines).find((line) => line.categoryId)!.categoryId!;
  customers = [...new Set(events.map((event) => event.customerId))];
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function callDuck(method: string, url: string, body?: unknown) {
  const response = await duck(httpApiEvent({ method, url, body }));
  return { status: response.statusCode, body: JSON.parse(response.body), raw: response.body };
}

/** Equal up to float summation order (SQL sums in another order than the oracle). */
function expectClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, `${path}.length`).toBe(expected.length);
    expected.forEach((item, i) => expectClose((actual as unknown[])[i], item, `${path}[${i}]`));
  } else if (expected && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [key, item] of Object.entries(expected)) {
      if (key === 'request_id') continue;
      expectClose((actual as Record<string, unknown>)[key], item, `${path}.${key}`);
    }
  } else {
    expect(actual, path).toEqual(expected);
  }
}

describe('every endpoint on DuckDB agrees with the in-memory lake', () => {
  const requests = (): Array<[string, string, unknown?]> => [
    ['GET', '/demand-insights/segments'],
    ['GET', '/demand-insights/segments?n_clusters=2'],
    ['GET', '/demand-insights/segments?n_clusters=12'],
    ['POST', '/demand-insights/forecast', {}],
    ['POST', '/demand-insights/forecast', { product_id: product, forecast_days: 60 }],
    ['POST', '/demand-insights/forecast', { category_id: category, forecast_days: 7 }],
    ['POST', '/demand-insights/forecast', { product_id: 'NOPE' }],
    ['POST', '/demand-insights/price-elasticity', {}],
    ['POST', '/demand-insights/price-elasticity', { product_id: product }],
    ['POST', '/demand-insights/price-elasticity', { category }],
    ['POST', '/demand-insights/price-elasticity', { product_id: thinProduct }],
    ['POST', '/demand-insights/price-optimization', { product_id: product, current_price: 12, current_quantity: 40, cost_per_unit: 7, band: [0.8, 1.5] }],
    ['POST', '/demand-insights/clv', { customer_ids: [customers[5], 'ghost', customers[0]] }],
    ['POST', '/demand-insights/churn', { customer_ids: customers.slice(0, 150) }],
    ['POST', '/demand-insights/clv', { limit: 100 }],
    ['POST', '/demand-insights/churn', {}],
    ['GET', '/demand-insights/at-risk-customers'],
    ['GET', '/demand-insights/at-risk-customers?threshold=0.2&limit=1000'],
  ];

  it('answers the same status and body, request by request', async () => {
    for (const [method, url, body] of requests()) {
      const expected = await oracle.call(method, url, body);
      const actual = await callDuck(method, url, body);
      expect(actual.status, `${method} ${url} ${JSON.stringify(body)}: ${actual.raw.slice(0, 300)}`).toBe(expected.status);
      expectClose(actual.body, expected.body, `${method} ${url}`);
      if (actual.status === 200) {
        const route = ROUTES.find((r) => r.method === method && r.path === url.split('?')[0])!;
        expect(route.response.safeParse(actual.body).success).toBe(true);
      }
    }
  });
});

describe('injection strings through the SQL path', () => {
  const INJECTIONS = ["' OR '1'='1", "'; DROP TABLE orders; --", "x') UNION SELECT * FROM products --", '/* */', '?', "\\'; --", 'Ωmega 中文 🙂', '{{orders}}', '%', '_', "''", 'NULL'];

  it('answers 404 (or found:false rows) for every id-like parameter, and leaves the SQL and the lake unchanged', async () => {
    const sqlBefore = QUERY_NAMES.map((name) => engine.sqlText(name));
    const rangeBefore = await createLakeQueries(engine).dateRange();
    for (const text of INJECTIONS) {
      const statuses = [
        (await callDuck('POST', '/demand-insights/forecast', { product_id: text })).status,
        (await callDuck('POST', '/demand-insights/forecast', { category_id: text })).status,
        (await callDuck('POST', '/demand-insights/price-elasticity', { product_id: text })).status,
        (await callDuck('POST', '/demand-insights/price-elasticity', { category: text })).status,
        (await callDuck('POST', '/demand-insights/price-optimization', { product_id: text, current_price: 1, current_quantity: 1, cost_per_unit: 0 })).status,
        (await callDuck('POST', '/demand-insights/clv', { customer_ids: [text] })).status,
      ];
      expect(statuses, text).toEqual([404, 404, 404, 404, 404, 404]);
      const mixed = await callDuck('POST', '/demand-insights/churn', { customer_ids: [customers[1], text] });
      expect(mixed.status).toBe(200);
      expect(mixed.body.customers.map((row: { found: boolean }) => row.found)).toEqual([true, false]);
    }
    expect(QUERY_NAMES.map((name) => engine.sqlText(name))).toEqual(sqlBefore);
    expect(await createLakeQueries(engine).dateRange()).toEqual(rangeBefore);
    // The lake still answers as before: nothing was dropped or altered.
    const segments = await callDuck('GET', '/demand-insights/segments');
    expect(segments.status).toBe(200);
  });

  it('never answers 500 to any id, whatever its characters', async () => {
    const duckFresh = createApiHandler({ service: () => new ApiService({ lake: createLakeQueries(engine), store: oracle.store, model: oracle.model }) });
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 140, unit: 'binary' }), fc.constantFrom('product_id', 'category_id', 'customer'), async (text, field) => {
        const body = field === 'customer' ? { customer_ids: [text] } : { [field]: text };
        const path = field === 'customer' ? '/demand-insights/clv' : '/demand-insights/forecast';
        const response = await duckFresh(httpApiEvent({ method: 'POST', url: path, body }));
        expect([400, 404], `${JSON.stringify(text)} → ${response.body}`).toContain(response.statusCode);
        ErrorResponseSchema.parse(JSON.parse(response.body));
      }),
      { numRuns: 150 },
    );
  });
});

describe('the local HTTP server', () => {
  it('serves every route over HTTP as the handler answers it', async () => {
    for (const [method, url, body] of [
      ['GET', '/demand-insights/segments?n_clusters=3', undefined],
      ['POST', '/demand-insights/forecast', { product_id: product, forecast_days: 5 }],
      ['POST', '/demand-insights/price-elasticity', { product_id: product }],
      ['POST', '/demand-insights/price-optimization', { product_id: product, current_price: 5, current_quantity: 10, cost_per_unit: 2 }],
      ['POST', '/demand-insights/clv', { customer_ids: customers.slice(0, 3) }],
      ['POST', '/demand-insights/churn', { limit: 5 }],
      ['GET', '/demand-insights/at-risk-customers?limit=5', undefined],
      ['GET', '/demand-insights/openapi.json', undefined],
    ] as const) {
      const response = await fetch(`${server.url}${url}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const expected = await callDuck(method, url, body);
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      expectClose(await response.json(), expected.body, url);
    }
  });

  it('turns HTTP details into the event API Gateway would send: repeats, CORS preflight, errors', async () => {
    const repeated = await fetch(`${server.url}/demand-insights/segments?n_clusters=3&n_clusters=4`);
    expect(repeated.status).toBe(400);
    expect((await repeated.json()).error.field).toBe('n_clusters');
    const preflight = await fetch(`${server.url}/demand-insights/churn`, { method: 'OPTIONS', headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    const badJson = await fetch(`${server.url}/demand-insights/forecast`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"forecast_days": ' });
    expect(badJson.status).toBe(400);
    const binary = await fetch(`${server.url}/demand-insights/forecast`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: JSON.stringify({ forecast_days: 2 }) });
    expect(binary.status).toBe(200);
    expect((await binary.json()).points).toHaveLength(2);
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers REST API (1.0) events exactly as HTTP API (2.0) ones', async () => {
    for (const [method, url, body] of [
      ['GET', '/demand-insights/segments?n_clusters=4', undefined],
      ['POST', '/demand-insights/clv', { customer_ids: customers.slice(0, 2) }],
      ['GET', '/demand-insights/at-risk-customers?threshold=2', undefined],
    ] as const) {
      const v1 = await duck(restApiEvent({ method, url, body }));
      const v2 = await duck(httpApiEvent({ method, url, body }));
      expect(v1.statusCode).toBe(v2.statusCode);
      const { request_id: _a, ...one } = JSON.parse(v1.body);
      const { request_id: _b, ...two } = JSON.parse(v2.body);
      expect(one).toEqual(two);
    }
  });
});
