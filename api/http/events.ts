import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * API Gateway proxy events (REST API payload 1.0, HTTP API payload 2.0) reduced to what the
 * handler needs. Either kind of API can front the same Lambda.
 *
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 */
export type ProxyEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

export interface ApiRequest {
  version: '1.0' | '2.0';
  /** Upper case. */
  method: string;
  /** The resource path, without a stage prefix or a trailing slash. */
  path: string;
  /** A parameter given once is a string; given several times, the list of its values. */
  query: Record<string, string | string[]>;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The decoded body (base64 undone), or null. */
  body: string | null;
  requestId: string;
}

/** The event is neither payload format: a misconfigured integration, not a caller's mistake. */
export class NotAProxyEventError extends Error {
  override readonly name = 'NotAProxyEventError';
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function isHttpApiEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return isRecord(event) && event.version === '2.0' && isRecord(event.requestContext) && isRecord(event.requestContext.http);
}

function isRestApiEvent(event: unknown): event is APIGatewayProxyEvent {
  return isRecord(event) && typeof event.httpMethod === 'string' && typeof event.path === 'string';
}

export function toApiRequest(event: unknown): ApiRequest {
  if (isHttpApiEvent(event)) return fromHttpApi(event);
  if (isRestApiEvent(event)) return fromRestApi(event);
  throw new NotAProxyEventError('not an API Gateway proxy event (payload format 1.0 or 2.0)');
}

function fromHttpApi(event: APIGatewayProxyEventV2): ApiRequest {
  const context = event.requestContext;
  const stage = context.stage;
  return {
    version: '2.0',
    method: context.http.method.toUpperCase(),
    // rawPath keeps a named stage ("/prod/demand-insights/..."); $default has none.
    path: normalisePath(event.rawPath ?? context.http.path, stage && stage !== '$default' ? stage : undefined),
    query: event.rawQueryString !== undefined ? parseQueryString(event.rawQueryString) : fromSingleValues(event.queryStringParameters),
    headers: lowerCaseHeaders(event.headers ?? {}),
    body: decodeBody(event.body, event.isBase64Encoded),
    requestId: context.requestId ?? '',
  };
}

function fromRestApi(event: APIGatewayProxyEvent): ApiRequest {
  const query: Record<string, string | string[]> = {};
  if (event.multiValueQueryStringParameters) {
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters)) {
      if (!values) continue;
      query[name] = values.length === 1 ? values[0] : values.slice();
    }
  } else {
    Object.assign(query, fromSingleValues(event.queryStringParameters));
  }
  const headers: Record<string, string> = {};
  if (event.multiValueHeaders) {
    for (const [name, values] of Object.entries(event.multiValueHeaders)) if (values) headers[name.toLowerCase()] = values.join(', ');
  }
  Object.assign(headers, lowerCaseHeaders(event.headers ?? {}));
  return {
    version: '1.0',
    method: event.httpMethod.toUpperCase(),
    // REST API events carry the path without the stage; a custom domain's base path stays in it.
    path: normalisePath(event.path),
    query,
    headers,
    body: decodeBody(event.body, event.isBase64Encoded),
    requestId: event.requestContext?.requestId ?? '',
  };
}

function fromSingleValues(values: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) if (value !== undefined) out[name] = value;
  return out;
}

/** Parses a raw query string, keeping every value of a repeated parameter. */
export function parseQueryString(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    const previous = query[name];
    query[name] = previous === undefined ? value : [...[previous].flat(), value];
  }
  return query;
}

function lowerCaseHeaders(headers: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

function decodeBody(body: string | null | undefined, base64: boolean | undefined): string | null {
  if (body === null || body === undefined) return null;
  return base64 ? Buffer.from(body, 'base64').toString('utf8') : body;
}

function normalisePath(path: string, stage?: string): string {
  let out = path || '/';
  if (stage && (out === `/${stage}` || out.startsWith(`/${stage}/`))) out = out.slice(stage.length + 1) || '/';
  if (out.length > 1 && out.endsWith('/')) out = out.replace(/\/+$/, '') || '/';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Builders: the events API Gateway would send, for the benchmark, tests and local tools.

export interface EventSpec {
  method: string;
  /** Path with an optional query string: "/demand-insights/segments?n_clusters=5". */
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** A named stage: HTTP API puts it in rawPath, REST API in requestContext only. */
  stage?: string;
  requestId?: string;
}

function splitUrl(url: string): { path: string; rawQuery: string } {
  const at = url.indexOf('?');
  return at < 0 ? { path: url, rawQuery: '' } : { path: url.slice(0, at), rawQuery: url.slice(at + 1) };
}

function bodyText(body: unknown): string | undefined {
  return body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
}

/** An HTTP API (payload 2.0) event. */
export function httpApiEvent(spec: EventSpec): APIGatewayProxyEventV2 {
  const { path, rawQuery } = splitUrl(spec.url);
  const stage = spec.stage ?? '$default';
  const rawPath = stage === '$default' ? path : `/${stage}${path}`;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = value;
  const single: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) single[name] = single[name] === undefined ? value : `${single[name]},${value}`;
  const now = Date.now();
  const body = bodyText(spec.body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: rawQuery,
    headers,
    ...(rawQuery ? { queryStringParameters: single } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'local',
      domainPrefix: 'local',
      http: { method: spec.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: spec.requestId ?? `req-${now}`,
      routeKey: '$default',
      stage,
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}

/** A REST API (payload 1.0) proxy event. */
export function restApiEvent(spec: EventSpec): APIGatewayProxyEvent {
  const { path, rawQuery } = splitUrl(spec.url);
  const multi: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) (multi[name] ??= []).push(value);
  const single = Object.fromEntries(Object.entries(multi).map(([name, values]) => [name, values[values.length - 1]]));
  const headers = { ...(spec.headers ?? {}) };
  const multiHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  const stage = spec.stage ?? 'prod';
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: spec.method,
    headers,
    multiValueHeaders: multiHeaders,
    queryStringParameters: rawQuery ? single : null,
    multiValueQueryStringParameters: rawQuery ? multi : null,
    pathParameters: { proxy: path.replace(/^\//, '') },
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: spec.method,
      identity: {} as APIGatewayProxyEvent['requestContext']['identity'],
      path: `/${stage}${path}`,
      stage,
      requestId: spec.requestId ?? `req-${Date.now()}`,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: '/{proxy+}',
    },
    body: bodyText(spec.body) ?? null,
    isBase64Encoded: false,
  };
}
