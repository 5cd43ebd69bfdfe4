import {
  DeleteTableCommand,
  PutItemCommand,
  type BatchGetItemCommandInput,
  type BatchGetItemCommandOutput, DescribeTableCommand, GetItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvent, emptyState, NO_EVENT_LAST_MS } from '../../models/customer/customerState.ts';
import { dynamoClient } from '../../aws/clients.ts';
import { startDynalite, type LocalPeer } from '../../bin/localStack/embeddedPeers.ts';
import {
  bodyJson,
  DUE_INDEX,
  OUTBOX_INDEX,
  LIST_INDEX,
  RISK_INDEX,
  DynamoStateStore,
  createStateTable,
  dueBucketOf,
  stateTableDefinition,
} from '../../consumers/stateStore/dynamoStateStore.ts';
import { describeStateStoreContract } from '../support/stateStoreContract.ts';

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

/**
 * A real client on dynalite that processes only the first half (rounded up) of each
 * BatchGetItem and hands the rest back as UnprocessedKeys, as throttled DynamoDB does.
 */
function throttledClient(): { client: DynamoDBClient; calls(): number } {
  const throttled = dynamoClient({ endpoint: dynalite.endpoint });
  let calls = 0;
  throttled.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchGetItemCommand') return next(args);
      calls++;
      const input = args.input as BatchGetItemCommandInput;
      const [tableName, request] = Object.entries(input.RequestItems ?? {})[0];
      const keys = request.Keys ?? [];
      const kept = Math.ceil(keys.length / 2);
      const result = await next({ ...args, input: { ...input, RequestItems: { [tableName]: { ...request, Keys: keys.slice(0, kept) } } } });
      const output = result.output as BatchGetItemCommandOutput;
      if (kept < keys.length) output.UnprocessedKeys = { [tableName]: { ...request, Keys: keys.slice(kept) } };
      return result;
    },
    { step: 'initialize', name: 'halveBatchGetItem' },
  );
  return { client: throttled, calls: () => calls };
}

/** A fresh table per store, so contract tests never see each other's customers. */
async function freshTable(): Promise<string> {
  const tableName = `customer-state-${++tables}`;
  await createStateTable(client, tableName);
  return tableName;
}

// Three items a page makes Scan and the per-bucket due Queries paginate, which 1 MB pages never
// would here.
describeStateStoreContract(
  'DynamoStateStore',
  async () => {
    const tableName = await freshTable();
    return {
      store: new DynamoStateStore({ client, tableName, pageSize: 3 }),
      close: async () => {
        await client.send(new DeleteTableCommand({ TableName: tableName }));
      },
    };
  },
  { propertyRuns: 40 },
);

