import { z } from 'zod';
import { FORECAST_DAYS_MAX, FORECAST_DAYS_MIN } from '../models/demand/forecastDemand.ts';
import { K_MAX, K_MIN } from '../models/segmentation/segmentation.ts';

/**
 * Every request and response of the API, as zod schemas: the handler validates requests with
 * them, the service's types come from them, and the OpenAPI document (api/openapi.ts) is
 * generated from them, so the three cannot drift apart.
 *
 * Requests are strict: an unknown field is a 400 naming it (a misspelt `forcast_days` must not
 * silently fall back to the default). Identifiers are text of 1..128 characters without control
 * characters; integers are accepted for them too (the old API's callers sent numeric customer
 * ids and stock codes) and turned into their decimal text. Nothing here is ever spliced into SQL:
 * the lake queries bind every value as a parameter, so an id like `'; DROP TABLE orders --` is
 * simply an id nobody has (404).
 */

// ---------------------------------------------------------------------------------------------
// Building blocks

const ID_MAX_LENGTH = 128;
const CUSTOMER_IDS_MAX = 1000;
export const CUSTOMER_PAGE_DEFAULT = 1000;
const CUSTOMER_PAGE_MAX = 5000;
const AT_RISK_LIMIT_MAX = 1000;
const PRICE_BAND_FACTOR_MIN = 0.01;
const HISTORY_DAYS_MAX = 1500;
const SEGMENT_MEMBERS_MAX = 20_000;
const PRODUCTS_LIMIT_MAX = 1000;
const PRICE_BAND_FACTOR_MAX = 100;
/** As OrderEvent's unit price bound (models/customer/orderEvent.ts). */
const PRICE_MAX = 1_000_000;
/** A hundredth of a cent: far smaller prices make the band's edges underflow to 0. */
const PRICE_MIN = 0.0001;
const QUANTITY_MAX = 1_000_000_000_000;

const CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;
/** A UTF-16 surrogate without its pair: not text any engine can store or compare. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** An identifier: text, or a safe integer taken as its decimal text. */
export const IdSchema = z.union([
  z
    .string()
    .min(1, 'must not be empty')
    .max(ID_MAX_LENGTH, `must be at most ${ID_MAX_LENGTH} characters`)
    .regex(CONTROL_CHARACTERS, 'must not contain control characters')
    .refine((text) => !LONE_SURROGATE.test(text), 'must be valid Unicode text'),
  z.number().int('must be text or an integer').transform(String),
], { error: 'must be text or an integer' });

const NUMERIC_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A number in a query string: query values are text, so numeric text becomes a number and
 * anything else (empty, `5abc`, a repeated parameter) stays as it is and fails the number check.
 */
function queryNumber<T extends z.ZodNumber>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' && NUMERIC_TEXT.test(value) ? Number(value) : value), schema);
}

/*
 * Bounds sit on the number itself (zod 4's z.number() already refuses NaN and ±Infinity), not
 * behind a pipe: the document is generated from the input side of each schema, and a bound
 * behind a pipe would vanish from it, so the document would allow values the handler refuses.
 */
const bandFactor = () =>
  z
    .number({ error: 'must be a number' })
    .min(PRICE_BAND_FACTOR_MIN, `must be at least ${PRICE_BAND_FACTOR_MIN}`)
    .max(PRICE_BAND_FACTOR_MAX, `must be at most ${PRICE_BAND_FACTOR_MAX}`);

// ---------------------------------------------------------------------------------------------
// Requests

export const SegmentsQuerySchema = z.strictObject({
  n_clusters: queryNumber(
    z
      .number({ error: `must be an integer from ${K_MIN} to ${K_MAX}` })
      .int(`must be an integer from ${K_MIN} to ${K_MAX}`)
      .min(K_MIN, `must be an integer from ${K_MIN} to ${K_MAX}`)
      .max(K_MAX, `must be an integer from ${K_MIN} to ${K_MAX}`),
  )
    .default(5)
    .describe(`Number of segments (K-Means clusters), ${K_MIN}..${K_MAX}.`),
});

