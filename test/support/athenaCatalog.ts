import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * The Glue catalog behind the Athena stand-in (athenaEndpoint.ts), for the statements the lake's
 * curation sends: CTAS into an external location, ALTER TABLE … ADD / SET LOCATION / DROP
 * PARTITION, ALTER TABLE … SET LOCATION, DROP TABLE, and the raw table `orders_raw` over
 * Firehose's JSON lines. Written from Athena's documentation, not from the production code:
 *
 * - a table reads the files under its location; a partitioned table reads, for each registered
 *   partition, the files under that partition's location, with the partition value from the
 *   catalog (not the path). A view is rebuilt on each catalog change, so a statement sees the
 *   catalog as it was when it started (Athena plans a query against the catalog once).
 * - CTAS fails when its external location already holds files (HIVE_PATH_ALREADY_EXISTS) and
 *   writes Parquet there, partitioned into `key=value/` directories by `partitioned_by`;
 *   dropping an external table leaves its files.
 * - orders_raw reads `<rawDir>/date=D/*` JSON lines (partition projection on order_date), matching
 *   the camelCase keys to Glue's lower-case columns as the OpenX SerDe does; malformed lines are
 *   skipped (ignore.malformed.json). DataScannedInBytes of a statement over it is the size of the
 *   objects of the days its `order_date BETWEEN 'a' AND 'b'` names: JSON is read whole.
 * - the Presto functions DuckDB lacks are macros: from_iso8601_timestamp, sequence, cardinality, to_utf8.
 */

export interface CatalogTable {
  name: string;
  /** Columns with their DuckDB types, partition keys excluded. */
  columns: { name: string; type: string }[];
  partitionKey?: string;
  /** Local directory of an unpartitioned table. */
  location?: string;
  /** Partition value → local directory. */
  partitions?: Map<string, string>;
}

export interface DdlOutcome {
  ok: boolean;
  reason?: string;
}

const q = (text: string) => `'${text.replaceAll("'", "''")}'`;
const id = (name: string) => `"${name.replaceAll('"', '""')}"`;

