import { eventCents, eventUnits, type OrderEvent } from './orderEvent.ts';

/**
 * What the state record takes from an OrderEvent: the consumer's fast path reads these straight
 * from a record's bytes, every other caller derives them from a parsed event with orderFactsOf.
 */
export interface OrderFacts {
  type: OrderEvent['type'];
  orderId: string;
  customerId: string;
  /** occurredAt as UTC milliseconds. */
  eventMs: number;
  /** Monetary value in integer cents (eventCents). */
  cents: number;
  /** Units over all lines (eventUnits). */
  units: number;
  country: string | undefined;
}

export function orderFactsOf(event: OrderEvent, eventMs: number): OrderFacts {
  return {
    type: event.type,
    orderId: event.orderId,
    customerId: event.customerId,
    eventMs,
    cents: eventCents(event),
    units: eventUnits(event),
    country: event.country,
  };
}
