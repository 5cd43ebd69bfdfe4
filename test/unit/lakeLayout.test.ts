import { glueTablesFromTerraform } from '../support/athenaEndpoint.ts';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCurationSql } from '../../lake/curationSql.ts';
import { ORDER_LINE_COLUMNS, ORDERS_DIR, PARTITION_COLUMN, PRODUCT_COLUMNS, PRODUCTS_DIR, SUMMARY_TABLES } from '../../api/lake/lakeLayout.ts';

/*
 * The Glue tables of terraform/lake.tf describe the same files `lake build` writes: same columns,
 * same types, same order; orders partitioned by a string `date` (yyyy-MM-dd days, registered partitions),
 * both under the curated root with the local directory names.
 */

const LAKE_TF = ['lake.tf', 'lake_summaries.tf'].map((file) => readFileSync(new URL(`../../terraform/${file}`, import.meta.url), 'utf8')).join('\n');

function localList(name: string): { name: string; type: string }[] {
  const match = new RegExp(`\\n\\s*${name}\\s*=\\s*\\[([\\s\\S]*?)\\n\\s*\\]`).exec(LAKE_TF);
  if (!match) throw new Error(`local ${name} not found in lake.tf`);
  return [...match[1].matchAll(/\{\s*name\s*=\s*"([^"]+)"\s*,\s*type\s*=\s*"([^"]+)"\s*\}/g)].map((entry) => ({ name: entry[1], type: entry[2] }));
}

function resourceBody(type: string, name: string): string {
  const start = LAKE_TF.indexOf(`resource "${type}" "${name}" {`);
  if (start < 0) throw new Error(`${type}.${name} not found`);
  let depth = 0;
  for (let i = LAKE_TF.indexOf('{', start); i < LAKE_TF.length; i++) {
    if (LAKE_TF[i] === '{') depth++;
    else if (LAKE_TF[i] === '}' && --depth === 0) return LAKE_TF.slice(start, i + 1);
  }
  throw new Error('unbalanced braces');
}

describe('terraform/lake.tf matches api/lake/lakeLayout.ts', () => {
  it('order_lines has the order-line columns and types, in order', () => {
    expect(localList('order_line_columns')).toEqual(ORDER_LINE_COLUMNS.map((column) => ({ name: column.name, type: column.glue })));
    expect(resourceBody('aws_glue_catalog_table', 'order_lines')).toMatch(/for_each\s*=\s*local\.order_line_columns/);
  });

  it('products has the product columns and types, in order', () => {
    expect(localList('product_columns')).toEqual(PRODUCT_COLUMNS.map((column) => ({ name: column.name, type: column.glue })));
    expect(resourceBody('aws_glue_catalog_table', 'products')).toMatch(/for_each\s*=\s*local\.product_columns/);
  });

  it('order_lines is Parquet, partitioned by a yyyy-MM-dd date string in registered partitions (the curation points each at its rebuild)', () => {
    const body = resourceBody('aws_glue_catalog_table', 'order_lines');
    expect(body).toMatch(new RegExp(`partition_keys\\s*\\{\\s*name\\s*=\\s*"${PARTITION_COLUMN}"\\s*type\\s*=\\s*"string"`));
    // Projection would take every partition's location from one template: no swap possible.
    expect(body).not.toMatch(/projection\./);
    expect(body).toContain(`location      = "\${local.curated_root}/${ORDERS_DIR}/"`);
    expect(body).toContain('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
  });

  it('products is Parquet at the local layout path', () => {
    const body = resourceBody('aws_glue_catalog_table', 'products');
    expect(body).toContain(`location      = "\${local.curated_root}/${PRODUCTS_DIR}/"`);
    expect(body).toContain('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
  });

  it('the curated root is apart from the raw JSON Firehose writes', () => {
    expect(LAKE_TF).toMatch(/curated_root\s*=\s*"s3:\/\/\$\{aws_s3_bucket\.lake\.bucket\}\/curated"/);
    expect(LAKE_TF).toMatch(/prefix\s*=\s*"orders\/date=/);
  });

  it('the curation query selects the order-line columns, in order, then the partition (CTAS partitioned_by takes it last)', () => {
    const sql = renderCurationSql('curate_order_lines', { raw: 'orders_raw' }, { from: '2024-01-01', to: '2024-01-01', earliest: '1990-01-01T00:00:00.000Z', latest: '2024-01-02T00:00:00.000Z' });
    const select = /^SELECT ([\s\S]*?)\nFROM \(/.exec(sql)![1];
    const aliases = [...select.matchAll(/ AS ("?)(\w+)\1(?:,|$)/gm)].map((m) => m[2]);
    expect(aliases).toEqual([...ORDER_LINE_COLUMNS.map((column) => column.name), PARTITION_COLUMN]);
  });

  it('the products table\'s location is the curation\'s too: an apply leaves it where the last rebuild put it', () => {
    expect(resourceBody('aws_glue_catalog_table', 'products')).toMatch(/ignore_changes\s*=\s*\[storage_descriptor\[0\]\.location\]/);
  });

  it('the summary tables are one Glue table each, over local.summary_tables: Parquet at the local path, a location the curation owns', () => {
    const body = resourceBody('aws_glue_catalog_table', 'summary');
    expect(body).toMatch(/for_each\s*=\s*local\.summary_tables/);
    expect(body).toMatch(/dynamic "columns" \{\s*for_each\s*=\s*each\.value\.columns/);
    expect(body).toContain('location      = "${local.curated_root}/${each.key}/"');
    expect(body).toContain('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    // The curation points each table at its rebuilds; an apply must not point it back at the empty root.
    expect(body).toMatch(/ignore_changes\s*=\s*\[storage_descriptor\[0\]\.location\]/);
    expect(glueTablesFromTerraform().filter((table) => SUMMARY_TABLES.some((summary) => summary.name === table.name)).map((table) => table.name)).toEqual(SUMMARY_TABLES.map((table) => table.name));
  });

  it.each(SUMMARY_TABLES.map((table) => [table.name, table] as const))('summary %s: Glue columns as the layout, and a curation query selecting them in order', (name, table) => {
    const glue = glueTablesFromTerraform().find((candidate) => candidate.name === name)!;
    expect(glue.columns).toEqual(table.columns.map((column) => ({ name: column.name, type: column.glue })));
    expect(glue.location).toBe(name);
    const sql = renderCurationSql(`curate_${name}` as const, { orders: 'order_lines' });
    const select = /^SELECT ([\s\S]*?)\nFROM /.exec(sql)![1];
    // One item a line: its name is its last word (the alias, or the bare column).
    expect(select.split(/,\s*\n/).map((item) => /(\w+)\s*$/.exec(item)![1])).toEqual(table.columns.map((column) => column.name));
  });

  it('the raw table reads the optional country of the OrderEvents Firehose writes', () => {
    expect(resourceBody('aws_glue_catalog_table', 'orders_raw')).toMatch(/columns\s*\{\s*name\s*=\s*"country"\s*type\s*=\s*"string"/);
  });
});
