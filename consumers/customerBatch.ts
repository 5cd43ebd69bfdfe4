import type { PendingAlert } from '../models/customer/alertEvent.ts';
import { applyOrder, blankWorkingState, cloneState, comparePositions, type CustomerState } from '../models/customer/customerState.ts';
import type { CustomerModel } from '../models/clv/customerModel.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds } from '../models/customer/orderEvent.ts';
import { rescore, type RiskPolicy } from '../models/customer/riskPolicy.ts';
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
  /** Event times believed (default: 1990-01-01 up to the wall clock plus 24 h); others are dead-lettered. */
  eventTime?: EventTimeBounds;
  /** Conditional-write attempts per customer before its records are reported failed. */
  maxConflictRetries?: number;
}

export interface BatchResult {
  /** Positions of records to redeliver (transient failures); empty = all done. */
  failedPositions: string[];
  deadLettered: number;
  alertsPublished: number;
}

type DecodedEvent = Extract<DecodedRecord, { ok: true }>;
type PoisonRecord = Extract<DecodedRecord, { ok: false }>;

interface CustomerWork {
  customerId: string;
  records: DecodedEvent[];
}

/** What a save came to, besides a new version: a lost race, or any other failure. */
class SaveFailure {
  constructor(readonly conflict: boolean) {}
}
const CONFLICT = new SaveFailure(true);
const FAILED = new SaveFailure(false);
type SaveOutcome = number | SaveFailure;

const saveFailure = (error: unknown): SaveOutcome => (error instanceof VersionConflictError ? CONFLICT : FAILED);

/** store.save, settled into an outcome: never rejects, even if the store throws synchronously. */
function trySave(store: StateStore, state: CustomerState): Promise<SaveOutcome> {
  try {
    return store.save(state).then(undefined, saveFailure);
  } catch (error) {
    return Promise.resolve(saveFailure(error));
  }
}

/** Per-batch counters, reported once per batch rather than once per record or customer. */
interface BatchCounts {
  rescored: number;
  applied: number;
  duplicatePositions: number;
  duplicateOrders: number;
  conflicts: number;
}

/**
 * Processes one batch of stream records: decode and validate, group by customer in position
 * order, load states in one batched read, apply, rescore, save conditionally (reloading and
 * reapplying on conflict), then publish the transitions from each customer's outbox.
 * Poison records go to the dead-letter sink; transient failures come back as failed positions.
 *
 * Every customer is applied and rescored first, then all saves are issued together and awaited
 * together, so a remote store still sees them concurrently while an in-process one costs no
 * promise chain per customer; only the customers that lose a race take the slower retry path.
 */
export async function processRecords(records: readonly StreamRecord[], deps: ConsumerDeps): Promise<BatchResult> {
  deps.metrics.count('RecordsReceived', records.length);
  const failed = new Set<string>();

  // Decode and group by customer in one pass; the watermark candidate comes along.
  const groups = new Map<string, CustomerWork>();
  const work: CustomerWork[] = [];
  const customerIds: string[] = [];
  let poison: PoisonRecord[] | null = null;
  let batchMax = Number.NEGATIVE_INFINITY;
  let parsedGenerally = 0;
  const bounds = deps.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS;
  const nowMs = deps.now?.() ?? Date.now();
  for (let i = 0; i < records.length; i++) {
    const item = decodeRecord(records[i], bounds, nowMs);
    if (!item.ok) {
      (poison ??= []).push(item);
      continue;
    }
    if (item.general) parsedGenerally++;
    const id = item.order.customerId;
    const group = groups.get(id);
    if (group === undefined) {
      const created: CustomerWork = { customerId: id, records: [item] };
      groups.set(id, created);
      work.push(created);
      customerIds.push(id);
    } else {
      group.records.push(item);
    }
  }
  deps.metrics.count('RecordsParsedGenerally', parsedGenerally);
  let deadLettered = poison === null ? 0 : await setAsidePoison(poison, deps, failed);
  if (work.length === 0) return { failedPositions: [...failed], deadLettered, alertsPublished: 0 };
  for (let i = 0; i < work.length; i++) {
    const items = work[i].records;
    if (items.length > 1) items.sort(byPosition);
    for (let j = 0; j < items.length; j++) batchMax = Math.max(batchMax, items[j].order.eventMs);
  }

  const asOfMs = await watermarkFor(batchMax, deps);
  let loaded: Map<string, CustomerState>;
  try {
    loaded = await deps.store.getMany(customerIds);
  } catch {
    for (const item of work) for (const { record } of item.records) failed.add(record.position);
    deps.metrics.count('RecordsFailed', failed.size);
    return { failedPositions: [...failed], deadLettered, alertsPublished: 0 };
  }

  const counts: BatchCounts = { rescored: 0, applied: 0, duplicatePositions: 0, duplicateOrders: 0, conflicts: 0 };
  const settled: CustomerState[] = [];
  const attempts = deps.maxConflictRetries ?? 5;
  const saving: CustomerWork[] = [];
  const savingStates: CustomerState[] = [];
  const savingApplied: number[] = [];
  const saves: Promise<SaveOutcome>[] = [];
  let unscorable: PoisonRecord[] | null = null;
  for (let i = 0; i < work.length; i++) {
    const item = work[i];
    if (attempts < 1) {
      for (const { record } of item.records) failed.add(record.position);
      continue;
    }
    // The store hands out copies it no longer owns, so they are updated in place.
    const state = loaded.get(item.customerId) ?? blankWorkingState(item.customerId);
    const applied = applyAndRescore(state, item, asOfMs, deps, counts);
    if (typeof applied === 'string') {
      unscorable = setAsideCustomer(unscorable, item, applied);
      continue;
    }
    if (applied === 0) {
      settled.push(state);
      continue;
    }
    saving.push(item);
    savingStates.push(state);
    savingApplied.push(applied);
    saves.push(trySave(deps.store, state));
  }

  const outcomes = await Promise.all(saves);
  let retries: Promise<void>[] | null = null;
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i];
    const item = saving[i];
    if (outcome instanceof SaveFailure && !outcome.conflict) {
      for (const { record } of item.records) failed.add(record.position);
    } else if (outcome instanceof SaveFailure) {
      counts.conflicts++;
      (retries ??= []).push(
        retryAfterConflict(item, asOfMs, deps, attempts - 1, counts).then((state) => {
          if (typeof state === 'string') unscorable = setAsideCustomer(unscorable, item, state);
          else if (state) settled.push(state);
          else for (const { record } of item.records) failed.add(record.position);
        }),
      );
    } else {
      const state = savingStates[i];
      state.version = outcome;
      counts.applied += savingApplied[i];
      settled.push(state);
    }
  }
  if (retries !== null) await Promise.all(retries);
  reportCounts(counts, deps.metrics);
  if (unscorable !== null) deadLettered += await setAsidePoison(unscorable, deps, failed);

  const alertsPublished = await deliverOutboxes(settled, deps, (customerId) => {
    const item = groups.get(customerId);
    for (const { record } of item?.records ?? []) failed.add(record.position);
  });
  deps.metrics.count('RecordsFailed', failed.size);
  return { failedPositions: [...failed], deadLettered, alertsPublished };
}

