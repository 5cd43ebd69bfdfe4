import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isoDay, dayIndex } from '../models/time/calendar.ts';

/**
 * The raw orders as Firehose writes them (terraform/lake.tf): each record's bytes as they came off
 * the stream, one per line, gzip, in `orders/date=YYYY-MM-DD/` by the UTC day of its occurredAt
 * (offsets applied, as the jq partitioning query does), one object per delivery and day. A record
 * Firehose cannot partition (not JSON, no parsable occurredAt) goes to `errors/`, as Firehose's
 * processing-failed output does. Locally these live under `<lake>/raw/`.
 */

export const RAW_DIR = 'raw';
export const RAW_ORDERS_DIR = join(RAW_DIR, 'orders');
export const RAW_ERRORS_DIR = join(RAW_DIR, 'errors');

/** The partition day of one record's text, or undefined when Firehose could not partition it. */
export function rawOrderDay(text: string): string | undefined {
  let occurredAt: unknown;
  try {
    occurredAt = (JSON.parse(text) as { occurredAt?: unknown } | null)?.occurredAt;
  } catch {
    return undefined;
  }
  if (typeof occurredAt !== 'string') return undefined;
  const ms = Date.parse(occurredAt);
  return Number.isNaN(ms) ? undefined : isoDay(dayIndex(ms));
}

export interface RawDelivery {
  objects: number;
  records: number;
  errors: number;
}

/** Writes one delivery of records (their texts) under `root` (the local lake's root). */
export async function deliverRawOrders(root: string, texts: readonly string[], nowMs = Date.now()): Promise<RawDelivery> {
  const byDay = new Map<string, string[]>();
  for (const text of texts) {
    const day = rawOrderDay(text) ?? 'errors';
    const list = byDay.get(day) ?? [];
    list.push(text.replace(/\n/g, ' '));
    byDay.set(day, list);
  }
  const stamp = new Date(nowMs).toISOString().replace(/[-:.]/g, '');
  for (const [day, lines] of byDay) {
    const dir = day === 'errors' ? join(root, RAW_ERRORS_DIR) : join(root, RAW_ORDERS_DIR, `date=${day}`);
    await mkdir(dir, { recursive: true });
    const name = `orders-to-lake-${stamp}-${randomBytes(4).toString('hex')}.json.gz`;
    // Whole objects only, as S3 shows them: a reader never lists a half-written file.
    await writeFile(join(dir, `${name}.part`), gzipSync(`${lines.join('\n')}\n`));
    await rename(join(dir, `${name}.part`), join(dir, name));
  }
  return { objects: byDay.size, records: texts.length, errors: byDay.get('errors')?.length ?? 0 };
}
