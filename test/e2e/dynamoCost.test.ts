import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bill, billedClient } from '../../bench/dynamoBench.ts';
import { startDynalite, type LocalPeer } from '../../bin/localStack/embeddedPeers.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { order } from '../support/orderEvents.ts';
import { memorySinkDeps, streamBatch } from '../support/memoryConsumer.ts';

const DAY = 86_400_000;

let dynalite: LocalPeer;
let billed: { client: DynamoDBClient; bill: Bill };
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  billed = billedClient(dynalite.endpoint);
});

afterAll(async () => {
  billed?.client.destroy();
  await dynalite?.close();
});

async function consumer(): Promise<ConsumerDeps> {
  const tableName = `cost-${++tables}`;
  await createStateTable(billed.client, tableName);
  return memorySinkDeps(new DynamoStateStore({ client: billed.client, tableName, retryBaseDelayMs: 1 }));
}

const batch = streamBatch;

const at = (day: number) => new Date(Date.parse('2024-01-01T10:00:00Z') + day * DAY).toISOString();

describe('what the consumer costs on DynamoDB (dynalite, billed as DynamoDB)', () => {
  it('reads each stored customer of a batch at the eventually consistent price: half a unit per item under 4 KB', async () => {
    const deps = await consumer();
    const handler = createKinesisHandler(() => deps);
    const customers = Array.from({ length: 40 }, (_, i) => `c${i}`);
    await handler(batch(customers.map((id) => order(id, `${id}-1`, at(0))), 0));
    const before = billed.bill.rcu;
    const { batchItemFailures } = await handler(batch(customers.map((id) => order(id, `${id}-2`, at(3))), 40));
    expect(batchItemFailures).toEqual([]);
    expect((billed.bill.rcu - before) / customers.length).toBe(0.5);
    const state = (await deps.store.getMany(['c7'])).get('c7')!;
    expect(state.orders).toBe(2);
  });

  it('writes one unit per save, even a save that carries two alerts, and none to clear them: one small receipt per invocation instead', async () => {
    const deps = await consumer();
    const handler = createKinesisHandler(() => deps);
    await handler(batch([order('c1', 'o1', at(0)), order('c1', 'o2', at(30))], 0));
    const before = { ...billed.bill.detail };
    // Silent for 200 days, then back: the at-risk alert as of its day, then the recovery, in one save.
    const { batchItemFailures } = await handler(batch([order('c1', 'o3', at(230))], 2));
    expect(batchItemFailures).toEqual([]);
    expect((deps.alerts as MemoryAlertSink).delivered.map((alert) => alert.detailType)).toEqual(['Customer At Risk', 'Customer Recovered']);
    // The save with the two alerts in flight, published with no second write of the item.
    expect(billed.bill.detail.PutItemCommand - before.PutItemCommand).toBe(1);
    expect(billed.bill.detail.settledReceipt - (before.settledReceipt ?? 0)).toBe(1);
    const stored = (await deps.store.getMany(['c1'])).get('c1')!;
    expect(stored.outbox).toEqual([]);
    expect(stored.inFlight?.alerts).toHaveLength(2);
  });

  it('keeps a customer indexed under its earlier due time while orders move it later, and the sweep then indexes the exact one once', async () => {
    const deps = await consumer();
    const handler = createKinesisHandler(() => deps);
    await handler(batch([order('c1', 'o1', at(0)), order('c1', 'o2', at(20))], 0));
    const firstDue = (await deps.store.getMany(['c1'])).get('c1')!.dueAtMs!;
    const before = billed.bill.detail.index ?? 0;
    await handler(batch([order('c1', 'o3', at(30))], 2));
    const state = (await deps.store.getMany(['c1'])).get('c1')!;
    expect(state.dueAtMs).toBeGreaterThan(firstDue);
    expect(state.dueAtMs! - firstDue).toBeLessThanOrEqual(60 * DAY);
    expect((billed.bill.detail.index ?? 0) - before).toBe(0);

    // Past the indexed time, before the true due day: listed early, rescored not at all, indexed anew.
    const early = firstDue + 2 * DAY;
    expect(early).toBeLessThan(state.dueAtMs! - DAY);
    expect(await sweepAll(deps, early, 10)).toMatchObject({ due: 1, rescored: 0, reindexed: 1, alertsPublished: 0 });
    expect(await deps.store.dueBefore(early, 10)).toEqual([]);
    expect(await deps.store.dueBefore(state.dueAtMs!, 10)).toEqual(['c1']);
    // On its true due day it is rescored, with the alert a sweep without the early key announces.
    const due = await sweepAll(deps, state.dueAtMs! + 2 * DAY, 10);
    expect(due).toMatchObject({ rescored: 1, reindexed: 0 });
    expect((deps.alerts as MemoryAlertSink).delivered.map((alert) => alert.detailType)).toEqual(['Customer At Risk']);
  });
});

