import { compareCodePoints } from '../../models/customer/customerIds.ts';
import type { CustomerState } from '../../models/customer/customerState.ts';
import { statesFromEvents } from '../../models/customer/customerStates.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import type { LakeOrderLine, LakeOrderTotal, LakeOrderTotals, LakeQueries } from './lakeQueries.ts';

/**
 * Customer states rebuilt from the lake's rows, exactly as the stream built them: the rows are
 * regrouped into their order events and applied through statesFromEvents.
 */

/** Whether the lake offers order totals (an event's lines summed: a twentieth of the rows). */
function hasOrderTotals(lake: LakeQueries): lake is LakeQueries & LakeOrderTotals {
  return typeof (lake as Partial<LakeOrderTotals>).customerOrderTotals === 'function';
}

/** States of the given customers (all customers when omitted), from order totals when the lake has them. */
export async function lakeStates(lake: LakeQueries, customerIds?: readonly string[]): Promise<Map<string, CustomerState>> {
  if (hasOrderTotals(lake)) return statesFromOrderTotals(await lake.customerOrderTotals(customerIds));
  return statesFromLines(await lake.customerOrderLines(customerIds));
}

/**
 * Customer states from lake order lines: lines are regrouped into their OrderEvents (type,
 * order id, customer), each with the country its lines carry (none when they carry none), and
 * applied with applyEvent, so the state's country follows the stream's rule (latest event time wins).
 */
export function statesFromLines(lines: readonly LakeOrderLine[]): Map<string, CustomerState> {
  const events = new Map<string, OrderEvent>();
  for (const line of lines) {
    const key = `${line.type}\u0000${line.orderId}\u0000${line.customerId}`;
    let event = events.get(key);
    if (!event) {
      events.set(key, (event = { type: line.type, orderId: line.orderId, customerId: line.customerId, occurredAt: line.occurredAt, lines: [] }));
    }
    const country = greaterCountry(event.country ?? null, line.country);
    if (country !== null) event.country = country;
    event.lines.push({
      productId: line.productId,
      ...(line.categoryId ? { categoryId: line.categoryId } : {}),
      quantity: line.quantity,
      unitPrice: line.unitPrice,
    });
  }
  return statesFromEvents(events.values()).states;
}

/**
 * The same states from order totals: each total becomes its event, with its country, and one
 * line carrying the event's units and a unit price that gives back its cents exactly (applyEvent
 * rounds quantity × price × 100 per line). Totals of one (type, order id, customer) are merged
 * first, as statesFromLines merges lines.
 */
export function statesFromOrderTotals(totals: readonly LakeOrderTotal[]): Map<string, CustomerState> {
  return statesFromEvents(eventsFromOrderTotals(totals)).states;
}

/** The order events of order totals (one line each), totals of one event merged first; the trainer reads the lake this way. */
export function eventsFromOrderTotals(totals: readonly LakeOrderTotal[]): Generator<OrderEvent> {
  const merged = new Map<string, LakeOrderTotal>();
  for (const total of totals) {
    const key = `${total.type}\u0000${total.orderId}\u0000${total.customerId}`;
    const seen = merged.get(key);
    if (seen) merged.set(key, { ...seen, cents: seen.cents + total.cents, units: seen.units + total.units, country: greaterCountry(seen.country, total.country) });
    else merged.set(key, total);
  }
  return eventsOfTotals(merged.values());
}

function* eventsOfTotals(totals: Iterable<LakeOrderTotal>): Generator<OrderEvent> {
  for (const total of totals) {
    yield {
      type: total.type,
      orderId: total.orderId,
      customerId: total.customerId,
      occurredAt: total.occurredAt,
      ...(total.country != null ? { country: total.country } : {}),
      lines: [{ productId: '*', quantity: total.units, unitPrice: unitPriceFor(total.cents, total.units) }],
    };
  }
}

/**
 * The country of an event whose lines (or totals) say `a` and `b`: the one that is not null, else
 * the greater in code-point order, as SQL's MAX(country) picks it. Every line of one event carries
 * the same country, so this only decides for an order id the lake holds twice.
 */
function greaterCountry(a: string | null | undefined, b: string | null | undefined): string | null {
  if (a == null) return b ?? null;
  if (b == null) return a;
  return compareCodePoints(b, a) > 0 ? b : a;
}

/** A price p with Math.round(units × p × 100) === cents. */
function unitPriceFor(cents: number, units: number): number {
  let price = cents / 100 / units;
  for (let step = 0; step < 8 && Math.round(units * price * 100) !== cents; step++) {
    price = Math.round(units * price * 100) < cents ? price * (1 + Number.EPSILON * 4) : price * (1 - Number.EPSILON * 4);
  }
  return price;
}
