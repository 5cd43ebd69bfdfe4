import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { statesFromLines, statesFromOrderTotals } from '../../api/lake/lakeStates.ts';
import { zeroFilled } from '../../api/services/demand.ts';
import { weeklyTables } from '../../api/services/pricing.ts';
import { readApiEnv } from '../../api/lambda.ts';
import { statesUpTo } from '../../models/clv/btydTraining.ts';
import { parseIsoDay, weekIndex } from '../../models/time/calendar.ts';
import type { CustomerState } from '../../models/customer/customerState.ts';
import { weeklyProductTables } from '../../models/demand/demandSeries.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { MemoryLakeQueries } from '../support/memoryLakeQueries.ts';
import { order, shuffled } from '../support/orderEvents.ts';

/*
 * The service's pure helpers and its cache, and the Lambda's configuration.
 */

describe('lake rows to model inputs', () => {
  const events = generateEvents({ customers: 80, days: 200, seed: 4, start: '2024-01-01' });
  const lake = new MemoryLakeQueries(events);

  it('zero-fills daily units over the whole range', () => {
    const series = zeroFilled([{ date: '2024-01-03', units: 4 }, { date: '2024-01-01', units: 2 }, { date: '2023-12-31', units: 9 }], parseIsoDay('2024-01-01'), parseIsoDay('2024-01-04'));
    expect(Array.from(series.units)).toEqual([2, 0, 4, 0]);
  });

  it('builds the same weekly tables as the models\' own builder', async () => {
    const fromLake = weeklyTables(await lake.weeklyProductSales({}));
    const orders = events.filter((event) => event.type === 'order');
    const direct = weeklyProductTables(
      orders.flatMap((event) => event.lines.map((line) => ({ day: Math.floor(Date.parse(event.occurredAt) / 86_400_000), productId: line.productId, quantity: line.quantity, price: line.unitPrice }))),
    );
    expect([...fromLake.keys()].sort()).toEqual([...direct.keys()].sort());
    for (const [id, table] of fromLake) {
      const expected = direct.get(id)!;
      expect(Array.from(table.weeks)).toEqual(Array.from(expected.weeks));
      expect(Array.from(table.units)).toEqual(Array.from(expected.units));
      table.revenue.forEach((revenue, i) => expect(revenue).toBeCloseTo(expected.revenue[i], 6));
    }
    expect(weekIndex(parseIsoDay('2024-01-01'))).toBe(weekIndex(parseIsoDay('2024-01-07')));
  });

  it('rebuilds exactly the stream\'s customer states from lake lines, in any line order', async () => {
    const { states } = statesUpTo(events, Number.MAX_SAFE_INTEGER);
    const lines = await lake.customerOrderLines();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        const rebuilt = statesFromLines(shuffled(lines, seed));
        expect(rebuilt.size).toBe(states.size);
        for (const [id, state] of states) {
          const other = rebuilt.get(id)!;
          const strip = (s: typeof state) => ({ ...s });
          expect(strip(other)).toEqual(strip(state));
        }
      }),
      { numRuns: 5 },
    );
  });
});

