import type { CustomerState } from '../../models/customer/customerState.ts';

export interface SaveOptions {
  /**
   * Lists the customer in the outbox index (pendingOutboxes) while its outbox holds alerts. Set it
   * when a delivery of an alert in the outbox has failed, or may have: alerts carried over from an
   * earlier save. Alerts decided in this save are about to be published by the caller, and
   * indexing them too would cost an index insert and delete per transition for nothing when the
   * bus answers (1.4 index writes per event on the CDNOW history).
   */
  pendingOutbox?: boolean;
  /**
   * Lets the store keep indexing the customer under the due time it last read or wrote for it,
   * when that is earlier than the new one by at most the store's slack: each order moves the due
   * time a little later, and moving the DynamoDB index key costs 2 WCU. dueBefore may then list
   * the customer before it is due; the sweep rereads it, finds it not due, and saves it without
   * this option, which indexes the exact due time. Never set by a caller acting on dueBefore.
   */
  earlyDueKey?: boolean;
}

export interface ReadOptions {
  /**
   * Read the latest committed state. Unset, a store may return a state up to about a second old
   * (DynamoDB's eventually consistent read, half the price): fine for a state about to be saved,
   * since the save is conditional on the version read and a stale one just loses the race and
   * rereads consistently. Set it wherever a state is acted on without being saved: rereads after
   * a lost race, and outboxes about to be published.
   */
  consistent?: boolean;
}

/** A conditional write lost to a concurrent writer: reload, reapply, retry. */
export class VersionConflictError extends Error {
  constructor(readonly customerId: string, readonly expectedVersion: number) {
    super(`state of customer ${customerId} changed since version ${expectedVersion} was read`);
    this.name = 'VersionConflictError';
  }
}

/**
 * Where customer states live. Writes are optimistic: `save` succeeds only if the stored version
 * still equals `state.version` (0 = not stored yet), so the consumer and the sweep never
 * overwrite each other. Adapters: in-memory, DynamoDB.
 */
export interface StateStore {
  /**
   * States of the given customers; customers never stored are absent from the map. The states
   * returned are the caller's own copies: changing them never changes the store.
   */
  getMany(customerIds: readonly string[], options?: ReadOptions): Promise<Map<string, CustomerState>>;
  /**
   * Stores `state` if the stored version is still `state.version`, as version + 1, and returns
   * the new version. Throws VersionConflictError otherwise. Does not modify `state`.
   */
  save(state: CustomerState, options?: SaveOptions): Promise<number>;
  /**
   * Ids of customers whose dueAtMs is at or before `asOfMs`, earliest first, at most `limit` of
   * them. On DynamoDB the index may lag a recent save briefly; the sweep rereads each state.
   */
  dueBefore(asOfMs: number, limit: number): Promise<string[]>;
  /**
   * Ids of customers saved with `pendingOutbox` and alerts in their outbox, oldest pending alert
   * first (by its as-of time), at most `limit` of them: what the sweep redelivers. Read from a
   * sparse index of only those customers, never a scan; on DynamoDB it may lag a recent save
   * briefly, so the sweep rereads each state.
   */
  pendingOutboxes(limit: number): Promise<string[]>;
  /**
   * Every stored state, in pages: for exports, tests and the local runner's summary. Never on a
   * request path: a scan reads the whole table (the API's role has no dynamodb:Scan).
   */
  scan(): AsyncIterable<CustomerState[]>;
  /**
   * One page of the customer listing, at most `limit` states, starting after `after` (a position
   * an earlier page returned; none for the first page). The listing's order is the store's own
   * key order (DynamoDB: listing bucket, then customer id in UTF-8 byte order), so a page reads
   * at most `limit` index keys and `limit` states whatever the table size. Every customer stored
   * before the first page and not saved since is listed exactly once. `next` is null on the last
   * page; a page may be empty. A position no page returned is still a place in the listing.
   */
  listCustomers(limit: number, after?: ListingPosition): Promise<{ states: CustomerState[]; next: ListingPosition | null }>;
  /**
   * One page of the customers flagged at risk (state.atRisk), most expected loss first (rankKey:
   * the stored score's churn × CLV), starting after `after`: read from a sparse index of only
   * those customers, at most `limit` index keys and `limit` states per page.
   */
  atRiskCustomers(limit: number, after?: string): Promise<{ states: CustomerState[]; next: string | null }>;
  /**
   * The event-time watermark: the latest event time the consumers have published (0 if none),
   * written at most once a minute per consumer container (consumers/watermark.ts). Only the
   * sweep's and the API's as-of times depend on it.
   */
  getWatermark(): Promise<number>;
  /** Raises the watermark to `ms` if it is higher; never lowers it. */
  advanceWatermark(ms: number): Promise<void>;
  /**
   * Whether the consumer invocation `invocation` noted that it settled every alert it saved in
   * flight (noteSettled): read consistently, as a redelivery acts on it. False once the receipt
   * has expired, which only makes a redelivery publish those alerts again, with their ids.
   */
  isSettled(invocation: string): Promise<boolean>;
  /**
   * Notes that the invocation `invocation` published, dead-lettered or put back in an outbox
   * every alert it saved in flight: one small receipt, written once by that invocation, expiring
   * after a while (DynamoDB TTL). A receipt per invocation, not a mark per shard, so concurrent
   * batches of one shard (a parallelization factor above 1) never vouch for each other.
   */
  noteSettled(invocation: string): Promise<void>;
}

/** A place in a store's customer listing: the listing bucket, and the last id listed in it. */
export interface ListingPosition {
  bucket: number;
  afterId: string;
}

/**
 * The at-risk index's sort key of a state, or null when it is not flagged at risk: its stored
 * expected loss (churn probability × CLV, in 1/10,000 units, 16 digits) then its id, so that
 * text order is rank order with no ties. Both stores rank by it; pages continue after a key.
 */
export function riskRankKey(state: CustomerState): string | null {
  if (!state.atRisk || state.score === null) return null;
  const raw = Math.round(state.score.churnProbability * state.score.clv * 10_000);
  const loss = Number.isFinite(raw) ? Math.min(Math.max(raw, 0), Number.MAX_SAFE_INTEGER) : 0;
  return `${String(loss).padStart(16, '0')} ${state.customerId}`;
}

/** The as-of time of a state's oldest pending alert: the key both stores index outboxes by. */
export function oldestAlertMs(state: CustomerState): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const alert of state.outbox) oldest = Math.min(oldest, Date.parse(alert.detail.asOf));
  return oldest;
}

/** A save whose outbox holds alerts an earlier delivery missed (or may have): the sweep must find it. */
export const PENDING: SaveOptions = { pendingOutbox: true };
/**
 * The consumer's saves: an order moves the due time later, and the index may keep the earlier
 * one (SaveOptions.earlyDueKey); the sweep, which acts on the index, saves without it.
 */
export const SAVE: SaveOptions = { earlyDueKey: true };
export const SAVE_PENDING: SaveOptions = { pendingOutbox: true, earlyDueKey: true };

/** For rereads after a lost race and for states acted on without a save (the first read of a batch need not be). */
export const CONSISTENT: ReadOptions = { consistent: true };
