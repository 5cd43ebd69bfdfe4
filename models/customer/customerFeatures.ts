import { dayIndex, weekIndex } from '../time/calendar.ts';
import { ACTIVITY_WEEKS, hasPurchase, purchaseDaysBetween, type CustomerState } from './customerState.ts';

/**
 * A customer's features as of an event time, computed from the state record alone. Training,
 * batch evaluation and live scoring all call this one function, so online and offline
 * scores cannot drift apart.
 */
export interface CustomerFeatures {
  /** BTYD summary in weeks: repeat purchase days, first-to-last and first-to-as-of. */
  x: number;
  tx: number;
  T: number;
  /** Mean spend of the repeat purchase days (0 without repeats), in currency units. */
  repeatMeanSpend: number;
  recencyDays: number;
  tenureDays: number;
  frequency: number;
  orders: number;
  totalSpend: number;
  avgOrderSpend: number;
  maxOrderSpend: number;
  firstDaySpend: number;
  units: number;
  returns: number;
  returnSpend: number;
  purchaseDaysLast90: number;
  spendLast13Weeks: number;
  ordersLast13Weeks: number;
  /**
   * Static covariate: the customer's country from the state record (null: none known). Not a
   * number, so not in FEATURE_NAMES; models that use it encode it themselves (hybridFeatures.ts).
   */
  country: string | null;
}

export const FEATURE_NAMES = [
  'x', 'tx', 'T', 'repeatMeanSpend', 'recencyDays', 'tenureDays', 'frequency', 'orders',
  'totalSpend', 'avgOrderSpend', 'maxOrderSpend', 'firstDaySpend', 'units', 'returns',
  'returnSpend', 'purchaseDaysLast90', 'spendLast13Weeks', 'ordersLast13Weeks',
] as const satisfies readonly (keyof CustomerFeatures)[];

/** The day an as-of time scores: purchases on that day are included. */
function asOfDay(asOfMs: number): number {
  return dayIndex(asOfMs);
}

export function featuresOf(state: CustomerState, asOfMs: number): CustomerFeatures {
  return featuresInto(emptyFeatures(), state, asOfMs);
}

/** A features object with every field zero (country null), in FEATURE_NAMES order then country: a target for featuresInto. */
export function emptyFeatures(): CustomerFeatures {
  return {
    x: 0,
    tx: 0,
    T: 0,
    repeatMeanSpend: 0,
    recencyDays: 0,
    tenureDays: 0,
    frequency: 0,
    orders: 0,
    totalSpend: 0,
    avgOrderSpend: 0,
    maxOrderSpend: 0,
    firstDaySpend: 0,
    units: 0,
    returns: 0,
    returnSpend: 0,
    purchaseDaysLast90: 0,
    spendLast13Weeks: 0,
    ordersLast13Weeks: 0,
    country: null,
  };
}

/**
 * featuresOf written into an existing object (every field overwritten), for callers that
 * evaluate many as-of times in a row, such as the due-time search: the same values, no garbage.
 */
export function featuresInto(target: CustomerFeatures, state: CustomerState, asOfMs: number): CustomerFeatures {
  const x = Math.max(0, state.occasions - 1);
  target.x = x;
  // Without a purchase, first = last = the as-of day: tx is 0 at every as-of time.
  target.tx = hasPurchase(state) ? (state.lastDay - state.firstDay) / 7 : 0;
  target.repeatMeanSpend = x > 0 ? (state.spendCents - state.firstDaySpendCents) / 100 / x : 0;
  target.frequency = state.occasions;
  target.orders = state.orders;
  target.totalSpend = state.spendCents / 100;
  target.avgOrderSpend = state.orders > 0 ? state.spendCents / 100 / state.orders : 0;
  target.maxOrderSpend = state.maxOrderCents / 100;
  target.firstDaySpend = state.firstDaySpendCents / 100;
  target.units = state.units;
  target.returns = state.returns;
  target.returnSpend = state.returnCents / 100;
  target.country = state.country;
  return asOfFeaturesInto(target, state, asOfMs);
}

/**
 * Only the features that depend on the as-of time (T, recency, tenure and the recent-activity
 * windows), for a target that featuresInto already filled from the same, unchanged state: the
 * due-time search moves one customer's as-of time many times, and nothing else changes.
 */
export function asOfFeaturesInto(target: CustomerFeatures, state: CustomerState, asOfMs: number): CustomerFeatures {
  const today = asOfDay(asOfMs);
  const purchased = hasPurchase(state);
  const first = purchased ? state.firstDay : today;
  const last = purchased ? state.lastDay : today;
  const week = weekIndex(today);
  // ringActivity(state, week - 12, week), without its result object or a modulo per week.
  let recentOrders = 0;
  let recentCents = 0;
  if (state.orders > 0) {
    const hi = Math.min(week, state.ringWeek);
    let at = Math.max(week - 12, state.ringWeek - ACTIVITY_WEEKS + 1);
    if (at <= hi) {
      let slot = ((at % ACTIVITY_WEEKS) + ACTIVITY_WEEKS) % ACTIVITY_WEEKS;
      for (; at <= hi; at++) {
        recentOrders += state.weekOrders[slot];
        recentCents += state.weekCents[slot];
        if (++slot === ACTIVITY_WEEKS) slot = 0;
      }
    }
  }
  target.T = Math.max(0, today - first) / 7;
  target.recencyDays = Math.max(0, today - last);
  target.tenureDays = Math.max(0, today - first);
  target.purchaseDaysLast90 = purchaseDaysBetween(state, today - 89, today);
  target.spendLast13Weeks = recentCents / 100;
  target.ordersLast13Weeks = recentOrders;
  return target;
}
