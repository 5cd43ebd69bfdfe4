import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, type _Record } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { comparePositions } from '../../models/customer/customerState.ts';
import type { KinesisHandler } from '../../consumers/kinesisHandler.ts';

/**
 * Records one GetRecords call may return when behind: the mapping reads up to 10,000 and hands
 * them on in batches of `batchSize`. 1,000 was kinesalite's fastest page (40,000 records/s against
 * 31,000 at 10,000: it collects a page through a lazy stream whose cost grows faster than the page).
 */
const READ_AHEAD = 1_000;

/**
 * Plays Lambda's Kinesis event source mapping on one machine: one poller per shard, all polled
 * concurrently, reading ahead up to READ_AHEAD records and invoking with batches of
 * at most `batchSize` records or whatever arrived within the batching window, partial batch
 * responses honoured (redelivery from the lowest failed sequence number), and a failed batch
 * handed to `onExhausted` after `maxRetries` (MaximumRetryAttempts, then the on-failure destination).
 */
export interface PollerOptions {
  client: KinesisClient;
  streamName: string;
  region: string;
  handler: KinesisHandler;
  batchSize: number;
  batchingWindowMs: number;
  maxRetries: number;
  /** True once nothing more will be written: the poller stops when its shard is drained. */
  producerDone: () => boolean;
  /** True to stop now (Ctrl-C): each shard's poller returns after its current invocation, records it read but did not deliver left unread. */
  stopped?: () => boolean;
  /** After each invocation: how many records it carried, and how many of them are done for good. */
  onBatch?: (info: { shardId: string; records: number; succeeded: number }) => Promise<void> | void;
  onExhausted?: (records: KinesisStreamRecord[], reason: string) => Promise<void>;
  /** After a batch is done for good (processed, or handed to `onExhausted`): the shard's position it reached, like a checkpoint. */
  onCheckpoint?: (shardId: string, sequenceNumber: string) => void;
}

export interface PollerStats {
  invocations: number;
  recordsDelivered: number;
  redeliveries: number;
  exhaustedBatches: number;
}

export async function pollStream(options: PollerOptions): Promise<PollerStats> {
  const description = await options.client.send(new DescribeStreamCommand({ StreamName: options.streamName }));
  const stream = description.StreamDescription!;
  const stats: PollerStats = { invocations: 0, recordsDelivered: 0, redeliveries: 0, exhaustedBatches: 0 };
  await Promise.all(stream.Shards!.map((shard) => pollShard(shard.ShardId!, stream.StreamARN!, options, stats)));
  return stats;
}

async function pollShard(shardId: string, streamArn: string, options: PollerOptions, stats: PollerStats): Promise<void> {
  const { client } = options;
  let iterator = (
    await client.send(new GetShardIteratorCommand({ StreamName: options.streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))
  ).ShardIterator;
  const buffer: KinesisStreamRecord[] = [];
  let windowStart = 0;
  const readAhead = Math.max(options.batchSize, READ_AHEAD);
  while (iterator && !options.stopped?.()) {
    // Records already read make whole batches first: a replay far behind the tip never waits on a window.
    if (buffer.length >= options.batchSize) {
      await deliver(buffer.splice(0, options.batchSize), options, stats, shardId);
      continue;
    }
    const wanted = Math.max(1, readAhead - buffer.length);
    const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: wanted }));
    iterator = page.NextShardIterator;
    const fetched = (page.Records ?? []).map((record) => toLambdaRecord(record, shardId, streamArn, options.region));
    if (fetched.length > 0 && buffer.length === 0) windowStart = Date.now();
    buffer.push(...fetched);
    const drained = fetched.length === 0 && (page.MillisBehindLatest ?? 0) === 0;
    const windowClosed = Date.now() - windowStart >= options.batchingWindowMs;
    if (buffer.length >= options.batchSize || (buffer.length > 0 && (windowClosed || (drained && options.producerDone())))) {
      await deliver(buffer.splice(0, options.batchSize), options, stats, shardId);
      continue;
    }
    if (drained) {
      if (options.producerDone() && buffer.length === 0) return;
      await sleep(Math.min(50, options.batchingWindowMs || 50));
    }
  }
}

/** Delivers a batch, then checkpoints past it. */
async function deliver(batch: KinesisStreamRecord[], options: PollerOptions, stats: PollerStats, shardId: string): Promise<void> {
  await deliverUntilDone(batch, options, stats, shardId);
  options.onCheckpoint?.(shardId, batch[batch.length - 1].kinesis.sequenceNumber);
}

/** Invokes the handler until the batch succeeds, redelivering from the lowest failed record. */
async function deliverUntilDone(batch: KinesisStreamRecord[], options: PollerOptions, stats: PollerStats, shardId: string): Promise<void> {
  let pending = batch;
  for (let attempt = 0; pending.length > 0; attempt++) {
    stats.invocations++;
    stats.recordsDelivered += pending.length;
    if (attempt > 0) stats.redeliveries += pending.length;
    let failedFrom: string | null = null;
    try {
      const response = await options.handler(eventOf(pending));
      for (const { itemIdentifier } of response.batchItemFailures) {
        if (failedFrom === null || comparePositions(itemIdentifier, failedFrom) < 0) failedFrom = itemIdentifier;
      }
    } catch {
      failedFrom = pending[0].kinesis.sequenceNumber;
    }
    const from = failedFrom;
    const succeeded = from === null ? pending.length : pending.filter((r) => comparePositions(r.kinesis.sequenceNumber, from) < 0).length;
    await options.onBatch?.({ shardId, records: pending.length, succeeded });
    if (from === null) return;
    pending = pending.filter((record) => comparePositions(record.kinesis.sequenceNumber, from) >= 0);
    if (attempt >= options.maxRetries) {
      stats.exhaustedBatches++;
      await options.onExhausted?.(pending, `retries exhausted after ${attempt + 1} attempts`);
      return;
    }
    await sleep(Math.min(1_000, 20 * 2 ** attempt));
  }
}

function eventOf(records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}

function toLambdaRecord(record: _Record, shardId: string, streamArn: string, region: string): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.PartitionKey!,
      sequenceNumber: record.SequenceNumber!,
      data: Buffer.from(record.Data!).toString('base64'),
      approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${record.SequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/local-consumer',
    awsRegion: region,
    eventSourceARN: streamArn,
  };
}
