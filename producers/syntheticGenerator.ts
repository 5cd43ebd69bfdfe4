import { z } from 'zod';
import { DAY_MS } from '../models/time/calendar.ts';
import type { OrderEvent, OrderLine } from '../models/customer/orderEvent.ts';
import { createDistributionSampler, type DistributionSampler } from './distributionSampler.ts';

/**
 * Deterministic synthetic order history that follows the BG/NBD story, so the models have a
 * known truth to recover: customers arrive during the first part of the period, buy at their
 * own gamma-distributed rate while alive and drop out after any repeat purchase with their own
 * beta-distributed probability. Products sit in categories with drifting prices and occasional
 * promotions that lift demand; weekdays and a mild yearly cycle shape when people buy; some
 * orders are partly returned a few days later.
 */
export const GenerateOptionsSchema = z.object({
  customers: z.number().int().min(1).max(10_000_000),
  days: z.number().int().min(1).max(36_600),
  seed: z.number().int().min(0).max(0xffffffff),
  start: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
    .refine((text) => {
      const ms = Date.parse(`${text}T00:00:00Z`);
      return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(text);
    }, 'is not a calendar date'),
});
export type GenerateOptions = z.infer<typeof GenerateOptionsSchema>;

const PRODUCTS = 200;
const CATEGORIES = 12;
/** Customers keep arriving during this share of the period, so later data shows ageing cohorts. */
const ARRIVAL_SHARE = 0.4;
/** Purchase rate per day ~ Gamma(shape, scale): mean 0.025, one order every 40 days, very uneven. */
const RATE_SHAPE = 0.75;
const RATE_SCALE = 1 / 30;
const MAX_RATE = 0.5;
/** Drop-out probability after each repeat purchase ~ Beta(a, b): mean 0.17. */
const DROPOUT_A = 1.2;
const DROPOUT_B = 6;
const FAVOURITE_CATEGORY_SHARE = 0.4;
const MAX_BASKET_LINES = 12;
const RETURN_RATE = 0.06;
const PROMOTION_RATE = 0.06;
const CURRENCY = 'USD';
/** Monday..Sunday demand multipliers: a quiet weekend makes seasonality easy to see. */
const WEEKDAY_EFFECT = [1.15, 1.1, 1.05, 1.0, 0.95, 0.6, 0.75];
const YEARLY_AMPLITUDE = 0.15;
/** Peak of the yearly cycle: mid-December. */
const YEARLY_PEAK_DAY_OF_YEAR = 350;
/** Relative order volume per hour of day (UTC), busiest late morning and evening. */
const HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2, 2.8, 3.2, 3.3, 3.2, 3, 2.8, 2.7, 2.6, 2.7, 3, 3.4, 3.5, 3, 2.2, 1.5];

export function generateEvents(options: GenerateOptions): OrderEvent[] {
  const { customers, days, seed, start } = GenerateOptionsSchema.parse(options);
  const calendar = buildCalendar(Date.parse(`${start}T00:00:00Z`), days);
  const catalog = buildCatalog(createDistributionSampler(seed), days);
  const width = Math.max(6, String(customers).length);
  const timed: TimedEvent[] = [];
  for (let index = 0; index < customers; index++) {
    // One stream per customer: adding customers never changes the histories of the others.
    const random = createDistributionSampler(mix(seed, index + 1));
    simulateCustomer(random, `U${String(index + 1).padStart(width, '0')}`, calendar, catalog, timed);
  }
  timed.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
  return timed.map((entry) => entry.event);
}

interface TimedEvent {
  ms: number;
  seq: number;
  event: OrderEvent;
}

function mix(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index, 0x85ebca6b)) >>> 0;
}

interface Calendar {
  startMs: number;
  days: number;
  /** Demand multiplier of each day (weekday × yearly cycle). */
  effect: Float64Array;
  maxEffect: number;
  hourCumulative: Float64Array;
}

