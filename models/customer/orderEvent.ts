import { z } from 'zod';
import { parseEventTime } from '../time/eventTime.ts';

/**
 * The bounds of OrderEvent v1 (README, "Streaming semantics"). Quantity and unit price keep one
 * line's cents below 10^14, and MAX_EVENT_CENTS keeps an event's below 10^11, so a customer's
 * integer-cent sums stay exact (below 2^53) over some 90,000 events of the largest value.
 */
export const ORDER_BOUNDS = {
  idLength: 128,
  linesPerEvent: 1000,
  quantity: 1_000_000,
  unitPrice: 1_000_000,
  /** Σ round(quantity × unitPrice × 100) over an event's lines, as eventCents counts it. */
  eventCents: 100_000_000_000,
} as const;

/**
 * OrderEvent v1: one order or return, the only shape any entry point accepts
 * (stream records, dataset readers, the API). A return lowers monetary value and
 * never creates a purchase occasion.
 */
export const OrderLineSchema = z.object({
  productId: z.string().min(1).max(ORDER_BOUNDS.idLength),
  categoryId: z.string().min(1).max(ORDER_BOUNDS.idLength).optional(),
  quantity: z.number().positive().max(ORDER_BOUNDS.quantity, `must be at most ${ORDER_BOUNDS.quantity.toLocaleString('en-US')}`),
  unitPrice: z.number().nonnegative().max(ORDER_BOUNDS.unitPrice, `must be at most ${ORDER_BOUNDS.unitPrice.toLocaleString('en-US')}`),
});

export const OrderEventSchema = z.object({
  type: z.enum(['order', 'return']),
  orderId: z.string().min(1).max(ORDER_BOUNDS.idLength),
  // Control characters are reserved for the state store's own keys (the watermark item).
  customerId: z.string().min(1).max(ORDER_BOUNDS.idLength).regex(/^[^\u0000-\u001f]+$/, 'must not contain control characters'),
  occurredAt: z.iso.datetime({ offset: true }),
  currency: z.string().length(3).optional(),
  lines: z
    .array(OrderLineSchema)
    .min(1)
    .max(ORDER_BOUNDS.linesPerEvent)
    // Checked only once every line passed, so the sum is over bounded numbers.
    .refine((lines) => linesCents(lines) <= ORDER_BOUNDS.eventCents, {
      message: `the event's value (Σ quantity × unitPrice) must be at most ${(ORDER_BOUNDS.eventCents / 100).toLocaleString('en-US')}`,
      abort: true,
    }),
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
  return linesCents(event.lines);
}

function linesCents(lines: readonly OrderLine[]): number {
  let cents = 0;
  for (const line of lines) cents += Math.round(line.quantity * line.unitPrice * 100);
  return cents;
}

/**
 * Which event times are believable: none before `earliestMs`, none later than the wall clock plus
 * `maxSkewMs`. The upper bound moves with the clock, so it is a check after the static schema
 * (`eventTimeProblem`), applied wherever events enter: the consumer, the dataset readers, the lake.
 */
export interface EventTimeBounds {
  earliestMs: number;
  maxSkewMs: number;
}

export const DEFAULT_EARLIEST_EVENT_TIME = '1990-01-01T00:00:00.000Z';
export const DEFAULT_MAX_EVENT_SKEW_HOURS = 24;
export const DEFAULT_EVENT_TIME_BOUNDS: EventTimeBounds = {
  earliestMs: Date.parse(DEFAULT_EARLIEST_EVENT_TIME),
  maxSkewMs: DEFAULT_MAX_EVENT_SKEW_HOURS * 3_600_000,
};

export function eventTimeBounds(earliest: string | number = DEFAULT_EARLIEST_EVENT_TIME, maxSkewHours = DEFAULT_MAX_EVENT_SKEW_HOURS): EventTimeBounds {
  const earliestMs = typeof earliest === 'number' ? earliest : Date.parse(earliest);
  if (Number.isNaN(earliestMs)) throw new RangeError(`earliest event time is not a time: ${earliest}`);
  if (!(maxSkewHours >= 0) || !Number.isFinite(maxSkewHours)) throw new RangeError(`maximum event skew must be a non-negative number of hours: ${maxSkewHours}`);
  return { earliestMs, maxSkewMs: maxSkewHours * 3_600_000 };
}

/**
 * Why an event time `ms` (occurredAt as UTC milliseconds) is out of bounds at wall-clock time
 * `nowMs`, or undefined when it is within them. The message names the field and the bound.
 */
export function eventTimeProblem(ms: number, bounds: EventTimeBounds, nowMs: number): string | undefined {
  if (ms < bounds.earliestMs) return `occurredAt: before the earliest event time ${new Date(bounds.earliestMs).toISOString()}`;
  const latest = nowMs + bounds.maxSkewMs;
  if (ms > latest) {
    return `occurredAt: later than the wall clock plus the allowed skew of ${bounds.maxSkewMs / 3_600_000} h (${new Date(latest).toISOString()})`;
  }
  return undefined;
}

/**
 * An OrderEvent v1 within every bound, or the reason it is not (the field and the rule, for the
 * caller to prefix): the static schema first, then the event time as of wall-clock time `nowMs`.
 */
export function checkOrderEvent(
  payload: unknown,
  bounds: EventTimeBounds,
  nowMs: number,
): { ok: true; event: OrderEvent; ms: number } | { ok: false; reason: string } {
  const parsed = OrderEventSchema.safeParse(payload);
  if (!parsed.success) return { ok: false, reason: describeZodError(parsed.error) };
  const ms = parseEventTime(parsed.data.occurredAt);
  const problem = eventTimeProblem(ms, bounds, nowMs);
  return problem === undefined ? { ok: true, event: parsed.data, ms } : { ok: false, reason: problem };
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
