import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { type BatchCall, type EntryFailure, retryBudget, type RetryOptions, sendBatched } from '../../aws/batchSend.ts';
import type { DeadLetter, DeadLetterSink } from './deadLetterSink.ts';

/** SendMessageBatch quotas: messages per call, and bytes per message and per call. */
const SQS_BATCH_MAX_ENTRIES = 10;
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
export const TRUNCATION_MARKER = '...[truncated]';

/** What goes on the queue: the letter, and if its data had to be cut, how large it was. */
export interface DeadLetterMessage extends DeadLetter {
  dataTruncated?: true;
  originalDataBytes?: number;
}

/** Retries: `maxAttempts` per letter (default 5), backoff from 50 ms up to 2 s. */
export interface SqsDeadLetterSinkConfig extends RetryOptions {
  /** Create it with `maxAttempts: 1`: this sink retries only what failed, with its own backoff. */
  client: SQSClient;
  queueUrl: string;
  /** Bytes per message and per call: the documented 256 KiB unless the queue allows more. */
  maxMessageBytes?: number;
}

/** Letters still not on the queue after every attempt; their records must be retried. */
export class DeadLetterDeliveryError extends Error {
  constructor(readonly undelivered: DeadLetter[], readonly reasons: string[]) {
    super(`${undelivered.length} dead letter(s) not delivered: ${[...new Set(reasons)].join('; ')}`);
    this.name = 'DeadLetterDeliveryError';
  }
}

interface Outgoing {
  letter: DeadLetter;
  entry: SendMessageBatchRequestEntry;
  bytes: number;
}

const THROTTLING_ERRORS = new Set(['RequestThrottled', 'ThrottlingException', 'KmsThrottled', 'TooManyRequestsException']);

/**
 * Sends dead letters with SendMessageBatch: at most 10 per call and 256 KB per message and per
 * call. A letter too large has its data cut, marked and its original size noted, so it still
 * arrives. Only the entries that failed are resent (aws/batchSend.ts: exponential backoff, full
 * jitter). Throws DeadLetterDeliveryError if any letter is still not sent after `maxAttempts` (or
 * is refused as the sender's fault): the consumer then fails those records, which are delivered
 * again, so nothing is lost (a resent batch may put some letters on the queue twice).
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  /** Per message (messageBody cuts a letter to fit) and per call. */
  private readonly maxMessageBytes: number;

  constructor(private readonly config: SqsDeadLetterSinkConfig) {
    this.maxMessageBytes = config.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    const reasons: string[] = [];
    const sendMessageBatch: BatchCall<Outgoing> = {
      limits: { maxEntries: SQS_BATCH_MAX_ENTRIES, maxBytes: this.maxMessageBytes },
      retryableErrors: THROTTLING_ERRORS,
      send: (batch) => this.sendBatch(batch),
    };
    const outcome = await sendBatched(
      letters.map((letter, index) => this.toOutgoing(letter, index)),
      sendMessageBatch,
      retryBudget(this.config),
      // Every failure of every attempt names its reason: a whole call by its error's name.
      { onCall: (_, failures) => reasons.push(...failures.map((f) => (f.callError instanceof Error ? f.callError.name : f.code))) },
    );
    if (outcome.fatal) throw outcome.fatal.error;
    const undelivered = [...outcome.rejected, ...outcome.exhausted];
    if (undelivered.length > 0) throw new DeadLetterDeliveryError(undelivered.map((failure) => failure.entry.letter), reasons);
  }

  private toOutgoing(letter: DeadLetter, index: number): Outgoing {
    const body = messageBody(letter, this.maxMessageBytes);
    // Ids only need to be unique within a call; the index keeps them stable across retries.
    return { letter, entry: { Id: `letter-${index}`, MessageBody: body }, bytes: Buffer.byteLength(body, 'utf8') };
  }

  /** Sends one batch; returns the entries that did not go through, and whether resending is futile. */
  private async sendBatch(batch: readonly Outgoing[]): Promise<EntryFailure<Outgoing>[]> {
    const response = await this.config.client.send(
      new SendMessageBatchCommand({ QueueUrl: this.config.queueUrl, Entries: batch.map((outgoing) => outgoing.entry) }),
    );
    const sent = new Set((response.Successful ?? []).map((entry) => entry.Id));
    const failed = new Map((response.Failed ?? []).map((entry) => [entry.Id, entry]));
    // An entry in neither list is treated as failed: only an explicit success counts.
    return batch
      .filter((outgoing) => !sent.has(outgoing.entry.Id))
      .map((outgoing) => {
        const failure = failed.get(outgoing.entry.Id);
        // A sender's fault (a bad message) fails the same way again: resending is futile.
        return { entry: outgoing, permanent: failure?.SenderFault === true, code: failure?.Code ?? 'MissingResult', message: failure?.Message ?? '' };
      });
  }
}

/**
 * The letter as JSON, at most `maxBytes` of UTF-8. A larger letter keeps the longest prefix of
 * its data that fits, followed by TRUNCATION_MARKER, and notes the original size: the record is
 * still identified by its source and position, and the cut is visible to whoever reads it.
 */
export function messageBody(letter: DeadLetter, maxBytes: number): string {
  const whole = sqsSafeJson(letter);
  if (Buffer.byteLength(whole, 'utf8') <= maxBytes) return whole;
  const originalDataBytes = Buffer.byteLength(letter.data, 'utf8');
  const cut = (chars: number): string =>
    sqsSafeJson({ ...letter, data: letter.data.slice(0, chars) + TRUNCATION_MARKER, dataTruncated: true, originalDataBytes } satisfies DeadLetterMessage);
  // Binary search for the longest cut that fits. It never ends inside a surrogate pair: JSON
  // escapes a lone high surrogate to 6 bytes while the whole pair costs 4, so if cutting after
  // the high half fits, cutting after the pair fits too.
  let lo = 0;
  let hi = letter.data.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(cut(mid), 'utf8') <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  const body = cut(lo);
  if (Buffer.byteLength(body, 'utf8') > maxBytes) throw new Error(`dead letter from ${letter.source} at ${letter.position} cannot fit ${maxBytes} bytes even without data`);
  return body;
}

/**
 * JSON, with U+FFFE and U+FFFF escaped: SQS refuses them in a message body (InvalidMessageContents)
 * while JSON.stringify leaves them raw. Control characters and lone surrogates are escaped already.
 */
function sqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}
