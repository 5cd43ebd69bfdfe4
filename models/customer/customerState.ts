import { dayIndex, weekIndex } from '../time/calendar.ts';
import type { PendingAlert } from './alertEvent.ts';
import type { OrderEvent } from './orderEvent.ts';
import { type OrderFacts, orderFactsOf } from './orderFacts.ts';
import { type LegacyRecentOrder, orderMemoryFromLegacy, rememberOrderId } from './orderMemory.ts';
import { ACTIVITY_WEEKS, addPurchaseDay, addToActivityRing, hasPurchase } from './purchaseCalendar.ts';

export { ACTIVITY_WEEKS, hasPurchase, purchaseDays, purchaseDaysBetween, ringActivity } from './purchaseCalendar.ts';

/**
 * A customer's sufficient statistics: everything churn and CLV scoring needs, updated in O(1)
 * per event and independent of the order events arrive in.
 *
 * Order independence comes from commutative statistics only: integer counts and cent sums,
 * min/max times, a bitmap of purchase days (so a late order on a day already counted does not
 * count twice), and a ring of weekly buckets keyed by absolute week (instead of a decayed sum
 * "as of now", whose floating-point value would depend on arrival order).
 *
 * Two kinds of duplicates are rejected:
 * - a redelivered record: same stream position. `positions` holds, per shard or partition, the
 *   highest sequence number or offset applied; anything at or below it is rejected, for any age.
 * - a producer retry: same type and order id in a new record. `orderMemory` remembers a 64-bit
 *   hash of every applied order's type and id with its event day, for the duplicate horizon
 *   (DEFAULT_DUPLICATE_HORIZON_DAYS unless configured) before the customer's latest event day,
 *   however many orders that is. An event already older than that horizon when it arrives is
 *   not applied ('beyond-horizon'): it could not be remembered without making the memory depend
 *   on arrival order, so each of its retries would count; the consumer sets it aside instead.
 */
const STATE_FORMAT = 2;
export const DEFAULT_DUPLICATE_HORIZON_DAYS = 400;
/** JSON-safe sentinels for "no event yet" (Infinity would not survive a JSON round trip). */
const NO_EVENT_FIRST_MS = Number.MAX_SAFE_INTEGER;
export const NO_EVENT_LAST_MS = Number.MIN_SAFE_INTEGER;

export interface CustomerScore {
  asOfMs: number;
  modelVersion: string;
  churnProbability: number;
  clv: number;
  pAlive: number;
  expectedPurchases: number;
  expectedSpend: number;
}

export interface CustomerState {
  format: number;
  customerId: string;
  /** Optimistic-concurrency version: 0 means never stored. */
  version: number;
  /**
   * Purchase days (UTC day index), meaningful only once `occasions > 0` (hasPurchase): -1 while
   * there is none, but -1 is also a real day (1969-12-31), so it is never read as "no purchase".
   */
  firstDay: number;
  lastDay: number;
  /** Distinct purchase days: the BTYD transaction unit. */
  occasions: number;
  /** Bit i of word (i >> 5) set = a purchase on day firstDay + i. */
  dayBits: number[];
  orders: number;
  units: number;
  spendCents: number;
  firstDaySpendCents: number;
  maxOrderCents: number;
  returns: number;
  returnCents: number;
  firstEventMs: number;
  lastEventMs: number;
  /** Newest week in the activity ring, meaningful only once `orders > 0` (-1 before); slot = week mod ACTIVITY_WEEKS. */
  ringWeek: number;
  /**
   * The customer's country, a static covariate: taken from the event with the latest event time
   * that carries one (ties by the greater value), so any arrival order leaves the same value.
   */
  country: string | null;
  /** Event time of the event that set `country`; NO_EVENT_LAST_MS while it is null. */
  countryMs: number;
  weekOrders: number[];
  weekCents: number[];
  /**
   * Orders applied within the duplicate horizon, three numbers each: the high and low 32 bits of
   * a 64-bit hash of type and order id (orderMemory.ts), then the event's day index. Kept sorted by (hash, day) so any
   * arrival order stores the same array. Stores may pack it (12 bytes an order).
   */
  orderMemory: number[];
  /** High-water marks keyed by stream and shard (`stream/shardId`), or topic and partition. */
  positions: Record<string, string>;
  score: CustomerScore | null;
  atRisk: boolean;
  /** Event time at which, with no further purchase, churn probability reaches the threshold. */
  dueAtMs: number | null;
  transitions: number;
  /** Alerts decided and stored but not yet confirmed published (an outbox). */
  outbox: PendingAlert[];
  /**
   * Alerts the consumer saved and then published with no further write (null if none): kept only
   * so that a redelivery of the records that decided them can tell whether to publish them again.
   */
  inFlight: InFlightAlerts | null;
}

