import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KinesisStreamEvent } from 'aws-lambda';
import { kinesisRecord } from '../../bench/kinesisBatches.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import { runSweep } from '../../consumers/sweep.ts';
import type { CustomerState } from '../../models/customer/customerState.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { alertEventId } from '../../models/customer/riskPolicy.ts';
import { deliverWithinRetryBudget, startConsumerPeers } from '../support/consumerHarness.ts';
import type { AcceptedEntry } from '../support/eventBridgeEndpoint.ts';
import { order } from '../support/orderEvents.ts';
import { RecencyModel } from '../support/recencyModel.ts';

// Churn = 1 - exp(-silentDays / 20): a customer crosses 0.6 on the 19th silent day.
const model = new RecencyModel(20);
/** The event source mapping's MaximumRetryAttempts (terraform/variables.tf, maximum_retry_attempts). */
const RETRY_BUDGET = 10;
const at = (iso: string) => Date.parse(iso);

/** Kinesis batches with one shard's increasing sequence numbers across calls. */
function batcher() {
  let next = 0;
  return (events: OrderEvent[]): KinesisStreamEvent => ({
    Records: events.map((event) => kinesisRecord(Buffer.from(JSON.stringify(event)).toString('base64'), event.customerId, next++)),
  });
}

async function allStates(store: StateStore): Promise<CustomerState[]> {
  const states: CustomerState[] = [];
  for await (const page of store.scan()) states.push(...page);
  return states;
}

const eventIdOf = (entry: { Detail?: string }) => (JSON.parse(entry.Detail!) as { eventId: string }).eventId;
const customerOf = (entry: { Detail?: string }) => (JSON.parse(entry.Detail!) as { customerId: string }).customerId;

