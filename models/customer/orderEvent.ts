import { z } from 'zod';

/**
 * OrderEvent v1: one order or return, the only shape any entry point accepts
 * (stream records, dataset readers, the API). A return lowers monetary value and
 * never creates a purchase occasion.
 */
export const OrderLineSchema = z.object({
  productId: z.string().min(1).max(128),
  categoryId: z.string().min(1).max(128).optional(),
  quantity: z.number().positive().finite(),
  unitPrice: z.number().nonnegative().finite(),
});

export const OrderEventSchema = z.object({
  type: z.enum(['order', 'return']),
  orderId: z.string().min(1).max(128),
  // Control characters are reserved for the state store's own keys (the watermark item).
  customerId: z.string().min(1).max(128).regex(/^[^\u0000-\u001f]+$/, 'must not contain control characters'),
  occurredAt: z.iso.datetime({ offset: true }),
  currency: z.string().length(3).optional(),
  lines: z.array(OrderLineSchema).min(1).max(1000),
  /** The customer's country as the source system names it: a static covariate for the models. */
  country: z.string().min(1).max(64).optional(),
});

export type OrderLine = z.infer<typeof OrderLineSchema>;
export type OrderEvent = z.infer<typeof OrderEventSchema>;

/**
 * Parses an OrderEvent v1. The stream consumer validates every record, and zod's general
 * machinery costs more than base64 and JSON decoding together, so a hand-written check of the
 * same rules runs first; zod parses whatever it does not accept, and so still decides every
 * rejection and writes every error message. A property test keeps the two in agreement.
 */
export function parseOrderEvent(value: unknown): ReturnType<typeof OrderEventSchema.safeParse> {
  return isOrderEventV1(value) ? { success: true, data: value } : OrderEventSchema.safeParse(value);
}

// Taken from the schema itself so the fast check cannot drift from zod's datetime rule.
const OCCURRED_AT_PATTERN = (OrderEventSchema.shape.occurredAt as unknown as { _zod: { pattern: RegExp } })._zod.pattern;
const CUSTOMER_ID_PATTERN = /^[^\u0000-\u001f]+$/;

const isText = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max;
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Own enumerable keys, counted without building the array Object.keys would allocate. */
function keyCount(value: Record<string, unknown>): number {
  let count = 0;
  for (const key in value) if (Object.hasOwn(value, key)) count++;
  return count;
}

/** True when OrderEventSchema accepts `value` unchanged (no unknown keys to strip). */
export function isOrderEventV1(value: unknown): value is OrderEvent {
  if (!isRecord(value)) return false;
  const { type, orderId, customerId, occurredAt, currency, lines, country } = value;
  if (type !== 'order' && type !== 'return') return false;
  if (!isText(orderId, 1, 128) || !isText(customerId, 1, 128) || !CUSTOMER_ID_PATTERN.test(customerId)) return false;
  if (typeof occurredAt !== 'string' || !OCCURRED_AT_PATTERN.test(occurredAt)) return false;
  if (currency !== undefined && !isText(currency, 3, 3)) return false;
  if (country !== undefined && !isText(country, 1, 64)) return false;
  if (!Array.isArray(lines) || lines.length < 1 || lines.length > 1000) return false;
  let keys = 5 + (currency === undefined ? 0 : 1) + (country === undefined ? 0 : 1);
  if (keyCount(value) !== keys) return false;
  for (const line of lines) {
    if (!isRecord(line)) return false;
    const { productId, categoryId, quantity, unitPrice } = line;
    if (!isText(productId, 1, 128) || (categoryId !== undefined && !isText(categoryId, 1, 128))) return false;
    if (!isFiniteNumber(quantity) || quantity <= 0 || !isFiniteNumber(unitPrice) || unitPrice < 0) return false;
    keys = 3 + (categoryId === undefined ? 0 : 1);
    if (keyCount(line) !== keys) return false;
  }
  return true;
}

/**
 * A source's country text as an OrderEvent carries it: trimmed, and kept only when it fits the
 * schema (1 to 64 characters); an empty country means none, and an over-long one is left out
 * rather than losing the event over a covariate.
 */
export function eventCountry(text: string): string | undefined {
  const country = text.trim();
  return country.length >= 1 && country.length <= 64 ? country : undefined;
}

/** Monetary value of an event in integer cents, so sums are exact and commutative. */
export function eventCents(event: OrderEvent): number {
  let cents = 0;
  for (const line of event.lines) cents += Math.round(line.quantity * line.unitPrice * 100);
  return cents;
}

export function eventUnits(event: OrderEvent): number {
  let units = 0;
  for (const line of event.lines) units += line.quantity;
  return units;
}

/** Human-readable reason for a failed parse: the first issue's path and message. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
