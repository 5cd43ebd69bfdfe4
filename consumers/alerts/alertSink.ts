import type { PendingAlert } from '../../models/customer/alertEvent.ts';

/** An alert the bus refused for good (a bad entry, no permission): resending it cannot help. */
export interface RejectedAlert {
  alert: PendingAlert;
  /** The bus's error code for the entry (EventBridge's ErrorCode), or the sink's own for an entry it never sent. */
  code: string;
  message: string;
}

/** What one publish call could not deliver, split by what the caller should do about it. */
export interface PublishResult {
  /** Not delivered this time (throttled, the service failing): keep them in the outbox and try again later. */
  retry: PendingAlert[];
  /** Refused for good: the caller sets them aside (dead-letter sink) and drops them from the outbox. */
  rejected: RejectedAlert[];
}

/**
 * Where at-risk transitions are announced. `publish` retries what it can and reports the alerts
 * it could not deliver; the caller keeps the retryable ones in the customer's outbox for a later
 * attempt and dead-letters the rejected ones.
 */
export interface AlertSink {
  publish(alerts: readonly PendingAlert[]): Promise<PublishResult>;
}
