import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBResult,
  type DuckDBValue,
} from '@duckdb/node-api';
import { ORDER_LINE_COLUMNS, ORDERS_DIR, PARTITION_COLUMN, PRODUCT_COLUMNS, PRODUCTS_DIR, sqlString, SUMMARY_TABLES, type LakeColumn } from '../lake/lakeLayout.ts';
import {
  checkParams,
  fillFragments,
  loadQueries,
  QueryEngineError,
  quotedName,
  tableRefs,
  type Column,
  type ColumnType,
  type QueryEngine,
  type QueryName,
  type QueryResult,
  type Row,
  type SqlFragments,
  type SqlParam,
  type SqlValue,
} from './queryEngine.ts';

/**
 * The embedded engine: DuckDB over the lake directory. Views `lake_orders` and `lake_products`
 * read the Parquet files (orders with hive_partitioning, `date` kept as VARCHAR as in Glue). By
 * default the engine loads them into in-memory tables once (`snapshot`), so warm queries cost a
 * few milliseconds instead of re-reading ~300 files; `snapshot: false` lists and queries the files
 * on every call (sees new files at once) and `refresh()` reloads a snapshot. Files are read by
 * their real paths, never through a curated partition's symlink (see lakeFiles). One connection stays open;
 * each query file is prepared once and run with its parameters bound, one query at a time.
 *
 * A snapshot does not change until `refresh()`, so the engine keeps the latest results (by query
 * and parameters, Athena's result reuse in miniature); callers must treat returned rows as
 * read-only, as LakeQueries does (it copies them into its own objects).
 */

export interface DuckDbEngineOptions {
  /** The lake root (holds orders/ and products/). */
  lakeDir: string;
  /** Load the lake into memory at open (default true). */
  snapshot?: boolean;
  /** DuckDB threads (default 2). */
  threads?: number;
  /** Where the .sql files are (default api/sql, or LAKE_SQL_DIR). */
  sqlDir?: string;
  /** Results kept for reuse with a snapshot (default 32, least recently used out; 0 disables). */
  resultCacheEntries?: number;
}

/** Larger results are not kept: they cost more memory than re-running them costs time. */
const MAX_CACHED_ROWS = 100_000;

export interface DuckDbEngine extends QueryEngine {
  readonly kind: 'duckdb';
  /** Re-reads the lake directory (new partitions, a rebuilt lake) and drops kept results. */
  refresh(): Promise<void>;
  /** The exact text each query runs (for tests and logs). */
  sqlText(name: QueryName): string;
}

