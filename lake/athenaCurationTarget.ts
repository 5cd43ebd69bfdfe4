import type { AthenaClient } from '@aws-sdk/client-athena';
import type { S3Client } from '@aws-sdk/client-s3';
import { athenaClient } from '../aws/clients.ts';
import { renderCurationSql } from './curationSql.ts';
import type { CurationTarget, DayRange, RawDayCount, TimeBounds } from './curationTarget.ts';
import { statementRunner } from './athenaStatements.ts';
import { deleteSupersededRebuilds } from './supersededRebuilds.ts';
import { SUMMARY_TABLES } from '../api/lake/lakeLayout.ts';

/**
 * The curation on Athena (terraform/lake.tf): raw orders in `orders_raw` (Firehose's JSON, partition
 * projection), curated Parquet in `order_lines` (registered partitions) and `products`.
 *
 * A rebuild is a CTAS into a location of its run, `<curated>/versions/orders/<run>/date=D/`
 * (partitioned_by date, at most 100 days per CTAS); its staging table is dropped at once (an
 * external table: the files stay). The swap is one Glue partition update per day, `ALTER TABLE
 * order_lines PARTITION (date='D') SET LOCATION`, after `ADD IF NOT EXISTS` for a new day: a query
 * planned before it reads the old files, one planned after reads the new ones; no query sees a
 * partition half written, because nothing is written where a partition points. Products: CTAS into
 * `<curated>/versions/products/<run>/`, then `ALTER TABLE products SET LOCATION`; each summary table
 * (customer_summary, product_daily_sales, daily_totals) the same way, under versions/<table>/<run>/.
 *
 * Chosen over an Iceberg table with MERGE INTO because it can be tested here: DuckDB (the Athena
 * stand-in's engine, and the local lake's) reads but does not write Iceberg, so MERGE INTO could
 * only be checked against AWS, while CTAS + a partition swap runs the same SELECT on both.
 *
 * Superseded rebuilds are deleted from S3 once their run is older than the grace period and no
 * partition (nor the products table) points at them (supersededRebuilds.ts): the live locations are
 * read from the catalog at each clean-up, through Athena's "$path" pseudo-column (the files each
 * table reads now; a query of metadata, no data scanned). Without an S3 client nothing is deleted.
 */

export interface AthenaCurationOptions {
  database: string;
  workgroup: string;
  /** s3://<lake>/curated: the root of order_lines and products, where rebuilds are written. */
  curatedRoot: string;
  outputLocation?: string;
  tables?: { raw?: string; orders?: string; products?: string };
  timeoutMs?: number;
  pollIntervalMs?: number;
  region?: string;
  endpoint?: string;
  client?: AthenaClient;
  /** The S3 client superseded rebuilds are deleted with; without one they are left in place. */
  s3?: S3Client;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a lower-case Glue identifier: ${JSON.stringify(name)}`);
  return name;
}

function day(text: string): string {
  if (!DAY.test(text)) throw new Error(`not a day: ${JSON.stringify(text)}`);
  return text;
}

export function createAthenaCurationTarget(options: AthenaCurationOptions): CurationTarget {
  const client = options.client ?? athenaClient({ region: options.region, endpoint: options.endpoint });
  const runner = statementRunner({ client, database: options.database, workgroup: options.workgroup, outputLocation: options.outputLocation, timeoutMs: options.timeoutMs, pollIntervalMs: options.pollIntervalMs });
  if (!/^s3:\/\/[a-z0-9.-]+(\/[A-Za-z0-9._\-/]*)?$/.test(options.curatedRoot)) throw new Error(`curatedRoot must be an s3:// location: ${options.curatedRoot}`);
  const root = options.curatedRoot.replace(/\/+$/, '');
  const db = identifier(options.database);
  const raw = `${db}.${identifier(options.tables?.raw ?? 'orders_raw')}`;
  const ordersName = identifier(options.tables?.orders ?? 'order_lines');
  const productsName = identifier(options.tables?.products ?? 'products');
  const orders = `${db}.${ordersName}`;
  const rebuild = (table: string, runId: string) => `${root}/versions/${table}/${identifier(runId)}/`;
  const partition = (date: string) => `PARTITION (\`date\` = '${day(date)}')`;

  const dayCounts = async (sql: string, label: string) =>
    new Map((await runner.run(sql, label)).map((row) => [String(row.date), Number(row.lines)]));

