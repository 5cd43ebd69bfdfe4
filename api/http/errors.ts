import type { z } from 'zod';
import { LakeUnavailableError, NotFoundError, UnprocessableError } from '../errors.ts';

/**
 * Every failure becomes one JSON shape, `{"error": {"code", "message", "field"?, "details"?},
 * "request_id"}` (ErrorResponseSchema). Callers' mistakes are 4xx with what to fix; anything
 * unexpected is a 500 that says only "internal error" and the request id: the cause goes to
 * the log, never into the response.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const badRequest = (field: string, message: string) => new HttpError(400, 'bad_request', `${field}: ${message}`, field);

/** How many ids a 404 lists (a 1,000-id request must not echo them all). */
const IDS_SHOWN = 20;

/** The first problem of a failed parse, naming the field ("customer_ids.3", or the unknown key). */
export function fromZodError(error: z.ZodError, root: 'query' | 'body', input?: unknown): HttpError {
  const issue = error.issues[0];
  if (!issue) return badRequest(root, 'invalid');
  // Plain names as they are; anything else (an empty key, spaces, quotes) JSON-quoted, so the
  // field is always visible and unambiguous.
  const path = issue.path.map((part) => (typeof part === 'number' || /^[A-Za-z0-9_]+$/.test(String(part)) ? String(part) : JSON.stringify(String(part))));
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const field = [...path, /^[A-Za-z0-9_]+$/.test(key) ? key : JSON.stringify(key)].join('.');
    const known = issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1, 5).join(', ')})` : '';
    return badRequest(field, `unknown ${root === 'query' ? 'query parameter' : 'field'}${known}`);
  }
  const field = path.length > 0 ? path.join('.') : root;
  const message = path.length > 0 && valueAt(input, issue.path) === undefined ? 'is required' : issue.message;
  return badRequest(field, message);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof NotFoundError) {
    return new HttpError(404, 'not_found', error.message, undefined, { kind: error.kind, ids: error.ids.slice(0, IDS_SHOWN) });
  }
  if (error instanceof UnprocessableError) return new HttpError(422, error.code, error.message, undefined, error.details);
  if (error instanceof LakeUnavailableError) return new HttpError(503, 'lake_unavailable', error.message, undefined, { retry_after_seconds: error.retryAfterSeconds });
  return new HttpError(500, 'internal', 'internal error');
}

export function errorBody(error: HttpError, requestId: string) {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.field !== undefined ? { field: error.field } : {}),
      ...(error.details !== undefined ? { details: error.details } : {}),
    },
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** Headers a failure carries besides the body: when to retry a 503 (RFC 9110 Retry-After, seconds). */
export function retryHeaders(error: HttpError): Record<string, string> {
  const seconds = error.details?.retry_after_seconds;
  return error.status === 503 && typeof seconds === 'number' ? { 'retry-after': String(Math.max(1, Math.ceil(seconds))) } : {};
}
