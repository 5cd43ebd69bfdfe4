import { z } from 'zod';

/**
 * Every response of the API, as zod schemas (the requests are in schemas.ts, which re-exports
 * these): the service's answers are typed by them and the OpenAPI document is generated from them.
 */

const IsoDate = z.iso.date();
const IsoDateTime = z.iso.datetime();
const Probability = z.number().min(0).max(1);

export const ScopeSchema = z.object({
  level: z.enum(['product', 'category', 'store']),
  product_id: z.string().nullable(),
  category_id: z.string().nullable(),
});

export const SegmentsResponseSchema = z.object({
  n_clusters: z.number().int(),
  as_of: IsoDate.describe('RFM as of the last day in the lake.'),
  customers: z.number().int().nonnegative(),
  method: z.literal('rfm-kmeans').describe('log1p(R, F, M), z-scores, K-Means (k-means++, seeded, best of several restarts).'),
  segments: z.array(
    z.object({
      segment: z.number().int().nonnegative(),
      name: z.string(),
      size: z.number().int().nonnegative(),
      share: Probability,
      means: z.object({ recency_days: z.number(), frequency: z.number(), monetary: z.number() }),
      centroid: z.object({ recency: z.number(), frequency: z.number(), monetary: z.number() }).describe('In z-space; recency: higher = longer ago.'),
    }),
  ),
  silhouette: z.object({ value: z.number().min(-1).max(1), sampled: z.boolean(), sample_size: z.number().int().nonnegative() }),
  inertia: z.number().nonnegative(),
});

export const ForecastResponseSchema = z.object({
  scope: ScopeSchema,
  method: z.literal('weekday-quantile'),
  history_start: IsoDate,
  history_end: IsoDate,
  forecast_days: z.number().int(),
  interval_coverage: Probability.describe('Nominal coverage of [lower, upper].'),
  backtest_coverage: Probability.nullable().describe('Coverage the interval reached on rolling-origin backtests inside the history.'),
  points: z.array(
    z.object({
      date: IsoDate,
      forecast: z.number().nonnegative().describe('Median demand of the day (the point forecast).'),
      mean: z.number().nonnegative().describe('Expected demand of the day: sum these for totals.'),
      lower: z.number().nonnegative(),
      upper: z.number().nonnegative(),
      closed: z.boolean().describe('A known non-trading day: forecast exactly 0.'),
    }),
  ),
  expected_total: z.number().nonnegative().describe('Sum of the daily means over the forecast days.'),
  feature_importances: z
    .object({ level: z.number(), weekday: z.number(), irregular: z.number() })
    .describe('Shares of the in-sample absolute error removed by the moving level and the weekday profile; they sum to 1.'),
  weekday_profile: z.array(z.number()).length(7).describe('Median demand per weekday at the current level, Monday first.'),
  level: z.number().nonnegative(),
  history: z
    .array(z.object({ date: IsoDate, units: z.number() }))
    .optional()
    .describe('With history_days: the last days of the daily series the forecaster was fitted on, oldest first.'),
});

const InferenceSchema = z.object({
  standard_error: z.number().nonnegative(),
  ci: z.tuple([z.number(), z.number()]),
  p_value: Probability,
  df: z.number(),
});

export const ElasticityResponseSchema = z.object({
  scope: ScopeSchema,
  method: z.enum(['log-log-ols', 'pooled-fixed-effects']),
  coefficient: z.number(),
  ...InferenceSchema.shape,
  confidence: Probability,
  intercept: z.number().nullable(),
  r_squared: z.number(),
  observations: z.number().int().nonnegative().describe('Product-weeks with sales.'),
  products: z.number().int().nonnegative(),
  clustered: InferenceSchema.nullable().describe('Pooled only: standard errors clustered by product.'),
  interpretation: z.string(),
});

const PricePointSchema = z.object({
  price: z.number(),
  quantity: z.number(),
  revenue: z.number(),
  profit: z.number(),
});

export const PriceOptimizationResponseSchema = z.object({
  product_id: z.string(),
  elasticity: z.object({
    coefficient: z.number(),
    ci: z.tuple([z.number(), z.number()]),
    r_squared: z.number(),
    observations: z.number().int(),
    interpretation: z.string(),
  }),
  regime: z.enum(['elastic', 'inelastic', 'non-negative']),
  current: PricePointSchema,
  optimal: PricePointSchema,
  unconstrained_optimal_price: z.number().nullable().describe('c·b/(1+b) when elastic (b < −1), before the band; null otherwise.'),
  position: z.enum(['interior', 'lower-edge', 'upper-edge']),
  band: z.object({ min_factor: z.number(), max_factor: z.number(), min_price: z.number(), max_price: z.number() }),
  profit_change: z.number(),
  explanation: z.string(),
});

const SourceSchema = z.enum(['stream', 'lake']).describe('stream: the scorer\'s state store; lake: the same model on the customer\'s lake history.');

const ScoredRowBase = {
  customer_id: z.string(),
  found: z.literal(true),
  source: SourceSchema,
  as_of: IsoDateTime,
  model_version: z.string(),
};

const NotFoundRowSchema = z.object({ customer_id: z.string(), found: z.literal(false) });

