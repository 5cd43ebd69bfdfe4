import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { ALERT_SOURCE, type PendingAlert } from '../../models/customer/alertEvent.ts';
import { type BatchCall, type EntryFailure, type RetryBudget, retryBudget, type RetryOptions, sendBatched } from '../../aws/batchSend.ts';
import type { AlertSink, PublishResult, RejectedAlert } from './alertSink.ts';

/** PutEvents quotas: entries per call, and bytes per entry and per call as EventBridge counts them. */
const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** Retries: `maxAttempts` per alert (default 5), backoff from 50 ms up to 2 s. */
export interface EventBridgeAlertSinkConfig extends RetryOptions {
  /**
   * Create it with `maxAttempts: 1` (or set AWS_MAX_ATTEMPTS=1): this sink retries only what
   * failed, with its own backoff; SDK retries underneath would multiply attempts and latency.
   */
  client: EventBridgeClient;
  eventBusName: string;
  /** Bytes per entry and per call: the documented 256 KB unless the account's quota is higher. */
  maxBytes?: number;
}

interface Outgoing {
  alert: PendingAlert;
  entry: PutEventsRequestEntry;
  bytes: number;
}

// Entry error codes EventBridge documents as non-retryable: resending cannot help. Any other
// code (ThrottlingException, InternalFailure, or one added later) is retried.
const PERMANENT_ENTRY_CODES = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
]);
/** The code of an alert never sent because no PutEvents entry can hold it. */
export const ENTRY_TOO_LARGE = 'EntryTooLarge';
const THROTTLING_ERRORS = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded']);

/**
 * Publishes alerts with PutEvents in calls of at most 10 entries and 256 KB. Only the entries
 * that failed are resent (aws/batchSend.ts: exponential backoff, full jitter), so a partial
 * failure never duplicates the alerts that went through. Returns what is still undelivered after
 * `maxAttempts`, or at once for an alert too large to ever fit or rejected for good.
 * Throws only for a whole-call error no retry can fix (missing bus, access denied): that is
 * misconfiguration, and the caller's outbox still holds every alert.
 */
export class EventBridgeAlertSink implements AlertSink {
  private readonly maxBytes: number;
  private readonly budget: RetryBudget;
  private readonly putEvents: BatchCall<Outgoing>;

  constructor(private readonly config: EventBridgeAlertSinkConfig) {
    this.maxBytes = config.maxBytes ?? PUT_EVENTS_MAX_BYTES;
    this.budget = retryBudget(config);
    const limits = { maxEntries: PUT_EVENTS_MAX_ENTRIES, maxBytes: this.maxBytes };
    this.putEvents = { limits, retryableErrors: THROTTLING_ERRORS, send: (call) => this.put(call) };
  }

  async publish(alerts: readonly PendingAlert[]): Promise<PublishResult> {
    const rejected: RejectedAlert[] = [];
    const pending: Outgoing[] = [];
    for (const alert of alerts) {
      const outgoing = this.toOutgoing(alert);
      if (outgoing.bytes > this.maxBytes) {
        rejected.push({ alert, code: ENTRY_TOO_LARGE, message: `entry of ${outgoing.bytes} bytes, over the ${this.maxBytes}-byte PutEvents quota` });
      } else {
        pending.push(outgoing);
      }
    }
    const outcome = await sendBatched(pending, this.putEvents, this.budget);
    if (outcome.fatal) throw outcome.fatal.error;
    for (const failure of outcome.rejected) rejected.push({ alert: failure.entry.alert, code: failure.code, message: failure.message });
    return { retry: outcome.exhausted.map((failure) => failure.entry.alert), rejected };
  }

  private toOutgoing(alert: PendingAlert): Outgoing {
    const entry: PutEventsRequestEntry = {
      Source: ALERT_SOURCE,
      DetailType: alert.detailType,
      Detail: JSON.stringify(alert.detail),
      EventBusName: this.config.eventBusName,
      Time: new Date(alert.detail.asOf),
    };
    return { alert, entry, bytes: entrySize(entry) };
  }

  /** Sends one call; returns the entries that did not go through, and whether that is final. */
  private async put(call: readonly Outgoing[]): Promise<EntryFailure<Outgoing>[]> {
    const response = await this.config.client.send(new PutEventsCommand({ Entries: call.map((outgoing) => outgoing.entry) }));
    const results: PutEventsResultEntry[] = response.Entries ?? [];
    // Entries[] lines up with the request; an entry without an EventId did not go through.
    return call
      .map((outgoing, index) => ({ outgoing, result: results[index] }))
      .filter(({ result }) => !result?.EventId)
      .map(({ outgoing, result }) => ({
        entry: outgoing,
        permanent: PERMANENT_ENTRY_CODES.has(result?.ErrorCode ?? ''),
        code: result?.ErrorCode ?? 'MissingResult',
        message: result?.ErrorMessage ?? '',
      }));
  }
}

/** Entry size as EventBridge counts it against its quota (EventBusName is not counted). */
function entrySize(entry: PutEventsRequestEntry): number {
  const utf8 = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  let bytes = entry.Time ? 14 : 0;
  bytes += utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail);
  for (const resource of entry.Resources ?? []) bytes += utf8(resource);
  return bytes;
}
