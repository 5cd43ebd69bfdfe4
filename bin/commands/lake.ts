import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ORDERS_DIR, PARTITION_COLUMN, PRODUCTS_DIR } from '../../api/lake/lakeLayout.ts';
import { eventTimeBounds } from '../../models/customer/orderEvent.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { buildLakeThroughRaw, lakeFigures } from '../../lake/localCuration.ts';
import { RAW_ORDERS_DIR } from '../../lake/rawOrders.ts';
import { datasetFormat, requiredText } from './datasetOptions.ts';

/**
 * `demand-insights lake build --data F --format X --out DIR`: writes the lake (api/lake/lakeLayout.ts)
 * from a dataset the way the deployed lake is made: the events as raw JSON lines, as Firehose
 * writes them (DIR/raw/orders/), then every day curated by the curation the Lambda runs
 * (lake/curateLake.ts, on DuckDB).
 */
export interface LakeBuildOptions {
  data?: unknown;
  format?: unknown;
  out?: unknown;
}

export async function run(options: LakeBuildOptions): Promise<void> {
  const started = performance.now();
  const data = requiredText(options.data, '--data');
  const out = requiredText(options.out, '--out');
  const format = datasetFormat(options.format);
  await access(data).catch((error: Error) => {
    throw new Error(`--data: cannot read ${data} (${error.message})`);
  });
  const nowMs = Date.now();
  const { events, report } = await readDataset(data, format, { eventTime: eventTimeBounds(), nowMs });
  const readMs = performance.now() - started;
  const curation = await buildLakeThroughRaw(events, out, { nowMs });
  const summary = await lakeFigures(out);
  const seconds = (performance.now() - started) / 1000;
  const span = summary.firstDay ? `${summary.firstDay}..${summary.lastDay}` : 'no days';
  const lines = [
    `lake written to ${out} in ${seconds.toFixed(2)} s (read ${(readMs / 1000).toFixed(2)} s, curate ${(curation.ms / 1000).toFixed(2)} s)`,
    `  data      ${data} (${format}): ${report.events} events read, ${report.unreadableCount} rows unreadable`,
    `  raw       ${events.length} events as JSON lines in ${join(out, RAW_ORDERS_DIR)}/date=YYYY-MM-DD/ (${curation.bytesScanned} bytes read by the curation)`,
    `  orders    ${summary.orderLines} lines (${summary.orderTypeLines} order, ${summary.returnLines} return) of ${summary.events} events, ${summary.customers} customers`,
    `            ${summary.days} daily partitions ${span} in ${join(out, ORDERS_DIR)}/${PARTITION_COLUMN}=YYYY-MM-DD/`,
    `  products  ${summary.products} products in ${summary.categories} categories in ${join(out, PRODUCTS_DIR)}/`,
    `  files     ${summary.files} Parquet files, ${(summary.bytes / 1024 / 1024).toFixed(1)} MB`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
