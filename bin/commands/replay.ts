import { Presets, SingleBar } from 'cli-progress';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { kinesisClient } from '../../aws/clients.ts';
import { DATASET_FORMATS, readDataset } from '../../producers/datasets/index.ts';
import type { ReadReport } from '../../producers/datasets/readReport.ts';
import { ensureTopic, KafkaOrderProducer, KafkaUnreachableError } from '../../producers/kafkaProducer.ts';
import { ensureStream, KinesisProducer, type SendFailure, type SendResult } from '../../producers/kinesisProducer.ts';

/** `demand-insights replay`: send a dataset to a Kinesis stream or a Kafka topic in event-time order. */
const KinesisReplaySchema = z.object({
  data: z.string().min(1),
  format: z.enum(DATASET_FORMATS),
  to: z.literal('kinesis').default('kinesis'),
  stream: z.string().regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'must be 1-128 letters, digits, _ . or -'),
  endpoint: z.url().optional(),
  region: z.string().min(1).optional(),
});
const KafkaReplaySchema = z.object({
  data: z.string().min(1),
  format: z.enum(DATASET_FORMATS),
  to: z.literal('kafka'),
  brokers: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port...]'),
  topic: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 letters, digits, . _ or -'),
  partitions: z.coerce.number().int().min(1).max(1_000).default(4),
});
const ReplayOptionsSchema = z.union([KafkaReplaySchema, KinesisReplaySchema]);

/** A local stand-in starts empty, so replay creates the stream there, with the `local` command's default shards. */
const LOCAL_STREAM_SHARDS = 2;
const LISTED_FAILURES = 5;

export async function run(options: Record<string, unknown>): Promise<void> {
  const parsed = ReplayOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  if (parsed.data.to === 'kafka') return replayToKafka(parsed.data);
  const { data, format, stream, endpoint, region } = parsed.data;
  const { events, report } = await readDataset(data, format);
  process.stderr.write(describeRead(data, report));

  const client = kinesisClient({ endpoint, region });
  try {
    if (endpoint) await ensureStream(client, stream, LOCAL_STREAM_SHARDS);
    const started = performance.now();
    const result = await sendWithProgress(new KinesisProducer({ client, streamName: stream }), events);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(describeSend(stream, events.length, result, seconds));
    if (result.failed.length > 0) process.exitCode = 1;
  } finally {
    client.destroy();
  }
}

/** Kafka: the idempotent kafkajs producer, keyed by customer; the topic is created if missing. */
async function replayToKafka(options: z.infer<typeof KafkaReplaySchema>): Promise<void> {
  const brokers = options.brokers.split(',');
  // Few retries: an unreachable broker should be reported in seconds, not after kafkajs's minute of backoff.
  const kafka = new Kafka({ clientId: 'demand-insights-replay', brokers, logLevel: logLevel.NOTHING, retry: { retries: 3 }, connectionTimeout: 3_000 });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new KafkaUnreachableError(brokers, error);
  }
  const producer = new KafkaOrderProducer({ kafka, topic: options.topic });
  try {
    await ensureTopic(admin, options.topic, options.partitions);
    const { events, report } = await readDataset(options.data, options.format);
    process.stderr.write(describeRead(options.data, report));
    await producer.connect(brokers);
    const bar = new SingleBar(
      { stream: process.stderr, format: 'replay [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left', hideCursor: true },
      Presets.shades_classic,
    );
    bar.start(events.length, 0);
    const started = performance.now();
    let result;
    try {
      result = await producer.send(events, ({ sent }) => bar.update(sent));
    } finally {
      bar.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`replayed to ${options.topic}: ${result.sent}/${events.length} events sent in ${result.calls} requests; ${seconds.toFixed(2)} s, ${Math.round(result.sent / Math.max(seconds, 1e-3))} events/s\n`);
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect();
  }
}

async function sendWithProgress(producer: KinesisProducer, events: Parameters<KinesisProducer['send']>[0]): Promise<SendResult> {
  const bar = new SingleBar(
    { stream: process.stderr, format: 'replay [{bar}] {percentage}% | {value}/{total} events | failed {failed} | {eta_formatted} left', hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(events.length, 0, { failed: 0 });
  try {
    return await producer.send(events, ({ sent, failed }) => bar.update(sent + failed, { failed }));
  } finally {
    bar.stop();
  }
}

function describeRead(path: string, report: ReadReport): string {
  const lines = [`read ${path}: ${report.rows} rows, ${report.events} events`];
  for (const [reason, count] of Object.entries(report.skipped)) lines.push(`  skipped ${count}: ${reason}`);
  if (report.unreadableCount > 0) {
    lines.push(`  unreadable ${report.unreadableCount} rows, first:`);
    for (const issue of report.issues.slice(0, LISTED_FAILURES)) lines.push(`    line ${issue.line}: ${issue.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

export function describeSend(stream: string, total: number, result: SendResult, seconds: number): string {
  const rate = seconds > 0 ? Math.round(result.sent / seconds) : result.sent;
  const lines = [
    `replayed to ${stream}: ${result.sent}/${total} events sent in ${result.calls} calls, ${result.retries} records retried, ` +
      `${result.failed.length} failed; ${seconds.toFixed(2)} s, ${rate} events/s`,
  ];
  for (const [code, failures] of byErrorCode(result.failed)) {
    lines.push(`  failed ${failures.length}: ${code}, e.g. order ${failures[0].event.orderId}: ${failures[0].errorMessage}`);
  }
  return `${lines.join('\n')}\n`;
}

function byErrorCode(failures: SendFailure[]): Map<string, SendFailure[]> {
  const groups = new Map<string, SendFailure[]>();
  for (const failure of failures) {
    const group = groups.get(failure.errorCode);
    if (group) group.push(failure);
    else groups.set(failure.errorCode, [failure]);
  }
  return groups;
}
