import { parseEventTime } from '../models/eventTime.ts';
import { describeZodError, type OrderEvent, parseOrderEvent } from '../models/orderEvent.ts';

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
  | { ok: true; record: StreamRecord; event: OrderEvent; eventMs: number }
  | { ok: false; record: StreamRecord; reason: string };

/** base64 → UTF-8 → JSON → OrderEvent v1; anything else is poison, with the reason why. */
export function decodeRecord(record: StreamRecord): DecodedRecord {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(record.data, 'base64').toString('utf8'));
  } catch (error) {
    return { ok: false, record, reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = parseOrderEvent(payload);
  if (!parsed.success) return { ok: false, record, reason: `not an OrderEvent v1: ${describeZodError(parsed.error)}` };
  return { ok: true, record, event: parsed.data, eventMs: parseEventTime(parsed.data.occurredAt) };
}
