import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ORDER_BOUNDS, OrderEventSchema } from '../../models/customer/orderEvent.ts';
import { ORDER_EVENT_SCHEMA_FILE, orderEventJsonSchemaText } from '../../producers/orderEventJsonSchema.ts';

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

describe('published OrderEvent JSON Schema', () => {
  it('the committed file is what producers/orderEventJsonSchema.ts generates now', async () => {
    const committed = await readFile(ORDER_EVENT_SCHEMA_FILE, 'utf8');
    expect(committed, 'regenerate: npx tsx producers/orderEventJsonSchema.ts').toBe(orderEventJsonSchemaText());
  });

  it('states every static bound of OrderEventSchema as a keyword', async () => {
    const schema = JSON.parse(await readFile(ORDER_EVENT_SCHEMA_FILE, 'utf8'));
    const line = schema.properties.lines.items.properties;
    expect(schema.properties.lines).toMatchObject({ minItems: 1, maxItems: ORDER_BOUNDS.linesPerEvent });
    expect(line.quantity).toMatchObject({ exclusiveMinimum: 0, maximum: ORDER_BOUNDS.quantity });
    expect(line.unitPrice).toMatchObject({ minimum: 0, maximum: ORDER_BOUNDS.unitPrice });
    for (const id of [schema.properties.orderId, schema.properties.customerId, line.productId]) expect(id.maxLength).toBe(ORDER_BOUNDS.idLength);
    expect(schema.required).toEqual(['type', 'orderId', 'customerId', 'occurredAt', 'lines']);
    expect(schema.description).toContain(String(ORDER_BOUNDS.eventCents));
  });
});
