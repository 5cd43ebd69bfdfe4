import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { kinesisClient } from '../../aws/clients.ts';
import { startKinesaliteThread } from '../../bin/localStack/embeddedPeers.ts';
import { pollStream } from '../../bin/localStack/eventSourcePoller.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { ensureStream, KinesisProducer } from '../../producers/kinesisProducer.ts';

/*
 * The main job's stream stand-in drops what its one reader is done with: a stream keeps every
 * record for its retention period, so a replay of a million records would otherwise hold them
 * all. A trim must delete exactly the records through the position given, on that shard only,
 * and the poller must trim only past batches that are done (a failed batch is redelivered from
 * the poller's own buffer, never re-read).
 */

function orders(count: number): OrderEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    type: 'order' as const,
    orderId: `order-${index}`,
    customerId: `customer-${index % 53}`,
    occurredAt: new Date(Date.UTC(2024, 0, 1) + index * 60_000).toISOString(),
    lines: [{ productId: `P${index % 37}`, quantity: 1 + (index % 3), unitPrice: 2.5 }],
  }));
}

async function sequencesOf(client: KinesisClient, stream: string, shardId: string): Promise<string[]> {
  const read: string[] = [];
  const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
  for (let iterator = ShardIterator; iterator; ) {
    const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 400 }));
    const records = page.Records ?? [];
    read.push(...records.map((record) => record.SequenceNumber!));
    iterator = records.length > 0 ? page.NextShardIterator : undefined;
  }
  return read;
}

async function shardIds(client: KinesisClient, stream: string): Promise<string[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream }));
  return Shards.map((shard) => shard.ShardId!);
}

/** The trim is posted to kinesalite's thread and not awaited: wait until the stream shows it. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error('the stream never showed the trim');
}

describe('kinesalite trimmed once read', () => {
  it('deletes a shard\'s records through the given position and nothing else', async () => {
    const peer = await startKinesaliteThread();
    const client = kinesisClient({ endpoint: peer.endpoint, region: 'us-east-1' });
    try {
      await ensureStream(client, 'orders', 2);
      expect(await new KinesisProducer({ client, streamName: 'orders' }).send(orders(1_500))).toMatchObject({ sent: 1_500, failed: [] });
      const [first, second] = await shardIds(client, 'orders');
      const before = await sequencesOf(client, 'orders', first);
      const untouched = await sequencesOf(client, 'orders', second);
      expect(before.length).toBeGreaterThan(100);

      await peer.trimThrough('orders', first, before[99]);
      await until(async () => (await sequencesOf(client, 'orders', first)).length < before.length);
      expect(await sequencesOf(client, 'orders', first)).toEqual(before.slice(100));
      expect(await sequencesOf(client, 'orders', second)).toEqual(untouched);

      // A position past the last record empties the shard; a trim of an unknown stream harms nothing.
      await peer.trimThrough('nope', first, before[before.length - 1]);
      await peer.trimThrough('orders', first, before[before.length - 1]);
      await until(async () => (await sequencesOf(client, 'orders', first)).length === 0);
      expect(await sequencesOf(client, 'orders', second)).toEqual(untouched);
    } finally {
      client.destroy();
      await peer.close();
    }
  }, 60_000);

  it('is trimmed by the poller past each finished batch, failed batches redelivered from its buffer', async () => {
    const peer = await startKinesaliteThread();
    const client = kinesisClient({ endpoint: peer.endpoint, region: 'us-east-1' });
    try {
      await ensureStream(client, 'orders', 2);
      const events = orders(2_000);
      expect(await new KinesisProducer({ client, streamName: 'orders' }).send(events)).toMatchObject({ sent: 2_000, failed: [] });
      const processed = new Set<string>();
      let failures = 0;
      const handler = async (event: KinesisStreamEvent) => {
        // Every fifth invocation fails its second half, which the poller redelivers from its buffer.
        if (++failures % 5 === 0 && event.Records.length > 1) {
          const half = Math.floor(event.Records.length / 2);
          for (const record of event.Records.slice(0, half)) processed.add(JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')).orderId);
          return { batchItemFailures: [{ itemIdentifier: event.Records[half].kinesis.sequenceNumber }] };
        }
        for (const record of event.Records) processed.add(JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')).orderId);
        return { batchItemFailures: [] };
      };
      const checkpoints: string[] = [];
      const stats = await pollStream({
        client,
        streamName: 'orders',
        region: 'us-east-1',
        handler,
        batchSize: 100,
        batchingWindowMs: 0,
        maxRetries: 3,
        producerDone: () => true,
        onCheckpoint: (shardId, sequenceNumber) => {
          checkpoints.push(shardId);
          void peer.trimThrough('orders', shardId, sequenceNumber);
        },
      });
      expect(stats.redeliveries).toBeGreaterThan(0);
      expect(processed.size).toBe(events.length);
      // One checkpoint per batch, after its redeliveries: 2,000 records in batches of at most 100.
      expect(checkpoints.length).toBeGreaterThanOrEqual(20);
      expect(checkpoints.length).toBeLessThan(stats.invocations);
      for (const shardId of await shardIds(client, 'orders')) await until(async () => (await sequencesOf(client, 'orders', shardId)).length === 0);
    } finally {
      client.destroy();
      await peer.close();
    }
  }, 60_000);
});