export async function createDuckDbEngine(options: DuckDbEngineOptions): Promise<DuckDbEngine> {
  const lakeDir = resolve(options.lakeDir);
  if (!existsSync(lakeDir)) throw new QueryEngineError(`lake directory not found: ${lakeDir}`);
  const snapshot = options.snapshot ?? true;
  const instance = await DuckDBInstance.create(':memory:', { threads: String(options.threads ?? 2) });
  const connection = await instance.connect();
  const tables = tableRefs((table) => quotedName(snapshot ? table : `lake_${table}`));
  let texts: Record<QueryName, string>;
  try {
    texts = loadQueries(tables, options.sqlDir);
    await connection.run('SET parquet_metadata_cache = true');
    await defineTrinoFunctions(connection);
    await createLakeViews(connection, lakeDir);
    if (snapshot) await loadSnapshot(connection);
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw error;
  }

  // By text: a query with generated parts (QUERY_FRAGMENTS) is one statement per model.
  const prepared = new Map<string, DuckDBPreparedStatement>();
  const cache = new Map<string, QueryResult>();
  const cacheEntries = snapshot ? (options.resultCacheEntries ?? 32) : 0;
  const serial = new Serial();
  let closed = false;

  const statement = async (text: string) => {
    let found = prepared.get(text);
    if (!found) {
      // Statements of fitted models come and go with the fits: keep the latest few.
      if (prepared.size >= 64) {
        const [oldest, statement] = prepared.entries().next().value as [string, DuckDBPreparedStatement];
        statement.destroySync();
        prepared.delete(oldest);
      }
      found = await connection.prepare(text);
      prepared.set(text, found);
    }
    return found;
  };

  const relist = async () => {
    for (const found of prepared.values()) found.destroySync();
    prepared.clear();
    await createLakeViews(connection, lakeDir);
  };

  return {
    kind: 'duckdb',
    sqlText: (name) => texts[name],
    query: (name, params = [], fragments?: SqlFragments) =>
      serial.run(async () => {
        if (closed) throw new QueryEngineError('the DuckDB engine is closed');
        checkParams(name, params);
        const text = fillFragments(name, texts[name], fragments);
        const key = cacheEntries > 0 ? JSON.stringify([text, params]) : '';
        const cached = cache.get(key);
        if (cached) {
          cache.delete(key);
          cache.set(key, cached);
          return cached;
        }
        // Live: the files are listed again per query (new partitions and rebuilds show at once).
        if (!snapshot) await relist();
        const prepared = await statement(text);
        prepared.clearBindings();
        params.forEach((param, index) => bindParam(prepared, index + 1, param));
        let result: QueryResult;
        try {
          result = await decodeResult(await prepared.run());
        } catch (error) {
          throw new QueryEngineError(`DuckDB query ${name} failed: ${(error as Error).message}`, { cause: error });
        }
        if (cacheEntries > 0 && result.rows.length <= MAX_CACHED_ROWS) {
          cache.set(key, result);
          if (cache.size > cacheEntries) cache.delete(cache.keys().next().value as string);
        }
        return result;
      }),
    refresh: () =>
      serial.run(async () => {
        if (closed) return;
        cache.clear();
        await relist();
        if (snapshot) await loadSnapshot(connection);
      }),
    close: () =>
      serial.run(async () => {
        if (closed) return;
        closed = true;
        for (const found of prepared.values()) found.destroySync();
        prepared.clear();
        cache.clear();
        connection.closeSync();
        instance.closeSync();
      }),
  };
}

/**
 * The Trino functions the lake SQL uses that DuckDB lacks, as macros. `to_utf8` is the identity:
 * DuckDB's md5 of a VARCHAR hashes its UTF-8 bytes and returns them as lowercase hex, which sorts
 * as Trino's md5 varbinary does (byte by byte), the only use the SQL makes of it.
 */
export async function defineTrinoFunctions(connection: DuckDBConnection): Promise<void> {
  await connection.run('CREATE OR REPLACE MACRO to_utf8(text) AS text');
}

/**
 * `lake_orders`, `lake_products` and `lake_<summary>` over the files. A directory without Parquet
 * files yet (an empty lake, or one curated before the summaries existed) gets an empty view of
 * the same columns, so every query still runs.
 *
 * Orders are read by column name (`union_by_name`), as Athena reads Parquet through the Glue
 * schema: a nullable column that some or all files lack reads NULL there. That is how a lake
 * written before a column was added (`country`) keeps working, its lines without a country until
 * `demand-insights lake build` rewrites it; a file without a required column is refused.
 */
async function createLakeViews(connection: DuckDBConnection, lakeDir: string): Promise<void> {
  const orderFiles = lakeFiles(join(lakeDir, ORDERS_DIR), true);
  const productFiles = lakeFiles(join(lakeDir, PRODUCTS_DIR), false);
  const ordersSource = orderFiles.length > 0
    ? await ordersSelect(connection, orderFiles, join(lakeDir, ORDERS_DIR))
    : emptySelect([...ORDER_LINE_COLUMNS, { name: PARTITION_COLUMN, duckdb: 'VARCHAR', glue: 'string', nullable: false }]);
  const productsSource = productFiles.length > 0 ? `SELECT * FROM read_parquet(${fileList(productFiles)})` : emptySelect(PRODUCT_COLUMNS);
  await connection.run(`CREATE OR REPLACE VIEW ${quotedName('lake_orders')} AS ${ordersSource}`);
  await connection.run(`CREATE OR REPLACE VIEW ${quotedName('lake_products')} AS ${productsSource}`);
  for (const table of SUMMARY_TABLES) {
    const files = lakeFiles(join(lakeDir, table.name), false);
    const source = files.length > 0 ? `SELECT ${columnList(table.columns)} FROM read_parquet(${fileList(files)})` : emptySelect(table.columns);
    await connection.run(`CREATE OR REPLACE VIEW ${quotedName(`lake_${table.name}`)} AS ${source}`);
  }
}

