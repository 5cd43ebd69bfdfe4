import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOrderEventV1, OrderEventSchema, parseOrderEvent } from '../../models/orderEvent.ts';

const text = fc.oneof(fc.constantFrom('abc', 'C-17', 'P0001'), fc.constantFrom('abc', 'C-17', 'P0001'), fc.string({ minLength: 0, maxLength: 4 }), fc.string({ minLength: 125, maxLength: 130 }), fc.constant('C\u0001'), fc.constant('abc'));
const number = fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double(), fc.integer({ min: -3, max: 3 }), fc.constant(-0), fc.constant(Number.NaN), fc.constant(Number.POSITIVE_INFINITY));
const timestamp = fc.oneof(
  fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2024-02-29T10:00:00Z', '2023-02-29T10:00:00Z', '2024-01-01T10:00:00+01:00', '2024-01-01T10:00Z', '2024-01-01', '2024-13-01T00:00:00Z', 'yesterday'),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const line = fc.record(
  { productId: text, categoryId: maybe(text), quantity: number, unitPrice: number, extra: maybe(fc.anything()) },
  { requiredKeys: ['productId', 'quantity', 'unitPrice'] },
);
const event = fc.record(
  {
    type: fc.constantFrom('order', 'return', 'order', 'return', 'refund', 1),
    orderId: text,
    customerId: text,
    occurredAt: timestamp,
    currency: maybe(fc.oneof(fc.constantFrom('EUR', 'usd'), text)),
    lines: fc.oneof(fc.array(line, { maxLength: 3 }), fc.array(line, { minLength: 1, maxLength: 2 }), fc.anything()),
    note: maybe(fc.string()),
  },
  { requiredKeys: ['type', 'orderId', 'customerId', 'occurredAt', 'lines'] },
);

/** A valid event with at most one field replaced by a noisy value: the boundary where checks differ. */
const nearlyValid = fc
  .tuple(fc.constantFrom('type', 'orderId', 'customerId', 'occurredAt', 'currency', 'lines', 'none'), event, fc.boolean())
  .map(([field, noisy, dropCurrency]) => {
    const base: Record<string, unknown> = {
      type: 'order', orderId: 'O-1', customerId: 'U-1', occurredAt: '2024-03-01T10:00:00.000Z',
      currency: 'EUR', lines: [{ productId: 'P1', categoryId: 'C1', quantity: 2, unitPrice: 3.5 }],
    };
    if (dropCurrency) delete base.currency;
    if (field !== 'none') base[field] = (noisy as Record<string, unknown>)[field];
    return base;
  });

describe('OrderEvent v1 fast check', () => {
  it('accepts exactly what the zod schema accepts unchanged', () => {
    let accepted = 0;
    fc.assert(
      // Values as the consumer sees them: straight out of JSON.parse.
      fc.property(fc.oneof(nearlyValid, nearlyValid, event, fc.anything()).map((v) => JSON.parse(JSON.stringify(v ?? null))), (value) => {
        const zod = OrderEventSchema.safeParse(value);
        const unchanged = zod.success && isDeepStrictEqual(zod.data, value);
        expect(isOrderEventV1(value)).toBe(unchanged);
        if (unchanged) accepted++;
      }),
      { numRuns: 20_000 },
    );
    // Both sides of the agreement must be exercised, not just rejections.
    expect(accepted).toBeGreaterThan(200);
  });

  it('falls back to zod for the rest, so every rejection carries zod’s reason', () => {
    const parsed = parseOrderEvent({ type: 'order', orderId: 'o', customerId: 'c', occurredAt: 'yesterday', lines: [] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['occurredAt', 'lines']);
    const withExtra = parseOrderEvent({ type: 'order', orderId: 'o', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: 1, unitPrice: 0 }], note: 'x' });
    expect(withExtra.success && 'note' in withExtra.data).toBe(false);
  });
});
