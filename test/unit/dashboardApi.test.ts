import { beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createTestApi } from '../support/testApi.ts';

/*
 * The three endpoints the dashboard adds, and forecast's history_days, over the in-memory lake:
 * their numbers against what the events say, their refusals of bad input.
 */

const events = generateEvents({ customers: 300, days: 300, seed: 5, start: '2024-01-01' });
let api: Awaited<ReturnType<typeof createTestApi>>;

const get = (path: string, query: Record<string, string>) => api.call('GET', `${path}?${new URLSearchParams(query)}`);

beforeAll(async () => {
  api = await createTestApi({ events, streamDays: 30 });
});

describe('GET segment-members', () => {
  it('gives every customer its segment, RFM and CLV, and segment means equal to the members\' means', async () => {
    const response = await get('/demand-insights/segment-members', { n_clusters: '4', limit: '5000' });
    expect(response.status).toBe(200);
    const body = response.body;
    expect(body.sampled).toBe(false);
    expect(body.members).toHaveLength(body.customers);
    const segments = await get('/demand-insights/segments', { n_clusters: '4' });
    expect(body.segments.map((s: any) => [s.segment, s.name, s.size])).toEqual(segments.body.segments.map((s: any) => [s.segment, s.name, s.size]));
    // CLVs are the live store's, read by id for the listed members; a member the stream has not seen has none.
    const clvs = await api.call('POST', '/demand-insights/clv', { customer_ids: body.members.slice(0, 1000).map((m: any) => m.customer_id) });
    const clvOf = new Map(clvs.body.customers.filter((row: any) => row.source === 'stream').map((row: any) => [row.customer_id, row.clv]));
    expect(clvOf.size).toBeGreaterThan(0);
    for (const segment of body.segments) {
      const mine = body.members.filter((m: any) => m.segment === segment.segment);
      expect(mine).toHaveLength(segment.size);
      expect(segment.means.monetary).toBeCloseTo(mine.reduce((sum: number, m: any) => sum + m.monetary, 0) / mine.length, 6);
      const scored = mine.filter((m: any) => m.clv !== null);
      if (scored.length === 0) expect(segment.means.clv).toBeNull();
      else expect(segment.means.clv).toBeCloseTo(scored.reduce((sum: number, m: any) => sum + m.clv, 0) / scored.length, 6);
    }
    for (const member of body.members.slice(0, 1000)) expect(member.clv).toBe(clvOf.get(member.customer_id) ?? null);
  });

  it('samples evenly and the same way every time when asked for fewer', async () => {
    const first = await get('/demand-insights/segment-members', { n_clusters: '4', limit: '50' });
    const again = await get('/demand-insights/segment-members', { n_clusters: '4', limit: '50' });
    expect(first.body.sampled).toBe(true);
    expect(first.body.members).toHaveLength(50);
    expect(again.body.members).toEqual(first.body.members);
  });

  it('refuses a limit out of range and unknown fields', async () => {
    expect((await get('/demand-insights/segment-members', { limit: '0' })).status).toBe(400);
    expect((await get('/demand-insights/segment-members', { limit: '20001' })).status).toBe(400);
    const unknown = await get('/demand-insights/segment-members', { n_clusters: '4', colour: 'red' });
    expect(unknown.status).toBe(400);
  });
});

describe('GET customer-orders', () => {
  it('lists a customer\'s orders and returns oldest first, with the events\' values', async () => {
    const id = events[0].customerId;
    const response = await get('/demand-insights/customer-orders', { customer_id: id });
    expect(response.status).toBe(200);
    const mine = events.filter((event) => event.customerId === id);
    const expected = mine
      .map((event) => ({
        order_id: event.orderId,
        type: event.type,
        occurred_at: new Date(event.occurredAt).toISOString(),
        value: event.lines.reduce((sum, line) => sum + Math.round(line.quantity * line.unitPrice * 100), 0) / 100,
        units: event.lines.reduce((sum, line) => sum + line.quantity, 0),
      }))
      .sort((a, b) => a.occurred_at.localeCompare(b.occurred_at) || (a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : 0));
    expect(response.body.orders).toEqual(expected);
  });

  it('answers 404 for an unknown customer, 400 without an id or with a control character', async () => {
    expect((await get('/demand-insights/customer-orders', { customer_id: "'; DROP TABLE orders --" })).status).toBe(404);
    expect((await get('/demand-insights/customer-orders', {})).status).toBe(400);
    expect((await get('/demand-insights/customer-orders', { customer_id: 'a\u0001b' })).status).toBe(400);
  });
});

describe('GET products', () => {
  it('ranks products by units with mean price and weekly units from the events, and lists every category', async () => {
    const response = await get('/demand-insights/products', { limit: '5' });
    expect(response.status).toBe(200);
    const sums = new Map<string, { units: number; cents: number }>();
    for (const event of events) {
      if (event.type !== 'order') continue;
      for (const line of event.lines) {
        if (line.unitPrice <= 0) continue;
        const row = sums.get(line.productId) ?? { units: 0, cents: 0 };
        row.units += line.quantity;
        row.cents += Math.round(line.quantity * line.unitPrice * 100);
        sums.set(line.productId, row);
      }
    }
    const ranked = [...sums.entries()].sort((a, b) => b[1].units - a[1].units || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
    expect(response.body.total).toBe(sums.size);
    expect(response.body.products.map((p: any) => [p.product_id, p.units])).toEqual(ranked.map(([id, row]) => [id, row.units]));
    for (const product of response.body.products) expect(product.mean_price).toBeCloseTo(sums.get(product.product_id)!.cents / 100 / product.units, 9);
    const categories = new Set(events.flatMap((event) => event.lines.map((line) => line.categoryId)).filter(Boolean));
    expect(response.body.categories.map((c: any) => c.category_id).sort()).toEqual([...categories].sort());
  });

  it('refuses a limit out of range', async () => {
    expect((await get('/demand-insights/products', { limit: '1001' })).status).toBe(400);
  });
});

describe('POST forecast with history_days', () => {
  it('adds the last days of the fitted daily series, and nothing without it', async () => {
    const plain = await api.call('POST', '/demand-insights/forecast', { forecast_days: 7 });
    expect(plain.body.history).toBeUndefined();
    const response = await api.call('POST', '/demand-insights/forecast', { forecast_days: 7, history_days: 14 });
    expect(response.body.history).toHaveLength(14);
    expect(response.body.history[13].date).toBe(response.body.history_end);
    const day = response.body.history[13].date;
    const units = events
      .filter((event) => event.type === 'order' && event.occurredAt.startsWith(day))
      .reduce((sum, event) => sum + event.lines.reduce((s, line) => s + line.quantity, 0), 0);
    expect(response.body.history[13].units).toBe(units);
    expect((await api.call('POST', '/demand-insights/forecast', { history_days: -1 })).status).toBe(400);
  });
});
