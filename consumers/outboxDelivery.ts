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
}

/**
 * Publishes every settled customer's outbox, dead-letters what the bus refuses for good (with its
 * error code), then clears both from the stored outbox with another conditional write. Alerts the
 * bus could not take now (throttled, down) stay in the outbox, saved as pending so the sweep finds
 * and resends them with the same event ids: that costs a write only when delivery fails and the
 * customer is not in the outbox index yet (`indexed`: saved as pending already). Never throws.
 */
export async function deliverOutboxes(
  states: readonly CustomerState[],
  deps: Pick<ConsumerDeps, 'store' | 'alerts' | 'deadLetters' | 'metrics' | 'now'>,
  indexed: ReadonlySet<string> = new Set(),
): Promise<OutboxDelivery> {
  const pending = states.filter((state) => state.outbox.length > 0);
  if (pending.length === 0) return { published: 0, deadLettered: 0, left: 0 };
  const alerts: PendingAlert[] = pending.flatMap((state) => state.outbox);
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
  await Promise.all(
    pending.map(async (state) => {
      const done = new Set(state.outbox.filter((a) => !stuck.has(a.detail.eventId)).map((a) => a.detail.eventId));
      const settled = await settleOutbox(state, done, deps.store, indexed.has(state.customerId));
      if (done.size < state.outbox.length || !settled) left++;
    }),
  );
  return { published, deadLettered: rejected, left };
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
 * Removes delivered (or dead-lettered) alerts from the stored outbox, and saves what is left as
 * pending unless it is indexed already; rereads on conflict. False if the store failed us: the
 * alerts stay where they were (a delivered one may then be resent, with its id).
 */
async function settleOutbox(state: CustomerState, done: Set<string>, store: StateStore, indexed: boolean): Promise<boolean> {
  let current: CustomerState | undefined = state;
  for (let attempt = 0; attempt < 5 && current; attempt++) {
    const next = cloneState(current);
    next.outbox = next.outbox.filter((alert) => !done.has(alert.detail.eventId));
    if (next.outbox.length === current.outbox.length && (indexed || next.outbox.length === 0)) return true;
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
