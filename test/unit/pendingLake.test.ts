import { describe, expect, it } from 'vitest';
import { ApiService } from '../../api/apiService.ts';
import { createApiHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent } from '../../api/http/events.ts';
import { PendingLake } from '../../api/lake/pendingLake.ts';
import { streamStore } from '../../consumers/stateBootstrap.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { RecencyModel } from '../support/recencyModel.ts';

/*
 * The API while the local stack's lake is being built: every lake-backed endpoint says so with
 * 503, Retry-After and a plain reason; customer scores answer from the scorer's state alone.
 */
async function pendingApi() {
  const events = generateEvents({ customers: 60, days: 200, seed: 3, start: '2024-01-01' });
  // As the stream and the sweep leave it: scored, the silent customers flagged at risk.
  const store = await streamStore(events, new RecencyModel(), Number.POSITIVE_INFINITY);
  const service = new ApiService({ lake: new PendingLake('the lake is being built from the replay: available when the replay ends', 7), store, model: new RecencyModel() });
  return { handler: createApiHandler({ service: () => service }), service };
}

describe('the API over a lake being built', () => {
  it('answers every lake-backed endpoint with 503, Retry-After and the reason', async () => {
    const { handler } = await pendingApi();
    const calls = [
      { method: 'GET', url: '/demand-insights/segments?n_clusters=3' },
      { method: 'GET', url: '/demand-insights/segment-members?n_clusters=3' },
      { method: 'GET', url: '/demand-insights/products' },
      { method: 'GET', url: '/demand-insights/customer-orders?customer_id=U000001' },
      { method: 'POST', url: '/demand-insights/forecast', body: {} },
      { method: 'POST', url: '/demand-insights/price-elasticity', body: {} },
    ];
    for (const call of calls) {
      const response = await handler(httpApiEvent(call));
      expect(response.statusCode, call.url).toBe(503);
      expect(response.headers['retry-after'], call.url).toBe('7');
      const body = JSON.parse(response.body);
      expect(body.error).toMatchObject({ code: 'lake_unavailable', message: 'the lake is being built from the replay: available when the replay ends', details: { retry_after_seconds: 7 } });
    }
  });

  it('scores customers from the state store alone meanwhile', async () => {
    const { handler } = await pendingApi();
    const atRisk = await handler(httpApiEvent({ method: 'GET', url: '/demand-insights/at-risk-customers?limit=5' }));
    expect(atRisk.statusCode).toBe(200);
    const listing = JSON.parse(atRisk.body);
    expect(listing.customers.length).toBeGreaterThan(0);
    const clv = await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/clv', body: { customer_ids: [listing.customers[0].customer_id, 'nobody'] } }));
    expect(clv.statusCode).toBe(200);
    const rows = JSON.parse(clv.body).customers;
    expect(rows[0]).toMatchObject({ found: true, source: 'stream' });
    expect(rows[1]).toMatchObject({ found: false });
  });
});
