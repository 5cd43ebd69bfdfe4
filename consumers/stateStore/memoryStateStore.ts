import { cloneState, type CustomerState } from '../../models/customer/customerState.ts';
import { oldestAlertMs, type SaveOptions, VersionConflictError, type StateStore, type ReadOptions } from './stateStore.ts';

const SCAN_PAGE_SIZE = 1_000;

/**
 * StateStore in process memory: for the laptop runner, benchmarks and tests. States go in and
 * come out as deep copies (cloneState), so a caller mutating its working copy never changes the
 * store behind the version check, exactly as with a remote store.
 *
 * Due times are kept the way the DynamoDB store keeps them, in a sparse index: a map holding only
 * the customers that have one. A save updates it in O(1); `dueBefore` reads only that map, never
 * the states, and sorts only the customers already due. Outboxes saved as pending are indexed the
 * same way, by the as-of time of their oldest alert.
 */
export class MemoryStateStore implements StateStore {
  private readonly states = new Map<string, CustomerState>();
  private readonly dueAt = new Map<string, number>();
  private readonly outboxSince = new Map<string, number>();
  private watermark = 0;
  private readonly settled = new Set<string>();

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
    this.states.set(customerId, copy);
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
