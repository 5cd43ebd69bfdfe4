import { setTimeout as delay } from 'node:timers/promises';
import { fullJitterDelay, isRetryableCallError } from './retry.ts';

/**
 * Batched sending with partial-failure retries, shared by every AWS batch API this project calls
 * (Kinesis PutRecords, EventBridge PutEvents, SQS SendMessageBatch): split entries into calls
 * within the per-call quotas, send each call, collect the entries that failed, resend only those
 * (exponential backoff, full jitter) until the attempt budget is spent, and report what is left.
 *
 * What differs between services stays with each sender: how an entry is built and sized, how a
 * response marks its failed entries, and which entry and call errors are permanent or retryable.
 */

/** A service's per-call quotas. */
export interface BatchLimits {
  /** Entries per call. */
  maxEntries: number;
  /** Bytes per call, summed over the entries' `bytes`. */
  maxBytes: number;
}

/** An entry, sized as its service counts it against `maxBytes`. */
export interface Sized {
  bytes: number;
}

/** An entry that did not go through in one call. */
export interface EntryFailure<E> {
  entry: E;
  /** Refused for good (a bad entry, no permission): resending cannot help. */
  permanent: boolean;
  code: string;
  message: string;
  /** Set when the whole call failed (with a retryable error): that error. */
  callError?: unknown;
}

/** The service-specific half of a sender. */
export interface BatchCall<E> {
  limits: BatchLimits;
  /**
   * Sends one call and returns its entries that did not go through (the others did). Throws
   * when the whole call fails.
   */
  send(call: readonly E[]): Promise<EntryFailure<E>[]>;
  /**
   * The service's names for whole-call errors worth resending the call's entries for
   * (throttling and the like); network errors, 429 and 5xx are retried anyway (aws/retry.ts).
   */
  retryableErrors: ReadonlySet<string>;
}

/** How often and how patiently to resend. */
export interface RetryBudget {
  /** Attempts per entry, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Jitter source, in [0, 1) (default Math.random). */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A sender's retry settings, each defaulted by `retryBudget`. */
export type RetryOptions = Partial<RetryBudget>;

/** The defaults of a sender inside a Lambda invocation: a few attempts, short waits. */
export const LAMBDA_RETRY_DEFAULTS = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 2_000 } as const;

export function retryBudget(options: RetryOptions, defaults: Pick<RetryBudget, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'> = LAMBDA_RETRY_DEFAULTS): RetryBudget {
  return {
    maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
    baseDelayMs: options.baseDelayMs ?? defaults.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? defaults.maxDelayMs,
    random: options.random,
    sleep: options.sleep,
  };
}

export interface BatchSendHooks<E> {
  /** After every call that returned or failed retryably, with the entries that did not go through. */
  onCall?(call: readonly E[], failures: readonly EntryFailure<E>[]): void;
  /** Before waiting to resend `entries`, which failed in attempt `attempt`. */
  onRetry?(entries: readonly E[], attempt: number): void;
}

export interface BatchSendOutcome<E> {
  /** Entries refused for good, in the order found; never resent. */
  rejected: EntryFailure<E>[];
  /** Entries still failing when the budget ran out, each with its last failure. */
  exhausted: EntryFailure<E>[];
  /**
   * A whole-call error no retry can fix (no such stream or queue, access denied): sending
   * stopped there, and `unsent` holds every entry not yet delivered or rejected.
   */
  fatal?: { error: unknown; unsent: E[] };
  /** Calls made. */
  calls: number;
}

/**
 * Greedy packing in order: a new call starts when the next entry would pass `maxEntries` or
 * `maxBytes`. Lazy, so a long input is never held twice. An entry larger than `maxBytes` on its
 * own gets a call of its own: senders refuse those before packing.
 */
export function* packBatches<E extends Sized>(entries: Iterable<E>, limits: BatchLimits): Generator<E[]> {
  let call: E[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (call.length > 0 && (call.length === limits.maxEntries || bytes + entry.bytes > limits.maxBytes)) {
      yield call;
      call = [];
      bytes = 0;
    }
    call.push(entry);
    bytes += entry.bytes;
  }
  if (call.length > 0) yield call;
}

/**
 * Sends `entries` in packed calls, then resends only the entries that failed retryably, packed
 * anew, after a full-jitter backoff, until none is left or `maxAttempts` is reached. Stops at the
 * first whole-call error that is not retryable (see `fatal`).
 */
export async function sendBatched<E extends Sized>(
  entries: readonly E[],
  call: BatchCall<E>,
  budget: RetryBudget,
  hooks: BatchSendHooks<E> = {},
): Promise<BatchSendOutcome<E>> {
  const sleep = budget.sleep ?? ((ms: number) => delay(ms));
  const outcome: BatchSendOutcome<E> = { rejected: [], exhausted: [], calls: 0 };
  let pending: readonly E[] = entries;
  let lastFailures: EntryFailure<E>[] | undefined;
  for (let attempt = 1; attempt <= budget.maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 1) {
      hooks.onRetry?.(pending, attempt - 1);
      await sleep(fullJitterDelay(attempt - 1, budget.baseDelayMs, budget.maxDelayMs, budget.random));
    }
    const retry: EntryFailure<E>[] = [];
    let offered = 0;
    for (const batch of packBatches(pending, call.limits)) {
      outcome.calls++;
      let failures: EntryFailure<E>[];
      try {
        failures = await call.send(batch);
      } catch (error) {
        if (!isRetryableCallError(error, call.retryableErrors)) {
          outcome.fatal = { error, unsent: [...retry.map((failure) => failure.entry), ...pending.slice(offered)] };
          return outcome;
        }
        const { code, message } = describeCallError(error);
        failures = batch.map((entry) => ({ entry, permanent: false, code, message, callError: error }));
      }
      offered += batch.length;
      hooks.onCall?.(batch, failures);
      for (const failure of failures) (failure.permanent ? outcome.rejected : retry).push(failure);
    }
    pending = retry.map((failure) => failure.entry);
    lastFailures = retry;
  }
  outcome.exhausted =
    lastFailures ?? pending.map((entry) => ({ entry, permanent: false, code: 'NotAttempted', message: `maxAttempts is ${budget.maxAttempts}` }));
  return outcome;
}

/** A whole-call error as a code (the SDK's exception name, or Node's error code) and a message. */
export function describeCallError(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return { code: error.name !== 'Error' ? error.name : (code ?? 'Error'), message: error.message };
  }
  return { code: 'Error', message: String(error) };
}
