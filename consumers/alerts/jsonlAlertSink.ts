import { type FileHandle, mkdir, open } from 'node:fs/promises';
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
 * write to a file opened for appending, so concurrent writers never interleave inside a line. The
 * file is opened once (a replay publishes after most batches: a directory check, an open and a
 * close per call were 7% of the local job's main thread) and closed by `close()`. A write error
 * is thrown: on one machine it means a wrong path or a full disk, and the caller's outbox still
 * holds the alerts.
 */
export class JsonlAlertSink implements AlertSink {
  private file?: Promise<FileHandle>;

  constructor(private readonly config: JsonlAlertSinkConfig) {}

  async publish(alerts: readonly PendingAlert[]): Promise<PublishResult> {
    if (alerts.length === 0) return { retry: [], rejected: [] };
    const lines = alerts.map(({ detailType, detail }) => `${JSON.stringify({ detailType, detail })}\n`);
    await (await this.opened()).appendFile(lines.join(''), 'utf8');
    for (const alert of alerts) this.config.onAlert?.(alert);
    return { retry: [], rejected: [] };
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    if (file) await (await file).close();
  }

  private opened(): Promise<FileHandle> {
    if (this.file) return this.file;
    const file = mkdir(dirname(this.config.path), { recursive: true }).then(() => open(this.config.path, 'a'));
    // A failed open is not kept: the next publish tries again.
    file.catch(() => {
      if (this.file === file) this.file = undefined;
    });
    this.file = file;
    return file;
  }
}
