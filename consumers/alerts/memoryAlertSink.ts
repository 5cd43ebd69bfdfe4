import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import type { AlertSink } from './alertSink.ts';

export interface MemoryAlertSinkConfig {
  /** Alerts for which this returns true are never delivered (a permanently failing entry). */
  failWhen?: (alert: PendingAlert) => boolean;
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

  async publish(alerts: readonly PendingAlert[]): Promise<PendingAlert[]> {
    this.calls.push([...alerts]);
    const undelivered: PendingAlert[] = [];
    for (const alert of alerts) {
      if (this.failures > 0 || this.config.failWhen?.(alert)) {
        this.failures = Math.max(0, this.failures - 1);
        undelivered.push(alert);
      } else {
        this.delivered.push(alert);
      }
    }
    return undelivered;
  }
}
