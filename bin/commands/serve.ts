import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { ApiServiceConfig } from '../../api/apiConfig.ts';
import { ApiService } from '../../api/apiService.ts';
import { createDuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { parseAllowedOrigins } from '../../api/http/cors.ts';
import { type ApiLogger, createApiHandler } from '../../api/http/apiHandler.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import type { LakeQueries } from '../../api/lake/lakeQueries.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { PendingLake } from '../../api/lake/pendingLake.ts';
import { type LocalServer, serveLocal } from '../../api/localServer.ts';
import type { AlertFeed } from '../../api/dashboard/alertFeed.ts';
import { buildDashboardAssets } from '../../api/dashboard/dashboardBundle.ts';
import { createDashboardRoutes, type DashboardRoutes } from '../../api/dashboard/dashboardRoutes.ts';
import { OPENAPI_PATH, ROUTES } from '../../api/routes/index.ts';
import { dynamoClient } from '../../aws/clients.ts';
import { DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import { BtydModel } from '../../models/clv/btydModel.ts';
import { trainBtyd } from '../../models/clv/btydTraining.ts';
import { dayIndex, isoDay } from '../../models/time/calendar.ts';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { streamStore } from '../../consumers/stateBootstrap.ts';

/**
 * `demand-insights serve`: the API on this machine. The lake is DuckDB over Parquet files (built
 * from --data into .local/lake unless --lake names one), the model is an artifact (--model) or
 * BG/NBD + Gamma-Gamma trained on the data, and the state store is empty (every customer scored
 * from the lake) unless --dynamodb-endpoint/--state-table point at a running scorer's table. The
 * HTTP server turns each request into the API Gateway event the Lambda gets on AWS.
 */
const ServeOptionsSchema = z
  .object({
    data: z.string().min(1).optional(),
    format: z.enum(['cdnow', 'online-retail', 'jsonl']).optional(),
    port: z.coerce.number().int().min(0).max(65_535).default(8080),
    host: z.string().min(1).default('127.0.0.1'),
    model: z.string().min(1).optional(),
    lake: z.string().min(1).optional(),
    cors: z.string().default('*'),
    dynamodbEndpoint: z.string().url().optional(),
    stateTable: z.string().min(1).optional(),
    verbose: z.boolean().default(false),
  })
  .refine((o) => !o.data || o.format, { message: '--format is required with --data', path: ['format'] })
  .refine((o) => o.data || o.lake, { message: 'give --data (to build a lake) or --lake (an existing one)', path: ['data'] })
  .refine((o) => o.data || o.model, { message: 'give --model, or --data to train one', path: ['model'] })
  .refine((o) => !o.dynamodbEndpoint === !o.stateTable, { message: '--dynamodb-endpoint and --state-table go together', path: ['stateTable'] });

export const DEFAULT_LAKE_DIR = join('.local', 'lake');

export interface LocalApiOptions {
  /** An existing lake directory; without it, `events` are written to `lakeOut` first. */
  lakeDir?: string;
  events?: readonly OrderEvent[];
  lakeOut?: string;
  /**
   * Serve before the lake exists (the local stack, during its replay): lake-backed endpoints answer
   * 503 with Retry-After, customer scores come from `store` alone, until `openLake` is called.
   */
  lakePending?: boolean;
  /** The model; without it, BTYD is trained on `events` (calibration end = their last day, 90-day horizon). */
  model?: CustomerModel;
  /** The scorer's store; default an empty in-memory store (every customer scored from the lake). */
  store?: StateStore;
  port?: number;
  host?: string;
  corsOrigins?: string;
  config?: Partial<ApiServiceConfig>;
  logger?: ApiLogger;
  /** Serve the dashboard at / (default true). */
  dashboard?: boolean;
  /** The live alerts the dashboard streams; without it the page polls the at-risk listing only. */
  alertFeed?: AlertFeed;
  /** Compute the shared aggregates before listening (default true). */
  warmUp?: boolean;
  say?: (line: string) => void;
}

export interface LocalApi {
  server: LocalServer;
  /** The service answering now (a new one once `openLake` has swapped the lake in). */
  readonly service: ApiService;
  /** Serves from this lake from now on: a service over it is warmed up, then swapped in; the dashboard is told. */
  openLake(lakeDir: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the local API: the piece `serve` runs, and the one `local` (and tests) can start
 * beside a running scorer by passing its `store`.
 */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const say = options.say ?? (() => {});
  const model = options.model ?? trainOn(options.events, say);
  // Without a live scorer, the history's states as the stream and sweep would leave them: the
  // listing and the at-risk list page through a store, never the lake.
  const store = options.store ?? (options.events ? await streamStore(options.events, model, Number.POSITIVE_INFINITY) : new MemoryStateStore());
  const serviceOver = (lake: LakeQueries) =>
    new ApiService({
      lake,
      store,
      model,
      config: { scoreClock: 'event', ...options.config },
      onBackgroundError: (error, what) => say(`! background refresh of ${what} failed: ${(error as Error).message}`),
    });
  const warmedOver = async (lakeDir: string) => {
    const service = serviceOver(createLakeQueries(await createDuckDbEngine({ lakeDir })));
    try {
      if (options.warmUp ?? true) {
        const started = performance.now();
        const timings = await service.warmUp();
        say(`• warm-up ${Math.round(performance.now() - started)} ms (${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(', ')})`);
      }
      return service;
    } catch (error) {
      await service.close();
      throw error;
    }
  };

  let markLakeReady = () => {};
  const lakeReady = new Promise<void>((resolveReady) => (markLakeReady = resolveReady));
  let service: ApiService;
  if (options.lakePending) {
    service = serviceOver(new PendingLake());
  } else {
    service = await warmedOver(options.lakeDir ?? (await buildLakeFrom(options, say)));
    markLakeReady();
  }
  try {
    const handler = createApiHandler({ service: () => service, cors: { allowedOrigins: parseAllowedOrigins(options.corsOrigins ?? '*') }, logger: options.logger });
    let dashboard: DashboardRoutes | undefined;
    if (options.dashboard ?? true) {
      const assets = await buildDashboardAssets();
      say(`• dashboard bundled in ${assets.bundleMs} ms (${Math.round(assets.js.length / 1024)} KiB of script)`);
      dashboard = createDashboardRoutes({ assets, feed: options.alertFeed, lakeReady });
    }
    const server = await serveLocal({ handler, port: options.port ?? 0, host: options.host, before: dashboard?.handle });
    return {
      server,
      get service() {
        return service;
      },
      openLake: async (lakeDir) => {
        const previous = service;
        service = await warmedOver(lakeDir);
        markLakeReady();
        await previous.close();
      },
      close: async () => {
        dashboard?.close();
        await server.close();
        await service.close();
      },
    };
  } catch (error) {
    await service.close();
    throw error;
  }
}

async function buildLakeFrom(options: LocalApiOptions, say: (line: string) => void): Promise<string> {
  if (!options.events) throw new Error('startLocalApi: give lakeDir or events');
  const out = resolve(options.lakeOut ?? DEFAULT_LAKE_DIR);
  const summary = await buildLake(options.events, out);
  say(`• lake: ${summary.orderLines.toLocaleString()} order lines, ${summary.customers.toLocaleString()} customers, ${summary.days} days (${summary.firstDay}..${summary.lastDay}) → ${out} in ${(summary.ms / 1000).toFixed(2)} s`);
  return out;
}

function trainOn(events: readonly OrderEvent[] | undefined, say: (line: string) => void): CustomerModel {
  if (!events || events.length === 0) throw new Error('no model: give one, or events to train it on');
  let last = -Infinity;
  for (const event of events) last = Math.max(last, Date.parse(event.occurredAt));
  const calibrationEnd = isoDay(dayIndex(last));
  const started = performance.now();
  const model = BtydModel.load(trainBtyd(events, { calibrationEnd, horizonDays: 90 }));
  say(`• model ${model.version} trained on the data up to ${calibrationEnd} in ${Math.round(performance.now() - started)} ms`);
  return model;
}

export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = ServeOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const say = (line: string) => process.stderr.write(`${line}\n`);

  let events: OrderEvent[] | undefined;
  if (options.data) {
    const started = performance.now();
    const dataset = await readDataset(options.data, options.format!);
    events = dataset.events;
    say(`• ${events.length.toLocaleString()} events from ${options.data} in ${Math.round(performance.now() - started)} ms`);
  }
  if (options.lake && !existsSync(options.lake)) throw new Error(`--lake: ${options.lake} does not exist (build one with \`demand-insights lake build\`)`);
  const model = options.model ? loadModel(JSON.parse(await readFile(options.model, 'utf8'))) : undefined;
  if (model) say(`• model ${model.version} from ${options.model}`);

  const dynamo = options.dynamodbEndpoint ? dynamoClient({ endpoint: options.dynamodbEndpoint }) : undefined;
  const store = dynamo ? new DynamoStateStore({ client: dynamo, tableName: options.stateTable! }) : undefined;
  say(store ? `• live scores from table ${options.stateTable} at ${options.dynamodbEndpoint}` : '• no state store given: every customer is scored from the lake (source "lake")');

  const api = await startLocalApi({
    lakeDir: options.lake,
    events,
    model,
    store,
    port: options.port,
    host: options.host,
    corsOrigins: options.cors,
    logger: options.verbose ? consoleLogger() : undefined,
    say,
  });
  say(`• API listening on ${api.server.url}, the dashboard at ${api.server.url}/`);
  for (const route of ROUTES) say(`    ${route.method.padEnd(4)} ${api.server.url}${route.path}`);
  say(`    GET  ${api.server.url}${OPENAPI_PATH}`);

  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  say('• stopping');
  await api.close();
  dynamo?.destroy();
}

function consoleLogger(): ApiLogger {
  const write = (level: string) => (message: string, ...extra: unknown[]) =>
    process.stderr.write(`${JSON.stringify({ level, message, ...Object.assign({}, ...extra.filter((e) => typeof e === 'object')) })}\n`);
  return { error: write('ERROR'), warn: write('WARN'), info: write('INFO'), debug: write('DEBUG') };
}