/**
 * The Parquet files of a table directory (of each partition directory, when partitioned), by
 * their real paths. A curated partition (and the products directory) is a symlink to its current
 * rebuild, swapped by rename(2) (lake/duckdbCurationTarget.ts): read through the link, a query
 * that listed the old rebuild's files could open them after the swap inside the new rebuild,
 * where they do not exist. Resolved, the files listed are the rebuild's own, which stay readable
 * through the curation's grace period: each partition is read whole, from the old rebuild or the new.
 */
function lakeFiles(dir: string, partitioned: boolean): string[] {
  const real = realDir(dir);
  if (!real) return [];
  const parquet = (at: string) => readdirSync(at).filter((file) => file.endsWith('.parquet')).sort().map((file) => join(at, file));
  if (!partitioned) return parquet(real);
  const files: string[] = [];
  for (const entry of readdirSync(real).sort()) {
    if (!entry.startsWith(`${PARTITION_COLUMN}=`)) continue;
    const partition = realDir(join(real, entry));
    if (!partition) continue;
    // The real directory of a partition is its rebuild's `date=D`, so hive partitioning reads the same value.
    if (!partition.endsWith(`/${entry}`)) throw new QueryEngineError(`partition ${join(dir, entry)} points at ${partition}, not a ${entry} directory`);
    files.push(...parquet(partition));
  }
  return files;
}

