import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { KinesisStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import { MemoryAlertSink } from '../consumers/alerts/memoryAlertSink.ts';
import { CONSUMER_V8_FLAGS } from '../consumers/consumerConfig.ts';
import { CounterMetrics } from '../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../consumers/stateStore/memoryStateStore.ts';
import { type BtydArtifact, BtydModel } from '../models/clv/btydModel.ts';
import { trainBtyd } from '../models/clv/btydTraining.ts';
import { isoDay, dayIndex } from '../models/time/calendar.ts';
import { DEFAULT_RISK_POLICY } from '../models/customer/riskPolicy.ts';
import { generateEvents } from '../producers/syntheticGenerator.ts';
import { stageCosts } from './consumerStages.ts';
import { toKinesisEvents } from './kinesisBatches.ts';

const OptionsSchema = z.object({
  events: z.coerce.number().int().min(1_000).max(10_000_000).default(200_000),
  customers: z.coerce.number().int().min(10).optional(),
  /** Records per Lambda invocation; 100 is the Kinesis event source mapping's default. */
  batchSize: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Measured passes of each side; the median of each is reported. */
  repeats: z.coerce.number().int().min(1).max(15).default(3),
  json: z.boolean().default(false),
  /** Also time the handler's steps cumulatively (bench/consumerStages.ts). */
  stages: z.boolean().default(false),
  /** Run in this process with its own V8 flags instead of a child with the Lambda's. */
  inProcess: z.boolean().default(false),
});

/** Marks the child process the benchmark re-runs itself in. */
const CHILD_MARKER = 'DEMAND_INSIGHTS_BENCH_CHILD';

/**
 * `bench consumer`: the whole handler path (envelope check, decode, validate, group, load,
 * apply, rescore with due-time search, conditional save, alert outbox) on Kinesis-shaped
 * batches, against base64-decoding plus JSON-parsing the same records in the same run. One
 * thread, in-memory state and sinks, so it measures our code rather than a network.
 *
 * Fairness: both sides get the same treatment before every measured pass: a full collection
 * (so neither pays for garbage the other left behind), then an untimed run of the same side over
 * the first 20,000 events (so the JIT has compiled it and the young generation, which a full
 * collection shrinks, has grown back). Measured passes alternate handler, decode, handler, ...,
 * and each side reports the median of its passes. Every handler pass starts from nothing: a new
 * store and sinks, and a model freshly loaded from the artifact, so no memo a model keeps
 * carries over from an earlier pass.
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const options = OptionsSchema.parse(rawOptions);
  if (!options.inProcess && process.env[CHILD_MARKER] !== '1') return rerunWithConsumerFlags();
  // The generator averages about six events per customer over 540 days.
  const customers = options.customers ?? Math.max(100, Math.ceil(options.events / 5));
  const { events, artifact } = workload(customers, options.events);
  const batches = toKinesisEvents(events, options.batchSize);
  const warmup = toKinesisEvents(events.slice(0, Math.min(events.length, 20_000)), options.batchSize);

  const handlerSeconds: number[] = [];
  const decodeSeconds: number[] = [];
  for (let pass = 0; pass < options.repeats; pass++) {
    collectGarbage();
    await handlerPass(warmup, artifact);
    handlerSeconds.push(await handlerPass(batches, artifact));
    collectGarbage();
    decodePass(warmup);
    decodeSeconds.push(decodePass(batches));
  }

  const eventsPerSec = events.length / median(handlerSeconds);
  const decodeOnlyPerSec = events.length / median(decodeSeconds);
  const result = {
    events: events.length,
    customers: new Set(events.map((e) => e.customerId)).size,
    eventsPerSec: Math.round(eventsPerSec),
    decodeOnlyPerSec: Math.round(decodeOnlyPerSec),
    ratio: Number((eventsPerSec / decodeOnlyPerSec).toFixed(3)),
  };
  const stages = options.stages ? roundedStages(stageCosts(batches, events.length, BtydModel.load(artifact), options.repeats)) : undefined;
  if (options.json) {
    process.stdout.write(`${JSON.stringify(stages ? { ...result, stagesMicrosPerEvent: stages } : result)}\n`);
    return;
  }
  const perPass = (seconds: number[]) => seconds.map((s) => Math.round(events.length / s).toLocaleString()).join(', ');
  process.stdout.write(
    [
      `consumer benchmark: ${result.events} events, ${result.customers} customers, batches of ${options.batchSize}, one thread on ${cpus()[0]?.model ?? 'unknown CPU'}`,
      `  V8 flags            ${options.inProcess ? "this process's" : `the consumer Lambda's (${CONSUMER_V8_FLAGS.join(' ')})`}`,
      `  whole handler path  ${result.eventsPerSec.toLocaleString()} events/s   (median of ${options.repeats}: ${perPass(handlerSeconds)})`,
      `  decode only         ${result.decodeOnlyPerSec.toLocaleString()} records/s  (median of ${options.repeats}: ${perPass(decodeSeconds)})`,
      `  ratio               ${result.ratio}`,
      ...(stages
        ? [
            '  cumulative CPU µs per event (best of each stage):',
            ...Object.entries(stages).map(([stage, micros]) => `    ${stage.padEnd(16)} ${micros.toFixed(2)}`),
          ]
        : []),
      '',
    ].join('\n'),
  );
}

/**
 * Runs the same command again in a child process with the consumer Lambda's V8 flags
 * (CONSUMER_V8_FLAGS): a process's heap limits are fixed at its start.
 */
function rerunWithConsumerFlags(): void {
  const child = spawnSync(process.execPath, [...process.execArgv, ...CONSUMER_V8_FLAGS, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_MARKER]: '1' },
  });
  if (child.error) throw child.error;
  if (child.status !== 0) throw new Error(`bench consumer child process failed (${child.signal ?? `exit code ${child.status}`})`);
}

