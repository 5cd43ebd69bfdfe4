import { dayIndex } from '../time/calendar.ts';
import { applyEvent, type CustomerState, emptyState } from './customerState.ts';
import type { OrderEvent } from './orderEvent.ts';

export interface StatesFromEventsOptions {
  /** Only events on or before this UTC day index (by event time) count; later ones are skipped. */
  lastDay?: number;
  /** Only events of these customers count. */
  customers?: ReadonlySet<string>;
}

export interface StatesFromEvents {
  /** One state per customer, in the order each customer's first counted event came. */
  states: Map<string, CustomerState>;
  /** Events applyEvent applied (not rejected as duplicates). */
  applied: number;
}

/**
 * Every customer's state from a batch of events, as the stream builds them: a new customer
 * starts from emptyState, then each event goes through applyEvent, in the order given (the
 * result does not depend on it: applyEvent is order-independent). The one loop every batch
 * rebuild uses (training, the lake, the local stack's bootstrap, the benches).
 */
export function statesFromEvents(events: Iterable<OrderEvent>, options: StatesFromEventsOptions = {}): StatesFromEvents {
  const { lastDay, customers } = options;
  const states = new Map<string, CustomerState>();
  let applied = 0;
  for (const event of events) {
    if (customers !== undefined && !customers.has(event.customerId)) continue;
    const ms = Date.parse(event.occurredAt);
    if (lastDay !== undefined && dayIndex(ms) > lastDay) continue;
    let state = states.get(event.customerId);
    if (!state) states.set(event.customerId, (state = emptyState(event.customerId)));
    if (applyEvent(state, event, undefined, ms) === 'applied') applied++;
  }
  return { states, applied };
}
