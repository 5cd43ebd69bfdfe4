import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ApiGatewayHandler } from './http/apiHandler.ts';

/**
 * A node:http server in front of the API Lambda handler, for `demand-insights serve` and the
 * e2e tests: each HTTP request becomes the API Gateway HTTP API (payload 2.0) event API Gateway
 * would send, and the handler's result becomes the HTTP response. Nothing else is in between,
 * so locally the API runs exactly the code it runs on AWS.
 */
export interface LocalServerOptions {
  handler: ApiGatewayHandler;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** API Gateway's own payload limit is 10 MB; anything above this is refused with 413 here. */
  maxBodyBytes?: number;
  /** Tried before the API: answers local-only paths (the dashboard) and returns true, or returns false. */
  before?: (request: IncomingMessage, response: ServerResponse) => boolean;
}

export interface LocalServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function serveLocal(options: LocalServerOptions): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = createServer((request, response) => {
    if (options.before?.(request, response)) return;
    handle(request, response, options.handler, maxBodyBytes).catch((error: unknown) => {
      // The handler never throws; this is a broken socket or the like.
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'internal', message: 'internal error' } }));
      process.stderr.write(`local server: ${(error as Error).message}\n`);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, handler: ApiGatewayHandler, maxBodyBytes: number): Promise<void> {
  const body = await readBody(request, maxBodyBytes);
  if (body === 'too-large') {
    response.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    response.end(JSON.stringify({ error: { code: 'payload_too_large', message: `body: larger than ${maxBodyBytes} bytes`, field: 'body' } }));
    return;
  }
  const result = await handler(toHttpApiEvent(request, body));
  const headers: Record<string, string> = { ...result.headers };
  const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  headers['content-length'] = String(payload.length);
  response.writeHead(result.statusCode, headers);
  response.end(request.method === 'HEAD' ? undefined : payload);
}

function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/**
 * The HTTP API payload 2.0 event of a request, as API Gateway builds it: lower-case headers with
 * repeats joined by commas, cookies apart, the raw query string plus its decoded single-value
 * map (repeats joined by commas), a body that is text or base64.
 *
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
function toHttpApiEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i].toLowerCase();
    if (name === 'cookie') continue;
    const value = request.rawHeaders[i + 1];
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const cookies = request.headers.cookie?.split(';').map((cookie) => cookie.trim()).filter(Boolean);
  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    queryStringParameters[name] = queryStringParameters[name] === undefined ? value : `${queryStringParameters[name]},${value}`;
  }
  const rawQueryString = url.search.startsWith('?') ? url.search.slice(1) : url.search;
  const method = (request.method ?? 'GET').toUpperCase();
  const text = isText(headers['content-type']);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0],
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

/** API Gateway passes JSON and text bodies through as text and base64-encodes the rest. */
function isText(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return /^(text\/|application\/(json|[\w.+-]+\+json|x-www-form-urlencoded|xml|javascript))/i.test(contentType.trim());
}
