import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ApiService } from '../api/apiService.ts';
import { weeklyTables } from '../api/services/pricing.ts';
import { createDuckDbEngine } from '../api/engines/duckdbEngine.ts';
import { createApiHandler } from '../api/http/apiHandler.ts';
import { buildLake } from '../api/lake/buildLake.ts';
import type { LakeQueries } from '../api/lake/lakeQueries.ts';
import { createLakeQueries } from '../api/lake/lakeQueriesSql.ts';
import { BtydModel } from '../models/clv/btydModel.ts';
import { trainBtyd } from '../models/clv/btydTraining.ts';
import { eligibility } from '../models/demand/elasticity.ts';
import { streamStore } from '../consumers/stateBootstrap.ts';
import { readDataset } from '../producers/datasets/index.ts';
import { generateEvents } from '../producers/syntheticGenerator.ts';
import { type ApiCase, apiCaseEvent, roundMs, warmPercentiles } from './apiCalls.ts';
import { runLargeLake } from './largeLakeBench.ts';

/**
 * `demand-insights bench api`: per endpoint, the first call on a fresh service (cold) and 200
 * warm calls, through the Lambda handler with HTTP API (payload 2.0) events, in process.
 *
 * Setup (not timed): the dataset is read, its lake written with `lake build`'s code to a temp
 * directory and opened with the DuckDB engine (snapshot in memory), BTYD trained on all of it,
 * and a memory state store filled the way the stream would have: every customer active in the
 * last 30 days has its state and score as of its last event (source "stream"); the others are
 * known only to the lake. The watermark is the last event time.
 *
 * cold: a new ApiService (empty caches, no warm-up) over the open engine, then one request,
 * timed from the handler call to its response: every lake query and every fit that request
 * needs (for clv/churn/at-risk: loading and scoring every lake customer) is inside.
 * warm: the next 200 requests on that service, one at a time; p50 and p99 of those.
 */

const BenchOptionsSchema = z.object({
  data: z.string().min(1).optional(),
  format: z.enum(['cdnow', 'online-retail', 'jsonl']).optional(),
  json: z.boolean().default(false),
  customers: z.coerce.number().int().min(10).max(5_000_000).optional(),
  /** Where the synthetic lake of --customers is written (kept for the next run); a temporary directory by default. */
  lake: z.string().min(1).optional(),
  calls: z.coerce.number().int().min(1).max(100_000).default(200),
}).refine((o) => !o.data || o.format, { message: '--format is required with --data', path: ['format'] });

export interface EndpointResult {
  endpoint: string;
  coldMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Through Athena: rows the cold call's queries returned, and the most GetQueryResults pages one of them took. */
  rowsReturned?: number;
  pages?: number;
  /** A cold call that failed (the endpoint is then not measured warm). */
  error?: string;
}

