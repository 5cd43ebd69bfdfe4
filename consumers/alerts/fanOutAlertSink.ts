import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import type { AlertSink, PublishResult } from './alertSink.ts';

/** Told of the alerts a sink delivered; what it does with them (a live feed) cannot fail the publish. */
export type AlertListener = (alerts: readonly PendingAlert[]) => void;

/**
 * A sink in front of another: publishes through `primary` and then tells each listener the alerts
 * it delivered (not those it will retry or rejected), so a listener never shows an alert the bus
 * has not taken. A listener that throws is reported through `onListenerError` and skipped: the
 * alerts are already delivered, and failing the publish would only have them sent again.
 */
export class FanOutAlertSink implements AlertSink {
  constructor(
    private readonly primary: AlertSink,
    private readonly listeners: readonly AlertListener[],
    private readonly onListenerError: (error: unknown) => void = () => {},
  ) {}

  async publish(alerts: readonly PendingAlert[]): Promise<PublishResult> {
    const result = await this.primary.publish(alerts);
    const failed = new Set<PendingAlert>([...result.retry, ...result.rejected.map((rejected) => rejected.alert)]);
    const delivered = failed.size === 0 ? alerts : alerts.filter((alert) => !failed.has(alert));
    if (delivered.length === 0) return result;
    for (const listener of this.listeners) {
      try {
        listener(delivered);
      } catch (error) {
        this.onListenerError(error);
      }
    }
    return result;
  }
}
