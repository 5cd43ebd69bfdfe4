/**
 * CORS for the API: which browser origins may call it. Configured by CORS_ALLOWED_ORIGINS
 * ("*", or a comma-separated list of exact origins such as "https://app.example.com"; empty or
 * unset: no cross-origin access). A listed origin is echoed back with `Vary: Origin`, so caches
 * keep answers for different origins apart.
 *
 * @see https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS
 */
export interface CorsConfig {
  allowedOrigins: '*' | readonly string[];
  allowHeaders: readonly string[];
  exposeHeaders: readonly string[];
  maxAgeSeconds: number;
}

export const DEFAULT_CORS: CorsConfig = {
  allowedOrigins: [],
  allowHeaders: ['content-type', 'authorization', 'x-api-key', 'x-amz-date', 'x-amz-security-token'],
  exposeHeaders: ['x-request-id'],
  maxAgeSeconds: 600,
};

/** "*" → any origin; "https://a.example, https://b.example" → those; "" or undefined → none. */
export function parseAllowedOrigins(text: string | undefined): CorsConfig['allowedOrigins'] {
  const trimmed = (text ?? '').trim();
  if (trimmed === '*') return '*';
  const origins = trimmed.split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new Error(`CORS_ALLOWED_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path)`);
  }
  return origins;
}

function allowedOrigin(config: CorsConfig, origin: string | undefined): string | undefined {
  if (config.allowedOrigins === '*') return '*';
  if (origin !== undefined && config.allowedOrigins.includes(origin)) return origin;
  return undefined;
}

/** Headers for an actual (non-preflight) response. */
export function corsHeaders(config: CorsConfig, origin: string | undefined): Record<string, string> {
  const allowed = allowedOrigin(config, origin);
  const headers: Record<string, string> = config.allowedOrigins === '*' ? {} : { vary: 'Origin' };
  if (allowed !== undefined) {
    headers['access-control-allow-origin'] = allowed;
    if (config.exposeHeaders.length > 0) headers['access-control-expose-headers'] = config.exposeHeaders.join(', ');
  }
  return headers;
}

/** Headers for a preflight (OPTIONS) answer to a route allowing `methods`. */
export function preflightHeaders(config: CorsConfig, origin: string | undefined, methods: readonly string[]): Record<string, string> {
  const headers = corsHeaders(config, origin);
  if (headers['access-control-allow-origin'] === undefined) return headers;
  headers['access-control-allow-methods'] = [...methods, 'OPTIONS'].join(', ');
  headers['access-control-allow-headers'] = config.allowHeaders.join(', ');
  headers['access-control-max-age'] = String(config.maxAgeSeconds);
  return headers;
}
