import { applyEvent, cloneState, comparePositions, type CustomerState, emptyState, type PendingAlert } from '../models/customerState.ts';
import type { CustomerModel } from '../models/customerModel.ts';
import { rescore, type RiskPolicy } from '../models/riskPolicy.ts';
import type { AlertSink } from './alerts/alertSink.ts';
import type { ConsumerMetrics } from './consumerMetrics.ts';
import type { DeadLetterSink } from './deadLetters/deadLetterSink.ts';
import { type DecodedRecord, decodeRecord, type StreamRecord } from './recordDecoding.ts';
import { type StateStore, VersionConflictError } from './stateStore/stateStore.ts';

/** Everything the consumer core needs; the Lambda handler and the local runner wire it. */
export interface ConsumerDeps {
  store: StateStore;
  alerts: AlertSink;
  deadLetters: DeadLetterSink;
  model: CustomerModel;
  policy: RiskPolicy;
  metrics: ConsumerMetrics;
  /** 'event': scores are as of the event-time watermark; 'wall': the wall clock is a floor too. */
  clock: 'event' | 'wall';
  now?: () => number;
  /** Conditional-write attempts per customer before its records are reported failed. */
  maxConflictRetries?: number;
}

export interface BatchResult {
  /** Positions of records to redeliver (transient failures); empty = all done. */
  failedPositions: string[];
  deadLettered: number;
  alertsPublished: number;
}

interface CustomerWork {
  customerId: string;
  records: Extract<DecodedRecord, { ok: true }>[];
}

/**
 * Processes one batch of stream records: decode and validate, group by customer in position
 * order, load states in one batched read, apply, rescore, save conditionally (reloading and
 * reapplying on conflict), then publish the transitions from each customer's outbox.
 * Poison records go to the dead-letter sink; transient failures come back as failed positions.
 */
export async function processRecords(records: readonly StreamRecord[], deps: ConsumerDeps): Promise<BatchResult> {
  deps.metrics.count('RecordsReceived', records.length);
  const decoded = records.map(decodeRecord);
  const failed = new Set<string>();

  const poison = decoded.filter((item): item is Extract<DecodedRecord, { ok: false }> => !item.ok);
  const deadLettered = await setAsidePoison(poison, deps, failed);

  const work = groupByCustomer(decoded);
  if (work.length === 0) return { failedPositions: [...failed], deadLettered, alertsPublished: 0 };

  const asOfMs = await watermarkFor(work, deps);
  const settled: CustomerState[] = [];
  let loaded: Map<string, CustomerState>;
  try {
    loaded = await deps.store.getMany(work.map((item) => item.customerId));
  } catch {
    for (const item of work) for (const { record } of item.records) failed.add(record.position);
    deps.metrics.count('RecordsFailed', failed.size);
    return { failedPositions: [...failed], deadLettered, alertsPublished: 0 };
  }
  await Promise.all(
    work.map(async (item) => {
      const state = await applyAndSave(item, loaded.get(item.customerId), asOfMs, deps);
      if (state) settled.push(state);
      else for (const { record } of item.records) failed.add(record.position);
    }),
  );

  const alertsPublished = await deliverOutboxes(settled, deps, (customerId) => {
    const item = work.find((entry) => entry.customerId === customerId);
    for (const { record } of item?.records ?? []) failed.add(record.position);
  });
  deps.metrics.count('RecordsFailed', failed.size);
  return { failedPositions: [...failed], deadLettered, alertsPublished };
}

async function setAsidePoison(
  poison: Extract<DecodedRecord, { ok: false }>[],
  deps: ConsumerDeps,
  failed: Set<string>,
): Promise<number> {
  if (poison.length === 0) return 0;
  const now = new Date(deps.now?.() ?? Date.now()).toISOString();
  try {
    await deps.deadLetters.send(
      poison.map(({ record, reason }) => ({
        reason,
        source: record.source,
        position: record.position,
        partitionKey: record.partitionKey,
        data: record.data,
        deadLetteredAt: now,
      })),
    );
    deps.metrics.count('PoisonRecords', poison.length);
    return poison.length;
  } catch {
    // The dead-letter destination is down: redeliver rather than lose the records.
    for (const { record } of poison) failed.add(record.position);
    return 0;
  }
}

function groupByCustomer(decoded: readonly DecodedRecord[]): CustomerWork[] {
  const groups = new Map<string, CustomerWork>();
  for (const item of decoded) {
    if (!item.ok) continue;
    const id = item.event.customerId;
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { customerId: id, records: [] }));
    group.records.push(item);
  }
  for (const group of groups.values()) {
    group.records.sort((a, b) => comparePositions(a.record.position, b.record.position));
  }
  return [...groups.values()];
}