export const ForecastBodySchema = z.strictObject({
  product_id: IdSchema.optional().describe('Forecast this product (with category_id too: its sales within that category).'),
  category_id: IdSchema.optional().describe('Forecast this category. Without product_id and category_id: the whole store.'),
  forecast_days: z
    .number({ error: `must be an integer from ${FORECAST_DAYS_MIN} to ${FORECAST_DAYS_MAX}` })
    .int(`must be an integer from ${FORECAST_DAYS_MIN} to ${FORECAST_DAYS_MAX}`)
    .min(FORECAST_DAYS_MIN, `must be an integer from ${FORECAST_DAYS_MIN} to ${FORECAST_DAYS_MAX}`)
    .max(FORECAST_DAYS_MAX, `must be an integer from ${FORECAST_DAYS_MIN} to ${FORECAST_DAYS_MAX}`)
    .default(30)
    .describe(`Days to forecast after the last day of history, ${FORECAST_DAYS_MIN}..${FORECAST_DAYS_MAX}.`),
  history_days: z
    .number({ error: `must be an integer from 0 to ${HISTORY_DAYS_MAX}` })
    .int(`must be an integer from 0 to ${HISTORY_DAYS_MAX}`)
    .min(0, `must be an integer from 0 to ${HISTORY_DAYS_MAX}`)
    .max(HISTORY_DAYS_MAX, `must be an integer from 0 to ${HISTORY_DAYS_MAX}`)
    .optional()
    .describe(`Also answer the last this many days of the zero-filled history the forecaster was fitted on, 0..${HISTORY_DAYS_MAX} (default: none).`),
});

export const PriceElasticityBodySchema = z.strictObject({
  product_id: IdSchema.optional().describe('One product: log-log OLS of its weekly units on its weekly price.'),
  category: IdSchema.optional().describe('A category: pooled over its products with product fixed effects. Neither: the whole store, pooled.'),
});

/**
 * A band is its two edges: given in either order, they are put in order, because "min <= max"
 * relates two items and no JSON Schema keyword can state it, so the document could not tell a
 * caller that [2, 1] is refused.
 */
const PriceBandSchema = z
  .tuple([bandFactor(), bandFactor()], { error: 'must be [min, max], multiples of current_price' })
  .transform(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]))
  .describe(
    `Allowed prices as multiples of current_price, two factors in [${PRICE_BAND_FACTOR_MIN}, ${PRICE_BAND_FACTOR_MAX}], [min, max] (given the other way round, they are put in order; default: the configured band, [0.5, 2]).`,
  );

export const PriceOptimizationBodySchema = z.strictObject({
  product_id: IdSchema.describe('The product whose elasticity is estimated from its weekly sales.'),
  current_price: z
    .number({ error: 'must be a number' })
    .min(PRICE_MIN, `must be at least ${PRICE_MIN}`)
    .max(PRICE_MAX, `must be at most ${PRICE_MAX}`)
    .describe('Current unit price.'),
  current_quantity: z
    .number({ error: 'must be a number' })
    .nonnegative('must be >= 0')
    .max(QUANTITY_MAX, `must be at most ${QUANTITY_MAX}`)
    .describe('Units sold per period at the current price.'),
  cost_per_unit: z.number({ error: 'must be a number' }).nonnegative('must be >= 0').max(PRICE_MAX, `must be at most ${PRICE_MAX}`).describe('Unit cost.'),
  band: PriceBandSchema.optional(),
});

/** Base64url text: a cursor is the base64url of the id a page ended with (api/pagination.ts). */
const CURSOR = /^[A-Za-z0-9_-]{1,400}$/;

/**
 * Named customers or the whole listing, paged the same way: limit and cursor apply to both, so
 * every body the document allows is one the handler answers.
 */
export const CustomersBodySchema = z.strictObject({
  customer_ids: z
    .array(IdSchema, { error: 'must be a list of customer ids' })
    .min(1, 'give at least one id, or leave customer_ids out for all customers')
    .max(CUSTOMER_IDS_MAX, `at most ${CUSTOMER_IDS_MAX} ids per request`)
    .optional()
    .describe(`Customers to score (at most ${CUSTOMER_IDS_MAX}), answered in request order. Without it: the live customers (the state store's), a page at a time in the store's key order.`),
  limit: z
    .number({ error: `must be an integer from 1 to ${CUSTOMER_PAGE_MAX}` })
    .int(`must be an integer from 1 to ${CUSTOMER_PAGE_MAX}`)
    .min(1, `must be an integer from 1 to ${CUSTOMER_PAGE_MAX}`)
    .max(CUSTOMER_PAGE_MAX, `must be an integer from 1 to ${CUSTOMER_PAGE_MAX}`)
    .optional()
    .describe(`Page size (default ${CUSTOMER_PAGE_DEFAULT}, at most ${CUSTOMER_PAGE_MAX}); with customer_ids, rows of the named customers per page.`),
  cursor: z
    .string({ error: 'must be the next_cursor of a previous page' })
    .regex(CURSOR, 'must be base64url text of 1 to 400 characters, as next_cursor is')
    .optional()
    .describe(
      'The next_cursor of the previous page (opaque). Without customer_ids: a place in the store\'s listing; any other text is read as a place too, so a cursor can move a page but never widen it. With customer_ids: after that id in the request\'s list, and an id not in the list gives an empty last page.',
    ),
});

