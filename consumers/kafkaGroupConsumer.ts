import type { Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { comparePositions } from '../models/customer/customerState.ts';
import { type BatchResult, type ConsumerDeps, processRecords } from './customerBatch.ts';
import { kafkaSource } from './kafkaEvent.ts';
import type { StreamRecord } from './recordDecoding.ts';

/**
 * The long-running Kafka consumer: a kafkajs consumer group whose `eachBatch` hands each
 * partition's messages, in offset order, to the same core as the Lambda handlers
 * (`processRecords`), a chunk at a time. An offset is resolved and committed only after
 * processRecords has returned for its chunk, that is after the customers' states are saved
 * with their alerts in the outbox; a crash before the commit redelivers messages the state's
 * `topic/partition` high-water marks then ignore. The group heartbeats between chunks, so a long
 * fetch does not cost the partition; poison messages go to the dead-letter sink the deps carry.
 */
export interface KafkaGroupConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  deps: ConsumerDeps;
  /** Messages per processRecords call (default 1,000): one batched read and write per customer each. */
  chunkSize?: number;
  /** Partitions processed at once (default 1); a remote store gains from more. */
  partitionsConsumedConcurrently?: number;
  /** Wait before a partition's failed records are fetched again (default 1 s). */
  retryDelayMs?: number;
  /** Called after each chunk is processed and its offsets committed. */
  onChunk?: (chunk: ChunkReport) => void | Promise<void>;
}

export interface ChunkReport {
  source: string;
  records: number;
  /** Records to be fetched again (transient failures): the partition restarts at the first. */
  failed: number;
  result: BatchResult;
}

export interface RunningKafkaConsumer {
  consumer: Consumer;
  /** Resolves when the consumer first joins its group (partitions assigned). */
  joined: Promise<void>;
  /** Stops fetching, lets the chunk in progress finish and commit, leaves the group. */
  stop(): Promise<void>;
}

export async function startKafkaGroupConsumer(options: KafkaGroupConsumerOptions): Promise<RunningKafkaConsumer> {
  const consumer = options.kafka.consumer({ groupId: options.groupId, heartbeatInterval: 1_000, sessionTimeout: 30_000, maxBytesPerPartition: 4 * 1024 * 1024 });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: true,
    // Commits happen when this code asks (after each chunk), not on a timer of kafkajs's own.
    autoCommitInterval: 0,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    eachBatch: (payload) => consumeBatch(payload, consumer, options),
  });
  let stopping: Promise<void> | undefined;
  return { consumer, joined, stop: () => (stopping ??= consumer.disconnect()) };
}

async function consumeBatch(payload: EachBatchPayload, consumer: Consumer, options: KafkaGroupConsumerOptions): Promise<void> {
  const { batch } = payload;
  const source = kafkaSource(batch.topic, batch.partition);
  const size = options.chunkSize ?? 1_000;
  for (let from = 0; from < batch.messages.length; from += size) {
    if (!payload.isRunning() || payload.isStale()) return;
    const messages = batch.messages.slice(from, from + size);
    const records = messages.map((message) => toStreamRecord(message, source));
    const result = await processRecords(records, options.deps);
    const firstFailed = lowest(result.failedPositions);
    for (const message of messages) {
      if (firstFailed !== undefined && comparePositions(message.offset, firstFailed) >= 0) break;
      payload.resolveOffset(message.offset);
    }
    await payload.commitOffsetsIfNecessary();
    await options.onChunk?.({ source, records: messages.length, failed: result.failedPositions.length, result });
    if (firstFailed !== undefined) {
      await retryFrom(batch, firstFailed, consumer, payload, options.retryDelayMs ?? 1_000);
      return;
    }
    await payload.heartbeat();
  }
}

/** The partition is fetched again from its first failed record, after a pause that keeps the group alive. */
async function retryFrom(batch: Batch, offset: string, consumer: Consumer, payload: EachBatchPayload, delayMs: number): Promise<void> {
  const until = Date.now() + delayMs;
  while (Date.now() < until && payload.isRunning()) {
    await new Promise((done) => setTimeout(done, Math.min(500, until - Date.now())));
    await payload.heartbeat();
  }
  consumer.seek({ topic: batch.topic, partition: batch.partition, offset });
}

function lowest(positions: readonly string[]): string | undefined {
  let min: string | undefined;
  for (const position of positions) if (min === undefined || comparePositions(position, min) < 0) min = position;
  return min;
}

/** A null value (a tombstone) becomes empty data, which the core sets aside as not JSON. */
function toStreamRecord(message: KafkaMessage, source: string): StreamRecord {
  return {
    source,
    position: message.offset,
    partitionKey: message.key === null ? undefined : message.key.toString('utf8'),
    data: message.value === null ? '' : message.value.toString('base64'),
  };
}
