import { dayIndex, parseIsoDay } from '../time/calendar.ts';
import { featuresOf, type CustomerFeatures } from '../customer/customerFeatures.ts';
import { type CustomerState, hasPurchase } from '../customer/customerState.ts';
import { endOfDayMs, statesUpTo } from './btydTraining.ts';
import { compareCustomerIds } from '../customer/customerIds.ts';
import { eventCents, type OrderEvent } from '../customer/orderEvent.ts';

/**
 * A calibration / holdout panel: every customer with a purchase on or before the calibration
 * end, with the streaming state record built from the calibration events (applyEvent, the
 * consumer's own update), its features as of the end of the calibration day, and the holdout
 * targets: churn = no purchase in (calibrationEnd, holdoutEnd], CLV = spend of the orders in it.
 * Customers first seen in the holdout are not in the panel.
 */
export interface CustomerPanel {
  customerIds: string[];
  states: CustomerState[];
  features: CustomerFeatures[];
  /** End of the calibration day, in ms: the as-of time of every feature. */
  asOfMs: number;
  calibrationEnd: string;
  holdoutEnd: string;
  /** Holdout length in days: the horizon of churn and CLV. */
  horizonDays: number;
  /** 1 = no purchase in the holdout. */
  churn: Float64Array;
  /** Holdout spend (orders; returns are not subtracted). */
  spend: Float64Array;
  /** Cross-fitting fold of each customer, 0..FOLDS-1. */
  folds: Uint8Array;
  /** Events applied to the calibration states. */
  calibrationEvents: number;
}

export const FOLDS = 5;

export interface PanelOptions {
  calibrationEnd: string;
  holdoutEnd: string;
  folds?: number;
}

/**
 * The protocol's fold rule: customer_id mod 5 for integer ids (exact for any length), else a
 * stable 32-bit FNV-1a hash of the id mod 5.
 */
export function foldOf(customerId: string, folds = FOLDS): number {
  if (/^\d+$/.test(customerId)) {
    let rest = 0;
    for (let i = 0; i < customerId.length; i++) rest = (rest * 10 + customerId.charCodeAt(i) - 48) % folds;
    return rest;
  }
  let hash = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i++) {
    hash ^= customerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % folds;
}

export function buildPanel(events: readonly OrderEvent[], options: PanelOptions): CustomerPanel {
  const calibrationDay = parseIsoDay(options.calibrationEnd);
  const holdoutDay = parseIsoDay(options.holdoutEnd);
  if (!(holdoutDay > calibrationDay)) throw new RangeError(`holdout end ${options.holdoutEnd} must come after calibration end ${options.calibrationEnd}`);
  const folds = options.folds ?? FOLDS;
  const asOfMs = endOfDayMs(options.calibrationEnd);
  const { states: byId, applied } = statesUpTo(events, calibrationDay);
  const states = [...byId.values()].filter(hasPurchase).sort((a, b) => compareCustomerIds(a.customerId, b.customerId));
  const index = new Map<string, number>();
  states.forEach((state, i) => index.set(state.customerId, i));
  const n = states.length;
  const spendCents = new Float64Array(n);
  const bought = new Uint8Array(n);
  for (const event of events) {
    if (event.type !== 'order') continue;
    const day = dayIndex(Date.parse(event.occurredAt));
    if (day <= calibrationDay || day > holdoutDay) continue;
    const i = index.get(event.customerId);
    if (i === undefined) continue;
    bought[i] = 1;
    spendCents[i] += eventCents(event);
  }
  return {
    customerIds: states.map((state) => state.customerId),
    states,
    features: states.map((state) => featuresOf(state, asOfMs)),
    asOfMs,
    calibrationEnd: options.calibrationEnd,
    holdoutEnd: options.holdoutEnd,
    horizonDays: holdoutDay - calibrationDay,
    churn: Float64Array.from(bought, (b) => 1 - b),
    spend: Float64Array.from(spendCents, (c) => c / 100),
    folds: Uint8Array.from(states, (state) => foldOf(state.customerId, folds)),
    calibrationEvents: applied,
  };
}