describe('states from order totals', () => {
  it('equal the states from order lines (the optional order-level lake query)', async () => {
    const events = generateEvents({ customers: 120, days: 300, seed: 8, start: '2024-01-01' });
    const lake = new MemoryLakeQueries(events, { orderTotals: true });
    const fromLines = statesFromLines(await lake.customerOrderLines());
    const fromTotals = statesFromOrderTotals(await lake.customerOrderTotals());
    expect(fromTotals).toEqual(fromLines);
  });

  it('carry each event\'s country, so lake states follow the stream\'s country rule, from lines in any order and from totals', async () => {
    // Countries by customer, moves, events without one, and two orders of one customer at the same instant.
    const events = generateEvents({ customers: 60, days: 300, seed: 9, start: '2024-01-01' }).map((event, index) => {
      const n = Number(event.customerId.slice(1));
      if (n % 4 === 0 || index % 9 === 0) return event;
      return { ...event, country: n % 3 === 0 && event.occurredAt >= '2024-06-01' ? 'EIRE' : ['France', 'Germany', 'United Kingdom'][n % 3] };
    });
    events.push(
      { ...order('tie', 't1', '2024-03-01T10:00:00Z'), country: 'Belgium' },
      { ...order('tie', 't2', '2024-03-01T10:00:00Z'), country: 'Austria' },
    );
    const { states } = statesUpTo(events, Number.MAX_SAFE_INTEGER);
    expect(states.get('tie')!.country).toBe('Belgium');
    expect(new Set([...states.values()].map((state) => state.country))).toEqual(new Set(['France', 'Germany', 'United Kingdom', 'EIRE', 'Belgium', null]));
    const lake = new MemoryLakeQueries(events, { orderTotals: true });
    const [lines, totals] = await Promise.all([lake.customerOrderLines(), lake.customerOrderTotals()]);
    const strip = (all: Map<string, CustomerState>) =>
      new Map([...all].map(([id, s]) => [id, { ...s }]));
    expect(strip(statesFromOrderTotals(totals))).toEqual(strip(states));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        expect(strip(statesFromLines(shuffled(lines, seed)))).toEqual(strip(states));
        expect(strip(statesFromOrderTotals(shuffled(totals, seed)))).toEqual(strip(states));
      }),
      { numRuns: 5 },
    );
  });

  it('give back every order\'s cents exactly, whatever its prices and quantities', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ quantity: fc.double({ min: 0.001, max: 5000, noNaN: true }), unitPrice: fc.double({ min: 0, max: 20_000, noNaN: true }) }), { minLength: 1, maxLength: 30 }),
        async (lines) => {
          const event = { ...order('c', 'o1', '2024-03-01T10:00:00Z'), lines: lines.map((line, i) => ({ productId: `p${i}`, ...line })) };
          const lake = new MemoryLakeQueries([event], { orderTotals: true });
          const [orderLines, totals] = await Promise.all([lake.customerOrderLines(), lake.customerOrderTotals()]);
          expect(statesFromOrderTotals(totals)).toEqual(statesFromLines(orderLines));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('API Lambda configuration', () => {
  const base = { ATHENA_DATABASE: 'lake', ATHENA_WORKGROUP: 'wg', STATE_TABLE: 'customers' };

  it('needs the Athena database and workgroup, and defaults the rest', () => {
    expect(readApiEnv(base)).toMatchObject({ MODEL_PATH: './model.json', CORS_ALLOWED_ORIGINS: '', LOG_LEVEL: 'INFO', SCORE_CLOCK: 'wall' });
    expect(() => readApiEnv({})).toThrow(/ATHENA_DATABASE.*ATHENA_WORKGROUP/);
    // Without a state table (the old module's callers) every customer is scored from the lake.
    expect(readApiEnv({ ATHENA_DATABASE: 'lake', ATHENA_WORKGROUP: 'wg' }).STATE_TABLE).toBeUndefined();
    expect(() => readApiEnv({ ...base, STATE_TABLE: '' })).toThrow(/STATE_TABLE/);
  });

  it('refuses a bad output location, log level or CORS origin list', () => {
    expect(() => readApiEnv({ ...base, ATHENA_OUTPUT_LOCATION: 'bucket/x' })).toThrow(/ATHENA_OUTPUT_LOCATION/);
    expect(() => readApiEnv({ ...base, LOG_LEVEL: 'LOUD' })).toThrow(/LOG_LEVEL/);
    expect(() => readApiEnv({ ...base, CORS_ALLOWED_ORIGINS: 'example.com' })).toThrow(/CORS_ALLOWED_ORIGINS/);
  });

  it('answers 500 (without throwing) when misconfigured', async () => {
    const saved = { ...process.env };
    const { handler } = await import('../../api/lambda.ts');
    // The logged reason goes to stdout (Powertools); keep the test output clean.
    const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    for (const key of Object.keys(base)) delete process.env[key];
    try {
      const response = await handler({ version: '2.0', rawPath: '/demand-insights/segments', rawQueryString: '', headers: {}, requestContext: { http: { method: 'GET' } } } as never);
      expect(response.statusCode).toBe(500);
      expect(JSON.parse(response.body).error).toEqual({ code: 'internal', message: 'internal error' });
    } finally {
      quiet.mockRestore();
      process.env = saved;
    }
  });
});
