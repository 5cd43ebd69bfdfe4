import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiService } from '../../api/apiService.ts';
import { type ApiLogger, createApiHandler } from '../../api/http/apiHandler.ts';
import { corsHeaders, DEFAULT_CORS, parseAllowedOrigins } from '../../api/http/cors.ts';
import { httpApiEvent, parseQueryString, restApiEvent, toApiRequest } from '../../api/http/events.ts';
import { ErrorResponseSchema } from '../../api/schemas.ts';
import { ROUTES } from '../../api/routes/index.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createTestApi, type TestApi } from '../support/testApi.ts';

/*
 * The Lambda handler's edges: both API Gateway payload formats, routing, CORS, body parsing,
 * and errors that never leak internals.
 */

const events = generateEvents({ customers: 120, days: 300, seed: 9, start: '2024-03-01' });
let api: TestApi;

beforeAll(async () => {
  api = await createTestApi({ events, cors: { allowedOrigins: ['https://app.example.com'] } });
});

function recordingLogger(): ApiLogger & { errors: unknown[][] } {
  const errors: unknown[][] = [];
  return { errors, error: (...args: unknown[]) => errors.push(args), warn() {}, info() {}, debug() {} };
}

describe('API Gateway events', () => {
  it.each([
    ['GET', '/demand-insights/segments?n_clusters=3', undefined],
    ['POST', '/demand-insights/forecast', { forecast_days: 5 }],
    ['POST', '/demand-insights/churn', { limit: 3 }],
    ['GET', '/demand-insights/at-risk-customers?threshold=0.3&limit=4', undefined],
    ['GET', '/demand-insights/segments?n_clusters=99', undefined],
    ['POST', '/demand-insights/clv', { customer_ids: ['nobody'] }],
  ])('REST API (1.0) and HTTP API (2.0) events get the same answer: %s %s', async (method, url, body) => {
    const v2 = await api.call(method, url, body);
    const v1 = await api.callRest(method, url, body);
    expect(v1.status).toBe(v2.status);
    const withoutRequestId = ({ request_id: _id, ...rest }: Record<string, unknown>) => rest;
    expect(withoutRequestId(v1.body)).toEqual(withoutRequestId(v2.body));
  });

  it('normalises both formats to the same request', () => {
    const spec = { method: 'POST', url: '/demand-insights/clv?a=1&a=2&b=x%20y', headers: { Origin: 'https://x', 'Content-Type': 'application/json' }, body: { customer_ids: ['1'] } };
    const v1 = toApiRequest(restApiEvent(spec));
    const v2 = toApiRequest(httpApiEvent(spec));
    for (const request of [v1, v2]) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/demand-insights/clv');
      expect(request.query).toEqual({ a: ['1', '2'], b: 'x y' });
      expect(request.headers.origin).toBe('https://x');
      expect(JSON.parse(request.body!)).toEqual({ customer_ids: ['1'] });
    }
    expect([v1.version, v2.version]).toEqual(['1.0', '2.0']);
  });

  it('strips an HTTP API stage from rawPath, a trailing slash, and decodes base64 bodies', async () => {
    const staged = await api.handler(httpApiEvent({ method: 'GET', url: '/demand-insights/segments?n_clusters=2', stage: 'prod' }));
    expect(staged.statusCode).toBe(200);
    const slash = await api.call('GET', '/demand-insights/segments/?n_clusters=2');
    expect(slash.status).toBe(200);
    const event = httpApiEvent({ method: 'POST', url: '/demand-insights/forecast' });
    event.body = Buffer.from(JSON.stringify({ forecast_days: 3 })).toString('base64');
    event.isBase64Encoded = true;
    const decoded = await api.handler(event);
    expect(decoded.statusCode).toBe(200);
    expect(JSON.parse(decoded.body).points).toHaveLength(3);
  });

  it('keeps every value of a repeated parameter (so it can be refused)', () => {
    expect(parseQueryString('limit=1&limit=2&x=%27%3B--')).toEqual({ limit: ['1', '2'], x: "';--" });
  });

  it('answers 400 to an event that is not an API Gateway proxy event, without throwing', async () => {
    const logger = recordingLogger();
    const handler = createApiHandler({ service: () => api.service, logger });
    const response = await handler({ Records: [] } as never);
    expect(response.statusCode).toBe(400);
    expect(ErrorResponseSchema.parse(JSON.parse(response.body)).error.code).toBe('bad_event');
  });
});

describe('routing', () => {
  it('answers 404 for an unknown path and 405 (with Allow) for a wrong method', async () => {
    const unknown = await api.call('GET', '/demand-insights/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const wrong = await api.call('GET', '/demand-insights/clv');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST, OPTIONS');
    expect((await api.call('DELETE', '/demand-insights/segments')).status).toBe(405);
  });

  it('serves all seven routes of the old API at their old paths, then the dashboard\'s three', () => {
    expect(ROUTES.map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /demand-insights/segments',
      'POST /demand-insights/forecast',
      'POST /demand-insights/price-elasticity',
      'POST /demand-insights/price-optimization',
      'POST /demand-insights/clv',
      'POST /demand-insights/churn',
      'GET /demand-insights/at-risk-customers',
      'GET /demand-insights/segment-members',
      'GET /demand-insights/customer-orders',
      'GET /demand-insights/products',
    ]);
  });

  it('serves the OpenAPI document', async () => {
    const response = await api.call('GET', '/demand-insights/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(ROUTES.map((route) => route.path)));
  });
});

