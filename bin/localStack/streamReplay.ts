import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { kinesisClient } from '../../aws/clients.ts';
import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { dayIndex } from '../../models/time/calendar.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { KinesisProducer } from '../../producers/kinesisProducer.ts';
import { pollStream } from './eventSourcePoller.ts';
import { firehoseTap } from './firehoseTap.ts';
import type { ProgressView } from './progressView.ts';

type KinesisClient = ReturnType<typeof kinesisClient>;

export interface StreamReplayOptions {
  streamName: string;
  region: string;
  shards: number;
  batchSize: number;
  batchingWindowMs: number;
  poison: number;
  /** Keep polling for new records after the replay, until `stop()` (the API is being served). */
  keepPolling: boolean;
  /** The local lake the stream's records are copied to as raw JSON lines, as Firehose would. */
  lakeDir?: string;
  /** Events per second the producer keeps to (to watch the dashboard follow); unset: as fast as the poller takes them. */
  replayRate?: number;
  /** Drops a shard's records once the poller is done with them (the embedded stream's `trimThrough`), so the stream holds only what waits. */
  trimThrough?: (streamName: string, shardId: string, sequenceNumber: string) => void;
}

export interface StreamSummary {
  atRisk: number;
  recovered: number;
  notReturning: number;
  /** Deliveries of an alert already delivered (same event id): at-least-once delivery, deduplicated by subscribers. */
  republished: number;
  sweeps: number;
  invocations: number;
  seconds: number;
  /** Records the handler is done with (or that were set aside), poison included. */
  processed: number;
  /** True when `interrupt()` stopped the replay before every record was processed. */
  interrupted: boolean;
}

/** Events sent per producer step: the producer stays this close to the poller, and stops between steps on Ctrl-C. */
const PRODUCER_STEP = 5_000;
/** How far the producer may run ahead of the handler, in records: bounds what waits in the stream. */
const PRODUCER_LEAD = 50_000;

/**
 * Replays through Kinesis while the poller feeds the handler and the sweep runs as event time
 * advances. `drained` resolves once every replayed record is processed (after a final sweep), or
 * at once after `interrupt()`; with `keepPolling` the poller keeps consuming new records until
 * `stop()`.
 */
export function startStreamReplay(replay: readonly OrderEvent[], options: StreamReplayOptions, deps: ConsumerDeps, kinesis: KinesisClient, progress: ProgressView) {
  const tap = options.lakeDir ? firehoseTap(createKinesisHandler(() => deps), options.lakeDir) : undefined;
  const handler = tap?.handler ?? createKinesisHandler(() => deps);
  const trim = throttledTrim(options);
  const counts = countDistinctAlerts(deps);
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
  let interrupted = false;
  let markDrained = () => {};
  const replayProcessed = new Promise<void>((resolve) => (markDrained = resolve));
  let wakeProducer = () => {};
  const count = (records: number) => {
    processed += records;
    progress.advance(records);
    wakeProducer();
    if (processed >= total) markDrained();
  };

  const started = performance.now();
  const producer = new KinesisProducer({ client: kinesis, streamName: options.streamName });
  const produced = (async () => {
    try {
      await injectPoison(kinesis, options.streamName, options.poison);
      const step = paceStep(options.replayRate);
      for (let from = 0; from < replay.length && !interrupted; from += step) {
        while (from - processed > PRODUCER_LEAD && !interrupted) await new Promise<void>((resolve) => (wakeProducer = resolve));
        if (options.replayRate) await untilPaced(started, from, options.replayRate);
        const result = await producer.send(replay.slice(from, from + step));
        if (result.failed.length > 0) {
          progress.log(`! ${result.failed.length} events could not be sent: ${result.failed[0].errorMessage}`);
          count(result.failed.length);
        }
      }
    } finally {
      producing = false;
    }
  })();
  const polling = pollStream({
    client: kinesis,
    streamName: options.streamName,
    region: options.region,
    handler,
    batchSize: options.batchSize,
    batchingWindowMs: options.batchingWindowMs,
    maxRetries: 10,
    producerDone: () => !producing && (!options.keepPolling || stopping),
    stopped: () => interrupted || stopping,
    onBatch: async ({ succeeded }) => {
      counts.invocations++;
      count(succeeded);
      await sweepIfDue();
    },
    onExhausted: async (records, reason) => {
      await deps.deadLetters.send(records.map((r) => ({ reason, source: r.eventID.split(':')[0], position: r.kinesis.sequenceNumber, partitionKey: r.kinesis.partitionKey, data: r.kinesis.data, deadLetteredAt: new Date().toISOString() })));
      count(records.length);
    },
    onCheckpoint: trim,
  });
  const drained = (async (): Promise<StreamSummary> => {
    await produced;
    await Promise.race([replayProcessed, polling]);
    if (interrupted) await polling;
    const seconds = (performance.now() - started) / 1000;
    await tap?.flush();
    await sweeping;
    // Every shard is drained: the latest event time seen is safe, and the store gets it for the API.
    // An interrupted replay is not drained: no final sweep, which could announce customers whose
    // later orders were never read.
    if (!interrupted) {
      await tracker.publish(deps.store, Date.now(), true);
      await sweepAsOf(Math.max(tracker.high(), await deps.store.getWatermark()));
    }
    return { ...counts, seconds, processed, interrupted };
  })();
  return {
    drained,
    /** Ctrl-C during the replay: the producer stops between steps, each poller after its current invocation. */
    interrupt: () => {
      interrupted = true;
      wakeProducer();
      markDrained();
    },
    stop: async () => {
      stopping = true;
      await polling;
      await tap?.close();
    },
  };
}

