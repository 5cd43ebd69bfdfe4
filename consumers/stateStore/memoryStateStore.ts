import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import { clonePositions, type CustomerState, type RecentOrder } from '../../models/customer/customerState.ts';
import { VersionConflictError, type StateStore } from './stateStore.ts';

const SCAN_PAGE_SIZE = 1_000;

/** What the due index needs of a store entry: its id, and the ticket of its live heap entry. */
interface DueOwner {
  readonly customerId: string;
  /** 0 when the customer has no due time. */
  ticket: number;
}

/**
 * A binary min-heap of (dueAtMs, customerId) with lazy deletion: a changed or cleared due time
 * leaves its old entry behind, recognised as stale because its ticket is no longer the
 * customer's live one. Updates are O(log n) and a query touches only due entries (plus stale
 * ones among them); the heap is rebuilt when stale entries outnumber live ones. Heap entries
 * point at the store's entries, whose `ticket` says which heap entry is live: no lookup by id.
 */
class DueIndex {
  private dues: number[] = [];
  private owners: DueOwner[] = [];
  private tickets: number[] = [];
  /** Customers with a live entry. */
  private live = 0;
  private nextTicket = 1;

  set(owner: DueOwner, dueAtMs: number | null): void {
    if (dueAtMs === null) {
      if (owner.ticket !== 0) this.live--;
      owner.ticket = 0;
    } else {
      if (owner.ticket === 0) this.live++;
      owner.ticket = this.nextTicket++;
      this.push(dueAtMs, owner, owner.ticket);
    }
    if (this.dues.length > 2 * this.live + 1_024) this.rebuild();
  }

  /** The `limit` earliest live entries due at or before `asOfMs`, earliest first, ties by id. */
  due(asOfMs: number, limit: number): string[] {
    if (limit <= 0) return [];
    // Stale entries at the top are the usual case (the sweep pushes the most overdue customers
    // later), so drop them for good rather than walk past them on every query.
    while (this.dues.length > 0 && !this.isLive(0)) this.popRoot();
    // Best-first walk of the heap: a frontier (itself a small heap of positions) grows only by
    // the children of entries already taken, so the cost follows the answer, not the table.
    // It yields due times in order; the heap does not order ties, so once `limit` entries are
    // found, the rest due at the same time are taken too, and ids decide among them.
    const taken: number[] = [];
    let cutoff = asOfMs;
    const frontier: number[] = [];
    this.pushFrontier(frontier, 0);
    while (frontier.length > 0) {
      const at = this.popFrontier(frontier);
      if (this.dues[at] > cutoff) break;
      if (this.isLive(at)) {
        taken.push(at);
        if (taken.length === limit) cutoff = this.dues[at];
      }
      this.pushFrontier(frontier, 2 * at + 1);
      this.pushFrontier(frontier, 2 * at + 2);
    }
    taken.sort((a, b) => this.dues[a] - this.dues[b] || (this.owners[a].customerId < this.owners[b].customerId ? -1 : 1));
    const result: string[] = [];
    for (let i = 0; i < taken.length && i < limit; i++) result.push(this.owners[taken[i]].customerId);
    return result;
  }

  private isLive(at: number): boolean {
    return this.owners[at].ticket === this.tickets[at];
  }

  private push(due: number, owner: DueOwner, ticket: number): void {
    this.dues.push(due);
    this.owners.push(owner);
    this.tickets.push(ticket);
    this.siftUp(this.dues.length - 1);
  }

  private popRoot(): void {
    const last = this.dues.length - 1;
    this.swap(0, last);
    this.dues.pop();
    this.owners.pop();
    this.tickets.pop();
    this.siftDown(0);
  }

  private rebuild(): void {
    const dues: number[] = [];
    const owners: DueOwner[] = [];
    const tickets: number[] = [];
    for (let at = 0; at < this.dues.length; at++) {
      if (!this.isLive(at)) continue;
      dues.push(this.dues[at]);
      owners.push(this.owners[at]);
      tickets.push(this.tickets[at]);
    }
    this.dues = dues;
    this.owners = owners;
    this.tickets = tickets;
    for (let at = (this.dues.length >> 1) - 1; at >= 0; at--) this.siftDown(at);
  }

  /**
   * Earlier due time first. Ties are left unordered: due times fall on day boundaries, so ties
   * are common, and ordering them here would read two customers' ids (two cache misses) at
   * every step of every save; `due` orders the few it returns instead.
   */
  private less(a: number, b: number): boolean {
    return this.dues[a] < this.dues[b];
  }

