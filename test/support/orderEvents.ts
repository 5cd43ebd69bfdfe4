import type { OrderEvent } from '../../models/customer/orderEvent.ts';

/** A small, readable order event for tests. */
export function order(customerId: string, orderId: string, occurredAt: string, amount = 10, type: OrderEvent['type'] = 'order'): OrderEvent {
  return {
    type,
    orderId,
    customerId,
    occurredAt,
    currency: 'EUR',
    lines: [{ productId: 'P1', categoryId: 'C1', quantity: 2, unitPrice: amount / 2 }],
  };
}

/** A deterministic pseudo-random permutation (Fisher–Yates with a linear congruential stream). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = items.slice();
  let state = seed >>> 0 || 1;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