  return {
    kind: 'athena',
    async rawDayCounts(range: DayRange, bounds: TimeBounds): Promise<RawDayCount[]> {
      const rows = await runner.run(renderCurationSql('raw_day_counts', { raw }, { ...range, ...bounds }), 'raw_day_counts');
      return rows.map((row) => ({ date: String(row.date), events: Number(row.events), distinctEvents: Number(row.distinct_events) }));
    },
    curatedDayCounts: (range) => dayCounts(renderCurationSql('curated_day_counts', { orders }, range), 'curated_day_counts'),
    async stageOrderLines(runId: string, range: DayRange, bounds: TimeBounds): Promise<Map<string, number>> {
      const stage = `${db}.${identifier(`${ordersName}_${runId}`)}`;
      const select = renderCurationSql('curate_order_lines', { raw }, { ...range, ...bounds });
      await runner.run(
        `CREATE TABLE ${stage} WITH (format = 'PARQUET', write_compression = 'SNAPPY', external_location = '${rebuild('orders', runId)}', partitioned_by = ARRAY['date']) AS ${select}`,
        'stage order lines',
      );
      try {
        return await dayCounts(renderCurationSql('curated_day_counts', { orders: stage }, range), 'staged_day_counts');
      } finally {
        await runner.run(`DROP TABLE IF EXISTS ${stage}`, 'drop staging table');
      }
    },
    async publishOrderLines(runId: string, _range: DayRange, days: readonly string[], drop: readonly string[]): Promise<void> {
      const location = (date: string) => `${rebuild('orders', runId)}date=${day(date)}/`;
      if (days.length > 0) {
        await runner.run(`ALTER TABLE ${orders} ADD IF NOT EXISTS ${days.map((date) => `${partition(date)} LOCATION '${location(date)}'`).join(' ')}`, 'add partitions');
      }
      for (const date of days) await runner.run(`ALTER TABLE ${orders} ${partition(date)} SET LOCATION '${location(date)}'`, `swap ${date}`);
      for (const date of drop) await runner.run(`ALTER TABLE ${orders} DROP IF EXISTS ${partition(date)}`, `drop ${date}`);
    },
    async rebuildProducts(runId: string): Promise<void> {
      const stage = `${db}.${identifier(`${productsName}_${runId}`)}`;
      const select = renderCurationSql('curate_products', { orders });
      await runner.run(`CREATE TABLE ${stage} WITH (format = 'PARQUET', write_compression = 'SNAPPY', external_location = '${rebuild('products', runId)}') AS ${select}`, 'stage products');
      await runner.run(`DROP TABLE IF EXISTS ${stage}`, 'drop staging table');
      await runner.run(`ALTER TABLE ${db}.${productsName} SET LOCATION '${rebuild('products', runId)}'`, 'swap products');
    },
    async rebuildSummaries(runId: string): Promise<void> {
      for (const table of SUMMARY_TABLES) {
        const stage = `${db}.${identifier(`${table.name}_${runId}`)}`;
        const select = renderCurationSql(`curate_${table.name}` as const, { orders });
        const location = rebuild(table.name, runId);
        await runner.run(`CREATE TABLE ${stage} WITH (format = 'PARQUET', write_compression = 'SNAPPY', external_location = '${location}') AS ${select}`, `stage ${table.name}`);
        await runner.run(`DROP TABLE IF EXISTS ${stage}`, 'drop staging table');
        await runner.run(`ALTER TABLE ${db}.${table.name} SET LOCATION '${location}'`, `swap ${table.name}`);
      }
    },
    async summariesBuilt(): Promise<boolean> {
      // Terraform creates each table at its root location, empty; the first rebuild points it under versions/.
      for (const table of SUMMARY_TABLES) {
        const paths = await runner.run(`SELECT DISTINCT "$path" AS path FROM ${db}.${table.name}`, 'summary files');
        if (!paths.some((row) => String(row.path).startsWith(`${root}/versions/${table.name}/`))) return false;
      }
      return true;
    },
    async removeSuperseded(nowMs: number, graceMs: number) {
      if (!options.s3) return { removed: 0, failed: 0, refused: [], error: 'no S3 client: superseded rebuilds are left in place' };
      const liveLocations = async () => {
        const paths = [];
        const tables = [orders, `${db}.${productsName}`, ...SUMMARY_TABLES.map((table) => `${db}.${table.name}`)];
        for (const table of tables) paths.push(...(await runner.run(`SELECT DISTINCT "$path" AS path FROM ${table}`, 'live files')).map((row) => String(row.path)));
        // A file's directory is the location its partition (or table) points at.
        return [...new Set(paths.map((path) => path.slice(0, path.lastIndexOf('/') + 1)))];
      };
      const cleanup = await deleteSupersededRebuilds({ s3: options.s3, curatedRoot: root, liveLocations, nowMs, graceMs });
      return { removed: cleanup.deleted, failed: cleanup.failed, refused: cleanup.failures, error: cleanup.error };
    },
    bytesScanned: () => runner.bytesScanned(),
    async close(): Promise<void> {
      if (!options.client) client.destroy();
    },
  };
}
