import { cloneState, type CustomerState } from '../models/customer/customerState.ts';
import { scoreSilenceBefore } from '../models/customer/riskPolicy.ts';
import { DAY_MS, dayIndex } from '../models/time/calendar.ts';
import type { ConsumerDeps } from './customerBatch.ts';
import { newInvocationId, sendSweptInFlight } from './inFlightAlerts.ts';
import { deliverOutboxes } from './outboxDelivery.ts';
import { CONSISTENT, PENDING, VersionConflictError } from './stateStore/stateStore.ts';

export interface SweepResult {
  asOfMs: number;
  due: number;
  rescored: number;
  /** Customers listed before their due day, indexed anew under their exact due time. */
  reindexed: number;
  /** Customers found with undelivered alerts in their outbox (the outbox index), due or not. */
  pending: number;
  alertsPublished: number;
  /** Alerts the bus refused for good, set aside in the dead-letter sink. */
  alertsDeadLettered: number;
  /** Customers left for the next run (lost races beyond the retry budget, undelivered alerts). */
  deferred: number;
}

/**
 * Rescores the customers who fell silent: only those whose due day is over by `asOfMs` (a
 * purchase later that day would have meant they never left), found through the store's due
 * index, never a table scan. Each is scored as of its due time, not the sweep's, so the alert is
 * the one the consumer would have announced before the customer's next event, whenever the
 * sweep runs. A customer who bought meanwhile is rescored from the fresh state (conditional
 * writes: the consumer and the sweep never overwrite each other).
 *
 * It also resends every outbox left undelivered (found through the store's outbox index): the
 * consumer never fails records for an alert the bus did not take, and an at-risk customer has no
 * due time, so this is the only path by which such an alert leaves. Resent alerts keep their
 * event ids. A consumer delivering the same outbox at the same moment can make the bus see an
 * alert twice, with the same id, which subscribers deduplicate.
 */
export async function runSweep(deps: ConsumerDeps, asOfMs: number, limit: number, pendingLimit = limit): Promise<SweepResult> {
  const [ids, pendingIds] = await Promise.all([deps.store.dueBefore(asOfMs - DAY_MS, limit), deps.store.pendingOutboxes(pendingLimit)]);
  const result: SweepResult = { asOfMs, due: ids.length, rescored: 0, reindexed: 0, pending: pendingIds.length, alertsPublished: 0, alertsDeadLettered: 0, deferred: 0 };
  if (ids.length === 0 && pendingIds.length === 0) return result;
  // Due customers are saved after rescoring, so an eventually consistent read is enough (a stale
  // one loses the conditional write and is reread); pending outboxes are published as read.
  const [loaded, pendingLoaded] = await Promise.all([deps.store.getMany(ids), deps.store.getMany(pendingIds, CONSISTENT)]);
  for (const [id, state] of pendingLoaded) loaded.set(id, state);
  const settled: CustomerState[] = [];
  // Found through the outbox index, or rescored with alerts carried over: saved as pending already.
  const indexed = new Set(pendingIds);
  // Rescored with the alerts they crossed into in flight, under this run's id (inFlightAlerts.ts).
  const run: SweepRun = { invocation: newInvocationId(), fresh: new Set(), unsure: false };
  await Promise.all(
    ids.map(async (id) => {
      const state = await rescoreDue(loaded.get(id), asOfMs, deps, indexed, run);
      if (state === 'deferred') result.deferred++;
      else if (state === 'moved') result.reindexed++;
      else if (state) {
        result.rescored++;
        settled.push(state);
      }
    }),
  );
  deps.metrics.count('CustomersSwept', result.rescored);
  const rescored = new Set(settled.map((state) => state.customerId));
  for (const id of pendingIds) {
    const state = loaded.get(id);
    if (state && state.outbox.length > 0 && !rescored.has(id)) settled.push(state);
  }
  const delivery = await deliverOutboxes(settled, deps, indexed, run.fresh);
  // No receipt if an alert in flight is left undelivered, or a failed save may have stored some.
  if (run.fresh.size > 0 && delivery.unsettled.length === 0 && !run.unsure) {
    try {
      await deps.store.noteSettled(run.invocation);
      deps.metrics.count('SettledReceipts', 1);
    } catch {
      deps.metrics.count('SettledReceiptsFailed', 1);
    }
  }
  result.alertsPublished = delivery.published;
  result.alertsDeadLettered = delivery.deadLettered;
  result.deferred += delivery.left;
  return result;
}

