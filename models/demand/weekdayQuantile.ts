import { z } from 'zod';
import type { DailySeries } from './demandSeries.ts';

/**
 * Level-scaled weekday quantile forecaster for lumpy daily demand.
 *
 * Each past open day d is expressed as a ratio r_d = y_d / L_d to the level L_d, the mean of the
 * open days in the `levelDays` calendar days before d. The forecast for a future day of weekday w
 * is L × Q_p(ratios of weekday w over the last `lookbackWeeks` weeks), where L is the level at the
 * end of the history:
 * - the point forecast is the median (p = 0.5): absolute-error metrics (MAE, WAPE, MASE) are
 *   minimised by the median, and on wholesale series where a few bulk orders dominate the mean,
 *   the median is what a typical day looks like. It is therefore below the mean on lumpy series
 *   (sums of medians undershoot total units), so the expected value is given too;
 * - the interval is [Q_lo, Q_hi], with lo/hi chosen per series by rolling-origin backtests on the
 *   history itself so that its backtest coverage is closest to the nominal one (never the future);
 * - closed days (no trading: Saturdays here, Christmas) are calendar zeros: left out of the level
 *   and the ratios, and forecast as exactly 0 with a [0, 0] interval. A weekday with no open day in
 *   the lookback (Saturday) is closed too.
 * Scaling by the level lets the weekday pattern follow a rising or falling season without a
 * trend term; the quantiles of ratios carry the weekday profile, the lumpiness and the spread.
 */

export interface WeekdayQuantileOptions {
  /** Weeks of weekday ratios behind each quantile. */
  lookbackWeeks: number;
  /** Calendar days whose open-day mean is the level. */
  levelDays: number;
  /** Nominal coverage of the prediction interval. */
  coverage: number;
  /** Backtest windows (each `calibrationHorizon` days, back to back, ending at the last day). */
  calibrationWindows: number;
  calibrationHorizon: number;
  /** Day indices (calendar.ts) with no trading, past or future. */
  closedDays: readonly number[];
}

const DEFAULT_WEEKDAY_QUANTILE_OPTIONS: WeekdayQuantileOptions = {
  lookbackWeeks: 12,
  levelDays: 56,
  coverage: 0.8,
  calibrationWindows: 4,
  calibrationHorizon: 28,
  closedDays: [],
};

/** Tail probabilities tried for each side of the interval, narrowest first. */
const TAIL_GRID = [0.25, 0.2, 0.175, 0.15, 0.125, 0.1, 0.075, 0.05, 0.025, 0];

export const ImportancesSchema = z.object({
  level: z.number(),
  weekday: z.number(),
  irregular: z.number(),
});
export type ForecastImportances = z.infer<typeof ImportancesSchema>;

export const WeekdayQuantileModelSchema = z.object({
  kind: z.literal('weekday-quantile'),
  version: z.literal(1),
  /** Last day of the history (calendar.ts day index); forecasts start the day after. */
  lastDay: z.number().int(),
  level: z.number().nonnegative(),
  /** Sorted ratios per weekday, Monday = 0; empty = closed weekday. */
  ratios: z.array(z.array(z.number().nonnegative())).length(7),
  tail: z.number().min(0).max(0.5),
  coverage: z.number().gt(0).lt(1),
  /** Coverage of the chosen interval over the backtest days, null without enough history. */
  backtestCoverage: z.number().nullable(),
  backtestDays: z.number().int().nonnegative(),
  /** Known closed days after lastDay. */
  closedDays: z.array(z.number().int()),
  importances: ImportancesSchema,
});
export type WeekdayQuantileModel = z.infer<typeof WeekdayQuantileModelSchema>;

export interface QuantileForecast {
  day: number;
  /** The median: what absolute-error metrics reward. */
  forecast: number;
  /** The expected value (level × mean ratio): what sums over days (stock, budgets) need. */
  mean: number;
  lower: number;
  upper: number;
  closed: boolean;
}

export function weekdayOf(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

/** Prefix sums over open days: level queries in O(1). */
interface History {
  firstDay: number;
  y: Float64Array;
  open: Uint8Array;
  sum: Float64Array;
  count: Int32Array;
}

function history(series: DailySeries, closed: ReadonlySet<number>): History {
  const n = series.units.length;
  const open = new Uint8Array(n);
  const sum = new Float64Array(n + 1);
  const count = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    open[i] = closed.has(series.firstDay + i) ? 0 : 1;
    sum[i + 1] = sum[i] + (open[i] ? series.units[i] : 0);
    count[i + 1] = count[i] + open[i];
  }
  return { firstDay: series.firstDay, y: series.units, open, sum, count };
}

