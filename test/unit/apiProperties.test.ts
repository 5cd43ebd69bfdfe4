import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../api/pagination.ts';
import { weeklyTables } from '../../api/services/pricing.ts';
import { ROUTES, type Route } from '../../api/routes/index.ts';
import {
  AtRiskQuerySchema,
  CustomersBodySchema,
  ErrorResponseSchema,
  ForecastBodySchema,
  IdSchema,
  SegmentsQuerySchema,
} from '../../api/schemas.ts';
import { eligibility } from '../../models/demand/elasticity.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createTestApi, type TestApi } from '../support/testApi.ts';

/*
 * Properties over the request schemas and the whole handler: whatever JSON a caller sends, in
 * any field, the answer is 200, 400, 404 or 422 (never 500), a 200 matches the route's response
 * schema and anything else the error schema, with the field named on a 400. Injection strings
 * (quotes, semicolons, comments, unicode) in every parameter get a 400 or a correct 404 / empty
 * answer. The same strings go through DuckDB in test/e2e/apiDuckdb.test.ts.
 */

export const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE orders; --",
  '" OR ""="',
  '1; SELECT * FROM products',
  '/* comment */ 1',
  '-- ',
  "Robert'); DROP TABLE Students;--",
  '%27%20OR%201%3D1',
  "\\'",
  '?',
  '$1',
  '{{orders}}',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  'Ωmega ünïcödé ß 中文',
  '🙂👍🏽',
  '\u202eevil',
  '\ud800',
  'a\u0000b',
  ' ',
  'x'.repeat(128),
  'x'.repeat(129),
];

const events = generateEvents({ customers: 150, days: 380, seed: 13, start: '2024-01-01' });
let api: TestApi;
let product: string;
let customers: string[];

beforeAll(async () => {
  api = await createTestApi({ events });
  product = [...weeklyTables(await api.lake.weeklyProductSales({})).values()].find((table) => eligibility(table).eligible)!.productId;
  customers = [...new Set(events.map((event) => event.customerId))].slice(0, 5);
});

const ALLOWED = new Set([200, 400, 404, 422]);

async function expectWellFormed(route: Route, response: { status: number; body: any; raw: string }) {
  expect(ALLOWED.has(response.status), `${route.method} ${route.path} → ${response.status} ${response.raw.slice(0, 300)}`).toBe(true);
  if (response.status === 200) {
    const parsed = route.response.safeParse(response.body);
    expect(parsed.success, JSON.stringify(parsed.error?.issues?.slice(0, 2))).toBe(true);
  } else {
    const error = ErrorResponseSchema.parse(response.body);
    if (response.status === 400) expect(error.error.field).toBeTruthy();
  }
}

function fieldsOf(route: Route): string[] {
  const def = (route.schema as any).def;
  return Object.keys(def.shape ?? def.in?.def?.shape ?? {});
}

const anyValue = () =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(...INJECTIONS),
    fc.integer({ min: -5, max: 400 }),
    fc.double({ noNaN: true }),
    fc.constantFrom(0, 1, 2, 5, 12, 30, 365, 0.5, 1e308, -0),
    fc.constant(product),
    fc.constant(customers[0]),
    fc.array(fc.oneof(fc.constantFrom(...customers), fc.constantFrom(...INJECTIONS), fc.string(), fc.integer()), { maxLength: 6 }),
    fc.tuple(fc.double({ min: -1, max: 5, noNaN: true }), fc.double({ min: -1, max: 5, noNaN: true })),
  );

describe('any JSON body, on every POST route', () => {
  const posts = ROUTES.filter((route) => route.method === 'POST');

  it.each(posts.map((route) => [route.path, route] as const))('%s answers 200/400/404/422, never 500', async (_, route) => {
    const fields = [...fieldsOf(route), 'unexpected'];
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...fields), anyValue(), { maxKeys: 5 }), async (body) => {
        await expectWellFormed(route, await api.call('POST', route.path, body));
      }),
      { numRuns: 150 },
    );
  });

  it.each(posts.map((route) => [route.path, route] as const))('%s answers any body text without a 500', async (_, route) => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), async (text) => {
        await expectWellFormed(route, await api.call('POST', route.path, text));
      }),
      { numRuns: 60 },
    );
  });
});

describe('any query string, on every GET route', () => {
  const gets = ROUTES.filter((route) => route.method === 'GET');

  it.each(gets.map((route) => [route.path, route] as const))('%s answers 200/400, never 500', async (_, route) => {
    const fields = [...fieldsOf(route), 'other'];
    const value = fc.oneof(fc.string(), fc.constantFrom(...INJECTIONS), fc.integer({ min: -3, max: 2000 }).map(String), fc.double().map(String), fc.constantFrom('0', '1', '0.6', '5', '12', '1e3', ' 7', '7 ', '0x10', 'NaN', 'Infinity'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...fields), value), { maxLength: 4 }), async (pairs) => {
        const query = new URLSearchParams(pairs).toString();
        await expectWellFormed(route, await api.call('GET', `${route.path}?${query}`));
      }),
      { numRuns: 150 },
    );
  });
});

