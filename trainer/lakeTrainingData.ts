import { randomUUID } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { z } from 'zod';
import { eventsFromOrderTotals } from '../api/lake/lakeStates.ts';
import type { LakeOrderTotal } from '../api/lake/lakeQueries.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import type { StatementRunner } from '../lake/athenaStatements.ts';

/**
 * The trainer's data: every order and return of the lake since a day, one row per event (its
 * lines summed, as the API's customer_order_totals.sql), written by Athena's UNLOAD as Parquet
 * under a run's own S3 prefix and read back with hyparquet (pure JavaScript; DuckDB's native
 * module would weigh tens of megabytes in the Lambda). UNLOAD, not GetQueryResults: a million
 * rows are a few Parquet objects instead of a thousand pages of text. SNAPPY is asked for
 * explicitly: Athena's default for Parquet is GZIP, which hyparquet does not decode without an
 * extra package. The run's objects are deleted once read.
 */

export interface LakeTrainingDataOptions {
  athena: StatementRunner;
  s3: S3Client;
  database: string;
  /** s3://bucket/prefix/ under which each run UNLOADs to a fresh `<runId>/`. */
  unloadRoot: string;
  /** First partition day read (YYYY-MM-DD). */
  fromDay: string;
  runId?: string;
}

export interface LakeTrainingData {
  events: OrderEvent[];
  rows: number;
  objects: number;
  bytesScanned: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The UNLOAD statement; the day and names are checked, as UNLOAD takes no parameters. */
export function unloadStatement(database: string, fromDay: string, target: string): string {
  if (!IDENTIFIER.test(database)) throw new Error(`not a database name: ${database}`);
  if (!DAY.test(fromDay)) throw new Error(`not a day: ${fromDay}`);
  if (!/^s3:\/\/[a-z0-9.-]+\/[A-Za-z0-9._\-/]*\/$/.test(target)) throw new Error(`not an s3:// prefix ending in /: ${target}`);
  return [
    'UNLOAD (',
    '  SELECT customer_id, type, order_id, occurred_at,',
    '    SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS cents,',
    '    SUM(quantity) AS units,',
    '    MAX(country) AS country',
    `  FROM "${database}"."order_lines"`,
    `  WHERE "date" >= '${fromDay}'`,
    '  GROUP BY customer_id, type, order_id, occurred_at',
    ')',
    `TO '${target}'`,
    "WITH (format = 'PARQUET', compression = 'SNAPPY')",
  ].join('\n');
}

const RowSchema = z.object({
  customer_id: z.string().min(1),
  type: z.enum(['order', 'return']),
  order_id: z.string().min(1),
  occurred_at: z.union([z.date(), z.string(), z.bigint(), z.number()]),
  cents: z.union([z.bigint(), z.number()]),
  units: z.number(),
  country: z.string().nullable().optional(),
});

export async function readLakeTrainingData(options: LakeTrainingDataOptions): Promise<LakeTrainingData> {
  const runId = options.runId ?? randomUUID();
  const target = `${options.unloadRoot.replace(/\/?$/, '/')}${runId}/`;
  const { bucket, prefix } = splitS3(target);
  await options.athena.run(unloadStatement(options.database, options.fromDay, target), 'training data UNLOAD');
  const keys = await listKeys(options.s3, bucket, prefix);
  const totals: LakeOrderTotal[] = [];
  try {
    for (const key of keys) {
      const got = await options.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = await got.Body!.transformToByteArray();
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      for (const raw of await parquetReadObjects({ file })) totals.push(totalOf(raw, key));
    }
  } finally {
    await deleteKeys(options.s3, bucket, keys);
  }
  // Parquet objects come in no particular order; training must not depend on it.
  const events = [...eventsFromOrderTotals(totals)].sort((a, b) => compare(a.occurredAt, b.occurredAt) || compare(a.customerId, b.customerId) || compare(a.orderId, b.orderId) || compare(a.type, b.type));
  return { events, rows: totals.length, objects: keys.length, bytesScanned: options.athena.bytesScanned() };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function totalOf(raw: Record<string, unknown>, key: string): LakeOrderTotal {
  const parsed = RowSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${key}: a training row is not an order total (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  const row = parsed.data;
  return {
    customerId: row.customer_id,
    type: row.type,
    orderId: row.order_id,
    occurredAt: isoOf(row.occurred_at),
    cents: Number(row.cents),
    units: row.units,
    country: row.country ?? null,
  };
}

/** Parquet timestamps come back as Dates (INT96 or INT64 micros); text as Athena would print it is accepted too. */
function isoOf(value: Date | string | bigint | number): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`).toISOString();
  return new Date(Number(value)).toISOString();
}

export function splitS3(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) throw new Error(`not an s3:// location: ${uri}`);
  return { bucket: match[1], prefix: match[2] };
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const { Key, Size } of page.Contents ?? []) if (Key && (Size ?? 1) > 0) keys.push(Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } })).catch(() => undefined);
  }
}
