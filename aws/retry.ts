/**
 * The retry policy shared by every sender that resends only what failed (aws/batchSend.ts, used
 * for Kinesis PutRecords, EventBridge PutEvents and SQS SendMessageBatch): which whole-call errors
 * are worth another try, and how long to wait before it.
 */
const NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout']);

/**
 * Throttling (the service's own names, passed in), server faults and network trouble pass;
 * anything else would fail the same way again.
 */
export function isRetryableCallError(error: unknown, throttlingNames: ReadonlySet<string>): boolean {
  if (!(error instanceof Error)) return false;
  const { $metadata, $retryable, code } = error as Error & {
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
    code?: string;
  };
  const status = $metadata?.httpStatusCode ?? 0;
  return (
    Boolean($retryable) ||
    throttlingNames.has(error.name) ||
    NETWORK_ERRORS.has(error.name) ||
    NETWORK_ERRORS.has(code ?? '') ||
    status === 429 ||
    status >= 500
  );
}

/** Full jitter: uniform in [0, min(cap, base·2^(retry−1))], which spreads retrying clients apart. */
export function fullJitterDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, baseMs * 2 ** (retry - 1));
}
