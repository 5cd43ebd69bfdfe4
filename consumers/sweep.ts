import { cloneState, type CustomerState } from '../models/customer/customerState.ts';
import { scoreSilenceBefore } from '../models/customer/riskPolicy.ts';
import { DAY_MS, dayIndex } from '../models/time/calendar.ts';
import { type ConsumerDeps, deliverOutboxes } from './customerBatch.ts';
import { VersionConflictError } from './stateStore/stateStore.ts';

export interface SweepResult {
  asOfMs: number;
  due: number;
  rescored: number;
  alertsPublished: number;
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
 */
export async function runSweep(deps: ConsumerDeps, asOfMs: number, limit: number): Promise<SweepResult> {
  const ids = await deps.store.dueBefore(asOfMs - DAY_MS, limit);
  const result: SweepResult = { asOfMs, due: ids.length, rescored: 0, alertsPublished: 0, deferred: 0 };
  if (ids.length === 0) return result;
  const loaded = await deps.store.getMany(ids);
  const settled: CustomerState[] = [];
  await Promise.all(
    ids.map(async (id) => {
      const state = await rescoreDue(loaded.get(id), asOfMs, deps);
      if (state === 'deferred') result.deferred++;
      else if (state) {
        result.rescored++;
        settled.push(state);
      }
    }),
  );
  deps.metrics.count('CustomersSwept', result.rescored);
  result.alertsPublished = await deliverOutboxes(settled, deps, () => result.deferred++);
  return result;
}

async function rescoreDue(stored: CustomerState | undefined, asOfMs: number, deps: ConsumerDeps): Promise<CustomerState | null | 'deferred'> {
  let current = stored;
  for (let attempt = 0; attempt < (deps.maxConflictRetries ?? 5); attempt++) {
    if (!current || current.dueAtMs === null || dayIndex(current.dueAtMs) >= dayIndex(asOfMs)) return null;
    const state = cloneState(current);
    scoreSilenceBefore(state, deps.model, deps.policy, dayIndex(asOfMs));
    try {
      state.version = await deps.store.save(state);
      return state;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) return 'deferred';
      deps.metrics.count('VersionConflicts', 1);
      current = (await deps.store.getMany([state.customerId])).get(state.customerId);
    }
  }
  return 'deferred';
}

/** Sweeps in pages until nothing due is left (or a page makes no progress). */
export async function sweepAll(deps: ConsumerDeps, asOfMs: number, pageSize: number): Promise<SweepResult> {
  const total: SweepResult = { asOfMs, due: 0, rescored: 0, alertsPublished: 0, deferred: 0 };
  for (;;) {
    const page = await runSweep(deps, asOfMs, pageSize);
    total.due += page.due;
    total.rescored += page.rescored;
    total.alertsPublished += page.alertsPublished;
    total.deferred += page.deferred;
    if (page.due < pageSize || page.rescored === 0) return total;
  }
}
