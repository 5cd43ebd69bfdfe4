import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import type { AlertSink, PublishResult } from './alertSink.ts';

export interface MemoryAlertSinkConfig {
  /** Alerts for which this returns true fail every time, retryably (a bus that keeps failing them). */
  failWhen?: (alert: PendingAlert) => boolean;
  /** Alerts for which this returns an error code are refused for good, with that code. */
  rejectWhen?: (alert: PendingAlert) => string | undefined;
}

/**
 * Keeps alerts in memory, for tests and benchmarks. Failures can be injected the way
 * EventBridge produces them, per alert: the rest of a call is still delivered.
 */
export class MemoryAlertSink implements AlertSink {
  readonly delivered: PendingAlert[] = [];
  /** Every publish call's alerts, failed ones included. */
  readonly calls: PendingAlert[][] = [];
  private failures = 0;

  constructor(private readonly config: MemoryAlertSinkConfig = {}) {}

  /** The next `count` alerts published fail once each. */
  failNext(count: number): void {
    this.failures += count;
  }

  async publish(alerts: readonly PendingAlert[]): Promise<PublishResult> {
    this.calls.push([...alerts]);
    const result: PublishResult = { retry: [], rejected: [] };
    for (const alert of alerts) {
      const code = this.config.rejectWhen?.(alert);
      if (code !== undefined) {
        result.rejected.push({ alert, code, message: `${code} (injected)` });
      } else if (this.failures > 0 || this.config.failWhen?.(alert)) {
        this.failures = Math.max(0, this.failures - 1);
        result.retry.push(alert);
      } else {
        this.delivered.push(alert);
      }
    }
    return result;
  }
}
