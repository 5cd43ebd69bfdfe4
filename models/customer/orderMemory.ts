import { dayIndex } from '../time/calendar.ts';
import type { OrderFacts } from './orderFacts.ts';

/**
 * A customer's memory of applied order ids, for rejecting producer retries: a flat array of
 * (hash high, hash low, event day) triples, kept sorted by (hash, day) so it holds exactly the
 * applied orders of the last horizon whatever order they came in, and packed to 12 bytes an
 * order when stored.
 */

/** What format-1 states stored for an order id: `type:orderId` and its event time. */
export interface LegacyRecentOrder {
  key: string;
  ms: number;
}

/**
 * Remembers the order (type, id) of event day `day` in `memory` unless it is there already
 * (false: a producer retry), dropping entries older than `oldestDay`.
 */
export function rememberOrderId(memory: number[], type: OrderFacts['type'], orderId: string, day: number, oldestDay: number): boolean {
  const low = orderIdHash(type, orderId);
  return rememberOrder(memory, hashHigh, low, day, oldestDay);
}

/** Set by orderIdHash: the high 32 bits of the last hash (the low ones are its return value). */
let hashHigh = 0;

/**
 * A 64-bit hash of an order's type and id (two 32-bit multiply-xorshift lanes over UTF-16 code
 * units, cross-mixed at the end, as in cyrb53 but keeping all 64 bits): the high half goes to
 * `hashHigh`, the low half is returned, so no array or BigInt is made per event. Stable across
 * processes and releases; not cryptographic (producers are trusted not to forge collisions).
 */
function orderIdHash(type: OrderFacts['type'], orderId: string): number {
  let h1 = 0xdeadbeef ^ (type === 'order' ? 1 : 2);
  let h2 = 0x41c6ce57 ^ (type === 'order' ? 1 : 2);
  for (let i = 0; i < orderId.length; i++) {
    const ch = orderId.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  hashHigh = h2 >>> 0;
  return h1 >>> 0;
}

/**
 * Adds (high, low, day) to the memory unless the hash is there already (false: a retry), and
 * drops entries older than `oldestDay`. The memory stays sorted by (hash, day), so it holds
 * exactly the applied orders of the last horizon whatever order they came in.
 */
function rememberOrder(memory: number[], high: number, low: number, day: number, oldestDay: number): boolean {
  let insertAt = memory.length;
  let stale = false;
  for (let i = 0; i < memory.length; i += 3) {
    const h = memory[i];
    const l = memory[i + 1];
    if (h === high && l === low) return false;
    if (memory[i + 2] < oldestDay) stale = true;
    if (insertAt === memory.length && (h > high || (h === high && l > low))) insertAt = i;
  }
  memory.splice(insertAt, 0, high, low, day);
  if (stale) {
    let write = 0;
    for (let read = 0; read < memory.length; read += 3) {
      if (memory[read + 2] < oldestDay) continue;
      memory[write] = memory[read];
      memory[write + 1] = memory[read + 1];
      memory[write + 2] = memory[read + 2];
      write += 3;
    }
    memory.length = write;
  }
  return true;
}

/** Packs an order memory into 12 bytes an order (high, low, day as big-endian 32-bit integers). */
export function packOrderMemory(memory: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(memory.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < memory.length; i += 3) {
    view.setUint32(i * 4, memory[i]);
    view.setUint32(i * 4 + 4, memory[i + 1]);
    view.setInt32(i * 4 + 8, memory[i + 2]);
  }
  return bytes;
}

export function unpackOrderMemory(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const memory: number[] = [];
  for (let at = 0; at + 12 <= bytes.byteLength; at += 12) memory.push(view.getUint32(at), view.getUint32(at + 4), view.getInt32(at + 8));
  return memory;
}

/**
 * The order memory of a format-1 state, from its `recentOrders` (`type:orderId` keys with event
 * times): the same orders, hashed, so retries of orders a stored state already knew stay ignored.
 */
export function orderMemoryFromLegacy(recent: readonly LegacyRecentOrder[]): number[] {
  const memory: number[] = [];
  for (const { key, ms } of recent) {
    const colon = key.indexOf(':');
    rememberOrderId(memory, key.slice(0, colon) === 'return' ? 'return' : 'order', key.slice(colon + 1), dayIndex(ms), Number.MIN_SAFE_INTEGER);
  }
  return memory;
}

