import { createHash } from 'node:crypto';
import { DAY_MS } from '../time/calendar.ts';
import { asOfFeaturesInto, emptyFeatures, featuresInto, type CustomerFeatures } from './customerFeatures.ts';
import type { CustomerModel, ModelScore } from '../clv/customerModel.ts';
import type { AlertType, PendingAlert } from './alertEvent.ts';
import { type CustomerScore, type CustomerState, hasPurchase } from './customerState.ts';

/**
 * What the alerts announce, and when (README "Alerts worth acting on"):
 * - An order never makes a customer at risk: it only lowers risk. An order from a customer at
 *   risk announces "Customer Recovered".
 * - A repeat customer (two or more purchase days) is announced "Customer At Risk" in silence, on
 *   the first day its risk measure reaches `level`: its churn probability ('churn'), its
 *   expected loss, churn probability × the CLV it had at its last purchase ('expected-loss'),
 *   churn probability × its spend per year ('spend-at-risk', what a win-back could keep), or its
 *   rise in churn probability since its last purchase ('risk-rise'); all but 'churn' also need
 *   churn probability ≥ `minChurn`, so that a valuable customer is not announced the day after
 *   an order because its value is large.
 * - A one-time buyer is announced "Customer Not Returning" after `notReturningAfterDays` of
 *   silence (0: never), never "Customer At Risk".
 * Every measure grows with silence, so each is a crossing of the churn probability through a
 * level of the customer's own, fixed at its last purchase: the due-time search finds it.
 */
export const RISK_TRIGGERS = ['churn', 'expected-loss', 'risk-rise', 'spend-at-risk'] as const;
export type RiskTrigger = (typeof RISK_TRIGGERS)[number];

export interface RiskPolicy {
  trigger: RiskTrigger;
  /** 'churn' and 'risk-rise': a probability (0..1); 'expected-loss' and 'spend-at-risk': currency. */
  level: number;
  /** Every trigger but 'churn': the churn probability a repeat customer must also reach. */
  minChurn: number;
  /** Days of silence after a first purchase before "Customer Not Returning"; 0: never announced. */
  notReturningAfterDays: number;
  /** How far ahead the due-time search looks; a customer not due by then is rechecked then. */
  maxDueDays: number;
}

/** Chosen by `demand-insights eval alerts` on Online Retail II and CDNOW (README, "Alerts worth acting on"). */
export const DEFAULT_RISK_POLICY: RiskPolicy = { trigger: 'spend-at-risk', level: 190, minChurn: 0.22, notReturningAfterDays: 90, maxDueDays: 730 };

