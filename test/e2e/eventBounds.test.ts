import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLake } from '../../api/lake/buildLake.ts';
import { createDuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { lakeStates } from '../../api/lake/lakeStates.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import { WatermarkTracker } from '../../consumers/watermark.ts';
import { type CustomerState, statisticsOf } from '../../models/customer/customerState.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { kinesisRecord } from '../../bench/kinesisBatches.ts';
import { deliverUntilDone, startConsumerPeers } from '../support/consumerHarness.ts';
import { order } from '../support/orderEvents.ts';
import { RecencyModel } from '../support/recencyModel.ts';

/*
 * One order dated 2099 and one dated 1969 among 10,000 good ones, through the real Kinesis
 * handler against dynalite, the EventBridge and SQS protocol endpoints: both are dead-lettered
 * with their reasons, and every customer ends exactly as in a run without them (state, score,
 * alerts), so neither moved anybody's scoring clock.
 */

const model = new RecencyModel(20);
const good = generateEvents({ customers: 2000, days: 400, seed: 12, start: '2024-01-01' });
const victim = good[good.length >> 1].customerId;
const BAD: { at: number; event: OrderEvent; reason: RegExp }[] = [
  { at: 3_000, event: order(victim, 'from-the-future', '2099-06-01T10:00:00Z', 40), reason: /occurredAt: later than the wall clock plus the allowed skew of 24 h/ },
  { at: 7_000, event: order(victim, 'before-the-epoch', '1969-12-31T10:00:00Z', 40), reason: /occurredAt: before the earliest event time 1990-01-01/ },
];

/** Batches of 100 records of one shard; the bad records take their own sequence numbers among the good ones. */
function batches(withBad: boolean): KinesisStreamEvent[] {
  const all: { event: OrderEvent; bad: boolean }[] = good.map((event) => ({ event, bad: false }));
  for (const { at, event } of [...BAD].reverse()) all.splice(at, 0, { event, bad: true });
  const records = all.map(({ event, bad }, i) => ({ bad, record: kinesisRecord(Buffer.from(JSON.stringify(event)).toString('base64'), event.customerId, i) }));
  const out: KinesisStreamEvent[] = [];
  for (let i = 0; i < records.length; i += 100) {
    const chunk = records.slice(i, i + 100).filter((r) => withBad || !r.bad);
    out.push(JSON.parse(JSON.stringify({ Records: chunk.map((r) => r.record) })) as KinesisStreamEvent);
  }
  return out;
}

async function allStates(store: StateStore): Promise<CustomerState[]> {
  const states: CustomerState[] = [];
  for await (const page of store.scan()) states.push(...page);
  return states.sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
}

let peers: Awaited<ReturnType<typeof startConsumerPeers>>;
beforeAll(async () => {
  peers = await startConsumerPeers();
});
afterAll(() => peers.close());

describe('event-time bounds through the Kinesis handler', () => {
  it('dead-letters an order dated 2099 and one dated 1969 among 10,000, and leaves every customer as a run without them', async () => {
    expect(good.length).toBeGreaterThanOrEqual(10_000);
    const run = async (withBad: boolean) => {
      // Publish every batch: with the default one-minute interval, how many writes a run makes depends
      // on how long it takes, and a loaded machine would then compare two different last writes.
      const deps = await peers.deps(model, { watermark: new WatermarkTracker({ publishIntervalMs: 0 }) });
      const sent = peers.sqs.received.length;
      const alerts = peers.eventBridge.received.length;
      const handler = createKinesisHandler(() => deps);
      for (const batch of batches(withBad)) await deliverUntilDone(handler, batch);
      return { states: await allStates(deps.store), letters: peers.sqs.received.slice(sent), alerts: peers.eventBridge.received.slice(alerts), watermark: await deps.store.getWatermark() };
    };
    const clean = await run(false);
    const dirty = await run(true);

    expect(clean.letters).toEqual([]);
    expect(dirty.letters).toHaveLength(2);
    for (const [i, { event, reason }] of BAD.entries()) {
      const letter = JSON.parse(dirty.letters[i].MessageBody!);
      expect(JSON.parse(Buffer.from(letter.data, 'base64').toString('utf8')).orderId).toBe(event.orderId);
      expect(letter.reason).toMatch(reason);
    }
    expect(dirty.watermark).toBe(clean.watermark);
    expect(dirty.states.length).toBe(clean.states.length);
    expect(dirty.states.map(statisticsOf)).toEqual(clean.states.map(statisticsOf));
    expect(dirty.states).toEqual(clean.states);
    const alertIds = (alerts: typeof clean.alerts) => alerts.map((a) => JSON.parse(a.Detail!).eventId as string).sort();
    expect(alertIds(clean.alerts).length).toBeGreaterThan(0);
    expect(alertIds(dirty.alerts)).toEqual(alertIds(clean.alerts));
  }, 240_000);
});

describe('event-time bounds in the lake', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-bounds-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('leaves events outside the bounds out of the lake, so they count in no query and no lake state', async () => {
    const events = generateEvents({ customers: 60, days: 120, seed: 5, start: '2024-03-01' });
    const customer = events[0].customerId;
    const outside = [order(customer, 'lake-2099', '2099-06-01T10:00:00Z', 40), order('only-1969', 'lake-1969', '1969-12-31T10:00:00Z', 40)];
    const build = async (name: string, list: OrderEvent[]) => {
      const summary = await buildLake(list, join(dir, name));
      const queries = createLakeQueries(await createDuckDbEngine({ lakeDir: join(dir, name) }));
      try {
        return { summary, range: await queries.dateRange(), states: await lakeStates(queries), rfm: await queries.customerRfm('2099-12-31') };
      } finally {
        await queries.close();
      }
    };
    const clean = await build('clean', events);
    const dirty = await build('dirty', [...events, ...outside]);
    expect(dirty.summary.outOfBounds).toBe(2);
    expect(dirty.summary.events).toBe(clean.summary.events);
    expect(dirty.range).toEqual(clean.range);
    expect(dirty.states.has('only-1969')).toBe(false);
    expect([...dirty.states.values()].map(statisticsOf)).toEqual([...clean.states.values()].map(statisticsOf));
    expect(dirty.rfm).toEqual(clean.rfm);
  }, 60_000);
});
