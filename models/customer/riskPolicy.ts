import { createHash } from 'node:crypto';
import { DAY_MS } from '../time/calendar.ts';
import { asOfFeaturesInto, emptyFeatures, featuresInto, type CustomerFeatures } from './customerFeatures.ts';
import type { CustomerModel } from '../clv/customerModel.ts';
import type { AlertType, PendingAlert } from './alertEvent.ts';
import { type CustomerScore, type CustomerState, hasPurchase } from './customerState.ts';

/**
 * When a customer is at risk. Hysteresis keeps a customer whose churn probability hovers at
 * the threshold from flapping: at risk at >= threshold, recovered only below threshold - margin.
 */
export interface RiskPolicy {
  threshold: number;
  margin: number;
  /** How far ahead the due-time search looks; a customer not due by then is rechecked then. */
  maxDueDays: number;
}

export const DEFAULT_RISK_POLICY: RiskPolicy = { threshold: 0.6, margin: 0.05, maxDueDays: 730 };

/** The same transition (customer, type, its ordinal) always gets the same id. */
export function alertEventId(customerId: string, detailType: AlertType, ordinal: number): string {
  const hex = createHash('sha256').update(`${customerId}\u0000${detailType}\u0000${ordinal}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Rescores a customer as of `asOfMs` in place: updates the score, the at-risk flag and the
 * due time, and returns the alert for a transition (also appended to the state's outbox).
 */
export function rescore(state: CustomerState, model: CustomerModel, policy: RiskPolicy, asOfMs: number): PendingAlert | null {
  const features = featuresInto(scoreFeatures, state, asOfMs);
  const score = model.score(features);
  const previous = state.score?.churnProbability ?? null;
  const stored: CustomerScore = {
    asOfMs,
    modelVersion: model.version,
    churnProbability: score.churnProbability,
    clv: score.clv,
    pAlive: score.pAlive,
    expectedPurchases: score.expectedPurchases,
    expectedSpend: score.expectedSpend,
  };
  state.score = stored;

  let detailType: AlertType | null = null;
  if (!state.atRisk && score.churnProbability >= policy.threshold) detailType = 'Customer At Risk';
  else if (state.atRisk && score.churnProbability < policy.threshold - policy.margin) detailType = 'Customer Recovered';

  if (detailType) state.atRisk = detailType === 'Customer At Risk';
  state.dueAtMs = state.atRisk ? null : dueTimeFrom(state, model, policy, asOfMs, score.churnProbability, features);
  if (!detailType) return null;

  state.transitions += 1;
  const alert: PendingAlert = {
    detailType,
    detail: {
      eventId: alertEventId(state.customerId, detailType, state.transitions),
      customerId: state.customerId,
      churnProbability: score.churnProbability,
      previousChurnProbability: previous,
      clv: score.clv,
      threshold: policy.threshold,
      modelVersion: model.version,
      asOf: new Date(asOfMs).toISOString(),
      drivers: {
        recencyDays: features.recencyDays,
        frequency: features.frequency,
        tenureDays: features.tenureDays,
        totalSpend: features.totalSpend,
        pAlive: score.pAlive,
      },
    },
  };
  state.outbox.push(alert);
  return alert;
}

/** Rescores of one silent stretch before giving up: each step moves at least a day, a capped one maxDueDays. */
const MAX_SILENT_RESCORES = 16;

/**
 * Rescores a customer as of its due time while that falls on a day before `dayLimit` (a day
 * index): the day is over and the customer did not buy on it, so its crossing is announced as of
 * the day it happened. The consumer calls this before applying a customer's next event (the
 * limit is that event's day) and the sweep as of its own time, so the transition, its id and its
 * as-of time are the same whoever notices it first and whenever. A crossing on the day of the next
 * purchase is never announced: the customer is back. Returns the number of rescores.
 */
export function scoreSilenceBefore(state: CustomerState, model: CustomerModel, policy: RiskPolicy, dayLimit: number): number {
  let rescores = 0;
  while (state.dueAtMs !== null && Math.floor(state.dueAtMs / DAY_MS) < dayLimit && rescores < MAX_SILENT_RESCORES) {
    rescore(state, model, policy, Math.max(state.dueAtMs, state.lastEventMs));
    rescores++;
  }
  return rescores;
}

/**
 * A model that can say, for a customer's features, after how many days since the first purchase
 * (T = days / 7 weeks) its churn probability first reaches a threshold if the customer stays
 * silent (Infinity: never). Only for models whose churn reads the as-of time through T alone and
 * never falls as T grows from tx (BtydModel): then the due day is that crossing, exactly the day
 * the search finds, without evaluating the model day by day.
 */
export interface SilenceCrossingModel extends CustomerModel {
  churnCrossingDays(features: CustomerFeatures, threshold: number): number;
}

function hasSilenceCrossing(model: CustomerModel): model is SilenceCrossingModel {
  return typeof (model as Partial<SilenceCrossingModel>).churnCrossingDays === 'function';
}

/**
 * Working features, refilled by featuresInto rather than allocated per call: models are pure
 * (they never keep what they are given), and rescoring is synchronous, so one object for the
 * score (read until rescore returns) and one for the due-time search serve every customer.
 */
const scoreFeatures: CustomerFeatures = emptyFeatures();
const searchFeatures: CustomerFeatures = emptyFeatures();

/**
 * Churn probability minus the threshold on a day boundary, with no purchase until then. The
 * search fills searchFeatures once per customer (featuresInto) and then moves only its as-of
 * time: the values the model sees are exactly featuresOf(state, day * DAY_MS).
 */
function gapOn(state: CustomerState, model: CustomerModel, threshold: number, day: number): number {
  return model.churnProbability(asOfFeaturesInto(searchFeatures, state, day * DAY_MS)) - threshold;
}

/**
 * The first day-boundary after `asOfMs` at which, with no further purchase, churn probability
 * reaches the threshold. Churn only grows with silence, so the crossing is bracketed and found
 * by regula falsi (Illinois variant) on whole days, falling back to bisection whenever an
 * interpolation step fails to halve the bracket (6 to 10 model evaluations on a year-long
 * bracket). A SilenceCrossingModel answers without the search.
 */
export function dueTime(state: CustomerState, model: CustomerModel, policy: RiskPolicy, asOfMs: number, churnNow?: number): number {
  return dueTimeFrom(state, model, policy, asOfMs, churnNow, undefined);
}

/** dueTime, with the customer's features (as of any time) when the caller already has them. */
function dueTimeFrom(
  state: CustomerState,
  model: CustomerModel,
  policy: RiskPolicy,
  asOfMs: number,
  churnNow: number | undefined,
  features: CustomerFeatures | undefined,
): number {
  const threshold = policy.threshold;
  const start = Math.floor(asOfMs / DAY_MS);
  let lo = start;
  let hi = start + policy.maxDueDays;
  // A purchase history, scored as of its last purchase day or later, within a century of it.
  const regular =
    hasPurchase(state) && start >= state.lastDay && hi - state.firstDay <= 36_500 &&
    Number.isInteger(state.firstDay) && Number.isInteger(state.lastDay) && Number.isInteger(hi);
  if (regular && hasSilenceCrossing(model) && !Number.isNaN(threshold)) {
    // The day the search below would find, read off the model's crossing for this customer:
    // days since the first purchase are the only thing silence changes (see SilenceCrossingModel).
    // x and tx, all the crossing reads, do not depend on the as-of time.
    const crossing = state.firstDay + model.churnCrossingDays(features ?? featuresInto(searchFeatures, state, asOfMs), threshold);
    if (crossing > hi) return hi * DAY_MS;
    return (crossing <= start ? start + 1 : crossing) * DAY_MS;
  }
  featuresInto(searchFeatures, state, hi * DAY_MS);
  let gapHi = gapOn(state, model, threshold, hi);
  if (gapHi < 0) return hi * DAY_MS;
  let gapLo = churnNow === undefined ? gapOn(state, model, threshold, lo) : churnNow - threshold;
  if (gapLo >= 0) return (start + 1) * DAY_MS;
  let side = 0;
  while (hi - lo > 1) {
    const width = hi - lo;
    const guess = Math.round(lo + (width * -gapLo) / (gapHi - gapLo));
    const mid = Math.min(hi - 1, Math.max(lo + 1, guess));
    const value = gapOn(state, model, threshold, mid);
    if (value >= 0) {
      hi = mid;
      gapHi = value;
      if (side === 1) gapLo /= 2;
      side = 1;
    } else {
      lo = mid;
      gapLo = value;
      if (side === -1) gapHi /= 2;
      side = -1;
    }
    if (hi - lo > width / 2 && hi - lo > 1) {
      const half = (lo + hi) >>> 1;
      const halfValue = gapOn(state, model, threshold, half);
      if (halfValue >= 0) {
        hi = half;
        gapHi = halfValue;
      } else {
        lo = half;
        gapLo = halfValue;
      }
      side = 0;
    }
  }
  return hi * DAY_MS;
}
