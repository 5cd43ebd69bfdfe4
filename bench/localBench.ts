import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import type { KinesisStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import { MemoryAlertSink } from '../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../consumers/stateStore/memoryStateStore.ts';
import { WatermarkTracker } from '../consumers/watermark.ts';
import { endOfDay, type ReplayedStack, runLocalJob } from '../bin/localStack/localJob.ts';
import { bootstrapStates } from '../consumers/stateBootstrap.ts';
import { loadModel } from '../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import { kinesisRecord } from './kinesisBatches.ts';

const OptionsSchema = z.object({
  customers: z.coerce.number().int().min(10).max(1_000_000).default(20_000),
  days: z.coerce.number().int().min(14).max(3_650).default(730),
  seed: z.coerce.number().int().default(42),
  trainFraction: z.coerce.number().gt(0).lt(1).default(0.5),
  shards: z.coerce.number().int().min(1).max(16).default(2),
  batchSize: z.coerce.number().int().min(1).max(10_000).default(100),
  store: z.enum(['memory', 'dynamodb']).default('memory'),
  json: z.boolean().default(false),
  memoryTrace: z.boolean().default(false),
});

/**
 * `bench local`: the main job (`demand-insights local --no-serve --quiet --poison 0`) on a
 * generated history, timed from the first record sent to the last one processed, against the
 * handler alone on the same replayed events in the same run: the same batches, states
 * bootstrapped the same way, an in-memory store, no stream, no sweep.
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const options = OptionsSchema.parse(rawOptions);
  const out = await mkdtemp(join(tmpdir(), 'bench-local-'));
  let stack: ReplayedStack | undefined;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let replayCpu: NodeJS.CpuUsage | undefined;
  const plainSay = options.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const say = options.memoryTrace ? traceMemory() : plainSay;
  // Where the peak comes from: the stages' lines, and a line every 5 s between them.
  const ticker = options.memoryTrace ? setInterval(() => say('(tick)'), 5_000) : undefined;
  try {
    const result = await runLocalJob(
      { ...options, threshold: 0.6, batchingWindowMs: 200, out, quiet: true, poison: 0, keepPolling: false },
      {
        say,
        onReplayStart: () => {
          cpuAtStart = process.cpuUsage();
          if (options.memoryTrace) say('(replay starts)');
        },
        afterReplay: async (replayed) => {
          replayCpu = process.cpuUsage(cpuAtStart);
          stack = replayed;
        },
      },
    );
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    const handlerEventsPerSec = await handlerAlone(stack!, options.batchSize);
    const figures = {
      events: result.events,
      customers: result.customers,
      seconds: result.seconds,
      eventsPerSec: result.eventsPerSec,
      peakRssMb,
      handlerEventsPerSec: Math.round(handlerEventsPerSec),
    };
    if (options.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
    else {
      // CPU time of the replay, both threads: steadier than wall time on a shared machine.
      const cpuSeconds = (replayCpu!.user + replayCpu!.system) / 1e6;
      const lines = [
        ...Object.entries(figures).map(([key, value]) => `  ${key.padEnd(20)} ${value.toLocaleString()}`),
        `  ratio                ${(figures.eventsPerSec / figures.handlerEventsPerSec).toFixed(3)}`,
        `  replay CPU seconds   ${cpuSeconds.toFixed(1)} (${Math.round(result.events / cpuSeconds).toLocaleString()} events per CPU second)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } finally {
    clearInterval(ticker);
    await rm(out, { recursive: true, force: true });
  }
}

/** The job's lines to stderr (with --json too), each after the seconds since the start, RSS, the main thread's heap (used / total) and the peak RSS so far, in MB. */
function traceMemory(): (line: string) => void {
  const started = performance.now();
  const mb = (bytes: number) => Math.round(bytes / 1_048_576);
  return (line) => {
    const memory = process.memoryUsage();
    const figures = `[${((performance.now() - started) / 1000).toFixed(1)} s] rss ${mb(memory.rss)} heap ${mb(memory.heapUsed)}/${mb(memory.heapTotal)} peak ${Math.round(process.resourceUsage().maxRSS / 1024)}`;
    process.stderr.write(`${figures} ${line.trim()}\n`);
  };
}

/** The handler on the replayed events as Kinesis batches of the job's size, states bootstrapped as the job does. */
async function handlerAlone(stack: ReplayedStack, batchSize: number): Promise<number> {
  const deps: ConsumerDeps = {
    store: new MemoryStateStore(),
    alerts: new MemoryAlertSink(),
    deadLetters: new MemoryDeadLetterSink(),
    // Loaded afresh: a model keeps memos, and the job's must not speed this pass up.
    model: loadModel(stack.artifact),
    policy: stack.deps.policy,
    metrics: new CounterMetrics(),
    clock: 'event',
    watermark: new WatermarkTracker(),
  };
  await bootstrapStates(stack.history, endOfDay(stack.calibrationEnd), deps);
  const handler = createKinesisHandler(() => deps);
  let seconds = 0;
  // Built a slice at a time (untimed): a million events as Lambda events at once would take
  // more memory than the job itself.
  for (let from = 0; from < stack.replay.length; from += HANDLER_SLICE) {
    const batches = kinesisBatches(stack.replay, from, Math.min(stack.replay.length, from + HANDLER_SLICE), batchSize);
    const started = performance.now();
    for (const batch of batches) {
      const response = await handler(batch);
      if (response.batchItemFailures.length > 0) throw new Error('handler-alone batch failed: the in-memory path should never fail');
    }
    seconds += (performance.now() - started) / 1000;
  }
  return stack.replay.length / seconds;
}

const HANDLER_SLICE = 50_000;

/** Events [from, to) as Kinesis events of `batchSize`, sequence numbers counting from `from`, parsed from JSON as the runtime hands them. */
function kinesisBatches(events: readonly OrderEvent[], from: number, to: number, batchSize: number): KinesisStreamEvent[] {
  const batches: KinesisStreamEvent[] = [];
  for (let start = from; start < to; start += batchSize) {
    const records = [];
    for (let i = start; i < Math.min(to, start + batchSize); i++) {
      records.push(kinesisRecord(Buffer.from(JSON.stringify(events[i])).toString('base64'), events[i].customerId, i));
    }
    batches.push(JSON.parse(JSON.stringify({ Records: records })) as KinesisStreamEvent);
  }
  return batches;
}