/**
 * Alerts a consumer invocation saved with the state and then published, the source and position
 * of the latest of its records, and the invocation's id: the invocation either published them,
 * saved them back into the outbox, or failed those records, so they come again
 * (consumers/inFlightAlerts.ts).
 */
export interface InFlightAlerts {
  source: string;
  position: string;
  invocation: string;
  alerts: PendingAlert[];
}

export type ApplyOutcome = 'applied' | 'duplicate-position' | 'duplicate-order' | 'beyond-horizon';

/** Where a record came from: a shard or partition, and its sequence number or offset. */
export interface StreamPosition {
  source: string;
  position: string;
}

export function emptyState(customerId: string): CustomerState {
  return {
    format: STATE_FORMAT,
    customerId,
    version: 0,
    firstDay: -1,
    lastDay: -1,
    occasions: 0,
    dayBits: [],
    orders: 0,
    units: 0,
    spendCents: 0,
    firstDaySpendCents: 0,
    maxOrderCents: 0,
    returns: 0,
    returnCents: 0,
    firstEventMs: NO_EVENT_FIRST_MS,
    lastEventMs: NO_EVENT_LAST_MS,
    ringWeek: -1,
    country: null,
    countryMs: NO_EVENT_LAST_MS,
    weekOrders: new Array(ACTIVITY_WEEKS).fill(0),
    weekCents: new Array(ACTIVITY_WEEKS).fill(0),
    orderMemory: [],
    positions: {},
    score: null,
    atRisk: false,
    dueAtMs: null,
    transitions: 0,
    outbox: [],
    inFlight: null,
  };
}

const BLANK_STATE: CustomerState = emptyState('');

/**
 * The same record as `emptyState(customerId)`, built by `cloneState` from a blank template: for
 * short-lived working copies (a consumer's new customers). V8 decides per allocation site
 * whether to allocate straight in the old generation, and emptyState's sites also make states
 * that live long (training keeps a state per customer); a working copy made there could be
 * allocated as old-generation garbage. cloneState's sites make short-lived copies only.
 */
export function blankWorkingState(customerId: string): CustomerState {
  const state = cloneState(BLANK_STATE);
  state.customerId = customerId;
  return state;
}

/**
 * A deep copy, so callers can update without touching what a store handed them. Fields are
 * listed rather than spread, and arrays copied by loops rather than closures: stores copy on
 * every read, and a literal with a fixed shape is several times cheaper to build than a spread.
 * Alerts in the outbox are shared, as they are never changed once decided.
 */
export function cloneState(state: CustomerState): CustomerState {
  return {
    format: state.format,
    customerId: state.customerId,
    version: state.version,
    firstDay: state.firstDay,
    lastDay: state.lastDay,
    occasions: state.occasions,
    dayBits: state.dayBits.slice(),
    orders: state.orders,
    units: state.units,
    spendCents: state.spendCents,
    firstDaySpendCents: state.firstDaySpendCents,
    maxOrderCents: state.maxOrderCents,
    returns: state.returns,
    returnCents: state.returnCents,
    firstEventMs: state.firstEventMs,
    lastEventMs: state.lastEventMs,
    ringWeek: state.ringWeek,
    country: state.country,
    countryMs: state.countryMs,
    weekOrders: state.weekOrders.slice(),
    weekCents: state.weekCents.slice(),
    orderMemory: state.orderMemory.slice(),
    positions: clonePositions(state.positions),
    score: state.score === null ? null : cloneScore(state.score),
    atRisk: state.atRisk,
    dueAtMs: state.dueAtMs,
    transitions: state.transitions,
    outbox: state.outbox.slice(),
    // Never changed in place once saved: replaced whole, so it is shared.
    inFlight: state.inFlight,
  };
}

/** A copy of a state's per-source positions. */
function clonePositions(positions: Record<string, string>): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const source in positions) copy[source] = positions[source];
  return copy;
}

function cloneScore(score: CustomerScore): CustomerScore {
  return {
    asOfMs: score.asOfMs,
    modelVersion: score.modelVersion,
    churnProbability: score.churnProbability,
    clv: score.clv,
    pAlive: score.pAlive,
    expectedPurchases: score.expectedPurchases,
    expectedSpend: score.expectedSpend,
  };
}

