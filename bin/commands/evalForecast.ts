import { isoDay } from '../../models/time/calendar.ts';
import { byProduct, dailyUnits, dailyUnitsBy, dayRangeOf, topByUnits, type DailySeries } from '../../models/demand/demandSeries.ts';
import { intervalCoverage, mase, wape } from '../../models/demand/forecastAccuracy.ts';
import { storeClosedDays } from '../../models/demand/forecastDemand.ts';
import { fitWeekdayQuantile, forecastWeekdayQuantile, type WeekdayQuantileOptions } from '../../models/demand/weekdayQuantile.ts';
import { cleanRetailRows, type CleanLine } from '../../models/evaluation/retailCleaning.ts';

/**
 * `demand-insights eval forecast`: section 1 of ../shared/protocols/retail.md, end to end from the
 * raw file. Test = the last 28 days; each series (store total, top-50 products by training units)
 * is fitted on the training days only; the store's zero days in the training window are the
 * closures every series shares.
 */

export const TEST_DAYS = 28;
export const TOP_PRODUCTS = 50;

export interface ForecastProtocolResult {
  top50Wape: number;
  top50MaseMean: number;
  top50MaseMedian: number;
  storeWape: number;
  storeMase: number;
  /** Share of test days inside the 80% interval, pooled over the 50 products and the store. */
  intervalCoverage80: number;
  intervalCoverage80Products: number;
  intervalCoverage80Store: number;
  top50ShareMaseBelow1: number;
  top50Bias: number;
  storeBias: number;
  /** Mean wall-clock ms per product series: fit + 28-day forecast. */
  msPerSeries: number;
  testStart: string;
  testEnd: string;
}

interface SeriesOutcome {
  actual: Float64Array;
  forecast: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  mase: number;
  ms: number;
}

function evaluateSeries(series: DailySeries, trainDays: number, options: Partial<WeekdayQuantileOptions>): SeriesOutcome {
  const train = series.units.subarray(0, trainDays);
  const actual = series.units.subarray(trainDays, trainDays + TEST_DAYS);
  const start = performance.now();
  const points = forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: series.firstDay, units: train }, options), TEST_DAYS);
  const ms = performance.now() - start;
  const forecast = Float64Array.from(points, (point) => point.forecast);
  return {
    actual,
    forecast,
    lower: Float64Array.from(points, (point) => point.lower),
    upper: Float64Array.from(points, (point) => point.upper),
    mase: mase(train, actual, forecast),
    ms,
  };
}

