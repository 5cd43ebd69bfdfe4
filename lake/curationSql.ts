import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The curation's SQL files (lake/sql/), rendered for an engine. Both targets, Athena and DuckDB,
 * send exactly these texts; only the statement around them differs (CTAS vs COPY). The values
 * spliced in are never caller text: days are checked against YYYY-MM-DD and times against the
 * ISO-8601 form `Date.toISOString` writes, so the rendered text is static SQL plus validated
 * literals (Athena takes no ExecutionParameters in DDL, and CTAS is DDL).
 */

export const CURATION_QUERIES = [
  'curate_order_lines',
  'raw_day_counts',
  'curated_day_counts',
  'curate_products',
  'curate_customer_summary',
  'curate_customer_orders',
  'curate_product_daily_sales',
  'curate_daily_totals',
] as const;
export type CurationQuery = (typeof CURATION_QUERIES)[number];

/** Table references, as the engine names them (configuration, never caller input). */
export interface CurationTables {
  raw?: string;
  orders?: string;
}

export interface CurationValues {
  from?: string;
  to?: string;
  /** Event-time bounds, ISO-8601 UTC with milliseconds. */
  earliest?: string;
  latest?: string;
}

const SOURCE_DIR = fileURLToPath(new URL('./sql/', import.meta.url));
/** A Lambda bundle ships the files in curation-sql/ beside index.mjs. */
const BUNDLED_DIR = fileURLToPath(new URL('./curation-sql/', import.meta.url));

function sqlDir(): string {
  return process.env.CURATION_SQL_DIR ?? (existsSync(SOURCE_DIR) ? SOURCE_DIR : BUNDLED_DIR);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function literal(key: keyof CurationValues, value: string | undefined): string {
  if (value === undefined) throw new Error(`curation SQL: {{${key}}} has no value`);
  const pattern = key === 'from' || key === 'to' ? DAY : ISO_TIME;
  if (!pattern.test(value)) throw new Error(`curation SQL: {{${key}}} is not a ${key === 'from' || key === 'to' ? 'day' : 'UTC time'}: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

/** The file's statement: comment lines dropped, placeholders replaced; fails on any unknown or unset one. */
export function renderCurationSql(name: CurationQuery, tables: CurationTables, values: CurationValues = {}): string {
  const text = readFileSync(join(sqlDir(), `${name}.sql`), 'utf8');
  const body = text
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .join('\n')
    .trim();
  return body.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
    if (key === 'raw' || key === 'orders') {
      const table = tables[key];
      if (!table) throw new Error(`${name}.sql: table {{${key}}} is not configured`);
      return table;
    }
    if (key === 'from' || key === 'to' || key === 'earliest' || key === 'latest') return literal(key, values[key]);
    throw new Error(`${name}.sql: unknown placeholder {{${key}}}`);
  });
}
