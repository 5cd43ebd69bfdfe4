import { describe, expect, it } from 'vitest';
import { DAY_MS, dayIndex } from '../../models/time/calendar.ts';
import { applyEvent, emptyState } from '../../models/customer/customerState.ts';
import { alertEventId, DEFAULT_RISK_POLICY, dueTime, rescore, type RiskPolicy, scoreSilenceBefore } from '../../models/customer/riskPolicy.ts';
import { order } from '../support/orderEvents.ts';
import { RecencyModel } from '../support/recencyModel.ts';

const policy: RiskPolicy = { ...DEFAULT_RISK_POLICY, trigger: 'churn', level: 0.6, notReturningAfterDays: 90 };
const model = new RecencyModel(60);
// 1 - exp(-d/60) >= 0.6  <=>  d >= 60 ln 2.5 = 54.98 days
const CROSSING_DAYS = 55;

/** A customer with an order on each date, each rescored as the consumer does, at the order. */
function customerWithOrders(dates: string[], spend = 50, id = 'c1', p = policy) {
  const state = emptyState(id);
  dates.forEach((date, i) => {
    applyEvent(state, order(id, `o${i}`, `${date}T12:00:00Z`, spend));
    rescore(state, model, p, state.lastEventMs, 'order');
  });
  return state;
}

