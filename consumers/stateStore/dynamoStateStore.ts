import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  BatchGetItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { type CustomerState, upgradeStoredState } from '../../models/customer/customerState.ts';
import { type LegacyRecentOrder, packOrderMemory, unpackOrderMemory } from '../../models/customer/orderMemory.ts';
import {
  type ListingPosition,
  oldestAlertMs,
  type ReadOptions,
  riskRankKey,
  type SaveOptions,
  type StateStore,
  VersionConflictError,
} from './stateStore.ts';
import { DUE_INDEX, LIST_INDEX, OUTBOX_INDEX, RISK_INDEX } from './dynamoStateTable.ts';

export { createStateTable, DUE_INDEX, LIST_INDEX, OUTBOX_INDEX, RISK_INDEX, stateTableDefinition } from './dynamoStateTable.ts';

/** The at-risk index has one partition: its writes are transitions and rescored at-risk customers, few. */
const RISK_PARTITION = '0';
/** Customer ids cannot contain control characters (OrderEventSchema), so this key is free. */
export const WATERMARK_KEY = '\u0000watermark';
/** Receipts of invocations that settled their alerts in flight (StateStore.noteSettled). */
export const SETTLED_KEY_PREFIX = '\u0000settled\u0000';
const BATCH_GET_MAX_KEYS = 100;

export interface DynamoStateStoreConfig {
  client: DynamoDBClient;
  tableName: string;
  /**
   * Partitions of the due and outbox indexes, so sweeping is not one hot partition. Every reader
   * and writer of a table must agree on it: items keep the bucket they were written with.
   */
  dueBuckets?: number;
  /** Items per Scan/Query page; unset lets DynamoDB fill 1 MB pages. */
  pageSize?: number;
  /** BatchGetItem calls per chunk before unprocessed keys are an error. */
  batchGetAttempts?: number;
  /** First backoff before retrying unprocessed keys; doubles per attempt, with jitter. */
  retryBaseDelayMs?: number;
  /** How much earlier than the due time an indexed key may stay (SaveOptions.earlyDueKey). */
  dueKeySlackMs?: number;
  /**
   * How long a settled receipt is kept (TTL; default 30 days, beyond the event source mapping's
   * longest record age of 7 days): a redelivery after that resends the alerts, with their ids.
   */
  settledReceiptDays?: number;
}

/** Keys of customers read or written, kept to know an item's current due key; cleared past this. */
const KNOWN_KEYS_MAX = 100_000;

type Item = Record<string, AttributeValue>;

/** FNV-1a over UTF-16 code units: stable across processes and releases, unlike any runtime hash. */
export function dueBucketOf(customerId: string, dueBuckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i++) {
    hash ^= customerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % dueBuckets;
}

/**
 * StateStore on one DynamoDB table: one item per customer, the state as a JSON body (DynamoDB
 * numbers would cost a type per field and gain nothing; JSON round-trips every safe integer,
 * including the state's sentinels), deflated (packBody: DynamoDB bills writes per started KB),
 * the version beside it for conditional writes.
 */