const ClvRowSchema = z.object({
  ...ScoredRowBase,
  clv: z.number().nonnegative().describe('Expected spend over the horizon.'),
  expected_purchases: z.number().nonnegative(),
  expected_spend: z.number().nonnegative().describe('Expected spend per purchase.'),
  p_alive: Probability,
  total_spend: z.number(),
});

const ChurnRowSchema = z.object({
  ...ScoredRowBase,
  churn_probability: Probability.describe('P(no purchase within the horizon).'),
  p_alive: Probability,
  recency_days: z.number().nonnegative(),
  frequency: z.number().int().nonnegative().describe('Purchase days.'),
  tenure_days: z.number().nonnegative(),
});

const ListingFields = {
  horizon_days: z.number().int().positive(),
  model_version: z.string(),
  as_of: IsoDateTime.describe('Scores are as of this time (the store\'s event-time watermark, or the lake\'s last day).'),
  total: z.number().int().nonnegative().nullable().describe('The distinct ids asked for; null for the listing (counting every customer would read the whole table).'),
  next_cursor: z.string().nullable().describe('Pass it as cursor (with the same customer_ids, if any) for the next page; null on the last page.'),
};

export const ClvResponseSchema = z.object({
  ...ListingFields,
  customers: z.array(z.discriminatedUnion('found', [ClvRowSchema, NotFoundRowSchema])),
});

export const ChurnResponseSchema = z.object({
  ...ListingFields,
  customers: z.array(z.discriminatedUnion('found', [ChurnRowSchema, NotFoundRowSchema])),
});

export const AtRiskResponseSchema = z.object({
  threshold: Probability,
  limit: z.number().int(),
  horizon_days: z.number().int().positive(),
  model_version: z.string(),
  as_of: IsoDateTime,
  next_cursor: z.string().nullable().describe('Pass it as cursor (with the same threshold and limit) for the next page; null on the last page.'),
  customers: z.array(
    z.object({
      customer_id: z.string(),
      source: SourceSchema,
      churn_probability: Probability,
      clv: z.number().nonnegative(),
      expected_loss: z.number().nonnegative().describe('churn_probability × clv now; the ranking is by the expected loss stored at the customer\'s last save (event or sweep).'),
      as_of: IsoDateTime,
    }),
  ),
});

export const SegmentMembersResponseSchema = z.object({
  n_clusters: z.number().int(),
  as_of: IsoDate.describe('RFM as of the last day in the lake.'),
  scores_as_of: IsoDateTime.describe('CLV as of this time (as POST clv).'),
  model_version: z.string().describe('The customer model that scored CLV.'),
  customers: z.number().int().nonnegative().describe('Customers segmented.'),
  sampled: z.boolean().describe('true when members is an even sample of the customers rather than all of them.'),
  segments: z.array(
    z.object({
      segment: z.number().int().nonnegative(),
      name: z.string(),
      size: z.number().int().nonnegative(),
      means: z.object({ recency_days: z.number(), frequency: z.number(), monetary: z.number(), clv: z.number().nullable() }),
    }),
  ),
  members: z.array(
    z.object({
      customer_id: z.string(),
      segment: z.number().int().nonnegative(),
      recency_days: z.number(),
      frequency: z.number(),
      monetary: z.number(),
      clv: z.number().nullable(),
    }),
  ),
});

export const CustomerOrdersResponseSchema = z.object({
  customer_id: z.string(),
  as_of: IsoDate.describe('The last day in the lake.'),
  orders: z.array(
    z.object({
      order_id: z.string(),
      type: z.enum(['order', 'return']),
      occurred_at: IsoDateTime,
      value: z.number().describe('Σ quantity × unit price of the event.'),
      units: z.number(),
    }),
  ),
});

export const ProductsResponseSchema = z.object({
  as_of: IsoDate.nullable().describe('The last day in the lake; null when it is empty.'),
  total: z.number().int().nonnegative().describe('Products with priced sales.'),
  products: z.array(
    z.object({
      product_id: z.string(),
      category_id: z.string().nullable(),
      units: z.number(),
      revenue: z.number(),
      mean_price: z.number().describe('revenue / units over the whole lake.'),
      weekly_units: z.number().describe('units per week of the lake\'s span.'),
    }),
  ),
  categories: z.array(z.object({ category_id: z.string(), products: z.number().int(), units: z.number() })).describe('The categories, by units, highest first (at most 1,000).'),
});

export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional().describe('The offending request field, for 400s.'),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  request_id: z.string().optional(),
});

export type SegmentsResponse = z.output<typeof SegmentsResponseSchema>;
export type ForecastResponse = z.output<typeof ForecastResponseSchema>;
export type ElasticityResponse = z.output<typeof ElasticityResponseSchema>;
export type PriceOptimizationResponse = z.output<typeof PriceOptimizationResponseSchema>;
export type ClvResponse = z.output<typeof ClvResponseSchema>;
export type ChurnResponse = z.output<typeof ChurnResponseSchema>;
export type AtRiskResponse = z.output<typeof AtRiskResponseSchema>;
export type Scope = z.output<typeof ScopeSchema>;
export type SegmentMembersResponse = z.output<typeof SegmentMembersResponseSchema>;
export type CustomerOrdersResponse = z.output<typeof CustomerOrdersResponseSchema>;
export type ProductsResponse = z.output<typeof ProductsResponseSchema>;