export class AthenaCatalog {
  private readonly tables = new Map<string, CatalogTable>();

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly database: string,
    /** s3://… prefix that maps to `lakeDir`. */
    private readonly s3Root: string,
    private readonly lakeDir: string,
    private readonly rawDir: string | undefined,
  ) {}

  async init(): Promise<void> {
    await this.connection.run("SET TimeZone = 'UTC'");
    await this.connection.run('CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)');
    await this.connection.run('CREATE MACRO sequence(first, last) AS generate_series(first, last)');
    await this.connection.run('CREATE MACRO cardinality(list) AS len(list)');
    // md5 of a VARCHAR is DuckDB's hex of the UTF-8 bytes' digest, which sorts as Trino's varbinary.
    await this.connection.run('CREATE MACRO to_utf8(text) AS text');
    // Unqualified names resolve in the QueryExecutionContext's database (there is only one here).
    await this.connection.run(`SET search_path = ${q(`${this.database},main`)}`);
  }

  /** Takes over a table the endpoint created from Terraform, discovering its partitions as MSCK REPAIR would. */
  adopt(table: CatalogTable, dir: string): void {
    if (table.partitionKey) {
      const partitions = new Map<string, string>();
      for (const name of existsSync(dir) ? readdirSync(dir).sort() : []) {
        if (name.startsWith(`${table.partitionKey}=`)) partitions.set(name.slice(table.partitionKey.length + 1), join(dir, name));
      }
      table.partitions = partitions;
    } else table.location = dir;
    this.tables.set(table.name, table);
  }

  localPath(location: string): string | undefined {
    const root = this.s3Root.replace(/\/+$/, '');
    if (!location.startsWith(`${root}/`)) return undefined;
    return join(this.lakeDir, location.slice(root.length + 1));
  }

  /** Rebuilds orders_raw over the raw files now present (Firehose keeps adding objects). */
  async refreshRaw(): Promise<void> {
    const files = this.rawFiles();
    const columns =
      "{type: 'VARCHAR', orderId: 'VARCHAR', customerId: 'VARCHAR', occurredAt: 'VARCHAR', currency: 'VARCHAR', country: 'VARCHAR', " +
      `lines: 'STRUCT("productId" VARCHAR, "categoryId" VARCHAR, quantity DOUBLE, "unitPrice" DOUBLE)[]'}`;
    const select = files.length
      ? `SELECT type, "orderId" AS orderid, "customerId" AS customerid, "occurredAt" AS occurredat, currency, country, lines, "date" AS order_date ` +
        `FROM read_json([${files.map(({ path }) => q(path)).join(', ')}], format = 'newline_delimited', ignore_errors = true, hive_partitioning = true, hive_types = {'date': VARCHAR}, columns = ${columns})`
      : `SELECT CAST(NULL AS VARCHAR) AS type, CAST(NULL AS VARCHAR) AS orderid, CAST(NULL AS VARCHAR) AS customerid, CAST(NULL AS VARCHAR) AS occurredat, CAST(NULL AS VARCHAR) AS currency, CAST(NULL AS VARCHAR) AS country, ` +
        `CAST(NULL AS STRUCT(productid VARCHAR, categoryid VARCHAR, quantity DOUBLE, unitprice DOUBLE)[]) AS lines, CAST(NULL AS VARCHAR) AS order_date WHERE FALSE`;
    await this.connection.run(`CREATE OR REPLACE VIEW ${id(this.database)}.orders_raw AS ${select}`);
  }

  /** Bytes of the raw objects of the days a statement names with `order_date BETWEEN 'a' AND 'b'`. */
  rawBytes(sql: string): number {
    const range = /order_date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'/i.exec(sql);
    if (!range || !/orders_raw/.test(sql)) return 0;
    return this.rawFiles()
      .filter(({ day }) => day >= range[1] && day <= range[2])
      .reduce((sum, { path }) => sum + statSync(path).size, 0);
  }

  private rawFiles(): { day: string; path: string }[] {
    if (!this.rawDir || !existsSync(this.rawDir)) return [];
    const files: { day: string; path: string }[] = [];
    for (const name of readdirSync(this.rawDir).sort()) {
      if (!name.startsWith('date=')) continue;
      for (const file of readdirSync(join(this.rawDir, name)).sort()) {
        if (file.endsWith('.json.gz') || file.endsWith('.json')) files.push({ day: name.slice(5), path: join(this.rawDir, name, file) });
      }
    }
    return files;
  }

  /** Runs `sql` if it is one of the catalog statements; undefined if it is not. */
  async ddl(sql: string): Promise<DdlOutcome | undefined> {
    const text = sql.trim();
    let m: RegExpExecArray | null;
    if ((m = /^CREATE\s+TABLE\s+([\w.]+)\s+WITH\s*\(([\s\S]*?)\)\s+AS\s+(SELECT[\s\S]+)$/i.exec(text))) return this.ctas(this.tableName(m[1]), m[2], m[3]);
    if ((m = /^ALTER\s+TABLE\s+([\w.]+)\s+ADD\s+IF\s+NOT\s+EXISTS\s+((?:PARTITION\s*\([^)]*\)\s*LOCATION\s*'[^']*'\s*)+)$/i.exec(text))) {
      const table = this.partitioned(this.tableName(m[1]));
      if (typeof table === 'string') return { ok: false, reason: table };
      for (const part of m[2].matchAll(/PARTITION\s*\(\s*`?(\w+)`?\s*=\s*'([^']*)'\s*\)\s*LOCATION\s*'([^']*)'/gi)) {
        const dir = this.localPath(part[3]);
        if (!dir) return { ok: false, reason: `AccessDeniedException: ${part[3]} is outside the lake` };
        if (!table.partitions!.has(part[2])) table.partitions!.set(part[2], dir);
      }
      await this.rebuild(table);
      return { ok: true };
    }
    if ((m = /^ALTER\s+TABLE\s+([\w.]+)\s+PARTITION\s*\(\s*`?(\w+)`?\s*=\s*'([^']*)'\s*\)\s*SET\s+LOCATION\s+'([^']*)'$/i.exec(text))) {
      const table = this.partitioned(this.tableName(m[1]));
      if (typeof table === 'string') return { ok: false, reason: table };
      if (!table.partitions!.has(m[3])) return { ok: false, reason: `InvalidRequestException: Partition not found (${m[2]}=${m[3]})` };
      const dir = this.localPath(m[4]);
      if (!dir) return { ok: false, reason: `AccessDeniedException: ${m[4]} is outside the lake` };
      table.partitions!.set(m[3], dir);
      await this.rebuild(table);
      return { ok: true };
    }
    if ((m = /^ALTER\s+TABLE\s+([\w.]+)\s+DROP\s+IF\s+EXISTS\s+PARTITION\s*\(\s*`?(\w+)`?\s*=\s*'([^']*)'\s*\)$/i.exec(text))) {
      const table = this.partitioned(this.tableName(m[1]));
      if (typeof table === 'string') return { ok: false, reason: table };
      table.partitions!.delete(m[3]);
      await this.rebuild(table);
      return { ok: true };
    }
    if ((m = /^ALTER\s+TABLE\s+([\w.]+)\s+SET\s+LOCATION\s+'([^']*)'$/i.exec(text))) {
      const table = this.tables.get(this.tableName(m[1]));
      if (!table || table.partitionKey) return { ok: false, reason: `InvalidRequestException: ${m[1]} is not an unpartitioned table` };
      const dir = this.localPath(m[2]);
      if (!dir) return { ok: false, reason: `AccessDeniedException: ${m[2]} is outside the lake` };
      table.location = dir;
      await this.rebuild(table);
      return { ok: true };
    }
    if ((m = /^DROP\s+TABLE\s+IF\s+EXISTS\s+([\w.]+)$/i.exec(text))) {
      const name = this.tableName(m[1]);
      this.tables.delete(name);
      await this.connection.run(`DROP VIEW IF EXISTS ${id(this.database)}.${id(name)}`);
      return { ok: true };
    }
    return undefined;
  }

  private tableName(qualified: string): string {
    const parts = qualified.split('.');
    return parts[parts.length - 1];
  }

  private partitioned(name: string): CatalogTable | string {
    const table = this.tables.get(name);
    if (!table) return `EntityNotFoundException: Table ${name} not found`;
    if (!table.partitionKey || !table.partitions) return `InvalidRequestException: ${name} is not partitioned`;
    return table;
  }

  private async ctas(name: string, props: string, select: string): Promise<DdlOutcome> {
    if (this.tables.has(name)) return { ok: false, reason: `AlreadyExistsException: Table ${name} already exists` };
    const location = /external_location\s*=\s*'([^']*)'/i.exec(props)?.[1];
    const partitionKey = /partitioned_by\s*=\s*ARRAY\s*\[\s*'(\w+)'\s*\]/i.exec(props)?.[1];
    if (!location) return { ok: false, reason: 'the stand-in needs external_location' };
    const dir = this.localPath(location);
    if (!dir) return { ok: false, reason: `AccessDeniedException: ${location} is outside the lake` };
    if (existsSync(dir) && readdirSync(dir).length > 0) return { ok: false, reason: `HIVE_PATH_ALREADY_EXISTS: Target directory for table '${this.database}.${name}' already exists: ${location}` };
    const described = (await this.connection.runAndReadAll(`DESCRIBE ${select}`)).getRowObjectsJson();
    const all = described.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
    if (partitionKey && all[all.length - 1]?.name !== partitionKey) return { ok: false, reason: `HIVE_COLUMN_ORDER_MISMATCH: partition key ${partitionKey} must be the last column` };
    const pattern = `${randomUUID()}-{i}`;
    mkdirSync(dir, { recursive: true }); // S3 has no directories to create

    await this.connection.run(
      `COPY (${select}) TO ${q(partitionKey ? dir : join(dir, `${randomUUID()}.parquet`))} (FORMAT PARQUET, COMPRESSION SNAPPY${partitionKey ? `, PARTITION_BY (${id(partitionKey)}), FILENAME_PATTERN '${pattern}'` : ''})`,
    );
    const table: CatalogTable = { name, columns: all.filter((column) => column.name !== partitionKey), partitionKey };
    this.adopt(table, dir);
    await this.rebuild(table);
    return { ok: true };
  }

  /**
   * `SELECT DISTINCT "$path" FROM t`: the s3:// URI of every file the table's catalog entry points
   * at now, as Athena's "$path" pseudo-column gives them; undefined for a table it does not hold.
   */
  paths(qualified: string): string[] | undefined {
    const table = this.tables.get(this.tableName(qualified));
    if (!table) return undefined;
    const dirs = table.partitionKey ? [...(table.partitions ?? new Map()).values()] : [table.location ?? ''];
    const root = this.s3Root.replace(/\/+$/, '');
    return dirs.flatMap((dir) => parquet(dir)).map((path) => `${root}/${relative(this.lakeDir, path).split(sep).join('/')}`);
  }

  /** The table's view over the files its catalog entry points at now. */
  async rebuild(table: CatalogTable): Promise<void> {
    const files: { path: string; value?: string }[] = [];
    if (table.partitionKey) {
      for (const [value, dir] of table.partitions ?? []) for (const path of parquet(dir)) files.push({ path, value });
    } else for (const path of parquet(table.location ?? '')) files.push({ path });
    const all = [...table.columns, ...(table.partitionKey ? [{ name: table.partitionKey, type: 'VARCHAR' }] : [])];
    let select: string;
    if (files.length === 0) select = `SELECT ${all.map((c) => `CAST(NULL AS ${c.type}) AS ${id(c.name)}`).join(', ')} WHERE FALSE`;
    else {
      const source = `read_parquet([${files.map((f) => q(f.path)).join(', ')}], union_by_name = true, filename = true)`;
      const present = new Set((await this.connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJson().map((row) => String(row.column_name).toLowerCase()));
      const cells = table.columns.map((c) => (present.has(c.name.toLowerCase()) ? `CAST(f.${id(c.name)} AS ${c.type}) AS ${id(c.name)}` : `CAST(NULL AS ${c.type}) AS ${id(c.name)}`));
      if (table.partitionKey) {
        const values = files.map((f) => `(${q(f.path)}, ${q(f.value!)})`).join(', ');
        select = `SELECT ${cells.join(', ')}, m.value AS ${id(table.partitionKey)} FROM ${source} f JOIN (VALUES ${values}) m(path, value) ON f.filename = m.path`;
      } else select = `SELECT ${cells.join(', ')} FROM ${source} f`;
    }
    await this.connection.run(`CREATE OR REPLACE VIEW ${id(this.database)}.${id(table.name)} AS ${select}`);
  }
}

function parquet(dir: string): string[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.parquet'))
    .sort()
    .map((name) => join(dir, name));
}
