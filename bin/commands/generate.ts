import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { z } from 'zod';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents, GenerateOptionsSchema } from '../../producers/syntheticGenerator.ts';

/** `demand-insights generate`: deterministic synthetic order events as JSONL (gzipped when --out ends in .gz). */
const GenerateCommandSchema = z.object({
  customers: z.coerce.number().pipe(GenerateOptionsSchema.shape.customers),
  days: z.coerce.number().pipe(GenerateOptionsSchema.shape.days),
  seed: z.coerce.number().pipe(GenerateOptionsSchema.shape.seed),
  start: GenerateOptionsSchema.shape.start,
  out: z.string().min(1, '--out needs a file name'),
});

/** Lines per write: large enough to keep syscalls few, small enough that 100k customers never build one giant string. */
const LINES_PER_CHUNK = 5_000;

export async function run(options: Record<string, unknown>): Promise<void> {
  const parsed = GenerateCommandSchema.safeParse(options);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  const { out, ...generate } = parsed.data;
  const started = performance.now();
  const events = generateEvents(generate);
  await mkdir(dirname(out), { recursive: true });
  const lines = Readable.from(jsonlChunks(events));
  if (out.endsWith('.gz')) await pipeline(lines, createGzip(), createWriteStream(out));
  else await pipeline(lines, createWriteStream(out));
  const returns = events.filter((event) => event.type === 'return').length;
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `wrote ${events.length} events (${events.length - returns} orders, ${returns} returns) for ${generate.customers} customers ` +
      `over ${generate.days} days from ${generate.start} (seed ${generate.seed}) to ${out} in ${seconds.toFixed(2)} s\n`,
  );
}

function* jsonlChunks(events: readonly OrderEvent[]): Generator<string> {
  for (let at = 0; at < events.length; at += LINES_PER_CHUNK) {
    yield `${events.slice(at, at + LINES_PER_CHUNK).map((event) => JSON.stringify(event)).join('\n')}\n`;
  }
}