function concat(outcomes: readonly SeriesOutcome[], key: 'actual' | 'forecast' | 'lower' | 'upper'): Float64Array {
  const out = new Float64Array(outcomes.length * TEST_DAYS);
  outcomes.forEach((outcome, i) => out.set(outcome[key], i * TEST_DAYS));
  return out;
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function coverageOf(outcomes: readonly SeriesOutcome[]): number {
  return intervalCoverage(concat(outcomes, 'actual'), concat(outcomes, 'lower'), concat(outcomes, 'upper'));
}

export function forecastProtocol(lines: readonly CleanLine[], options: Partial<WeekdayQuantileOptions> = {}): ForecastProtocolResult {
  const range = dayRangeOf(lines);
  const trainRange = { firstDay: range.firstDay, lastDay: range.lastDay - TEST_DAYS };
  const trainDays = trainRange.lastDay - trainRange.firstDay + 1;
  const store = dailyUnits(lines, range);
  const products = dailyUnitsBy(lines, byProduct, range);
  const closedDays = storeClosedDays({ firstDay: store.firstDay, units: store.units.subarray(0, trainDays) });
  const fitOptions = { closedDays, ...options };
  const top = topByUnits(products, trainRange, TOP_PRODUCTS).map((id) => evaluateSeries(products.get(id)!, trainDays, fitOptions));
  const storeOutcome = evaluateSeries(store, trainDays, fitOptions);
  const topActual = concat(top, 'actual');
  const topForecast = concat(top, 'forecast');
  const mases = top.map((outcome) => outcome.mase);
  return {
    top50Wape: wape(topActual, topForecast),
    top50MaseMean: sum(mases) / mases.length,
    top50MaseMedian: median(mases),
    storeWape: wape(storeOutcome.actual, storeOutcome.forecast),
    storeMase: storeOutcome.mase,
    intervalCoverage80: coverageOf([...top, storeOutcome]),
    intervalCoverage80Products: coverageOf(top),
    intervalCoverage80Store: coverageOf([storeOutcome]),
    top50ShareMaseBelow1: mases.filter((value) => value < 1).length / mases.length,
    top50Bias: sum(topForecast) / sum(topActual),
    storeBias: sum(storeOutcome.forecast) / sum(storeOutcome.actual),
    msPerSeries: sum(top.map((outcome) => outcome.ms)) / top.length,
    testStart: isoDay(trainRange.lastDay + 1),
    testEnd: isoDay(range.lastDay),
  };
}

export async function runForecastProtocol(path: string): Promise<ForecastProtocolResult> {
  const { readOnlineRetailRows } = await import('../../producers/datasets/onlineRetail.ts');
  const { rows } = await readOnlineRetailRows(path);
  return forecastProtocol(cleanRetailRows(rows).lines);
}

export async function run(options: Record<string, unknown>): Promise<void> {
  const path = options.data;
  if (typeof path !== 'string') throw new Error('eval forecast needs --data <file> (the Online Retail II CSV)');
  if (options.format !== undefined && options.format !== 'online-retail') {
    throw new Error(`eval forecast runs the retail protocol: --format must be online-retail, got ${String(options.format)}`);
  }
  const result = await runForecastProtocol(path);
  if (options.json) {
    const { top50Wape, top50MaseMean, top50MaseMedian, storeWape, storeMase, intervalCoverage80 } = result;
    process.stdout.write(`${JSON.stringify({ top50Wape, top50MaseMean, top50MaseMedian, storeWape, storeMase, intervalCoverage80 })}\n`);
    return;
  }
  process.stdout.write(report(result));
}

/** The protocol's reference rows: [method, top-50 WAPE, MASE mean, MASE median, store WAPE, store MASE]. */
const REFERENCE: Array<[string, number, number, number, number, number]> = [
  ['zero_forecast', 1.0, 0.961, 0.931, 1.0, 3.09],
  ['seasonal_naive_7', 1.129, 1.073, 0.875, 0.411, 1.269],
  ['moving_average_28', 1.047, 0.964, 0.969, 0.461, 1.424],
  ['lightgbm_recursive', 1.16, 1.051, 0.993, 0.49, 1.515],
  ['holt_winters_add_seasonal', 1.019, 0.929, 0.845, 0.336, 1.038],
  ['holt_winters_damped_trend_add_seasonal', 1.005, 0.918, 0.769, 0.332, 1.024],
];

function report(result: ForecastProtocolResult): string {
  const header = ['method', 'top-50 WAPE', 'MASE mean', 'MASE median', 'store WAPE', 'store MASE'];
  const ours: [string, number, number, number, number, number] = [
    'weekday_quantile (this build)',
    result.top50Wape,
    result.top50MaseMean,
    result.top50MaseMedian,
    result.storeWape,
    result.storeMase,
  ];
  const rows = [...REFERENCE, ours].map(([name, ...values]) => [name, ...values.map((value) => value.toFixed(3))]);
  const width = Math.max(...rows.map((row) => row[0].length), header[0].length);
  const line = (cells: string[]) => [cells[0].padEnd(width), ...cells.slice(1).map((cell) => cell.padStart(12))].join('  ');
  const pct = (value: number) => value.toFixed(3);
  return [
    `test days ${result.testStart}..${result.testEnd} (${TEST_DAYS}); top ${TOP_PRODUCTS} products by training units + store total`,
    line(header),
    ...rows.map(line),
    '',
    `80% interval coverage of test days: ${pct(result.intervalCoverage80)} pooled (products ${pct(result.intervalCoverage80Products)}, store ${pct(result.intervalCoverage80Store)})`,
    `top-50 share MASE < 1: ${pct(result.top50ShareMaseBelow1)}; bias (pred/actual): top-50 ${pct(result.top50Bias)}, store ${pct(result.storeBias)}`,
    `fit + 28-day forecast: ${result.msPerSeries.toFixed(2)} ms per product series`,
    '',
  ].join('\n');
}