export class DynamoStateStore implements StateStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly dueBuckets: number;
  private readonly pageSize: number | undefined;
  private readonly batchGetAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly dueKeySlackMs: number;
  private readonly settledReceiptDays: number;
  /** The due key each customer had at the version this store last read or wrote. */
  private readonly knownDueKeys = new Map<string, { version: number; dueAt: number | undefined }>();

  constructor(config: DynamoStateStoreConfig) {
    this.client = config.client;
    this.tableName = config.tableName;
    this.dueBuckets = config.dueBuckets ?? 16;
    this.pageSize = config.pageSize;
    this.batchGetAttempts = config.batchGetAttempts ?? 8;
    this.retryBaseDelayMs = config.retryBaseDelayMs ?? 25;
    this.dueKeySlackMs = config.dueKeySlackMs ?? 60 * 86_400_000;
    this.settledReceiptDays = config.settledReceiptDays ?? 30;
    if (!Number.isInteger(this.dueBuckets) || this.dueBuckets < 1) throw new Error('dueBuckets must be a positive integer');
  }

  async getMany(customerIds: readonly string[], options?: ReadOptions): Promise<Map<string, CustomerState>> {
    // BatchGetItem rejects a request that names the same key twice.
    const unique = [...new Set(customerIds)];
    const chunks: string[][] = [];
    for (let at = 0; at < unique.length; at += BATCH_GET_MAX_KEYS) chunks.push(unique.slice(at, at + BATCH_GET_MAX_KEYS));
    const found = new Map<string, CustomerState>();
    const consistent = options?.consistent ?? false;
    for (const items of await Promise.all(chunks.map((chunk) => this.batchGet(chunk, consistent)))) {
      for (const item of items) {
        const state = fromItem(item);
        if (state) {
          found.set(state.customerId, state);
          this.knowDueKey(state.customerId, state.version, item.dueAt?.N === undefined ? undefined : Number(item.dueAt.N));
        }
      }
    }
    return found;
  }

  private async batchGet(customerIds: string[], consistent: boolean): Promise<Item[]> {
    const items: Item[] = [];
    let keys: Item[] = customerIds.map((customerId) => ({ customerId: { S: customerId } }));
    for (let attempt = 0; attempt < this.batchGetAttempts; attempt++) {
      if (attempt > 0) await sleep(this.retryBaseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: keys,
              ConsistentRead: consistent,
              ProjectionExpression: 'customerId, v, body, o, dueAt',
            },
          },
        }),
      );
      items.push(...(Responses?.[this.tableName] ?? []));
      keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      if (keys.length === 0) return items;
    }
    throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${this.batchGetAttempts} attempts`);
  }

  async save(state: CustomerState, options?: SaveOptions): Promise<number> {
    const { version, orderMemory, inFlight, ...rest } = state;
    // Most states have nothing in flight: leave the key out rather than store a null.
    const body = inFlight === null ? rest : { ...rest, inFlight };
    const item: Item = {
      customerId: { S: state.customerId },
      v: { N: String(version + 1) },
      body: { B: packBody(JSON.stringify(body)) },
      listBucket: { N: String(dueBucketOf(state.customerId, this.dueBuckets)) },
    };
    const riskKey = riskRankKey(state);
    if (riskKey !== null) {
      item.riskPart = { N: RISK_PARTITION };
      item.riskKey = { S: riskKey };
    }
    // The order memory as binary: 12 bytes an order, where its JSON would take about 30.
    if (orderMemory.length > 0) item.o = { B: packOrderMemory(orderMemory) };
    let dueKey: number | undefined;
    if (state.dueAtMs !== null) {
      dueKey = state.dueAtMs;
      const known = options?.earlyDueKey ? this.knownDueKeys.get(state.customerId) : undefined;
      if (known?.version === version && known.dueAt !== undefined && known.dueAt <= dueKey && dueKey - known.dueAt <= this.dueKeySlackMs) dueKey = known.dueAt;
      item.dueBucket = { N: String(dueBucketOf(state.customerId, this.dueBuckets)) };
      item.dueAt = { N: String(dueKey) };
    }
    if (state.outbox.length > 0 && options?.pendingOutbox) {
      item.outboxBucket = { N: String(dueBucketOf(state.customerId, this.dueBuckets)) };
      item.outboxAt = { N: String(oldestAlertMs(state)) };
    }
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ...(version === 0
            ? { ConditionExpression: 'attribute_not_exists(customerId)' }
            : { ConditionExpression: 'v = :expected', ExpressionAttributeValues: { ':expected': { N: String(version) } } }),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') throw new VersionConflictError(state.customerId, version);
      throw error;
    }
    this.knowDueKey(state.customerId, version + 1, dueKey);
    return version + 1;
  }

  private knowDueKey(customerId: string, version: number, dueAt: number | undefined): void {
    if (this.knownDueKeys.size >= KNOWN_KEYS_MAX) this.knownDueKeys.clear();
    this.knownDueKeys.set(customerId, { version, dueAt });
  }

  async dueBefore(asOfMs: number, limit: number): Promise<string[]> {
    return this.earliestInIndex(DUE_INDEX, 'dueBucket', 'dueAt', asOfMs, limit);
  }

  async pendingOutboxes(limit: number): Promise<string[]> {
    return this.earliestInIndex(OUTBOX_INDEX, 'outboxBucket', 'outboxAt', Number.MAX_SAFE_INTEGER, limit);
  }

  /** The `limit` customers with the earliest `rangeKey` at or before `upTo` in a bucketed index. */
  private async earliestInIndex(index: string, hashKey: string, rangeKey: string, upTo: number, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    // Each bucket's `limit` earliest are enough to contain the global `limit` earliest.
    const buckets = Array.from({ length: this.dueBuckets }, (_, bucket) => this.earliestInBucket(index, hashKey, rangeKey, bucket, upTo, limit));
    const due = (await Promise.all(buckets)).flat();
    due.sort((a, b) => a.at - b.at || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
    return due.slice(0, limit).map((entry) => entry.customerId);
  }

  private async earliestInBucket(
    index: string,
    hashKey: string,
    rangeKey: string,
    bucket: number,
    upTo: number,
    limit: number,
  ): Promise<{ customerId: string; at: number }[]> {
    const due: { customerId: string; at: number }[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: '#h = :b AND #r <= :t',
          ExpressionAttributeNames: { '#h': hashKey, '#r': rangeKey },
          ExpressionAttributeValues: { ':b': { N: String(bucket) }, ':t': { N: String(upTo) } },
          Limit: Math.min(limit - due.length, this.pageSize ?? Number.MAX_SAFE_INTEGER),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) due.push({ customerId: item.customerId.S!, at: Number(item[rangeKey].N) });
      startKey = page.LastEvaluatedKey;
    } while (startKey && due.length < limit);
    return due;
  }

  async *scan(): AsyncIterable<CustomerState[]> {
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ProjectionExpression: 'customerId, v, body, o',
          Limit: this.pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      // The watermark item has no body, so fromItem skips it.
      const states = (page.Items ?? []).map(fromItem).filter((state): state is CustomerState => state !== undefined);
      if (states.length > 0) yield states;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async listCustomers(limit: number, after?: ListingPosition): Promise<{ states: CustomerState[]; next: ListingPosition | null }> {
    if (limit <= 0) return { states: [], next: null };
    const ids: string[] = [];
    let bucket = after?.bucket ?? 0;
    // DynamoDB refuses an empty key value: an empty id is the start of its bucket.
    let afterId = after?.afterId || undefined;
    // Buckets in turn, ids in order within each: at most `limit` keys read, plus one empty
    // answer per exhausted bucket.
    while (bucket < this.dueBuckets) {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: LIST_INDEX,
          KeyConditionExpression: afterId === undefined ? 'listBucket = :b' : 'listBucket = :b AND customerId > :after',
          ExpressionAttributeValues: { ':b': { N: String(bucket) }, ...(afterId === undefined ? {} : { ':after': { S: afterId } }) },
          Limit: limit - ids.length,
        }),
      );
      for (const item of page.Items ?? []) ids.push(item.customerId.S!);
      if (ids.length >= limit) return { states: await this.inOrder(ids), next: { bucket, afterId: ids[ids.length - 1] } };
      if (page.LastEvaluatedKey) afterId = page.LastEvaluatedKey.customerId.S!;
      else {
        bucket++;
        afterId = undefined;
      }
    }
    return { states: await this.inOrder(ids), next: null };
  }

  async atRiskCustomers(limit: number, after?: string): Promise<{ states: CustomerState[]; next: string | null }> {
    if (limit <= 0) return { states: [], next: null };
    if (after === '') after = undefined;
    const keys: string[] = [];
    const ids: string[] = [];
    let startKey: Item | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: RISK_INDEX,
        KeyConditionExpression: after === undefined ? 'riskPart = :p' : 'riskPart = :p AND riskKey < :after',
        ExpressionAttributeValues: { ':p': { N: RISK_PARTITION }, ...(after === undefined ? {} : { ':after': { S: after } }) },
        ScanIndexForward: false,
        Limit: limit - ids.length,
        ExclusiveStartKey: startKey,
      };
      const page = await this.client.send(new QueryCommand(input));
      for (const item of page.Items ?? []) {
        keys.push(item.riskKey.S!);
        ids.push(item.customerId.S!);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && ids.length < limit);
    // The index may lag a save briefly: a state no longer at risk is left out of the page.
    const states = (await this.inOrder(ids)).filter((state) => riskRankKey(state) !== null);
    return { states, next: startKey && ids.length > 0 ? keys[keys.length - 1] : null };
  }

  /** The states of `ids`, in that order (eventually consistent: listings, not decisions). */
  private async inOrder(ids: readonly string[]): Promise<CustomerState[]> {
    const found = await this.getMany(ids);
    return ids.map((id) => found.get(id)).filter((state): state is CustomerState => state !== undefined);
  }

  async getWatermark(): Promise<number> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { customerId: { S: WATERMARK_KEY } }, ConsistentRead: true }),
    );
    return Item?.wm?.N ? Number(Item.wm.N) : 0;
  }

  async advanceWatermark(ms: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { customerId: { S: WATERMARK_KEY } },
          UpdateExpression: 'SET wm = :w',
          ConditionExpression: 'attribute_not_exists(wm) OR wm < :w',
          ExpressionAttributeValues: { ':w': { N: String(ms) } },
        }),
      );
    } catch (error) {
      // Someone already raised it at least this far: the watermark only rises.
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }

  async isSettled(invocation: string): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { customerId: { S: SETTLED_KEY_PREFIX + invocation } }, ConsistentRead: true }),
    );
    // TTL deletes expired items within days, not at once: past its time a receipt counts as gone.
    return Item !== undefined && Number(Item.expiresAt?.N ?? 0) * 1000 > Date.now();
  }

  async noteSettled(invocation: string): Promise<void> {
    const expiresAt = Math.floor(Date.now() / 1000) + this.settledReceiptDays * 86_400;
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: { customerId: { S: SETTLED_KEY_PREFIX + invocation }, expiresAt: { N: String(expiresAt) } } }),
    );
  }
}

/**
 * The words a state body repeats: its field names and an alert's, and the sentinels. Deflate
 * with this as its preset dictionary codes each as a back-reference of two or three bytes, so a
 * body of about 900 bytes of JSON stores in about 300, and a save with an alert in the outbox
 * stays within the one-WCU kilobyte. Bodies name the dictionary they were packed with (their first
 * byte): this text must never change; a better one is added as version 2.
 */
const BODY_DICTIONARY_V1 = Buffer.from(
  '"drivers":{"recencyDays":0,"frequency":1,"tenureDays":0,"totalSpend":0,"pAlive":1}}},' +
    '"threshold":0.6,"modelVersion":"","asOf":"T00:00:00.000Z",' +
    '{"detailType":"Customer At Risk","detail":{"eventId":"","customerId":"","churnProbability":0.,"previousChurnProbability":0.,"clv":0.,' +
    '{"detailType":"Customer Recovered","detail":{"eventId":"","customerId":"","churnProbability":0,"previousChurnProbability":0.,"clv":0.,' +
    '"score":{"asOfMs":1,"modelVersion":"","churnProbability":0,"clv":0,"pAlive":1,"expectedPurchases":0,"expectedSpend":0},' +
    '"atRisk":false,"dueAtMs":null,"transitions":0,"outbox":[]}' +
    '"weekOrders":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"weekCents":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],' +
    '"positions":{"orders/shardId-000000000000":"4959"},' +
    '"firstEventMs":1,"lastEventMs":1,"ringWeek":-1,"country":null,"countryMs":-9007199254740991,' +
    '"orders":1,"units":1,"spendCents":0,"firstDaySpendCents":0,"maxOrderCents":0,"returns":0,"returnCents":0,' +
    '{"format":2,"customerId":"","firstDay":-1,"lastDay":-1,"occasions":0,"dayBits":[0,0,0,0,0,0,0,0],',
);
const BODY_PACKED_V1 = 1;

/** A state body as stored: deflated against BODY_DICTIONARY_V1, behind its version byte. */
function packBody(json: string): Uint8Array {
  const packed = deflateRawSync(json, { dictionary: BODY_DICTIONARY_V1, level: 9 });
  const out = new Uint8Array(packed.length + 1);
  out[0] = BODY_PACKED_V1;
  out.set(packed, 1);
  return out;
}

/** The JSON of a stored body: packed (binary, since this format) or plain text (earlier items). */
export function bodyJson(item: Item): string | undefined {
  if (item.body?.S !== undefined) return item.body.S;
  const packed = item.body?.B;
  if (packed === undefined) return undefined;
  if (packed[0] !== BODY_PACKED_V1) throw new Error(`state body of ${item.customerId?.S} packed with unknown dictionary ${packed[0]}`);
  return inflateRawSync(packed.subarray(1), { dictionary: BODY_DICTIONARY_V1 }).toString('utf8');
}

function fromItem(item: Item): CustomerState | undefined {
  const json = bodyJson(item);
  if (json === undefined || item.v?.N === undefined) return undefined;
  const state = JSON.parse(json) as CustomerState & { recentOrders?: LegacyRecentOrder[] };
  state.version = Number(item.v.N);
  if (state.recentOrders === undefined && item.o?.B) state.orderMemory = unpackOrderMemory(item.o.B);
  return upgradeStoredState(state);
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
