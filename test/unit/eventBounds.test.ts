import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { readConsumerEnv } from '../../consumers/consumerConfig.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import { processRecords } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { scanOrderRecord } from '../../consumers/orderRecordScanner.ts';
import { decodeRecord } from '../../consumers/recordDecoding.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { runSweep } from '../../consumers/sweep.ts';
import { type CustomerFeatures, featuresOf } from '../../models/customer/customerFeatures.ts';
import { applyEvent, type CustomerState, emptyState, purchaseDays, ringActivity, statisticsOf, upgradeStoredState } from '../../models/customer/customerState.ts';
import {
  checkOrderEvent,
  DEFAULT_EVENT_TIME_BOUNDS,
  eventTimeBounds,
  eventTimeProblem,
  ORDER_BOUNDS,
  type OrderEvent,
  OrderEventSchema,
} from '../../models/customer/orderEvent.ts';
import { orderFactsOf } from '../../models/customer/orderFacts.ts';
import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';
import { dayIndex, weekIndex } from '../../models/time/calendar.ts';
import { parseEventTime } from '../../models/time/eventTime.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { order } from '../support/orderEvents.ts';
import { RecencyModel, CHURN_POLICY } from '../support/recencyModel.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function withLines(lines: OrderEvent['lines'], overrides: Partial<OrderEvent> = {}): OrderEvent {
  return { type: 'order', orderId: 'o1', customerId: 'c1', occurredAt: '2024-03-01T10:00:00Z', lines, ...overrides };
}

/** The first issue's path and message, or 'ok'. */
function verdict(payload: unknown): string {
  const parsed = OrderEventSchema.safeParse(payload);
  return parsed.success ? 'ok' : `${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`;
}

