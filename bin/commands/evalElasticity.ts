import { weeklyProductTables, type WeeklyTable } from '../../models/demand/demandSeries.ts';
import { eligibility, pooledElasticity, productElasticity } from '../../models/demand/elasticity.ts';
import { cleanRetailRows, type CleanLine } from '../../models/evaluation/retailCleaning.ts';

/**
 * `demand-insights eval elasticity`: section 2 of ../shared/protocols/retail.md, end to end from
 * the raw file: clean, weekly product tables, per-product log-log OLS over the top-50 products by
 * units, pooled fixed-effects fit over all eligible products.
 */

export interface ElasticityProtocolResult {
  top50Median: number;
  top50Q1: number;
  top50Q3: number;
  pooledCoefficient: number;
  pooledCi: [number, number];
  top50Eligible: number;
  top50ShareNegative: number;
  top50ShareSignificant: number;
  allEligible: number;
  allMedian: number;
  pooledClusteredCi: [number, number];
  medianFitMs: number;
}

/** The protocol's reference figures (statsmodels 0.14), for the readable report. */
const REFERENCE = {
  top50Eligible: 46,
  top50Median: -4.23,
  top50Q1: -5.78,
  top50Q3: -1.87,
  top50ShareNegative: 0.98,
  top50ShareSignificant: 0.8,
  allEligible: 2107,
  allMedian: -2.77,
  pooledCoefficient: -2.33,
  pooledCi: [-2.36, -2.3],
  pooledClusteredCi: [-2.4, -2.26],
  medianFitMs: 0.39,
};

/** Linear-interpolation percentile, numpy's default (the reference came from pandas/numpy). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

function topTablesByUnits(tables: Map<string, WeeklyTable>, n: number): WeeklyTable[] {
  const total = (table: WeeklyTable) => table.units.reduce((sum, units) => sum + units, 0);
  return [...tables.values()]
    .map((table) => ({ table, units: total(table) }))
    .sort((a, b) => b.units - a.units || (a.table.productId < b.table.productId ? -1 : 1))
    .slice(0, n)
    .map(({ table }) => table);
}

export function elasticityProtocol(lines: readonly CleanLine[]): ElasticityProtocolResult {
  const tables = weeklyProductTables(lines);
  const eligible = [...tables.values()].filter((table) => eligibility(table).eligible);
  const top = topTablesByUnits(tables, 50).filter((table) => eligibility(table).eligible);
  const topFits = top.map((table) => productElasticity(table));
  const allFits = eligible.map((table) => productElasticity(table));
  const b = topFits.map((fit) => fit.coefficient);
  const pooled = pooledElasticity(eligible);
  return {
    top50Median: percentile(b, 0.5),
    top50Q1: percentile(b, 0.25),
    top50Q3: percentile(b, 0.75),
    pooledCoefficient: pooled.coefficient,
    pooledCi: pooled.ci,
    top50Eligible: top.length,
    top50ShareNegative: b.filter((value) => value < 0).length / b.length,
    top50ShareSignificant: topFits.filter((fit) => fit.pValue < 0.05).length / b.length,
    allEligible: eligible.length,
    allMedian: percentile(allFits.map((fit) => fit.coefficient), 0.5),
    pooledClusteredCi: pooled.clustered!.ci,
    medianFitMs: medianFitMs(eligible),
  };
}

/** One fit on the median-size eligible product, median of 200 timed fits after 5 warm-ups. */
function medianFitMs(eligible: readonly WeeklyTable[]): number {
  const bySize = [...eligible].sort((a, b) => a.weeks.length - b.weeks.length);
  const table = bySize[Math.floor((bySize.length - 1) / 2)];
  for (let i = 0; i < 5; i++) productElasticity(table);
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const start = performance.now();
    productElasticity(table);
    times.push(performance.now() - start);
  }
  return percentile(times, 0.5);
}

export async function runElasticityProtocol(path: string): Promise<ElasticityProtocolResult> {
  const { readOnlineRetailRows } = await import('../../producers/datasets/onlineRetail.ts');
  const { rows } = await readOnlineRetailRows(path);
  return elasticityProtocol(cleanRetailRows(rows).lines);
}

export async function run(options: Record<string, unknown>): Promise<void> {
  const path = options.data;
  if (typeof path !== 'string') throw new Error('eval elasticity needs --data <file> (the Online Retail II CSV)');
  if (options.format !== undefined && options.format !== 'online-retail') {
    throw new Error(`eval elasticity runs the retail protocol: --format must be online-retail, got ${String(options.format)}`);
  }
  const result = await runElasticityProtocol(path);
  if (options.json) {
    const { top50Median, top50Q1, top50Q3, pooledCoefficient, pooledCi } = result;
    process.stdout.write(`${JSON.stringify({ top50Median, top50Q1, top50Q3, pooledCoefficient, pooledCi })}\n`);
    return;
  }
  process.stdout.write(report(result));
}

function report(result: ElasticityProtocolResult): string {
  const f = (value: number) => value.toFixed(2);
  const ci = ([lo, hi]: [number, number]) => `[${f(lo)}, ${f(hi)}]`;
  const rows: Array<[string, string, string]> = [
    ['top-50 eligible products', String(result.top50Eligible), String(REFERENCE.top50Eligible)],
    ['top-50 median coefficient', f(result.top50Median), f(REFERENCE.top50Median)],
    ['top-50 Q1 .. Q3', `${f(result.top50Q1)} .. ${f(result.top50Q3)}`, `${f(REFERENCE.top50Q1)} .. ${f(REFERENCE.top50Q3)}`],
    ['top-50 share negative', f(result.top50ShareNegative), f(REFERENCE.top50ShareNegative)],
    ['top-50 share p < 0.05', f(result.top50ShareSignificant), f(REFERENCE.top50ShareSignificant)],
    ['all eligible products', String(result.allEligible), String(REFERENCE.allEligible)],
    ['all eligible median', f(result.allMedian), f(REFERENCE.allMedian)],
    ['pooled FE coefficient', f(result.pooledCoefficient), f(REFERENCE.pooledCoefficient)],
    ['pooled CI95 (classical)', ci(result.pooledCi), ci(REFERENCE.pooledCi as [number, number])],
    ['pooled CI95 (clustered)', ci(result.pooledClusteredCi), ci(REFERENCE.pooledClusteredCi as [number, number])],
    ['one product fit, ms', result.medianFitMs.toFixed(3), f(REFERENCE.medianFitMs)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, ours, ref]) => `${name.padEnd(width)}  ${ours.padStart(16)}  ${ref.padStart(16)}`);
  return [`${''.padEnd(width)}  ${'this build'.padStart(16)}  ${'reference'.padStart(16)}`, ...lines, ''].join('\n');
}
