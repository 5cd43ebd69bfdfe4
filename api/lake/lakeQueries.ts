import type { PooledSums } from '../../models/demand/elasticity.ts';

/**
 * What the API asks of the data lake, as typed functions. Every implementation runs the SQL
 * files in api/sql/ (one query per file, in the subset Athena/Trino and DuckDB both run) with
 * every caller value bound as a parameter, never spliced into the text.
 *
 * Implementations: api/engines/duckdbEngine.ts (embedded default, tests) and
 * api/engines/athenaEngine.ts (AWS), both behind `LakeQueries` built by api/lakeQueriesSql.ts.
 */
export interface DemandScope {
  productId?: string;
  categoryId?: string;
}

export interface DailyUnits {
  /** YYYY-MM-DD */
  date: string;
  units: number;
}

export interface WeeklyProductSales {
  productId: string;
  /** Monday of the week, YYYY-MM-DD */
  weekStart: string;
  units: number;
  revenue: number;
}

/** One product's sales over the whole lake (orders only, priced lines). */
export interface ProductSales {
  productId: string;
  categoryId: string | null;
  units: number;
  revenue: number;
  /** Weeks with any sale of it. */
  weeks: number;
}

export interface CustomerRfm {
  customerId: string;
  recencyDays: number;
  /** Distinct order ids */
  frequency: number;
  monetary: number;
}

/** One order line of the lake, as the stream delivered it. */
export interface LakeOrderLine {
  orderId: string;
  customerId: string;
  productId: string;
  categoryId: string | null;
  quantity: number;
  unitPrice: number;
  /** ISO-8601 */
  occurredAt: string;
  type: 'order' | 'return';
  /** The event's country (OrderEvent `country`), null when it has none or the lake predates the column. */
  country: string | null;
}

export interface LakeOrderTotal {
  orderId: string;
  customerId: string;
  type: 'order' | 'return';
  /** ISO-8601 */
  occurredAt: string;
  cents: number;
  units: number;
  /** The event's country, as on its lines; null when it has none. */
  country: string | null;
}

/**
 * An optional LakeQueries extension: when the lake offers order totals, the service builds
 * customer states from them instead of from every order line (same states, far fewer rows).
 */
export interface LakeOrderTotals {
  customerOrderTotals(customerIds?: readonly string[]): Promise<LakeOrderTotal[]>;
}

export interface LakeQueries {
  /** First and last day with any order line, YYYY-MM-DD; null when the lake is empty. */
  dateRange(): Promise<{ first: string; last: string } | null>;
  productExists(productId: string): Promise<boolean>;
  categoryExists(categoryId: string): Promise<boolean>;
  /** Units sold per day (orders only), over the days that have sales; callers zero-fill. */
  dailyUnits(scope: DemandScope): Promise<DailyUnits[]>;
  /** Product-weeks with units > 0 (orders only), for one product, a category, or the store. */
  weeklyProductSales(scope: DemandScope): Promise<WeeklyProductSales[]>;
  /** Sales per product over the whole lake, by product id. */
  productSales(): Promise<ProductSales[]>;
  /** RFM per customer as of a day (YYYY-MM-DD, inclusive), orders only. */
  customerRfm(asOf: string): Promise<CustomerRfm[]>;
  /** Order lines (orders and returns) of the given customers, or of all customers when omitted. */
  customerOrderLines(customerIds?: readonly string[]): Promise<LakeOrderLine[]>;
  close(): Promise<void>;
}

/** One segment of a fitted model over every customer of the lake: its size and RFM means. */
export interface SegmentAggregate {
  segment: number;
  size: number;
  recencyDays: number;
  frequency: number;
  monetary: number;
}

/** A customer of a segment, as segment_members assigns it. */
export interface SegmentMember extends CustomerRfm {
  segment: number;
}

/** The within-product sums of a pooled elasticity (pooled_elasticity.sql): the model's own PooledSums. */
export type PooledElasticitySums = PooledSums;

/** The best sellers (at most TOP_PRODUCTS) and how many products sold in all. */
export interface TopProducts {
  total: number;
  products: ProductSales[];
}

export interface CategorySales {
  categoryId: string;
  products: number;
  units: number;
}

/**
 * An optional LakeQueries extension: aggregates computed by the lake engine, each a bounded
 * number of rows whatever the lake's size. When the lake offers them the services use them
 * instead of fetching per-customer or per-product-week rows (the SQL lakes do; the in-memory
 * test double does not, and is answered by the older whole-table path).
 */
export interface LakeAggregates {
  // The SQL lakes answer these from the curation's summary tables, which hold every order: `asOf`
  // is the lake's last day (what the segments service passes); recency counts from it.
  /** RFM of a deterministic random sample of at most SEGMENT_SAMPLE_SIZE customers (api/lake/segmentSql.ts). */
  segmentSample(asOf: string): Promise<CustomerRfm[]>;
  /** Every customer assigned to the model's nearest centroid: per-segment sizes and means (segments with none left out). */
  segmentSummary(asOf: string, model: SegmentModelNumbers): Promise<SegmentAggregate[]>;
  /** The first `limit` customers in MD5 order, assigned as segmentSummary does. */
  segmentMembers(asOf: string, model: SegmentModelNumbers, limit: number): Promise<SegmentMember[]>;
  /** Pooled elasticity sums for a category or the store. */
  pooledElasticitySums(scope: DemandScope): Promise<PooledElasticitySums>;
  topProducts(): Promise<TopProducts>;
  productCategories(): Promise<CategorySales[]>;
}

/** What the SQL needs of a segment model. */
export interface SegmentModelNumbers {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  centroids: readonly (readonly [number, number, number])[];
}

export function hasAggregates(lake: LakeQueries): lake is LakeQueries & LakeAggregates {
  return typeof (lake as Partial<LakeAggregates>).segmentSummary === 'function';
}
