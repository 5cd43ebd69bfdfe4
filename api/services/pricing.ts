import type { WeeklyTable } from '../../models/demand/demandSeries.ts';
import {
  type ElasticityEstimate,
  InsufficientPriceVariationError,
  pooledElasticity,
  pooledElasticityFromSums,
  productElasticity,
} from '../../models/demand/elasticity.ts';
import { optimizePrice } from '../../models/demand/priceOptimization.ts';
import { parseIsoDay, weekIndex } from '../../models/time/calendar.ts';
import { UnprocessableError } from '../errors.ts';
import { hasAggregates, type DemandScope, type WeeklyProductSales } from '../lake/lakeQueries.ts';
import type { ElasticityResponse, PriceElasticityRequest, PriceOptimizationRequest, PriceOptimizationResponse } from '../schemas.ts';
import type { RefreshingCache } from './refreshingCache.ts';
import { type ServiceContext, scopeKey, scopeOf } from './serviceContext.ts';

type ElasticityOutcome = { ok: true; estimate: ElasticityEstimate } | { ok: false; error: InsufficientPriceVariationError };

/** GET price-elasticity and POST price-optimization: one cached elasticity estimate per scope. */
export class PricingService {
  private readonly elasticityCache: RefreshingCache<string, ElasticityOutcome>;

  constructor(private readonly context: ServiceContext) {
    this.elasticityCache = context.lakeCache(context.config.cacheEntries, 'elasticity');
  }

  async elasticity(scope: DemandScope): Promise<ElasticityEstimate> {
    const outcome = await this.elasticityCache.get(scopeKey(scope), async (): Promise<ElasticityOutcome> => {
      try {
        const estimate = await this.estimate(scope);
        if (!Number.isFinite(estimate.coefficient) || !Number.isFinite(estimate.standardError)) {
          throw new InsufficientPriceVariationError('the weekly prices do not identify an elasticity (the fit is degenerate)', { productId: scope.productId, observations: estimate.observations });
        }
        return { ok: true, estimate };
      } catch (error) {
        // Deterministic for this lake snapshot: cached like an estimate.
        if (error instanceof InsufficientPriceVariationError) return { ok: false, error };
        throw error;
      }
    });
    if (!outcome.ok) {
      throw new UnprocessableError('insufficient_price_variation', outcome.error.reason, { ...outcome.error.details });
    }
    return outcome.estimate;
  }

  /**
   * A product's weeks are few (one row per week of the lake's span), so they come to the Lambda;
   * a category or the store is pooled in the lake's SQL when it can (one row of sums), and from
   * every product-week otherwise (the in-memory lake of the tests).
   */
  private async estimate(scope: DemandScope): Promise<ElasticityEstimate> {
    const lake = this.context.lake;
    if (scope.productId === undefined && hasAggregates(lake)) return pooledElasticityFromSums(await lake.pooledElasticitySums(scope));
    const tables = weeklyTables(await lake.weeklyProductSales(scope));
    return scope.productId !== undefined ? productElasticity(tables.get(scope.productId) ?? emptyTable(scope.productId)) : pooledElasticity([...tables.values()]);
  }

  async priceElasticity(request: PriceElasticityRequest): Promise<ElasticityResponse> {
    const scope: DemandScope = { productId: request.product_id, categoryId: request.category };
    await this.context.requireScope(scope);
    const estimate = await this.elasticity(scope);
    const clustered = estimate.clustered;
    return {
      scope: scopeOf(scope),
      method: estimate.scope === 'product' ? 'log-log-ols' : 'pooled-fixed-effects',
      coefficient: estimate.coefficient,
      standard_error: estimate.standardError,
      ci: estimate.ci,
      p_value: estimate.pValue,
      df: estimate.df,
      confidence: estimate.confidence,
      intercept: estimate.intercept ?? null,
      r_squared: estimate.rSquared,
      observations: estimate.observations,
      products: estimate.products,
      clustered: clustered ? { standard_error: clustered.standardError, ci: clustered.ci, p_value: clustered.pValue, df: clustered.df } : null,
      interpretation: estimate.interpretation,
    };
  }

  async priceOptimization(request: PriceOptimizationRequest): Promise<PriceOptimizationResponse> {
    const scope: DemandScope = { productId: request.product_id };
    await this.context.requireScope(scope);
    const estimate = await this.elasticity(scope);
    const band = request.band ?? this.context.config.priceBand;
    const result = optimizePrice({
      currentPrice: request.current_price,
      currentQuantity: request.current_quantity,
      costPerUnit: request.cost_per_unit,
      elasticity: estimate.coefficient,
      band,
    });
    refuseUnrepresentable(result);
    return {
      product_id: request.product_id,
      elasticity: {
        coefficient: estimate.coefficient,
        ci: estimate.ci,
        r_squared: estimate.rSquared,
        observations: estimate.observations,
        interpretation: estimate.interpretation,
      },
      regime: result.regime,
      current: result.current,
      optimal: result.optimal,
      unconstrained_optimal_price: result.unconstrainedOptimalPrice,
      position: result.position,
      band: { min_factor: band[0], max_factor: band[1], min_price: result.band.min, max_price: result.band.max },
      profit_change: result.profitChange,
      explanation: result.explanation,
    };
  }
}

/**
 * q0·(p/p0)^b overflows a double for a steep enough elasticity at a band edge far from the
 * current price; JSON would carry the Infinity as null, which no number field allows. Such an
 * answer is one the data cannot give: 422, as the document states.
 */
function refuseUnrepresentable(result: ReturnType<typeof optimizePrice>): void {
  const numbers = [result.current, result.optimal].flatMap((point) => [point.price, point.quantity, point.revenue, point.profit]);
  if ([...numbers, result.profitChange].every(Number.isFinite)) return;
  throw new UnprocessableError(
    'unrepresentable_answer',
    'The demand curve at this band gives quantities or profits beyond what a number can carry; narrow the band.',
    { elasticity: result.elasticity, band: [result.band.min, result.band.max] },
  );
}

/**
 * Weekly tables per product from the lake's product-weeks, weeks in order. Only weeks with units
 * > 0 and revenue > 0 count: a week of free lines only (price 0, e.g. samples) has no price whose
 * logarithm the regression could take.
 */
export function weeklyTables(rows: readonly WeeklyProductSales[]): Map<string, WeeklyTable> {
  const grouped = new Map<string, WeeklyProductSales[]>();
  for (const row of rows) {
    if (!(row.units > 0) || !(row.revenue > 0)) continue;
    let list = grouped.get(row.productId);
    if (!list) grouped.set(row.productId, (list = []));
    list.push(row);
  }
  const tables = new Map<string, WeeklyTable>();
  for (const [productId, list] of grouped) {
    list.sort((a, b) => (a.weekStart < b.weekStart ? -1 : a.weekStart > b.weekStart ? 1 : 0));
    tables.set(productId, {
      productId,
      weeks: Int32Array.from(list, (row) => weekIndex(parseIsoDay(row.weekStart))),
      units: Float64Array.from(list, (row) => row.units),
      revenue: Float64Array.from(list, (row) => row.revenue),
      price: Float64Array.from(list, (row) => row.revenue / row.units),
    });
  }
  return tables;
}

function emptyTable(productId: string): WeeklyTable {
  return { productId, weeks: new Int32Array(0), units: new Float64Array(0), revenue: new Float64Array(0), price: new Float64Array(0) };
}
