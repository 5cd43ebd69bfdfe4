import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLakeFromDataset } from '../../api/lake/buildLake.ts';
import { ORDERS_DIR, PARTITION_COLUMN, PRODUCTS_DIR } from '../../api/lake/lakeLayout.ts';
import { datasetFormat, requiredText } from './datasetOptions.ts';

/** `demand-insights lake build --data F --format X --out DIR`: writes the lake (api/lake/lakeLayout.ts) from a dataset. */
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
  const { summary, report, readMs } = await buildLakeFromDataset(data, format, out);
  const seconds = (performance.now() - started) / 1000;
  const span = summary.firstDay ? `${summary.firstDay}..${summary.lastDay}` : 'no days';
  const lines = [
    `lake written to ${out} in ${seconds.toFixed(2)} s (read ${(readMs / 1000).toFixed(2)} s, write ${(summary.ms / 1000).toFixed(2)} s)`,
    `  data      ${data} (${format}): ${report.events} events read, ${report.unreadableCount} rows unreadable`,
    `  orders    ${summary.orderLines} lines (${summary.orderTypeLines} order, ${summary.returnLines} return) of ${summary.events} events, ${summary.customers} customers`,
    `            ${summary.days} daily partitions ${span} in ${join(out, ORDERS_DIR)}/${PARTITION_COLUMN}=YYYY-MM-DD/`,
    `  products  ${summary.products} products in ${summary.categories} categories in ${join(out, PRODUCTS_DIR)}/`,
    `  files     ${summary.files} Parquet files, ${(summary.bytes / 1024 / 1024).toFixed(1)} MB`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