/** Mean of the open days among the `levelDays` days before index i (0 when there are none). */
function levelBefore(h: History, i: number, levelDays: number): number {
  const from = Math.max(0, i - levelDays);
  const days = h.count[i] - h.count[from];
  return days > 0 ? (h.sum[i] - h.sum[from]) / days : 0;
}

/** Sorted ratios per weekday from the `lookbackWeeks` weeks before index `origin`, indexed by weekday. */
function weekdayRatios(h: History, origin: number, options: WeekdayQuantileOptions): Float64Array[] {
  const out: Float64Array[] = [];
  for (let offset = 1; offset <= 7; offset++) {
    const samples: number[] = [];
    for (let i = origin - offset; i >= 0 && i > origin - offset - 7 * options.lookbackWeeks; i -= 7) {
      if (!h.open[i]) continue;
      const level = levelBefore(h, i, options.levelDays);
      if (level > 0) samples.push(h.y[i] / level);
    }
    out[weekdayOf(h.firstDay + origin - offset)] = Float64Array.from(samples).sort();
  }
  return out;
}

/** Linear-interpolation quantile (numpy's default) of sorted values. */
export function sortedQuantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function fitWeekdayQuantile(series: DailySeries, options: Partial<WeekdayQuantileOptions> = {}): WeekdayQuantileModel {
  const opts = { ...DEFAULT_WEEKDAY_QUANTILE_OPTIONS, ...options };
  validateOptions(opts);
  const closed = new Set(opts.closedDays);
  const h = history(series, closed);
  const n = series.units.length;
  const lastDay = series.firstDay + n - 1;
  const ratios = weekdayRatios(h, n, opts);
  const calibration = calibrateTail(h, opts);
  return {
    kind: 'weekday-quantile',
    version: 1,
    lastDay,
    level: levelBefore(h, n, opts.levelDays),
    ratios: ratios.map((sorted) => Array.from(sorted)),
    tail: calibration.tail,
    coverage: opts.coverage,
    backtestCoverage: calibration.coverage,
    backtestDays: calibration.days,
    closedDays: opts.closedDays.filter((day) => day > lastDay),
    importances: importances(h, n, opts),
  };
}

function validateOptions(opts: WeekdayQuantileOptions): void {
  if (!(opts.coverage > 0 && opts.coverage < 1)) throw new RangeError(`coverage must be in (0, 1), got ${opts.coverage}`);
  for (const key of ['lookbackWeeks', 'levelDays', 'calibrationHorizon'] as const) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) throw new RangeError(`${key} must be a positive integer, got ${opts[key]}`);
  }
  if (!Number.isInteger(opts.calibrationWindows) || opts.calibrationWindows < 0) {
    throw new RangeError(`calibrationWindows must be a non-negative integer, got ${opts.calibrationWindows}`);
  }
}

export function forecastWeekdayQuantile(model: WeekdayQuantileModel, days: number): QuantileForecast[] {
  const closed = new Set(model.closedDays);
  const out: QuantileForecast[] = [];
  for (let k = 1; k <= days; k++) {
    const day = model.lastDay + k;
    const sorted = model.ratios[weekdayOf(day)];
    if (closed.has(day) || sorted.length === 0) {
      out.push({ day, forecast: 0, mean: 0, lower: 0, upper: 0, closed: true });
      continue;
    }
    out.push({
      day,
      forecast: model.level * sortedQuantile(sorted, 0.5),
      mean: (model.level * sorted.reduce((sum, ratio) => sum + ratio, 0)) / sorted.length,
      lower: model.level * sortedQuantile(sorted, model.tail),
      upper: model.level * sortedQuantile(sorted, 1 - model.tail),
      closed: false,
    });
  }
  return out;
}

export function loadWeekdayQuantileModel(json: unknown): WeekdayQuantileModel {
  return WeekdayQuantileModelSchema.parse(json);
}

/**
 * Picks the tail probability whose interval covered the backtest days best: for each window, the
 * model is refitted as of the window's start (history before it only) and its intervals for the
 * window's days are checked against what happened. Every day counts, closed ones included, since
 * coverage is judged over calendar days.
 */
