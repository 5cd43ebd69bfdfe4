import type { Context } from 'aws-lambda';
import type { ApiService } from '../apiService.ts';
import { buildOpenApiDocument } from '../openapi.ts';
import { OPENAPI_PATH, ROUTES, type Route } from '../routes/index.ts';
import { type CorsConfig, corsHeaders, DEFAULT_CORS, preflightHeaders } from './cors.ts';
import { badRequest, errorBody, fromZodError, HttpError, retryHeaders, toHttpError } from './errors.ts';
import { type ApiRequest, NotAProxyEventError, type ProxyEvent, toApiRequest } from './events.ts';
import { type ApiResponse, emptyResponse, jsonResponse } from './responses.ts';

/** What the handler logs through; Powertools' Logger fits, and so does `console`. */
export interface ApiLogger {
  error(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  debug(message: string, ...extra: unknown[]): void;
}

export interface ApiHandlerOptions {
  /** The service, built lazily on the first request (a Lambda's cold start). */
  service: () => ApiService | Promise<ApiService>;
  cors?: Partial<CorsConfig>;
  logger?: ApiLogger;
  /** Larger bodies answer 413 (the largest valid body, 1,000 customer ids, is far below). */
  maxBodyBytes?: number;
}

export type ApiGatewayHandler = (event: ProxyEvent, context?: Context) => Promise<ApiResponse>;

const SILENT: ApiLogger = { error() {}, warn() {}, info() {}, debug() {} };
const DEFAULT_MAX_BODY_BYTES = 1 << 20;

/**
 * The one handler behind API Gateway (REST API v1 or HTTP API v2 proxy integration), the local
 * server and the benchmark. It never throws: every outcome is a response.
 *
 *   event → ApiRequest → CORS preflight? → route (404 / 405) → zod (400) → service → 200
 *                                                             service errors → 404 / 422 / 500
 */
export function createApiHandler(options: ApiHandlerOptions): ApiGatewayHandler {
  const cors: CorsConfig = { ...DEFAULT_CORS, ...options.cors };
  const logger = options.logger ?? SILENT;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const byPath = new Map<string, Route[]>();
  for (const route of ROUTES) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
  let openApiBody: string | undefined;

  return async (event, context) => {
    let request: ApiRequest;
    try {
      request = toApiRequest(event);
    } catch (error) {
      const requestId = context?.awsRequestId ?? '';
      logger.error('not an API Gateway proxy event', { error: describe(error), requestId });
      const failure = error instanceof NotAProxyEventError ? new HttpError(400, 'bad_event', error.message) : toHttpError(error);
      return jsonResponse(failure.status, errorBody(failure, requestId));
    }
    const origin = request.headers.origin;
    const requestId = request.requestId || context?.awsRequestId || '';
    const baseHeaders: Record<string, string> = { ...corsHeaders(cors, origin), ...(requestId ? { 'x-request-id': requestId } : {}) };
    const fail = (failure: HttpError) => {
      const extra: Record<string, string> = failure.status === 405 ? { allow: allowedMethods(request.path).join(', ') } : retryHeaders(failure);
      return jsonResponse(failure.status, errorBody(failure, requestId), { ...baseHeaders, ...extra });
    };

    try {
      const isOpenApi = request.path === OPENAPI_PATH;
      const routes = byPath.get(request.path);
      if (!routes && !isOpenApi) throw new HttpError(404, 'not_found', `no route ${request.method} ${request.path}`);
      const methods = isOpenApi ? ['GET'] : routes!.map((route) => route.method);
      if (request.method === 'OPTIONS') {
        return emptyResponse(204, { ...preflightHeaders(cors, origin, methods), ...(requestId ? { 'x-request-id': requestId } : {}) });
      }
      if (!methods.includes(request.method)) throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${request.path} (allowed: ${methods.join(', ')})`);
      if (isOpenApi) {
        openApiBody ??= JSON.stringify(buildOpenApiDocument());
        return { statusCode: 200, headers: { ...jsonResponse(200, null).headers, 'cache-control': 'public, max-age=300', ...baseHeaders }, body: openApiBody, isBase64Encoded: false };
      }
      const route = routes!.find((candidate) => candidate.method === request.method)!;
      const input = route.input === 'query' ? singleValued(request.query) : parseBody(request.body, maxBodyBytes);
      const parsed = route.schema.safeParse(input);
      if (!parsed.success) throw fromZodError(parsed.error, route.input, input);
      const service = await options.service();
      const result = await route.handle(service, parsed.data);
      return jsonResponse(200, result, baseHeaders);
    } catch (error) {
      const failure = toHttpError(error);
      if (failure.status === 503) logger.info('request deferred', { code: failure.code, message: failure.message, requestId });
      else if (failure.status >= 500) logger.error('request failed', { error: describe(error), requestId, method: request.method, path: request.path });
      else logger.debug('request rejected', { status: failure.status, code: failure.code, message: failure.message, requestId });
      return fail(failure);
    }
  };

  function allowedMethods(path: string): string[] {
    return path === OPENAPI_PATH ? ['GET', 'OPTIONS'] : [...(byPath.get(path) ?? []).map((route) => route.method), 'OPTIONS'];
  }
}

/** Every query parameter at most once: `?n_clusters=5&n_clusters=6` is ambiguous, so a 400. */
function singleValued(query: Record<string, string | string[]>): Record<string, string> {
  for (const [name, value] of Object.entries(query)) {
    if (Array.isArray(value)) throw badRequest(name, 'given more than once');
  }
  return query as Record<string, string>;
}

/**
 * A JSON object body; no body at all is an empty object (every POST field but one is optional).
 * White space alone is not a JSON text, so it is a 400 like any other malformed body.
 */
function parseBody(body: string | null, maxBytes: number): Record<string, unknown> {
  if (body === null || body === '') return {};
  if (Buffer.byteLength(body, 'utf8') > maxBytes) throw new HttpError(413, 'payload_too_large', `body: larger than ${maxBytes} bytes`, 'body');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw badRequest('body', 'is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('body', 'must be a JSON object');
  return value as Record<string, unknown>;
}

function describe(error: unknown): { name?: string; message: string; stack?: string } {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { message: String(error) };
}
