import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isoDay, parseIsoDay } from '../../models/time/calendar.ts';
import type { CustomerPanel } from '../../models/clv/customerPanel.ts';
import { type CustomerEvaluation, evaluateCustomers, type FoldTable, foldTables, ordersFromCleanLines } from '../../models/evaluation/customerEvaluation.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { cleanRetailRows } from '../../models/evaluation/retailCleaning.ts';
import { DATASET_FORMATS, type DatasetFormat, readDataset } from '../../producers/datasets/index.ts';

/**
 * `demand-insights eval cdnow` and `demand-insights eval --data F --format X --calibration-end D
 * --holdout-end D`: churn and CLV quality of the hybrid model on a calibration / holdout split,
 * end to end from the raw file (models/evaluation/customerEvaluation.ts). `cdnow` is the CDNOW protocol
 * (../shared/protocols/cdnow.md): calibration to 1997-09-30, holdout to 1998-06-30. Online
 * Retail files go through the retail protocol's cleaning rule (../shared/protocols/retail.md,
 * section 4): clean lines with a customer become the orders.
 */

export const CDNOW_PROTOCOL = { calibrationEnd: '1997-09-30', holdoutEnd: '1998-06-30' } as const;

/** The JSON `--json` prints: the keys, in its order. */
export interface CustomerEvalJson {
  churn: { rocAuc: number; prAuc: number; brier: number };
  clv: { mae: number; rmse: number; spearman: number; top10Share: number; totalRatio: number };
  btyd: { r: number; alpha: number; a: number; b: number };
  segmentation: { silhouette: number };
  fitSeconds: number;
}

export function toJson(result: CustomerEvaluation): CustomerEvalJson {
  const { churn, clv, btyd } = result;
  return {
    churn: { rocAuc: churn.rocAuc, prAuc: churn.prAuc, brier: churn.brier },
    clv: { mae: clv.mae, rmse: clv.rmse, spearman: clv.spearman, top10Share: clv.top10Share, totalRatio: clv.totalRatio },
    btyd: { r: btyd.r, alpha: btyd.alpha, a: btyd.a, b: btyd.b },
    segmentation: { silhouette: result.segmentation.silhouette },
    fitSeconds: result.fitSeconds,
  };
}

export interface ResolvedEvalOptions {
  data: string;
  format: DatasetFormat;
  calibrationEnd: string;
  holdoutEnd: string;
}

export function resolveOptions(options: Record<string, unknown>, protocol?: string): ResolvedEvalOptions {
  const data = options.data;
  if (typeof data !== 'string' || data.trim() === '') {
    throw new Error(protocol === 'cdnow' ? 'eval cdnow needs --data <CDNOW_master.txt>' : 'eval needs --data <file> (and --format, --calibration-end, --holdout-end)');
  }
  if (protocol === 'cdnow') {
    if (options.format !== undefined && options.format !== 'cdnow') throw new Error(`eval cdnow reads a CDNOW file: --format must be cdnow, got ${String(options.format)}`);
    return {
      data,
      format: 'cdnow',
      calibrationEnd: options.calibrationEnd === undefined ? CDNOW_PROTOCOL.calibrationEnd : dateOption(options.calibrationEnd, '--calibration-end'),
      holdoutEnd: options.holdoutEnd === undefined ? CDNOW_PROTOCOL.holdoutEnd : dateOption(options.holdoutEnd, '--holdout-end'),
    };
  }
  const format = options.format;
  if (typeof format !== 'string' || !(DATASET_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`eval needs --format (${DATASET_FORMATS.join(', ')}), got ${JSON.stringify(format)}`);
  }
  if (options.calibrationEnd === undefined || options.holdoutEnd === undefined) {
    throw new Error('eval needs --calibration-end and --holdout-end (YYYY-MM-DD): features as of the first, churn and CLV over the days up to the second');
  }
  const calibrationEnd = dateOption(options.calibrationEnd, '--calibration-end');
  const holdoutEnd = dateOption(options.holdoutEnd, '--holdout-end');
  if (parseIsoDay(holdoutEnd) <= parseIsoDay(calibrationEnd)) throw new Error(`--holdout-end ${holdoutEnd} must come after --calibration-end ${calibrationEnd}`);
  return { data, format: format as DatasetFormat, calibrationEnd, holdoutEnd };
}

