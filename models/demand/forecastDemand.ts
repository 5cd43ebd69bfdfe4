import { isoDay } from '../time/calendar.ts';
import type { DailySeries } from './demandSeries.ts';
import {
  fitWeekdayQuantile,
  forecastWeekdayQuantile,
  sortedQuantile,
  type ForecastImportances,
  type WeekdayQuantileModel,
  type WeekdayQuantileOptions,
} from './weekdayQuantile.ts';

/** What POST /forecast answers for one series (a product, a category or the store). */

export const FORECAST_DAYS_MIN = 1;
export const FORECAST_DAYS_MAX = 365;

export interface ForecastPoint {
  date: string;
  /** Median demand of the day (the point forecast). */
  forecast: number;
  /** Expected demand of the day: sum these, not the medians, for totals over a period. */
  mean: number;
  lower: number;
  upper: number;
  /** A known non-trading day (or a weekday that never trades): forecast exactly 0. */
  closed: boolean;
}

export interface DemandForecast {
  method: 'weekday-quantile';
  historyStart: string;
  historyEnd: string;
  forecastDays: number;
  intervalCoverage: number;
  /** Coverage the interval reached on rolling-origin backtests inside the history. */
  backtestCoverage: number | null;
  points: ForecastPoint[];
  /**
   * Shapley shares of the in-sample absolute error (lookback weeks, open days) that the moving
   * level and the weekday profile remove, against a flat median forecast; `irregular` is the
   * unexplained rest. They sum to 1.
   */
  featureImportances: ForecastImportances;
  /** Median demand of each weekday at the current level, Monday first. */
  weekdayProfile: number[];
  level: number;
}

function assertForecastDays(days: number): void {
  if (!Number.isInteger(days) || days < FORECAST_DAYS_MIN || days > FORECAST_DAYS_MAX) {
    throw new RangeError(`forecast_days must be an integer in ${FORECAST_DAYS_MIN}..${FORECAST_DAYS_MAX}, got ${days}`);
  }
}

/** Days on which the whole store sold nothing: closures every series shares (Saturdays, Christmas). */
export function storeClosedDays(store: DailySeries): number[] {
  const out: number[] = [];
  store.units.forEach((units, i) => {
    if (units === 0) out.push(store.firstDay + i);
  });
  return out;
}

export function forecastDemand(
  history: DailySeries,
  days: number,
  options: Partial<WeekdayQuantileOptions> = {},
): DemandForecast {
  assertForecastDays(days);
  if (history.units.length === 0) throw new RangeError('the history is empty: nothing to forecast from');
  const model = fitWeekdayQuantile(history, options);
  return describeForecast(model, history, days);
}

export function describeForecast(model: WeekdayQuantileModel, history: DailySeries, days: number): DemandForecast {
  assertForecastDays(days);
  const points = forecastWeekdayQuantile(model, days).map((point) => ({
    date: isoDay(point.day),
    forecast: point.forecast,
    mean: point.mean,
    lower: point.lower,
    upper: point.upper,
    closed: point.closed,
  }));
  return {
    method: 'weekday-quantile',
    historyStart: isoDay(history.firstDay),
    historyEnd: isoDay(model.lastDay),
    forecastDays: days,
    intervalCoverage: model.coverage,
    backtestCoverage: model.backtestCoverage,
    points,
    featureImportances: model.importances,
    weekdayProfile: model.ratios.map((sorted) => model.level * sortedQuantile(sorted, 0.5)),
    level: model.level,
  };
}