  // Temporaries, not destructuring: this runs on every save, and array swaps allocate.
  private swap(a: number, b: number): void {
    const due = this.dues[a];
    this.dues[a] = this.dues[b];
    this.dues[b] = due;
    const owner = this.owners[a];
    this.owners[a] = this.owners[b];
    this.owners[b] = owner;
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

/*
 * The store's own copy of a state is packed: every number in one array of unboxed doubles (a
 * "row"), beside the few strings and objects that cannot go there. A CustomerState as objects is
 * some twenty heap objects (its arrays, the recent-order entries, the score, and a box for each
 * double-valued field), scattered over a large heap; reading one back costs a cache miss per
 * object. A packed copy is read in a few contiguous runs, and a save overwrites it in place.
 *
 * Row layout: the fixed fields below, then weekOrders, weekCents, the recent orders' times (with
 * room to spare) and dayBits (with room to spare); lengths and room are in the fixed part, so
 * any lengths round-trip.
 */
const FORMAT = 0;
const VERSION = 1;
const FIRST_DAY = 2;
const LAST_DAY = 3;
const OCCASIONS = 4;
const ORDERS = 5;
const UNITS = 6;
const SPEND_CENTS = 7;
const FIRST_DAY_SPEND_CENTS = 8;
const MAX_ORDER_CENTS = 9;
const RETURNS = 10;
const RETURN_CENTS = 11;
const FIRST_EVENT_MS = 12;
const LAST_EVENT_MS = 13;
const RING_WEEK = 14;
const AT_RISK = 15;
const HAS_DUE = 16;
const DUE_AT_MS = 17;
const TRANSITIONS = 18;
const HAS_SCORE = 19;
const SCORE_AS_OF_MS = 20;
const SCORE_CHURN = 21;
const SCORE_CLV = 22;
const SCORE_P_ALIVE = 23;
const SCORE_EXPECTED_PURCHASES = 24;
const SCORE_EXPECTED_SPEND = 25;
const WEEK_ORDERS_LENGTH = 26;
const WEEK_CENTS_LENGTH = 27;
const RECENT_LENGTH = 28;
const RECENT_ROOM = 29;
const DAY_BITS_LENGTH = 30;
const OUTBOX_LENGTH = 31;
const COUNTRY_MS = 32;
const FIXED_FIELDS = 33;

/** Room a new row keeps for more recent orders and more dayBits words (one per 32 days). */
const RECENT_SLACK = 8;
const DAY_BITS_SLACK = 8;

/**
 * One customer's packed state, and its due-index ticket. Positions are kept as a single
 * (source, position) pair when there is one source (Kinesis: one shard per customer, as a rule),
 * as an object otherwise.
 */
interface Entry {
  readonly customerId: string;
  row: number[];
  modelVersion: string;
  country: string | null;
  recentKeys: string[];
  positionSource: string | null;
  position: string;
  positions: Record<string, string> | null;
  outbox: PendingAlert[];
  /** The ticket of this customer's live due-index entry; 0 when it has no due time. */
  ticket: number;
}

/** Packs `state` into `entry`, in place when the row has room (all but a few saves). */
function pack(entry: Entry, state: CustomerState, version: number): void {
  const weeks = state.weekOrders.length + state.weekCents.length;
  const recent = state.recentOrders;
  let row = entry.row;
  if (
    row.length === 0 ||
    row[WEEK_ORDERS_LENGTH] !== state.weekOrders.length ||
    row[WEEK_CENTS_LENGTH] !== state.weekCents.length ||
    row[RECENT_ROOM] < recent.length ||
    row.length < FIXED_FIELDS + weeks + row[RECENT_ROOM] + state.dayBits.length
  ) {
    const recentRoom = recent.length + RECENT_SLACK;
    row = blankRow(FIXED_FIELDS + weeks + recentRoom + state.dayBits.length + DAY_BITS_SLACK);
    row[RECENT_ROOM] = recentRoom;
    entry.row = row;
  }
  row[FORMAT] = state.format;
  row[VERSION] = version;
  row[FIRST_DAY] = state.firstDay;
  row[LAST_DAY] = state.lastDay;
  row[OCCASIONS] = state.occasions;
  row[ORDERS] = state.orders;
  row[UNITS] = state.units;
  row[SPEND_CENTS] = state.spendCents;
  row[FIRST_DAY_SPEND_CENTS] = state.firstDaySpendCents;
  row[MAX_ORDER_CENTS] = state.maxOrderCents;
  row[RETURNS] = state.returns;
  row[RETURN_CENTS] = state.returnCents;
  row[FIRST_EVENT_MS] = state.firstEventMs;
  row[LAST_EVENT_MS] = state.lastEventMs;
  row[RING_WEEK] = state.ringWeek;
  row[COUNTRY_MS] = state.countryMs;
  entry.country = state.country;
  row[AT_RISK] = state.atRisk ? 1 : 0;
  row[HAS_DUE] = state.dueAtMs === null ? 0 : 1;
  row[DUE_AT_MS] = state.dueAtMs ?? 0;
  row[TRANSITIONS] = state.transitions;
  const score = state.score;
  if (score === null) {
    row[HAS_SCORE] = 0;
  } else {
    row[HAS_SCORE] = 1;
    row[SCORE_AS_OF_MS] = score.asOfMs;
    row[SCORE_CHURN] = score.churnProbability;
    row[SCORE_CLV] = score.clv;
    row[SCORE_P_ALIVE] = score.pAlive;
    row[SCORE_EXPECTED_PURCHASES] = score.expectedPurchases;
    row[SCORE_EXPECTED_SPEND] = score.expectedSpend;
    entry.modelVersion = score.modelVersion;
  }
  let at = FIXED_FIELDS;
  at = packArray(row, at, WEEK_ORDERS_LENGTH, state.weekOrders);
  at = packArray(row, at, WEEK_CENTS_LENGTH, state.weekCents);
  row[RECENT_LENGTH] = recent.length;
  const keys = entry.recentKeys;
  if (keys.length > recent.length) keys.length = recent.length;
  for (let i = 0; i < recent.length; i++) {
    keys[i] = recent[i].key;
    row[at + i] = recent[i].ms;
  }
  packArray(row, at + row[RECENT_ROOM], DAY_BITS_LENGTH, state.dayBits);
  packPositions(entry, state.positions);
  // The outbox is empty nearly always: the row says so, and its array is then left untouched.
  const outbox = state.outbox;
  if (outbox.length !== 0 || row[OUTBOX_LENGTH] !== 0) {
    const kept = entry.outbox;
    kept.length = outbox.length;
    for (let i = 0; i < outbox.length; i++) kept[i] = outbox[i];
    row[OUTBOX_LENGTH] = outbox.length;
  }
}

/** Zeros as unboxed doubles: rows are cut from it, each in one allocation of the exact size. */
let rowTemplate: number[] = [0.5];

function blankRow(length: number): number[] {
  if (rowTemplate.length < length) {
    // A double first, so the template's elements, and every row cut from it, are unboxed doubles.
    const template = [0.5];
    for (let i = 1; i < 2 * length; i++) template.push(0);
    template[0] = 0;
    rowTemplate = template;
  }
  return rowTemplate.slice(0, length);
}

function packArray(row: number[], at: number, lengthField: number, values: readonly number[]): number {
  row[lengthField] = values.length;
  for (let i = 0; i < values.length; i++) row[at + i] = values[i];
  return at + values.length;
}

function packPositions(entry: Entry, positions: Record<string, string>): void {
  let sources = 0;
  let source = '';
  for (const key in positions) {
    sources++;
    source = key;
  }
  if (sources === 1) {
    entry.positionSource = source;
    entry.position = positions[source];
    entry.positions = null;
  } else {
    entry.positionSource = null;
    entry.position = '';
    entry.positions = clonePositions(positions);
  }
}

function newEntry(state: CustomerState, version: number): Entry {
  const entry: Entry = {
    customerId: state.customerId,
    row: [],
    modelVersion: '',
    country: null,
    recentKeys: [],
    positionSource: null,
    position: '',
    positions: null,
    outbox: [],
    ticket: 0,
  };
  pack(entry, state, version);
  return entry;
}

/** A new CustomerState from a packed copy: the caller's own, sharing nothing mutable with it. */
function unpack(entry: Entry): CustomerState {
  const row = entry.row;
  const weekOrdersEnd = FIXED_FIELDS + row[WEEK_ORDERS_LENGTH];
  const weekCentsEnd = weekOrdersEnd + row[WEEK_CENTS_LENGTH];
  const dayBitsStart = weekCentsEnd + row[RECENT_ROOM];
  const recentOrders: RecentOrder[] = [];
  const recentLength = row[RECENT_LENGTH];
  if (recentLength > 0) {
    const keys = entry.recentKeys;
    for (let i = 0; i < recentLength; i++) recentOrders.push({ key: keys[i], ms: row[weekCentsEnd + i] });
  }
  const positions = unpackPositions(entry);
  return {
    format: row[FORMAT],
    customerId: entry.customerId,
    version: row[VERSION],
    firstDay: row[FIRST_DAY],
    lastDay: row[LAST_DAY],
    occasions: row[OCCASIONS],
    dayBits: row.slice(dayBitsStart, dayBitsStart + row[DAY_BITS_LENGTH]),
    orders: row[ORDERS],
    units: row[UNITS],
    spendCents: row[SPEND_CENTS],
    firstDaySpendCents: row[FIRST_DAY_SPEND_CENTS],
    maxOrderCents: row[MAX_ORDER_CENTS],
    returns: row[RETURNS],
    returnCents: row[RETURN_CENTS],
    firstEventMs: row[FIRST_EVENT_MS],
    lastEventMs: row[LAST_EVENT_MS],
    ringWeek: row[RING_WEEK],
    country: entry.country,
    countryMs: row[COUNTRY_MS],
    weekOrders: row.slice(FIXED_FIELDS, weekOrdersEnd),
    weekCents: row.slice(weekOrdersEnd, weekCentsEnd),
    recentOrders,
    positions,
    score:
      row[HAS_SCORE] === 0
        ? null
        : {
            asOfMs: row[SCORE_AS_OF_MS],
            modelVersion: entry.modelVersion,
            churnProbability: row[SCORE_CHURN],
            clv: row[SCORE_CLV],
            pAlive: row[SCORE_P_ALIVE],
            expectedPurchases: row[SCORE_EXPECTED_PURCHASES],
            expectedSpend: row[SCORE_EXPECTED_SPEND],
          },
    atRisk: row[AT_RISK] === 1,
    dueAtMs: row[HAS_DUE] === 1 ? row[DUE_AT_MS] : null,
    transitions: row[TRANSITIONS],
    outbox: row[OUTBOX_LENGTH] === 0 ? [] : entry.outbox.slice(),
  };
}

function unpackPositions(entry: Entry): Record<string, string> {
  if (entry.positionSource === null) return entry.positions === null ? {} : clonePositions(entry.positions);
  const positions: Record<string, string> = {};
  positions[entry.positionSource] = entry.position;
  return positions;
}

/**
 * StateStore in process memory: for the laptop runner, benchmarks and tests. States go in and
 * come out as copies, so a caller mutating its working copy never changes the store behind the
 * version check, exactly as with a remote store. The store's copies are packed (see Entry).
 */
export class MemoryStateStore implements StateStore {
  private readonly entries = new Map<string, Entry>();
  private readonly dueIndex = new DueIndex();
  private watermark = 0;
  /** What entriesOf read; kept only so that its reads are not optimised away. */
  private touched = 0;

  async getMany(customerIds: readonly string[]): Promise<Map<string, CustomerState>> {
    const entries = this.entriesOf(customerIds);
    const found = new Map<string, CustomerState>();
    for (let i = 0; i < customerIds.length; i++) {
      const customerId = customerIds[i];
      const entry = entries[i];
      if (entry !== undefined && !found.has(customerId)) found.set(customerId, unpack(entry));
    }
    return found;
  }

  /**
   * The entries of a batch's customers, each one's row and position read once on the way.
   * Entries of a large store are scattered over the heap, so the first read of each is a cache
   * (and TLB) miss. In this short loop with independent iterations the processor overlaps those
   * misses, where in unpack, between allocations, each would wait on its own. Measured with
   * `bench consumer`: about 7% more events/s (136k to 147k, means of 3–5 runs).
   */
  private entriesOf(customerIds: readonly string[]): (Entry | undefined)[] {
    const entries: (Entry | undefined)[] = [];
    let read = 0;
    for (let i = 0; i < customerIds.length; i++) {
      const entry = this.entries.get(customerIds[i]);
      entries.push(entry);
      if (entry === undefined) continue;
      const row = entry.row;
      read += row[FORMAT] + row[row.length >> 1] + row[row.length - 1] + entry.position.length;
    }
    // Storing the sum keeps the compiler from dropping the reads.
    this.touched = read;
    return entries;
  }

  async save(state: CustomerState): Promise<number> {
    // Check and write with no await in between: concurrent saves cannot interleave here.
    const entry = this.entries.get(state.customerId);
    if ((entry === undefined ? 0 : entry.row[VERSION]) !== state.version) throw new VersionConflictError(state.customerId, state.version);
    const version = state.version + 1;
    if (entry === undefined) {
      const created = newEntry(state, version);
      this.entries.set(created.customerId, created);
      if (state.dueAtMs !== null) this.dueIndex.set(created, state.dueAtMs);
      return version;
    }
    const previousDue = entry.row[HAS_DUE] === 1 ? entry.row[DUE_AT_MS] : null;
    pack(entry, state, version);
    if (previousDue !== state.dueAtMs) this.dueIndex.set(entry, state.dueAtMs);
    return version;
  }

  async dueBefore(asOfMs: number, limit: number): Promise<string[]> {
    return this.dueIndex.due(asOfMs, limit);
  }

  async *scan(): AsyncIterable<CustomerState[]> {
    let page: CustomerState[] = [];
    for (const entry of this.entries.values()) {
      page.push(unpack(entry));
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