/** Scores are as of the event-time watermark (the wall clock is a floor in live deployments). */
async function watermarkFor(work: readonly CustomerWork[], deps: ConsumerDeps): Promise<number> {
  let batchMax = Number.NEGATIVE_INFINITY;
  for (const item of work) for (const { eventMs } of item.records) batchMax = Math.max(batchMax, eventMs);
  const known = await deps.store.getWatermark();
  if (batchMax > known) await deps.store.advanceWatermark(batchMax);
  const floor = deps.clock === 'wall' ? (deps.now?.() ?? Date.now()) : Number.NEGATIVE_INFINITY;
  return Math.max(batchMax, known, floor);
}

/** Applies a customer's records and saves; on a lost race, reloads and reapplies. Null = give up. */
async function applyAndSave(
  item: CustomerWork,
  stored: CustomerState | undefined,
  asOfMs: number,
  deps: ConsumerDeps,
): Promise<CustomerState | null> {
  const attempts = deps.maxConflictRetries ?? 5;
  let current = stored;
  for (let attempt = 0; attempt < attempts; attempt++) {
    // The store hands out copies it no longer owns, so they are updated in place.
    const state = current ?? emptyState(item.customerId);
    const applied = applyRecords(state, item, deps);
    if (applied === 0) return state;
    rescore(state, deps.model, deps.policy, Math.max(asOfMs, state.lastEventMs));
    deps.metrics.count('CustomersRescored', 1);
    try {
      state.version = await deps.store.save(state);
      deps.metrics.count('EventsApplied', applied);
      return state;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) return null;
      deps.metrics.count('VersionConflicts', 1);
      try {
        current = (await deps.store.getMany([item.customerId])).get(item.customerId);
      } catch {
        return null;
      }
    }
  }
  return null;
}

function applyRecords(state: CustomerState, item: CustomerWork, deps: ConsumerDeps): number {
  let applied = 0;
  for (const { record, event, eventMs } of item.records) {
    const outcome = applyEvent(state, event, { source: record.source, position: record.position }, eventMs);
    if (outcome === 'applied') applied++;
    else deps.metrics.count(outcome === 'duplicate-position' ? 'DuplicatePositions' : 'DuplicateOrders', 1);
  }
  return applied;
}

/**
 * Publishes every settled customer's outbox, then clears what was delivered with another
 * conditional write. Undelivered alerts stay in the outbox; the customer's records are
 * reported failed so redelivery retries them (the events themselves are deduplicated).
 */
export async function deliverOutboxes(
  states: readonly CustomerState[],
  deps: Pick<ConsumerDeps, 'store' | 'alerts' | 'metrics'>,
  onUndelivered: (customerId: string) => void,
): Promise<number> {
  const pending = states.filter((state) => state.outbox.length > 0);
  if (pending.length === 0) return 0;
  const alerts: PendingAlert[] = pending.flatMap((state) => state.outbox);
  let undelivered: PendingAlert[];
  try {
    undelivered = await deps.alerts.publish(alerts);
  } catch {
    undelivered = alerts;
  }
  const stuck = new Set(undelivered.map((alert) => alert.detail.eventId));
  deps.metrics.count('AlertsPublished', alerts.length - undelivered.length);
  deps.metrics.count('AlertsUndelivered', undelivered.length);
  await Promise.all(
    pending.map(async (state) => {
      const delivered = new Set(state.outbox.filter((a) => !stuck.has(a.detail.eventId)).map((a) => a.detail.eventId));
      if (delivered.size < state.outbox.length) onUndelivered(state.customerId);
      if (delivered.size > 0 && !(await clearDelivered(state, delivered, deps.store))) onUndelivered(state.customerId);
    }),
  );
  return alerts.length - undelivered.length;
}

/** Removes delivered alerts from the stored outbox, rereading on conflict. */
async function clearDelivered(state: CustomerState, delivered: Set<string>, store: StateStore): Promise<boolean> {
  let current: CustomerState | undefined = state;
  for (let attempt = 0; attempt < 5 && current; attempt++) {
    const next = cloneState(current);
    next.outbox = next.outbox.filter((alert) => !delivered.has(alert.detail.eventId));
    if (next.outbox.length === current.outbox.length) return true;
    try {
      next.version = await store.save(next);
      Object.assign(state, next);
      return true;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) return false;
      current = (await store.getMany([state.customerId])).get(state.customerId);
    }
  }
  return false;
}
