import type { z } from 'zod';
import type { ApiService } from '../apiService.ts';

/**
 * One endpoint: where it lives, what it accepts (a query string or a JSON body, as a zod
 * schema), what it answers (a zod schema), and the service call in between. The handler
 * (api/http/apiHandler.ts) validates and dispatches; api/openapi.ts documents the same objects.
 */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  operationId: string;
  summary: string;
  description: string;
  /** Where the input comes from: the query string (GET) or a JSON object body (POST). */
  input: 'query' | 'body';
  schema: z.ZodType;
  response: z.ZodType;
  /** Error statuses this route can answer besides 400 and 500. */
  errors: readonly (404 | 422)[];
  /** An example request input, for the document and the tests. */
  example: Record<string, unknown>;
  handle(service: ApiService, input: unknown): Promise<unknown>;
}

export const API_PREFIX = '/demand-insights';

/** Ties the handler's input and output types to the schemas; the result is an untyped Route. */
export function defineRoute<S extends z.ZodType, R extends z.ZodType>(route: {
  method: Route['method'];
  path: string;
  operationId: string;
  summary: string;
  description: string;
  input: Route['input'];
  schema: S;
  response: R;
  errors: Route['errors'];
  example: z.input<S> & Record<string, unknown>;
  handle(service: ApiService, input: z.output<S>): Promise<z.output<R>>;
}): Route {
  return route as unknown as Route;
}