function calibrateTail(h: History, opts: WeekdayQuantileOptions): { tail: number; coverage: number | null; days: number } {
  const nominalTail = (1 - opts.coverage) / 2;
  const hits = new Float64Array(TAIL_GRID.length);
  let days = 0;
  for (let w = 1; w <= opts.calibrationWindows; w++) {
    const origin = h.y.length - w * opts.calibrationHorizon;
    if (origin < 7 * 2) break;
    days += backtestWindow(h, origin, opts, hits);
  }
  if (days === 0) return { tail: nominalTail, coverage: null, days };
  let best = 0;
  for (let j = 1; j < TAIL_GRID.length; j++) {
    const gap = Math.abs(hits[j] / days - opts.coverage);
    const bestGap = Math.abs(hits[best] / days - opts.coverage);
    const closer = Math.abs(TAIL_GRID[j] - nominalTail) < Math.abs(TAIL_GRID[best] - nominalTail);
    if (gap < bestGap - 1e-12 || (Math.abs(gap - bestGap) <= 1e-12 && closer)) best = j;
  }
  return { tail: TAIL_GRID[best], coverage: hits[best] / days, days };
}

function backtestWindow(h: History, origin: number, opts: WeekdayQuantileOptions, hits: Float64Array): number {
  const ratios = weekdayRatios(h, origin, opts);
  const level = levelBefore(h, origin, opts.levelDays);
  const end = Math.min(h.y.length, origin + opts.calibrationHorizon);
  for (let i = origin; i < end; i++) {
    const sorted = ratios[weekdayOf(h.firstDay + i)];
    const closed = !h.open[i] || sorted.length === 0;
    for (let j = 0; j < TAIL_GRID.length; j++) {
      const lower = closed ? 0 : level * sortedQuantile(sorted, TAIL_GRID[j]);
      const upper = closed ? 0 : level * sortedQuantile(sorted, 1 - TAIL_GRID[j]);
      if (h.y[i] >= lower - 1e-9 && h.y[i] <= upper + 1e-9) hits[j]++;
    }
  }
  return end - origin;
}

/**
 * Shapley decomposition of the in-sample absolute error over the lookback weeks' open days,
 * relative to a flat forecast (the median day). The two components are the moving level and the
 * weekday profile; `irregular` is the share no component explains. The three sum to 1; a negative
 * share means the component makes the in-sample fit worse.
 */
function importances(h: History, n: number, opts: WeekdayQuantileOptions): ForecastImportances {
  const days: number[] = [];
  for (let i = Math.max(0, n - 7 * opts.lookbackWeeks); i < n; i++) {
    if (h.open[i] && levelBefore(h, i, opts.levelDays) > 0) days.push(i);
  }
  if (days.length === 0) return { level: 0, weekday: 0, irregular: 1 };
  const levels = days.map((i) => levelBefore(h, i, opts.levelDays));
  const values = days.map((i) => h.y[i]);
  const weekdays = days.map((i) => weekdayOf(h.firstDay + i));
  const ratios = values.map((y, k) => y / levels[k]);
  const flatValue = median(values);
  const pooledRatio = median(ratios);
  const flat = absError(values, () => flatValue);
  const levelOnly = absError(values, (k) => levels[k] * pooledRatio);
  const weekdayMedians = groupMedians(values, weekdays);
  const weekdayOnly = absError(values, (k) => weekdayMedians[weekdays[k]]);
  const ratioMedians = groupMedians(ratios, weekdays);
  const both = absError(values, (k) => levels[k] * ratioMedians[weekdays[k]]);
  if (flat === 0) return { level: 0, weekday: 0, irregular: 1 };
  return {
    level: (flat - levelOnly + weekdayOnly - both) / 2 / flat,
    weekday: (flat - weekdayOnly + levelOnly - both) / 2 / flat,
    irregular: both / flat,
  };
}

function absError(values: number[], fitted: (k: number) => number): number {
  let total = 0;
  for (let k = 0; k < values.length; k++) total += Math.abs(values[k] - fitted(k));
  return total;
}

function median(values: readonly number[]): number {
  return sortedQuantile(Float64Array.from(values).sort(), 0.5);
}

function groupMedians(values: readonly number[], groups: readonly number[]): number[] {
  const out: number[] = [];
  for (let g = 0; g < 7; g++) out.push(median(values.filter((_, k) => groups[k] === g)));
  return out;
}
