import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, timestampValue, type DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds, eventTimeProblem, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { readDataset, type DatasetFormat } from '../../producers/datasets/index.ts';
import type { ReadReport } from '../../producers/datasets/readReport.ts';
import { columnDefinitions, ORDER_LINE_COLUMNS, ORDERS_DIR, PARTITION_COLUMN, PRODUCT_COLUMNS, PRODUCTS_DIR, sqlString } from './lakeLayout.ts';
import { rebuildLocalSummaries } from '../../lake/duckdbCurationTarget.ts';

/**
 * Writes the lake (lakeLayout.ts) from OrderEvents with DuckDB: every line is appended to an
 * in-memory table, then COPY writes the orders Parquet partitioned by day and the products
 * Parquet. An existing `orders/` and `products/` under the root are replaced; nothing else there
 * is touched.
 */

export interface LakeSummary {
  root: string;
  events: number;
  /** Events left out because their time is outside the event-time bounds (as the consumer dead-letters them). */
  outOfBounds: number;
  orderLines: number;
  /** Lines of orders and of returns. */
  orderTypeLines: number;
  returnLines: number;
  customers: number;
  products: number;
  categories: number;
  /** Daily partitions written. */
  days: number;
  firstDay: string | null;
  lastDay: string | null;
  files: number;
  bytes: number;
  ms: number;
}

export interface BuildLakeOptions {
  /** DuckDB threads (default 2). */
  threads?: number;
  /** Event times the lake takes (default DEFAULT_EVENT_TIME_BOUNDS), as of `nowMs` (default: now). */
  eventTime?: EventTimeBounds;
  nowMs?: number;
}

/**
 * Events outside the event-time bounds are left out here, at the lake's door, rather than by
 * every query: the bounds are judged once, at write time, as the consumer judges them on arrival,
 * so a lake row and the stream never disagree about whether an event counts.
 */
export async function buildLake(allEvents: readonly OrderEvent[], root: string, options: BuildLakeOptions = {}): Promise<LakeSummary> {
  const started = performance.now();
  const bounds = options.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS;
  const nowMs = options.nowMs ?? Date.now();
  const events = allEvents.filter((event) => eventTimeProblem(Date.parse(event.occurredAt), bounds, nowMs) === undefined);
  const instance = await DuckDBInstance.create(':memory:', { threads: String(options.threads ?? 2) });
  const connection = await instance.connect();
  try {
    await mkdir(root, { recursive: true });
    const ordersDir = join(root, ORDERS_DIR);
    const productsDir = join(root, PRODUCTS_DIR);
    await rm(ordersDir, { recursive: true, force: true });
    await rm(productsDir, { recursive: true, force: true });
    await mkdir(productsDir, { recursive: true });

    await connection.run(`CREATE TABLE order_lines (${columnDefinitions(ORDER_LINE_COLUMNS)})`);
    await appendLines(connection, events);

    const partition = `strftime(occurred_at, '%Y-%m-%d') AS "${PARTITION_COLUMN}"`;
    const columns = ORDER_LINE_COLUMNS.map((column) => column.name).join(', ');
    const lines = await count(connection, 'SELECT COUNT(*) FROM order_lines');
    if (lines > 0) {
      await connection.run(
        `COPY (SELECT ${columns}, ${partition} FROM order_lines ORDER BY occurred_at, order_id, product_id) ` +
          `TO ${sqlString(ordersDir)} (FORMAT PARQUET, COMPRESSION SNAPPY, PARTITION_BY ("${PARTITION_COLUMN}"), FILENAME_PATTERN 'part-{i}')`,
      );
    } else {
      await mkdir(ordersDir, { recursive: true });
    }
    // One row per product, with the category of its latest line that has one.
    await connection.run(
      `COPY (
         SELECT product_id, category_id FROM (
           SELECT product_id,
                  category_id,
                  ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY category_id IS NULL, occurred_at DESC, category_id DESC) AS pick
           FROM order_lines
         ) WHERE pick = 1 ORDER BY product_id
       ) TO ${sqlString(join(productsDir, 'part-0.parquet'))} (FORMAT PARQUET, COMPRESSION SNAPPY)`,
    );

    await rebuildLocalSummaries(root, { threads: options.threads });

    const stats = await connection.runAndReadAll(
      `SELECT COUNT(*) FILTER (WHERE type = 'order'), COUNT(*) FILTER (WHERE type = 'return'),
              COUNT(DISTINCT customer_id), COUNT(DISTINCT product_id),
              COUNT(DISTINCT strftime(occurred_at, '%Y-%m-%d')),
              strftime(MIN(occurred_at), '%Y-%m-%d'), strftime(MAX(occurred_at), '%Y-%m-%d')
       FROM order_lines`,
    );
    const [orderTypeLines, returnLines, customers, products, days, firstDay, lastDay] = stats.getRows()[0];
    const categories = await count(connection, `SELECT COUNT(DISTINCT category_id) FROM read_parquet(${sqlString(join(productsDir, '*.parquet'))})`);
    const { files, bytes } = await fileStats(root);
    return {
      root,
      events: events.length,
      outOfBounds: allEvents.length - events.length,
      orderLines: lines,
      orderTypeLines: Number(orderTypeLines),
      returnLines: Number(returnLines),
      customers: Number(customers),
      products: Number(products),
      categories,
      days: Number(days),
      firstDay: firstDay === null ? null : String(firstDay),
      lastDay: lastDay === null ? null : String(lastDay),
      files,
      bytes,
      ms: performance.now() - started,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Reads a dataset and writes its lake. */
export async function buildLakeFromDataset(
  path: string,
  format: DatasetFormat,
  root: string,
  options: BuildLakeOptions = {},
): Promise<{ summary: LakeSummary; report: ReadReport; readMs: number }> {
  const started = performance.now();
  const { events, report } = await readDataset(path, format, { eventTime: options.eventTime, nowMs: options.nowMs });
  const readMs = performance.now() - started;
  const summary = await buildLake(events, root, options);
  return { summary, report, readMs };
}

async function appendLines(connection: DuckDBConnection, events: readonly OrderEvent[]): Promise<void> {
  const appender = await connection.createAppender('order_lines');
  try {
    for (const event of events) {
      const ms = Date.parse(event.occurredAt);
      if (Number.isNaN(ms)) throw new Error(`order ${event.orderId}: occurredAt is not a time: ${event.occurredAt}`);
      const occurredAt = timestampValue(BigInt(ms) * 1000n);
      for (const line of event.lines) {
        appender.appendVarchar(event.orderId);
        appender.appendVarchar(event.customerId);
        appender.appendVarchar(line.productId);
        if (line.categoryId === undefined) appender.appendNull();
        else appender.appendVarchar(line.categoryId);
        appender.appendDouble(line.quantity);
        appender.appendDouble(line.unitPrice);
        appender.appendTimestamp(occurredAt);
        appender.appendVarchar(event.type);
        if (event.country === undefined) appender.appendNull();
        else appender.appendVarchar(event.country);
        appender.endRow();
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

async function count(connection: DuckDBConnection, sql: string): Promise<number> {
  const reader = await connection.runAndReadAll(sql);
  return Number(reader.getRows()[0][0]);
}

async function fileStats(root: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const dir of [ORDERS_DIR, PRODUCTS_DIR]) {
    const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue;
      files++;
      bytes += (await stat(join(entry.parentPath, entry.name))).size;
    }
  }
  return { files, bytes };
}
