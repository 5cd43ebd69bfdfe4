import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kinesisClient } from '../../aws/clients.ts';
import { startKinesalite, type LocalPeer } from '../../bin/localStack/embeddedPeers.ts';
import { OrderEventSchema, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { ensureStream, KinesisProducer, MAX_CALL_BYTES } from '../../producers/kinesisProducer.ts';
import { startKinesisEndpoint, type KinesisEndpoint } from '../support/kinesisEndpoint.ts';

function makeEvents(count: number, customers: number): OrderEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    type: 'order' as const,
    orderId: `order-${index}`,
    customerId: `customer-${index % customers}`,
    occurredAt: new Date(Date.UTC(2024, 0, 1) + index * 60_000).toISOString(),
    lines: [{ productId: `P${index % 37}`, quantity: 1 + (index % 3), unitPrice: 2.5 }],
  }));
}

const noSleep = { baseDelayMs: 1, maxDelayMs: 2 };

describe('KinesisProducer against kinesalite', () => {
  let peer: LocalPeer;
  let client: KinesisClient;

  beforeAll(async () => {
    peer = await startKinesalite();
    client = kinesisClient({ endpoint: peer.endpoint });
  });
  afterAll(async () => {
    client?.destroy();
    await peer?.close();
  });

  it('creates the stream once and waits until it is active', async () => {
    expect(await ensureStream(client, 'setup', 1)).toEqual({ created: true });
    expect(await ensureStream(client, 'setup', 1)).toEqual({ created: false });
  });

  it('sends 1,200 events in 500-record calls, each readable back and keyed by customer', async () => {
    await ensureStream(client, 'orders', 2);
    const events = makeEvents(1200, 97);
    const progress: number[] = [];
    const result = await new KinesisProducer({ client, streamName: 'orders' }).send(events, (p) => progress.push(p.sent));

    expect(result).toMatchObject({ sent: 1200, failed: [], calls: 3, retries: 0 });
    expect(progress.at(-1)).toBe(1200);

    const records = await readAll(client, 'orders');
    expect(records).toHaveLength(1200);
    const shardOf = new Map<string, Set<string>>();
    for (const record of records) {
      const event = OrderEventSchema.parse(JSON.parse(record.data));
      expect(record.partitionKey).toBe(event.customerId);
      shardOf.set(event.customerId, (shardOf.get(event.customerId) ?? new Set()).add(record.shardId));
    }
    expect(new Set(records.map((record) => JSON.parse(record.data).orderId)).size).toBe(1200);
    expect(records.map((record) => JSON.parse(record.data)).sort(byOrderId)).toEqual([...events].sort(byOrderId));
    // Same key, same shard: a customer's events are never split across shards.
    expect([...shardOf.values()].every((shards) => shards.size === 1)).toBe(true);
    expect(new Set(records.map((record) => record.shardId)).size).toBe(2);
  });
});

const byOrderId = (a: { orderId: string }, b: { orderId: string }) => a.orderId.localeCompare(b.orderId);

async function readAll(client: KinesisClient, stream: string) {
  const records: { shardId: string; partitionKey: string; data: string }[] = [];
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream }));
  for (const shard of Shards) {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    for (let iterator = ShardIterator; iterator; ) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      const batch = page.Records ?? [];
      for (const record of batch) {
        records.push({ shardId: shard.ShardId!, partitionKey: record.PartitionKey!, data: Buffer.from(record.Data!).toString('utf8') });
      }
      iterator = batch.length > 0 ? page.NextShardIterator : undefined;
    }
  }
  return records;
}

