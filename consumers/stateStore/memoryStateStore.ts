import { compareCodePoints } from '../../models/customer/customerIds.ts';
import { cloneState, type CustomerState } from '../../models/customer/customerState.ts';
import {
  type ListingPosition,
  oldestAlertMs,
  type ReadOptions,
  riskRankKey,
  type SaveOptions,
  type StateStore,
  VersionConflictError,
} from './stateStore.ts';

const SCAN_PAGE_SIZE = 1_000;

/**
 * StateStore in process memory: for the laptop runner, benchmarks and tests. States go in and
 * come out as deep copies (cloneState), so a caller mutating its working copy never changes the
 * store behind the version check, exactly as with a remote store.
 *
 * Due times are kept the way the DynamoDB store keeps them, in a sparse index: a map holding only
 * the customers that have one. A save updates it in O(1); `dueBefore` reads only that map, never
 * the states, and sorts only the customers already due. Outboxes saved as pending are indexed the
 * same way, by the as-of time of their oldest alert, and customers at risk by their rank key.
 * The listing is one bucket in code-point order (the DynamoDB store's order within a bucket):
 * the sorted ids are rebuilt on the first listing after a new customer, and each page then
 * copies at most `limit` states.
 */
export class MemoryStateStore implements StateStore {
  private readonly states = new Map<string, CustomerState>();
  private readonly dueAt = new Map<string, number>();
  private readonly outboxSince = new Map<string, number>();
  private watermark = 0;
  private readonly settled = new Set<string>();
  private readonly riskKeys = new Map<string, string>();
  private sortedIds: string[] | null = null;

  // Always consistent: one process, no replicas.
  async getMany(customerIds: readonly string[], _options?: ReadOptions): Promise<Map<string, CustomerState>> {
    const found = new Map<string, CustomerState>();
    for (const customerId of customerIds) {
      const state = this.states.get(customerId);
      if (state !== undefined && !found.has(customerId)) found.set(customerId, cloneState(state));
    }
    return found;
  }

  async save(state: CustomerState, options?: SaveOptions): Promise<number> {
    // Check and write with no await in between: concurrent saves cannot interleave here.
    const customerId = state.customerId;
    if ((this.states.get(customerId)?.version ?? 0) !== state.version) throw new VersionConflictError(customerId, state.version);
    const copy = cloneState(state);
    copy.version = state.version + 1;
    if (state.version === 0) this.sortedIds = null;
    this.states.set(customerId, copy);
    // Most saves are of customers not at risk: no rank key to build, and usually none to drop.
    const riskKey = state.atRisk ? riskRankKey(state) : null;
    if (riskKey !== null) this.riskKeys.set(customerId, riskKey);
    else if (this.riskKeys.size > 0) this.riskKeys.delete(customerId);
    if (state.dueAtMs === null) this.dueAt.delete(customerId);
    else this.dueAt.set(customerId, state.dueAtMs);
    if (state.outbox.length === 0 || !options?.pendingOutbox) this.outboxSince.delete(customerId);
    else this.outboxSince.set(customerId, oldestAlertMs(state));
    return copy.version;
  }

  async dueBefore(asOfMs: number, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const due: { customerId: string; dueAtMs: number }[] = [];
    for (const [customerId, dueAtMs] of this.dueAt) if (dueAtMs <= asOfMs) due.push({ customerId, dueAtMs });
    due.sort((a, b) => a.dueAtMs - b.dueAtMs || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
    return due.slice(0, limit).map((entry) => entry.customerId);
  }

  async pendingOutboxes(limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const pending = [...this.outboxSince].map(([customerId, sinceMs]) => ({ customerId, sinceMs }));
    pending.sort((a, b) => a.sinceMs - b.sinceMs || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
    return pending.slice(0, limit).map((entry) => entry.customerId);
  }

  async *scan(): AsyncIterable<CustomerState[]> {
    let page: CustomerState[] = [];
    for (const state of this.states.values()) {
      page.push(cloneState(state));
      if (page.length === SCAN_PAGE_SIZE) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async listCustomers(limit: number, after?: ListingPosition): Promise<{ states: CustomerState[]; next: ListingPosition | null }> {
    if (limit <= 0 || (after !== undefined && after.bucket !== 0)) return { states: [], next: null };
    this.sortedIds ??= [...this.states.keys()].sort(compareCodePoints);
    const ids = this.sortedIds;
    const start = after === undefined ? 0 : upperBound(ids, after.afterId);
    const page = ids.slice(start, start + limit);
    const next = start + limit < ids.length ? { bucket: 0, afterId: page[page.length - 1] } : null;
    return { states: page.map((id) => cloneState(this.states.get(id)!)), next };
  }

  async atRiskCustomers(limit: number, after?: string): Promise<{ states: CustomerState[]; next: string | null }> {
    if (limit <= 0) return { states: [], next: null };
    const ranked: { customerId: string; key: string }[] = [];
    for (const [customerId, key] of this.riskKeys) if (after === undefined || key < after) ranked.push({ customerId, key });
    ranked.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    const page = ranked.slice(0, limit);
    return {
      states: page.map((entry) => cloneState(this.states.get(entry.customerId)!)),
      next: ranked.length > limit ? page[page.length - 1].key : null,
    };
  }

  async getWatermark(): Promise<number> {
    return this.watermark;
  }

  async advanceWatermark(ms: number): Promise<void> {
    if (ms > this.watermark) this.watermark = ms;
  }

  // Receipts never expire here: the process does not live that long.
  async isSettled(invocation: string): Promise<boolean> {
    return this.settled.has(invocation);
  }

  async noteSettled(invocation: string): Promise<void> {
    this.settled.add(invocation);
  }
}

/** First index whose id sorts after `id` in code-point order. */
function upperBound(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareCodePoints(ids[mid], id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
