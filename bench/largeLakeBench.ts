import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiService } from '../api/apiService.ts';
import { createAthenaEngine } from '../api/engines/athenaEngine.ts';
import type { QueryEngine } from '../api/engines/queryEngine.ts';
import { createApiHandler } from '../api/http/apiHandler.ts';
import { createLakeQueries } from '../api/lake/lakeQueriesSql.ts';
import { MemoryStateStore } from '../consumers/stateStore/memoryStateStore.ts';
import { BtydModel } from '../models/clv/btydModel.ts';
import { trainBtyd } from '../models/clv/btydTraining.ts';
import { writeSyntheticLake } from '../lake/syntheticLake.ts';
import { rebuildLocalSummaries } from '../lake/duckdbCurationTarget.ts';
import { SUMMARY_TABLES } from '../api/lake/lakeLayout.ts';
import { generateEvents } from '../producers/syntheticGenerator.ts';
import { ATHENA_LATENCY, startAthenaEndpoint, type AthenaEndpoint } from '../test/support/athenaEndpoint.ts';
import { type ApiCase, apiCaseEvent, roundMs, warmPercentiles } from './apiCalls.ts';

/**
 * `bench api --customers N` (no --data): the API over a lake of N customers written by DuckDB SQL
 * (lake/syntheticLake.ts: 3.35 orders and about 10 lines per customer, N/50 products), served
 * through the real AthenaClient against the local Athena endpoint (test/support/athenaEndpoint.ts)
 * with its latency model on (ATHENA_LATENCY: start-up, bytes scanned, a round trip per result
 * page). Result reuse is off, so every cold call runs its queries.
 *
 * Per endpoint: a fresh ApiService, the cold call timed (every lake query it needs), then warm
 * calls; rowsReturned sums the rows of the cold call's queries, pages is the most GetQueryResults
 * calls one of them took; modelMs is what the latency model alone charges for them, one after
 * another. The lake-side endpoints read the curation's summary tables (built by the curation's own
 * target, lake/syntheticLake.ts). The customer endpoints: clv for 10 named customers the stream
 * has not seen (the state store is empty) reads them from the lake by id; the clv and churn
 * listings and the at-risk list read one page of the store's index.
 */

interface Options {
  customers: number;
  calls: number;
  json: boolean;
  lake?: string;
}

