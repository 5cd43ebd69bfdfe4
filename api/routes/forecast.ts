import { ForecastBodySchema, ForecastResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const forecastRoute = defineRoute({
  method: 'POST',
  path: `${API_PREFIX}/forecast`,
  operationId: 'postForecast',
  summary: 'Daily demand forecast',
  description:
    'Daily units for a product, a category or the whole store: the zero-filled daily series from the lake, a level-scaled weekday-quantile forecaster (median point forecast, expected value, and a prediction interval calibrated by rolling-origin backtests), with the store\'s closed days (no trading) forecast as 0. Feature importances are the shares of in-sample error removed by the moving level and the weekday profile.',
  input: 'body',
  schema: ForecastBodySchema,
  response: ForecastResponseSchema,
  errors: [404, 422],
  example: { product_id: '85123A', forecast_days: 30 },
  handle: (service, input) => service.forecast(input),
});
