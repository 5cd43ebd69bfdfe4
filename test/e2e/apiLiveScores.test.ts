import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { dynamoClient, kinesisClient } from '../../aws/clients.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { pollStream } from '../../bin/localStack/eventSourcePoller.ts';
import { type LocalPeer, startDynalite, startKinesalite } from '../../bin/localStack/embeddedPeers.ts';
import { createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { startLocalApi, type LocalApi } from '../../bin/commands/serve.ts';
import { BtydModel } from '../../models/clv/btydModel.ts';
import { trainBtyd } from '../../models/clv/btydTraining.ts';
import { dayIndex, isoDay } from '../../models/time/calendar.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { applyEvent, type CustomerState, emptyState } from '../../models/customer/customerState.ts';
import { DEFAULT_RISK_POLICY, rescore } from '../../models/customer/riskPolicy.ts';
import { ensureStream, KinesisProducer } from '../../producers/kinesisProducer.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

/*
 * An order event's effect becomes visible in clv/churn on the local stack, through
 * the real pieces, each on its own local peer. An order event goes to the Kinesis stand-in
 * (kinesalite) through the producer; the consumer Lambda handler, polled the way the event source
 * mapping does (200 ms batching window), applies it to the customer's state in DynamoDB
 * (dynalite) and saves it; the API (DuckDB lake, `serve`'s startLocalApi) reads that table, and
 * the test asks it over HTTP until the change shows: for named customers, for the all-customers
 * listing (read live, a page of the store's listing index).
 * How fast it shows is a measurement, not a test outcome: the waits below only give up on a
 * change that never arrives.
 */

const STREAM = 'orders-api-live';
const TABLE = 'customers-api-live';
const all = generateEvents({ customers: 300, days: 400, seed: 17, start: '2024-01-01' });
const cutoffMs = Date.parse(all[all.length - 1].occurredAt) - 30 * 86_400_000;
const history = all.filter((event) => Date.parse(event.occurredAt) <= cutoffMs);
const lastHistoryMs = Date.parse(history[history.length - 1].occurredAt);

let kinesalite: LocalPeer;
let dynalite: LocalPeer;
let kinesis: ReturnType<typeof kinesisClient>;
let dynamo: ReturnType<typeof dynamoClient>;
let api: LocalApi;
let lakeDir: string;
let consumerDone: Promise<unknown>;
let stopConsumer = false;
let streamCustomer: string;
let lakeCustomer: string;

beforeAll(async () => {
  kinesalite = await startKinesalite();
  dynalite = await startDynalite();
  kinesis = kinesisClient({ endpoint: kinesalite.endpoint });
  dynamo = dynamoClient({ endpoint: dynalite.endpoint });
  await ensureStream(kinesis, STREAM, 1);
  await createStateTable(dynamo, TABLE);
  const store = new DynamoStateStore({ client: dynamo, tableName: TABLE });
  const model = BtydModel.load(trainBtyd(history, { calibrationEnd: isoDay(dayIndex(lastHistoryMs)), horizonDays: 90 }));

  const deps: ConsumerDeps = {
    store,
    alerts: new MemoryAlertSink(),
    deadLetters: new MemoryDeadLetterSink(),
    model,
    policy: DEFAULT_RISK_POLICY,
    metrics: new CounterMetrics(),
    clock: 'event',
  };
  consumerDone = pollStream({
    client: kinesis,
    streamName: STREAM,
    region: 'us-east-1',
    handler: createKinesisHandler(() => deps),
    batchSize: 100,
    batchingWindowMs: 200,
    maxRetries: 5,
    producerDone: () => stopConsumer,
  });

  // As `local` does: the store starts from the history, here for the customers active in its last
  // 60 days (the stream "has seen" them); the others are known to the lake only.
  const recentSince = lastHistoryMs - 60 * 86_400_000;
  const recent = new Set(history.filter((event) => Date.parse(event.occurredAt) >= recentSince).map((event) => event.customerId));
  const states = new Map<string, CustomerState>();
  for (const event of history) {
    if (!recent.has(event.customerId)) continue;
    let state = states.get(event.customerId);
    if (!state) states.set(event.customerId, (state = emptyState(event.customerId)));
    applyEvent(state, event);
  }
  for (const state of states.values()) {
    rescore(state, model, DEFAULT_RISK_POLICY, lastHistoryMs);
    state.outbox = [];
    await store.save(state);
  }
  await store.advanceWatermark(lastHistoryMs);
  streamCustomer = [...states.keys()][0];
  lakeCustomer = history.find((event) => !recent.has(event.customerId))!.customerId;

  lakeDir = await mkdtemp(join(tmpdir(), 'di-api-live-'));
  api = await startLocalApi({ events: history, lakeOut: lakeDir, model, store });
});

afterAll(async () => {
  stopConsumer = true;
  await consumerDone?.catch(() => undefined);
  await api?.close();
  kinesis?.destroy();
  dynamo?.destroy();
  await kinesalite?.close();
  await dynalite?.close();
  if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
});

async function post(path: string, body: unknown) {
  const response = await fetch(`${api.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function get(path: string) {
  const response = await fetch(`${api.server.url}${path}`);
  return { status: response.status, body: await response.json() };
}

/** Polls `visible` every `everyMs` until it holds; false if it never did within `giveUpMs` (a give-up, not a latency goal). */
async function eventually(visible: () => Promise<boolean>, giveUpMs = 30_000, everyMs = 25): Promise<boolean> {
  const deadline = Date.now() + giveUpMs;
  for (;;) {
    if (await visible()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Sends the events through the producer, then waits for `visible` to hold. */
async function sendAndSee(events: OrderEvent[], visible: () => Promise<boolean>): Promise<boolean> {
  const sent = await new KinesisProducer({ client: kinesis, streamName: STREAM }).send(events);
  expect(sent.failed).toEqual([]);
  return eventually(visible);
}

function orderFor(customerId: string, orderId: string, amount: number): OrderEvent {
  return {
    type: 'order',
    orderId,
    customerId,
    occurredAt: new Date(lastHistoryMs + 86_400_000).toISOString(),
    lines: [{ productId: 'P0001', quantity: 1, unitPrice: amount }],
  };
}

describe('an order event reaches clv/churn on the local stack', () => {
  it('for a customer the stream has seen: recency 0, spend up by the order', async () => {
    const before = (await post('/demand-insights/clv', { customer_ids: [streamCustomer] })).body.customers[0];
    expect(before).toMatchObject({ found: true, source: 'stream' });
    const seen = await sendAndSee([orderFor(streamCustomer, 'live-1', 80)], async () => {
      const row = (await post('/demand-insights/clv', { customer_ids: [streamCustomer] })).body.customers[0];
      return Math.abs(row.total_spend - (before.total_spend + 80)) < 1e-6;
    });
    expect(seen, 'total_spend up by the order').toBe(true);
    const churn = (await post('/demand-insights/churn', { customer_ids: [streamCustomer] })).body.customers[0];
    expect(churn).toMatchObject({ source: 'stream', recency_days: 0 });
  });

  it('for a customer the API knew only from the lake: the row turns "stream"', async () => {
    const before = await post('/demand-insights/churn', { customer_ids: [lakeCustomer] });
    expect(before.body.customers[0]).toMatchObject({ found: true, source: 'lake' });
    const seen = await sendAndSee([orderFor(lakeCustomer, 'live-3', 25)], async () => {
      const row = (await post('/demand-insights/churn', { customer_ids: [lakeCustomer] })).body.customers[0];
      return row.source === 'stream' && row.recency_days === 0;
    });
    expect(seen, 'source "stream" with recency 0').toBe(true);
  });

  it('for a customer nobody had seen: found by id, then in the listing, and not at risk after its first order', async () => {
    const customerId = 'brand-new-customer';
    expect((await post('/demand-insights/clv', { customer_ids: [customerId] })).status).toBe(404);
    const named = await sendAndSee([orderFor(customerId, 'live-2', 40)], async () => (await post('/demand-insights/clv', { customer_ids: [customerId] })).status === 200);
    expect(named, 'found by id').toBe(true);

    const listed = await eventually(async () => {
      const page = await post('/demand-insights/churn', { limit: 5000 });
      return page.body.customers.some((row: { customer_id: string; source: string }) => row.customer_id === customerId && row.source === 'stream');
    });
    expect(listed, 'in the all-customers listing as "stream"').toBe(true);
    // The at-risk list is the scorer's flag (an order never announces risk), from the risk index.
    const risk = await get('/demand-insights/at-risk-customers?threshold=0&limit=1000');
    expect(risk.status).toBe(200);
    expect(risk.body.customers.some((row: { customer_id: string }) => row.customer_id === customerId)).toBe(false);
  });
});
