import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ORDER_LINE_COLUMNS, ORDERS_DIR, PARTITION_COLUMN, PRODUCTS_DIR, sqlString, SUMMARY_TABLES } from '../api/lake/lakeLayout.ts';
import { renderCurationSql } from './curationSql.ts';
import { type CurationTarget, type DayRange, isRunId, newRunId, type RawDayCount, runStartMs, type SupersededRemoval, type TimeBounds } from './curationTarget.ts';
import { RAW_ORDERS_DIR } from './rawOrders.ts';

/**
 * The curation over a local lake directory, with DuckDB: raw JSON lines under `raw/orders/`, as
 * the local stack and `lake build` write them (rawOrders.ts), curated into the layout the API
 * reads. A rebuild is written to `versions/orders/<run>/date=D/`; the live partition
 * `orders/date=D` is a symlink to it, swapped by rename(2), which replaces it atomically: a reader
 * lists either the old rebuild's files or the new one's, never a mix or a half-written file.
 * Products and the summary tables are swapped the same way (`products` → `versions/products/<run>`,
 * `customer_summary` → `versions/customer_summary/<run>`, ...). File names carry the
 * run id, so no reader's cached Parquet metadata is ever taken for another file's.
 *
 * The SQL is lake/sql's, as Athena runs it; DuckDB lacks three Presto functions it uses, defined
 * here as macros: from_iso8601_timestamp (a cast to TIMESTAMPTZ), sequence (generate_series) and
 * cardinality of a list (len). The session time zone is UTC, so the AT TIME ZONE 'UTC' cast gives
 * the same wall time as Athena's.
 */

const VERSIONS_DIR = 'versions';
const LINKS_DIR = join(VERSIONS_DIR, 'links');
const RETIRED_DIR = join(VERSIONS_DIR, 'retired');

const RAW_COLUMNS =
  "{type: 'VARCHAR', orderId: 'VARCHAR', customerId: 'VARCHAR', occurredAt: 'VARCHAR', currency: 'VARCHAR', country: 'VARCHAR', " +
  `lines: 'STRUCT("productId" VARCHAR, "categoryId" VARCHAR, quantity DOUBLE, "unitPrice" DOUBLE)[]'}`;

export interface DuckdbCurationOptions {
  /** DuckDB threads (default 2). */
  threads?: number;
  /**
   * DuckDB's memory limit (default 1GB): the curation runs inside the local job's process, beside
   * its stream and state, and DuckDB's own default is 80% of the machine's memory. A rebuild's
   * sort beyond it spills to the system's temp directory.
   */
  memoryLimit?: string;
}