describe('DynamoStateStore table and items', () => {
  it('creates the table idempotently, as defined', async () => {
    const tableName = await freshTable();
    await createStateTable(client, tableName);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const definition = stateTableDefinition(tableName);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual(definition.KeySchema);
    expect(Table?.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST').toBe('PAY_PER_REQUEST');
    expect(Table?.GlobalSecondaryIndexes).toHaveLength(4);
    for (const [at, name] of [DUE_INDEX, OUTBOX_INDEX, LIST_INDEX, RISK_INDEX].entries()) {
      expect(Table?.GlobalSecondaryIndexes?.find((index) => index.IndexName === name)).toMatchObject({
        IndexName: name,
        KeySchema: definition.GlobalSecondaryIndexes?.[at].KeySchema,
        Projection: { ProjectionType: 'KEYS_ONLY' },
        IndexStatus: 'ACTIVE',
      });
    }
  });

  it('indexes a customer in the outbox index only while it is saved as pending with alerts in its outbox (sparse GSI)', async () => {
    const tableName = await freshTable();
    const store = new DynamoStateStore({ client, tableName, dueBuckets: 4 });
    const raw = async (customerId: string) =>
      (await client.send(new GetItemCommand({ TableName: tableName, Key: { customerId: { S: customerId } }, ConsistentRead: true }))).Item;
    const alert = {
      detailType: 'Customer At Risk' as const,
      detail: { eventId: 'e-1', customerId: 'risky', churnProbability: 0.7, previousChurnProbability: 0.5, clv: 10, expectedLoss: 0, segment: null, trigger: 'churn' as const, level: 0.6, modelVersion: 'm', asOf: '2024-01-25T00:00:00.000Z', drivers: {} },
    };

    await store.save({ ...emptyState('risky'), atRisk: true, outbox: [alert] });
    expect(Object.keys((await raw('risky'))!).sort()).toEqual(['body', 'customerId', 'listBucket', 'v']);
    await store.save({ ...emptyState('risky'), atRisk: true, outbox: [alert], version: 1 }, { pendingOutbox: true });
    expect(await raw('risky')).toMatchObject({ outboxAt: { N: String(Date.parse(alert.detail.asOf)) }, outboxBucket: { N: String(dueBucketOf('risky', 4)) } });
    expect(await raw('risky')).not.toHaveProperty('dueAt');
    expect(await store.pendingOutboxes(10)).toEqual(['risky']);

    await store.save({ ...emptyState('risky'), atRisk: true, outbox: [], version: 2 }, { pendingOutbox: true });
    expect(Object.keys((await raw('risky'))!).sort()).toEqual(['body', 'customerId', 'listBucket', 'v']);
    expect(await store.pendingOutboxes(10)).toEqual([]);
  });

  it('keeps customers with no due time out of the index (sparse GSI)', async () => {
    const tableName = await freshTable();
    const store = new DynamoStateStore({ client, tableName, dueBuckets: 4 });
    const raw = async (customerId: string) =>
      (await client.send(new GetItemCommand({ TableName: tableName, Key: { customerId: { S: customerId } }, ConsistentRead: true }))).Item;

    await store.save({ ...emptyState('idle'), dueAtMs: null });
    await store.save({ ...emptyState('due'), dueAtMs: 1_000 });
    expect(Object.keys((await raw('idle'))!).sort()).toEqual(['body', 'customerId', 'listBucket', 'v']);
    expect(await raw('due')).toMatchObject({
      v: { N: '1' },
      dueAt: { N: '1000' },
      dueBucket: { N: String(dueBucketOf('due', 4)) },
    });
    expect(JSON.parse(bodyJson((await raw('due'))!)!)).not.toHaveProperty('version');

    await store.save({ ...emptyState('due'), dueAtMs: null, version: 1 });
    expect(Object.keys((await raw('due'))!).sort()).toEqual(['body', 'customerId', 'listBucket', 'v']);
    let indexed = 0;
    for (let bucket = 0; bucket < 4; bucket++) {
      const { Count } = await client.send(
        new QueryCommand({ TableName: tableName, IndexName: DUE_INDEX, KeyConditionExpression: 'dueBucket = :b', ExpressionAttributeValues: { ':b': { N: String(bucket) } } }),
      );
      indexed += Count ?? 0;
    }
    expect(indexed).toBe(0);
  });

  it('retries keys BatchGetItem leaves unprocessed, and gives up after the bounded attempts', async () => {
    const tableName = await freshTable();
    const ids = Array.from({ length: 150 }, (_, at) => `U-${at}`);
    await Promise.all(ids.map((id) => new DynamoStateStore({ client, tableName }).save(emptyState(id))));

    const throttled = throttledClient();
    try {
      const patient = new DynamoStateStore({ client: throttled.client, tableName, retryBaseDelayMs: 1 });
      const found = await patient.getMany(ids);
      expect([...found.keys()].sort()).toEqual([...ids].sort());
      // 100 keys: 50, 25, 13, 7, 4, 2, 1 processed per call; 50 keys: 25, 13, 7, 4, 2, 1.
      expect(throttled.calls()).toBe(13);

      const impatient = new DynamoStateStore({ client: throttled.client, tableName, retryBaseDelayMs: 1, batchGetAttempts: 3 });
      await expect(impatient.getMany(ids)).rejects.toThrow(/unprocessed after 3 attempts/);
    } finally {
      throttled.client.destroy();
    }
  });

  it('loads a state stored before the country covariate as no country, and round-trips one with it', async () => {
    const tableName = await freshTable();
    const store = new DynamoStateStore({ client, tableName });
    const state = emptyState('C-legacy');
    applyEvent(state, { type: 'order', orderId: 'O-1', customerId: 'C-legacy', occurredAt: '2024-01-03T09:15:00Z', lines: [{ productId: 'P', quantity: 1, unitPrice: 3 }] });
    const { version: _version, country: _country, countryMs: _countryMs, ...legacyBody } = state;
    await client.send(new PutItemCommand({ TableName: tableName, Item: { customerId: { S: 'C-legacy' }, v: { N: '4' }, body: { S: JSON.stringify(legacyBody) } } }));
    const loaded = (await store.getMany(['C-legacy'])).get('C-legacy')!;
    expect(loaded).toEqual({ ...state, version: 4 });
    expect(loaded.country).toBeNull();
    expect(loaded.countryMs).toBe(NO_EVENT_LAST_MS);

    applyEvent(loaded, { type: 'return', orderId: 'O-1', customerId: 'C-legacy', occurredAt: '2024-02-01T00:00:00Z', country: 'Deutschland', lines: [{ productId: 'P', quantity: 1, unitPrice: 3 }] });
    expect(await store.save(loaded)).toBe(5);
    const reloaded = (await store.getMany(['C-legacy'])).get('C-legacy')!;
    expect(reloaded).toEqual({ ...loaded, version: 5 });
    expect(reloaded.country).toBe('Deutschland');
    expect(reloaded.countryMs).toBe(Date.parse('2024-02-01T00:00:00Z'));
  });

  it('spreads due customers over buckets with a stable hash', () => {
    expect(dueBucketOf('C-10042', 16)).toBe(dueBucketOf('C-10042', 16));
    const used = new Set(Array.from({ length: 400 }, (_, at) => dueBucketOf(`C-${at}`, 16)));
    expect(used.size).toBe(16);
  });
});
