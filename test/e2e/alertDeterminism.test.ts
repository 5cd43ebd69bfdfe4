import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toKinesisEvents } from '../../bench/kinesisBatches.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { WatermarkTracker } from '../../consumers/watermark.ts';
import { kinesisClient } from '../../aws/clients.ts';
import { pollStream } from '../../bin/localStack/eventSourcePoller.ts';
import { startKinesalite } from '../../bin/localStack/embeddedPeers.ts';
import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import { dayIndex } from '../../models/time/calendar.ts';
import { ensureStream, KinesisProducer } from '../../producers/kinesisProducer.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { startConsumerPeers } from '../support/consumerHarness.ts';
import { RecencyModel, CHURN_POLICY } from '../support/recencyModel.ts';

/**
 * Alerts are a function of the history: one history replayed with batches of 1, 100 and 1,000
 * records, with the sweep after every batch or only at the end, and through kinesalite with one
 * and four shards (the event source mapping's poller, dynalite, the EventBridge endpoint), must
 * announce the same transitions: type, customer, event id and as-of time.
 */
const model = new RecencyModel(20);
const policy = CHURN_POLICY;
const events = generateEvents({ customers: 500, days: 300, seed: 7, start: '2024-01-01' });
const endMs = Date.parse(events[events.length - 1].occurredAt);
const NOW = Date.parse('2025-06-01T00:00:00Z');

type Transition = string;
const transitionOf = (detailType: string, detail: PendingAlert['detail']): Transition =>
  `${detail.asOf} ${detailType} ${detail.customerId} ${detail.eventId}`;

/** The in-process handler over the memory store, sweeping as the local runner does (or only at the end). */
async function replayInProcess(batchSize: number, sweepEveryDay: boolean): Promise<Transition[]> {
  const alerts = new MemoryAlertSink();
  const deps: ConsumerDeps = {
    store: new MemoryStateStore(),
    alerts,
    deadLetters: new MemoryDeadLetterSink(),
    model,
    policy,
    metrics: new CounterMetrics(),
    clock: 'event',
    now: () => NOW,
    watermark: new WatermarkTracker(),
  };
  const handler = createKinesisHandler(() => deps);
  let nextSweepDay = Number.NEGATIVE_INFINITY;
  for (const batch of toKinesisEvents(events, batchSize)) {
    expect((await handler(batch)).batchItemFailures).toEqual([]);
    const low = deps.watermark!.low();
    if (sweepEveryDay && dayIndex(low) >= nextSweepDay) {
      nextSweepDay = dayIndex(low) + 1;
      await sweepAll(deps, low, 500);
    }
  }
  await sweepAll(deps, endMs, 500);
  return alerts.delivered.map((alert) => transitionOf(alert.detailType, alert.detail)).sort();
}

let kinesalite: Awaited<ReturnType<typeof startKinesalite>>;
let peers: Awaited<ReturnType<typeof startConsumerPeers>>;
let kinesis: ReturnType<typeof kinesisClient>;
let streams = 0;
beforeAll(async () => {
  [kinesalite, peers] = await Promise.all([startKinesalite(), startConsumerPeers()]);
  kinesis = kinesisClient({ endpoint: kinesalite.endpoint, region: 'us-east-1' });
});
afterAll(async () => {
  kinesis.destroy();
  await Promise.all([kinesalite.close(), peers.close()]);
});

/** Kinesis → the event source mapping's poller (shards polled concurrently) → the handler on dynalite → EventBridge. */
async function replayThroughKinesis(shards: number, batchSize: number): Promise<Transition[]> {
  const streamName = `orders-${++streams}`;
  await ensureStream(kinesis, streamName, shards);
  const sent = await new KinesisProducer({ client: kinesis, streamName }).send(events);
  expect(sent.failed).toEqual([]);
  const deps = await peers.deps(model, { policy, now: () => NOW, watermark: new WatermarkTracker() });
  const before = peers.eventBridge.received.length;
  let nextSweepDay = Number.NEGATIVE_INFINITY;
  let sweeping = Promise.resolve();
  await pollStream({
    client: kinesis,
    streamName,
    region: 'us-east-1',
    handler: createKinesisHandler(() => deps),
    batchSize,
    batchingWindowMs: 0,
    maxRetries: 10,
    producerDone: () => true,
    onBatch: async () => {
      const low = deps.watermark!.low(shards);
      if (!(low > Number.NEGATIVE_INFINITY) || dayIndex(low) < nextSweepDay) return;
      nextSweepDay = dayIndex(low) + 1;
      sweeping = sweeping.then(async () => void (await sweepAll(deps, low, 500)));
      await sweeping;
    },
  });
  await sweeping;
  await sweepAll(deps, endMs, 500);
  // Delivery is at least once: when the sweep and a batch both hold a customer's outbox, both may
  // send it, with the same event id, which is what subscribers deduplicate by.
  const received = peers.eventBridge.received.slice(before);
  return [...new Set(received.map((entry) => transitionOf(entry.DetailType!, JSON.parse(entry.Detail!) as PendingAlert['detail'])))].sort();
}

describe('alerts are a function of the history, not of batching, timing or shards', () => {
  let reference: Transition[];
  beforeAll(async () => {
    reference = await replayInProcess(100, true);
  }, 60_000);

  it('announces both kinds of transition, each once', () => {
    expect(reference.some((t) => t.includes('Customer At Risk'))).toBe(true);
    expect(reference.some((t) => t.includes('Customer Recovered'))).toBe(true);
    expect(new Set(reference).size).toBe(reference.length);
  });

  it('announces the same transitions with batches of 1, 100 and 1,000, sweeping after each batch or only at the end', async () => {
    for (const batchSize of [1, 100, 1_000]) {
      for (const sweepEveryDay of [true, false]) {
        expect({ batchSize, sweepEveryDay, transitions: await replayInProcess(batchSize, sweepEveryDay) }).toEqual({
          batchSize,
          sweepEveryDay,
          transitions: reference,
        });
      }
    }
  }, 120_000);

  it('announces the same transitions through kinesalite with one and four shards', async () => {
    for (const shards of [1, 4]) {
      expect({ shards, transitions: await replayThroughKinesis(shards, 100) }).toEqual({ shards, transitions: reference });
    }
  }, 180_000);
});
