import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { dayIndex, isoDay } from '../../models/time/calendar.ts';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import { trainHybridFromEvents } from '../../models/clv/hybridTraining.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { JsonlAlertSink } from '../../consumers/alerts/jsonlAlertSink.ts';
import { FanOutAlertSink } from '../../consumers/alerts/fanOutAlertSink.ts';
import { AlertFeed } from '../../api/dashboard/alertFeed.ts';
import { dynamoClient, kinesisClient } from '../../aws/clients.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { JsonlDeadLetterSink } from '../../consumers/deadLetters/jsonlDeadLetterSink.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { pollStream } from '../localStack/eventSourcePoller.ts';
import { firehoseTap } from '../localStack/firehoseTap.ts';
import { buildLakeThroughRaw, curateLocalLake } from '../../lake/localCuration.ts';
import { startDynalite, startKinesalite } from '../localStack/embeddedPeers.ts';
import { createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';
import { segmentModelPathFor, segmentNamer, trainSegmentModel } from '../../models/segmentation/segmentNaming.ts';
import { bootstrapStates } from '../../consumers/stateBootstrap.ts';
import { WatermarkTracker } from '../../consumers/watermark.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { ensureStream, KinesisProducer } from '../../producers/kinesisProducer.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

const LocalOptionsSchema = z.object({
  data: z.string().optional(),
  format: z.enum(['cdnow', 'online-retail', 'jsonl']).optional(),
  customers: z.coerce.number().int().min(1).max(1_000_000),
  days: z.coerce.number().int().min(14).max(3_650),
  seed: z.coerce.number().int(),
  trainFraction: z.coerce.number().gt(0).lt(1),
  threshold: z.coerce.number().gt(0).lt(1),
  shards: z.coerce.number().int().min(1).max(16),
  batchSize: z.coerce.number().int().min(1).max(10_000),
  batchingWindowMs: z.coerce.number().int().min(0).max(300_000),
  out: z.string().min(1),
  quiet: z.boolean().default(false),
  poison: z.coerce.number().int().min(0).max(1_000).default(5),
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  serve: z.boolean().default(true),
  stream: z.enum(['kinesis', 'kafka']).default('kinesis'),
}).refine((o) => !o.data || o.format, { message: '--format is required with --data', path: ['format'] });

type LocalOptions = z.infer<typeof LocalOptionsSchema>;
const STREAM = 'demand-insights-orders';
const TABLE = 'demand-insights-customers';
const REGION = 'us-east-1';

/**
 * `demand-insights local` (and `npm start`): the whole streaming path on one machine, running
 * the same Lambda handler code as AWS against embedded Kinesis and DynamoDB stand-ins.
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = LocalOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  await mkdir(options.out, { recursive: true });

  const { events, source } = await loadEvents(options, say);
  const { history, replay, calibrationEnd } = splitByTime(events, options.trainFraction);
  say(`• ${events.length.toLocaleString()} events from ${source}; training on ${history.length.toLocaleString()} up to ${calibrationEnd}, replaying ${replay.length.toLocaleString()}`);

  const trainStart = performance.now();
  // The hybrid model learns its labels from the last horizon of the training history.
  const artifact = trainHybridFromEvents(history, { calibrationEnd, horizonDays: 90 });
  const model = loadModel(artifact);
  await writeFile(join(options.out, 'model.json'), `${JSON.stringify(artifact, null, 2)}\n`);
  say(`• model ${model.version} trained in ${((performance.now() - trainStart) / 1000).toFixed(2)} s → ${join(options.out, 'model.json')}`);

  const segments = trainSegmentModel(history, dayIndex(Date.parse(`${calibrationEnd}T00:00:00Z`)));
  await writeFile(segmentModelPathFor(join(options.out, 'model.json')), `${JSON.stringify(segments)}\n`);

  const kinesalite = await startKinesalite();
  const dynalite = await startDynalite();
  const kinesis = kinesisClient({ endpoint: kinesalite.endpoint, region: REGION });
  const dynamo = dynamoClient({ endpoint: dynalite.endpoint, region: REGION });
  try {
    await ensureStream(kinesis, STREAM, options.shards);
    await createStateTable(dynamo, TABLE);
    say(`• embedded Kinesis at ${kinesalite.endpoint} (${options.shards} shards), DynamoDB at ${dynalite.endpoint}`);

    const alertsPath = join(options.out, 'alerts.jsonl');
    const deadLettersPath = join(options.out, 'dead-letters.jsonl');
    await rm(alertsPath, { force: true });
    await rm(deadLettersPath, { force: true });
    const alertFeed = new AlertFeed();
    const progress = new ProgressView(replay.length + options.poison, options.quiet);
    const metrics = new CounterMetrics();
    const deps: ConsumerDeps = {
      store: new DynamoStateStore({ client: dynamo, tableName: TABLE }),
      // The dashboard's live feed hears every alert the JSONL "bus" took.
      alerts: new FanOutAlertSink(new JsonlAlertSink({ path: alertsPath, onAlert: (alert) => progress.log(describeAlert(alert)) }), [(alerts) => alertFeed.add(alerts)]),
      deadLetters: new JsonlDeadLetterSink({ path: deadLettersPath }),
      model,
      policy: { ...DEFAULT_RISK_POLICY, level: options.threshold },
      segmentOf: segmentNamer(segments),
      metrics,
      clock: 'event',
      watermark: new WatermarkTracker(),
    };
    const bootstrapped = await bootstrapStates(history, Date.parse(`${calibrationEnd}T23:59:59.999Z`), deps);
    say(`• ${bootstrapped.customers.toLocaleString()} customer states bootstrapped from the training history (${bootstrapped.atRisk.toLocaleString()} already at risk)`);

    // The lake as in AWS: the training history as one backfill of raw JSON lines, then the
    // stream's records as Firehose copies them (firehoseTap), curated once the replay is drained.
    await buildLakeThroughRaw(history, join(options.out, 'lake'));
    const streaming =
      options.stream === 'kafka'
        ? await (await import('../localStack/kafkaStreaming.ts')).startKafkaStreaming(replay, options, deps, progress, say)
        : startStreaming(replay, options, deps, kinesis, progress);
    const summary = await streaming.drained;
    progress.stop();
    const curated = await curateLocalLake(join(options.out, 'lake'), { from: isoDay(dayIndex(Date.parse(events[0].occurredAt))), to: isoDay(dayIndex(Date.parse(events[events.length - 1].occurredAt))) });
    say(`• lake curated from raw JSON lines: ${curated.partitionsRebuilt} days, ${curated.rows.toLocaleString()} lines, ${curated.duplicatesDropped} duplicates dropped, in ${(curated.ms / 1000).toFixed(2)} s → ${join(options.out, 'lake')}`);
    const result = {
      events: replay.length,
      customers: new Set(events.map((e) => e.customerId)).size,
      seconds: Number(summary.seconds.toFixed(2)),
      eventsPerSec: Math.round(replay.length / summary.seconds),
      alertsAtRisk: summary.atRisk,
      alertsRecovered: summary.recovered,
      alertsNotReturning: summary.notReturning,
      alertsRepublished: summary.republished,
      deadLettered: metrics.get('PoisonRecords'),
      duplicatesIgnored: metrics.get('DuplicatePositions') + metrics.get('DuplicateOrders'),
      versionConflicts: metrics.get('VersionConflicts'),
      sweeps: summary.sweeps,
      sweptCustomers: metrics.get('CustomersSwept'),
      handlerInvocations: summary.invocations,
    };
    printSummary(result, alertsPath, deadLettersPath, say);
    await writeFile(join(options.out, 'summary.json'), `${JSON.stringify(result, null, 2)}\n`);
    if (options.serve) await serveUntilStopped(events, model, deps, options, kinesalite.endpoint, say, alertFeed);
    await streaming.stop();
  } finally {
    kinesis.destroy();
    dynamo.destroy();
    await kinesalite.close();
    await dynalite.close();
  }
}

async function loadEvents(options: LocalOptions, say: (line: string) => void): Promise<{ events: OrderEvent[]; source: string }> {
  if (!options.data) {
    const start = '2024-01-01';
    const events = generateEvents({ customers: options.customers, days: options.days, seed: options.seed, start });
    return { events, source: `the synthetic generator (${options.customers} customers, ${options.days} days from ${start}, seed ${options.seed})` };
  }
  const dataset = await readDataset(options.data, options.format!);
  const unreadable = dataset.report.unreadableCount;
  if (unreadable > 0) say(`• ${unreadable} unreadable rows in ${options.data} (first: line ${dataset.report.issues[0]?.line}: ${dataset.report.issues[0]?.reason})`);
  return { events: dataset.events, source: options.data };
}

/** Train on the first part of the history by time, replay the rest. */
function splitByTime(events: readonly OrderEvent[], fraction: number) {
  if (events.length < 2) throw new Error('need at least two events to train and replay');
  const first = Date.parse(events[0].occurredAt);
  const last = Date.parse(events[events.length - 1].occurredAt);
  const cutoffDay = dayIndex(first + (last - first) * fraction);
  const history = events.filter((e) => dayIndex(Date.parse(e.occurredAt)) <= cutoffDay);
  const replay = events.filter((e) => dayIndex(Date.parse(e.occurredAt)) > cutoffDay);
  return { history, replay, calibrationEnd: isoDay(cutoffDay) };
}

interface StreamSummary {
  atRisk: number;
  recovered: number;
  notReturning: number;
  /** Deliveries of an alert already delivered (same event id): at-least-once delivery, deduplicated by subscribers. */
  republished: number;
  sweeps: number;
  invocations: number;
  seconds: number;
}

/**
 * Replays through Kinesis while the poller feeds the handler and the sweep runs as event time
 * advances. `drained` resolves once every replayed record is processed (after a final sweep); with
 * `--serve` the poller keeps consuming new records until `stop()`.
 */
function startStreaming(replay: readonly OrderEvent[], options: LocalOptions, deps: ConsumerDeps, kinesis: ReturnType<typeof kinesisClient>, progress: ProgressView) {
  const handler = firehoseTap(createKinesisHandler(() => deps), join(options.out, 'lake'));
  const counts = { atRisk: 0, recovered: 0, notReturning: 0, republished: 0, sweeps: 0, invocations: 0 };
  // Delivery is at least once (a batch and a sweep may both deliver one outbox): the summary counts
  // distinct alerts by their deterministic ids, and the repeats apart.
  const delivered = new Set<string>();
  const sink = deps.alerts;
  deps.alerts = {
    publish: async (alerts) => {
      const result = await sink.publish(alerts);
      const failed = new Set([...result.retry, ...result.rejected.map((rejected) => rejected.alert)]);
      for (const alert of alerts as PendingAlert[]) {
        if (failed.has(alert)) continue;
        if (delivered.has(alert.detail.eventId)) counts.republished++;
        else {
          delivered.add(alert.detail.eventId);
          counts[alert.detailType === 'Customer At Risk' ? 'atRisk' : alert.detailType === 'Customer Recovered' ? 'recovered' : 'notReturning']++;
        }
      }
      return result;
    },
  };
  let nextSweepDay = Number.NEGATIVE_INFINITY;
  let sweeping: Promise<void> = Promise.resolve();
  const sweepAsOf = (asOfMs: number) => {
    sweeping = sweeping.then(async () => {
      await sweepAll(deps, asOfMs, 500);
      counts.sweeps++;
    });
    return sweeping;
  };
  // Swept as of the event time every shard has reached, so a shard running ahead never has the
  // sweep announce a customer whose purchase still waits on a slower shard.
  const tracker = deps.watermark!;
  const sweepIfDue = async () => {
    const watermark = tracker.low(options.shards);
    if (!(watermark > Number.NEGATIVE_INFINITY) || dayIndex(watermark) < nextSweepDay) return;
    nextSweepDay = dayIndex(watermark) + 1;
    await sweepAsOf(watermark);
  };

  const total = replay.length + options.poison;
  let processed = 0;
  let producing = true;
  let stopping = false;
  let markDrained = () => {};
  const replayProcessed = new Promise<void>((resolve) => (markDrained = resolve));
  const count = (records: number) => {
    processed += records;
    progress.advance(records);
    if (processed >= total) markDrained();
  };

  const started = performance.now();
  const producer = new KinesisProducer({ client: kinesis, streamName: STREAM });
  const produced = (async () => {
    try {
      await injectPoison(kinesis, options.poison);
      const result = await producer.send(replay);
      if (result.failed.length > 0) {
        progress.log(`! ${result.failed.length} events could not be sent: ${result.failed[0].errorMessage}`);
        count(result.failed.length);
      }
    } finally {
      producing = false;
    }
  })();
  const polling = pollStream({
    client: kinesis,
    streamName: STREAM,
    region: REGION,
    handler,
    batchSize: options.batchSize,
    batchingWindowMs: options.batchingWindowMs,
    maxRetries: 10,
    producerDone: () => !producing && (!options.serve || stopping),
    onBatch: async ({ succeeded }) => {
      counts.invocations++;
      count(succeeded);
      await sweepIfDue();
    },
    onExhausted: async (records, reason) => {
      await deps.deadLetters.send(records.map((r) => ({ reason, source: r.eventID.split(':')[0], position: r.kinesis.sequenceNumber, partitionKey: r.kinesis.partitionKey, data: r.kinesis.data, deadLetteredAt: new Date().toISOString() })));
      count(records.length);
    },
  });
  const drained = (async (): Promise<StreamSummary> => {
    await produced;
    await Promise.race([replayProcessed, polling]);
    const seconds = (performance.now() - started) / 1000;
    await sweeping;
    // Every shard is drained: the latest event time seen is safe, and the store gets it for the API.
    await tracker.publish(deps.store, Date.now(), true);
    await sweepAsOf(Math.max(tracker.high(), await deps.store.getWatermark()));
    return { ...counts, seconds };
  })();
  return {
    drained,
    stop: async () => {
      stopping = true;
      await polling;
    },
  };
}

/** Serves the API over the same state store (live scores) and a lake of the whole history, until Ctrl-C. */
async function serveUntilStopped(events: readonly OrderEvent[], model: CustomerModel, deps: ConsumerDeps, options: LocalOptions, kinesisEndpoint: string, say: (line: string) => void, alertFeed: AlertFeed) {
  const { startLocalApi } = await import('./serve.ts');
  const { ROUTES, OPENAPI_PATH } = await import('../../api/routes/index.ts');
  const api = await startLocalApi({ lakeDir: join(options.out, 'lake'), events, model, store: deps.store, port: options.port, say, alertFeed });
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

/** A few malformed records, so the run shows the dead-letter path working (--poison 0 to skip). */
async function injectPoison(kinesis: ReturnType<typeof kinesisClient>, count: number): Promise<void> {
  if (count === 0) return;
  const samples = [
    'this is not JSON',
    JSON.stringify({ type: 'order', orderId: 'x1', occurredAt: '2024-01-01T00:00:00Z', lines: [] }),
    JSON.stringify({ type: 'order', orderId: 'x2', customerId: 'c', occurredAt: 'yesterday', lines: [{ productId: 'p', quantity: 1, unitPrice: 1 }] }),
    JSON.stringify({ type: 'order', orderId: 'x3', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: -2, unitPrice: 1 }] }),
    JSON.stringify({ type: 'refund', orderId: 'x4', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: 1, unitPrice: 1 }] }),
  ];
  const records = Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(samples[i % samples.length]), PartitionKey: `poison-${i}` }));
  await kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: records }));
}

