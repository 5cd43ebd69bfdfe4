import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dynamoClient, kinesisClient } from '../../aws/clients.ts';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import { trainHybridFromEvents } from '../../models/clv/hybridTraining.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';
import { segmentModelPathFor, segmentNamer, trainSegmentModel } from '../../models/segmentation/segmentNaming.ts';
import { dayIndex, isoDay } from '../../models/time/calendar.ts';
import { JsonlAlertSink } from '../../consumers/alerts/jsonlAlertSink.ts';
import { FanOutAlertSink } from '../../consumers/alerts/fanOutAlertSink.ts';
import { AlertFeed } from '../../api/dashboard/alertFeed.ts';
import { bootstrapStates } from '../../consumers/stateBootstrap.ts';
import { buildLakeThroughRaw, curateLocalLake } from '../../lake/localCuration.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { JsonlDeadLetterSink } from '../../consumers/deadLetters/jsonlDeadLetterSink.ts';
import { createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import { WatermarkTracker } from '../../consumers/watermark.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { ensureStream } from '../../producers/kinesisProducer.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { type LocalPeer, startDynalite, startKinesaliteThread } from './embeddedPeers.ts';
import { ProgressView } from './progressView.ts';
import { startStreamReplay } from './streamReplay.ts';

export const STREAM = 'demand-insights-orders';
const TABLE = 'demand-insights-customers';
const REGION = 'us-east-1';

/** The main job's settings, validated by the command that runs it (bin/commands/local.ts). */
export interface LocalJobOptions {
  data?: string;
  format?: 'cdnow' | 'online-retail' | 'jsonl';
  customers: number;
  days: number;
  seed: number;
  trainFraction: number;
  threshold: number;
  shards: number;
  batchSize: number;
  batchingWindowMs: number;
  out: string;
  quiet: boolean;
  poison: number;
  /** `memory`: the in-process StateStore (the default); `dynamodb`: the DynamoDB adapter on embedded dynalite. */
  store: 'memory' | 'dynamodb';
  /** Keep the poller consuming new records after the replay, until the job's `afterReplay` returns. */
  keepPolling: boolean;
  /** The stream: embedded kinesalite (the default), or a real Apache Kafka broker (bin/localStack/kafkaBroker.ts). */
  stream?: 'kinesis' | 'kafka';
  /** Events per second the Kinesis replay is paced at (to watch the dashboard follow it); unset: full speed. */
  replayRate?: number;
}

export interface LocalJobResult {
  events: number;
  customers: number;
  seconds: number;
  eventsPerSec: number;
  alertsAtRisk: number;
  alertsRecovered: number;
  alertsNotReturning: number;
  alertsRepublished: number;
  deadLettered: number;
  duplicatesIgnored: number;
  versionConflicts: number;
  sweeps: number;
  sweptCustomers: number;
  handlerInvocations: number;
}

/** What the job hands to `afterReplay`, while the stand-ins and the poller still run. */
export interface ReplayedStack {
  events: readonly OrderEvent[];
  history: readonly OrderEvent[];
  calibrationEnd: string;
  /** The trained model's artifact, to load a model with no memo of this replay. */
  artifact: unknown;
  replay: readonly OrderEvent[];
  model: CustomerModel;
  deps: ConsumerDeps;
  kinesisEndpoint: string;
  /** Every alert the JSONL "bus" took, for the dashboard's live feed. */
  alertFeed: AlertFeed;
  lakeDir: string;
  result: LocalJobResult;
  interrupted: boolean;
}

/** What the job hands to `beforeReplay`: the live parts, before any replayed event is sent. */
export type StartingStack = Pick<ReplayedStack, 'events' | 'model' | 'deps' | 'kinesisEndpoint' | 'alertFeed' | 'lakeDir'>;

export interface LocalJobIO {
  say: (line: string) => void;
  /** Runs once the states are bootstrapped, just before the replay starts: serve while it runs. */
  beforeReplay?: (stack: StartingStack) => Promise<void>;
  /** Called as the replay starts (benchmarks measure from here). */
  onReplayStart?: () => void;
  /** Runs once the replay is drained (or interrupted), before the stand-ins stop: serve, inspect. */
  afterReplay?: (stack: ReplayedStack) => Promise<void>;
}

/**
 * The main job: events (a dataset or the generator), a model trained on the first part of the
 * history, states bootstrapped from it, the rest replayed through embedded Kinesis to the real
 * handler, the sweep as event time advances, a summary. Ctrl-C during the replay stops it and
 * reports what was done so far.
 */
export async function runLocalJob(options: LocalJobOptions, io: LocalJobIO): Promise<LocalJobResult> {
  const { say } = io;
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

  const kinesalite = await startKinesaliteThread();
  const kinesis = kinesisClient({ endpoint: kinesalite.endpoint, region: REGION });
  const state = await openStateStore(options.store);
  let alertSink: JsonlAlertSink | undefined;
  try {
    await ensureStream(kinesis, STREAM, options.shards);
    say(`• embedded Kinesis at ${kinesalite.endpoint} (${options.shards} shards, records dropped once the poller is done with them), state store: ${state.description}`);

    const alertsPath = join(options.out, 'alerts.jsonl');
    const deadLettersPath = join(options.out, 'dead-letters.jsonl');
    await rm(alertsPath, { force: true });
    await rm(deadLettersPath, { force: true });
    const progress = new ProgressView(replay.length + options.poison, options.quiet);
    const metrics = new CounterMetrics();
    alertSink = new JsonlAlertSink({ path: alertsPath, onAlert: (alert) => progress.log(describeAlert(alert)) });
    const alertFeed = new AlertFeed();
    const deps: ConsumerDeps = {
      store: state.store,
      // The dashboard's live feed hears every alert the JSONL "bus" took.
      alerts: new FanOutAlertSink(alertSink, [(alerts) => alertFeed.add(alerts)]),
      deadLetters: new JsonlDeadLetterSink({ path: deadLettersPath }),
      model,
      policy: { ...DEFAULT_RISK_POLICY, level: options.threshold },
      segmentOf: segmentNamer(segments),
      metrics,
      clock: 'event',
      watermark: new WatermarkTracker(),
    };
    // The lake as in AWS (before the bootstrap, so the replay, and Ctrl-C's handling, follow it at once): the training history as one backfill of raw JSON lines, then the
    // stream's records as Firehose copies them (firehoseTap), curated once the replay is drained.
    const lakeDir = join(options.out, 'lake');
    await buildLakeThroughRaw(history, lakeDir);
    const bootstrapped = await bootstrapStates(history, endOfDay(calibrationEnd), deps);
    say(`• ${bootstrapped.customers.toLocaleString()} customer states bootstrapped from the training history (${bootstrapped.atRisk.toLocaleString()} already at risk)`);

    await io.beforeReplay?.({ events, model, deps, kinesisEndpoint: kinesalite.endpoint, alertFeed, lakeDir });
    io.onReplayStart?.();
    const streaming =
      options.stream === 'kafka'
        ? await (await import('./kafkaStreaming.ts')).startKafkaStreaming(replay, { ...options, serve: options.keepPolling }, deps, progress, say)
        : startStreamReplay(replay, { ...options, streamName: STREAM, region: REGION, lakeDir, trimThrough: kinesalite.trimThrough }, deps, kinesis, progress);
    const onInterrupt = () => {
      progress.log('• interrupted: stopping after the current batches (Ctrl-C again to quit at once)');
      streaming.interrupt();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onInterrupt);
    const summary = await streaming.drained.finally(() => process.removeListener('SIGINT', onInterrupt));
    progress.stop();
    const curated = await curateLocalLake(lakeDir, { from: isoDay(dayIndex(Date.parse(events[0].occurredAt))), to: isoDay(dayIndex(Date.parse(events[events.length - 1].occurredAt))) });
    say(`• lake curated from raw JSON lines: ${curated.partitionsRebuilt} days, ${curated.rows.toLocaleString()} lines, ${curated.duplicatesDropped} duplicates dropped, in ${(curated.ms / 1000).toFixed(2)} s → ${lakeDir}`);
    const replayed = Math.max(0, summary.processed - options.poison);
    const result: LocalJobResult = {
      events: summary.interrupted ? replayed : replay.length,
      customers: new Set(events.map((e) => e.customerId)).size,
      seconds: Number(summary.seconds.toFixed(2)),
      eventsPerSec: Math.round((summary.interrupted ? replayed : replay.length) / summary.seconds),
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
    if (summary.interrupted) say(`\n• interrupted after ${replayed.toLocaleString()} of ${replay.length.toLocaleString()} events: the summary so far`);
    printSummary(result, alertsPath, deadLettersPath, say);
    await writeFile(join(options.out, 'summary.json'), `${JSON.stringify({ ...result, interrupted: summary.interrupted }, null, 2)}\n`);
    if (io.afterReplay) await io.afterReplay({ events, history, calibrationEnd, artifact, replay, model, deps, kinesisEndpoint: kinesalite.endpoint, alertFeed, lakeDir, result, interrupted: summary.interrupted });
    await streaming.stop();
    return result;
  } finally {
    await alertSink?.close();
    kinesis.destroy();
    await state.close();
    await kinesalite.close();
  }
}

/** The in-process store, or the DynamoDB adapter on embedded dynalite (full fidelity: item encoding, indexes, conditional writes). */
async function openStateStore(kind: LocalJobOptions['store']): Promise<{ store: StateStore; description: string; close(): Promise<void> }> {
  if (kind === 'memory') return { store: new MemoryStateStore(), description: 'in process (--store dynamodb for embedded DynamoDB)', close: async () => {} };
  const dynalite: LocalPeer = await startDynalite();
  const dynamo = dynamoClient({ endpoint: dynalite.endpoint, region: REGION });
  try {
    await createStateTable(dynamo, TABLE);
  } catch (error) {
    dynamo.destroy();
    await dynalite.close();
    throw error;
  }
  return {
    store: new DynamoStateStore({ client: dynamo, tableName: TABLE }),
    description: `embedded DynamoDB at ${dynalite.endpoint}`,
    close: async () => {
      dynamo.destroy();
      await dynalite.close();
    },
  };
}

async function loadEvents(options: LocalJobOptions, say: (line: string) => void): Promise<{ events: OrderEvent[]; source: string }> {
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
export function splitByTime(events: readonly OrderEvent[], fraction: number) {
  if (events.length < 2) throw new Error('need at least two events to train and replay');
  const first = Date.parse(events[0].occurredAt);
  const last = Date.parse(events[events.length - 1].occurredAt);
  const cutoffDay = dayIndex(first + (last - first) * fraction);
  const history = events.filter((e) => dayIndex(Date.parse(e.occurredAt)) <= cutoffDay);
  const replay = events.filter((e) => dayIndex(Date.parse(e.occurredAt)) > cutoffDay);
  return { history, replay, calibrationEnd: isoDay(cutoffDay) };
}

/** The last millisecond of a calendar day: the training history's end, as states are bootstrapped. */
export function endOfDay(day: string): number {
  return Date.parse(`${day}T23:59:59.999Z`);
}

function describeAlert(alert: PendingAlert): string {
  const d = alert.detail;
  const mark = alert.detailType === 'Customer At Risk' ? '⚠ AT RISK  ' : alert.detailType === 'Customer Recovered' ? '✓ RECOVERED' : '… NOT BACK ';
  const previous = d.previousChurnProbability === null ? 'new' : `was ${d.previousChurnProbability.toFixed(2)}`;
  return `${mark} customer ${d.customerId.padEnd(8)} churn ${d.churnProbability.toFixed(2)} (${previous})  CLV ${d.clv.toFixed(2)}  expected loss ${d.expectedLoss.toFixed(2)}  ${d.segment ?? ''}  as of ${d.asOf.slice(0, 10)}`;
}

function printSummary(result: LocalJobResult, alertsPath: string, deadLettersPath: string, say: (line: string) => void): void {
  say('');
  say('Summary');
  for (const [key, value] of Object.entries(result)) say(`  ${key.padEnd(20)} ${value.toLocaleString()}`);
  say(`  alerts written to   ${alertsPath}`);
  say(`  dead letters in     ${deadLettersPath}`);
}