function dateOption(value: unknown, flag: string): string {
  const text = String(value).trim();
  let ok = /^\d{4}-\d{2}-\d{2}$/.test(text);
  if (ok) {
    try {
      ok = isoDay(parseIsoDay(text)) === text;
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new Error(`${flag} must be a calendar date YYYY-MM-DD, got "${text}"`);
  return text;
}

/** The dataset's order events; Online Retail through the retail protocol's cleaning rule. */
export async function customerEvents(path: string, format: DatasetFormat): Promise<OrderEvent[]> {
  await access(path).catch((error: Error) => {
    throw new Error(`--data: cannot read ${path} (${error.message})`);
  });
  if (format === 'online-retail') {
    const { readOnlineRetailRows } = await import('../../producers/datasets/onlineRetail.ts');
    const { rows } = await readOnlineRetailRows(path);
    return ordersFromCleanLines(cleanRetailRows(rows).lines);
  }
  return (await readDataset(path, format)).events;
}

export async function runCustomerEval(options: ResolvedEvalOptions, onPanel?: (panel: CustomerPanel) => void): Promise<CustomerEvaluation> {
  const events = await customerEvents(options.data, options.format);
  if (events.length === 0) throw new Error(`${options.data}: no order events could be read`);
  return evaluateCustomers(events, { calibrationEnd: options.calibrationEnd, holdoutEnd: options.holdoutEnd, onPanel });
}

export async function run(options: Record<string, unknown>, protocol?: string): Promise<void> {
  const resolved = resolveOptions(options, protocol);
  const exportDir = options.exportFolds;
  if (exportDir !== undefined && (typeof exportDir !== 'string' || exportDir.trim() === '')) throw new Error('--export-folds needs a directory');
  let panel: CustomerPanel | undefined;
  const result = await runCustomerEval(resolved, exportDir === undefined ? undefined : (built) => (panel = built));
  if (exportDir !== undefined && panel) await exportFolds(exportDir, panel, result);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(toJson(result))}\n`);
    return;
  }
  process.stdout.write(report(result, resolved, protocol));
}

/**
 * `--export-folds DIR`: each fold's training and test rows as the hybrid model's learners see
 * them (fold<k>_train.csv, fold<k>_test.csv: customer_id, inner_group, churned, spend, then the
 * feature columns) and this build's out-of-fold predictions (predictions.csv), so another
 * learner can be fitted on identical inputs and scored by the same metrics
 * (bench/lightgbm_cross_check.py does this with LightGBM).
 */
async function exportFolds(dir: string, panel: CustomerPanel, result: CustomerEvaluation): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const table of foldTables(panel)) await writeFile(join(dir, `fold${table.fold}_${table.part}.csv`), foldCsv(table));
  const { customerIds, churn, clv, churned, spend } = result.predictions;
  const lines = ['customer_id,fold,churned,spend,churn_probability,clv'];
  customerIds.forEach((id, i) => lines.push(`${csvText(id)},${panel.folds[i]},${churned[i]},${spend[i]},${churn[i]},${clv[i]}`));
  await writeFile(join(dir, 'predictions.csv'), `${lines.join('\n')}\n`);
}

function foldCsv(table: FoldTable): string {
  const { matrix, columns } = table;
  const lines = [['customer_id', 'inner_group', 'churned', 'spend', ...columns].map(csvText).join(',')];
  for (let r = 0; r < matrix.nRows; r++) {
    const cells = [csvText(table.customerIds[r]), table.innerGroups === null ? '' : String(table.innerGroups[r]), String(table.churn[r]), String(table.spend[r])];
    for (let c = 0; c < columns.length; c++) cells.push(String(matrix.values[c * matrix.nRows + r]));
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** RFC 4180 quoting for ids and column names (countries may hold commas). */
function csvText(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Reference rows of the protocols (pooled out-of-fold figures of the best references). */
const CDNOW_REFERENCES = {
  churn: [
    ['GradientBoostingClassifier (defaults)', 0.771, 0.8515, 0.1584],
    ['LightGBM', 0.7709, 0.8529, 0.1586],
    ['BG/NBD P(no purchase in 39 weeks)', 0.7466, 0.818, 0.1654],
  ],
  clv: [
    ['RandomForestRegressor (300 trees, min leaf 20)', 35.26, 100.88, 0.444, 0.5234, 1.003],
    ['LightGBM regressor', 35.72, 102.02, 0.446, 0.5205, 1.001],
    ['BG/NBD × Gamma-Gamma', 32.68, 92.94, 0.421, 0.5156, 0.827],
  ],
} as const;

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), ...rows.map(line)];
}

function report(result: CustomerEvaluation, options: ResolvedEvalOptions, protocol?: string): string {
  const { churn, clv } = result;
  const cdnow = protocol === 'cdnow';
  const lines: string[] = [
    `${options.data} (${options.format}): ${result.customers.toLocaleString('en')} customers with a purchase by ${result.calibrationEnd}; holdout to ${result.holdoutEnd} (${result.horizonDays} days), churn rate ${f4(result.churnRate)}`,
    `hybrid model, 5-fold cross-fit (fold = customer id mod 5), pooled out-of-fold predictions; fit ${result.fitSeconds.toFixed(2)} s per fold`,
    '',
    'churn (positive = no purchase in the holdout)',
    ...table(
      ['model', 'ROC-AUC', 'PR-AUC', 'Brier'],
      [
        ...(cdnow ? CDNOW_REFERENCES.churn.map(([name, ...v]) => [name, ...v.map(f4)]) : []),
        ['BG/NBD P(no purchase) (this run)', f4(result.btydBaseline.churn.rocAuc), f4(result.btydBaseline.churn.prAuc), f4(result.btydBaseline.churn.brier)],
        ['hybrid (this build)', f4(churn.rocAuc), f4(churn.prAuc), f4(churn.brier)],
      ],
    ),
    `  per fold: ROC-AUC ${f4(result.foldSpread.rocAuc.mean)} ± ${f4(result.foldSpread.rocAuc.std)}, Brier ${f4(result.foldSpread.brier.mean)} ± ${f4(result.foldSpread.brier.std)}; PR-AUC (buyers positive) ${f4(churn.prAucActive)}`,
    '',
    'reliability (deciles of predicted churn probability)',
    ...table(
      ['decile', 'customers', 'mean predicted', 'observed'],
      result.reliability.map((bin) => [String(bin.bin), String(bin.count), f3(bin.meanPredicted), f3(bin.observedRate)]),
    ),
    '',
    'CLV (target = holdout spend)',
    ...table(
      ['model', 'MAE', 'RMSE', 'Spearman', 'top-10% share', 'total ratio'],
      [
        ...(cdnow ? CDNOW_REFERENCES.clv.map(([name, ...v]) => [name, ...v.map((x) => (x > 10 ? x.toFixed(2) : f4(x)))]) : []),
        ['BG/NBD × Gamma-Gamma (this run)', f3(result.btydBaseline.clv.mae), f3(result.btydBaseline.clv.rmse), f4(result.btydBaseline.clv.spearman), f4(result.btydBaseline.clv.top10Share), f4(result.btydBaseline.clv.totalRatio)],
        ['hybrid (this build)', f3(clv.mae), f3(clv.rmse), f4(clv.spearman), f4(clv.top10Share), f4(clv.totalRatio)],
      ],
    ),
    `  predicted total ${clv.predictedTotal.toFixed(0)} vs actual ${clv.actualTotal.toFixed(0)}; per fold: Spearman ${f4(result.foldSpread.spearman.mean)} ± ${f4(result.foldSpread.spearman.std)}, MAE ${f3(result.foldSpread.mae.mean)} ± ${f3(result.foldSpread.mae.std)}, top-10% ${f4(result.foldSpread.top10Share.mean)} ± ${f4(result.foldSpread.top10Share.std)}`,
    '',
    `BG/NBD on all customers: r=${f4(result.btyd.r)} alpha=${f4(result.btyd.alpha)} a=${f4(result.btyd.a)} b=${f4(result.btyd.b)}; Gamma-Gamma p=${f4(result.btyd.p)} q=${f4(result.btyd.q)} gamma=${f4(result.btyd.gamma)}`,
    `RFM K-Means (k=5) silhouette ${f4(result.segmentation.silhouette)}; panel built from the event stream in ${result.panelSeconds.toFixed(2)} s`,
    '',
  ];
  return lines.join('\n');
}
