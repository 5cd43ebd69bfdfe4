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
