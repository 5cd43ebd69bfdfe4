/**
 * What the handler returns: one shape that both payload formats accept (REST API 1.0
 * `APIGatewayProxyResult` and HTTP API 2.0 structured results).
 */
export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body), isBase64Encoded: false };
}

export function emptyResponse(statusCode: number, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { 'x-content-type-options': 'nosniff', ...headers }, body: '', isBase64Encoded: false };
}
