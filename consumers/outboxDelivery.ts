import { ALERT_SOURCE, type PendingAlert } from '../models/customer/alertEvent.ts';
import { cloneState, type CustomerState } from '../models/customer/customerState.ts';
import type { PublishResult, RejectedAlert } from './alerts/alertSink.ts';
import type { ConsumerDeps } from './customerBatch.ts';
import { CONSISTENT, SAVE_PENDING, type StateStore, VersionConflictError } from './stateStore/stateStore.ts';

/** What became of the outboxes handed to deliverOutboxes. */
export interface OutboxDelivery {
  published: number;
  /** Alerts the bus refused for good, now in the dead-letter sink and out of their outboxes. */
  deadLettered: number;
  /** Customers whose stored outbox still holds alerts: the sweep finds them through the outbox index. */
  left: number;
  /**
   * Customers with alerts in flight the bus did not take and the store would not take back into
   * the outbox: only a redelivery of their records can resend them, so the caller fails those.
   */
  unsettled: string[];
}

/**
 * Publishes every settled customer's outbox, and the alerts in flight of the customers in `fresh`
 * (saved with them by this caller: inFlightAlerts.ts), and dead-letters what the bus refuses for
 * good (with its error code). Outbox alerts done are then cleared with another conditional write;
 * alerts in flight need none. Alerts the bus could not take now (throttled, down) stay in (or go
 * back into) the outbox, saved as pending so the sweep finds and resends them with the same event
 * ids: that costs a write only when delivery fails and the customer is not in the outbox index
 * yet (`indexed`: saved as pending already). Never throws.
 */
export async function deliverOutboxes(
  states: readonly CustomerState[],
  deps: Pick<ConsumerDeps, 'store' | 'alerts' | 'deadLetters' | 'metrics' | 'now'>,
  indexed: ReadonlySet<string> = new Set(),
  fresh: ReadonlySet<string> = new Set(),
): Promise<OutboxDelivery> {
  const inFlightOf = (state: CustomerState) => (fresh.has(state.customerId) && state.inFlight !== null ? state.inFlight.alerts : []);
  const pending = states.filter((state) => state.outbox.length > 0 || inFlightOf(state).length > 0);
  if (pending.length === 0) return { published: 0, deadLettered: 0, left: 0, unsettled: [] };
  const alerts: PendingAlert[] = pending.flatMap((state) => [...state.outbox, ...inFlightOf(state)]);
  let result: PublishResult;
  try {
    result = await deps.alerts.publish(alerts);
  } catch {
    // A whole-call error no retry fixes (no such bus, access denied): every alert stays pending.
    result = { retry: alerts, rejected: [] };
  }
  const stuck = new Set(result.retry.map((alert) => alert.detail.eventId));
  const deadLettered = await setAsideRejected(result.rejected, deps);
  for (const { alert } of result.rejected) if (!deadLettered) stuck.add(alert.detail.eventId);
  const rejected = deadLettered ? result.rejected.length : 0;
  const published = alerts.length - result.retry.length - result.rejected.length;
  deps.metrics.count('AlertsPublished', published);
  deps.metrics.count('AlertsDeadLettered', rejected);
  deps.metrics.count('AlertsUndelivered', stuck.size);
  let left = 0;
  const unsettled: string[] = [];
  await Promise.all(
    pending.map(async (state) => {
      const done = new Set(state.outbox.filter((a) => !stuck.has(a.detail.eventId)).map((a) => a.detail.eventId));
      const returning = new Set(inFlightOf(state).filter((a) => stuck.has(a.detail.eventId)).map((a) => a.detail.eventId));
      const settled = await settleOutbox(state, done, returning, deps.store, indexed.has(state.customerId));
      if (done.size < state.outbox.length || returning.size > 0 || !settled) left++;
      if (returning.size > 0 && !settled) unsettled.push(state.customerId);
    }),
  );
  return { published, deadLettered: rejected, left, unsettled };
}

/** Alerts the bus refused for good, to the dead-letter sink. False if the sink is down: they stay pending. */
async function setAsideRejected(rejected: readonly RejectedAlert[], deps: Pick<ConsumerDeps, 'deadLetters' | 'now'>): Promise<boolean> {
  if (rejected.length === 0) return true;
  const now = new Date(deps.now?.() ?? Date.now()).toISOString();
  try {
    await deps.deadLetters.send(
      rejected.map(({ alert, code, message }) => ({
        reason: `alert refused by the event bus: ${code}: ${message}`,
        source: ALERT_SOURCE,
        position: alert.detail.eventId,
        partitionKey: alert.detail.customerId,
        data: JSON.stringify(alert),
        errorCode: code,
        deadLetteredAt: now,
      })),
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes delivered (or dead-lettered) alerts from the stored outbox, moves the alerts in flight
 * the bus did not take (`returning`) back into it, and saves what is left as pending unless it is
 * indexed already; rereads on conflict. False if the store failed us: the alerts stay where they
 * were (a delivered one may then be resent, with its id).
 */
async function settleOutbox(state: CustomerState, done: Set<string>, returning: Set<string>, store: StateStore, indexed: boolean): Promise<boolean> {
  let current: CustomerState | undefined = state;
  for (let attempt = 0; attempt < 5 && current; attempt++) {
    const next = cloneState(current);
    next.outbox = next.outbox.filter((alert) => !done.has(alert.detail.eventId));
    const inFlight = next.inFlight;
    const back = inFlight === null ? [] : inFlight.alerts.filter((alert) => returning.has(alert.detail.eventId));
    if (inFlight !== null && back.length > 0) {
      next.outbox.push(...back);
      const kept = inFlight.alerts.filter((alert) => !returning.has(alert.detail.eventId));
      next.inFlight = kept.length === 0 ? null : { ...inFlight, alerts: kept };
    }
    if (back.length === 0 && next.outbox.length === current.outbox.length && (indexed || next.outbox.length === 0)) return true;
    try {
      // Keeps the due key the save before it chose: clearing an outbox moves no due time.
      next.version = await store.save(next, SAVE_PENDING);
      Object.assign(state, next);
      return true;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) return false;
      current = (await store.getMany([state.customerId], CONSISTENT)).get(state.customerId);
      // Whoever saved it meanwhile loaded these alerts with it, so saved them as pending.
      indexed = true;
    }
  }
  return false;
}
