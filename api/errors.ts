/**
 * What the API services throw for a request they cannot answer; api/http/errors.ts maps each
 * to its HTTP status. Anything else is a 500.
 */

/** 404: the product, category or customers are not in the lake (nor the store). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(
    readonly kind: 'product' | 'category' | 'customer',
    readonly ids: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** 422: a well-formed request the data cannot answer (too little price variation, too few customers). */
export class UnprocessableError extends Error {
  override readonly name = 'UnprocessableError';
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * 503: the lake cannot be read yet (the local stack builds it while the replay runs). Callers
 * retry after `retryAfterSeconds`; the answer says so in a Retry-After header.
 */
export class LakeUnavailableError extends Error {
  override readonly name = 'LakeUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
