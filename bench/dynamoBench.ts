import { fileURLToPath } from 'node:url';
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { dynamoClient } from '../aws/clients.ts';
import { startDynalite } from '../bin/localStack/embeddedPeers.ts';
import { MemoryAlertSink } from '../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../consumers/kinesisHandler.ts';
import { createStateTable, DynamoStateStore, SETTLED_KEY_PREFIX, WATERMARK_KEY } from '../consumers/stateStore/dynamoStateStore.ts';
import { sweepAll } from '../consumers/sweep.ts';
import { WatermarkTracker } from '../consumers/watermark.ts';
import { loadModel } from '../models/clv/modelArtifact.ts';
import { trainHybridFromEvents } from '../models/clv/hybridTraining.ts';
import { DEFAULT_RISK_POLICY } from '../models/customer/riskPolicy.ts';
import { dayIndex } from '../models/time/calendar.ts';
import { DATASET_FORMATS, readDataset } from '../producers/datasets/index.ts';
import { toKinesisEvents } from './kinesisBatches.ts';

const CDNOW_MASTER = fileURLToPath(new URL('../../shared/data/cdnow/CDNOW_master.txt', import.meta.url));

const OptionsSchema = z.object({
  data: z.string().min(1).default(CDNOW_MASTER),
  format: z.enum(DATASET_FORMATS).default('cdnow'),
  json: z.boolean().default(false),
});

type Item = Record<string, AttributeValue>;

/** What the replay cost, billed as DynamoDB on-demand bills it. */
export interface Bill {
  wcu: number;
  rcu: number;
  /** Write requests to the watermark item. */
  watermarkWrites: number;
  /** Where the capacity went: per command for the table, `index` for the GSIs, `failedWrite` for lost conditions. */
  detail: Record<string, number>;
}

/**
 * Bills every call a DynamoDB client makes as DynamoDB does, on top of what dynalite reports
 * with ReturnConsumedCapacity (which already takes the larger of the old and new item for a
 * write, one unit per started KB, and one per started 4 KB for a consistent read, half that for
 * an eventually consistent one). Dynalite leaves out two charges, added here:
 * - the four indexes (due, outbox, list, risk): a KEYS_ONLY GSI item is under 1 KB, so adding or removing a
 *   customer's entry in either costs 1 WCU and changing its key 2 (a delete and a put); an
 *   unchanged key costs nothing.
 *   The previous key of each item comes from a shadow of what this client wrote (the bench
 *   starts from an empty table, so the shadow is complete);
 * - a conditional write that fails is charged as if written (1 WCU per started KB of the item).
 * Writes of the settled receipts are noted apart (`settledReceipt`), reads of them as GetItemCommand.
 */
export function billedClient(endpoint: string): { client: DynamoDBClient; bill: Bill } {
  const client = dynamoClient({ endpoint });
  const bill: Bill = { wcu: 0, rcu: 0, watermarkWrites: 0, detail: {} };
  const note = (what: string, units: number) => (bill.detail[what] = (bill.detail[what] ?? 0) + units);
  const indexKeys = new Map<string, string>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const command = context.commandName as string;
      const writes = command === 'PutItemCommand' || command === 'UpdateItemCommand' || command === 'DeleteItemCommand';
      const reads = command === 'GetItemCommand' || command === 'BatchGetItemCommand' || command === 'QueryCommand';
      const item = (input.Item ?? input.Key) as Item | undefined;
      const customerId = item?.customerId?.S;
      if (writes && customerId === WATERMARK_KEY) bill.watermarkWrites++;
      if (!writes && !reads) return next(args);
      try {
        const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'INDEXES' } });
        const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
        const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        if (writes) {
          bill.wcu += units;
          // The settled receipts (one small item per invocation with alerts in flight) apart.
          note(customerId?.startsWith(SETTLED_KEY_PREFIX) ? 'settledReceipt' : command, units);
          if (command === 'PutItemCommand' && customerId !== undefined) {
            for (const [index, units] of indexWrites(indexKeys, customerId, item!)) {
              bill.wcu += units;
              note(`index:${index}`, units);
            }
          }
        } else {
          bill.rcu += units;
          note(command, units);
        }
        return result;
      } catch (error) {
        if (writes && (error as Error).name === 'ConditionalCheckFailedException') {
          const units = Math.max(1, Math.ceil(itemBytes(item ?? {}) / 1024));
          bill.wcu += units;
          note('failedWrite', units);
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'billAsDynamoDb' },
  );
  return { client, bill };
}

/** The sparse KEYS_ONLY indexes a customer item may appear in, by their key attributes. */
const INDEX_KEYS = [
  ['due', 'dueBucket', 'dueAt'],
  ['outbox', 'outboxBucket', 'outboxAt'],
  ['list', 'listBucket', 'customerId'],
  ['risk', 'riskPart', 'riskKey'],
] as const;

function indexWrites(indexKeys: Map<string, string>, customerId: string, item: Item): [string, number][] {
  const units: [string, number][] = [];
  for (const [index, hash, range] of INDEX_KEYS) {
    const shadowKey = `${index}\u0000${customerId}`;
    const before = indexKeys.get(shadowKey);
    const hashValue = item[hash]?.N ?? item[hash]?.S;
    const rangeValue = item[range]?.N ?? item[range]?.S;
    const after = hashValue !== undefined && rangeValue !== undefined ? `${hashValue}/${rangeValue}` : undefined;
    if (before === after) continue;
    if (after === undefined) indexKeys.delete(shadowKey);
    else indexKeys.set(shadowKey, after);
    units.push([index, (before === undefined ? 0 : 1) + (after === undefined ? 0 : 1)]);
  }
  return units;
}

