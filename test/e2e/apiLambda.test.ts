import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiGatewayHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent, restApiEvent } from '../../api/http/events.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import { ROUTES } from '../../api/routes/index.ts';
import { dynamoClient } from '../../aws/clients.ts';
import { type LocalPeer, startDynalite } from '../../bin/localStack/embeddedPeers.ts';
import { createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { type AthenaEndpoint, startAthenaEndpoint } from '../support/athenaEndpoint.ts';
import { createTestApi, type TestApi } from '../support/testApi.ts';

/*
 * The deployed entry point itself, api/lambda.ts's `handler`, configured by environment as
 * Terraform configures it, against local stand-ins speaking the real protocols: the Athena
 * endpoint (AWS JSON 1.1, queries run on DuckDB over the lake) and dynalite for the state table.
 * Its answers must equal the in-memory oracle's for REST (1.0) and HTTP API (2.0) events, and
 * caller values must reach Athena as ExecutionParameters, never in the query text.
 */

const events = generateEvents({ customers: 200, days: 380, seed: 23, start: '2024-01-01' });
let dir: string;
let athena: AthenaEndpoint;
let dynalite: LocalPeer;
let dynamo: ReturnType<typeof dynamoClient>;
let oracle: TestApi;
let handler: ApiGatewayHandler;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'di-api-lambda-'));
  await buildLake(events, join(dir, 'lake'));
  athena = await startAthenaEndpoint({ lakeDir: join(dir, 'lake'), queuedPolls: 1, runningPolls: 1 });
  dynalite = await startDynalite();
  dynamo = dynamoClient({ endpoint: dynalite.endpoint });
  await createStateTable(dynamo, 'customers');
  oracle = await createTestApi({ events });
  // The same stream states in DynamoDB as in the oracle's memory store.
  const dynamoStore = new DynamoStateStore({ client: dynamo, tableName: 'customers' });
  for await (const page of oracle.store.scan()) for (const state of page) await dynamoStore.save({ ...state, version: 0 });
  await dynamoStore.advanceWatermark(await oracle.store.getWatermark());
  await writeFile(join(dir, 'model.json'), JSON.stringify((oracle.model as unknown as { toJSON(): unknown }).toJSON()));

  Object.assign(process.env, {
    ATHENA_DATABASE: athena.database,
    ATHENA_WORKGROUP: athena.workgroup,
    ATHENA_OUTPUT_LOCATION: 's3://lake/athena-results/',
    ATHENA_ENDPOINT: athena.endpoint,
    STATE_TABLE: 'customers',
    DYNAMODB_ENDPOINT: dynalite.endpoint,
    MODEL_PATH: join(dir, 'model.json'),
    CORS_ALLOWED_ORIGINS: 'https://app.example.com',
    SCORE_CLOCK: 'event',
    LOG_LEVEL: 'ERROR',
    AWS_REGION: 'us-east-1',
  });
  vi.resetModules();
  handler = (await import('../../api/lambda.ts')).handler;
}, 120_000);

afterAll(async () => {
  process.env = savedEnv;
  dynamo?.destroy();
  await athena?.close();
  await dynalite?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function strip(body: string): unknown {
  const { request_id: _id, ...rest } = JSON.parse(body);
  return rest;
}

function expectClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  } else if (Array.isArray(expected)) {
    expect((actual as unknown[]).length, path).toBe(expected.length);
    expected.forEach((item, i) => expectClose((actual as unknown[])[i], item, `${path}[${i}]`));
  } else if (expected && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [key, item] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[key], item, `${path}.${key}`);
  } else expect(actual, path).toEqual(expected);
}

describe('api/lambda.ts handler over Athena and DynamoDB stand-ins', () => {
  it('answers every route like the oracle, to REST API and HTTP API events alike', async () => {
    const customers = [...new Set(events.map((event) => event.customerId))];
    const requests: Array<[string, string, unknown?]> = [
      ['GET', '/demand-insights/segments?n_clusters=4'],
      ['POST', '/demand-insights/forecast', { forecast_days: 14 }],
      ['POST', '/demand-insights/price-elasticity', {}],
      ['POST', '/demand-insights/clv', { customer_ids: [customers[3], 'ghost', customers[9]] }],
      ['GET', '/demand-insights/at-risk-customers?threshold=0.5&limit=20'],
      ['POST', '/demand-insights/forecast', { product_id: 'NOPE' }],
      ['GET', '/demand-insights/segments?n_clusters=x'],
      ['GET', '/demand-insights/segment-members?n_clusters=4&limit=100'],
      ['GET', `/demand-insights/customer-orders?customer_id=${encodeURIComponent(customers[3])}`],
      ['GET', '/demand-insights/customer-orders?customer_id=ghost'],
      ['GET', '/demand-insights/products?limit=10'],
      ['POST', '/demand-insights/forecast', { forecast_days: 7, history_days: 10 }],
    ];
    for (const [method, url, body] of requests) {
      const expected = await oracle.call(method, url, body);
      for (const build of [httpApiEvent, restApiEvent]) {
        const response = await handler(build({ method, url, body, headers: { origin: 'https://app.example.com' } }));
        expect(response.statusCode, `${method} ${url}: ${response.body.slice(0, 300)}`).toBe(expected.status);
        expectClose(strip(response.body), strip(expected.raw), `${build.name} ${method} ${url}`);
        expect(response.headers['access-control-allow-origin']).toBe('https://app.example.com');
      }
    }
    expect(ROUTES.length).toBe(10);
  }, 120_000);

  it('lists the same customers as the oracle, paged through DynamoDB\'s list-index in its own key order', async () => {
    const byId = (rows: { customer_id: string }[]) => [...rows].sort((a, b) => (a.customer_id < b.customer_id ? -1 : a.customer_id > b.customer_id ? 1 : 0));
    const expected = JSON.parse((await oracle.call('POST', '/demand-insights/churn', { limit: 5000 })).raw);
    const rows: { customer_id: string }[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/churn', body: { limit: 50, ...(cursor ? { cursor } : {}) } }));
      expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
      const body = JSON.parse(response.body);
      expect(body.customers.length).toBeLessThanOrEqual(50);
      expect(body.total).toBeNull();
      rows.push(...body.customers);
      cursor = body.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 1_000);
    expectClose(byId(rows), byId(expected.customers));
  }, 120_000);

  it('sends caller values to Athena as ExecutionParameters, never in the query text', async () => {
    const hostile = "x' OR '1'='1'; DROP TABLE order_lines; --";
    const from = athena.started.length;
    const response = await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/forecast', body: { product_id: hostile } }));
    expect(response.statusCode).toBe(404);
    const queries = athena.started.slice(from);
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) expect(query.queryString).not.toContain('DROP TABLE');
    expect(queries.some((query) => query.executionParameters?.includes(`'${hostile.replaceAll("'", "''")}'`))).toBe(true);
    // The lake is intact.
    expect((await handler(httpApiEvent({ method: 'GET', url: '/demand-insights/segments' }))).statusCode).toBe(200);
  });
});
