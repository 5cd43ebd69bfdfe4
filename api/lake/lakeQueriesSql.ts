import type {
  CustomerRfm,
  DailyUnits,
  DemandScope,
  LakeAggregates,
  LakeOrderLine,
  LakeOrderTotal,
  LakeOrderTotals,
  LakeQueries,
  ProductSales,
  WeeklyProductSales,
} from './lakeQueries.ts';
import { segmentFragments } from './segmentSql.ts';
import { compareCodePoints } from '../../models/customer/customerIds.ts';
import { CUSTOMER_BATCH, QueryEngineError, type QueryEngine, type Row, type SqlParam } from '../engines/queryEngine.ts';
import { LakeUnavailableError } from '../errors.ts';

/** How long a caller waits before asking again while the summaries are missing (the curation runs hourly). */
export const SUMMARIES_RETRY_SECONDS = 300;

/**
 * LakeQueries over the SQL files of api/sql/, on any QueryEngine (DuckDB locally, Athena on
 * AWS). Caller values become positional parameters; nothing a caller sends reaches the SQL text.
 */
export function createLakeQueries(engine: QueryEngine, options: { concurrency?: number } = {}): LakeQueries & LakeOrderTotals & LakeAggregates {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const summaries = summaryGuard(engine);

  return {
    async dateRange() {
      const range = dayRange((await engine.query('date_range')).rows[0]);
      // No summary yet: the lines' own range, so lake customers are scored as of the right day meanwhile.
      return range ?? dayRange((await engine.query('order_line_date_range')).rows[0]);
    },

    async productExists(productId) {
      const [row] = (await engine.query('product_exists', [text(productId, 'productId')])).rows;
      return number(row, 'matches') > 0;
    },

    async categoryExists(categoryId) {
      const [row] = (await engine.query('category_exists', [text(categoryId, 'categoryId')])).rows;
      return number(row, 'matches') > 0;
    },

    async dailyUnits(scope): Promise<DailyUnits[]> {
      const { rows } = await summaries.nonEmpty(await engine.query('daily_units', scopeParams(scope)));
      return rows.map((row) => ({ date: requiredText(row, 'order_day'), units: number(row, 'units') }));
    },

    async weeklyProductSales(scope): Promise<WeeklyProductSales[]> {
      const { rows } = await summaries.nonEmpty(await engine.query('weekly_product_sales', scopeParams(scope)));
      return rows.map((row) => ({
        productId: requiredText(row, 'product_id'),
        weekStart: requiredText(row, 'week_start'),
        units: number(row, 'units'),
        revenue: number(row, 'revenue'),
      }));
    },

    async productSales(): Promise<ProductSales[]> {
      const { rows } = await summaries.nonEmpty(await engine.query('product_sales'));
      return rows.map((row) => ({
        productId: requiredText(row, 'product_id'),
        categoryId: optionalText(row, 'category_id'),
        units: number(row, 'units'),
        revenue: number(row, 'revenue'),
        weeks: number(row, 'weeks'),
      }));
    },

    async customerRfm(asOf): Promise<CustomerRfm[]> {
      const asOfDay = dayNumber(asOf, 'asOf');
      const { rows } = await engine.query('customer_rfm', [asOf, asOf]);
      return rows.map((row) => ({
        customerId: requiredText(row, 'customer_id'),
        recencyDays: asOfDay - dayNumber(requiredText(row, 'last_order_day'), 'last_order_day'),
        frequency: number(row, 'frequency'),
        monetary: number(row, 'monetary'),
      }));
    },

    async segmentSample(asOf) {
      const asOfDay = dayNumber(asOf, 'asOf');
      const { rows } = await summaries.nonEmpty(await engine.query('segment_sample', [asOf]));
      return rows.map((row) => ({
        customerId: requiredText(row, 'customer_id'),
        recencyDays: asOfDay - dayNumber(requiredText(row, 'last_order_day'), 'last_order_day'),
        frequency: number(row, 'frequency'),
        monetary: number(row, 'monetary'),
      }));
    },

    async segmentSummary(asOf, model) {
      dayNumber(asOf, 'asOf');
      const { rows } = await summaries.nonEmpty(await engine.query('segment_summary', [asOf, asOf], segmentFragments(model)));
      return rows.map((row) => {
        const size = number(row, 'size');
        return {
          segment: number(row, 'segment'),
          size,
          recencyDays: number(row, 'recency_days') / size,
          frequency: number(row, 'orders') / size,
          monetary: number(row, 'cents') / 100 / size,
        };
      });
    },

    async segmentMembers(asOf, model, limit) {
      dayNumber(asOf, 'asOf');
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
      const { rows } = await summaries.nonEmpty(await engine.query('segment_members', [asOf, asOf, limit], segmentFragments(model)));
      return rows.map((row) => ({
        customerId: requiredText(row, 'customer_id'),
        segment: number(row, 'segment'),
        recencyDays: number(row, 'recency'),
        frequency: number(row, 'frequency'),
        monetary: number(row, 'monetary'),
      }));
    },

    async pooledElasticitySums(scope) {
      const [row] = (await engine.query('pooled_elasticity', scopeParams(scope))).rows;
      if (number(row, 'all_products') === 0) await summaries.required();
      const sum = (column: string) => (row?.[column] === null ? 0 : number(row, column));
      return {
        allProducts: number(row, 'all_products'),
        allObservations: number(row, 'all_observations'),
        products: number(row, 'products'),
        observations: sum('observations'),
        sxx: sum('sxx'),
        sxy: sum('sxy'),
        syy: sum('syy'),
        rss: sum('rss'),
        meat: sum('meat'),
      };
    },

    async topProducts() {
      const { rows } = await summaries.nonEmpty(await engine.query('top_products'));
      return {
        total: rows.length > 0 ? number(rows[0], 'products') : 0,
        products: rows.map((row) => ({
          productId: requiredText(row, 'product_id'),
          categoryId: optionalText(row, 'category_id'),
          units: number(row, 'units'),
          revenue: number(row, 'revenue'),
          weeks: number(row, 'weeks'),
        })),
      };
    },

    async productCategories() {
      const { rows } = await summaries.nonEmpty(await engine.query('product_categories'));
      return rows.map((row) => ({ categoryId: requiredText(row, 'category_id'), products: number(row, 'products'), units: number(row, 'units') }));
    },

    async customerOrderLines(customerIds): Promise<LakeOrderLine[]> {
      if (customerIds === undefined) return (await engine.query('customer_order_lines')).rows.map(orderLine);
      const results = await mapLimited(customerBatches(customerIds), concurrency, (batch) => engine.query('customer_order_lines_for', batch));
      return results.flatMap((result) => result.rows.map(orderLine));
    },

    async customerOrderTotals(customerIds): Promise<LakeOrderTotal[]> {
      if (customerIds === undefined) return (await summaries.nonEmpty(await engine.query('customer_order_totals'))).rows.map(orderTotal);
      const results = await mapLimited(customerBatches(customerIds), concurrency, (batch) => engine.query('customer_order_totals_for', batch));
      const rows = results.flatMap((result) => result.rows);
      if (results.length > 0 && rows.length === 0) await summaries.required();
      return rows.map(orderTotal);
    },

    close: () => engine.close(),
  };
}