export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = BenchOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if (options.customers !== undefined && !options.data) return runLargeLake({ ...options, customers: options.customers }, say);

  const events = options.data
    ? (await readDataset(options.data, options.format!)).events
    : generateEvents({ customers: options.customers ?? 4000, days: 365, seed: 42, start: '2024-01-01' });
  say(`• ${events.length.toLocaleString()} events from ${options.data ?? 'the synthetic generator'}`);

  const dir = await mkdtemp(join(tmpdir(), 'di-bench-api-'));
  try {
    const summary = await buildLake(events, dir);
    say(`• lake: ${summary.orderLines.toLocaleString()} lines, ${summary.customers.toLocaleString()} customers (${summary.firstDay}..${summary.lastDay}) in ${Math.round(summary.ms)} ms`);
    const model = BtydModel.load(trainBtyd(events, { calibrationEnd: summary.lastDay!, horizonDays: 90 }));
    const store = await streamStore(events, model, 30);
    const open = async () => {
      const started = performance.now();
      const lake = createLakeQueries(await createDuckDbEngine({ lakeDir: dir }));
      return { lake, openMs: performance.now() - started };
    };
    const setup = await open();
    const warmUpStart = performance.now();
    await new ApiService({ lake: setup.lake, store, model }).warmUp();
    const warmUpMs = performance.now() - warmUpStart;
    const cases = await benchCases(setup.lake);
    say(`• DuckDB engine open (lake snapshot loaded) ${Math.round(setup.openMs)} ms; a full warm-up (everything warmUp() precomputes) ${Math.round(warmUpMs)} ms`);
    await setup.lake.close();
    const opens: number[] = [];
    for (const bench of cases) {
      // A fresh engine per endpoint: its result cache must not carry one endpoint's queries into another's cold call.
      const { lake, openMs } = await open();
      opens.push(openMs);
      try {
        const result = await measure(bench, () => new ApiService({ lake, store, model }), options.calls);
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else say(`  ${result.endpoint.padEnd(72)} cold ${fmt(result.coldMs)}  p50 ${fmt(result.p50Ms)}  p99 ${fmt(result.p99Ms)}`);
      } finally {
        await lake.close();
      }
    }
    opens.sort((a, b) => a - b);
    say(`• engine open before each endpoint (not in coldMs): median ${Math.round(opens[opens.length >> 1])} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fmt(ms: number): string {
  return `${ms.toFixed(1).padStart(7)} ms`;
}

/** The requests of the retail protocol's §3, on this dataset's top products. */
async function benchCases(lake: LakeQueries): Promise<ApiCase[]> {
  const tables = weeklyTables(await lake.weeklyProductSales({}));
  const byUnits = [...tables.values()]
    .map((table) => ({ table, units: table.units.reduce((sum, value) => sum + value, 0) }))
    .sort((a, b) => b.units - a.units || (a.table.productId < b.table.productId ? -1 : 1));
  const top = byUnits[0]?.table;
  const eligible = byUnits.find(({ table }) => eligibility(table).eligible)?.table ?? top;
  if (!top || !eligible) throw new Error('the lake has no product sales to benchmark on');
  // Current price = the last 4 weeks' units-weighted price, quantity = their mean weekly units, cost = 0.6 × price.
  const last = Math.max(0, eligible.weeks.length - 4);
  let units = 0;
  let revenue = 0;
  for (let i = last; i < eligible.weeks.length; i++) {
    units += eligible.units[i];
    revenue += eligible.revenue[i];
  }
  const price = Math.round((revenue / units) * 100) / 100;
  const weeks = eligible.weeks.length - last;
  const ids = (await lake.customerRfm((await lake.dateRange())!.last)).slice(0, 10).map((row) => row.customerId);
  return [
    { endpoint: 'GET /demand-insights/segments?n_clusters=5', method: 'GET', path: '/demand-insights/segments', query: 'n_clusters=5' },
    { endpoint: `POST /demand-insights/forecast {product_id:${top.productId},forecast_days:30}`, method: 'POST', path: '/demand-insights/forecast', body: { product_id: top.productId, forecast_days: 30 } },
    { endpoint: 'POST /demand-insights/forecast {forecast_days:30} (store)', method: 'POST', path: '/demand-insights/forecast', body: { forecast_days: 30 } },
    { endpoint: `POST /demand-insights/price-elasticity {product_id:${eligible.productId}}`, method: 'POST', path: '/demand-insights/price-elasticity', body: { product_id: eligible.productId } },
    {
      endpoint: `POST /demand-insights/price-optimization {product_id:${eligible.productId},...}`,
      method: 'POST',
      path: '/demand-insights/price-optimization',
      body: { product_id: eligible.productId, current_price: price, current_quantity: Math.round(units / weeks), cost_per_unit: Math.round(price * 60) / 100 },
    },
    { endpoint: 'POST /demand-insights/clv {limit:5000} (all customers)', method: 'POST', path: '/demand-insights/clv', body: { limit: 5000 } },
    { endpoint: 'POST /demand-insights/churn {limit:5000} (all customers)', method: 'POST', path: '/demand-insights/churn', body: { limit: 5000 } },
    { endpoint: 'POST /demand-insights/clv {customer_ids:[10 ids]}', method: 'POST', path: '/demand-insights/clv', body: { customer_ids: ids } },
    { endpoint: 'GET /demand-insights/at-risk-customers?threshold=0.6&limit=100', method: 'GET', path: '/demand-insights/at-risk-customers', query: 'threshold=0.6&limit=100' },
  ];
}

async function measure(bench: ApiCase, freshService: () => ApiService, calls: number): Promise<EndpointResult> {
  const service = freshService();
  const handler = createApiHandler({ service: () => service });
  const call = async () => {
    const started = performance.now();
    const response = await handler(apiCaseEvent(bench));
    const ms = performance.now() - started;
    if (response.statusCode !== 200) throw new Error(`${bench.endpoint}: HTTP ${response.statusCode} ${response.body.slice(0, 300)}`);
    return ms;
  };
  const coldMs = await call();
  const warm: number[] = [];
  for (let i = 0; i < calls; i++) warm.push(await call());
  return { endpoint: bench.endpoint, coldMs: roundMs(coldMs), ...warmPercentiles(warm) };
}