/** An item's size as DynamoDB counts it: attribute names plus values (numbers: about a byte per two digits, plus one). */
export function itemBytes(item: Item): number {
  let bytes = 0;
  for (const name in item) bytes += Buffer.byteLength(name) + valueBytes(item[name]);
  return bytes;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-/, '').replace(/^0+(?=\d)/, '').replace('.', '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value.M !== undefined) return 3 + itemBytes(value.M) + Object.keys(value.M).length;
  return 0;
}

/**
 * `bench dynamo`: what the streaming path costs in DynamoDB capacity. A dataset (CDNOW by
 * default) is replayed in event-time order through the real Kinesis handler, in Kinesis-shaped
 * batches of 100 from one shard, against dynalite through a client that bills each call as
 * DynamoDB does (billedClient), with the hybrid model trained on the calibration period and the
 * sweep run once per event-time day after a batch, as the local stack runs it. Capacity is
 * divided by the events replayed; item sizes are those of the stored customer items at the end.
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const options = OptionsSchema.parse({ data: rawOptions.data, format: rawOptions.format, json: rawOptions.json ?? false });
  const { events } = await readDataset(options.data, options.format);
  const lastDay = dayIndex(Date.parse(events[events.length - 1].occurredAt));
  const firstDay = dayIndex(Date.parse(events[0].occurredAt));
  const calibrationEnd = new Date((firstDay + Math.floor((lastDay - firstDay) * 0.7)) * 86_400_000).toISOString().slice(0, 10);
  const model = loadModel(JSON.parse(JSON.stringify(trainHybridFromEvents(events, { calibrationEnd, horizonDays: 90 }))));

  const dynalite = await startDynalite();
  const { client, bill } = billedClient(dynalite.endpoint);
  try {
    await createStateTable(client, 'bench-customers');
    const deps: ConsumerDeps = {
      store: new DynamoStateStore({ client, tableName: 'bench-customers' }),
      alerts: new MemoryAlertSink(),
      deadLetters: new MemoryDeadLetterSink(),
      model,
      policy: DEFAULT_RISK_POLICY,
      metrics: new CounterMetrics(),
      clock: 'event',
    };
    // The sweep goes by the container's own watermark, as the local runner's does: the stored
    // one is written once a minute of wall time, so sweeping by it would sweep far less often
    // than a deployment does (and bill a read per batch the handler never makes).
    const tracker = new WatermarkTracker();
    deps.watermark = tracker;
    const handler = createKinesisHandler(() => deps);
    const batches = toKinesisEvents(events, 100);
    let sweptDay = Number.NEGATIVE_INFINITY;
    for (const batch of batches) {
      const { batchItemFailures } = await handler(batch);
      if (batchItemFailures.length > 0) throw new Error(`a batch failed on dynalite: ${batchItemFailures.length} records`);
      const watermark = tracker.low();
      if (dayIndex(watermark) > sweptDay) {
        sweptDay = dayIndex(watermark);
        await sweepAll(deps, watermark, 500);
      }
    }
    const billed = { ...bill, detail: { ...bill.detail } };
    const sizes = await storedItemSizes(client, 'bench-customers');
    const result = {
      events: events.length,
      customers: sizes.length,
      wcuPerEvent: round(billed.wcu / events.length, 3),
      rcuPerEvent: round(billed.rcu / events.length, 3),
      watermarkWritesPerBatch: round(billed.watermarkWrites / batches.length, 3),
      itemBytes: { p50: quantile(sizes, 0.5), p99: quantile(sizes, 0.99), max: sizes[sizes.length - 1] ?? 0 },
    };
    if (options.json) {
      process.stderr.write(`capacity by source, per event: ${JSON.stringify(Object.fromEntries(Object.entries(billed.detail).map(([what, units]) => [what, round(units / events.length, 3)])))}\n`);
      process.stderr.write(`consumer and sweep counters: ${JSON.stringify((deps.metrics as CounterMetrics).counters)}\n`);
    }
    process.stdout.write(
      options.json
        ? `${JSON.stringify(result)}\n`
        : [
            `dynamo benchmark: ${result.events} events of ${result.customers} customers, ${batches.length} batches of 100, billed as DynamoDB on-demand`,
            `  WCU per event                ${result.wcuPerEvent}`,
            `  RCU per event                ${result.rcuPerEvent}`,
            `  watermark writes per batch   ${result.watermarkWritesPerBatch}`,
            `  item bytes p50 / p99 / max   ${result.itemBytes.p50} / ${result.itemBytes.p99} / ${result.itemBytes.max}`,
            `  capacity by source (per event): ${Object.entries(billed.detail).map(([what, units]) => `${what} ${round(units / events.length, 3)}`).join(', ')}`,
            '',
          ].join('\n'),
    );
  } finally {
    client.destroy();
    await dynalite.close();
  }
}

/** Sizes of the customer items (ascending), read after the replay and not billed. */
async function storedItemSizes(client: DynamoDBClient, tableName: string): Promise<number[]> {
  const sizes: number[] = [];
  let startKey: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) if (!item.customerId.S!.startsWith('\u0000')) sizes.push(itemBytes(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return sizes.sort((a, b) => a - b);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