/** The same transition (customer, type, its ordinal) always gets the same id. */
export function alertEventId(customerId: string, detailType: AlertType, ordinal: number): string {
  const hex = createHash('sha256').update(`${customerId}\u0000${detailType}\u0000${ordinal}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Why a customer is rescored: its order was just applied, another event (a return) was, or
 * time passed in silence (the due time, the sweep, a bootstrap as of a later time).
 */
export type ScoreMoment = 'order' | 'event' | 'silence';

/** Segment names for alerts; an alert without one says null. */
export type SegmentNamer = (features: CustomerFeatures) => string | null;

/**
 * Rescores a customer as of `asOfMs` in place: updates the score, the at-risk flag and the
 * due time, and returns the alert for a transition (also appended to the state's outbox).
 */
export function rescore(
  state: CustomerState,
  model: CustomerModel,
  policy: RiskPolicy,
  asOfMs: number,
  moment: ScoreMoment = 'silence',
  segmentOf?: SegmentNamer,
): PendingAlert | null {
  const features = featuresInto(scoreFeatures, state, asOfMs);
  const score = model.score(features);
  const previous = state.score?.churnProbability ?? null;
  const wasDue = state.dueAtMs !== null && Math.floor(state.dueAtMs / DAY_MS) <= Math.floor(asOfMs / DAY_MS);
  state.score = {
    asOfMs,
    modelVersion: model.version,
    churnProbability: score.churnProbability,
    clv: score.clv,
    pAlive: score.pAlive,
    expectedPurchases: score.expectedPurchases,
    expectedSpend: score.expectedSpend,
  } satisfies CustomerScore;

  const repeat = hasPurchase(state) && state.occasions >= 2;
  // The customer's own level, fixed at its last purchase; a 'churn' level needs no score for it.
  let atLastPurchase: ModelScore | null = null;
  const lastPurchase = () => (atLastPurchase ??= lastPurchaseScore(state, model));
  const churnLevel = !repeat ? Number.POSITIVE_INFINITY : churnLevelFor(policy, lastPurchase, state);
  const silent = moment === 'silence' && hasPurchase(state) && Math.floor(asOfMs / DAY_MS) > state.lastDay;

  let detailType: AlertType | null = null;
  if (moment === 'order' && state.atRisk) detailType = 'Customer Recovered';
  else if (silent && !state.atRisk && repeat && score.churnProbability >= churnLevel) detailType = 'Customer At Risk';
  else if (silent && !state.atRisk && !repeat && wasDue && notReturningDay(state, policy) <= Math.floor(asOfMs / DAY_MS)) {
    detailType = 'Customer Not Returning';
  }

  if (detailType === 'Customer Recovered') state.atRisk = false;
  else if (detailType === 'Customer At Risk') state.atRisk = true;
  state.dueAtMs = nextDue(state, model, policy, asOfMs, churnLevel, score.churnProbability, features, detailType);
  if (!detailType) return null;

  state.transitions += 1;
  const reference = lastPurchase();
  const expectedLoss = score.churnProbability * reference.clv;
  const alert: PendingAlert = {
    detailType,
    detail: {
      eventId: alertEventId(state.customerId, detailType, state.transitions),
      customerId: state.customerId,
      churnProbability: score.churnProbability,
      previousChurnProbability: previous,
      clv: score.clv,
      expectedLoss,
      segment: segmentOf?.(features) ?? null,
      trigger: policy.trigger,
      level: policy.level,
      modelVersion: model.version,
      asOf: new Date(asOfMs).toISOString(),
      drivers: {
        recencyDays: features.recencyDays,
        frequency: features.frequency,
        tenureDays: features.tenureDays,
        totalSpend: features.totalSpend,
        pAlive: score.pAlive,
        churnAtLastPurchase: reference.churnProbability,
        clvAtLastPurchase: reference.clv,
      },
    },
  };
  state.outbox.push(alert);
  return alert;
}

/**
 * The churn probability at which a repeat customer is at risk. `atLastPurchase` scores the
 * customer as of its last purchase, only for the triggers that read it (a model evaluation).
 */
function churnLevelFor(policy: RiskPolicy, atLastPurchase: () => ModelScore, state: CustomerState): number {
  switch (policy.trigger) {
    case 'churn':
      return policy.level;
    case 'risk-rise':
      return Math.max(policy.minChurn, atLastPurchase().churnProbability + policy.level);
    case 'expected-loss': {
      const clv = atLastPurchase().clv;
      return clv > 0 ? Math.max(policy.minChurn, policy.level / clv) : Number.POSITIVE_INFINITY;
    }
    case 'spend-at-risk': {
      const annualSpend = annualSpendOf(state);
      return annualSpend > 0 ? Math.max(policy.minChurn, policy.level / annualSpend) : Number.POSITIVE_INFINITY;
    }
  }
}

const lastPurchaseFeatures: CustomerFeatures = emptyFeatures();

/**
 * The customer scored as of the end of its last purchase day: what its level is fixed from, the
 * same whenever it is asked (after the order, after a later return, in silence).
 */
function lastPurchaseScore(state: CustomerState, model: CustomerModel): ModelScore {
  return model.score(featuresInto(lastPurchaseFeatures, state, (state.lastDay + 1) * DAY_MS - 1));
}

/** Spend per year of the customer's history (its whole spend when it is younger than a year). */
function annualSpendOf(state: CustomerState): number {
  const days = state.lastDay - state.firstDay + 1;
  return (state.spendCents / 100) * Math.min(1, 365 / days);
}

function notReturningDay(state: CustomerState, policy: RiskPolicy): number {
  return policy.notReturningAfterDays > 0 ? state.lastDay + policy.notReturningAfterDays : Number.POSITIVE_INFINITY;
}

/** When to look at the customer next: its crossing if a repeat customer, its not-returning day if a one-time buyer. */
function nextDue(
  state: CustomerState,
  model: CustomerModel,
  policy: RiskPolicy,
  asOfMs: number,
  churnLevel: number,
  churnNow: number,
  features: CustomerFeatures,
  announced: AlertType | null,
): number | null {
  if (state.atRisk || !hasPurchase(state)) return null;
  if (state.occasions >= 2) {
    if (!(churnLevel <= 1)) return null;
    return dueTimeFrom(state, model, { ...policy, level: churnLevel }, asOfMs, churnNow, features);
  }
  if (announced === 'Customer Not Returning') return null;
  const day = notReturningDay(state, policy);
  const today = Math.floor(asOfMs / DAY_MS);
  // Already past it without being due (a bootstrap, or a first purchase that arrived late): not announced.
  if (!Number.isFinite(day) || (day <= today && state.dueAtMs === null)) return null;
  return Math.max(day, today + 1) * DAY_MS;
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
export function scoreSilenceBefore(state: CustomerState, model: CustomerModel, policy: RiskPolicy, dayLimit: number, segmentOf?: SegmentNamer): number {
  let rescores = 0;
  while (state.dueAtMs !== null && Math.floor(state.dueAtMs / DAY_MS) < dayLimit && rescores < MAX_SILENT_RESCORES) {
    rescore(state, model, policy, Math.max(state.dueAtMs, state.lastEventMs), 'silence', segmentOf);
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
  const threshold = policy.level;
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
