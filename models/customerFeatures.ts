import { dayIndex, weekIndex } from './calendar.ts';
import { purchaseDaysBetween, ringActivity, type CustomerState } from './customerState.ts';

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
}

export const FEATURE_NAMES = [
  'x', 'tx', 'T', 'repeatMeanSpend', 'recencyDays', 'tenureDays', 'frequency', 'orders',
  'totalSpend', 'avgOrderSpend', 'maxOrderSpend', 'firstDaySpend', 'units', 'returns',
  'returnSpend', 'purchaseDaysLast90', 'spendLast13Weeks', 'ordersLast13Weeks',
] as const satisfies readonly (keyof CustomerFeatures)[];

/** The day an as-of time scores: purchases on that day are included. */
export function asOfDay(asOfMs: number): number {
  return dayIndex(asOfMs);
}

export function featuresOf(state: CustomerState, asOfMs: number): CustomerFeatures {
  const today = asOfDay(asOfMs);
  const hasPurchase = state.firstDay >= 0;
  const first = hasPurchase ? state.firstDay : today;
  const last = hasPurchase ? state.lastDay : today;
  const x = Math.max(0, state.occasions - 1);
  const week = weekIndex(today);
  const recent = ringActivity(state, week - 12, week);
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
    purchaseDaysLast90: purchaseDaysBetween(state, today - 89, today),
    spendLast13Weeks: recent.cents / 100,
    ordersLast13Weeks: recent.orders,
  };
}
