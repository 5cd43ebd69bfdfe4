import { setTimeout as delay } from 'node:timers/promises';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { fullJitterDelay, isRetryableCallError } from '../awsRetry.ts';
import type { DeadLetter, DeadLetterSink } from './deadLetterSink.ts';

/** SendMessageBatch quotas: messages per call, and bytes per message and per call. */
export const SQS_BATCH_MAX_ENTRIES = 10;
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
export const TRUNCATION_MARKER = '...[truncated]';

/** What goes on the queue: the letter, and if its data had to be cut, how large it was. */
export interface DeadLetterMessage extends DeadLetter {
  dataTruncated?: true;
  originalDataBytes?: number;
}

export interface SqsDeadLetterSinkConfig {
  /** Create it with `maxAttempts: 1`: this sink retries only what failed, with its own backoff. */
  client: SQSClient;
  queueUrl: string;
  /** Attempts per letter, the first one included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Bytes per message and per call: the documented 256 KiB unless the queue allows more. */
  maxMessageBytes?: number;
  sleep?: (ms: number) => Promise<void>;
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
 * arrives. Only the entries that failed are resent, with exponential backoff and full jitter.
 * Throws DeadLetterDeliveryError if any letter is still not sent after `maxAttempts` (or is
 * refused as the sender's fault): the consumer then fails those records, which are delivered
 * again, so nothing is lost (a resent batch may put some letters on the queue twice).
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxMessageBytes: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly config: SqsDeadLetterSinkConfig) {
    this.maxAttempts = config.maxAttempts ?? 5;
    this.baseDelayMs = config.baseDelayMs ?? 50;
    this.maxDelayMs = config.maxDelayMs ?? 2_000;
    this.maxMessageBytes = config.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
    this.sleep = config.sleep ?? ((ms) => delay(ms));
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    const refused: Outgoing[] = [];
    const reasons: string[] = [];
    let pending = letters.map((letter, index) => this.toOutgoing(letter, index));
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      const retry: Outgoing[] = [];
      for (const batch of this.batches(pending)) {
        for (const { outgoing, senderFault, reason } of await this.sendBatch(batch)) {
          (senderFault ? refused : retry).push(outgoing);
          reasons.push(reason);
        }
      }
      pending = retry;
    }
    const undelivered = [...refused, ...pending];
    if (undelivered.length > 0) throw new DeadLetterDeliveryError(undelivered.map((outgoing) => outgoing.letter), reasons);
  }

  private toOutgoing(letter: DeadLetter, index: number): Outgoing {
    const body = messageBody(letter, this.maxMessageBytes);
    // Ids only need to be unique within a call; the index keeps them stable across retries.
    return { letter, entry: { Id: `letter-${index}`, MessageBody: body }, bytes: Buffer.byteLength(body, 'utf8') };
  }

  private *batches(pending: Outgoing[]): Generator<Outgoing[]> {
    let batch: Outgoing[] = [];
    let bytes = 0;
    for (const outgoing of pending) {
      if (batch.length === SQS_BATCH_MAX_ENTRIES || bytes + outgoing.bytes > this.maxMessageBytes) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(outgoing);
      bytes += outgoing.bytes;
    }
    if (batch.length > 0) yield batch;
  }

  /** Sends one batch; returns the entries that did not go through, and whether resending is futile. */
  private async sendBatch(batch: Outgoing[]): Promise<{ outgoing: Outgoing; senderFault: boolean; reason: string }[]> {
    let response;
    try {
      response = await this.config.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.config.queueUrl, Entries: batch.map((outgoing) => outgoing.entry) }),
      );
    } catch (error) {
      if (!isRetryableCallError(error, THROTTLING_ERRORS)) throw error;
      const reason = error instanceof Error ? error.name : String(error);
      return batch.map((outgoing) => ({ outgoing, senderFault: false, reason }));
    }
    const sent = new Set((response.Successful ?? []).map((entry) => entry.Id));
    const failed = new Map((response.Failed ?? []).map((entry) => [entry.Id, entry]));
    // An entry in neither list is treated as failed: only an explicit success counts.
    return batch
      .filter((outgoing) => !sent.has(outgoing.entry.Id))
      .map((outgoing) => {
        const failure = failed.get(outgoing.entry.Id);
        return { outgoing, senderFault: failure?.SenderFault === true, reason: failure?.Code ?? 'MissingResult' };
      });
  }

  private backoff(retry: number): number {
    return fullJitterDelay(retry, this.baseDelayMs, this.maxDelayMs);
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