const byPosition = (a: DecodedEvent, b: DecodedEvent): number => comparePositions(a.record.position, b.record.position);

async function setAsidePoison(poison: PoisonRecord[], deps: ConsumerDeps, failed: Set<string>): Promise<number> {
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

/** Scores are as of the event-time watermark (the wall clock is a floor in live deployments). */
async function watermarkFor(batchMax: number, deps: ConsumerDeps): Promise<number> {
  const known = await deps.store.getWatermark();
  if (batchMax > known) await deps.store.advanceWatermark(batchMax);
  const floor = deps.clock === 'wall' ? (deps.now?.() ?? Date.now()) : Number.NEGATIVE_INFINITY;
  return Math.max(batchMax, known, floor);
}

/**
 * Applies a customer's records to its state and rescores it when any applied: how many applied,
 * or, when applying or scoring throws, the reason the customer cannot be scored. One customer's
 * throw must not fail the whole batch: the caller sets that customer's records aside instead.
 */
function applyAndRescore(state: CustomerState, item: CustomerWork, asOfMs: number, deps: ConsumerDeps, counts: BatchCounts): number | string {
  try {
    const applied = applyRecords(state, item, counts);
    if (applied === 0) return 0;
    rescore(state, deps.model, deps.policy, Math.max(asOfMs, state.lastEventMs));
    counts.rescored++;
    return applied;
  } catch (error) {
    return `customer ${item.customerId} cannot be scored: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function setAsideCustomer(unscorable: PoisonRecord[] | null, item: CustomerWork, reason: string): PoisonRecord[] {
  const list = unscorable ?? [];
  for (const { record } of item.records) list.push({ ok: false, record, reason });
  return list;
}

/**
 * After a lost race: reloads, reapplies and saves again, up to `attempts` times. Null = give up;
 * a string = the customer cannot be scored, for that reason.
 */
async function retryAfterConflict(
  item: CustomerWork,
  asOfMs: number,
  deps: ConsumerDeps,
  attempts: number,
  counts: BatchCounts,
): Promise<CustomerState | null | string> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    let current: CustomerState | undefined;
    try {
      current = (await deps.store.getMany([item.customerId])).get(item.customerId);
    } catch {
      return null;
    }
    const state = current ?? blankWorkingState(item.customerId);
    const applied = applyAndRescore(state, item, asOfMs, deps, counts);
    if (typeof applied === 'string') return applied;
    if (applied === 0) return state;
    const outcome = await trySave(deps.store, state);
    if (outcome instanceof SaveFailure && !outcome.conflict) return null;
    if (outcome instanceof SaveFailure) {
      counts.conflicts++;
      continue;
    }
    state.version = outcome;
    counts.applied += applied;
    return state;
  }
  return null;
}

function applyRecords(state: CustomerState, item: CustomerWork, counts: BatchCounts): number {
  let applied = 0;
  const items = item.records;
  for (let i = 0; i < items.length; i++) {
    const { record, order } = items[i];
    // A StreamRecord is a StreamPosition (source and position): no per-record wrapper.
    const outcome = applyOrder(state, order, record);
    if (outcome === 'applied') applied++;
    else if (outcome === 'duplicate-position') counts.duplicatePositions++;
    else counts.duplicateOrders++;
  }
  return applied;
}

function reportCounts(counts: BatchCounts, metrics: ConsumerMetrics): void {
  metrics.count('DuplicatePositions', counts.duplicatePositions);
  metrics.count('DuplicateOrders', counts.duplicateOrders);
  metrics.count('CustomersRescored', counts.rescored);
  metrics.count('VersionConflicts', counts.conflicts);
  metrics.count('EventsApplied', counts.applied);
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
