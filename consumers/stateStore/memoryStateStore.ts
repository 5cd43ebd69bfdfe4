import { cloneState, type CustomerState } from '../../models/customerState.ts';
import { VersionConflictError, type StateStore } from './stateStore.ts';

const SCAN_PAGE_SIZE = 1_000;

/** Earlier due time first; ties by id, so every listing is deterministic. */
function before(dueA: number, idA: string, dueB: number, idB: string): boolean {
  return dueA < dueB || (dueA === dueB && idA < idB);
}

/**
 * A binary min-heap of (dueAtMs, customerId) with lazy deletion: a changed or cleared due time
 * leaves its old entry behind, recognised as stale because its ticket is no longer the
 * customer's live one. Updates are O(log n) and a query touches only due entries (plus stale
 * ones among them); the heap is rebuilt when stale entries outnumber live ones.
 */
class DueIndex {
  private dues: number[] = [];
  private ids: string[] = [];
  private tickets: number[] = [];
  private live = new Map<string, number>();
  private nextTicket = 1;

  set(customerId: string, dueAtMs: number | null): void {
    if (dueAtMs === null) {
      this.live.delete(customerId);
    } else {
      const ticket = this.nextTicket++;
      this.live.set(customerId, ticket);
      this.push(dueAtMs, customerId, ticket);
    }
    if (this.dues.length > 2 * this.live.size + 1_024) this.rebuild();
  }

  /** The `limit` earliest live entries due at or before `asOfMs`, earliest first. */
  due(asOfMs: number, limit: number): string[] {
    const result: string[] = [];
    if (limit <= 0) return result;
    // Stale entries at the top are the usual case (the sweep pushes the most overdue customers
    // later), so drop them for good rather than walk past them on every query.
    while (this.dues.length > 0 && !this.isLive(0)) this.popRoot();
    // Best-first walk of the heap: a frontier (itself a small heap of positions) grows only by
    // the children of entries already taken, so the cost follows the answer, not the table.
    const frontier: number[] = [];
    this.pushFrontier(frontier, 0);
    while (frontier.length > 0 && result.length < limit) {
      const at = this.popFrontier(frontier);
      if (this.dues[at] > asOfMs) break;
      if (this.isLive(at)) result.push(this.ids[at]);
      this.pushFrontier(frontier, 2 * at + 1);
      this.pushFrontier(frontier, 2 * at + 2);
    }
    return result;
  }

  private isLive(at: number): boolean {
    return this.live.get(this.ids[at]) === this.tickets[at];
  }

  private push(due: number, id: string, ticket: number): void {
    this.dues.push(due);
    this.ids.push(id);
    this.tickets.push(ticket);
    this.siftUp(this.dues.length - 1);
  }

  private popRoot(): void {
    const last = this.dues.length - 1;
    this.swap(0, last);
    this.dues.pop();
    this.ids.pop();
    this.tickets.pop();
    this.siftDown(0);
  }

  private rebuild(): void {
    const keep: number[] = [];
    for (let at = 0; at < this.dues.length; at++) if (this.isLive(at)) keep.push(at);
    this.dues = keep.map((at) => this.dues[at]);
    this.ids = keep.map((at) => this.ids[at]);
    this.tickets = keep.map((at) => this.tickets[at]);
    for (let at = (this.dues.length >> 1) - 1; at >= 0; at--) this.siftDown(at);
  }

  private less(a: number, b: number): boolean {
    return before(this.dues[a], this.ids[a], this.dues[b], this.ids[b]);
  }

  // Temporaries, not destructuring: this runs on every save, and array swaps allocate.
  private swap(a: number, b: number): void {
    const due = this.dues[a];
    this.dues[a] = this.dues[b];
    this.dues[b] = due;
    const id = this.ids[a];
    this.ids[a] = this.ids[b];
    this.ids[b] = id;
    const ticket = this.tickets[a];
    this.tickets[a] = this.tickets[b];
    this.tickets[b] = ticket;
  }

  private siftUp(at: number): void {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.less(at, parent)) return;
      this.swap(at, parent);
      at = parent;
    }
  }

  private siftDown(at: number): void {
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let least = at;
      if (left < this.dues.length && this.less(left, least)) least = left;
      if (right < this.dues.length && this.less(right, least)) least = right;
      if (least === at) return;
      this.swap(at, least);
      at = least;
    }
  }

  private pushFrontier(frontier: number[], position: number): void {
    if (position >= this.dues.length) return;
    frontier.push(position);
    let at = frontier.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.less(frontier[at], frontier[parent])) break;
      [frontier[at], frontier[parent]] = [frontier[parent], frontier[at]];
      at = parent;
    }
  }

  private popFrontier(frontier: number[]): number {
    const top = frontier[0];
    const last = frontier.pop()!;
    if (frontier.length === 0) return top;
    frontier[0] = last;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let least = at;
      if (left < frontier.length && this.less(frontier[left], frontier[least])) least = left;
      if (right < frontier.length && this.less(frontier[right], frontier[least])) least = right;
      if (least === at) return top;
      [frontier[at], frontier[least]] = [frontier[least], frontier[at]];
      at = least;
    }
  }
}

/**
 * StateStore in process memory: for the laptop runner, benchmarks and tests. States go in and
 * come out as copies, so a caller mutating its working copy never changes the store behind the
 * version check, exactly as with a remote store.
 */
export class MemoryStateStore implements StateStore {
  private readonly states = new Map<string, CustomerState>();
  private readonly dueIndex = new DueIndex();
  private watermark = 0;

  async getMany(customerIds: readonly string[]): Promise<Map<string, CustomerState>> {
    const found = new Map<string, CustomerState>();
    for (const customerId of customerIds) {
      const state = this.states.get(customerId);
      if (state && !found.has(customerId)) found.set(customerId, cloneState(state));
    }
    return found;
  }

  async save(state: CustomerState): Promise<number> {
    // Check and write with no await in between: concurrent saves cannot interleave here.
    const stored = this.states.get(state.customerId);
    if ((stored?.version ?? 0) !== state.version) throw new VersionConflictError(state.customerId, state.version);
    const copy = cloneState(state);
    copy.version = state.version + 1;
    this.states.set(state.customerId, copy);
    if (stored?.dueAtMs !== copy.dueAtMs) this.dueIndex.set(copy.customerId, copy.dueAtMs);
    return copy.version;
  }

  async dueBefore(asOfMs: number, limit: number): Promise<string[]> {
    return this.dueIndex.due(asOfMs, limit);
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
}
