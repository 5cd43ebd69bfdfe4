import { describe, expect, it } from 'vitest';
import { OrderEventSchema, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { createDistributionSampler } from '../../producers/distributionSampler.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

const OPTIONS = { customers: 2000, days: 540, seed: 42, start: '2024-01-01' };
const events = generateEvents(OPTIONS);
const orders = events.filter((event) => event.type === 'order');

const weekday = (event: OrderEvent) => (new Date(event.occurredAt).getUTCDay() + 6) % 7; // Monday = 0

describe('random', () => {
  it('repeats the same stream for the same seed and differs across seeds', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, createDistributionSampler(seed).next);
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('samples gamma, beta and poisson with the right means', () => {
    const random = createDistributionSampler(1);
    const mean = (sample: () => number) => {
      let sum = 0;
      for (let i = 0; i < 20_000; i++) sum += sample();
      return sum / 20_000;
    };
    expect(mean(() => random.gamma(0.5, 2))).toBeCloseTo(1, 1);
    expect(mean(() => random.gamma(3, 0.5))).toBeCloseTo(1.5, 1);
    expect(mean(() => random.beta(2, 6))).toBeCloseTo(0.25, 2);
    expect(mean(() => random.poisson(3))).toBeCloseTo(3, 1);
    expect(mean(() => random.poisson(80))).toBeCloseTo(80, 0);
    expect(mean(random.next)).toBeCloseTo(0.5, 2);
  });
});

describe('generateEvents', () => {
  it('is deterministic: the same options give byte-identical output, another seed does not', () => {
    expect(JSON.stringify(generateEvents(OPTIONS))).toBe(JSON.stringify(events));
    expect(JSON.stringify(generateEvents({ ...OPTIONS, seed: 43 }))).not.toBe(JSON.stringify(events));
  });

  it('emits schema-valid events, sorted by time, inside the period', () => {
    expect(events.length).toBeGreaterThan(5_000);
    for (const event of events) expect(OrderEventSchema.safeParse(event).success).toBe(true);
    const times = events.map((event) => Date.parse(event.occurredAt));
    expect(times.every((time, at) => at === 0 || times[at - 1] <= time)).toBe(true);
    expect(times[0]).toBeGreaterThanOrEqual(Date.parse('2024-01-01T00:00:00Z'));
    expect(times.at(-1)).toBeLessThan(Date.parse('2024-01-01T00:00:00Z') + 540 * 86_400_000);
    expect(new Set(events.map((event) => event.orderId)).size).toBe(events.length);
  });

  it('has heterogeneous customers: overdispersed order counts, arrivals over the first part of the period', () => {
    const perCustomer = new Map<string, number>();
    const firstSeen = new Map<string, number>();
    for (const order of orders) {
      perCustomer.set(order.customerId, (perCustomer.get(order.customerId) ?? 0) + 1);
      if (!firstSeen.has(order.customerId)) firstSeen.set(order.customerId, Date.parse(order.occurredAt));
    }
    expect(perCustomer.size).toBe(2000);
    const counts = [...perCustomer.values()];
    const mean = counts.reduce((sum, count) => sum + count, 0) / counts.length;
    const variance = counts.reduce((sum, count) => sum + (count - mean) ** 2, 0) / counts.length;
    // A Poisson population would have variance ≈ mean; gamma-mixed rates and drop-out spread it far wider.
    expect(variance / mean).toBeGreaterThan(3);
    expect(counts.filter((count) => count === 1).length).toBeGreaterThan(200);
    expect(Math.max(...counts)).toBeGreaterThan(20);
    const arrivalEnd = Date.parse('2024-01-01T00:00:00Z') + 0.4 * 540 * 86_400_000;
    expect([...firstSeen.values()].every((time) => time < arrivalEnd)).toBe(true);
  });

  it('shows weekly seasonality: quiet weekends', () => {
    const byWeekday = [0, 0, 0, 0, 0, 0, 0];
    for (const order of orders) byWeekday[weekday(order)]++;
    expect(byWeekday[5] / byWeekday[0]).toBeLessThan(0.7);
    expect(byWeekday[6] / byWeekday[0]).toBeLessThan(0.8);
  });

  it('puts products in categories with drifting prices and promotions', () => {
    const prices = new Map<string, Set<number>>();
    const categories = new Map<string, Set<string>>();
    for (const order of orders) {
      for (const line of order.lines) {
        prices.set(line.productId, (prices.get(line.productId) ?? new Set()).add(line.unitPrice));
        categories.set(line.productId, (categories.get(line.productId) ?? new Set()).add(line.categoryId!));
      }
    }
    expect(prices.size).toBeGreaterThan(150);
    expect([...categories.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set([...categories.values()].flatMap((set) => [...set])).size).toBe(12);
    const busiest = [...prices.values()].sort((a, b) => b.size - a.size)[0];
    expect(busiest.size).toBeGreaterThan(20);
    // A promotion cuts the price by 10-35%: the cheapest price sits well below the typical one.
    const sorted = [...busiest].sort((a, b) => a - b);
    expect(sorted[0] / sorted[Math.floor(sorted.length / 2)]).toBeLessThan(0.9);
  });

  it('includes partial returns of earlier orders by the same customer', () => {
    const returns = events.filter((event) => event.type === 'return');
    expect(returns.length / orders.length).toBeGreaterThan(0.03);
    const byId = new Map(orders.map((order) => [order.orderId, order]));
    for (const refund of returns) {
      const original = byId.get(refund.orderId.replace(/-R$/, ''));
      expect(original).toBeDefined();
      expect(refund.customerId).toBe(original!.customerId);
      expect(Date.parse(refund.occurredAt)).toBeGreaterThan(Date.parse(original!.occurredAt));
      for (const line of refund.lines) {
        const bought = original!.lines.find((candidate) => candidate.productId === line.productId);
        expect(bought).toBeDefined();
        expect(line.quantity).toBeLessThanOrEqual(bought!.quantity);
        expect(line.unitPrice).toBe(bought!.unitPrice);
      }
    }
  });

  it('rejects bad options with a message naming the field', () => {
    expect(() => generateEvents({ ...OPTIONS, start: '2024-02-30' })).toThrow(/start/);
    expect(() => generateEvents({ ...OPTIONS, customers: 0 })).toThrow(/customers/);
    expect(() => generateEvents({ ...OPTIONS, days: 1.5 })).toThrow(/days/);
  });
});
