import { join } from 'node:path';
import { z } from 'zod';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import type { AlertFeed } from '../../api/dashboard/alertFeed.ts';
import { runLocalJob, STREAM } from '../localStack/localJob.ts';

const LocalOptionsSchema = z.object({
  data: z.string().optional(),
  format: z.enum(['cdnow', 'online-retail', 'jsonl']).optional(),
  customers: z.coerce.number().int().min(1).max(1_000_000),
  days: z.coerce.number().int().min(14).max(3_650),
  seed: z.coerce.number().int(),
  trainFraction: z.coerce.number().gt(0).lt(1),
  threshold: z.coerce.number().positive(),
  shards: z.coerce.number().int().min(1).max(16),
  batchSize: z.coerce.number().int().min(1).max(10_000),
  batchingWindowMs: z.coerce.number().int().min(0).max(300_000),
  out: z.string().min(1),
  quiet: z.boolean().default(false),
  poison: z.coerce.number().int().min(0).max(1_000).default(5),
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  serve: z.boolean().default(true),
  store: z.enum(['memory', 'dynamodb']).default('memory'),
  stream: z.enum(['kinesis', 'kafka']).default('kinesis'),
}).refine((o) => !o.data || o.format, { message: '--format is required with --data', path: ['format'] });

type LocalOptions = z.infer<typeof LocalOptionsSchema>;

/**
 * `demand-insights local` (and `npm start`): the whole streaming path on one machine, running
 * the same Lambda handler code as AWS against embedded stand-ins (bin/localStack/localJob.ts),
 * then serving the API over the live state store until Ctrl-C.
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = LocalOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  await runLocalJob(
    { ...options, keepPolling: options.serve },
    {
      say,
      afterReplay: async ({ events, model, deps, kinesisEndpoint, alertFeed, lakeDir, interrupted }) => {
        if (options.serve && !interrupted) await serveUntilStopped({ events, model, store: deps.store, kinesisEndpoint, alertFeed, lakeDir }, options, say);
      },
    },
  );
}

interface Served {
  events: readonly OrderEvent[];
  model: CustomerModel;
  store: StateStore;
  kinesisEndpoint: string;
  alertFeed: AlertFeed;
  lakeDir: string;
}

/** Serves the API and the dashboard over the same state store (live scores) and the curated lake, until Ctrl-C. */
async function serveUntilStopped({ events, model, store, kinesisEndpoint, alertFeed, lakeDir }: Served, options: LocalOptions, say: (line: string) => void) {
  const { startLocalApi } = await import('./serve.ts');
  const { ROUTES, OPENAPI_PATH } = await import('../../api/routes/index.ts');
  const api = await startLocalApi({ lakeDir, events, model, store, port: options.port, say, alertFeed });
  say(`• dashboard at ${api.server.url}/ (live alerts, ${alertFeed.lastSeq.toLocaleString()} so far); API scoring live from the stream's state store:`);
  for (const route of ROUTES) say(`    ${route.method.padEnd(4)} ${api.server.url}${route.path}`);
  say(`    GET  ${api.server.url}${OPENAPI_PATH}`);
  say(`• the consumer keeps polling: send more events with`);
  say(`    npx demand-insights replay --data orders.jsonl --format jsonl --stream ${STREAM} --endpoint ${kinesisEndpoint}`);
  say('• Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  say('• stopping');
  await api.close();
}
