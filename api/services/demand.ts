import type { DailySeries } from '../../models/demand/demandSeries.ts';
import { describeForecast, storeClosedDays } from '../../models/demand/forecastDemand.ts';
import { fitWeekdayQuantile, type WeekdayQuantileModel } from '../../models/demand/weekdayQuantile.ts';
import { isoDay, parseIsoDay } from '../../models/time/calendar.ts';
import { UnprocessableError } from '../errors.ts';
import type { DemandScope } from '../lake/lakeQueries.ts';
import type { ForecastRequest, ForecastResponse } from '../schemas.ts';
import type { RefreshingCache } from './refreshingCache.ts';
import { isStore, STORE_KEY, type ServiceContext, scopeKey, scopeOf } from './serviceContext.ts';

interface StoreDemand {
  firstDay: number;
  lastDay: number;
  series: DailySeries;
  closedDays: number[];
}

interface FittedForecast {
  history: DailySeries;
  model: WeekdayQuantileModel;
}

/** POST forecast: daily demand of the store, a category or a product, one fitted model per scope. */
export class DemandService {
  private readonly storeDemandCache: RefreshingCache<string, StoreDemand | null>;
  private readonly forecastCache: RefreshingCache<string, FittedForecast>;

  constructor(private readonly context: ServiceContext) {
    this.storeDemandCache = context.lakeCache(1, 'store demand');
    this.forecastCache = context.lakeCache(context.config.cacheEntries, 'forecast');
  }

  /** The store's daily units over the lake's days, and the days it was closed; null for an empty lake. */
  storeDemand(): Promise<StoreDemand | null> {
    return this.storeDemandCache.get(STORE_KEY, async () => {
      const range = await this.context.dateRange();
      if (!range) return null;
      const firstDay = parseIsoDay(range.first);
      const lastDay = parseIsoDay(range.last);
      const series = zeroFilled(await this.context.lake.dailyUnits({}), firstDay, lastDay);
      return { firstDay, lastDay, series, closedDays: storeClosedDays(series) };
    });
  }

  fittedForecast(scope: DemandScope): Promise<FittedForecast> {
    return this.forecastCache.get(scopeKey(scope), async () => {
      const demand = await this.storeDemand();
      if (!demand) throw new UnprocessableError('no_history', 'the lake has no orders yet: nothing to forecast from');
      const history = isStore(scope) ? demand.series : zeroFilled(await this.context.lake.dailyUnits(scope), demand.firstDay, demand.lastDay);
      return { history, model: fitWeekdayQuantile(history, { closedDays: demand.closedDays }) };
    });
  }

  async forecast(request: ForecastRequest): Promise<ForecastResponse> {
    const scope: DemandScope = { productId: request.product_id, categoryId: request.category_id };
    await this.context.requireScope(scope);
    const { history, model } = await this.fittedForecast(scope);
    const forecast = describeForecast(model, history, request.forecast_days);
    let expectedTotal = 0;
    for (const point of forecast.points) expectedTotal += point.mean;
    return {
      scope: scopeOf(scope),
      method: forecast.method,
      history_start: forecast.historyStart,
      history_end: forecast.historyEnd,
      forecast_days: forecast.forecastDays,
      interval_coverage: forecast.intervalCoverage,
      backtest_coverage: forecast.backtestCoverage,
      points: forecast.points,
      expected_total: expectedTotal,
      feature_importances: forecast.featureImportances,
      weekday_profile: forecast.weekdayProfile,
      level: forecast.level,
      ...(request.history_days === undefined ? {} : { history: lastDays(history, request.history_days) }),
    };
  }
}

/** The last `days` days of a daily series, oldest first. */
function lastDays(series: DailySeries, days: number): { date: string; units: number }[] {
  const from = Math.max(0, series.units.length - days);
  const out: { date: string; units: number }[] = [];
  for (let i = from; i < series.units.length; i++) out.push({ date: isoDay(series.firstDay + i), units: series.units[i] });
  return out;
}

/** Daily units over every day of [firstDay, lastDay], zero where the lake has no sales. */
export function zeroFilled(rows: readonly { date: string; units: number }[], firstDay: number, lastDay: number): DailySeries {
  const units = new Float64Array(lastDay - firstDay + 1);
  for (const row of rows) {
    const day = parseIsoDay(row.date);
    if (day >= firstDay && day <= lastDay) units[day - firstDay] += row.units;
  }
  return { firstDay, units };
}
