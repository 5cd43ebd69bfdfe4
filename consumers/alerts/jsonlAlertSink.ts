import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PendingAlert } from '../../models/customer/alertEvent.ts';
import type { AlertSink, PublishResult } from './alertSink.ts';

export interface JsonlAlertSinkConfig {
  /** The file alerts are appended to; missing directories are created. */
  path: string;
  /** Called for each alert once it is written (the local runner prints alerts as they fire). */
  onAlert?: (alert: PendingAlert) => void;
}

/**
 * The local event bus: one JSON line `{detailType, detail}` per alert. Every call is a single
 * append, so concurrent writers never interleave inside a line. A write error is thrown: on one
 * machine it means a wrong path or a full disk, and the caller's outbox still holds the alerts.
 */
export class JsonlAlertSink implements AlertSink {
  constructor(private readonly config: JsonlAlertSinkConfig) {}

  async publish(alerts: readonly PendingAlert[]): Promise<PublishResult> {
    if (alerts.length === 0) return { retry: [], rejected: [] };
    await mkdir(dirname(this.config.path), { recursive: true });
    const lines = alerts.map(({ detailType, detail }) => `${JSON.stringify({ detailType, detail })}\n`);
    await appendFile(this.config.path, lines.join(''), 'utf8');
    for (const alert of alerts) this.config.onAlert?.(alert);
    return { retry: [], rejected: [] };
  }
}
