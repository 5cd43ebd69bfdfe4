import { parseEventTime } from '../models/time/eventTime.ts';
import { describeZodError, OrderEventSchema } from '../models/customer/orderEvent.ts';
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
 * JSON.parse, no line objects); the rest, and every rejection, take JSON.parse and zod.
 */
export function decodeRecord(record: StreamRecord): DecodedRecord {
  const scanned = scanOrderRecord(record.data);
  if (scanned !== null) return { ok: true, record, order: scanned, general: false };
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(record.data, 'base64').toString('utf8'));
  } catch (error) {
    return { ok: false, record, reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = OrderEventSchema.safeParse(payload);
  if (!parsed.success) return { ok: false, record, reason: `not an OrderEvent v1: ${describeZodError(parsed.error)}` };
  return { ok: true, record, order: orderFactsOf(parsed.data, parseEventTime(parsed.data.occurredAt)), general: true };
}
