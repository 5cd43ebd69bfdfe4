import { join } from 'node:path';
import { z } from 'zod';
import { runLocalJob, type StartingStack, STREAM } from '../localStack/localJob.ts';
import type { LocalApi } from './serve.ts';

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
  replayRate: z.coerce.number().positive().max(1_000_000).optional(),
})
  .refine((o) => !o.data || o.format, { message: '--format is required with --data', path: ['format'] })
  .refine((o) => o.replayRate === undefined || o.stream === 'kinesis', { message: 'paces the Kinesis replay only (not --stream kafka)', path: ['replayRate'] });

type LocalOptions = z.infer<typeof LocalOptionsSchema>;

/**
 * `demand-insights local` (and `npm start`): the whole streaming path on one machine, running
 * the same Lambda handler code as AWS against embedded stand-ins (bin/localStack/localJob.ts).
 * The API and the dashboard are served from the start of the replay over the live state store
 * (the lake's endpoints answer 503 "being built" until the replay's curation is done, then the
 * lake is swapped in), and until Ctrl-C after it.
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = LocalOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let api: LocalApi | undefined;
  try {
    await runLocalJob(
      { ...options, keepPolling: options.serve },
      {
        say,
        beforeReplay: async (stack) => {
          if (options.serve) api = await serveDuringReplay(stack, options, say);
        },
        afterReplay: async ({ kinesisEndpoint, alertFeed, lakeDir, interrupted }) => {
          if (api && !interrupted) await serveUntilStopped(api, { kinesisEndpoint, alertFeed, lakeDir }, say);
        },
      },
    );
  } finally {
    await api?.close();
  }
}

/** The API and the dashboard over the live state store, before the lake is built: the risk panel follows the replay's alerts. */
async function serveDuringReplay({ events, model, deps, alertFeed }: StartingStack, options: LocalOptions, say: (line: string) => void): Promise<LocalApi> {
  const { startLocalApi } = await import('./serve.ts');
  const api = await startLocalApi({ lakePending: true, events, model, store: deps.store, port: options.port, say, alertFeed });
  say(`• dashboard at ${api.server.url}/ during the replay: live alerts now, the lake's panels once the replay ends`);
  return api;
}

/** Swaps the curated lake in, then serves until Ctrl-C while the consumer keeps polling the stream. */
async function serveUntilStopped(api: LocalApi, { kinesisEndpoint, alertFeed, lakeDir }: Pick<StartingStack, 'kinesisEndpoint' | 'alertFeed' | 'lakeDir'>, say: (line: string) => void) {
  const { ROUTES, OPENAPI_PATH } = await import('../../api/routes/index.ts');
  await api.openLake(lakeDir);
  say(`• lake ready: dashboard at ${api.server.url}/ (live alerts, ${alertFeed.lastSeq.toLocaleString()} so far); API scoring live from the stream's state store:`);
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
}