function buildCalendar(startMs: number, days: number): Calendar {
  const effect = new Float64Array(days);
  for (let day = 0; day < days; day++) {
    const date = new Date(startMs + day * DAY_MS);
    const weekday = (date.getUTCDay() + 6) % 7;
    const dayOfYear = (Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS;
    const yearly = 1 + YEARLY_AMPLITUDE * Math.cos((2 * Math.PI * (dayOfYear - YEARLY_PEAK_DAY_OF_YEAR)) / 365.25);
    effect[day] = WEEKDAY_EFFECT[weekday] * yearly;
  }
  return { startMs, days, effect, maxEffect: Math.max(...effect), hourCumulative: cumulative(HOUR_WEIGHTS) };
}

interface Catalog {
  productIds: string[];
  categoryIds: string[];
  categoryOf: Int32Array;
  /** price[week * PRODUCTS + product], in cents. */
  priceCents: Int32Array;
  /** Cumulative choice weights per week over all products, and per week and category. */
  allChoice: Float64Array[];
  categoryChoice: { products: number[]; cumulative: Float64Array }[][];
}

function buildCatalog(random: DistributionSampler, days: number): Catalog {
  const weeks = Math.ceil(days / 7);
  const categoryLevel = Array.from({ length: CATEGORIES }, () => 15 * Math.exp(0.6 * random.normal()));
  const categoryElasticity = Array.from({ length: CATEGORIES }, () => -(0.8 + 1.6 * random.next()));
  const categoryOf = new Int32Array(PRODUCTS);
  const priceCents = new Int32Array(weeks * PRODUCTS);
  const popularity: number[] = [];
  const elasticity: number[] = [];
  const basePrice: number[] = [];
  for (let product = 0; product < PRODUCTS; product++) {
    const category = product % CATEGORIES;
    categoryOf[product] = category;
    basePrice.push(Math.max(0.5, categoryLevel[category] * Math.exp(0.35 * random.normal())));
    popularity.push(random.gamma(0.7, 1));
    elasticity.push(Math.min(-0.2, Math.max(-4, categoryElasticity[category] + 0.3 * random.normal())));
    fillPrices(random, basePrice[product], weeks, (week, cents) => (priceCents[week * PRODUCTS + product] = cents));
  }
  const allChoice: Float64Array[] = [];
  const categoryChoice: Catalog['categoryChoice'] = [];
  for (let week = 0; week < weeks; week++) {
    // Demand responds to price relative to the product's base: promotions sell more.
    const weight = (product: number) =>
      popularity[product] * Math.pow(priceCents[week * PRODUCTS + product] / 100 / basePrice[product], elasticity[product]);
    allChoice.push(cumulative(Array.from({ length: PRODUCTS }, (_, product) => weight(product))));
    categoryChoice.push(
      Array.from({ length: CATEGORIES }, (_, category) => {
        const products = Array.from({ length: PRODUCTS }, (_, product) => product).filter((p) => categoryOf[p] === category);
        return { products, cumulative: cumulative(products.map(weight)) };
      }),
    );
  }
  return {
    productIds: Array.from({ length: PRODUCTS }, (_, product) => `P${String(product + 1).padStart(4, '0')}`),
    categoryIds: Array.from({ length: CATEGORIES }, (_, category) => `C${String(category + 1).padStart(2, '0')}`),
    categoryOf,
    priceCents,
    allChoice,
    categoryChoice,
  };
}

/** Weekly prices: a yearly drift plus a small random walk, with an occasional promotion week. */
function fillPrices(random: DistributionSampler, base: number, weeks: number, set: (week: number, cents: number) => void): void {
  const drift = 0.03 + 0.03 * random.normal();
  let walk = 0;
  for (let week = 0; week < weeks; week++) {
    walk += 0.015 * random.normal();
    const regular = base * Math.exp((drift * week) / 52 + walk);
    const discount = random.next() < PROMOTION_RATE ? 0.1 + 0.25 * random.next() : 0;
    set(week, Math.max(10, Math.round(regular * (1 - discount) * 100)));
  }
}

function cumulative(weights: number[]): Float64Array {
  const sums = new Float64Array(weights.length);
  let total = 0;
  weights.forEach((weight, at) => (sums[at] = total += weight));
  return sums;
}

/** Index of the first cumulative weight above a uniform draw scaled to the total. */
function pick(random: DistributionSampler, sums: Float64Array): number {
  const target = random.next() * sums[sums.length - 1];
  let low = 0;
  let high = sums.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sums[middle] > target) high = middle;
    else low = middle + 1;
  }
  return low;
}

interface Shopper {
  customerId: string;
  favourite: number;
  meanExtraLines: number;
  meanExtraUnits: number;
  orders: number;
  lastMs: number;
}