describe('Risk policy: alerts worth acting on', () => {
  it('never announces a customer at risk at an order, however high its risk', () => {
    const state = emptyState('c1');
    applyEvent(state, order('c1', 'o1', '2024-01-01T12:00:00Z'));
    const highRisk = new RecencyModel(0.001);
    expect(highRisk.churnProbability({ recencyDays: 0.5 } as never)).toBeGreaterThan(0.99);
    expect(rescore(state, highRisk, policy, state.lastEventMs + 12 * 3_600_000, 'order')).toBeNull();
    expect(state.atRisk).toBe(false);
  });

  it('announces a first-time buyer who does not come back as "Customer Not Returning", never at risk', () => {
    const state = customerWithOrders(['2024-01-01']);
    expect(dayIndex(state.dueAtMs!)).toBe(state.lastDay + 90);
    expect(scoreSilenceBefore(state, model, policy, state.lastDay + 90)).toBe(0);
    scoreSilenceBefore(state, model, policy, state.lastDay + 200);
    expect(state.outbox.map((a) => [a.detailType, a.detail.asOf.slice(0, 10)])).toEqual([['Customer Not Returning', '2024-03-31']]);
    expect(state.atRisk).toBe(false);
    expect(state.dueAtMs).toBeNull();
    // Left out by a setting.
    const quiet = customerWithOrders(['2024-01-01'], 50, 'c2', { ...policy, notReturningAfterDays: 0 });
    expect(quiet.dueAtMs).toBeNull();
  });

  it('announces a loyal customer going silent on the day churn reaches the level, once, and its recovery at its next order', () => {
    const state = customerWithOrders(['2024-01-01', '2024-01-15', '2024-02-01']);
    expect(dayIndex(state.dueAtMs!) - state.lastDay).toBe(CROSSING_DAYS);
    scoreSilenceBefore(state, model, policy, state.lastDay + 200);
    const [alert] = state.outbox;
    expect(alert.detailType).toBe('Customer At Risk');
    expect(dayIndex(Date.parse(alert.detail.asOf)) - state.lastDay).toBe(CROSSING_DAYS);
    expect(alert.detail.churnProbability).toBeGreaterThanOrEqual(0.6);
    expect(alert.detail).toMatchObject({ trigger: 'churn', level: 0.6, segment: null });
    expect(alert.detail.expectedLoss).toBeCloseTo(alert.detail.churnProbability * alert.detail.drivers.clvAtLastPurchase, 10);
    expect(state.dueAtMs).toBeNull();
    expect(rescore(state, model, policy, Date.parse('2024-09-01T00:00:00Z'), 'silence')).toBeNull();

    applyEvent(state, order('c1', 'o9', '2024-10-01T12:00:00Z'));
    expect(rescore(state, model, policy, state.lastEventMs, 'order')?.detailType).toBe('Customer Recovered');
    expect(state.atRisk).toBe(false);
    expect(state.outbox.map((a) => a.detail.eventId)).toEqual([alertEventId('c1', 'Customer At Risk', 1), alertEventId('c1', 'Customer Recovered', 2)]);
  });

  it('a return is not an order: it neither announces risk nor recovers', () => {
    const state = customerWithOrders(['2024-01-01', '2024-01-15']);
    scoreSilenceBefore(state, model, policy, state.lastDay + 200);
    expect(state.atRisk).toBe(true);
    applyEvent(state, order('c1', 'r1', '2024-09-01T12:00:00Z', 10, 'return'));
    expect(rescore(state, model, policy, state.lastEventMs, 'event')).toBeNull();
    expect(state.atRisk).toBe(true);
  });

  it('with the expected-loss trigger, announces a high-value customer before a low-value one at the same risk', () => {
    const lossPolicy: RiskPolicy = { ...policy, trigger: 'expected-loss', level: 20 };
    const rich = customerWithOrders(['2024-01-01', '2024-02-01'], 500, 'rich', lossPolicy);
    const poor = customerWithOrders(['2024-01-01', '2024-02-01'], 50, 'poor', lossPolicy);
    // Same days, so the same churn every day; only the value differs.
    expect(rich.dueAtMs!).toBeLessThan(poor.dueAtMs!);
    scoreSilenceBefore(rich, model, lossPolicy, dayIndex(rich.dueAtMs!) + 1);
    scoreSilenceBefore(poor, model, lossPolicy, dayIndex(rich.dueAtMs!) + 1);
    expect(rich.outbox.map((a) => a.detailType)).toEqual(['Customer At Risk']);
    expect(rich.outbox[0].detail.expectedLoss).toBeGreaterThanOrEqual(20);
    expect(poor.outbox).toEqual([]);
    // A floor on churn holds the rich one back until it is also likely gone.
    const floored = customerWithOrders(['2024-01-01', '2024-02-01'], 500, 'rich', { ...lossPolicy, minChurn: 0.6 });
    expect(dayIndex(floored.dueAtMs!) - floored.lastDay).toBe(CROSSING_DAYS);
  });

  it('with the risk-rise trigger, announces a customer when churn has risen by the level since its last purchase', () => {
    const rise: RiskPolicy = { ...policy, trigger: 'risk-rise', level: 0.5 };
    const state = customerWithOrders(['2024-01-01', '2024-02-01'], 50, 'c1', rise);
    // Churn at the end of the last purchase day is 1 - exp(-0.5/60) ≈ 0.0083 (recency counts whole days: 0).
    const days = dayIndex(state.dueAtMs!) - state.lastDay;
    expect(1 - Math.exp(-days / 60)).toBeGreaterThanOrEqual(0.5);
    expect(1 - Math.exp(-(days - 1) / 60)).toBeLessThan(0.5 + model.churnProbability({ recencyDays: 0 } as never));
  });

  it('gives the same transition the same id, and different transitions different ids', () => {
    expect(alertEventId('c1', 'Customer At Risk', 1)).toBe(alertEventId('c1', 'Customer At Risk', 1));
    expect(alertEventId('c1', 'Customer At Risk', 1)).not.toBe(alertEventId('c1', 'Customer At Risk', 3));
    expect(alertEventId('c1', 'Customer At Risk', 1)).not.toBe(alertEventId('c2', 'Customer At Risk', 1));
    expect(alertEventId('c1', 'Customer At Risk', 1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('rechecks a customer who will not cross within the search horizon at its end', () => {
    const state = customerWithOrders(['2024-01-01', '2024-01-02']);
    const slow = new RecencyModel(1e6);
    const asOf = Date.parse('2024-01-02T00:00:00Z');
    expect(dueTime(state, slow, policy, asOf)).toBe((dayIndex(asOf) + policy.maxDueDays) * DAY_MS);
  });

  it('starts a bootstrapped repeat customer past its crossing at risk, with nothing announced by the caller kept', () => {
    const state = emptyState('c1');
    applyEvent(state, order('c1', 'o1', '2024-01-01T12:00:00Z'));
    applyEvent(state, order('c1', 'o2', '2024-01-10T12:00:00Z'));
    rescore(state, model, policy, Date.parse('2024-06-01T00:00:00Z'), 'silence');
    expect(state.atRisk).toBe(true);
    expect(state.dueAtMs).toBeNull();
    const single = emptyState('c2');
    applyEvent(single, order('c2', 'o1', '2024-01-01T12:00:00Z'));
    expect(rescore(single, model, policy, Date.parse('2024-06-01T00:00:00Z'), 'silence')).toBeNull();
    expect([single.atRisk, single.dueAtMs]).toEqual([false, null]);
  });
});
