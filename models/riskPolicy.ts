import { createHash } from 'node:crypto';
import { DAY_MS } from './calendar.ts';
import { featuresOf } from './customerFeatures.ts';
import type { CustomerModel } from './customerModel.ts';
import type { AlertType, CustomerState, PendingAlert } from './customerState.ts';

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
  const features = featuresOf(state, asOfMs);
  const score = model.score(features);
  const previous = state.score?.churnProbability ?? null;
  state.score = { asOfMs, modelVersion: model.version, ...score };

  let detailType: AlertType | null = null;
  if (!state.atRisk && score.churnProbability >= policy.threshold) detailType = 'Customer At Risk';
  else if (state.atRisk && score.churnProbability < policy.threshold - policy.margin) detailType = 'Customer Recovered';

  if (detailType) state.atRisk = detailType === 'Customer At Risk';
  state.dueAtMs = state.atRisk ? null : dueTime(state, model, policy, asOfMs);
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

/**
 * The first day-boundary after `asOfMs` at which, with no further purchase, churn probability
 * reaches the threshold: a bisection over days, since the probability only grows with silence.
 */
export function dueTime(state: CustomerState, model: CustomerModel, policy: RiskPolicy, asOfMs: number): number {
  const start = Math.floor(asOfMs / DAY_MS);
  const churnOn = (day: number) => model.churnProbability(featuresOf(state, day * DAY_MS));
  let hi = start + policy.maxDueDays;
  if (churnOn(hi) < policy.threshold) return hi * DAY_MS;
  let lo = start;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (churnOn(mid) >= policy.threshold) hi = mid;
    else lo = mid;
  }
  return hi * DAY_MS;
}