/** The real path of a directory, or undefined when it (or its link's target) is gone. */
function realDir(path: string): string | undefined {
  try {
    const real = realpathSync(path);
    return statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

function fileList(files: readonly string[]): string {
  return `[${files.map(sqlString).join(', ')}]`;
}

/** The order-line columns in layout order, then the partition; NULL for a nullable column no file has. */
async function ordersSelect(connection: DuckDBConnection, list: readonly string[], dir: string): Promise<string> {
  const files = `read_parquet(${fileList(list)}, hive_partitioning = true, hive_types = {'${PARTITION_COLUMN}': VARCHAR}, union_by_name = true)`;
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${files}`);
  const present = new Set(described.getRowObjectsJson().map((row) => String(row.column_name)));
  const lacking = ORDER_LINE_COLUMNS.filter((column) => !column.nullable && !present.has(column.name)).map((column) => column.name);
  if (lacking.length > 0) {
    throw new QueryEngineError(`the order lines under ${dir} lack the column(s) ${lacking.join(', ')}: not a lake this version reads; rebuild it with demand-insights lake build`);
  }
  const columns = ORDER_LINE_COLUMNS.map((column) =>
    present.has(column.name) ? quotedName(column.name) : `CAST(NULL AS ${column.duckdb}) AS ${quotedName(column.name)}`,
  );
  return `SELECT ${[...columns, quotedName(PARTITION_COLUMN)].join(', ')} FROM ${files}`;
}

async function loadSnapshot(connection: DuckDBConnection): Promise<void> {
  const orderColumns = [...ORDER_LINE_COLUMNS.map((column) => column.name), PARTITION_COLUMN].map((column) => quotedName(column)).join(', ');
  // Sorted by customer so a customer's lines sit in few row groups, which zone maps then skip to.
  await connection.run(`CREATE OR REPLACE TABLE orders AS SELECT ${orderColumns} FROM lake_orders ORDER BY customer_id, occurred_at`);
  await connection.run(`CREATE OR REPLACE TABLE products AS SELECT ${PRODUCT_COLUMNS.map((column) => column.name).join(', ')} FROM lake_products`);
  for (const table of SUMMARY_TABLES) {
    await connection.run(`CREATE OR REPLACE TABLE ${quotedName(table.name)} AS SELECT ${columnList(table.columns)} FROM ${quotedName(`lake_${table.name}`)} ORDER BY ${table.sortedBy.join(', ')}`);
  }
}

function columnList(columns: readonly LakeColumn[]): string {
  return columns.map((column) => quotedName(column.name)).join(', ');
}

function emptySelect(columns: readonly LakeColumn[]): string {
  return `SELECT ${columns.map((column) => `CAST(NULL AS ${column.duckdb}) AS ${quotedName(column.name)}`).join(', ')} WHERE FALSE`;
}

/** Binds a caller value with the type its JS type implies. */
function bindParam(statement: DuckDBPreparedStatement, index: number, param: SqlParam): void {
  if (param === null) statement.bindNull(index);
  else if (typeof param === 'string') statement.bindVarchar(index, param);
  else if (typeof param === 'boolean') statement.bindBoolean(index, param);
  else if (Number.isSafeInteger(param)) statement.bindBigInt(index, BigInt(param));
  else statement.bindDouble(index, param);
}

/** DuckDB's column type, named as Athena names it. */
function columnTypeOf(typeId: DuckDBTypeId): ColumnType {
  switch (typeId) {
    case DuckDBTypeId.VARCHAR:
      return 'varchar';
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UINTEGER:
      return 'bigint';
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UTINYINT:
      return 'integer';
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      return 'double';
    case DuckDBTypeId.DECIMAL:
      return 'decimal';
    case DuckDBTypeId.DATE:
      return 'date';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'timestamp';
    case DuckDBTypeId.BOOLEAN:
      return 'boolean';
    default:
      throw new QueryEngineError(`unsupported DuckDB column type ${DuckDBTypeId[typeId] ?? typeId}`);
  }
}

/** A DuckDB value as the port's JS value. */
function decodeValue(value: DuckDBValue, type: ColumnType): SqlValue {
  if (value === null) return null;
  switch (type) {
    case 'varchar':
      return String(value);
    case 'bigint':
    case 'integer':
    case 'double':
      return Number(value);
    case 'decimal':
      return value instanceof DuckDBDecimalValue ? value.toDouble() : Number(value);
    case 'boolean':
      return Boolean(value);
    case 'date':
      if (value instanceof DuckDBDateValue) return value.toString();
      throw new QueryEngineError(`expected a DATE, got ${String(value)}`);
    case 'timestamp':
      return new Date(timestampMillis(value)).toISOString();
  }
}

function timestampMillis(value: DuckDBValue): number {
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) return Number(value.micros / 1000n);
  if (value instanceof DuckDBTimestampMillisecondsValue) return Number(value.millis);
  if (value instanceof DuckDBTimestampSecondsValue) return Number(value.seconds) * 1000;
  if (value instanceof DuckDBTimestampNanosecondsValue) return Number(value.nanos / 1_000_000n);
  throw new QueryEngineError(`expected a TIMESTAMP, got ${String(value)}`);
}

/**
 * Decodes a result chunk by chunk into row objects. DATE and TIMESTAMP cells repeat a lot (every
 * line of an order shares its time), so their strings are cached per query.
 */
async function decodeResult(result: DuckDBResult): Promise<QueryResult> {
  const columns: Column[] = result.columnNames().map((name, index) => ({ name, type: columnTypeOf(result.columnTypeId(index)) }));
  const rows: Row[] = [];
  const dates = new Map<number, string>();
  const times = new Map<bigint, string>();
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const count = chunk.rowCount;
    const base = rows.length;
    for (let r = 0; r < count; r++) rows.push({});
    for (let c = 0; c < columns.length; c++) {
      const { name, type } = columns[c];
      const vector = chunk.getColumnVector(c);
      for (let r = 0; r < count; r++) {
        const value = vector.getItem(r);
        let decoded: SqlValue;
        if (value === null) decoded = null;
        else if (type === 'date' && value instanceof DuckDBDateValue) {
          decoded = dates.get(value.days) ?? value.toString();
          dates.set(value.days, decoded);
        } else if (type === 'timestamp' && value instanceof DuckDBTimestampValue) {
          decoded = times.get(value.micros) ?? new Date(Number(value.micros / 1000n)).toISOString();
          times.set(value.micros, decoded);
        } else decoded = decodeValue(value, type);
        rows[base + r][name] = decoded;
      }
    }
  }
  return { columns, rows };
}

/** Runs tasks one at a time, in call order. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