/** Synthetic events, trimmed to the requested count, and a model fitted on their first half. */
export function workload(customers: number, count: number): { events: ReturnType<typeof generateEvents>; artifact: BtydArtifact } {
  const events = generateEvents({ customers, days: 540, seed: 7, start: '2024-01-01' }).slice(0, count);
  if (events.length < count) throw new Error(`only ${events.length} events from ${customers} customers: pass more --customers`);
  const cutoff = dayIndex(Date.parse(events[Math.floor(events.length / 2)].occurredAt));
  const artifact = trainBtyd(events.filter((e) => dayIndex(Date.parse(e.occurredAt)) <= cutoff), { calibrationEnd: isoDay(cutoff), horizonDays: 90 });
  return { events, artifact };
}

async function handlerPass(batches: readonly KinesisStreamEvent[], artifact: BtydArtifact): Promise<number> {
  const deps: ConsumerDeps = {
    store: new MemoryStateStore(),
    alerts: new MemoryAlertSink(),
    deadLetters: new MemoryDeadLetterSink(),
    model: BtydModel.load(artifact),
    policy: DEFAULT_RISK_POLICY,
    metrics: new CounterMetrics(),
    clock: 'event',
  };
  const handler = createKinesisHandler(() => deps);
  const started = performance.now();
  for (const batch of batches) {
    const response = await handler(batch);
    if (response.batchItemFailures.length > 0) throw new Error('benchmark batch failed: the in-memory path should never fail');
  }
  return (performance.now() - started) / 1000;
}

function decodePass(batches: readonly KinesisStreamEvent[]): number {
  let sink = 0;
  const started = performance.now();
  for (const batch of batches) {
    for (const record of batch.Records) {
      const payload = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as { lines: unknown[] };
      sink += payload.lines.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (sink === 0) throw new Error('decoded nothing');
  return seconds;
}

function roundedStages<T extends object>(stages: T): T {
  return Object.fromEntries(Object.entries(stages).map(([stage, micros]) => [stage, Number((micros as number).toFixed(3))])) as T;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

let gc: (() => void) | undefined;

/** A full collection between passes, so neither side pays for garbage the other left behind. */
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
