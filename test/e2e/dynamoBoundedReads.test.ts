import type { BatchGetItemCommandOutput, DynamoDBClient, QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../api/apiService.ts';
import { createApiHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent } from '../../api/http/events.ts';
import { dynamoClient } from '../../aws/clients.ts';
import { startDynalite, type LocalPeer } from '../../bin/localStack/embeddedPeers.ts';
import { createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { BtydModel } from '../../models/clv/btydModel.ts';
import { trainBtyd } from '../../models/clv/btydTraining.ts';
import { applyEvent, emptyState } from '../../models/customer/customerState.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { MemoryLakeQueries } from '../support/memoryLakeQueries.ts';

/*
 * The API over the DynamoDB store on dynalite, 1,000 customers: every call the API makes is
 * counted by command, with the items each Query and BatchGetItem returned. A listing page reads
 * one page of the list-index and BatchGets its states; the at-risk list one page of the sparse
 * risk-index; no request ever sends a Scan (the API's role has no dynamodb:Scan). The same bound
 * at 50,000 customers is shown with the memory store (test/unit/apiBoundedReads.test.ts).
 */

const DAY = 86_400_000;
const START = Date.parse('2024-01-01T00:00:00Z');

let dynalite: LocalPeer;
let client: DynamoDBClient;
const counts = { commands: new Map<string, number>(), items: 0 };

beforeAll(async () => {
  dynalite = await startDynalite();
  client = dynamoClient({ endpoint: dynalite.endpoint });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const name = context.commandName ?? 'unknown';
      counts.commands.set(name, (counts.commands.get(name) ?? 0) + 1);
      if (context.commandName === 'QueryCommand') counts.items += (result.output as QueryCommandOutput).ScannedCount ?? 0;
      if (context.commandName === 'BatchGetItemCommand') for (const items of Object.values((result.output as BatchGetItemCommandOutput).Responses ?? {})) counts.items += items.length;
      return result;
    },
    { step: 'initialize', name: 'countReads' },
  );
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

function orderOf(customerId: string, n: number, dayOffset: number): OrderEvent {
  return { type: 'order', orderId: `${customerId}-o${n}`, customerId, occurredAt: new Date(START + dayOffset * DAY).toISOString(), lines: [{ productId: 'P-1', quantity: 1, unitPrice: 20 + n }] };
}

describe('the API on DynamoDB reads one index page and its states per request', () => {
  it('at 1,000 customers: listing, at-risk and by-id requests read at most their page, and never Scan', async () => {
    await createStateTable(client, 'bounded');
    const store = new DynamoStateStore({ client, tableName: 'bounded' });
    const ids = Array.from({ length: 1_000 }, (_, i) => `C${String(i).padStart(5, '0')}`);
    const events: OrderEvent[] = [];
    for (let at = 0; at < ids.length; at += 50) {
      await Promise.all(
        ids.slice(at, at + 50).map((id, k) => {
          const i = at + k;
          const state = emptyState(id);
          for (const event of [orderOf(id, 1, i % 100), orderOf(id, 2, 150 + (i % 50))]) {
            applyEvent(state, event);
            events.push(event);
          }
          state.score = { asOfMs: START + 210 * DAY, modelVersion: 'seed', churnProbability: 0.5 + (i % 50) / 100, clv: 10 + (i % 97), pAlive: 0.5, expectedPurchases: 1, expectedSpend: 25 };
          state.atRisk = i % 4 === 0;
          return store.save(state);
        }),
      );
    }
    await store.advanceWatermark(START + 210 * DAY);
    const model = BtydModel.load(trainBtyd(events, { calibrationEnd: '2024-06-01', horizonDays: 90 }));
    const service = new ApiService({ lake: new MemoryLakeQueries([]), store: new DynamoStateStore({ client, tableName: 'bounded' }), model });
    const handler = createApiHandler({ service: () => service });
    const reads = async (method: string, url: string, body?: unknown) => {
      counts.commands.clear();
      counts.items = 0;
      const response = await handler(httpApiEvent({ method, url, body }));
      expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
      return { body: JSON.parse(response.body), items: counts.items, commands: Object.fromEntries(counts.commands) };
    };

    const listing = await reads('POST', '/demand-insights/clv', { limit: 100 });
    expect(listing.body.customers).toHaveLength(100);
    // 100 keys from the list-index, 100 states: nothing else but the watermark.
    expect(listing.items).toBeLessThanOrEqual(200);
    expect(listing.commands.ScanCommand).toBeUndefined();
    const listed = new Set<string>(listing.body.customers.map((row: { customer_id: string }) => row.customer_id));
    let cursor = listing.body.next_cursor;
    while (cursor) {
      const page = await reads('POST', '/demand-insights/clv', { limit: 100, cursor });
      expect(page.items).toBeLessThanOrEqual(200);
      expect(page.commands.ScanCommand).toBeUndefined();
      for (const row of page.body.customers) listed.add(row.customer_id);
      cursor = page.body.next_cursor;
    }
    expect(listed).toEqual(new Set(ids));

    const atRisk = await reads('GET', '/demand-insights/at-risk-customers?threshold=0&limit=50');
    expect(atRisk.body.customers).toHaveLength(50);
    expect(atRisk.items).toBeLessThanOrEqual(100);
    expect(atRisk.commands).toMatchObject({ QueryCommand: 1, BatchGetItemCommand: 1 });
    const flaggedAt = atRisk.body.customers.map((row: { customer_id: string }) => Number(row.customer_id.slice(1)));
    for (const i of flaggedAt) expect(i % 4, "only customers flagged at risk").toBe(0);

    const byId = await reads('POST', '/demand-insights/churn', { customer_ids: ['C00001', 'C00002', 'C00999'] });
    expect(byId.items).toBe(3);
    expect(byId.commands.QueryCommand).toBeUndefined();
    expect(byId.commands.ScanCommand).toBeUndefined();
  }, 300_000);
});
