import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOrderEventV1, OrderEventSchema, parseOrderEvent } from '../../models/customer/orderEvent.ts';

const text = fc.oneof(fc.constantFrom('abc', 'C-17', 'P0001'), fc.constantFrom('abc', 'C-17', 'P0001'), fc.string({ minLength: 0, maxLength: 4 }), fc.string({ minLength: 125, maxLength: 130 }), fc.constant('C\u0001'), fc.constant('abc'));
const number = fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double(), fc.integer({ min: -3, max: 3 }), fc.constant(-0), fc.constant(Number.NaN), fc.constant(Number.POSITIVE_INFINITY));
const timestamp = fc.oneof(
  fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2024-02-29T10:00:00Z', '2023-02-29T10:00:00Z', '2024-01-01T10:00:00+01:00', '2024-01-01T10:00Z', '2024-01-01', '2024-13-01T00:00:00Z', 'yesterday'),
);
/** Valid countries, and the invalid edges: empty, 65 characters, a non-string. */
const country = fc.oneof(
  fc.constantFrom('United Kingdom', 'EIRE', 'x', 'A'.repeat(64)),
  fc.string({ minLength: 1, maxLength: 64 }),
  fc.constantFrom('', 'B'.repeat(65), 7, null, true),
  fc.string({ minLength: 63, maxLength: 66 }),
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
    country: maybe(fc.oneof(country, country, fc.anything())),
    lines: fc.oneof(fc.array(line, { maxLength: 3 }), fc.array(line, { minLength: 1, maxLength: 2 }), fc.anything()),
    note: maybe(fc.string()),
  },
  { requiredKeys: ['type', 'orderId', 'customerId', 'occurredAt', 'lines'] },
);

/** A valid event with at most one field replaced by a noisy value: the boundary where checks differ. */
const nearlyValid = fc
  .tuple(fc.constantFrom('type', 'orderId', 'customerId', 'occurredAt', 'currency', 'lines', 'country', 'none'), event, fc.boolean(), fc.boolean())
  .map(([field, noisy, dropCurrency, dropCountry]) => {
    const base: Record<string, unknown> = {
      type: 'order', orderId: 'O-1', customerId: 'U-1', occurredAt: '2024-03-01T10:00:00.000Z',
      currency: 'EUR', lines: [{ productId: 'P1', categoryId: 'C1', quantity: 2, unitPrice: 3.5 }], country: 'Germany',
    };
    if (dropCurrency) delete base.currency;
    if (dropCountry) delete base.country;
    if (field !== 'none') base[field] = (noisy as Record<string, unknown>)[field];
    return base;
  });

describe('OrderEvent v1 fast check', () => {
  it('accepts exactly what the zod schema accepts unchanged', () => {
    let accepted = 0;
    let acceptedWithCountry = 0;
    fc.assert(
      // Values as the consumer sees them: straight out of JSON.parse.
      fc.property(fc.oneof(nearlyValid, nearlyValid, event, fc.anything()).map((v) => JSON.parse(JSON.stringify(v ?? null))), (value) => {
        const zod = OrderEventSchema.safeParse(value);
        const unchanged = zod.success && isDeepStrictEqual(zod.data, value);
        expect(isOrderEventV1(value)).toBe(unchanged);
        if (unchanged) accepted++;
        if (unchanged && 'country' in value) acceptedWithCountry++;
      }),
      { numRuns: 20_000 },
    );
    // Both sides of the agreement must be exercised, not just rejections.
    expect(accepted).toBeGreaterThan(200);
    expect(acceptedWithCountry).toBeGreaterThan(50);
    expect(accepted - acceptedWithCountry).toBeGreaterThan(50);
  });

  it('takes an optional country of 1 to 64 characters, and nothing else there', () => {
    const base = { type: 'order', orderId: 'o', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: 1, unitPrice: 0 }] };
    for (const country of [undefined, 'Germany', 'A'.repeat(64)]) {
      const value = country === undefined ? base : { ...base, country };
      expect(isOrderEventV1(value)).toBe(true);
      expect(OrderEventSchema.safeParse(value).success).toBe(true);
    }
    for (const country of ['', 'A'.repeat(65), 7, null]) {
      const value = { ...base, country };
      expect(isOrderEventV1(value)).toBe(false);
      const parsed = parseOrderEvent(value);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0].path).toEqual(['country']);
    }
  });

  it('falls back to zod for the rest, so every rejection carries zod’s reason', () => {
    const parsed = parseOrderEvent({ type: 'order', orderId: 'o', customerId: 'c', occurredAt: 'yesterday', lines: [] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['occurredAt', 'lines']);
    const withExtra = parseOrderEvent({ type: 'order', orderId: 'o', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: 1, unitPrice: 0 }], note: 'x' });
    expect(withExtra.success && 'note' in withExtra.data).toBe(false);
  });
});