export async function runLargeLake(options: Options, say: (line: string) => void): Promise<void> {
  const dir = options.lake ?? (await mkdtemp(join(tmpdir(), 'di-bench-large-lake-')));
  let endpoint: AthenaEndpoint | undefined;
  try {
    if (!existsSync(join(dir, 'orders'))) {
      const summary = await writeSyntheticLake(dir, { customers: options.customers });
      say(`• synthetic lake: ${summary.customers.toLocaleString()} customers, ${summary.orderLines.toLocaleString()} order lines, ${summary.products.toLocaleString()} products in ${(summary.ms / 1000).toFixed(1)} s (summary tables ${(summary.summariesMs / 1000).toFixed(1)} s of it)`);
    } else if (!SUMMARY_TABLES.every((table) => existsSync(join(dir, table.name)))) {
      // A lake kept from before the summaries: the curation's rebuild adds them, as its next run would.
      const started = performance.now();
      await rebuildLocalSummaries(dir, { memoryLimit: '4GB' });
      say(`• synthetic lake reused from ${dir}; summary tables built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } else say(`• synthetic lake reused from ${dir}`);
    const opening = performance.now();
    endpoint = await startAthenaEndpoint({ lakeDir: dir, latency: ATHENA_LATENCY, queuedPolls: 0, runningPolls: 0, materialize: true });
    say(`• Athena stand-in loaded the lake in ${((performance.now() - opening) / 1000).toFixed(1)} s`);
    say(`• Athena stand-in with latency ${JSON.stringify(ATHENA_LATENCY)}`);
    const at = endpoint;
    const rows = { count: 0 };
    const athena = createAthenaEngine({ database: at.database, workgroup: at.workgroup, endpoint: at.endpoint, resultReuseMinutes: 0, pollIntervalMs: 100, maxPollIntervalMs: 200 });
    const engine: QueryEngine = {
      kind: 'athena',
      query: async (name, params, fragments) => {
        const result = await athena.query(name, params, fragments);
        rows.count += result.rows.length;
        return result;
      },
      close: () => athena.close(),
    };
    const lake = createLakeQueries(engine);
    const range = (await lake.dateRange())!;
    const top = (await lake.topProducts()).products[0];
    const categories = await lake.productCategories();
    const model = BtydModel.load(trainBtyd(generateEvents({ customers: 500, days: 365, seed: 42, start: '2024-01-01' }), { calibrationEnd: '2024-12-30', horizonDays: 90 }));
    const store = new MemoryStateStore();
    await store.advanceWatermark(Date.parse(`${range.last}T23:59:59Z`));
    const price = Math.round((top.revenue / top.units) * 100) / 100;
    const weekly = Math.max(1, Math.round(top.units / top.weeks));
    const cases: ApiCase[] = [
      { endpoint: 'GET /demand-insights/segments?n_clusters=5', method: 'GET', path: '/demand-insights/segments', query: 'n_clusters=5' },
      { endpoint: 'GET /demand-insights/segment-members?n_clusters=5&limit=2000', method: 'GET', path: '/demand-insights/segment-members', query: 'n_clusters=5&limit=2000' },
      { endpoint: `POST /demand-insights/forecast {product_id:${top.productId},forecast_days:30}`, method: 'POST', path: '/demand-insights/forecast', body: { product_id: top.productId, forecast_days: 30 } },
      { endpoint: 'POST /demand-insights/forecast {forecast_days:30} (store)', method: 'POST', path: '/demand-insights/forecast', body: { forecast_days: 30 } },
      { endpoint: `POST /demand-insights/price-elasticity {product_id:${top.productId}}`, method: 'POST', path: '/demand-insights/price-elasticity', body: { product_id: top.productId } },
      { endpoint: `POST /demand-insights/price-elasticity {category:${categories[0].categoryId}}`, method: 'POST', path: '/demand-insights/price-elasticity', body: { category: categories[0].categoryId } },
      { endpoint: 'POST /demand-insights/price-elasticity {} (store, pooled)', method: 'POST', path: '/demand-insights/price-elasticity', body: {} },
      {
        endpoint: `POST /demand-insights/price-optimization {product_id:${top.productId},...}`,
        method: 'POST',
        path: '/demand-insights/price-optimization',
        body: { product_id: top.productId, current_price: price, current_quantity: weekly, cost_per_unit: Math.round(price * 60) / 100 },
      },
      { endpoint: 'GET /demand-insights/products?limit=50', method: 'GET', path: '/demand-insights/products', query: 'limit=50' },
      { endpoint: 'POST /demand-insights/price-elasticity {product_id:nope} (404)', method: 'POST', path: '/demand-insights/price-elasticity', body: { product_id: 'nope' } },
      { endpoint: 'POST /demand-insights/clv {customer_ids:[10 ids]}', method: 'POST', path: '/demand-insights/clv', body: { customer_ids: Array.from({ length: 10 }, (_, i) => `C${String(i * 7919).padStart(8, '0')}`) } },
      // The listings and the at-risk list read one page of the state store's index (empty here: no stream), never the lake.
      { endpoint: 'POST /demand-insights/clv {limit:100} (listing)', method: 'POST', path: '/demand-insights/clv', body: { limit: 100 } },
      { endpoint: 'POST /demand-insights/churn {limit:100} (listing)', method: 'POST', path: '/demand-insights/churn', body: { limit: 100 } },
      { endpoint: 'GET /demand-insights/at-risk-customers?threshold=0.6&limit=100', method: 'GET', path: '/demand-insights/at-risk-customers', query: 'threshold=0.6&limit=100' },
    ];
    for (const bench of cases) {
      const service = new ApiService({ lake, store, model });
      const result = await measure(bench, service, at, rows, options.calls);
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else say(`  ${result.endpoint.padEnd(72)} ${JSON.stringify(result)}`);
    }
    await lake.close();
  } finally {
    await endpoint?.close();
    if (!options.lake) await rm(dir, { recursive: true, force: true });
  }
}

async function measure(bench: ApiCase, service: ApiService, at: AthenaEndpoint, rows: { count: number }, calls: number) {
  const handler = createApiHandler({ service: () => service });
  const call = async () => {
    const started = performance.now();
    const response = await handler(apiCaseEvent(bench));
    return { ms: performance.now() - started, status: response.statusCode, body: response.body };
  };
  const firstQuery = at.started.length;
  rows.count = 0;
  const cold = await call();
  const queries = at.started.slice(firstQuery);
  const pages = queries.reduce((most, query) => Math.max(most, at.pagesOf(query.id)), 0);
  // What the latency model alone charges, as if the cold call's queries ran one after another.
  const scannedBytes = queries.reduce((sum, query) => sum + at.scannedBytesOf(query.id), 0);
  const modelMs = Math.round(queries.reduce((sum, query) => sum + ATHENA_LATENCY.startupMs + at.scannedBytesOf(query.id) / ATHENA_LATENCY.scanBytesPerMs + at.pagesOf(query.id) * ATHENA_LATENCY.pageMs, 0));
  const expected = bench.endpoint.endsWith('(404)') ? 404 : 200;
  if (cold.status !== expected) {
    return { endpoint: bench.endpoint, coldMs: roundMs(cold.ms), p50Ms: null, p99Ms: null, rowsReturned: rows.count, pages, queries: queries.length, scannedBytes, modelMs, error: `HTTP ${cold.status} ${cold.body.slice(0, 200)}` };
  }
  const warm: number[] = [];
  for (let i = 0; i < calls; i++) warm.push((await call()).ms);
  return { endpoint: bench.endpoint, coldMs: roundMs(cold.ms), ...warmPercentiles(warm), rowsReturned: rows.count, pages, queries: queries.length, scannedBytes, modelMs };
}