/**
 * The summary tables (lake/sql/curate_*.sql) are written by the curation; a lake curated before
 * them has order lines and empty summaries until its next run. An empty answer from a summary is
 * then checked once (summary_presence.sql, counts only): summaries missing while the lines are
 * not is a 503 with Retry-After (LakeUnavailableError), never an empty answer the caller would
 * take for the truth. Once the summaries are seen, they stay: no more checks.
 */
function summaryGuard(engine: QueryEngine) {
  let present = false;
  const required = async (): Promise<void> => {
    if (present) return;
    const [row] = (await engine.query('summary_presence')).rows;
    if (number(row, 'lines') > 0 && number(row, 'days') === 0) {
      throw new LakeUnavailableError("the lake's summary tables are not built yet: the curation builds them at its next run", SUMMARIES_RETRY_SECONDS);
    }
    present = number(row, 'days') > 0;
  };
  return {
    required,
    async nonEmpty<T extends { rows: readonly unknown[] }>(result: T): Promise<T> {
      if (result.rows.length === 0) await required();
      return result;
    },
  };
}

function dayRange(row: Row | undefined): { first: string; last: string } | null {
  const first = row ? optionalText(row, 'first_day') : null;
  const last = row ? optionalText(row, 'last_day') : null;
  return first === null || last === null ? null : { first, last };
}

