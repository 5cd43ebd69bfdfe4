import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ORDERS_DIR, PRODUCTS_DIR, sqlString } from '../api/lake/lakeLayout.ts';
import { rebuildLocalSummaries } from './duckdbCurationTarget.ts';

/**
 * A large curated lake written directly by DuckDB SQL (range() and hash-based pseudo-random
 * numbers), in the layout `lake build` writes, for benchmarks and scale tests: a million
 * customers' history in seconds, where the JS event generator would take minutes and gigabytes.
 *
 * Shape: `customers` customers, each with at least one order (the first `customers` orders go one
 * to each), the rest of the orders (3.35 per customer in all) to customers skewed towards low ids
 * (u² of a uniform u), so frequency varies; 1..5 lines an order (3 on average: 10M lines for 1M
 * customers); products Zipf-like (u³ over `products`), 200 categories; a base price per product
 * moved by ±10% week by week, and units that fall with the price's rise (elasticity about −1.5),
 * so every product has price variation to estimate; one order in 40 a return; 730 days from
 * 2023-01-01. Deterministic for a DuckDB version (hash()). The summary tables the API reads are
 * then built by the curation's own target and SQL (rebuildLocalSummaries), as every run builds them.
 */
export interface SyntheticLakeOptions {
  customers: number;
  products?: number;
  days?: number;
  threads?: number;
}

export interface SyntheticLakeSummary {
  customers: number;
  orders: number;
  orderLines: number;
  products: number;
  ms: number;
  /** Of `ms`, the summary tables' rebuild. */
  summariesMs: number;
}

export async function writeSyntheticLake(dir: string, options: SyntheticLakeOptions): Promise<SyntheticLakeSummary> {
  const started = performance.now();
  const customers = integer(options.customers, 'customers');
  const products = integer(options.products ?? Math.max(100, Math.round(customers / 50)), 'products');
  const days = integer(options.days ?? 730, 'days');
  const orders = Math.ceil(customers * 3.35);
  await mkdir(join(dir, PRODUCTS_DIR), { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', { threads: String(options.threads ?? 2), preserve_insertion_order: 'false' });
  const connection = await instance.connect();
  let row: Record<string, unknown>;
  try {
    // u(x, salt): a uniform in [0, 1) from the hash of (x, salt).
    await connection.run(`CREATE MACRO u(x, salt) AS CAST(hash(x, salt) % 1000000007 AS DOUBLE) / 1000000007`);
    await connection.run(`
      CREATE TABLE order_heads AS
      SELECT
        o,
        CASE WHEN o < ${customers} THEN o ELSE CAST(floor(${customers} * u(o, 1) * u(o, 1)) AS BIGINT) END AS customer,
        CAST(floor(${days} * u(o, 2)) AS INTEGER) AS day,
        CAST(floor(86400 * u(o, 3)) AS INTEGER) AS second,
        1 + CAST(floor(5 * u(o, 4)) AS INTEGER) AS lines,
        CASE WHEN o % 40 = 39 THEN 'return' ELSE 'order' END AS type,
        ['GB', 'DE', 'FR', 'NL', 'IE'][1 + CAST(floor(5 * u(o, 5)) AS INTEGER)] AS country
      FROM range(${orders}) AS t(o)`);
    await connection.run(`
      COPY (
        SELECT
          'O' || CAST(o AS VARCHAR) AS order_id,
          'C' || lpad(CAST(customer AS VARCHAR), 8, '0') AS customer_id,
          'P' || lpad(CAST(product AS VARCHAR), 6, '0') AS product_id,
          'K' || lpad(CAST(product % 200 AS VARCHAR), 3, '0') AS category_id,
          greatest(1e0, round((1 + floor(12 * u(o * 8 + line, 7))) * pow(weekly, -1.5))) AS quantity,
          round(base * weekly, 2) AS unit_price,
          TIMESTAMP '2023-01-01' + to_days(day) + to_seconds(second) AS occurred_at,
          type,
          country,
          strftime(DATE '2023-01-01' + day, '%Y-%m-%d') AS date
        FROM (
          SELECT
            h.*, line, product,
            1 + floor(5000 * u(product, 8)) / 100 AS base,
            1 + 0.1 * (floor(7 * u(product * 1000 + day // 7, 9)) - 3) / 3 AS weekly
          FROM (
            SELECT h.*, line, CAST(floor(${products} * u(o * 8 + line, 6) * u(o * 8 + line, 6) * u(o * 8 + line, 6)) AS BIGINT) AS product
            FROM order_heads AS h, range(5) AS l(line)
            WHERE line < h.lines
          ) AS h
        )
      ) TO ${sqlString(join(dir, ORDERS_DIR))} (FORMAT PARQUET, PARTITION_BY (date), OVERWRITE_OR_IGNORE)`);
    await connection.run(`
      COPY (
        SELECT 'P' || lpad(CAST(p AS VARCHAR), 6, '0') AS product_id, 'K' || lpad(CAST(p % 200 AS VARCHAR), 3, '0') AS category_id
        FROM range(${products}) AS t(p)
      ) TO ${sqlString(join(dir, PRODUCTS_DIR, 'part-0.parquet'))} (FORMAT PARQUET)`);
    const counts = await connection.runAndReadAll(`
      SELECT COUNT(*) AS lines, COUNT(DISTINCT customer_id) AS customers, COUNT(DISTINCT order_id) AS orders, COUNT(DISTINCT product_id) AS products
      FROM read_parquet(${sqlString(join(dir, ORDERS_DIR, '*', '*.parquet'))})`);
    [row] = counts.getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  const summariesStarted = performance.now();
  await rebuildLocalSummaries(dir, { threads: options.threads, memoryLimit: '4GB' });
  const ms = performance.now();
  return { customers: Number(row.customers), orders: Number(row.orders), orderLines: Number(row.lines), products: Number(row.products), ms: ms - started, summariesMs: ms - summariesStarted };
}

function integer(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