describe('request bodies', () => {
  it('takes no body as {} and refuses what is not a JSON object, white space alone included', async () => {
    expect((await api.call('POST', '/demand-insights/forecast')).status).toBe(200);
    for (const body of ['   ', '\n', '{', 'null', '[]', '"text"', '42', "{'a':1}"]) {
      const response = await api.call('POST', '/demand-insights/forecast', body);
      expect(response.status, body).toBe(400);
      expect(response.body.error.field).toBe('body');
    }
  });

  it('answers 413 to a body over the limit', async () => {
    const handler = createApiHandler({ service: () => api.service, maxBodyBytes: 1000 });
    const response = await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/clv', body: { customer_ids: Array.from({ length: 200 }, (_, i) => `customer-${i}`) } }));
    expect(response.statusCode).toBe(413);
  });

  it('treats __proto__ and constructor keys as the unknown fields they are', async () => {
    const response = await api.call('POST', '/demand-insights/forecast', '{"__proto__": {"forecast_days": 1}}');
    expect(response.status).toBe(400);
    expect(response.body.error.field).toBe('__proto__');
    expect(({} as Record<string, unknown>).forecast_days).toBeUndefined();
  });
});

describe('CORS', () => {
  it('echoes an allowed origin with Vary, and gives others nothing', async () => {
    const allowed = await api.call('POST', '/demand-insights/forecast', {}, { Origin: 'https://app.example.com' });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers.vary).toBe('Origin');
    const other = await api.call('POST', '/demand-insights/forecast', {}, { Origin: 'https://evil.example.com' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // Errors carry the CORS headers too, so a browser can read the 400.
    const bad = await api.call('POST', '/demand-insights/forecast', { forecast_days: 0 }, { Origin: 'https://app.example.com' });
    expect(bad.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('answers preflights with the route\'s methods', async () => {
    const preflight = await api.call('OPTIONS', '/demand-insights/clv', undefined, { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toBe('POST, OPTIONS');
    expect(preflight.headers['access-control-allow-headers']).toContain('content-type');
    expect(preflight.headers['access-control-max-age']).toBe('600');
    const refused = await api.call('OPTIONS', '/demand-insights/clv', undefined, { Origin: 'https://evil.example.com' });
    expect(refused.status).toBe(204);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect((await api.call('OPTIONS', '/demand-insights/nope')).status).toBe(404);
  });

  it('parses CORS_ALLOWED_ORIGINS: *, a list, or nothing', () => {
    expect(parseAllowedOrigins('*')).toBe('*');
    expect(parseAllowedOrigins(' https://a.example , http://localhost:3000 ')).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(parseAllowedOrigins('')).toEqual([]);
    expect(parseAllowedOrigins(undefined)).toEqual([]);
    expect(() => parseAllowedOrigins('https://a.example/path')).toThrow(/not an origin/);
    expect(corsHeaders({ ...DEFAULT_CORS, allowedOrigins: '*' }, undefined)['access-control-allow-origin']).toBe('*');
  });
});

describe('errors', () => {
  it('answers 500 with only a code, a generic message and the request id; the cause goes to the log', async () => {
    const logger = recordingLogger();
    const service = Object.create(api.service) as ApiService;
    service.forecast = async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
    };
    const handler = createApiHandler({ service: () => service, logger });
    const response = await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/forecast', body: {}, requestId: 'abc-123' }));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: { code: 'internal', message: 'internal error' }, request_id: 'abc-123' });
    expect(response.body).not.toMatch(/hunter2|ECONNREFUSED|stack|Error/);
    expect(response.headers['x-request-id']).toBe('abc-123');
    expect(JSON.stringify(logger.errors)).toMatch(/hunter2/);
  });

  it('answers 500 when the service cannot be built, and tries again next time', async () => {
    const build = vi.fn<() => Promise<ApiService>>().mockRejectedValueOnce(new Error('no credentials')).mockResolvedValue(api.service);
    const handler = createApiHandler({ service: build });
    expect((await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/forecast', body: {} }))).statusCode).toBe(500);
    expect((await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/forecast', body: {} }))).statusCode).toBe(200);
  });

  it('validates before building the service: a bad request costs no cold start', async () => {
    const build = vi.fn(() => api.service);
    const handler = createApiHandler({ service: build });
    expect((await handler(httpApiEvent({ method: 'GET', url: '/demand-insights/segments?n_clusters=0' }))).statusCode).toBe(400);
    expect(build).not.toHaveBeenCalled();
  });

  it('sets JSON, nosniff and no-store on every answer', async () => {
    const response = await api.call('GET', '/demand-insights/segments?n_clusters=2');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-store');
  });
});