/**
 * Delivery is at least once (a batch and a sweep may both deliver one outbox): counts distinct
 * alerts by their deterministic ids, and the repeats apart, as they leave through `deps.alerts`.
 * The Kafka streaming loop counts the same way.
 */
export function countDistinctAlerts(deps: ConsumerDeps) {
  const counts = { atRisk: 0, recovered: 0, notReturning: 0, republished: 0, sweeps: 0, invocations: 0 };
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
  return counts;
}

/** Checkpoints per shard between two trims: a message to kinesalite's thread per batch cost 2.5% of the main thread. */
const CHECKPOINTS_PER_TRIM = 20;

function throttledTrim(options: StreamReplayOptions): ((shardId: string, sequenceNumber: string) => void) | undefined {
  const { trimThrough, streamName } = options;
  if (!trimThrough) return undefined;
  const checkpoints = new Map<string, number>();
  return (shardId, sequenceNumber) => {
    const count = (checkpoints.get(shardId) ?? 0) + 1;
    checkpoints.set(shardId, count % CHECKPOINTS_PER_TRIM);
    if (count === CHECKPOINTS_PER_TRIM) trimThrough(streamName, shardId, sequenceNumber);
  };
}

/** Events per producer step: a quarter second's worth when paced, so the pace is even. */
function paceStep(rate: number | undefined): number {
  return rate ? Math.max(1, Math.min(PRODUCER_STEP, Math.round(rate / 4))) : PRODUCER_STEP;
}

/** Waits until `sent` events are due at `rate` per second since `startedMs` (performance.now()). */
async function untilPaced(startedMs: number, sent: number, rate: number): Promise<void> {
  const waitMs = startedMs + (sent / rate) * 1000 - performance.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/** A few malformed records, so the run shows the dead-letter path working (--poison 0 to skip). */
async function injectPoison(kinesis: KinesisClient, streamName: string, count: number): Promise<void> {
  if (count === 0) return;
  const samples = [
    'this is not JSON',
    JSON.stringify({ type: 'order', orderId: 'x1', occurredAt: '2024-01-01T00:00:00Z', lines: [] }),
    JSON.stringify({ type: 'order', orderId: 'x2', customerId: 'c', occurredAt: 'yesterday', lines: [{ productId: 'p', quantity: 1, unitPrice: 1 }] }),
    JSON.stringify({ type: 'order', orderId: 'x3', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: -2, unitPrice: 1 }] }),
    JSON.stringify({ type: 'refund', orderId: 'x4', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: 1, unitPrice: 1 }] }),
  ];
  const records = Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(samples[i % samples.length]), PartitionKey: `poison-${i}` }));
  await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
}
