/**
 * The lake the API reads, as files (locally) or S3 objects under one root:
 *
 *   <root>/orders/date=YYYY-MM-DD/part-<n>.parquet   one row per order line, Hive-partitioned by the
 *                                                     UTC day of occurred_at (the partition column
 *                                                     `date` lives in the path, not in the files)
 *   <root>/products/part-<n>.parquet                  one row per product
 *
 * On AWS the root is s3://<lake bucket>/curated/ and Glue tables `order_lines` and `products`
 * describe it (terraform/lake.tf; `order_lines` has one registered partition per day, pointed at its
 * latest rebuild by the curation, lake/). Columns are snake_case and
 * typed as below; test/unit/lakeLayout.test.ts keeps the Glue columns equal to these.
 */

export const ORDERS_DIR = 'orders';
export const PRODUCTS_DIR = 'products';
/** The Hive partition key of orders: `date=YYYY-MM-DD`, a string in Glue and in DuckDB (hive_types). */
export const PARTITION_COLUMN = 'date';

export interface LakeColumn {
  name: string;
  /** Type in the Parquet files as DuckDB writes them. */
  duckdb: 'VARCHAR' | 'DOUBLE' | 'TIMESTAMP' | 'DATE' | 'BIGINT';
  /** Type of the Glue column (Hive DDL names). */
  glue: 'string' | 'double' | 'timestamp' | 'date' | 'bigint';
  nullable: boolean;
}

export const ORDER_LINE_COLUMNS: readonly LakeColumn[] = [
  { name: 'order_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'customer_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'product_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'category_id', duckdb: 'VARCHAR', glue: 'string', nullable: true },
  { name: 'quantity', duckdb: 'DOUBLE', glue: 'double', nullable: false },
  { name: 'unit_price', duckdb: 'DOUBLE', glue: 'double', nullable: false },
  /** UTC, microsecond Parquet timestamps without zone (isAdjustedToUTC = false), millisecond precision in practice. */
  { name: 'occurred_at', duckdb: 'TIMESTAMP', glue: 'timestamp', nullable: false },
  /** 'order' | 'return' */
  { name: 'type', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  /**
   * The event's country (OrderEvent v1 `country`), the same on every line of an event; NULL when
   * the event has none. Added after the others: files written before it lack the column, which
   * then reads NULL (DuckDB engine: see createLakeViews; Athena: through the Glue schema).
   */
  { name: 'country', duckdb: 'VARCHAR', glue: 'string', nullable: true },
];

/** A product's category is that of its latest line that has one (NULL when none has). */
export const PRODUCT_COLUMNS: readonly LakeColumn[] = [
  { name: 'product_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'category_id', duckdb: 'VARCHAR', glue: 'string', nullable: true },
];

/**
 * The summary tables the curation derives from the curated order lines after every run
 * (lake/sql/curate_<name>.sql, lake/summaryTables.ts), so the API's queries read megabytes
 * instead of the whole order-line table. Unpartitioned, one directory each (`<root>/<name>/`, a
 * Glue table of that name), rebuilt whole and swapped in as products are.
 */
export interface SummaryTable {
  /** Directory, Glue table and SQL placeholder name. */
  name: 'customer_summary' | 'customer_orders' | 'product_daily_sales' | 'daily_totals';
  columns: readonly LakeColumn[];
  /** Row order of the written files: like values together compress, and Parquet statistics prune. */
  sortedBy: readonly string[];
}

/** One row per customer with an order: what RFM needs; recency is counted at query time from the as-of day. */
export const CUSTOMER_SUMMARY_COLUMNS: readonly LakeColumn[] = [
  { name: 'customer_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'last_order_day', duckdb: 'DATE', glue: 'date', nullable: false },
  /** Distinct order ids. */
  { name: 'orders', duckdb: 'BIGINT', glue: 'bigint', nullable: false },
  /** Spend, summed in integer cents per line. */
  { name: 'cents', duckdb: 'BIGINT', glue: 'bigint', nullable: false },
];

/**
 * One row per order or return of each customer (one event per customer, type and order id, the
 * earliest): what a lake customer's state is rebuilt from, by id. Sorted by customer, so a
 * customer's rows sit in one Parquet row group, which Athena's min/max statistics can skip to.
 */
export const CUSTOMER_ORDERS_COLUMNS: readonly LakeColumn[] = [
  { name: 'customer_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  /** 'order' | 'return' */
  { name: 'type', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'order_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'occurred_at', duckdb: 'TIMESTAMP', glue: 'timestamp', nullable: false },
  /** Value in integer cents, summed per line. */
  { name: 'cents', duckdb: 'BIGINT', glue: 'bigint', nullable: false },
  { name: 'units', duckdb: 'DOUBLE', glue: 'double', nullable: false },
  { name: 'country', duckdb: 'VARCHAR', glue: 'string', nullable: true },
];

/** Orders only, one row per (product, line category, UTC day) with any order line. */
export const PRODUCT_DAILY_SALES_COLUMNS: readonly LakeColumn[] = [
  { name: 'product_id', duckdb: 'VARCHAR', glue: 'string', nullable: false },
  { name: 'category_id', duckdb: 'VARCHAR', glue: 'string', nullable: true },
  { name: 'day', duckdb: 'DATE', glue: 'date', nullable: false },
  /** Units of every order line, free ones included (daily_units). */
  { name: 'units', duckdb: 'DOUBLE', glue: 'double', nullable: false },
  /** Units of the priced lines (unit price > 0): the sales at a price (weekly sales, elasticity, products). */
  { name: 'priced_units', duckdb: 'DOUBLE', glue: 'double', nullable: false },
  /** Revenue in integer cents per line (a free line adds 0). */
  { name: 'cents', duckdb: 'BIGINT', glue: 'bigint', nullable: false },
];

/** One row per UTC day with any order line, orders and returns: the lake's date range and as-of day. */
export const DAILY_TOTALS_COLUMNS: readonly LakeColumn[] = [
  { name: 'day', duckdb: 'DATE', glue: 'date', nullable: false },
  /** Order lines of the day, orders and returns. */
  { name: 'lines', duckdb: 'BIGINT', glue: 'bigint', nullable: false },
];

/** In rebuild order: daily_totals last, so its rows mean every summary of that run is in place (summary_presence.sql). */
export const SUMMARY_TABLES: readonly SummaryTable[] = [
  { name: 'customer_summary', columns: CUSTOMER_SUMMARY_COLUMNS, sortedBy: ['customer_id'] },
  { name: 'customer_orders', columns: CUSTOMER_ORDERS_COLUMNS, sortedBy: ['customer_id', 'occurred_at', 'order_id', 'type'] },
  { name: 'product_daily_sales', columns: PRODUCT_DAILY_SALES_COLUMNS, sortedBy: ['product_id', 'day', 'category_id'] },
  { name: 'daily_totals', columns: DAILY_TOTALS_COLUMNS, sortedBy: ['day'] },
];

/** `col TYPE, …` for CREATE TABLE. */
export function columnDefinitions(columns: readonly LakeColumn[]): string {
  return columns.map((column) => `${column.name} ${column.duckdb}${column.nullable ? '' : ' NOT NULL'}`).join(', ');
}

/** A SQL string literal of a path or other configuration text (never caller input). */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