export async function openDuckdbCurationTarget(root: string, options: DuckdbCurationOptions = {}): Promise<CurationTarget> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads ?? 2),
    memory_limit: options.memoryLimit ?? '1GB',
    temp_directory: join(tmpdir(), 'demand-insights-duckdb-spill'),
  });
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  await connection.run('CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)');
  await connection.run('CREATE MACRO sequence(first, last) AS generate_series(first, last)');
  await connection.run('CREATE MACRO cardinality(list) AS len(list)');
  let scanned = 0;
  const paths = lakePaths(root);

  const rawView = async (range: DayRange): Promise<boolean> => {
    const files = await rawFiles(paths.raw, range);
    if (files.length === 0) return false;
    scanned += await totalBytes(files);
    const source =
      `read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited', ignore_errors = true, ` +
      `hive_partitioning = true, hive_types = {'date': VARCHAR}, columns = ${RAW_COLUMNS})`;
    await connection.run(
      `CREATE OR REPLACE VIEW orders_raw AS SELECT type, "orderId" AS orderid, "customerId" AS customerid, "occurredAt" AS occurredat, ` +
        `currency, country, lines, "date" AS order_date FROM ${source}`,
    );
    return true;
  };

  const linesView = async (name: string, dirs: readonly string[]): Promise<void> => {
    const files = (await Promise.all(dirs.map((dir) => parquetFiles(dir)))).flat();
    scanned += await totalBytes(files);
    const read = `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true, hive_types = {'${PARTITION_COLUMN}': VARCHAR}, union_by_name = true)`;
    // By the layout's columns, as Athena reads them through Glue: one no file has (country, in a lake older than it) reads NULL.
    const present = files.length ? new Set((await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${read}`)).getRowObjectsJson().map((row) => String(row.column_name))) : new Set<string>();
    const cells = ORDER_LINE_COLUMNS.map((c) => (present.has(c.name) ? `"${c.name}"` : `CAST(NULL AS ${c.duckdb}) AS ${c.name}`));
    const source = files.length
      ? `SELECT ${cells.join(', ')}, "${PARTITION_COLUMN}" FROM ${read}`
      : `SELECT ${[...cells, `CAST(NULL AS VARCHAR) AS "${PARTITION_COLUMN}"`].join(', ')} WHERE FALSE`;
    await connection.run(`CREATE OR REPLACE VIEW ${name} AS ${source}`);
  };

  const dayCounts = async (sql: string): Promise<Map<string, number>> => {
    const rows = (await connection.runAndReadAll(sql)).getRowObjectsJson();
    return new Map(rows.map((row) => [String(row.date), Number(row.lines)]));
  };

  return {
    kind: 'duckdb',
    async rawDayCounts(range: DayRange, bounds: TimeBounds): Promise<RawDayCount[]> {
      if (!(await rawView(range))) return [];
      const rows = (await connection.runAndReadAll(renderCurationSql('raw_day_counts', { raw: 'orders_raw' }, { ...range, ...bounds }))).getRowObjectsJson();
      return rows.map((row) => ({ date: String(row.date), events: Number(row.events), distinctEvents: Number(row.distinct_events) }));
    },
    async curatedDayCounts(range: DayRange): Promise<Map<string, number>> {
      await linesView('order_lines', await liveDays(paths.orders, range));
      return dayCounts(renderCurationSql('curated_day_counts', { orders: 'order_lines' }, range));
    },
    async stageOrderLines(runId: string, range: DayRange, bounds: TimeBounds): Promise<Map<string, number>> {
      if (!(await rawView(range))) return new Map();
      const stage = join(paths.versions, ORDERS_DIR, runId);
      const select = renderCurationSql('curate_order_lines', { raw: 'orders_raw' }, { ...range, ...bounds });
      await mkdir(join(stage, '..'), { recursive: true });
      const columns = [...ORDER_LINE_COLUMNS.map((column) => column.name), PARTITION_COLUMN].map((name) => `"${name}"`).join(', ');
      await connection.run(
        `COPY (SELECT ${columns} FROM (${select}) ORDER BY occurred_at, order_id, product_id) TO ${sqlString(stage)} ` +
          `(FORMAT PARQUET, COMPRESSION SNAPPY, PARTITION_BY ("${PARTITION_COLUMN}"), FILENAME_PATTERN '${runId}-{i}', OVERWRITE_OR_IGNORE)`,
      );
      const days = existsSync(stage) ? (await readdir(stage)).filter((name) => name.startsWith(`${PARTITION_COLUMN}=`)) : [];
      const inRange = days.filter((name) => {
        const day = name.slice(PARTITION_COLUMN.length + 1);
        return range.from <= day && day <= range.to;
      });
      await linesView('order_lines_stage', inRange.map((name) => join(stage, name)));
      return dayCounts(renderCurationSql('curated_day_counts', { orders: 'order_lines_stage' }, range));
    },
    async publishOrderLines(runId: string, _range: DayRange, days: readonly string[], drop: readonly string[]): Promise<void> {
      await mkdir(paths.orders, { recursive: true });
      for (const day of days) {
        const partition = `${PARTITION_COLUMN}=${day}`;
        await swapLink(paths, join(paths.orders, partition), join(paths.versions, ORDERS_DIR, runId, partition), runId);
      }
      for (const day of drop) await rm(join(paths.orders, `${PARTITION_COLUMN}=${day}`), { force: true, recursive: false }).catch(() => undefined);
    },
    async rebuildProducts(runId: string): Promise<void> {
      await linesView('order_lines', await liveDays(paths.orders));
      const dir = join(paths.versions, PRODUCTS_DIR, runId);
      await mkdir(dir, { recursive: true });
      const select = renderCurationSql('curate_products', { orders: 'order_lines' });
      await connection.run(`COPY (SELECT * FROM (${select}) ORDER BY product_id) TO ${sqlString(join(dir, `${runId}-0.parquet`))} (FORMAT PARQUET, COMPRESSION SNAPPY)`);
      await swapLink(paths, paths.products, dir, runId);
    },
    async rebuildSummaries(runId: string): Promise<void> {
      await linesView('order_lines', await liveDays(paths.orders));
      for (const table of SUMMARY_TABLES) {
        const dir = join(paths.versions, table.name, runId);
        await mkdir(dir, { recursive: true });
        const select = renderCurationSql(`curate_${table.name}` as const, { orders: 'order_lines' });
        // DuckDB sums BIGINTs into HUGEINT: cast to the layout's (and Glue's) types.
        const columns = table.columns.map((column) => `CAST(${column.name} AS ${column.duckdb}) AS ${column.name}`).join(', ');
        await connection.run(
          `COPY (SELECT ${columns} FROM (${select}) ORDER BY ${table.sortedBy.join(', ')}) TO ${sqlString(join(dir, `${runId}-0.parquet`))} (FORMAT PARQUET, COMPRESSION SNAPPY)`,
        );
        await swapLink(paths, join(paths.root, table.name), dir, runId);
      }
    },
    summariesBuilt: async () => SUMMARY_TABLES.every((table) => existsSync(join(paths.root, table.name))),
    async removeSuperseded(nowMs: number, graceMs: number): Promise<SupersededRemoval> {
      try {
        return { removed: await removeSuperseded(paths, nowMs - graceMs), failed: 0, refused: [], error: null };
      } catch (error) {
        return { removed: 0, failed: 0, refused: [], error: `clean-up stopped: ${(error as Error).message}` };
      }
    },
    bytesScanned: () => scanned,
    async close(): Promise<void> {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

interface LakePaths {
  root: string;
  raw: string;
  orders: string;
  products: string;
  versions: string;
  links: string;
  retired: string;
}

function lakePaths(root: string): LakePaths {
  return {
    root,
    raw: join(root, RAW_ORDERS_DIR),
    orders: join(root, ORDERS_DIR),
    products: join(root, PRODUCTS_DIR),
    versions: join(root, VERSIONS_DIR),
    links: join(root, LINKS_DIR),
    retired: join(root, RETIRED_DIR),
  };
}

/**
 * Points `live` at `target` atomically: a new relative symlink is made beside the versions and
 * renamed over the live one. A live path that is a real directory (a lake written before
 * curation) is first moved aside into versions/retired/<run>/, the one moment a reader may find
 * the partition missing.
 */
async function swapLink(paths: LakePaths, live: string, target: string, runId: string): Promise<void> {
  const current = await lstat(live).catch(() => undefined);
  if (current?.isDirectory()) {
    const retired = join(paths.retired, runId, relative(paths.root, live));
    await mkdir(join(retired, '..'), { recursive: true });
    await rename(live, retired);
  }
  await mkdir(paths.links, { recursive: true });
  const temporary = join(paths.links, `${relative(paths.root, live).replaceAll('/', '_')}.${runId}`);
  await rm(temporary, { force: true });
  await symlink(relative(join(live, '..'), target), temporary);
  await rename(temporary, live);
}

/** Rebuilds no live link points at, of runs started before `beforeMs`; how many were removed. */
async function removeSuperseded(paths: LakePaths, beforeMs: number): Promise<number> {
  const live = new Set<string>();
  const liveTarget = async (path: string) => {
    const link = await readlink(path).catch(() => undefined);
    if (link) live.add(join(path, '..', link));
  };
  for (const name of existsSync(paths.orders) ? await readdir(paths.orders) : []) await liveTarget(join(paths.orders, name));
  await liveTarget(paths.products);
  for (const table of SUMMARY_TABLES) await liveTarget(join(paths.root, table.name));

  let removed = 0;
  const old = (run: string) => isRunId(run) && (runStartMs(run) ?? Infinity) < beforeMs;
  for (const table of [ORDERS_DIR, PRODUCTS_DIR, ...SUMMARY_TABLES.map((summary) => summary.name)]) {
    const base = join(paths.versions, table);
    for (const run of existsSync(base) ? await readdir(base) : []) {
      if (!old(run)) continue;
      const runDir = join(base, run);
      const parts = table === ORDERS_DIR ? (await readdir(runDir)).map((name) => join(runDir, name)) : [runDir];
      for (const part of parts.filter((path) => !live.has(path))) {
        await rm(part, { recursive: true, force: true });
        removed++;
      }
      if (existsSync(runDir) && (await readdir(runDir)).length === 0) await rm(runDir, { recursive: true, force: true });
    }
  }
  for (const run of existsSync(paths.retired) ? await readdir(paths.retired) : []) {
    if (!old(run)) continue;
    await rm(join(paths.retired, run), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** The raw objects of the range's days. */
async function rawFiles(rawDir: string, range: DayRange): Promise<string[]> {
  if (!existsSync(rawDir)) return [];
  const files: string[] = [];
  for (const name of (await readdir(rawDir)).sort()) {
    const day = name.startsWith('date=') ? name.slice(5) : '';
    if (day < range.from || day > range.to) continue;
    for (const file of (await readdir(join(rawDir, name))).sort()) {
      if (file.endsWith('.json.gz') || file.endsWith('.json')) files.push(join(rawDir, name, file));
    }
  }
  return files;
}

/** The live partition directories (of the range, when given). */
async function liveDays(ordersDir: string, range?: DayRange): Promise<string[]> {
  if (!existsSync(ordersDir)) return [];
  return (await readdir(ordersDir))
    .filter((name) => name.startsWith(`${PARTITION_COLUMN}=`))
    .filter((name) => !range || (range.from <= name.slice(PARTITION_COLUMN.length + 1) && name.slice(PARTITION_COLUMN.length + 1) <= range.to))
    .map((name) => join(ordersDir, name))
    .filter((path) => existsSync(path));
}

async function parquetFiles(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.parquet')).sort().map((name) => join(dir, name));
}

async function totalBytes(files: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  return bytes;
}

/**
 * The summary tables of a local lake whose order lines were written some other way (`buildLake`,
 * the synthetic benchmark lake), by the same curation target and SQL as every curation run, so
 * what they read is what production reads.
 */
export async function rebuildLocalSummaries(root: string, options: DuckdbCurationOptions & { nowMs?: number } = {}): Promise<void> {
  const target = await openDuckdbCurationTarget(root, options);
  try {
    await target.rebuildSummaries(newRunId(options.nowMs ?? Date.now()));
  } finally {
    await target.close();
  }
}