interface SweepRun {
  invocation: string;
  fresh: Set<string>;
  /** A save failed other than by a lost race: it may have been stored with alerts in flight. */
  unsure: boolean;
}

async function rescoreDue(
  stored: CustomerState | undefined,
  asOfMs: number,
  deps: ConsumerDeps,
  indexed: Set<string>,
  run: SweepRun,
): Promise<CustomerState | null | 'deferred' | 'moved'> {
  let current = stored;
  for (let attempt = 0; attempt < (deps.maxConflictRetries ?? 5); attempt++) {
    if (!current || current.dueAtMs === null) return null;
    if (dayIndex(current.dueAtMs) >= dayIndex(asOfMs)) return (await reindex(current, deps)) ? 'moved' : null;
    const state = cloneState(current);
    const carriedCount = state.outbox.length;
    const carried = carriedCount > 0;
    try {
      scoreSilenceBefore(state, deps.model, deps.policy, dayIndex(asOfMs), deps.segmentOf);
    } catch {
      // A customer the model cannot score stays due and is tried again next run; the rest of the
      // page goes on (the consumer dead-letters such a customer's records, the sweep has none).
      deps.metrics.count('CustomersUnscorable', 1);
      return 'deferred';
    }
    const sent = sendSweptInFlight(state, carriedCount, run.invocation);
    try {
      state.version = await deps.store.save(state, carried ? PENDING : undefined);
      if (carried) indexed.add(state.customerId);
      else indexed.delete(state.customerId);
      if (sent) run.fresh.add(state.customerId);
      return state;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) {
        if (sent) run.unsure = true;
        return 'deferred';
      }
      deps.metrics.count('VersionConflicts', 1);
      current = (await deps.store.getMany([state.customerId], CONSISTENT)).get(state.customerId);
    }
  }
  return 'deferred';
}

/**
 * A customer the due index listed before its due day: its key is one the consumer kept while
 * orders moved the due time later (SaveOptions.earlyDueKey), or the index lags a save. Saving it
 * unchanged, without that option, indexes its exact due time, so it is not listed again before
 * then and cannot crowd the due customers out of a page. Nothing is rescored or announced.
 */
async function reindex(current: CustomerState, deps: ConsumerDeps): Promise<boolean> {
  try {
    await deps.store.save(cloneState(current), current.outbox.length > 0 ? PENDING : undefined);
    deps.metrics.count('DueKeysMoved', 1);
    return true;
  } catch {
    // Someone saved it meanwhile (and indexed it anew) or the store failed: the next run sees it again.
    return false;
  }
}

/** Sweeps in pages until nothing due or pending is left (or a page makes no progress). */
export async function sweepAll(deps: ConsumerDeps, asOfMs: number, pageSize: number): Promise<SweepResult> {
  const total: SweepResult = { asOfMs, due: 0, rescored: 0, reindexed: 0, pending: 0, alertsPublished: 0, alertsDeadLettered: 0, deferred: 0 };
  let pendingLimit = pageSize;
  for (;;) {
    const page = await runSweep(deps, asOfMs, pageSize, pendingLimit);
    total.due += page.due;
    total.rescored += page.rescored;
    total.reindexed += page.reindexed;
    total.pending += page.pending;
    total.alertsPublished += page.alertsPublished;
    total.alertsDeadLettered += page.alertsDeadLettered;
    total.deferred += page.deferred;
    // A bus that is down leaves the pending outboxes as they were: the next scheduled run tries
    // them again, and the pages left for due customers do not resend them once per page.
    if (page.pending > 0 && page.alertsPublished + page.alertsDeadLettered === 0) pendingLimit = 0;
    const full = page.due === pageSize || (pendingLimit > 0 && page.pending === pageSize);
    if (!full || page.rescored + page.reindexed + page.alertsPublished + page.alertsDeadLettered === 0) return total;
  }
}
