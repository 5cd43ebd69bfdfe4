import {
  applyOrder,
  blankWorkingState,
  comparePositions,
  type CustomerState,
  DEFAULT_DUPLICATE_HORIZON_DAYS,
} from '../models/customer/customerState.ts';
import type { CustomerModel } from '../models/clv/customerModel.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds } from '../models/customer/orderEvent.ts';
import { rescore, type RiskPolicy, scoreSilenceBefore, type SegmentNamer } from '../models/customer/riskPolicy.ts';
import { dayIndex } from '../models/time/calendar.ts';
import type { AlertSink } from './alerts/alertSink.ts';
import type { ConsumerMetrics } from './consumerMetrics.ts';
import type { DeadLetterSink } from './deadLetters/deadLetterSink.ts';
import { type DecodedRecord, decodeRecord, type StreamRecord } from './recordDecoding.ts';
import { batchInvocationId, finishedBy, resolveInFlight, sendInFlight } from './inFlightAlerts.ts';
import { deliverOutboxes } from './outboxDelivery.ts';
import { CONSISTENT, SAVE, SAVE_PENDING, type SaveOptions, type StateStore, VersionConflictError } from './stateStore/stateStore.ts';
import { publishBatchWatermark, type WatermarkTracker } from './watermark.ts';
import { setAsidePoison } from './deadLetters/poisonRecords.ts';