describe('KinesisProducer against a failing PutRecords endpoint', () => {
  let endpoint: KinesisEndpoint | undefined;
  let client: KinesisClient | undefined;

  async function start(options: Parameters<typeof startKinesisEndpoint>[0]) {
    endpoint = await startKinesisEndpoint(options);
    client = kinesisClient({ endpoint: endpoint.endpoint });
    return { endpoint, client };
  }

  afterEach(async () => {
    client?.destroy();
    await endpoint?.close();
    endpoint = undefined;
    client = undefined;
  });

  it('resends only the failed entries, and every event arrives exactly once', async () => {
    const chosen = new Set(Array.from({ length: 1000 }, (_, i) => `order-${i}`).filter((_, i) => i % 7 === 3));
    const { endpoint, client } = await start({
      failEntry: (entry) =>
        entry.seen === 1 && chosen.has(JSON.parse(entry.data).orderId) ? 'ProvisionedThroughputExceededException' : undefined,
    });
    const events = makeEvents(1000, 50);
    const result = await new KinesisProducer({ client, streamName: 'orders', ...noSleep }).send(events);

    expect(result.sent).toBe(1000);
    expect(result.failed).toEqual([]);
    expect(result.retries).toBe(chosen.size);
    // Two full calls, then one resend of each call's failed entries.
    const chosenIn = (from: number, to: number) => [...chosen].filter((id) => +id.slice(6) >= from && +id.slice(6) < to).length;
    expect(endpoint.calls.map((call) => call.records)).toEqual([500, chosenIn(0, 500), 500, chosenIn(500, 1000)]);
    const resent = endpoint.received.filter((entry) => entry.seen > 1).map((entry) => JSON.parse(entry.data).orderId);
    expect(new Set(resent)).toEqual(chosen);
    expect(resent).toHaveLength(chosen.size);
    const accepted = endpoint.accepted.map((entry) => JSON.parse(entry.data).orderId);
    expect(accepted).toHaveLength(1000);
    expect(new Set(accepted)).toEqual(new Set(events.map((event) => event.orderId)));
    expect(endpoint.accepted.every((entry) => entry.partitionKey === JSON.parse(entry.data).customerId)).toBe(true);
  });

  it('rejects an event over 1 MiB without sending it and without blocking the others', async () => {
    const { endpoint, client } = await start({});
    const events = makeEvents(30, 5);
    // No schema-valid event reaches 1 MiB (lines and ids are bounded), so this one breaks the schema on purpose.
    events[12] = { ...events[12], lines: [{ productId: 'X'.repeat(1024 * 1024), quantity: 1, unitPrice: 1 }] };
    const result = await new KinesisProducer({ client, streamName: 'orders' }).send(events);

    expect(result.sent).toBe(29);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0].event.orderId).toBe('order-12');
    expect(result.failed[0].errorCode).toBe('RecordTooLarge');
    expect(result.failed[0].errorMessage).toMatch(/over the 1048576-byte Kinesis limit/);
    expect(endpoint.accepted.map((entry) => JSON.parse(entry.data).orderId)).not.toContain('order-12');
    expect(endpoint.accepted).toHaveLength(29);
  });

  it('splits calls at 5 MiB', async () => {
    const { endpoint, client } = await start({});
    // ~400 KB events: 13 fit in one call by bytes, far below the 500-record limit.
    const events = makeEvents(40, 4).map((event, index) => ({
      ...event,
      lines: Array.from({ length: 1000 }, (_, line) => ({ productId: `${'p'.repeat(340)}-${index}-${line}`, quantity: 1, unitPrice: 1 })),
    }));
    const result = await new KinesisProducer({ client, streamName: 'orders' }).send(events);

    expect(result).toMatchObject({ sent: 40, failed: [] });
    const total = endpoint.calls.reduce((sum, call) => sum + call.bytes, 0);
    expect(total).toBeGreaterThan(2 * MAX_CALL_BYTES);
    // Greedy packing: every call but the last is too full to take one more record.
    const recordBytes = total / events.length;
    expect(endpoint.calls.length).toBeGreaterThanOrEqual(3);
    expect(endpoint.calls.slice(0, -1).every((call) => call.bytes + recordBytes > MAX_CALL_BYTES)).toBe(true);
    expect(endpoint.calls.every((call) => call.bytes <= MAX_CALL_BYTES && !call.error)).toBe(true);
  });

  it('retries a throttled whole call and delivers every event once', async () => {
    const { endpoint, client } = await start({ failCall: (call) => (call <= 3 ? 'ProvisionedThroughputExceededException' : undefined) });
    const events = makeEvents(20, 3);
    const result = await new KinesisProducer({ client, streamName: 'orders', ...noSleep }).send(events);

    expect(result).toMatchObject({ sent: 20, failed: [] });
    // The SDK retries a throttled call itself; whatever it leaves over, the producer retries.
    expect(endpoint.calls.filter((call) => call.error)).toHaveLength(3);
    expect(endpoint.accepted).toHaveLength(20);
    expect(new Set(endpoint.accepted.map((entry) => entry.data)).size).toBe(20);
  });

  it('gives up after maxAttempts and does not retry errors that cannot succeed', async () => {
    const { endpoint, client } = await start({
      failEntry: (entry) => {
        const { orderId } = JSON.parse(entry.data);
        if (orderId === 'order-1') return 'ProvisionedThroughputExceededException';
        if (orderId === 'order-2') return 'KMSAccessDeniedException';
        return undefined;
      },
    });
    const result = await new KinesisProducer({ client, streamName: 'orders', maxAttempts: 4, ...noSleep }).send(makeEvents(10, 3));

    expect(result.sent).toBe(8);
    expect(result.failed.map((f) => [f.event.orderId, f.errorCode]).sort()).toEqual([
      ['order-1', 'ProvisionedThroughputExceededException'],
      ['order-2', 'KMSAccessDeniedException'],
    ]);
    expect(endpoint.received.filter((entry) => JSON.parse(entry.data).orderId === 'order-1')).toHaveLength(4);
    expect(endpoint.received.filter((entry) => JSON.parse(entry.data).orderId === 'order-2')).toHaveLength(1);
    expect(result.retries).toBe(3);
  });

  it('stops at a call error that cannot succeed and reports every event failed', async () => {
    const { endpoint, client } = await start({ failCall: () => 'ResourceNotFoundException' });
    const result = await new KinesisProducer({ client, streamName: 'missing', ...noSleep }).send(makeEvents(1200, 10));

    expect(result.sent).toBe(0);
    expect(result.failed).toHaveLength(1200);
    expect(result.failed.every((f) => f.errorCode === 'ResourceNotFoundException')).toBe(true);
    expect(endpoint.calls).toHaveLength(1);
    expect(result.calls).toBe(1);
  });
});