function simulateCustomer(random: DistributionSampler, customerId: string, calendar: Calendar, catalog: Catalog, out: TimedEvent[]): void {
  const rate = Math.min(MAX_RATE, random.gamma(RATE_SHAPE, RATE_SCALE));
  const dropout = random.beta(DROPOUT_A, DROPOUT_B);
  // Basket size and units per line vary by customer: the spend heterogeneity Gamma-Gamma models.
  const shopper: Shopper = {
    customerId,
    favourite: random.int(CATEGORIES),
    meanExtraLines: random.gamma(2, 0.75),
    meanExtraUnits: random.gamma(2, 0.5),
    orders: 0,
    lastMs: -Infinity,
  };
  const arrival = arrivalDay(random, calendar);
  placeOrder(random, shopper, arrival, calendar, catalog, out);
  // Thinning: propose at the peak rate, accept in proportion to the day's demand multiplier.
  const peakRate = rate * calendar.maxEffect;
  for (let time = arrival + random.next(); ; ) {
    time += random.exponential(peakRate);
    if (time >= calendar.days) return;
    const day = Math.floor(time);
    if (random.next() * calendar.maxEffect >= calendar.effect[day]) continue;
    placeOrder(random, shopper, day, calendar, catalog, out);
    if (random.next() < dropout) return;
  }
}

function arrivalDay(random: DistributionSampler, calendar: Calendar): number {
  const window = Math.max(1, Math.ceil(calendar.days * ARRIVAL_SHARE));
  for (;;) {
    const day = random.int(window);
    if (random.next() * calendar.maxEffect < calendar.effect[day]) return day;
  }
}

function placeOrder(random: DistributionSampler, shopper: Shopper, day: number, calendar: Calendar, catalog: Catalog, out: TimedEvent[]): void {
  const ms = orderTime(random, shopper, day, calendar);
  shopper.orders++;
  const orderId = `O${shopper.customerId.slice(1)}-${String(shopper.orders).padStart(3, '0')}`;
  const lines = basket(random, shopper, Math.floor(day / 7), catalog);
  out.push({ ms, seq: out.length, event: orderEvent('order', orderId, shopper.customerId, ms, lines) });
  if (random.next() < RETURN_RATE) addReturn(random, shopper, orderId, day, lines, calendar, out);
}

/** Time of day from the hourly profile; a customer's later order on the same day comes later. */
function orderTime(random: DistributionSampler, shopper: Shopper, day: number, calendar: Calendar): number {
  const dayStart = calendar.startMs + day * DAY_MS;
  let ms = dayStart + pick(random, calendar.hourCumulative) * 3_600_000 + random.int(3600) * 1000;
  if (ms <= shopper.lastMs) ms = Math.min(dayStart + DAY_MS - 1000, shopper.lastMs + (1 + random.int(60)) * 60_000);
  shopper.lastMs = ms;
  return ms;
}

function basket(random: DistributionSampler, shopper: Shopper, week: number, catalog: Catalog): OrderLine[] {
  const count = Math.min(MAX_BASKET_LINES, 1 + random.poisson(shopper.meanExtraLines));
  const byProduct = new Map<number, OrderLine>();
  for (let n = 0; n < count; n++) {
    const product = chooseProduct(random, shopper, week, catalog);
    const quantity = 1 + random.poisson(shopper.meanExtraUnits);
    const existing = byProduct.get(product);
    if (existing) existing.quantity += quantity;
    else
      byProduct.set(product, {
        productId: catalog.productIds[product],
        categoryId: catalog.categoryIds[catalog.categoryOf[product]],
        quantity,
        unitPrice: catalog.priceCents[week * PRODUCTS + product] / 100,
      });
  }
  return [...byProduct.values()];
}

function chooseProduct(random: DistributionSampler, shopper: Shopper, week: number, catalog: Catalog): number {
  if (random.next() >= FAVOURITE_CATEGORY_SHARE) return pick(random, catalog.allChoice[week]);
  const { products, cumulative } = catalog.categoryChoice[week][shopper.favourite];
  return products[pick(random, cumulative)];
}

/** Part of the order comes back 2+ days later, at the price paid; returns after the period are never seen. */
function addReturn(random: DistributionSampler, shopper: Shopper, orderId: string, day: number, lines: OrderLine[], calendar: Calendar, out: TimedEvent[]): void {
  const returnDay = day + 2 + random.poisson(6);
  if (returnDay >= calendar.days) return;
  let returned = lines.filter(() => random.next() < 0.6);
  if (returned.length === 0) returned = [lines[random.int(lines.length)]];
  const returnLines = returned.map((line) => ({ ...line, quantity: 1 + random.int(line.quantity) }));
  const ms = calendar.startMs + returnDay * DAY_MS + (8 + random.int(12)) * 3_600_000 + random.int(3600) * 1000;
  out.push({ ms, seq: out.length, event: orderEvent('return', `${orderId}-R`, shopper.customerId, ms, returnLines) });
}

function orderEvent(type: OrderEvent['type'], orderId: string, customerId: string, ms: number, lines: OrderLine[]): OrderEvent {
  return { type, orderId, customerId, occurredAt: new Date(ms).toISOString(), currency: CURRENCY, lines };
}
