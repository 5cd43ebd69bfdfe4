import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ORDERS_DIR, PARTITION_COLUMN, PRODUCTS_DIR, sqlString } from '../api/lake/lakeLayout.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds, type OrderEvent } from '../models/customer/orderEvent.ts';
import { type CurationReport, curateLake } from './curateLake.ts';
import type { CurationRequest } from './curationWindow.ts';
import { openDuckdbCurationTarget } from './duckdbCurationTarget.ts';
import { deliverRawOrders, RAW_DIR } from './rawOrders.ts';

/**
 * The curation over a local lake directory, as `lake curate`, `lake build` and the local stack
 * run it: the same core and SQL as the Lambda, on DuckDB.
 */

export interface LocalCurationOptions {
  nowMs?: number;
  lookbackDays?: number;
  eventTime?: EventTimeBounds;
  graceMs?: number;
}

export async function curateLocalLake(root: string, request: CurationRequest, options: LocalCurationOptions = {}): Promise<CurationReport> {
  const target = await openDuckdbCurationTarget(root);
  try {
    return await curateLake(target, request, {
      nowMs: options.nowMs ?? Date.now(),
      lookbackDays: options.lookbackDays ?? 3,
      eventTime: options.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS,
      graceMs: options.graceMs ?? 3_600_000,
    });
  } finally {
    await target.close();
  }
}

/**
 * A whole lake from events, through the raw path: the lake's orders, products, rebuilds and raw
 * files are cleared, the events written as Firehose would (one delivery), and every day curated.
 */
export async function buildLakeThroughRaw(events: readonly OrderEvent[], root: string, options: LocalCurationOptions = {}): Promise<CurationReport> {
  await mkdir(root, { recursive: true });
  for (const dir of [ORDERS_DIR, PRODUCTS_DIR, 'versions', RAW_DIR]) await rm(join(root, dir), { recursive: true, force: true });
  await deliverRawOrders(root, events.map((event) => JSON.stringify(event)), options.nowMs);
  const days = (await readdir(join(root, RAW_DIR, ORDERS_DIR)).catch(() => [] as string[])).filter((name) => name.startsWith('date=')).map((name) => name.slice(5)).sort();
  if (days.length === 0) {
    await mkdir(join(root, ORDERS_DIR), { recursive: true });
    return curateLocalLake(root, {}, options);
  }
  return curateLocalLake(root, { from: days[0], to: days[days.length - 1] }, { ...options, graceMs: 0 });
}

export interface LakeFigures {
  orderLines: number;
  orderTypeLines: number;
  returnLines: number;
  events: number;
  customers: number;
  products: number;
  categories: number;
  days: number;
  firstDay: string | null;
  lastDay: string | null;
  files: number;
  bytes: number;
}

/** What a local lake holds now, read from its live files. */
export async function lakeFigures(root: string): Promise<LakeFigures> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const orderFiles = await liveFiles(join(root, ORDERS_DIR), true);
    const productFiles = await liveFiles(join(root, PRODUCTS_DIR), false);
    const list = (files: string[]) => `[${files.map(sqlString).join(', ')}]`;
    const orders = orderFiles.length
      ? (await connection.runAndReadAll(
          `SELECT COUNT(*), COUNT(*) FILTER (WHERE type = 'order'), COUNT(*) FILTER (WHERE type = 'return'), COUNT(DISTINCT (type, order_id)),
                  COUNT(DISTINCT customer_id), COUNT(DISTINCT "${PARTITION_COLUMN}"), MIN("${PARTITION_COLUMN}"), MAX("${PARTITION_COLUMN}")
           FROM read_parquet(${list(orderFiles)}, hive_partitioning = true, hive_types = {'${PARTITION_COLUMN}': VARCHAR}, union_by_name = true)`,
        )).getRows()[0]
      : [0, 0, 0, 0, 0, 0, null, null];
    const products = productFiles.length ? (await connection.runAndReadAll(`SELECT COUNT(*), COUNT(DISTINCT category_id) FROM read_parquet(${list(productFiles)})`)).getRows()[0] : [0, 0];
    let bytes = 0;
    for (const file of [...orderFiles, ...productFiles]) bytes += (await stat(file)).size;
    const [lines, orderLines, returnLines, events, customers, days, first, last] = orders;
    return {
      orderLines: Number(lines),
      orderTypeLines: Number(orderLines),
      returnLines: Number(returnLines),
      events: Number(events),
      customers: Number(customers),
      products: Number(products[0]),
      categories: Number(products[1]),
      days: Number(days),
      firstDay: first === null ? null : String(first),
      lastDay: last === null ? null : String(last),
      files: orderFiles.length + productFiles.length,
      bytes,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function liveFiles(dir: string, partitioned: boolean): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  if (!partitioned) return names.filter((name) => name.endsWith('.parquet')).sort().map((name) => join(dir, name));
  const files: string[] = [];
  for (const name of names.sort()) {
    for (const file of await readdir(join(dir, name)).catch(() => [] as string[])) if (file.endsWith('.parquet')) files.push(join(dir, name, file));
  }
  return files;
}