describe('every alert is delivered, against dynalite and the EventBridge and SQS endpoints', () => {
  let down = false;
  let peers: Awaited<ReturnType<typeof startConsumerPeers>>;
  beforeAll(async () => {
    peers = await startConsumerPeers({
      failCall: () => (down ? 'internal' : undefined),
      // One customer's alerts are refused for good, as a rule or a permission would refuse them.
      failEntry: (entry) => (customerOf(entry) === 'refused' ? { code: 'InvalidArgument', message: 'Parameter Detail is not valid.' } : undefined),
    });
  });
  afterAll(() => peers.close());

  it('after an EventBridge outage twice the retry budget, the sweep delivers every pending alert exactly once, with its original id', async () => {
    const deps = await peers.deps(model);
    const handler = createKinesisHandler(() => deps);
    const batch = batcher();
    const accepted = (): AcceptedEntry[] => peers.eventBridge.received.filter((entry) => customerOf(entry).startsWith('out-'));
    const silent = ['out-1', 'out-2', 'out-3', 'out-4', 'out-5'];

    // Before the outage: 'out-back' falls silent and is announced at risk.
    expect(await deliverWithinRetryBudget(handler, batch([order('out-back', 'b0', '2023-11-25T10:00:00Z', 30), order('out-back', 'b1', '2023-12-01T10:00:00Z', 30)]), RETRY_BUDGET)).toEqual({ attempts: 1, gaveUp: false });
    expect((await runSweep(deps, at('2023-12-25T00:00:00Z'), 100)).alertsPublished).toBe(1);
    expect(await deliverWithinRetryBudget(handler, batch(silent.flatMap((id, i) => [order(id, `s${i}-0`, '2023-12-28T10:00:00Z', 20), order(id, `s${i}`, '2024-01-01T10:00:00Z', 20 + i)])), RETRY_BUDGET)).toMatchObject({ gaveUp: false });
    expect(accepted().map(eventIdOf)).toEqual([alertEventId('out-back', 'Customer At Risk', 1)]);

    // The outage, for twice the event source mapping's retry budget: the five silent customers
    // cross the threshold in the sweep, and 'out-back' buys again (a recovery decided by the consumer).
    down = true;
    try {
      const comeback = batch([order('out-back', 'b2', '2024-01-24T09:00:00Z', 40)]);
      let comebackDone = false;
      for (let tick = 0; tick < 2 * (RETRY_BUDGET + 1); tick++) {
        await runSweep(deps, at('2024-01-25T00:00:00Z'), 100);
        if (!comebackDone) comebackDone = (await handler(comeback)).batchItemFailures.length === 0;
      }
      expect(peers.eventBridge.calls.filter((call) => call.outcome === 'internal').length).toBeGreaterThan(0);
    } finally {
      down = false;
    }
    expect(accepted()).toHaveLength(1);
    const stored = await allStates(deps.store);
    const pending = stored.flatMap((state) => state.outbox.map((alert) => alert.detail.eventId)).sort();
    const expected = [...silent.map((id) => alertEventId(id, 'Customer At Risk', 1)), alertEventId('out-back', 'Customer Recovered', 2)].sort();
    expect(pending).toEqual(expected);
    const back = stored.find((state) => state.customerId === 'out-back')!;
    expect(back.orders).toBe(3);

    // EventBridge answers again: the next scheduled sweep delivers each of them once.
    await runSweep(deps, at('2024-01-25T00:00:00Z'), 100);
    await runSweep(deps, at('2024-01-25T00:00:00Z'), 100);
    const delivered = accepted().slice(1).map(eventIdOf);
    expect(delivered.sort()).toEqual(expected);
    for (const state of await allStates(deps.store)) expect(state.outbox).toEqual([]);
  });

  it('dead-letters an alert EventBridge refuses for good, with its error code, and applies the customer\'s later records', async () => {
    const deps = await peers.deps(model);
    const handler = createKinesisHandler(() => deps);
    const batch = batcher();
    const lettersBefore = peers.sqs.received.length;
    expect(await deliverWithinRetryBudget(handler, batch([order('refused', 'r0', '2023-12-28T10:00:00Z', 30), order('refused', 'r1', '2024-01-01T10:00:00Z', 30), order('fine', 'f0', '2023-12-28T11:00:00Z', 30), order('fine', 'f1', '2024-01-01T11:00:00Z', 30)]), RETRY_BUDGET)).toEqual({ attempts: 1, gaveUp: false });

    await runSweep(deps, at('2024-01-25T00:00:00Z'), 100);
    const refusedAtRisk = alertEventId('refused', 'Customer At Risk', 1);
    expect(peers.eventBridge.received.map(eventIdOf)).toContain(alertEventId('fine', 'Customer At Risk', 1));
    expect(peers.eventBridge.received.map(eventIdOf)).not.toContain(refusedAtRisk);

    // Its later order is applied in one delivery, and the recovery it causes is refused too.
    expect(await deliverWithinRetryBudget(handler, batch([order('refused', 'r2', '2024-01-26T10:00:00Z', 50)]), RETRY_BUDGET)).toEqual({ attempts: 1, gaveUp: false });
    const state = (await deps.store.getMany(['refused'])).get('refused')!;
    expect(state.orders).toBe(3);
    expect(state.atRisk).toBe(false);
    expect(state.outbox).toEqual([]);

    const letters = peers.sqs.received.slice(lettersBefore).map((message) => JSON.parse(message.MessageBody!) as Record<string, unknown>);
    expect(letters.map((letter) => letter.position)).toEqual([refusedAtRisk, alertEventId('refused', 'Customer Recovered', 2)]);
    for (const letter of letters) {
      expect(letter).toMatchObject({ errorCode: 'InvalidArgument', partitionKey: 'refused' });
      expect(letter.reason).toMatch(/InvalidArgument: Parameter Detail is not valid\./);
      expect(JSON.parse(letter.data as string)).toMatchObject({ detail: { customerId: 'refused', eventId: letter.position } });
    }
    // Nothing left for the sweep to resend.
    await runSweep(deps, at('2024-01-27T00:00:00Z'), 100);
    expect(peers.sqs.received.length - lettersBefore).toBe(2);
  });
});
