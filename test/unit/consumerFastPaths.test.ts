import { CHURN_POLICY } from '../support/recencyModel.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { processRecords } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { isKinesisEnvelope, KinesisEnvelopeSchema } from '../../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import { BtydModel, btydArtifact } from '../../models/clv/btydModel.ts';
import { DAY_MS, dayIndex, weekIndex } from '../../models/time/calendar.ts';
import { asOfFeaturesInto, emptyFeatures, FEATURE_NAMES, featuresInto, featuresOf, type CustomerFeatures } from '../../models/customer/customerFeatures.ts';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import {
  ACTIVITY_WEEKS,
  applyEvent,
  blankWorkingState,
  cloneState,
  comparePositions,
  type CustomerState,
  emptyState,
  purchaseDaysBetween,
  ringActivity,
} from '../../models/customer/customerState.ts';
import { parseEventTime } from '../../models/time/eventTime.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { DEFAULT_RISK_POLICY, dueTime, rescore, type RiskPolicy } from '../../models/customer/riskPolicy.ts';
import { order } from '../support/orderEvents.ts';

const BASE = Date.parse('2024-01-01T10:00:00Z');

/** One customer's events over up to ~3 years: enough history for long day bitmaps and rings. */
const historyArbitrary = fc
  .array(
    fc.record({
      day: fc.integer({ min: 0, max: 1_100 }),
      minute: fc.integer({ min: 0, max: 1439 }),
      cents: fc.integer({ min: 0, max: 80_000 }),
      isReturn: fc.boolean(),
    }),
    { minLength: 0, maxLength: 30 },
  )
  .map((rows) =>
    rows.map((row, i) =>
      order('c1', `o${i}`, new Date(BASE + row.day * DAY_MS + row.minute * 60_000).toISOString(), row.cents / 100, row.isReturn && i % 4 === 0 ? 'return' : 'order'),
    ),
  );

function replay(events: readonly OrderEvent[], sources = 1): CustomerState {
  const state = emptyState('c1');
  events.forEach((event, i) => applyEvent(state, event, { source: `shard-${i % sources}`, position: String(1_000 + i) }));
  return state;
}

/** featuresOf as it was before the fast paths, field by field: the reference they must match. */
function referenceFeatures(state: CustomerState, asOfMs: number): CustomerFeatures {
  const today = dayIndex(asOfMs);
  const hasPurchase = state.firstDay >= 0;
  const first = hasPurchase ? state.firstDay : today;
  const last = hasPurchase ? state.lastDay : today;
  const x = Math.max(0, state.occasions - 1);
  const week = weekIndex(today);
  const recent = ringActivity(state, week - 12, week);
  let purchaseDays = 0;
  if (hasPurchase) {
    const start = Math.max(0, today - 89 - state.firstDay);
    const end = Math.min(state.dayBits.length * 32 - 1, today - state.firstDay);
    for (let offset = start; offset <= end; offset++) if ((state.dayBits[offset >>> 5] & (1 << (offset & 31))) !== 0) purchaseDays++;
  }
  return {
    x,
    tx: (last - first) / 7,
    T: Math.max(0, today - first) / 7,
    repeatMeanSpend: x > 0 ? (state.spendCents - state.firstDaySpendCents) / 100 / x : 0,
    recencyDays: Math.max(0, today - last),
    tenureDays: Math.max(0, today - first),
    frequency: state.occasions,
    orders: state.orders,
    totalSpend: state.spendCents / 100,
    avgOrderSpend: state.orders > 0 ? state.spendCents / 100 / state.orders : 0,
    maxOrderSpend: state.maxOrderCents / 100,
    firstDaySpend: state.firstDaySpendCents / 100,
    units: state.units,
    returns: state.returns,
    returnSpend: state.returnCents / 100,
    purchaseDaysLast90: purchaseDays,
    spendLast13Weeks: recent.cents / 100,
    ordersLast13Weeks: recent.orders,
    country: state.country,
  };
}

