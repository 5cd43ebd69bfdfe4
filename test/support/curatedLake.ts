import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** A curated lake's order lines and products as sorted plain rows (read straight from the live files, not through production code). */
export async function curatedRows(root: string): Promise<{ lines: string[]; products: string[] }> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const read = async (sql: string) => {
      try {
        return (await connection.runAndReadAll(sql)).getRowsJson().map((row) => JSON.stringify(row));
      } catch (error) {
        if (/No files found/.test((error as Error).message)) return [];
        throw error;
      }
    };
    const lines = await read(
      `SELECT order_id, customer_id, product_id, category_id, quantity, unit_price, strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%g'), type, country, "date"
       FROM read_parquet('${join(root, 'orders', '*', '*.parquet')}', hive_partitioning = true, hive_types = {'date': VARCHAR}, union_by_name = true)
       ORDER BY ALL`,
    );
    const products = await read(`SELECT product_id, category_id FROM read_parquet('${join(root, 'products', '*.parquet')}') ORDER BY ALL`);
    return { lines, products };
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}
