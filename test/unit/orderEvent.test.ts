import { describe, expect, it } from 'vitest';
import { OrderEventSchema } from '../../models/customer/orderEvent.ts';

describe('OrderEvent v1 schema', () => {
  it('takes an optional country of 1 to 64 characters, and nothing else there', () => {
    const base = { type: 'order', orderId: 'o', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: 1, unitPrice: 0 }] };
    for (const country of [undefined, 'Germany', 'A'.repeat(64)]) {
      const value = country === undefined ? base : { ...base, country };
      expect(OrderEventSchema.safeParse(value).success).toBe(true);
    }
    for (const country of ['', 'A'.repeat(65), 7, null]) {
      const parsed = OrderEventSchema.safeParse({ ...base, country });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0].path).toEqual(['country']);
    }
  });

  it('names every failing field, and strips unknown keys', () => {
    const parsed = OrderEventSchema.safeParse({ type: 'order', orderId: 'o', customerId: 'c', occurredAt: 'yesterday', lines: [] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['occurredAt', 'lines']);
    const withExtra = OrderEventSchema.safeParse({ type: 'order', orderId: 'o', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: 1, unitPrice: 0 }], note: 'x' });
    expect(withExtra.success && 'note' in withExtra.data).toBe(false);
  });
});
