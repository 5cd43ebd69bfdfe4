import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { kinesisClient } from '../../aws/clients.ts';
import { startKinesaliteThread } from '../../bin/localStack/embeddedPeers.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { ensureStream, KinesisProducer } from '../../producers/kinesisProducer.ts';

/*
 * The main job's stream stand-in keeps its records on disk (LevelDB in a temp directory), not in
 * the JS heap: a stream keeps every record for its retention period, read or not. The records
 * must come back as put, shard by shard in order, and the directory must go when the peer closes.
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

async function readShards(client: KinesisClient, stream: string): Promise<Map<string, OrderEvent[]>> {
  const byShard = new Map<string, OrderEvent[]>();
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream }));
  for (const shard of Shards) {
    const read: OrderEvent[] = [];
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    for (let iterator = ShardIterator; iterator; ) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 400 }));
      const records = page.Records ?? [];
      for (const record of records) read.push(JSON.parse(Buffer.from(record.Data!).toString('utf8')) as OrderEvent);
      iterator = records.length > 0 ? page.NextShardIterator : undefined;
    }
    byShard.set(shard.ShardId!, read);
  }
  return byShard;
}

describe('kinesalite on its thread with records on disk', () => {
  it('stores records in a LevelDB directory, reads every one back in order per shard, and removes the directory on close', async () => {
    const peer = await startKinesaliteThread({ onDisk: true });
    const client = kinesisClient({ endpoint: peer.endpoint, region: 'us-east-1' });
    try {
      expect(peer.storePath).toBeDefined();
      await ensureStream(client, 'orders', 2);
      const events = orders(1_500);
      const sent = await new KinesisProducer({ client, streamName: 'orders' }).send(events);
      expect(sent).toMatchObject({ sent: 1_500, failed: [] });
      // LevelDB's files: the records are in the directory, not in the worker's heap.
      expect(await readdir(peer.storePath!)).toEqual(expect.arrayContaining(['CURRENT', 'LOCK']));

      const byShard = await readShards(client, 'orders');
      expect(byShard.size).toBe(2);
      const read = [...byShard.values()].flat();
      expect(read.map((event) => event.orderId).sort()).toEqual(events.map((event) => event.orderId).sort());
      for (const shardEvents of byShard.values()) {
        // Each customer's orders in the order they were sent (one customer, one shard).
        const seen = new Map<string, number>();
        for (const event of shardEvents) {
          const index = Number(event.orderId.slice('order-'.length));
          expect(index).toBeGreaterThan(seen.get(event.customerId) ?? -1);
          seen.set(event.customerId, index);
        }
      }
    } finally {
      client.destroy();
      await peer.close();
    }
    expect(existsSync(peer.storePath!)).toBe(false);
  }, 60_000);
});
