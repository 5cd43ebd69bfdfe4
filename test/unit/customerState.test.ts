import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dayIndex } from '../../models/time/calendar.ts';
import {
  applyEvent,
  cloneState,
  DEFAULT_DUPLICATE_HORIZON_DAYS,
  emptyState,
  purchaseDays,
  ringActivity,
  statisticsOf,
} from '../../models/customer/customerState.ts';
import { weekIndex } from '../../models/time/calendar.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { order } from '../support/orderEvents.ts';

const DAY = 86_400_000;
const BASE = Date.parse('2024-01-01T10:00:00Z');

function replay(events: readonly OrderEvent[]) {
  const state = emptyState('c1');
  for (const event of events) applyEvent(state, event);
  return state;
}

/**
 * Events of one customer over ~390 days: several orders on some days, returns, wide spread. The
 * span stays within the duplicate horizon: an event that arrives more than the horizon after a
 * later one is set aside, not applied (see 'beyond-horizon').
 */
const eventsArbitrary = fc
  .array(
    fc.record({
      // A few events share a time exactly, so ties of the country rule are exercised.
      day: fc.oneof(fc.integer({ min: 0, max: 390 }), fc.integer({ min: 0, max: 2 })),
      minute: fc.oneof(fc.integer({ min: 0, max: 1439 }), fc.constant(0)),
      cents: fc.integer({ min: 0, max: 50_000 }),
      isReturn: fc.boolean(),
      country: fc.option(fc.constantFrom('Germany', 'France', 'EIRE'), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((rows) =>
    rows.map((row, i) =>
      withCountry(
        order('c1', `o${i}`, new Date(BASE + row.day * DAY + row.minute * 60_000).toISOString(), row.cents / 100, row.isReturn && i % 3 === 0 ? 'return' : 'order'),
        row.country,
      ),
    ),
  );

function withCountry(event: OrderEvent, country: string | undefined): OrderEvent {
  return country === undefined ? event : { ...event, country };
}

describe('Customer state: sufficient statistics', () => {
  it('counts purchase occasions as distinct customer-days, and returns never as occasions', () => {
    const state = replay([
      order('c1', 'a', '2024-01-01T09:00:00Z', 10),
      order('c1', 'b', '2024-01-01T17:00:00Z', 5),
      order('c1', 'c', '2024-01-09T12:00:00Z', 20),
      order('c1', 'r', '2024-01-10T12:00:00Z', 4, 'return'),
    ]);
    expect(state.occasions).toBe(2);
    expect(state.orders).toBe(3);
    expect(state.spendCents).toBe(3_500);
    expect(state.firstDaySpendCents).toBe(1_500);
    expect(state.returns).toBe(1);
    expect(state.returnCents).toBe(400);
    expect(purchaseDays(state)).toEqual([dayIndex(Date.parse('2024-01-01')), dayIndex(Date.parse('2024-01-09'))]);
  });

  it('does not count a late order on a day already counted twice, even after the anchor moved back', () => {
    const state = replay([
      order('c1', 'a', '2024-03-01T09:00:00Z'),
      order('c1', 'b', '2024-01-01T09:00:00Z'),
      order('c1', 'c', '2024-03-01T20:00:00Z'),
      order('c1', 'd', '2024-01-01T23:00:00Z'),
    ]);
    expect(state.occasions).toBe(2);
    expect(state.firstDay).toBe(dayIndex(Date.parse('2024-01-01')));
    expect(state.firstDaySpendCents).toBe(2_000);
  });

  it('leaves the same statistics whatever order the events arrive in', () => {
    fc.assert(
      fc.property(eventsArbitrary, fc.integer(), (events, seed) => {
        const inTimeOrder = [...events].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
        const permuted = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0];
        expect(statisticsOf(replay(permuted))).toEqual(statisticsOf(replay(inTimeOrder)));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the country of the latest event that carries one (ties by value), returns included', () => {
    const state = replay([
      withCountry(order('c1', 'a', '2024-01-01T09:00:00Z'), 'Germany'),
      withCountry(order('c1', 'b', '2024-03-01T09:00:00Z'), 'France'),
      order('c1', 'c', '2024-04-01T09:00:00Z'),
    ]);
    expect(state.country).toBe('France');
    expect(state.countryMs).toBe(Date.parse('2024-03-01T09:00:00Z'));
    // An earlier event never overrides; one at the same time does only with a greater value.
    applyEvent(state, withCountry(order('c1', 'd', '2024-02-01T09:00:00Z'), 'Spain'));
    expect(state.country).toBe('France');
    applyEvent(state, withCountry(order('c1', 'e', '2024-03-01T09:00:00Z'), 'Austria'));
    expect(state.country).toBe('France');
    applyEvent(state, withCountry(order('c1', 'f', '2024-03-01T09:00:00Z'), 'Germany'));
    expect(state.country).toBe('Germany');
    applyEvent(state, withCountry(order('c1', 'r', '2024-05-01T09:00:00Z', 4, 'return'), 'EIRE'));
    expect(state.country).toBe('EIRE');
    // A rejected duplicate changes nothing, whatever country it carries.
    expect(applyEvent(state, withCountry(order('c1', 'c', '2024-06-01T09:00:00Z'), 'Zambia'))).toBe('duplicate-order');
    expect(state.country).toBe('EIRE');
    expect(state.countryMs).toBe(Date.parse('2024-05-01T09:00:00Z'));
    expect(emptyState('c2')).toMatchObject({ country: null, countryMs: Number.MIN_SAFE_INTEGER });
  });

  it('ignores a producer retry (same order id, new record) and a redelivered record (same position)', () => {
    fc.assert(
      fc.property(eventsArbitrary, (unordered) => {
        const events = [...unordered].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
        const once = replay(events);
        const twice = emptyState('c1');
        events.forEach((event, i) => {
          expect(applyEvent(twice, event, { source: 'shard-0', position: String(2 * i + 1) })).not.toBe('duplicate-position');
          expect(applyEvent(twice, event, { source: 'shard-0', position: String(2 * i + 1) })).toBe('duplicate-position');
          expect(applyEvent(twice, event, { source: 'shard-0', position: String(2 * i + 2) })).toBe('duplicate-order');
        });
        expect(statisticsOf(twice)).toEqual(statisticsOf(once));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects positions at or below the high-water mark, comparing sequence numbers beyond 2^53 exactly', () => {
    const state = emptyState('c1');
    const big = '49590338271490256608559692538361571095921575989136588898';
    expect(applyEvent(state, order('c1', 'a', '2024-01-01T00:00:00Z'), { source: 's', position: big })).toBe('applied');
    const justBelow = big.slice(0, -1) + '7';
    expect(applyEvent(state, order('c1', 'b', '2024-01-02T00:00:00Z'), { source: 's', position: justBelow })).toBe('duplicate-position');
    expect(applyEvent(state, order('c1', 'b', '2024-01-02T00:00:00Z'), { source: 'other-shard', position: '1' })).toBe('applied');
  });

  it('ignores retries of every order of the horizon, in any arrival order, however many orders and whatever the retry\'s event time', () => {
    fc.assert(
      fc.property(eventsArbitrary, fc.integer(), fc.array(fc.nat(), { maxLength: 40 }), (events, seed, retried) => {
        const once = replay([...events].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt)));
        const arrivals = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { seed, numRuns: 1 })[0];
        const state = emptyState('c1');
        for (const event of arrivals) applyEvent(state, event);
        // Retries of any age, some re-stamped with another event time within the horizon.
        for (const pick of retried) {
          const original = events[pick % events.length];
          const restamped = pick % 2 === 0 ? original : { ...original, occurredAt: new Date(Date.parse(original.occurredAt) + (pick % 50) * DAY).toISOString() };
          expect(applyEvent(state, restamped)).toBe('duplicate-order');
        }
        expect(statisticsOf(state)).toEqual(statisticsOf(once));
      }),
      { numRuns: 300 },
    );
  });

  it('remembers 5,000 orders of a year and a retry 300 days old; sets aside an event already beyond the horizon', () => {
    const state = emptyState('c1');
    for (let i = 0; i < 5_000; i++) applyEvent(state, order('c1', `o${i}`, new Date(BASE + Math.floor((i * 365) / 5_000) * DAY).toISOString()));
    expect(applyEvent(state, order('c1', 'o0', new Date(BASE).toISOString()))).toBe('duplicate-order');
    expect(state.orders).toBe(5_000);
    const late = emptyState('c2');
    applyEvent(late, order('c2', 'first', '2024-01-01T00:00:00Z'));
    applyEvent(late, order('c2', 'later', '2024-10-27T00:00:00Z'));
    expect(applyEvent(late, order('c2', 'first', '2024-01-01T00:00:00Z'))).toBe('duplicate-order');
    const beyond = new Date(Date.parse('2024-10-27') - (DEFAULT_DUPLICATE_HORIZON_DAYS + 1) * DAY).toISOString();
    expect(applyEvent(late, order('c2', 'ancient', beyond))).toBe('beyond-horizon');
    expect(applyEvent(late, order('c2', 'ancient', beyond))).toBe('beyond-horizon');
    expect(late.orders).toBe(2);
  });

  it('keys positions by stream and shard, and hands a bare shard key (format 1) to the first stream that meets it', () => {
    const state = emptyState('c1');
    state.positions = { 'shardId-000000000000': '500' };
    expect(applyEvent(state, order('c1', 'a', '2024-01-01T00:00:00Z'), { source: 'orders/shardId-000000000000', position: '400' })).toBe('duplicate-position');
    expect(state.positions).toEqual({ 'orders/shardId-000000000000': '500' });
    expect(applyEvent(state, order('c1', 'b', '2024-01-02T00:00:00Z'), { source: 'orders-v2/shardId-000000000000', position: '7' })).toBe('applied');
    expect(applyEvent(state, order('c1', 'c', '2024-01-03T00:00:00Z'), { source: 'orders-v2/shardId-000000000000', position: '7' })).toBe('duplicate-position');
  });

  it('keeps weekly activity for the last 26 weeks, in any arrival order', () => {
    const state = replay([order('c1', 'a', '2024-01-03T00:00:00Z', 10), order('c1', 'b', '2024-09-04T00:00:00Z', 30)]);
    const week = weekIndex(dayIndex(Date.parse('2024-09-04')));
    expect(ringActivity(state, week - 12, week)).toEqual({ orders: 1, cents: 3_000 });
    expect(ringActivity(state, week - 40, week)).toEqual({ orders: 1, cents: 3_000 });
  });

  it('survives a JSON round trip and a clone without sharing arrays', () => {
    const state = replay([order('c1', 'a', '2024-01-01T00:00:00Z'), order('c1', 'b', '2024-02-01T00:00:00Z')]);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    applyEvent(state, withCountry(order('c1', 'g', '2024-02-02T00:00:00Z'), 'Germany'));
    expect(cloneState(state)).toEqual(state);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    const copy = cloneState(state);
    applyEvent(copy, order('c1', 'c', '2024-03-01T00:00:00Z'));
    expect(state.orders).toBe(3);
    expect(copy.orders).toBe(4);
  });
});
