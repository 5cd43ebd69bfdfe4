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
  duckdb: 'VARCHAR' | 'DOUBLE' | 'TIMESTAMP';
  /** Type of the Glue column (Hive DDL names). */
  glue: 'string' | 'double' | 'timestamp';
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

/** `col TYPE, …` for CREATE TABLE. */
export function columnDefinitions(columns: readonly LakeColumn[]): string {
  return columns.map((column) => `${column.name} ${column.duckdb}${column.nullable ? '' : ' NOT NULL'}`).join(', ');
}

/** A SQL string literal of a path or other configuration text (never caller input). */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
