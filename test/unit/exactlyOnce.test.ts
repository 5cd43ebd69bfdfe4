import fc from 'fast-check';
import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { processRecords } from '../../consumers/customerBatch.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import type { StreamRecord } from '../../consumers/recordDecoding.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { statisticsOf } from '../../models/customer/customerState.ts';
import { statesFromEvents } from '../../models/customer/customerStates.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { order } from '../support/orderEvents.ts';
import { encodeEvent, memorySinkDeps, streamBatch } from '../support/memoryConsumer.ts';

const DAY = 86_400_000;
const BASE = Date.parse('2024-01-01T10:00:00Z');

const deps = () => memorySinkDeps(new MemoryStateStore());
const encode = encodeEvent;

/** Bounded events of three customers over 390 days (within the duplicate horizon). */
const historyArbitrary = fc.array(
  fc.record({ customer: fc.integer({ min: 0, max: 2 }), day: fc.integer({ min: 0, max: 390 }), cents: fc.integer({ min: 0, max: 90_000 }), isReturn: fc.boolean() }),
  { minLength: 1, maxLength: 60 },
);

describe('exactly-once effect through the consumer', () => {
  it('any arrival order, any redelivery or producer retry, any split into batches: the state of one clean pass in time order', async () => {
    await fc.assert(
      fc.asyncProperty(
        historyArbitrary,
        fc.integer(),
        fc.array(fc.record({ pick: fc.nat(), kind: fc.constantFrom('retry', 'redelivery'), delay: fc.nat({ max: 30 }) }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
        async (rows, seed, duplicates, sizes) => {
          const events = rows.map((row, i) =>
            order(`c${row.customer}`, `o${i}`, new Date(BASE + row.day * DAY + (i % 7) * 60_000).toISOString(), row.cents / 100, row.isReturn && i % 3 === 0 ? 'return' : 'order'),
          );
          const arrivals = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0];
          // One shard: a new record (an arrival or a producer retry) gets the next, higher position, as
          // Kinesis assigns them; a redelivery repeats its original's position after it.
          type Entry = { event: OrderEvent; original?: Entry; position?: string };
          const entries: Entry[] = arrivals.map((event) => ({ event }));
          for (const { pick, kind, delay } of duplicates) {
            const at = pick % entries.length;
            const source = entries[at].original ?? entries[at];
            const copy: Entry = kind === 'redelivery' ? { event: source.event, original: source } : { event: source.event };
            entries.splice(Math.min(entries.length, at + 1 + delay), 0, copy);
          }
          let next = 1_000;
          for (const entry of entries) if (!entry.original) entry.position = String((next += 100));
          const stream: StreamRecord[] = entries.map((entry) => ({
            source: 'orders/shardId-000000000000',
            position: (entry.original ?? entry).position!,
            data: encode(entry.event),
          }));
          const d = deps();
          let at = 0;
          for (let b = 0; at < stream.length; b++) {
            const size = sizes[b % sizes.length];
            const { failedPositions, deadLettered } = await processRecords(stream.slice(at, at + size), d);
            expect(failedPositions).toEqual([]);
            expect(deadLettered).toBe(0);
            at += size;
          }
          const clean = statesFromEvents([...events].sort((x, y) => Date.parse(x.occurredAt) - Date.parse(y.occurredAt))).states;
          const stored = await d.store.getMany([...clean.keys()]);
          for (const [id, state] of clean) expect(statisticsOf(stored.get(id)!)).toEqual(statisticsOf(state));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('applies a re-created stream whose sequence numbers are lower, and still ignores redeliveries within each stream', async () => {
    const d = deps();
    const handler = createKinesisHandler(() => d);
    const batch = (arn: string, from: number, orders: OrderEvent[]): KinesisStreamEvent => streamBatch(orders, from, arn);
    const oldStream = batch('arn:aws:kinesis:eu-west-1:123456789012:stream/orders', 5_000, [order('c1', 'a', '2024-01-01T10:00:00Z'), order('c1', 'b', '2024-01-02T10:00:00Z')]);
    const newStream = batch('arn:aws:kinesis:eu-west-1:123456789012:stream/orders-v2', 0, [order('c1', 'c', '2024-01-03T10:00:00Z'), order('c1', 'd', '2024-01-04T10:00:00Z')]);
    for (const event of [oldStream, newStream, oldStream, newStream]) expect((await handler(event)).batchItemFailures).toEqual([]);
    const state = (await d.store.getMany(['c1'])).get('c1')!;
    expect(state.orders).toBe(4);
    expect(d.metrics).toMatchObject({ counters: { DuplicatePositions: 4, EventsApplied: 4 } });
  });

  it('sets aside a record beyond the duplicate horizon, with its reason, and applies the rest of the batch', async () => {
    const d = deps();
    const records = [order('c1', 'now', '2025-06-01T10:00:00Z'), order('c1', 'ancient', '2024-01-01T10:00:00Z'), order('c2', 'x', '2024-01-01T10:00:00Z')].map(
      (event, i) => ({ source: 'orders/shardId-000000000000', position: String(10 + i), data: encode(event) }),
    );
    const result = await processRecords(records, d);
    expect(result).toMatchObject({ failedPositions: [], deadLettered: 0 });
    expect(d.deadLetters.letters.map((l) => [l.position, l.reason])).toEqual([['11', expect.stringContaining('beyond the duplicate horizon')]]);
    const states = await d.store.getMany(['c1', 'c2']);
    expect(states.get('c1')!.orders).toBe(1);
    expect(states.get('c2')!.orders).toBe(1);
  });
});
