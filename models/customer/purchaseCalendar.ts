import type { CustomerState } from './customerState.ts';

/**
 * The two order-independent calendars in a customer's state: a bitmap of purchase days (so a late
 * order on a day already counted does not count twice) and a ring of weekly buckets keyed by
 * absolute week (orders and cents of the last ACTIVITY_WEEKS weeks).
 */

export const ACTIVITY_WEEKS = 26;

export type PurchaseDayBits = Pick<CustomerState, 'firstDay' | 'lastDay' | 'firstDaySpendCents' | 'dayBits' | 'occasions'>;
export type ActivityRing = Pick<CustomerState, 'orders' | 'ringWeek' | 'weekOrders' | 'weekCents'>;

/**
 * Whether the customer has a purchase: decided by the count, never by a sentinel day, since
 * every day index is a possible purchase day (those before 1970 are negative).
 */
export function hasPurchase(state: Pick<PurchaseDayBits, 'occasions'>): boolean {
  return state.occasions > 0;
}

export function addPurchaseDay(state: PurchaseDayBits, day: number, cents: number): void {
  if (!hasPurchase(state)) {
    state.firstDay = day;
    state.lastDay = day;
    state.firstDaySpendCents = cents;
    state.dayBits = [1];
    state.occasions = 1;
    return;
  }
  if (day < state.firstDay) {
    rebaseDayBits(state, day);
    state.firstDaySpendCents = cents;
  } else if (day === state.firstDay) {
    state.firstDaySpendCents += cents;
  }
  state.lastDay = Math.max(state.lastDay, day);
  const offset = day - state.firstDay;
  const word = offset >>> 5;
  const mask = 1 << (offset & 31);
  while (state.dayBits.length <= word) state.dayBits.push(0);
  if ((state.dayBits[word] & mask) === 0) {
    state.dayBits[word] = (state.dayBits[word] | mask) >>> 0;
    state.occasions += 1;
  }
}

/** Moves the bitmap's anchor back to an earlier first day; rare (a late first order). */
function rebaseDayBits(state: PurchaseDayBits, newFirstDay: number): void {
  const days = purchaseDays(state);
  state.firstDay = newFirstDay;
  state.dayBits = [];
  for (const day of days) {
    const offset = day - newFirstDay;
    while (state.dayBits.length <= offset >>> 5) state.dayBits.push(0);
    state.dayBits[offset >>> 5] = (state.dayBits[offset >>> 5] | (1 << (offset & 31))) >>> 0;
  }
}

/** The customer's purchase days, ascending. */
export function purchaseDays(state: PurchaseDayBits): number[] {
  const days: number[] = [];
  for (let word = 0; word < state.dayBits.length; word++) {
    let bits = state.dayBits[word];
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits & -bits);
      days.push(state.firstDay + word * 32 + bit);
      bits = (bits & (bits - 1)) >>> 0;
    }
  }
  return days;
}

/** Purchase days in [fromDay, toDay] (whole day indexes), counted straight from the bitmap, a word at a time. */
export function purchaseDaysBetween(state: PurchaseDayBits, fromDay: number, toDay: number): number {
  if (!hasPurchase(state)) return 0;
  const bits = state.dayBits;
  const start = Math.max(0, fromDay - state.firstDay);
  const end = Math.min(bits.length * 32 - 1, toDay - state.firstDay);
  if (!(start <= end)) return 0;
  const firstWord = start >>> 5;
  const lastWord = end >>> 5;
  let count = 0;
  for (let word = firstWord; word <= lastWord; word++) {
    let value = bits[word] | 0;
    if (word === firstWord) value &= -1 << (start & 31);
    if (word === lastWord && (end & 31) !== 31) value &= (1 << ((end & 31) + 1)) - 1;
    count += bitCount(value);
  }
  return count;
}

function bitCount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

function ringSlot(week: number): number {
  return ((week % ACTIVITY_WEEKS) + ACTIVITY_WEEKS) % ACTIVITY_WEEKS;
}

/** `empty`: the ring holds nothing yet (this is the customer's first order). */
export function addToActivityRing(state: ActivityRing, week: number, cents: number, empty: boolean): void {
  if (!empty && week <= state.ringWeek - ACTIVITY_WEEKS) return;
  if (empty || week > state.ringWeek) {
    const cleared = empty ? ACTIVITY_WEEKS : Math.min(ACTIVITY_WEEKS, week - state.ringWeek);
    for (let step = 0; step < cleared; step++) {
      const slot = ringSlot(week - step);
      state.weekOrders[slot] = 0;
      state.weekCents[slot] = 0;
    }
    state.ringWeek = week;
  }
  const slot = ringSlot(week);
  state.weekOrders[slot] += 1;
  state.weekCents[slot] += cents;
}

/** Orders and cents in the weeks [fromWeek, toWeek] that the ring still holds. */
export function ringActivity(state: ActivityRing, fromWeek: number, toWeek: number): { orders: number; cents: number } {
  let orders = 0;
  let cents = 0;
  if (state.orders === 0) return { orders, cents };
  const lo = Math.max(fromWeek, state.ringWeek - ACTIVITY_WEEKS + 1);
  const hi = Math.min(toWeek, state.ringWeek);
  for (let week = lo; week <= hi; week++) {
    orders += state.weekOrders[ringSlot(week)];
    cents += state.weekCents[ringSlot(week)];
  }
  return { orders, cents };
}

