import type { OrderEvent } from '../customer/orderEvent.ts';
import { dayIndex } from '../time/calendar.ts';

/**
 * Scores at-risk alerts by what the alerted customers did next (../shared/protocols/alerts.md):
 * orders are customer-days with a positive order; an alert is scored once the `horizonDays`
 * after it are observed.
 */
export interface AlertOutcomeOptions {
  /** Last observed day (day index): an alert is scored when alertDay + horizonDays <= it. */
  lastObservedDay: number;
  horizonDays: number;
  /** The look-back, in days, for the spend a win-back could keep. */
  valueDays: number;
}

export const DEFAULT_ALERT_OUTCOME: Omit<AlertOutcomeOptions, 'lastObservedDay'> = { horizonDays: 90, valueDays: 365 };

/** An alert reduced to what scoring reads. */
export interface AlertAt {
  customerId: string;
  day: number;
}

export interface AlertScores {
  alerts: number;
  scored: number;
  /** Share of scored alerts on customers with no order in the horizon after the alert. */
  precision: number;
  /** Over those customers, the sum of their spend in the valueDays before the alert. */
  valueAtStake: number;
  /** Share of alerts on customers with at most one order day so far. */
  shareSinglePurchase: number;
  /** Share of alerts dated on a day the customer ordered. */
  shareOnOrderDay: number;
  /** Alerts on customers with at least two order days so far. */
  repeatCustomerAlerts: number;
}

/** Each customer's order days, ascending, with the spend of each day (cents, to sum exactly). */
export interface OrderHistory {
  days: Map<string, Int32Array>;
  cents: Map<string, Float64Array>;
  lastDay: number;
}

export function orderHistory(events: readonly OrderEvent[]): OrderHistory {
  const byCustomer = new Map<string, Map<number, number>>();
  let lastDay = Number.NEGATIVE_INFINITY;
  for (const event of events) {
    const day = dayIndex(Date.parse(event.occurredAt));
    if (day > lastDay) lastDay = day;
    if (event.type !== 'order') continue;
    const cents = event.lines.reduce((sum, line) => sum + Math.round(line.quantity * line.unitPrice * 100), 0);
    if (cents <= 0) continue;
    let days = byCustomer.get(event.customerId);
    if (!days) byCustomer.set(event.customerId, (days = new Map()));
    days.set(day, (days.get(day) ?? 0) + cents);
  }
  const history: OrderHistory = { days: new Map(), cents: new Map(), lastDay };
  for (const [customerId, days] of byCustomer) {
    const sorted = [...days.keys()].sort((a, b) => a - b);
    history.days.set(customerId, Int32Array.from(sorted));
    history.cents.set(customerId, Float64Array.from(sorted, (day) => days.get(day)!));
  }
  return history;
}

/** Index of the first element > value (upper bound) in an ascending array. */
function upperBound(values: Int32Array, value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function scoreAlerts(alerts: readonly AlertAt[], history: OrderHistory, options: AlertOutcomeOptions): AlertScores {
  let scored = 0;
  let churned = 0;
  let valueCents = 0;
  let single = 0;
  let onOrderDay = 0;
  for (const alert of alerts) {
    const days = history.days.get(alert.customerId) ?? new Int32Array(0);
    const cents = history.cents.get(alert.customerId) ?? new Float64Array(0);
    const upToAlert = upperBound(days, alert.day);
    if (upToAlert <= 1) single++;
    if (upToAlert > 0 && days[upToAlert - 1] === alert.day) onOrderDay++;
    if (alert.day + options.horizonDays > options.lastObservedDay) continue;
    scored++;
    const next = upToAlert < days.length ? days[upToAlert] : Number.POSITIVE_INFINITY;
    if (next <= alert.day + options.horizonDays) continue;
    churned++;
    for (let i = upToAlert - 1; i >= 0 && days[i] > alert.day - options.valueDays; i--) valueCents += cents[i];
  }
  const n = alerts.length;
  return {
    alerts: n,
    scored,
    precision: scored > 0 ? churned / scored : 0,
    valueAtStake: valueCents / 100,
    shareSinglePurchase: n > 0 ? single / n : 0,
    shareOnOrderDay: n > 0 ? onOrderDay / n : 0,
    repeatCustomerAlerts: n - single,
  };
}

/**
 * The rule a CRM offers: an alert on the day a customer with at least `minOrders` order days
 * reaches `silenceDays` days without an order, for alert days in [fromDay, toDay].
 */
export function silenceRuleAlerts(history: OrderHistory, fromDay: number, toDay: number, silenceDays = 90, minOrders = 2): AlertAt[] {
  const alerts: AlertAt[] = [];
  for (const [customerId, days] of history.days) {
    for (let i = minOrders - 1; i < days.length; i++) {
      const day = days[i] + silenceDays;
      const next = i + 1 < days.length ? days[i + 1] : Number.POSITIVE_INFINITY;
      if (next > day && day >= fromDay && day <= toDay) alerts.push({ customerId, day });
    }
  }
  return alerts.sort((a, b) => a.day - b.day || (a.customerId < b.customerId ? -1 : 1));
}
