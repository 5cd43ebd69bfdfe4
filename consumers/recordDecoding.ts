import { checkOrderEvent, DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds, eventTimeProblem } from '../models/customer/orderEvent.ts';
import { type OrderFacts, orderFactsOf } from '../models/customer/orderFacts.ts';
import { scanOrderRecord } from './orderRecordScanner.ts';

/** A stream record as every transport hands it over: where it sits, and its base64 data. */
export interface StreamRecord {
  /** Shard id or topic-partition: the scope in which `position` only grows. */
  source: string;
  /** Sequence number or offset, as a decimal string. */
  position: string;
  partitionKey?: string;
  data: string;
}

export type DecodedRecord =
  /** `general`: the scanner stepped aside and JSON.parse + zod read it (a producer writing escapes, spaces or extra keys). */
  | { ok: true; record: StreamRecord; order: OrderFacts; general: boolean }
  | { ok: false; record: StreamRecord; reason: string };

/**
 * base64 → UTF-8 → JSON → OrderEvent v1 → the facts the state record takes; anything else is
 * poison, with the reason why. Compact records of plain ASCII take the scanner's path (no
 * JSON.parse, no line objects); the rest, and every rejection, take JSON.parse and zod. Both
 * paths then meet the same event-time bounds, as of wall-clock time `nowMs`.
 */
export function decodeRecord(record: StreamRecord, bounds: EventTimeBounds = DEFAULT_EVENT_TIME_BOUNDS, nowMs: number = Date.now()): DecodedRecord {
  const scanned = scanOrderRecord(record.data);
  if (scanned !== null) {
    const problem = eventTimeProblem(scanned.eventMs, bounds, nowMs);
    if (problem !== undefined) return { ok: false, record, reason: `not an OrderEvent v1: ${problem}` };
    return { ok: true, record, order: scanned, general: false };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(record.data, 'base64').toString('utf8'));
  } catch (error) {
    return { ok: false, record, reason: `not JSON: ${(error as Error).message}` };
  }
  const checked = checkOrderEvent(payload, bounds, nowMs);
  if (!checked.ok) return { ok: false, record, reason: `not an OrderEvent v1: ${checked.reason}` };
  return { ok: true, record, order: orderFactsOf(checked.event, checked.ms), general: true };
}
