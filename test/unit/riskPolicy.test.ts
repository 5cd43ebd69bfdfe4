import { describe, expect, it } from 'vitest';
import { DAY_MS, dayIndex } from '../../models/time/calendar.ts';
import { applyEvent, emptyState } from '../../models/customer/customerState.ts';
import { alertEventId, dueTime, rescore, type RiskPolicy } from '../../models/customer/riskPolicy.ts';
import { order } from '../support/orderEvents.ts';
import { RecencyModel } from '../support/recencyModel.ts';

const policy: RiskPolicy = { threshold: 0.6, margin: 0.05, maxDueDays: 730 };
const model = new RecencyModel(60);
// 1 - exp(-d/60) >= 0.6  <=>  d >= 60 ln 2.5 = 54.98 days
const CROSSING_DAYS = 55;

function customerWithPurchaseOn(date: string) {
  const state = emptyState('c1');
  applyEvent(state, order('c1', 'o1', `${date}T12:00:00Z`));
  return state;
}

describe('Risk policy', () => {
  it('announces a customer at risk once, when churn probability reaches the threshold', () => {
    const state = customerWithPurchaseOn('2024-01-01');
    const day0 = Date.parse('2024-01-01T12:00:00Z');
    expect(rescore(state, model, policy, day0 + 30 * DAY_MS)).toBeNull();
    const alert = rescore(state, model, policy, day0 + CROSSING_DAYS * DAY_MS);
    expect(alert?.detailType).toBe('Customer At Risk');
    expect(alert?.detail.churnProbability).toBeGreaterThanOrEqual(0.6);
    expect(alert?.detail.previousChurnProbability).toBeLessThan(0.6);
    expect(rescore(state, model, policy, day0 + 80 * DAY_MS)).toBeNull();
    expect(state.outbox).toHaveLength(1);
  });

  it('does not flap around the threshold: recovery needs threshold minus margin', () => {
    const state = customerWithPurchaseOn('2024-01-01');
    state.atRisk = true;
    // recency 53 days: churn 0.587, inside the margin band: still at risk
    expect(rescore(state, model, policy, Date.parse('2024-02-23T12:00:00Z'))).toBeNull();
    expect(state.atRisk).toBe(true);
    applyEvent(state, order('c1', 'o2', '2024-03-01T12:00:00Z'));
    const alert = rescore(state, model, policy, Date.parse('2024-03-01T13:00:00Z'));
    expect(alert?.detailType).toBe('Customer Recovered');
    expect(state.atRisk).toBe(false);
  });

  it('gives the same transition the same id, and different transitions different ids', () => {
    expect(alertEventId('c1', 'Customer At Risk', 1)).toBe(alertEventId('c1', 'Customer At Risk', 1));
    expect(alertEventId('c1', 'Customer At Risk', 1)).not.toBe(alertEventId('c1', 'Customer At Risk', 3));
    expect(alertEventId('c1', 'Customer At Risk', 1)).not.toBe(alertEventId('c2', 'Customer At Risk', 1));
    expect(alertEventId('c1', 'Customer At Risk', 1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('computes the day a silent customer will cross the threshold', () => {
    const state = customerWithPurchaseOn('2024-01-01');
    const asOf = Date.parse('2024-01-10T08:00:00Z');
    const due = dueTime(state, model, policy, asOf);
    expect(dayIndex(due) - state.lastDay).toBe(CROSSING_DAYS);
    expect(model.churnProbability({ recencyDays: CROSSING_DAYS - 1 } as never)).toBeLessThan(0.6);
    rescore(state, model, policy, asOf);
    expect(state.dueAtMs).toBe(due);
  });

  it('rechecks a customer who will not cross within the search horizon at its end', () => {
    const state = customerWithPurchaseOn('2024-01-01');
    const slow = new RecencyModel(1e6);
    const asOf = Date.parse('2024-01-02T00:00:00Z');
    expect(dueTime(state, slow, policy, asOf)).toBe((dayIndex(asOf) + policy.maxDueDays) * DAY_MS);
  });

  it('clears the due time of a customer already at risk (only a purchase can change that)', () => {
    const state = customerWithPurchaseOn('2024-01-01');
    rescore(state, model, policy, Date.parse('2024-06-01T00:00:00Z'));
    expect(state.atRisk).toBe(true);
    expect(state.dueAtMs).toBeNull();
  });
});
