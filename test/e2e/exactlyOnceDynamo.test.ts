import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemBytes } from '../../bench/dynamoBench.ts';
import { toKinesisEvents } from '../../bench/kinesisBatches.ts';
import { dynamoClient } from '../../aws/clients.ts';
import { startDynalite, type LocalPeer } from '../../bin/localStack/embeddedPeers.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { bodyJson, createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { statisticsOf } from '../../models/customer/customerState.ts';
import { statesFromEvents } from '../../models/customer/customerStates.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { deliverUntilDone } from '../support/consumerHarness.ts';
import { listenLocally, readBody, replyJson, type LocalHttpEndpoint } from '../support/localHttpEndpoint.ts';
import { order } from '../support/orderEvents.ts';
import { type MemorySinkDeps, memorySinkDeps, ORDERS_STREAM_ARN, streamBatch } from '../support/memoryConsumer.ts';

const DAY = 86_400_000;

let dynalite: LocalPeer;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = dynamoClient({ endpoint: dynalite.endpoint });
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

async function consumer(over: DynamoDBClient = client): Promise<MemorySinkDeps<DynamoStateStore> & { tableName: string }> {
  const tableName = `exactly-${++tables}`;
  await createStateTable(client, tableName);
  return { ...memorySinkDeps(new DynamoStateStore({ client: over, tableName, retryBaseDelayMs: 1 })), tableName };
}

/** Records at sequence indexes from `from` on, one shard of the `orders` stream. */
const batch = streamBatch;

async function storedItem(tableName: string, customerId: string) {
  return (await client.send(new GetItemCommand({ TableName: tableName, Key: { customerId: { S: customerId } }, ConsistentRead: true }))).Item!;
}

describe('exactly-once effect on DynamoDB (dynalite)', () => {
  it('ignores a producer retry of an order 300 days old', async () => {
    const deps = await consumer();
    const handler = createKinesisHandler(() => deps);
    await handler(batch([order('c1', 'first', '2024-01-01T10:00:00Z', 75)], 0));
    await handler(batch([order('c1', 'second', new Date(Date.parse('2024-01-01T10:00:00Z') + 300 * DAY).toISOString(), 25)], 1));
    await handler(batch([order('c1', 'first', '2024-01-01T10:00:00Z', 75)], 2));
    const state = (await deps.store.getMany(['c1'])).get('c1')!;
    expect(state).toMatchObject({ orders: 2, spendCents: 10_000 });
    expect(deps.metrics.counters.DuplicateOrders).toBe(1);
  });

  it('ignores a retry for a customer with 5,000 orders in a year, whose stored item stays far below 400 KB', async () => {
    const deps = await consumer();
    const handler = createKinesisHandler(() => deps);
    const start = Date.parse('2024-01-01T00:00:00Z');
    const events = Array.from({ length: 5_000 }, (_, i) => order('big', `order-${String(i).padStart(10, '0')}`, new Date(start + Math.floor((i * 365 * DAY) / 5_000)).toISOString()));
    for (const event of toKinesisEvents(events, 100)) expect((await handler({ Records: event.Records.map((r) => ({ ...r, eventSourceARN: ORDERS_STREAM_ARN })) })).batchItemFailures).toEqual([]);
    const retry = batch([events[0], events[2_500]], 10_000);
    expect((await handler(retry)).batchItemFailures).toEqual([]);
    const state = (await deps.store.getMany(['big'])).get('big')!;
    expect(state.orders).toBe(5_000);
    expect(deps.metrics.counters.DuplicateOrders).toBe(2);
    const bytes = itemBytes(await storedItem(deps.tableName, 'big'));
    expect(bytes).toBeLessThan(80_000);
  });

  it('reads a format-1 item (string order ids, a bare shard key) and keeps ignoring what it had seen', async () => {
    const deps = await consumer();
    const handler = createKinesisHandler(() => deps);
    await handler(batch([order('c1', 'a', '2024-01-01T10:00:00Z', 10)], 100));
    const item = await storedItem(deps.tableName, 'c1');
    const body = JSON.parse(bodyJson(item)!);
    // As format 1 stored it: order ids as strings, positions under the bare shard id.
    body.format = 1;
    body.recentOrders = [{ key: 'order:a', ms: Date.parse('2024-01-01T10:00:00Z') }];
    delete body.orderMemory;
    body.positions = { 'shardId-000000000000': Object.values(body.positions)[0] };
    await client.send(new PutItemCommand({ TableName: deps.tableName, Item: { customerId: item.customerId, v: item.v, body: { S: JSON.stringify(body) } } }));
    expect((await handler(batch([order('c1', 'b', '2024-01-02T10:00:00Z', 10)], 100))).batchItemFailures).toEqual([]);
    expect((await handler(batch([order('c1', 'a', '2024-01-01T10:00:00Z', 10)], 101))).batchItemFailures).toEqual([]);
    const state = (await deps.store.getMany(['c1'])).get('c1')!;
    expect(state.orders).toBe(1);
    expect(deps.metrics.counters).toMatchObject({ DuplicatePositions: 1, DuplicateOrders: 1 });
  });

  it('loses and doubles nothing when a fifth of DynamoDB calls are throttled', async () => {
    const throttle = await throttlingProxy(dynalite.endpoint, 0.2);
    const throttled = dynamoClient({ endpoint: throttle.endpoint, maxAttempts: 1 });
    try {
      const deps = await consumer(throttled);
      const inner = createKinesisHandler(() => deps);
      // A handler that throws fails the whole batch, which Lambda then delivers again whole.
      const handler: typeof inner = async (event) => {
        for (;;) {
          try {
            return await inner(event);
          } catch (error) {
            if ((error as Error).name !== 'ProvisionedThroughputExceededException') throw error;
          }
        }
      };
      const events = generateEvents({ customers: 150, days: 120, seed: 11, start: '2024-01-01' }).sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
      const batches = toKinesisEvents(events, 25).map((b) => ({ Records: b.Records.map((r) => ({ ...r, eventSourceARN: ORDERS_STREAM_ARN })) }));
      for (const event of batches) await deliverUntilDone(handler, event, 200);
      // Whatever a throttled batch had saved is delivered again, too: none of it may count twice.
      for (const event of batches.slice(0, 5)) await deliverUntilDone(handler, event, 200);
      expect(throttle.throttled()).toBeGreaterThan(50);
      const clean = statesFromEvents(events).states;
      const stored = await new DynamoStateStore({ client, tableName: deps.tableName }).getMany([...clean.keys()]);
      expect(stored.size).toBe(clean.size);
      for (const [id, state] of clean) expect(statisticsOf(stored.get(id)!)).toEqual(statisticsOf(state));
    } finally {
      throttled.destroy();
      await throttle.close();
    }
  }, 120_000);
});

/**
 * An HTTP proxy in front of dynalite that answers a share of calls, chosen by a seeded stream,
 * with DynamoDB's ProvisionedThroughputExceededException (status 400, the JSON protocol's
 * `__type`) without forwarding them, and forwards the rest.
 */
async function throttlingProxy(target: string, share: number): Promise<LocalHttpEndpoint & { throttled(): number }> {
  let seed = 12_345;
  let throttled = 0;
  const { hostname, port } = new URL(target);
  const endpoint = await listenLocally(async (req, res) => {
    const body = await readBody(req);
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    if (seed / 2 ** 32 < share) {
      throttled++;
      replyJson(res, 400, { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded.' }, 'application/x-amz-json-1.0');
      return;
    }
    const forward = request({ hostname, port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(res);
    });
    forward.end(body);
  });
  return { ...endpoint, throttled: () => throttled };
}
