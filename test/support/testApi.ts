import type { ApiServiceConfig } from '../../api/apiConfig.ts';
import { ApiService } from '../../api/apiService.ts';
import { streamStore } from '../../consumers/stateBootstrap.ts';
import { type ApiLogger, createApiHandler } from '../../api/http/apiHandler.ts';
import type { CorsConfig } from '../../api/http/cors.ts';
import { httpApiEvent, restApiEvent } from '../../api/http/events.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { BtydModel } from '../../models/clv/btydModel.ts';
import { trainBtyd } from '../../models/clv/btydTraining.ts';
import { dayIndex, isoDay } from '../../models/time/calendar.ts';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { MemoryLakeQueries } from './memoryLakeQueries.ts';

/*
 * A whole API (the production service and handler) over the in-memory lake of
 * memoryLakeQueries.ts, for the API tests.
 */

export interface TestApiOptions {
  events: readonly OrderEvent[];
  /** Customers with an event in this many last days are in the state store ("stream"); 0: none. */
  streamDays?: number;
  config?: Partial<ApiServiceConfig>;
  model?: CustomerModel;
  /** The service's wall clock. */
  now?: () => number;
  cors?: Partial<CorsConfig>;
  logger?: ApiLogger;
  /** Offer the optional order-totals query (default true; false: states from order lines). */
  orderTotals?: boolean;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string>;
  body: any;
  raw: string;
}

export async function createTestApi(options: TestApiOptions) {
  const events = options.events;
  const lake = new MemoryLakeQueries(events, { orderTotals: options.orderTotals ?? true });
  let lastMs = -Infinity;
  for (const event of events) lastMs = Math.max(lastMs, Date.parse(event.occurredAt));
  const model = options.model ?? BtydModel.load(trainBtyd(events, { calibrationEnd: isoDay(dayIndex(lastMs)), horizonDays: 90 }));
  const streamDays = options.streamDays ?? 30;
  // The customers of the last `streamDays` days as the stream left them; 0: an empty store.
  const store = streamDays > 0 ? await streamStore(events, model, streamDays) : new MemoryStateStore();
  const service = new ApiService({ lake, store, model, config: options.config, now: options.now });
  const handler = createApiHandler({ service: () => service, cors: options.cors, logger: options.logger });
  const respond = (raw: Awaited<ReturnType<typeof handler>>): TestResponse => ({
    status: raw.statusCode,
    headers: raw.headers,
    body: raw.body ? JSON.parse(raw.body) : undefined,
    raw: raw.body,
  });
  return {
    events,
    lake,
    model,
    store,
    service,
    handler,
    lastMs,
    /** One request as an HTTP API (2.0) event. */
    call: async (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
      respond(await handler(httpApiEvent({ method, url, body, headers }))),
    /** The same request as a REST API (1.0) event. */
    callRest: async (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
      respond(await handler(restApiEvent({ method, url, body, headers }))),
  };
}

export type TestApi = Awaited<ReturnType<typeof createTestApi>>;
