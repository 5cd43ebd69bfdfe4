import type { PendingAlert } from '../../models/customer/alertEvent.ts';

/**
 * Where at-risk transitions are announced. `publish` retries what it can and returns the alerts
 * it could not deliver; the caller keeps those in the customer's outbox for a later attempt.
 */
export interface AlertSink {
  publish(alerts: readonly PendingAlert[]): Promise<PendingAlert[]>;
}