/** comparePositions as it was: strip leading zeros, then length, then digits. */
function referenceCompare(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

const MODEL = BtydModel.load(
  btydArtifact({
    horizonDays: 90,
    calibrationEnd: '2024-06-30',
    trainedOn: { customers: 1, events: 1 },
    bgnbd: { r: 0.7565, alpha: 5.139, a: 1.18, b: 5.384, logLikelihood: -1 },
    gammaGamma: { p: 1.94, q: 4.18, gamma: 102.9, logLikelihood: -1 },
  }),
);

/** The same model without its fast paths: dueTime falls back to its day-by-day search. */
function searchOnly(model: BtydModel): CustomerModel {
  return { version: model.version, horizonDays: model.horizonDays, score: (f) => model.score(f), churnProbability: (f) => model.churnProbability(f) };
}

describe('fast paths agree with their references', () => {
  it('parseEventTime returns exactly what Date.parse returns', () => {
    const min = Date.parse('0000-01-01T00:00:00Z');
    const max = Date.parse('9999-12-31T23:59:59.999Z');
    fc.assert(
      fc.property(fc.integer({ min, max }), fc.constantFrom(0, 1, 2, 3), (ms, shape) => {
        const iso = new Date(ms).toISOString();
        const text = [iso, `${iso.slice(0, 19)}Z`, `${iso.slice(0, 23)}+02:00`, `${iso.slice(0, 21)}Z`][shape];
        expect(parseEventTime(text)).toBe(Date.parse(text));
      }),
      { numRuns: 20_000 },
    );
    for (const text of ['2024-02-29T12:00:00Z', '2023-02-29T00:00:00Z', '2024-04-31T10:00:00.000Z', '2024-01-01T24:00:00Z', '2024-1-01T00:00:00Z', 'x024-01-01T00:00:00Z', '2024-01-01T10:00:00.1Z', '']) {
      expect(Object.is(parseEventTime(text), Date.parse(text))).toBe(true);
    }
  });

  it('comparePositions matches the digit-string comparison, leading zeros and all', () => {
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(digits, digits, (a, b) => {
        expect(comparePositions(a, b)).toBe(referenceCompare(a, b));
      }),
      { numRuns: 20_000 },
    );
    const seq = '49590338271490256608559692538361571095921575989136588898';
    expect(comparePositions(seq, `${seq.slice(0, -1)}7`)).toBe(1);
    expect(comparePositions(`00${seq}`, seq)).toBe(0);
  });

  it('featuresOf, featuresInto and asOfFeaturesInto match the reference features', () => {
    fc.assert(
      fc.property(historyArbitrary, fc.integer({ min: -30, max: 1_500 }), fc.integer({ min: 0, max: 1_500 }), (events, day, otherDay) => {
        const state = replay(events);
        const asOf = BASE + day * DAY_MS;
        const expected = referenceFeatures(state, asOf);
        expect(featuresOf(state, asOf)).toEqual(expected);
        expect(Object.keys(featuresOf(state, asOf))).toEqual([...FEATURE_NAMES, 'country']);
        const target = featuresInto(emptyFeatures(), state, BASE + otherDay * DAY_MS);
        expect(asOfFeaturesInto(target, state, asOf)).toEqual(expected);
        const start = state.firstDay < 0 ? 0 : state.firstDay;
        expect(purchaseDaysBetween(state, start + (day % 200), start + otherDay)).toBe(
          referenceFeaturesBetween(state, start + (day % 200), start + otherDay),
        );
      }),
      { numRuns: 1_000 },
    );
  });

  it('the due day from the crossing memo is the day the search finds', () => {
    const policies: RiskPolicy[] = [DEFAULT_RISK_POLICY, CHURN_POLICY, { ...CHURN_POLICY, level: 0.3 }, { ...CHURN_POLICY, level: 0.85, maxDueDays: 45 }];
    const plain = searchOnly(MODEL);
    fc.assert(
      fc.property(historyArbitrary, fc.integer({ min: 0, max: 800 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: DAY_MS - 1 }), (events, later, p, within) => {
        const state = replay(events);
        const asOf = Math.max(state.lastEventMs, BASE) + later * DAY_MS + within;
        const policy = policies[p];
        expect(dueTime(state, MODEL, policy, asOf)).toBe(dueTime(state, plain, policy, asOf));
        // And through rescore, with the churn it just computed.
        const fast = cloneState(state);
        const slow = cloneState(state);
        rescore(fast, MODEL, policy, asOf);
        rescore(slow, plain, policy, asOf);
        expect(fast).toEqual(slow);
      }),
      { numRuns: 1_500 },
    );
  });

  it('churnCrossingDays is the first day, counted from the first purchase, that churn reaches the threshold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 900 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), (x, txDays, threshold) => {
        const features = { ...emptyFeatures(), x, tx: txDays / 7 };
        const days = MODEL.churnCrossingDays(features, threshold);
        const churnAt = (k: number) => MODEL.churnProbability({ ...features, T: k / 7 });
        if (days === Infinity) {
          expect(churnAt(txDays + 100_000)).toBeLessThan(threshold);
        } else {
          expect(days).toBeGreaterThanOrEqual(txDays);
          expect(churnAt(days)).toBeGreaterThanOrEqual(threshold);
          if (days > txDays) expect(churnAt(days - 1)).toBeLessThan(threshold);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('scores from the remembered series are the scores computed afresh, bit for bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 1_500 }), fc.integer({ min: 0, max: 1_500 }), fc.double({ min: 0, max: 500, noNaN: true }), (x, txDays, extra, m) => {
        const features = { ...emptyFeatures(), x, tx: txDays / 7, T: (txDays + extra) / 7, repeatMeanSpend: m };
        const fresh = BtydModel.load(MODEL.toJSON());
        expect(MODEL.score(features)).toEqual(fresh.score(features));
        expect(MODEL.score(features)).toEqual(MODEL.score(features));
      }),
      { numRuns: 2_000 },
    );
  });

  it('the Kinesis envelope fast check accepts only what the zod schema accepts', () => {
    const text = fc.oneof(fc.string(), fc.constantFrom('', '123', '0', '12a', '٣', '49590338271490256608559692538361571095921575989136588898'));
    const value = fc.oneof(text, fc.integer(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 }));
    const kinesis = fc.record({ sequenceNumber: fc.oneof(text, value), partitionKey: fc.oneof(text, value), data: fc.oneof(text, value) }, { requiredKeys: [] });
    const record = fc.record({ eventID: fc.oneof(text, value), eventSourceARN: fc.oneof(text, value), kinesis: fc.oneof(kinesis, value) }, { requiredKeys: [] });
    const envelope = fc.oneof(fc.record({ Records: fc.oneof(fc.array(record, { maxLength: 4 }), value) }, { requiredKeys: [] }), value);
    fc.assert(
      fc.property(envelope, (event) => {
        if (isKinesisEnvelope(event)) expect(KinesisEnvelopeSchema.safeParse(event).success).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    const good = { Records: [{ eventID: 's:1', eventSourceARN: 'arn', kinesis: { sequenceNumber: '1', partitionKey: 'k', data: 'e30=' } }] };
    expect(isKinesisEnvelope(good)).toBe(true);
    expect(isKinesisEnvelope({ Records: [{ ...good.Records[0], kinesis: { ...good.Records[0].kinesis, sequenceNumber: '1x' } }] })).toBe(false);
  });

  it('a blank working state is an empty state', () => {
    expect(blankWorkingState('c-9')).toEqual(emptyState('c-9'));
    expect(blankWorkingState('c-9').weekOrders).toHaveLength(ACTIVITY_WEEKS);
  });
});