export const AtRiskQuerySchema = z.strictObject({
  threshold: queryNumber(z.number({ error: 'must be a number from 0 to 1' }).min(0, 'must be a number from 0 to 1').max(1, 'must be a number from 0 to 1'))
    .default(0.6)
    .describe('Customers with churn probability >= threshold, 0..1.'),
  limit: queryNumber(
    z
      .number({ error: `must be an integer from 1 to ${AT_RISK_LIMIT_MAX}` })
      .int(`must be an integer from 1 to ${AT_RISK_LIMIT_MAX}`)
      .min(1, `must be an integer from 1 to ${AT_RISK_LIMIT_MAX}`)
      .max(AT_RISK_LIMIT_MAX, `must be an integer from 1 to ${AT_RISK_LIMIT_MAX}`),
  )
    .default(100)
    .describe(`At most this many customers read per page, 1..${AT_RISK_LIMIT_MAX}.`),
  cursor: z
    .string({ error: 'must be the next_cursor of a previous page' })
    .regex(CURSOR, 'must be base64url text of 1 to 400 characters, as next_cursor is')
    .optional()
    .describe('The next_cursor of the previous page (opaque): the page continues after the place it names in the ranking.'),
});

const ClustersParam = SegmentsQuerySchema.shape.n_clusters;

export const SegmentMembersQuerySchema = z.strictObject({
  n_clusters: ClustersParam,
  limit: queryNumber(
    z
      .number({ error: `must be an integer from 1 to ${SEGMENT_MEMBERS_MAX}` })
      .int(`must be an integer from 1 to ${SEGMENT_MEMBERS_MAX}`)
      .min(1, `must be an integer from 1 to ${SEGMENT_MEMBERS_MAX}`)
      .max(SEGMENT_MEMBERS_MAX, `must be an integer from 1 to ${SEGMENT_MEMBERS_MAX}`),
  )
    .default(2000)
    .describe(`At most this many customers (an even, deterministic sample when there are more), 1..${SEGMENT_MEMBERS_MAX}.`),
});

export const CustomerOrdersQuerySchema = z.strictObject({
  customer_id: IdSchema.describe('The customer whose orders and returns are listed.'),
});

export const ProductsQuerySchema = z.strictObject({
  limit: queryNumber(
    z
      .number({ error: `must be an integer from 1 to ${PRODUCTS_LIMIT_MAX}` })
      .int(`must be an integer from 1 to ${PRODUCTS_LIMIT_MAX}`)
      .min(1, `must be an integer from 1 to ${PRODUCTS_LIMIT_MAX}`)
      .max(PRODUCTS_LIMIT_MAX, `must be an integer from 1 to ${PRODUCTS_LIMIT_MAX}`),
  )
    .default(50)
    .describe(`The best-selling products (by units), at most this many, 1..${PRODUCTS_LIMIT_MAX}.`),
});

export type SegmentsRequest = z.output<typeof SegmentsQuerySchema>;
export type ForecastRequest = z.output<typeof ForecastBodySchema>;
export type PriceElasticityRequest = z.output<typeof PriceElasticityBodySchema>;
export type PriceOptimizationRequest = z.output<typeof PriceOptimizationBodySchema>;
export type CustomersRequest = z.output<typeof CustomersBodySchema>;
export type AtRiskRequest = z.output<typeof AtRiskQuerySchema>;
export type SegmentMembersRequest = z.output<typeof SegmentMembersQuerySchema>;
export type CustomerOrdersRequest = z.output<typeof CustomerOrdersQuerySchema>;
export type ProductsRequest = z.output<typeof ProductsQuerySchema>;

export * from './responseSchemas.ts';