/** Decimal sequence numbers and offsets exceed 2^53: compare them as digit strings. */
export function comparePositions(a: string, b: string): number {
  // The usual case: positions of one shard, same width, no leading zeros to strip.
  if (a.length === b.length && a.charCodeAt(0) !== 48 && b.charCodeAt(0) !== 48) return a < b ? -1 : a > b ? 1 : 0;
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Applies one event in place. The result is the same whatever order a customer's events
 * are applied in, and applying one twice (same position, or same order id within the
 * duplicate horizon) changes nothing but the position high-water mark.
 */
export function applyEvent(
  state: CustomerState,
  event: OrderEvent,
  from?: StreamPosition,
  ms: number = Date.parse(event.occurredAt),
  horizonDays: number = DEFAULT_DUPLICATE_HORIZON_DAYS,
): ApplyOutcome {
  return applyOrder(state, orderFactsOf(event, ms), from, horizonDays);
}

/** applyEvent on the facts of an event: what the consumer's fast decoding path hands over. */
export function applyOrder(state: CustomerState, order: OrderFacts, from?: StreamPosition, horizonDays: number = DEFAULT_DUPLICATE_HORIZON_DAYS): ApplyOutcome {
  if (from) {
    let seen: string | undefined = state.positions[from.source];
    if (seen === undefined) seen = adoptBareShardKey(state.positions, from.source);
    if (seen !== undefined && comparePositions(from.position, seen) <= 0) return 'duplicate-position';
    state.positions[from.source] = from.position;
  }
  const ms = order.eventMs;
  const day = dayIndex(ms);
  const latestDay = state.lastEventMs === NO_EVENT_LAST_MS ? day : Math.max(day, dayIndex(state.lastEventMs));
  if (day < latestDay - horizonDays) return 'beyond-horizon';
  if (!rememberOrderId(state.orderMemory, order.type, order.orderId, day, latestDay - horizonDays)) return 'duplicate-order';

  state.firstEventMs = Math.min(state.firstEventMs, ms);
  if (ms > state.lastEventMs) state.lastEventMs = ms;
  if (order.country !== undefined) noteCountry(state, order.country, ms);

  const cents = order.cents;
  if (order.type === 'return') {
    state.returns += 1;
    state.returnCents += cents;
    return 'applied';
  }
  const firstOrder = state.orders === 0;
  state.orders += 1;
  state.units += order.units;
  state.spendCents += cents;
  state.maxOrderCents = Math.max(state.maxOrderCents, cents);
  addPurchaseDay(state, day, cents);
  addToActivityRing(state, weekIndex(day), cents, firstOrder);
  return 'applied';
}

/**
 * The country rule, for an applied (not duplicate) event that carries a country at event time
 * `ms`: the latest event time wins, ties by the greater value. A max over (time, value) pairs,
 * so the result does not depend on arrival order. Orders and returns alike.
 */
function noteCountry(state: CustomerState, country: string, ms: number): void {
  if (ms > state.countryMs || (ms === state.countryMs && (state.country === null || country > state.country))) {
    state.country = country;
    state.countryMs = ms;
  }
}

/**
 * A bare shard id (`shardId-000000000000`) is how positions were keyed before they carried the
 * stream. Such a mark came from the one stream consumed before the upgrade; it is taken as the
 * mark of the first stream whose records of that shard reach this customer afterwards, and
 * dropped, so a stream met later (a re-created or migrated one) starts from nothing.
 */
function adoptBareShardKey(positions: Record<string, string>, source: string): string | undefined {
  const slash = source.lastIndexOf('/');
  if (slash < 0) return undefined;
  const bare = source.slice(slash + 1);
  const seen = positions[bare];
  if (seen !== undefined) {
    delete positions[bare];
    positions[source] = seen;
  }
  return seen;
}

/**
 * A stored state body as this version reads it, whatever version wrote it: format-1 bodies kept
 * order ids as strings (their orders join the hashed memory), and bodies written before the
 * country covariate lack its fields (no country yet).
 */
export function upgradeStoredState(body: CustomerState & { recentOrders?: LegacyRecentOrder[] }): CustomerState {
  if (body.recentOrders !== undefined) {
    body.orderMemory = orderMemoryFromLegacy(body.recentOrders);
    delete body.recentOrders;
  }
  body.orderMemory ??= [];
  body.inFlight ??= null;
  if (body.country === undefined) {
    body.country = null;
    body.countryMs = NO_EVENT_LAST_MS;
  }
  body.format = STATE_FORMAT;
  return body;
}

/**
 * The statistics alone, without scores, versions, positions or the alerts: what must be
 * identical however the customer's events were ordered, batched or redelivered.
 */
export function statisticsOf(
  state: CustomerState,
): Omit<CustomerState, 'version' | 'score' | 'atRisk' | 'dueAtMs' | 'transitions' | 'outbox' | 'inFlight' | 'positions'> {
  const { version: _v, score: _s, atRisk: _a, dueAtMs: _d, transitions: _t, outbox: _o, inFlight: _f, positions: _p, ...stats } = state;
  return stats;
}