function referenceFeaturesBetween(state: CustomerState, fromDay: number, toDay: number): number {
  if (state.firstDay < 0) return 0;
  let count = 0;
  const start = Math.max(0, fromDay - state.firstDay);
  const end = Math.min(state.dayBits.length * 32 - 1, toDay - state.firstDay);
  for (let offset = start; offset <= end; offset++) if ((state.dayBits[offset >>> 5] & (1 << (offset & 31))) !== 0) count++;
  return count;
}

describe('MemoryStateStore copies', () => {
  /** Random states of every shape the record allows: odd lengths, several sources, outboxes. */
  const stateArbitrary = fc
    .record({
      events: historyArbitrary,
      sources: fc.integer({ min: 0, max: 3 }),
      scored: fc.boolean(),
      due: fc.option(fc.integer({ min: 0, max: 2e12 }), { nil: null }),
      outbox: fc.integer({ min: 0, max: 2 }),
      weeks: fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
      extraRecent: fc.integer({ min: 0, max: 20 }),
      negativeZero: fc.boolean(),
    })
    .map(({ events, sources, scored, due, outbox, weeks, extraRecent, negativeZero }) => {
      const state = sources === 0 ? replay(events.map((event) => event)) : replay(events, sources);
      if (sources === 0) state.positions = {};
      if (scored) rescore(state, MODEL, DEFAULT_RISK_POLICY, Math.max(state.lastEventMs, BASE));
      state.dueAtMs = due;
      for (let i = 0; i < outbox; i++) {
        state.outbox.push({
          detailType: 'Customer At Risk',
          detail: { eventId: `e${i}`, customerId: 'c1', churnProbability: 0.7, previousChurnProbability: null, clv: 1, expectedLoss: 0, segment: null, trigger: 'churn', level: 0.6, modelVersion: 'm', asOf: 'x', drivers: {} },
        });
      }
      if (weeks !== null) {
        state.weekOrders = Array.from({ length: weeks }, (_, i) => i);
        state.weekCents = Array.from({ length: weeks + 1 }, (_, i) => i * 1.5);
      }
      for (let i = 0; i < extraRecent; i++) state.orderMemory.push(i, 4_000_000_000 - i, 19_000 + i);
      if (negativeZero) state.spendCents = -0;
      return state;
    });

  it('hands back exactly what was saved, through every change of shape, and never shares it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stateArbitrary, { minLength: 1, maxLength: 5 }), async (states) => {
        const store = new MemoryStateStore();
        let version = 0;
        for (const state of states) {
          state.version = version;
          const expected = cloneState(state);
          version = await store.save(state);
          expect(state).toEqual(expected);
          const read = (await store.getMany(['c1'])).get('c1')!;
          expect(read).toEqual({ ...expected, version });
          expect(Object.is(read.spendCents, expected.spendCents)).toBe(true);
          // The copy is the caller's: changing it changes nothing stored.
          read.weekCents.push(1);
          read.dayBits.push(1);
          read.orderMemory.push(1, 2, 3);
          if (read.orderMemory.length > 3) read.orderMemory[2] = -1;
          read.positions.forged = '1';
          if (read.score) read.score.clv = -1;
          read.outbox.length = 0;
          expect((await store.getMany(['c1'])).get('c1')).toEqual({ ...expected, version });
          // Changing what was saved changes nothing stored either.
          state.dayBits.push(5);
          state.positions.other = '2';
          expect((await store.getMany(['c1'])).get('c1')).toEqual({ ...expected, version });
          const scanned: CustomerState[] = [];
          for await (const page of store.scan()) scanned.push(...page);
          expect(scanned).toEqual([{ ...expected, version }]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('processRecords with a failing store', () => {
  const record = (i: number, customerId: string) => ({
    source: 'shard-1',
    position: String(100 + i),
    data: Buffer.from(JSON.stringify(order(customerId, `o${i}`, '2024-01-02T10:00:00Z'))).toString('base64'),
  });

  function deps(store: StateStore) {
    return { store, alerts: new MemoryAlertSink(), deadLetters: new MemoryDeadLetterSink(), model: MODEL, policy: DEFAULT_RISK_POLICY, metrics: new CounterMetrics(), clock: 'event' as const };
  }

  it('reports the records of a customer whose save throws, synchronously or not, and saves the others', async () => {
    for (const failure of ['throws', 'rejects'] as const) {
      const inner = new MemoryStateStore();
      const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
        save(state: CustomerState): Promise<number> {
          if (state.customerId === 'bad') {
            if (failure === 'throws') throw new Error('disk on fire');
            return Promise.reject(new Error('disk on fire'));
          }
          return inner.save(state);
        },
        getMany: (ids: readonly string[]) => inner.getMany(ids),
        getWatermark: () => inner.getWatermark(),
        advanceWatermark: (ms: number) => inner.advanceWatermark(ms),
      });
      const result = await processRecords([record(1, 'good'), record(2, 'bad'), record(3, 'good')], deps(store));
      expect(result.failedPositions).toEqual(['102']);
      expect((await inner.getMany(['good'])).get('good')).toMatchObject({ orders: 2, version: 1 });
      expect((await inner.getMany(['bad'])).has('bad')).toBe(false);
    }
  });
});

describe('processRecords decoding paths', () => {
  const encode = (text: string) => Buffer.from(text).toString('base64');

  it('applies records the scanner steps aside for exactly as compact ones, and counts them', async () => {
    const compact = JSON.stringify(order('c-1', 'o1', '2024-01-02T10:00:00Z'));
    // Whitespace is scanned; escapes, non-ASCII text and unknown keys go to JSON.parse + zod.
    const spaced = JSON.stringify(order('c-1', 'o2', '2024-01-03T10:00:00Z'), null, 2);
    const accented = JSON.stringify(order('c-é', 'o5', '2024-01-03T10:00:00Z'));
    const escaped = JSON.stringify(order('c-2', 'o3', '2024-01-03T10:00:00Z')).replace('"c-2"', '"c\\u002d2"');
    const extraKey = JSON.stringify({ ...order('c-2', 'o4', '2024-01-04T10:00:00Z'), note: 'kept out by zod' });
    const records = [compact, spaced, escaped, extraKey, accented, '{"not":"an order"}'].map((text, i) => ({ source: 'shard-1', position: String(10 + i), data: encode(text) }));
    const store = new MemoryStateStore();
    const metrics = new CounterMetrics();
    const deadLetters = new MemoryDeadLetterSink();
    const result = await processRecords(records, { store, alerts: new MemoryAlertSink(), deadLetters, model: MODEL, policy: DEFAULT_RISK_POLICY, metrics, clock: 'event' });
    expect(result.failedPositions).toEqual([]);
    expect(result.deadLettered).toBe(1);
    expect(metrics.get('RecordsParsedGenerally')).toBe(3);
    expect(metrics.get('EventsApplied')).toBe(5);
    const states = await store.getMany(['c-1', 'c-2', 'c-é']);
    expect(states.get('c-1')).toMatchObject({ orders: 2 });
    expect(states.get('c-2')).toMatchObject({ orders: 2 });
    expect(states.get('c-é')).toMatchObject({ orders: 1 });
  });
});