/** Distinct ids in code-point order, in batches of exactly CUSTOMER_BATCH parameters (the last id repeated). */
function customerBatches(customerIds: readonly string[]): SqlParam[][] {
  const ids = [...new Set(customerIds.map((id) => text(id, 'customerIds[]')))].sort(compareCodePoints);
  const batches: SqlParam[][] = [];
  for (let at = 0; at < ids.length; at += CUSTOMER_BATCH) {
    const batch: SqlParam[] = ids.slice(at, at + CUSTOMER_BATCH);
    while (batch.length < CUSTOMER_BATCH) batch.push(batch[batch.length - 1]);
    batches.push(batch);
  }
  return batches;
}

function orderTotal(row: Row): LakeOrderTotal {
  const type = requiredText(row, 'type');
  if (type !== 'order' && type !== 'return') throw new QueryEngineError(`order of unknown type ${JSON.stringify(type)}`);
  return {
    orderId: requiredText(row, 'order_id'),
    customerId: requiredText(row, 'customer_id'),
    type,
    occurredAt: requiredText(row, 'occurred_at'),
    cents: number(row, 'cents'),
    units: number(row, 'units'),
    country: optionalText(row, 'country'),
  };
}

/** [product filter on, product id, category filter on, category id]: see daily_units.sql. */
export function scopeParams(scope: DemandScope): SqlParam[] {
  const productId = scope.productId === undefined ? undefined : text(scope.productId, 'productId');
  const categoryId = scope.categoryId === undefined ? undefined : text(scope.categoryId, 'categoryId');
  return [productId !== undefined, productId ?? '', categoryId !== undefined, categoryId ?? ''];
}

function orderLine(row: Row): LakeOrderLine {
  const type = requiredText(row, 'type');
  if (type !== 'order' && type !== 'return') throw new QueryEngineError(`order line of unknown type ${JSON.stringify(type)}`);
  return {
    orderId: requiredText(row, 'order_id'),
    customerId: requiredText(row, 'customer_id'),
    productId: requiredText(row, 'product_id'),
    categoryId: optionalText(row, 'category_id'),
    quantity: number(row, 'quantity'),
    unitPrice: number(row, 'unit_price'),
    occurredAt: requiredText(row, 'occurred_at'),
    type,
    country: optionalText(row, 'country'),
  };
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a real calendar date `YYYY-MM-DD`; a RangeError names `field` otherwise. */
function dayNumber(value: unknown, field: string): number {
  const match = typeof value === 'string' ? DAY.exec(value) : null;
  const ms = match ? Date.UTC(+match[1], +match[2] - 1, +match[3]) : Number.NaN;
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new RangeError(`${field} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
  return ms / 86_400_000;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`);
  return value;
}

function requiredText(row: Row, column: string): string {
  const value = optionalText(row, column);
  if (value === null) throw new QueryEngineError(`column ${column} is NULL`);
  return value;
}

function optionalText(row: Row, column: string): string | null {
  const value = row[column];
  if (value === null || typeof value === 'string') return value;
  throw new QueryEngineError(`column ${column} is not text: ${JSON.stringify(value)}`);
}

function number(row: Row | undefined, column: string): number {
  const value = row?.[column];
  if (typeof value !== 'number') throw new QueryEngineError(`column ${column} is not a number: ${JSON.stringify(value)}`);
  return value;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