function describeAlert(alert: PendingAlert): string {
  const d = alert.detail;
  const mark = alert.detailType === 'Customer At Risk' ? '⚠ AT RISK  ' : alert.detailType === 'Customer Recovered' ? '✓ RECOVERED' : '… NOT BACK ';
  const previous = d.previousChurnProbability === null ? 'new' : `was ${d.previousChurnProbability.toFixed(2)}`;
  return `${mark} customer ${d.customerId.padEnd(8)} churn ${d.churnProbability.toFixed(2)} (${previous})  CLV ${d.clv.toFixed(2)}  expected loss ${d.expectedLoss.toFixed(2)}  ${d.segment ?? ''}  as of ${d.asOf.slice(0, 10)}`;
}

function printSummary(result: Record<string, number>, alertsPath: string, deadLettersPath: string, say: (line: string) => void): void {
  say('');
  say('Summary');
  for (const [key, value] of Object.entries(result)) say(`  ${key.padEnd(20)} ${value.toLocaleString()}`);
  say(`  alerts written to   ${alertsPath}`);
  say(`  dead letters in     ${deadLettersPath}`);
}

/** A progress bar on a terminal; plain lines elsewhere (CI, pipes). Alerts print above the bar. */
class ProgressView {
  private readonly multibar?: cliProgress.MultiBar;
  private readonly bar?: cliProgress.SingleBar;
  private done = 0;

  constructor(private readonly total: number, private readonly quiet: boolean) {
    if (quiet || !process.stderr.isTTY) return;
    this.multibar = new cliProgress.MultiBar(
      { format: '  replay |{bar}| {value}/{total} records | {eta_formatted} left', hideCursor: true, clearOnComplete: false, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    this.bar = this.multibar.create(total, 0);
  }

  advance(records: number): void {
    this.done += records;
    this.bar?.update(Math.min(this.done, this.total));
  }

  log(line: string): void {
    if (this.quiet) return;
    if (this.multibar) this.multibar.log(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  }

  stop(): void {
    this.multibar?.stop();
  }
}