/** Everything the consumer core needs; the Lambda handler and the local runner wire it. */
export interface ConsumerDeps {
  store: StateStore;
  alerts: AlertSink;
  deadLetters: DeadLetterSink;
  model: CustomerModel;
  policy: RiskPolicy;
  /** Names each alerted customer's RFM segment (segmentNamer); unset, alerts carry segment null. */
  segmentOf?: SegmentNamer;
  metrics: ConsumerMetrics;
  /**
   * The sweep's and the API's clock: 'event' is the event-time watermark, 'wall' floors it by the
   * wall clock. The consumer itself scores every customer as of its own latest event.
   */
  clock: 'event' | 'wall';
  now?: () => number;
  /** This container's watermark; unset, one is kept per deps object (wired once per container). */
  watermark?: WatermarkTracker;
  /**
   * Event times believed (default: 1990-01-01 up to the wall clock plus 24 h); others are
   * dead-lettered. The same skew bounds the watermark.
   */
  eventTime?: EventTimeBounds;
  /** Conditional-write attempts per customer before its records are reported failed. */
  maxConflictRetries?: number;
  /** Days of event time a producer retry is ignored for (DEFAULT_DUPLICATE_HORIZON_DAYS). */
  duplicateHorizonDays?: number;
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
  /** Records older than the duplicate horizon when applied: set aside before the state is saved. */
  beyondHorizon?: DecodedEvent[];
  /** True once those are in the dead-letter sink, so a retry after a lost race does not resend them. */
  setAside?: boolean;
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
function trySave(store: StateStore, state: CustomerState, options?: SaveOptions): Promise<SaveOutcome> {
  try {
    return store.save(state, options).then(undefined, saveFailure);
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
  /** Customers whose alerts in flight went back into the outbox, to be published again. */
  resent: number;
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

  // Decode and group by customer in one pass.
  const groups = new Map<string, CustomerWork>();
  const work: CustomerWork[] = [];
  const customerIds: string[] = [];
  let poison: PoisonRecord[] | null = null;
  let parsedGenerally = 0;
  // The records that can change a state, in arrival order: what the invocation's id is made of.
  const decoded: StreamRecord[] = [];
  const bounds = deps.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS;
  const nowMs = deps.now?.() ?? Date.now();
  for (let i = 0; i < records.length; i++) {
    const item = decodeRecord(records[i], bounds, nowMs);
    if (!item.ok) {
      (poison ??= []).push(item);
      continue;
    }
    if (item.general) parsedGenerally++;
    decoded.push(item.record);
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
  }

  let loaded: Map<string, CustomerState>;
  try {
    loaded = await deps.store.getMany(customerIds);
  } catch {
    for (const item of work) for (const { record } of item.records) failed.add(record.position);
    deps.metrics.count('RecordsFailed', failed.size);
    return { failedPositions: [...failed], deadLettered, alertsPublished: 0 };
  }

  // Poison records change no state, so they are left out: with or without them, a batch leaves the same states.
  const invocation = batchInvocationId(decoded);
  const settledBefore = await settledReceipts(work, loaded, deps);
  const counts: BatchCounts = { rescored: 0, applied: 0, duplicatePositions: 0, duplicateOrders: 0, conflicts: 0, resent: 0 };
  const settled: CustomerState[] = [];
  const attempts = deps.maxConflictRetries ?? 5;
  const saving: CustomerWork[] = [];
  const savingStates: CustomerState[] = [];
  const savingApplied: number[] = [];
  const saves: Promise<SaveOutcome>[] = [];
  // Customers saved with alerts carried over from an earlier save: already in the outbox index.
  const indexed = new Set<string>();
  // Customers saved with the alerts they decided in flight (inFlightAlerts.ts).
  const fresh = new Set<string>();
  let unscorable: PoisonRecord[] | null = null;
  // Customers with an outbox and nothing to save: read eventually consistently, so their outbox
  // may be one a delivery has cleared since; reread consistently before publishing it again.
  let unsaved: string[] | null = null;
  for (let i = 0; i < work.length; i++) {
    const item = work[i];
    if (attempts < 1) {
      for (const { record } of item.records) failed.add(record.position);
      continue;
    }
    // The store hands out copies it no longer owns, so they are updated in place.
    const state = loaded.get(item.customerId) ?? blankWorkingState(item.customerId);
    const resent = resolveInFlight(state, item.records, settledBefore);
    if (resent) counts.resent++;
    const carried = state.outbox.length;
    const transitions = state.transitions;
    const applied = applyAndRescore(state, item, deps, counts);
    if (typeof applied === 'string') {
      unscorable = setAsideCustomer(unscorable, item, applied);
      continue;
    }
    // Alerts back from flight are saved as pending before they are published again.
    if (applied === 0 && state.transitions === transitions && !resent) {
      if (carried > 0) (unsaved ??= []).push(item.customerId);
      else settled.push(state);
      continue;
    }
    if (sendInFlight(state, carried, item.records, invocation)) fresh.add(item.customerId);
    saving.push(item);
    savingStates.push(state);
    savingApplied.push(applied);
    if (carried > 0) indexed.add(item.customerId);
    const pending = carried > 0 ? SAVE_PENDING : SAVE;
    saves.push(item.beyondHorizon === undefined ? trySave(deps.store, state, pending) : setAsideThenSave(item, state, deps, pending));
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
        retryAfterConflict(item, deps, attempts - 1, counts, indexed, fresh, { invocation, settledBefore }).then((state) => {
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
  if (unsaved !== null) {
    try {
      for (const state of (await deps.store.getMany(unsaved, CONSISTENT)).values()) {
        resolveInFlight(state, groups.get(state.customerId)!.records, settledBefore);
        settled.push(state);
        if (state.outbox.length > 0) indexed.add(state.customerId);
      }
    } catch {
      // Their records are applied already; the outboxes wait for the next batch or the sweep.
    }
  }
  reportCounts(counts, deps.metrics);
  if (unscorable !== null) deadLettered += await setAsidePoison(unscorable, deps, failed);

  // Every state here is saved with its outbox, so its records are done whatever the bus does: an
  // alert not delivered now is resent by the sweep (the store's outbox index). Failing the records
  // would only stall the shard behind the bus, and give up on them after the mapping's retry budget.
  const delivery = await deliverOutboxes(settled, deps, indexed, fresh);
  // Alerts in flight that the bus did not take and the store would not take back: their records
  // come again, and the redelivery puts them back in the outbox (no receipt covers them). A failed
  // save may still have been stored, alerts in flight and all: no receipt then either.
  for (const customerId of delivery.unsettled) for (const { record } of groups.get(customerId)!.records) failed.add(record.position);
  if (fresh.size > 0 && failed.size === 0) await noteSettled(invocation, deps);
  deps.metrics.count('RecordsFailed', failed.size);
  // A batch with failed records moves no source: they come again, and until then a sweep must
  // not treat their time as passed.
  await publishBatchWatermark(failed.size === 0 ? work : [], deps);
  return { failedPositions: [...failed], deadLettered, alertsPublished: delivery.published };
}

const byPosition = (a: DecodedEvent, b: DecodedEvent): number => comparePositions(a.record.position, b.record.position);

/**
 * applyRecords, guarded: how many applied, or, when applying or scoring throws, the reason the
 * customer cannot be scored. One customer's throw must not fail the whole batch: the caller sets
 * that customer's records aside instead.
 */
function applyAndRescore(state: CustomerState, item: CustomerWork, deps: ConsumerDeps, counts: BatchCounts): number | string {
  try {
    return applyRecords(state, item, deps, counts);
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
  deps: ConsumerDeps,
  attempts: number,
  counts: BatchCounts,
  indexed: Set<string>,
  fresh: Set<string>,
  inFlight: { invocation: string; settledBefore: ReadonlySet<string> },
): Promise<CustomerState | null | string> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    let current: CustomerState | undefined;
    try {
      current = (await deps.store.getMany([item.customerId], CONSISTENT)).get(item.customerId);
    } catch {
      return null;
    }
    const state = current ?? blankWorkingState(item.customerId);
    // A receipt not read for this batch counts as absent: the alerts are resent, with their ids.
    const resent = resolveInFlight(state, item.records, inFlight.settledBefore);
    const carried = state.outbox.length;
    const transitions = state.transitions;
    const applied = applyAndRescore(state, item, deps, counts);
    if (typeof applied === 'string') return applied;
    if (applied === 0 && state.transitions === transitions && !resent) {
      fresh.delete(item.customerId);
      return state;
    }
    if (sendInFlight(state, carried, item.records, inFlight.invocation)) fresh.add(item.customerId);
    else fresh.delete(item.customerId);
    if (carried > 0) indexed.add(item.customerId);
    else indexed.delete(item.customerId);
    const pending = carried > 0 ? SAVE_PENDING : SAVE;
    const outcome = await (item.beyondHorizon === undefined ? trySave(deps.store, state, pending) : setAsideThenSave(item, state, deps, pending));
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

/**
 * Applies a customer's records in stream order and rescores after each one applied, as of the
 * customer's own latest event: no other customer's events, and no batch boundary, change its
 * score or its transitions. Before an event, a crossing into risk due on an earlier day is
 * announced as of that day (scoreSilenceBefore). Returns the number of events applied, counting
 * records set aside as beyond the duplicate horizon: their positions move the high-water mark and
 * so must be saved too.
 */
function applyRecords(state: CustomerState, item: CustomerWork, deps: ConsumerDeps, counts: BatchCounts): number {
  let applied = 0;
  const items = item.records;
  if (item.setAside !== true) item.beyondHorizon = undefined;
  for (let i = 0; i < items.length; i++) {
    const { record, order } = items[i];
    if (state.dueAtMs !== null) counts.rescored += scoreSilenceBefore(state, deps.model, deps.policy, dayIndex(order.eventMs), deps.segmentOf);
    // A StreamRecord is a StreamPosition (source and position): no per-record wrapper.
    const outcome = applyOrder(state, order, record, deps.duplicateHorizonDays);
    if (outcome === 'applied') {
      applied++;
      rescore(state, deps.model, deps.policy, state.lastEventMs, order.type === 'order' ? 'order' : 'event', deps.segmentOf);
      counts.rescored++;
    } else if (outcome === 'duplicate-position') counts.duplicatePositions++;
    else if (outcome === 'duplicate-order') counts.duplicateOrders++;
    else {
      if (item.setAside !== true) (item.beyondHorizon ??= []).push(items[i]);
      applied++;
    }
  }
  return applied;
}

/**
 * Sends a customer's records that arrived beyond the duplicate horizon to the dead-letter sink,
 * then saves: the save moves the positions past them, so were it first and the sink then down,
 * their redelivery would be rejected as already seen and the records lost.
 */
async function setAsideThenSave(item: CustomerWork, state: CustomerState, deps: ConsumerDeps, options?: SaveOptions): Promise<SaveOutcome> {
  if (item.setAside !== true && item.beyondHorizon !== undefined) {
    const horizon = deps.duplicateHorizonDays ?? DEFAULT_DUPLICATE_HORIZON_DAYS;
    const now = new Date(deps.now?.() ?? Date.now()).toISOString();
    try {
      await deps.deadLetters.send(
        item.beyondHorizon.map(({ record, order }) => ({
          reason: `${order.type} ${order.orderId} of ${new Date(order.eventMs).toISOString()} is more than ${horizon} days older than customer ${item.customerId}'s latest event, beyond the duplicate horizon: applying it could not keep its retries from counting again`,
          source: record.source,
          position: record.position,
          partitionKey: record.partitionKey,
          data: record.data,
          deadLetteredAt: now,
        })),
      );
    } catch {
      return FAILED;
    }
    item.setAside = true;
    deps.metrics.count('RecordsBeyondHorizon', item.beyondHorizon.length);
  }
  return trySave(deps.store, state, options);
}

function reportCounts(counts: BatchCounts, metrics: ConsumerMetrics): void {
  metrics.count('DuplicatePositions', counts.duplicatePositions);
  metrics.count('DuplicateOrders', counts.duplicateOrders);
  metrics.count('CustomersRescored', counts.rescored);
  metrics.count('VersionConflicts', counts.conflicts);
  metrics.count('EventsApplied', counts.applied);
  metrics.count('AlertsInFlightResent', counts.resent);
}

/**
 * The receipts of the invocations whose alerts in flight the batch's own records cannot vouch
 * for (a redelivery, another source): one consistent read per such invocation, none in the usual
 * case. A receipt that cannot be read counts as absent: the alerts are resent, never lost.
 */
async function settledReceipts(work: readonly CustomerWork[], loaded: ReadonlyMap<string, CustomerState>, deps: ConsumerDeps): Promise<Set<string>> {
  const asked = new Set<string>();
  for (const item of work) {
    const state = loaded.get(item.customerId);
    if (state?.inFlight && finishedBy(state, item.records) === undefined) asked.add(state.inFlight.invocation);
  }
  const settled = new Set<string>();
  await Promise.all(
    [...asked].map(async (invocation) => {
      try {
        if (await deps.store.isSettled(invocation)) settled.add(invocation);
      } catch {
        // Unknown counts as unsettled.
      }
    }),
  );
  return settled;
}

/**
 * After a batch with no failed record: every alert in flight this invocation saved is settled.
 * A receipt not written only makes a later redelivery publish those alerts again, with their ids.
 */
async function noteSettled(invocation: string, deps: ConsumerDeps): Promise<void> {
  try {
    await deps.store.noteSettled(invocation);
    deps.metrics.count('SettledReceipts', 1);
  } catch {
    deps.metrics.count('SettledReceiptsFailed', 1);
  }
}