describe('OrderEvent v1 bounds', () => {
  it('bounds quantity, unit price, lines, the event value and id lengths, naming the field', () => {
    const line = { productId: 'p', quantity: 1, unitPrice: 1 };
    expect(verdict(withLines([{ ...line, quantity: ORDER_BOUNDS.quantity }]))).toBe('ok');
    expect(verdict(withLines([{ ...line, quantity: ORDER_BOUNDS.quantity + 1 }]))).toBe('lines.0.quantity: must be at most 1,000,000');
    expect(verdict(withLines([{ ...line, unitPrice: ORDER_BOUNDS.unitPrice }]))).toBe('ok');
    expect(verdict(withLines([{ ...line, unitPrice: 1e15 }]))).toBe('lines.0.unitPrice: must be at most 1,000,000');
    expect(verdict(withLines(Array.from({ length: ORDER_BOUNDS.linesPerEvent + 1 }, () => line)))).toMatch(/^lines: Too big/);
    // Each line within its bounds, the sum past the event's: 1,000 × 1e6 ≥ 1e9.
    expect(verdict(withLines([{ ...line, quantity: 1000, unitPrice: 1e6 }, line]))).toBe(
      "lines: the event's value (Σ quantity × unitPrice) must be at most 1,000,000,000",
    );
    expect(verdict(withLines([{ ...line, quantity: 1000, unitPrice: 1e6 }]))).toBe('ok');
    for (const field of ['orderId', 'customerId'] as const) {
      expect(verdict(withLines([line], { [field]: 'x'.repeat(128) }))).toBe('ok');
      expect(verdict(withLines([line], { [field]: 'x'.repeat(129) }))).toMatch(new RegExp(`^${field}: Too big`));
    }
    expect(verdict(withLines([{ ...line, productId: 'x'.repeat(129) }]))).toMatch(/^lines\.0\.productId: Too big/);
    expect(verdict(withLines([{ ...line, categoryId: 'x'.repeat(129) }]))).toMatch(/^lines\.0\.categoryId: Too big/);
  });

  it('keeps every event it accepts exact in integer cents, even a customer of many maximal events', () => {
    const biggest = withLines(Array.from({ length: ORDER_BOUNDS.linesPerEvent }, () => ({ productId: 'p', quantity: 1000, unitPrice: 1000 })));
    expect(OrderEventSchema.safeParse(biggest).success).toBe(true);
    expect(ORDER_BOUNDS.eventCents * 90_000).toBeLessThan(Number.MAX_SAFE_INTEGER);
  });

  it('dead-letters event times before the earliest date or past the wall clock plus the skew, with the reason', () => {
    const bounds = DEFAULT_EVENT_TIME_BOUNDS;
    expect(eventTimeProblem(Date.parse('1990-01-01T00:00:00Z'), bounds, NOW)).toBeUndefined();
    expect(eventTimeProblem(NOW + 24 * 3_600_000, bounds, NOW)).toBeUndefined();
    expect(eventTimeProblem(Date.parse('1989-12-31T23:59:59.999Z'), bounds, NOW)).toBe('occurredAt: before the earliest event time 1990-01-01T00:00:00.000Z');
    expect(eventTimeProblem(NOW + 24 * 3_600_000 + 1, bounds, NOW)).toBe(
      'occurredAt: later than the wall clock plus the allowed skew of 24 h (2025-06-02T12:00:00.000Z)',
    );
    const custom = eventTimeBounds('1960-01-01', 2);
    expect(eventTimeProblem(Date.parse('1969-07-20T20:17:00Z'), custom, NOW)).toBeUndefined();
    expect(eventTimeProblem(NOW + 3 * 3_600_000, custom, NOW)).toMatch(/allowed skew of 2 h/);
    const checked = checkOrderEvent(order('c', 'o', '2099-01-01T00:00:00Z'), bounds, NOW);
    expect(checked).toEqual({ ok: false, reason: 'occurredAt: later than the wall clock plus the allowed skew of 24 h (2025-06-02T12:00:00.000Z)' });
    expect(() => eventTimeBounds('soon')).toThrow(/not a time/);
    expect(() => eventTimeBounds('1990-01-01', -1)).toThrow(/non-negative/);
  });

  it('reads the bounds from the consumer environment, with the defaults', () => {
    const base = { STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q' };
    expect(readConsumerEnv(base)).toMatchObject({ EARLIEST_EVENT_TIME: '1990-01-01T00:00:00.000Z', MAX_EVENT_SKEW_HOURS: 24 });
    expect(readConsumerEnv({ ...base, EARLIEST_EVENT_TIME: '1960-01-01', MAX_EVENT_SKEW_HOURS: '2' })).toMatchObject({ EARLIEST_EVENT_TIME: '1960-01-01', MAX_EVENT_SKEW_HOURS: 2 });
    expect(() => readConsumerEnv({ ...base, EARLIEST_EVENT_TIME: 'long ago' })).toThrow(/EARLIEST_EVENT_TIME/);
    expect(() => readConsumerEnv({ ...base, MAX_EVENT_SKEW_HOURS: '-1' })).toThrow(/MAX_EVENT_SKEW_HOURS/);
  });
});

/** The general path: JSON.parse + zod, then the facts. */
function generalPath(text: string) {
  const parsed = OrderEventSchema.safeParse(JSON.parse(text));
  return parsed.success ? orderFactsOf(parsed.data, parseEventTime(parsed.data.occurredAt)) : 'rejected';
}

describe('the record scanner and zod on the bounds', () => {
  it('steps aside for every out-of-bound value zod rejects, and agrees at the bounds', () => {
    const line = { productId: 'p', quantity: 1, unitPrice: 1 };
    const outside = [
      withLines([{ ...line, quantity: 1_000_001 }]),
      withLines([{ ...line, quantity: 999_999_999_999 }]),
      withLines([{ ...line, unitPrice: 1_000_000.01 }]),
      withLines([{ ...line, unitPrice: 123_456_789_012_345 }]),
      withLines([{ ...line, quantity: 1000, unitPrice: 1e6 }, { ...line, unitPrice: 0.01 }]),
      withLines(Array.from({ length: 1001 }, () => line)),
      withLines([line], { orderId: 'o'.repeat(129) }),
      withLines([line], { customerId: 'c'.repeat(129) }),
      withLines([{ ...line, productId: 'p'.repeat(129) }]),
    ];
    for (const event of outside) {
      const text = JSON.stringify(event);
      expect(generalPath(text), text.slice(0, 120)).toBe('rejected');
      expect(scanOrderRecord(b64(text)), text.slice(0, 120)).toBeNull();
    }
    const inside = [
      withLines([{ ...line, quantity: 1_000_000 }]),
      withLines([{ ...line, unitPrice: 1_000_000 }]),
      withLines([{ ...line, quantity: 1000, unitPrice: 1e6 }]),
      withLines(Array.from({ length: 1000 }, () => line)),
      withLines([line], { orderId: 'o'.repeat(128), customerId: 'c'.repeat(128) }),
    ];
    for (const event of inside) {
      const text = JSON.stringify(event);
      expect(scanOrderRecord(b64(text)), text.slice(0, 120)).toEqual(generalPath(text));
    }
  });

  it('agrees with zod on random quantities and prices around the bounds', () => {
    const near = (bound: number) =>
      fc.oneof(fc.integer({ min: bound - 3, max: bound + 3 }), fc.double({ min: bound * 0.999, max: bound * 1.001, noNaN: true }).map((v) => Math.round(v * 100) / 100), fc.integer({ min: 0, max: 2_000 }));
    const lines = fc.array(fc.record({ productId: fc.constant('p'), quantity: near(ORDER_BOUNDS.quantity), unitPrice: near(ORDER_BOUNDS.unitPrice) }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(lines, (ls) => {
        const text = JSON.stringify(withLines(ls));
        const scanned = scanOrderRecord(b64(text));
        const general = generalPath(text);
        if (scanned !== null) expect(scanned).toEqual(general);
        // Stepping aside is always allowed; accepting what zod rejects never is.
        if (general === 'rejected') expect(scanned).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('holds records of both paths to the same event-time bounds in decodeRecord', () => {
    const compact = (at: string) => JSON.stringify(order('c1', `o-${at}`, at));
    // An escape sends the record to JSON.parse + zod.
    const general = (at: string) => compact(at).replace('"c1"', '"c\\u0031"');
    for (const spell of [compact, general]) {
      for (const [at, reason] of [
        ['2099-01-01T00:00:00Z', /later than the wall clock plus the allowed skew of 24 h/],
        ['1969-12-31T00:00:00Z', /before the earliest event time 1990-01-01/],
      ] as const) {
        const decoded = decodeRecord({ source: 's', position: '1', data: b64(spell(at)) }, DEFAULT_EVENT_TIME_BOUNDS, NOW);
        expect(decoded.ok).toBe(false);
        if (!decoded.ok) expect(decoded.reason).toMatch(reason);
      }
      const good = decodeRecord({ source: 's', position: '1', data: b64(spell('2025-06-02T11:00:00Z')) }, DEFAULT_EVENT_TIME_BOUNDS, NOW);
      expect(good.ok).toBe(true);
      const early = decodeRecord({ source: 's', position: '1', data: b64(spell('1969-12-31T00:00:00Z')) }, eventTimeBounds('1960-01-01'), NOW);
      expect(early.ok).toBe(true);
    }
  });
});

describe('events before 1970 (with an earliest date before 1970)', () => {
  const replay = (events: readonly OrderEvent[]) => {
    const state = emptyState('c1');
    for (const event of events) applyEvent(state, event);
    return state;
  };

  it('give the same state whatever the order: a 1969 order then a 1970 one, and the reverse', () => {
    // Day -1 (1969-12-31) was the "no purchase yet" sentinel; within the duplicate horizon of the later order.
    const old = order('c1', 'o1969', '1969-12-31T10:00:00Z', 30);
    const recent = order('c1', 'o1970', '1970-06-02T10:00:00Z', 50);
    const forward = replay([old, recent]);
    const backward = replay([recent, old]);
    expect(statisticsOf(backward)).toEqual(statisticsOf(forward));
    expect(forward.occasions).toBe(2);
    expect(purchaseDays(forward)).toEqual([dayIndex(Date.parse('1969-12-31T10:00:00Z')), dayIndex(Date.parse('1970-06-02T10:00:00Z'))]);
    expect(forward.firstDaySpendCents).toBe(3000);
  });

  it('count purchase days and weekly activity of a customer who bought only before 1970', () => {
    const events = ['1969-06-01T10:00:00Z', '1969-06-03T10:00:00Z', '1969-06-03T18:00:00Z', '1969-12-29T10:00:00Z'].map((at, i) => order('c1', `o${i}`, at, 10));
    for (const arrival of [events, [...events].reverse(), [events[2], events[0], events[3], events[1]]]) {
      const state = replay(arrival);
      expect(state.occasions).toBe(3);
      expect(state.orders).toBe(4);
      const lastWeek = weekIndex(dayIndex(Date.parse('1969-12-29T10:00:00Z')));
      expect(ringActivity(state, lastWeek - 30, lastWeek)).toEqual({ orders: 1, cents: 1000 });
      const features = featuresOf(state, Date.parse('1970-01-05T00:00:00Z'));
      expect(features.frequency).toBe(3);
      expect(features.recencyDays).toBe(dayIndex(Date.parse('1970-01-05T00:00:00Z')) - dayIndex(Date.parse('1969-12-29T10:00:00Z')));
      expect(features.purchaseDaysLast90).toBe(1);
      expect(features.spendLast13Weeks).toBe(10);
    }
  });

  it('reads states stored in format 1 as before: no purchase yet, and a history', () => {
    // A format-1 body as the stores held it (string order ids), one without a purchase, read as the stores read it.
    const stored: CustomerState = upgradeStoredState(JSON.parse(
      '{"format":1,"customerId":"c1","version":3,"firstDay":-1,"lastDay":-1,"occasions":0,"dayBits":[],"orders":0,"units":0,' +
        '"spendCents":0,"firstDaySpendCents":0,"maxOrderCents":0,"returns":1,"returnCents":500,"firstEventMs":1704103200000,' +
        '"lastEventMs":1704103200000,"ringWeek":-1,"country":null,"countryMs":-9007199254740991,"weekOrders":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],' +
        '"weekCents":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"recentOrders":[{"key":"return:r1","ms":1704103200000}],' +
        '"positions":{"shardId-000000000000":"49"},"score":null,"atRisk":false,"dueAtMs":null,"transitions":0,"outbox":[]}',
    ));
    const asOf = Date.parse('2024-02-01T00:00:00Z');
    const fresh = emptyState('c1');
    applyEvent(fresh, order('c1', 'r1', '2024-01-01T10:00:00Z', 5, 'return'));
    expect(featuresOf(stored, asOf)).toEqual(featuresOf(fresh, asOf));
    // The return remembered by its string id is still recognised as a producer retry.
    expect(applyEvent(stored, order('c1', 'r1', '2024-01-01T10:00:00Z', 5, 'return'))).toBe('duplicate-order');
    const next = order('c1', 'o1', '2024-01-10T10:00:00Z', 20);
    applyEvent(stored, next);
    applyEvent(fresh, next);
    expect(statisticsOf(stored)).toEqual(statisticsOf(fresh));
    expect(stored).toMatchObject({ firstDay: dayIndex(Date.parse('2024-01-10T10:00:00Z')), occasions: 1, ringWeek: weekIndex(dayIndex(Date.parse('2024-01-10T10:00:00Z'))) });
  });
});

/** Scores by recency, but throws for one customer: a model bug or a state it cannot handle. */
class ThrowsFor extends RecencyModel {
  constructor(private readonly customerId: string) {
    super(20);
  }
  override score(features: CustomerFeatures) {
    // Only the customer's own features can tell: a spend no other test customer has.
    if (features.totalSpend === 666) throw new Error(`cannot score customer ${this.customerId}`);
    return super.score(features);
  }
}

describe('a customer who cannot be scored', () => {
  it('has its records dead-lettered with the reason, and the rest of the batch goes on', async () => {
    const events = [
      order('good-1', 'a1', '2024-01-02T10:00:00Z', 20),
      order('bad', 'b1', '2024-01-02T11:00:00Z', 333),
      order('good-2', 'c1', '2024-01-02T12:00:00Z', 30),
      order('bad', 'b2', '2024-01-03T11:00:00Z', 333),
      order('good-1', 'a2', '2024-01-03T10:00:00Z', 20),
    ];
    const records = events.map((event, i) => ({ source: 'shard-1', position: String(100 + i), data: b64(JSON.stringify(event)) }));
    const store = new MemoryStateStore();
    const deadLetters = new MemoryDeadLetterSink();
    const model = new ThrowsFor('bad');
    const result = await processRecords(records, { store, alerts: new MemoryAlertSink(), deadLetters, model, policy: DEFAULT_RISK_POLICY, metrics: new CounterMetrics(), clock: 'event', now: () => NOW });
    expect(result.failedPositions).toEqual([]);
    expect(result.deadLettered).toBe(2);
    expect(deadLetters.letters.map((r) => [r.position, r.reason])).toEqual([
      ['101', 'customer bad cannot be scored: cannot score customer bad'],
      ['103', 'customer bad cannot be scored: cannot score customer bad'],
    ]);
    const states = await store.getMany(['good-1', 'good-2', 'bad']);
    expect(states.get('good-1')).toMatchObject({ orders: 2, spendCents: 4000 });
    expect(states.get('good-2')).toMatchObject({ orders: 1 });
    expect(states.has('bad')).toBe(false);
  });
});

describe('a due customer the sweep cannot score', () => {
  it('is left due and counted, and the rest of the page is swept', async () => {
    const records = [order('good', 'g0', '2023-12-30T10:00:00Z', 20), order('good', 'g1', '2024-01-02T10:00:00Z', 20), order('bad', 'b1', '2024-01-01T11:00:00Z', 333), order('bad', 'b2', '2024-01-02T12:00:00Z', 333)].map(
      (event, i) => ({ source: 'shard-1', position: String(100 + i), data: b64(JSON.stringify(event)) }),
    );
    const metrics = new CounterMetrics();
    const deps = { store: new MemoryStateStore(), alerts: new MemoryAlertSink(), deadLetters: new MemoryDeadLetterSink(), model: new RecencyModel(20), policy: CHURN_POLICY, metrics, clock: 'event' as const, now: () => NOW };
    expect((await processRecords(records, deps)).failedPositions).toEqual([]);
    const before = await deps.store.getMany(['good', 'bad']);
    const asOf = Math.max(before.get('good')!.dueAtMs!, before.get('bad')!.dueAtMs!) + 2 * 86_400_000;
    const result = await runSweep({ ...deps, model: new ThrowsFor('bad') }, asOf, 100);
    expect(result).toMatchObject({ due: 2, rescored: 1, deferred: 1 });
    expect(metrics.get('CustomersUnscorable')).toBe(1);
    const after = await deps.store.getMany(['good', 'bad']);
    expect(after.get('good')).toMatchObject({ atRisk: true });
    expect(after.get('bad')).toEqual(before.get('bad'));
    expect(await deps.store.dueBefore(asOf, 10)).toEqual(['bad']);
  });
});

describe('dataset readers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bounds-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('skip and report rows outside the bounds, in every format', async () => {
    const future = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const cdnow = join(dir, 'cdnow.txt');
    await writeFile(cdnow, ['1 19970101 1 10.00', '2 19890101 1 10.00', '3 19970102 2000000 10.00', '4 19970103 1 20000000000.00', '5 21000101 1 5.00'].join('\n'));
    const jsonl = join(dir, 'orders.jsonl');
    await writeFile(jsonl, [order('a', 'o1', '2024-01-01T00:00:00Z'), order('b', 'o2', future), order('c', 'o3', '1969-01-01T00:00:00Z')].map((e) => JSON.stringify(e)).join('\n'));
    const retail = join(dir, 'retail.csv');
    await writeFile(
      retail,
      [
        'Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country',
        '500001,85123A,HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom',
        '500002,85123A,HEART,6,2099-12-01 08:26,2.55,17851,United Kingdom',
        '500003,85123A,HEART,6,1985-12-01 08:26,2.55,17852,United Kingdom',
        '500004,85123A,HEART,6,2010-12-02 08:26,2000000,17853,United Kingdom',
      ].join('\n'),
    );

    const c = await readDataset(cdnow, 'cdnow');
    expect(c.events.map((e) => e.customerId)).toEqual(['1']);
    expect(c.report.issues.map((i) => i.line)).toEqual([2, 3, 4, 5]);
    expect(c.report.issues[0].reason).toMatch(/occurredAt: before the earliest event time 1990-01-01/);
    expect(c.report.issues[1].reason).toMatch(/lines\.0\.quantity: must be at most 1,000,000/);
    expect(c.report.issues[2].reason).toMatch(/lines\.0\.unitPrice: must be at most 1,000,000/);
    expect(c.report.issues[3].reason).toMatch(/occurredAt: later than the wall clock plus the allowed skew/);

    const j = await readDataset(jsonl, 'jsonl');
    expect(j.events.map((e) => e.customerId)).toEqual(['a']);
    expect(j.report.issues.map((i) => [i.line, /occurredAt: (later|before)/.test(i.reason)])).toEqual([[2, true], [3, true]]);

    const r = await readDataset(retail, 'online-retail');
    expect(r.events.map((e) => e.customerId)).toEqual(['17850']);
    expect(r.report.issues.map((i) => i.line)).toEqual([3, 4, 5]);
    expect(r.report.issues[0].reason).toMatch(/invoice 500002 .*occurredAt: later than the wall clock/);
    expect(r.report.issues[1].reason).toMatch(/invoice 500003 .*occurredAt: before the earliest event time/);
    expect(r.report.issues[2].reason).toMatch(/invoice 500004 .*lines\.0\.unitPrice: must be at most 1,000,000/);

    // An earlier earliest date, passed to the reader, lets the 1969 order in.
    const early = await readDataset(jsonl, 'jsonl', { eventTime: eventTimeBounds('1960-01-01') });
    expect(early.events.map((e) => e.customerId)).toEqual(['c', 'a']);
  });
});
