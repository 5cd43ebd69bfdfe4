import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The query-engine port: run one of the named SQL files of api/sql/ with positional parameters
 * and get typed rows back. Adapters: DuckDB over the lake files (duckdbEngine.ts) and Athena
 * (athenaEngine.ts). The SQL text an engine runs is the file's text with its comment lines
 * removed and the table placeholders (`{{orders}}`, `{{products}}` and the curation's summary
 * tables, TABLE_PLACEHOLDERS) replaced by the
 * engine's configured table references; caller values only ever travel as bound parameters.
 */

/** A value a caller binds to a `?`. Strings reach Athena as quoted literals, DuckDB as VARCHAR. */
export type SqlParam = string | number | boolean | null;

/** A decoded cell: BIGINT/INTEGER/DOUBLE/DECIMAL as numbers, DATE as YYYY-MM-DD, TIMESTAMP as ISO-8601 UTC (ms). */
export type SqlValue = string | number | boolean | null;

/** Column types as both engines report them, normalised to Athena's names. */
export const COLUMN_TYPES = ['varchar', 'bigint', 'integer', 'double', 'decimal', 'date', 'timestamp', 'boolean'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface Column {
  name: string;
  type: ColumnType;
}

export type Row = Record<string, SqlValue>;

export interface QueryResult {
  columns: Column[];
  rows: Row[];
}

/** How many `?` the customer_order_lines_for query takes: longer id lists run in batches of this size. */
export const CUSTOMER_BATCH = 100;

/** Every SQL file and its number of positional parameters (checked against the text when loaded). */
export const QUERIES = {
  date_range: 0,
  order_line_date_range: 0,
  summary_presence: 0,
  product_exists: 1,
  category_exists: 1,
  daily_units: 4,
  weekly_product_sales: 4,
  product_sales: 0,
  customer_rfm: 2,
  customer_order_lines: 0,
  customer_order_lines_for: CUSTOMER_BATCH,
  customer_order_totals: 0,
  customer_order_totals_for: CUSTOMER_BATCH,
  segment_sample: 1,
  segment_summary: 2,
  segment_members: 3,
  pooled_elasticity: 4,
  top_products: 0,
  product_categories: 0,
} as const satisfies Record<string, number>;

/**
 * Queries whose text has generated parts: numbers this code computed (a fitted model's scaler and
 * centroids), never caller input, filled in at run time by `fillFragments`. Every other
 * placeholder of these files is a table.
 */
export const QUERY_FRAGMENTS: Partial<Record<QueryName, readonly string[]>> = {
  segment_summary: ['scaled', 'distances', 'nearest'],
  segment_members: ['scaled', 'distances', 'nearest'],
};

/** Generated SQL text a query is filled with, by placeholder name. */
export type SqlFragments = Readonly<Record<string, string>>;

/**
 * What a fragment may contain: names, numbers, arithmetic, comparisons, commas, parentheses. No
 * quote, no `?`, no semicolon, no comment: a fragment cannot open a literal, take a parameter,
 * end the statement or hide text.
 */
const FRAGMENT_TEXT = /^[A-Za-z0-9_.,+\-*/()<=>\s]*$/;

/** The query's text with its generated parts in place; each must be given, and be only arithmetic. */
export function fillFragments(name: QueryName, template: string, fragments: SqlFragments = {}): string {
  const expected = QUERY_FRAGMENTS[name] ?? [];
  for (const key of Object.keys(fragments)) if (!expected.includes(key)) throw new Error(`${name}: unexpected fragment ${key}`);
  let text = template;
  for (const key of expected) {
    const fragment = fragments[key];
    if (fragment === undefined) throw new Error(`${name}: fragment ${key} is required`);
    if (!FRAGMENT_TEXT.test(fragment) || fragment.includes('--') || fragment.includes('/*')) throw new Error(`${name}: fragment ${key} is not plain arithmetic`);
    text = text.replaceAll(`{{${key}}}`, fragment);
  }
  return text;
}

export type QueryName = keyof typeof QUERIES;
export const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

export interface QueryEngine {
  readonly kind: 'duckdb' | 'athena';
  /** Runs api/sql/<name>.sql with `params` bound to its `?`s, in order, and its generated parts (QUERY_FRAGMENTS) filled in. */
  query(name: QueryName, params?: readonly SqlParam[], fragments?: SqlFragments): Promise<QueryResult>;
  close(): Promise<void>;
}

/** The lake's tables as an engine names them: configuration, never caller input. */
export interface TableRefs {
  orders: string;
  products: string;
  /** The curation's summary tables (SUMMARY_TABLES in api/lake/lakeLayout.ts). */
  customer_summary: string;
  customer_orders: string;
  product_daily_sales: string;
  daily_totals: string;
}

/** The placeholders of the SQL files that name a table. */
export const TABLE_PLACEHOLDERS = ['orders', 'products', 'customer_summary', 'customer_orders', 'product_daily_sales', 'daily_totals'] as const satisfies readonly (keyof TableRefs)[];

/** Table references under one naming rule (a schema prefix, say) for every placeholder. */
export function tableRefs(name: (table: keyof TableRefs) => string): TableRefs {
  return Object.fromEntries(TABLE_PLACEHOLDERS.map((table) => [table, name(table)])) as unknown as TableRefs;
}

/** api/sql in the source tree. */
export const DEFAULT_SQL_DIR = fileURLToPath(new URL('../sql/', import.meta.url));
/** sql/ beside a bundled module (a Lambda bundle ships the files there). */
const BUNDLED_SQL_DIR = fileURLToPath(new URL('./sql/', import.meta.url));

/** Where the .sql files are: the option, else `LAKE_SQL_DIR`, else api/sql, else sql/ beside the bundle. */
function sqlDirectory(dir?: string): string {
  const chosen = dir ?? process.env.LAKE_SQL_DIR;
  if (chosen) return chosen;
  return existsSync(DEFAULT_SQL_DIR) ? DEFAULT_SQL_DIR : BUNDLED_SQL_DIR;
}

/** The file's text exactly as written. */
export function readSqlFile(name: QueryName, dir?: string): string {
  return readFileSync(join(sqlDirectory(dir), `${name}.sql`), 'utf8');
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `"schema"."table"` from plain identifiers (the only characters Glue and DuckDB names here use). */
export function quotedName(...parts: string[]): string {
  for (const part of parts) {
    if (!IDENTIFIER.test(part)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(part)}`);
  }
  return parts.map((part) => `"${part}"`).join('.');
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

/**
 * The text an engine sends for a query: comment lines dropped (so Athena's result reuse keys on
 * the statement alone), table placeholders replaced. Fails on an unknown placeholder, a parameter
 * count that disagrees with QUERIES, or a `?` outside a WHERE clause (Athena's rule).
 */
export function renderSql(name: QueryName, text: string, tables: TableRefs): string {
  const body = text
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .join('\n')
    .trim();
  const fragments = QUERY_FRAGMENTS[name] ?? [];
  const rendered = body.replace(PLACEHOLDER, (whole, key: string) => {
    if (fragments.includes(key)) return whole;
    if (!(TABLE_PLACEHOLDERS as readonly string[]).includes(key)) throw new Error(`${name}.sql: unknown placeholder {{${key}}}`);
    return tables[key as keyof TableRefs];
  });
  const { parameters } = scanSql(rendered);
  if (parameters.length !== QUERIES[name]) {
    throw new Error(`${name}.sql has ${parameters.length} parameters, expected ${QUERIES[name]}`);
  }
  const misplaced = parameters.find((parameter) => parameter.clause !== 'WHERE');
  if (misplaced) throw new Error(`${name}.sql: parameter at offset ${misplaced.offset} is in ${misplaced.clause}, Athena allows them only in WHERE`);
  return rendered;
}

/** Loads and renders every query once; engines keep the result. */
export function loadQueries(tables: TableRefs, dir?: string): Record<QueryName, string> {
  const texts = {} as Record<QueryName, string>;
  for (const name of QUERY_NAMES) texts[name] = renderSql(name, readSqlFile(name, dir), tables);
  return texts;
}

export function checkParams(name: QueryName, params: readonly SqlParam[]): void {
  if (params.length !== QUERIES[name]) throw new Error(`${name}: expected ${QUERIES[name]} parameters, got ${params.length}`);
  params.forEach((param, index) => {
    const ok = param === null || typeof param === 'string' || typeof param === 'boolean' || (typeof param === 'number' && Number.isFinite(param));
    if (!ok) throw new TypeError(`${name}: parameter ${index + 1} is not a string, finite number, boolean or null`);
  });
}

// ---------------------------------------------------------------------------------------------
// A small SQL scanner: enough to find `?` parameters and the clause each sits in, skipping
// string literals, quoted identifiers and comments.

export interface SqlParameter {
  offset: number;
  /** The clause keyword in force where the `?` sits (SELECT, FROM, WHERE, GROUP, HAVING, ORDER, ON…). */
  clause: string;
}

export interface SqlScan {
  parameters: SqlParameter[];
  /** Statement separators outside literals and comments. */
  semicolons: number;
  /** Whether a literal, quoted identifier or block comment is left open. */
  unterminated: boolean;
}

const CLAUSES = new Set(['SELECT', 'FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'OFFSET', 'WITH', 'UNION', 'INTERSECT', 'EXCEPT', 'JOIN', 'ON', 'USING', 'VALUES', 'WINDOW', 'QUALIFY']);

export function scanSql(sql: string): SqlScan {
  const parameters: SqlParameter[] = [];
  const clauses: string[] = [''];
  let semicolons = 0;
  let i = 0;
  const closeQuoted = (quote: string): boolean => {
    i++;
    while (i < sql.length) {
      if (sql[i] === quote) {
        if (sql[i + 1] === quote) i += 2;
        else {
          i++;
          return true;
        }
      } else i++;
    }
    return false;
  };
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      if (!closeQuoted(c)) return { parameters, semicolons, unterminated: true };
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return { parameters, semicolons, unterminated: true };
      i = end + 2;
    } else if (c === '(') {
      clauses.push(clauses[clauses.length - 1]);
      i++;
    } else if (c === ')') {
      if (clauses.length > 1) clauses.pop();
      i++;
    } else if (c === '?') {
      parameters.push({ offset: i, clause: clauses[clauses.length - 1] });
      i++;
    } else if (c === ';') {
      semicolons++;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j])) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (CLAUSES.has(word)) clauses[clauses.length - 1] = word;
      i = j;
    } else i++;
  }
  return { parameters, semicolons, unterminated: false };
}

// ---------------------------------------------------------------------------------------------
// Errors and decoding helpers shared by the adapters

export class QueryEngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueryEngineError';
  }
}

/** `YYYY-MM-DD HH:MM:SS[.fffffffff]` (Athena, DuckDB text) or ISO-8601 → ISO-8601 UTC with milliseconds. */
export function isoTimestamp(text: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:Z| UTC)?$/.exec(text.trim());
  if (!match) throw new QueryEngineError(`not a timestamp: ${JSON.stringify(text)}`);
  const millis = (match[3] ?? '').padEnd(3, '0').slice(0, 3);
  return `${match[1]}T${match[2]}.${millis}Z`;
}