describe('injection strings in every parameter', () => {
  it.each(INJECTIONS.map((text) => [JSON.stringify(text).slice(0, 40), text]))('%s: 400, or a 404 / empty answer', async (_, text) => {
    const check = async (method: string, url: string, body: unknown, allowed: number[]) => {
      const response = await api.call(method, url, body);
      expect(allowed, `${url} ${JSON.stringify(body)} → ${response.status} ${response.raw.slice(0, 200)}`).toContain(response.status);
      return response;
    };
    for (const field of ['product_id', 'category_id']) await check('POST', '/demand-insights/forecast', { [field]: text }, [400, 404]);
    for (const field of ['product_id', 'category']) await check('POST', '/demand-insights/price-elasticity', { [field]: text }, [400, 404]);
    await check('POST', '/demand-insights/price-optimization', { product_id: text, current_price: 1, current_quantity: 1, cost_per_unit: 0 }, [400, 404]);
    for (const path of ['/demand-insights/clv', '/demand-insights/churn']) {
      await check('POST', path, { customer_ids: [text] }, [400, 404]);
      const mixed = await check('POST', path, { customer_ids: [customers[0], text] }, [200, 400]);
      if (mixed.status === 200) expect(mixed.body.customers.map((row: { found: boolean }) => row.found)).toEqual([true, false]);
      // A cursor is base64url text (anything else is a 400); any such text is a place in id order.
      const paged = await check('POST', path, { cursor: text }, [200, 400]);
      expect(paged.status === 200).toBe(/^[A-Za-z0-9_-]{1,400}$/.test(text));
      // As a field name, too.
      await check('POST', path, { [text]: 1 }, [400]);
    }
    for (const [path, field] of [['/demand-insights/segments', 'n_clusters'], ['/demand-insights/at-risk-customers', 'threshold'], ['/demand-insights/at-risk-customers', 'limit']]) {
      const response = await check('GET', `${path}?${new URLSearchParams({ [field]: text })}`, undefined, [400]);
      expect(response.body.error.field).toBe(field);
    }
  });
});

describe('request schemas', () => {
  it('accept every valid value and give it back typed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 1000 }), (k, threshold, limit) => {
        expect(SegmentsQuerySchema.parse({ n_clusters: String(k) })).toEqual({ n_clusters: k });
        expect(AtRiskQuerySchema.parse({ threshold: String(threshold), limit: String(limit) })).toEqual({ threshold, limit });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 365 }), fc.string({ minLength: 1, maxLength: 128 }).filter((s) => !/[\u0000-\u001f\u007f\ud800-\udfff]/.test(s)), (days, id) => {
        expect(ForecastBodySchema.parse({ product_id: id, forecast_days: days })).toEqual({ product_id: id, forecast_days: days });
      }),
    );
  });

  it('reject every out-of-range number', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 1 }), fc.integer({ min: 13 }), fc.double({ min: 2.01, max: 11.99 }).filter((x) => !Number.isInteger(x))), (k) => {
        expect(SegmentsQuerySchema.safeParse({ n_clusters: String(k) }).success).toBe(false);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 366 })), (days) => {
        expect(ForecastBodySchema.safeParse({ forecast_days: days }).success).toBe(false);
      }),
    );
  });

  it('take integers as ids (their decimal text) and nothing else but text', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(IdSchema.parse(n)).toBe(String(n));
      }),
    );
    for (const value of [1.5, Number.MAX_SAFE_INTEGER * 4, null, true, {}, [], '']) expect(IdSchema.safeParse(value).success).toBe(false);
  });

  it('keep customer lists within 1..1000 distinct-or-not ids', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/[\u0000-\u001f\u007f\ud800-\udfff]/.test(s)), { minLength: 1, maxLength: 1000 }), (ids) => {
        expect(CustomersBodySchema.parse({ customer_ids: ids }).customer_ids).toEqual(ids);
      }),
      { numRuns: 30 },
    );
  });

  it('cursors round-trip every id, and every base64url text is one', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }).filter((s) => !/[\u0000-\u001f\u007f\ud800-\udfff]/.test(s)), (id) => {
        expect(decodeCursor(encodeCursor(id))).toBe(id);
        expect(CustomersBodySchema.safeParse({ cursor: encodeCursor(id) }).success).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,400}$/), (cursor) => {
        expect(CustomersBodySchema.safeParse({ cursor }).success).toBe(true);
        expect(typeof decodeCursor(cursor)).toBe('string');
      }),
    );
    for (const cursor of ['', '!!!', 'Zm9v=', 'a'.repeat(401)]) expect(CustomersBodySchema.safeParse({ cursor }).success).toBe(false);
  });
});
