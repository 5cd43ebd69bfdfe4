import type { StateStore } from '../consumers/stateStore/stateStore.ts';
import { DAY_MS, dayIndex, parseIsoDay, weekIndex } from '../models/time/calendar.ts';
import { type CustomerFeatures, featuresOf } from '../models/customer/customerFeatures.ts';
import type { CustomerModel, ModelScore } from '../models/clv/customerModel.ts';
import { applyEvent, type CustomerState, emptyState } from '../models/customer/customerState.ts';
import type { DailySeries, WeeklyTable } from '../models/demand/demandSeries.ts';
import {
  type ElasticityEstimate,
  InsufficientPriceVariationError,
  pooledElasticity,
  productElasticity,
} from '../models/demand/elasticity.ts';
import { describeForecast, storeClosedDays } from '../models/demand/forecastDemand.ts';
import { fitWeekdayQuantile, type WeekdayQuantileModel } from '../models/demand/weekdayQuantile.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import { DEFAULT_PRICE_BAND, optimizePrice } from '../models/demand/priceOptimization.ts';
import { fitSegments } from '../models/segmentation/segmentation.ts';
import type { CustomerRfm, DemandScope, LakeOrderLine, LakeOrderTotal, LakeOrderTotals, LakeQueries, WeeklyProductSales } from './lakeQueries.ts';
import { compareCodePoints } from './lakeQueriesSql.ts';
import {
  type AtRiskRequest,
  type AtRiskResponse,
  type ChurnResponse,
  CUSTOMER_PAGE_DEFAULT,
  type ClvResponse,
  type CustomersRequest,
  type ElasticityResponse,
  type ForecastRequest,
  type ForecastResponse,
  type PriceElasticityRequest,
  type PriceOptimizationRequest,
  type PriceOptimizationResponse,
  type Scope,
  type SegmentsRequest,
  type SegmentsResponse,
} from './schemas.ts';

/**
 * The API's core: typed request in, typed response out, over three ports (the lake, the scorer's
 * state store, the customer model). No HTTP here; api/http/ adapts API Gateway events to it.
 *
 * Nothing is trained per request. What depends only on the lake (RFM, K-Means fits per k, daily
 * series and fitted forecasters per scope, elasticity estimates per scope, the lake customers'
 * states) is computed once and cached; the lake only changes when Firehose delivers (minutes),
 * so these caches live `lakeTtlMs` and are then refreshed in the background while the previous
 * answer keeps being served for up to `lakeStaleMs` more.
 *
 * Customer scores are live: rows for named customers are read from the state store on every
 * request. The population listing (all customers, at-risk ranking) is a snapshot of a store scan
 * plus the lake-only customers, rebuilt after `populationTtlMs` (served stale for at most
 * `populationStaleMs` more while it rebuilds), so a stream update shows there within
 * populationTtlMs + populationStaleMs + one rebuild.
 *
 *   t ──────────┬──────── ttl ────────┬──── stale window ────┬──────────►
 *               loaded                │ served + refresh     │ callers wait for a reload
 */

/**
 * One order event of the lake, its lines summed: what a customer's state needs (applyEvent reads
 * an event's time, type, id, Σ round(quantity × price × 100) cents and Σ quantity, never its
 * products), at a twentieth of the rows of its lines.
 */
function hasOrderTotals(lake: LakeQueries): lake is LakeQueries & LakeOrderTotals {
  return typeof (lake as Partial<LakeOrderTotals>).customerOrderTotals === 'function';
}

export interface ApiServiceConfig {
  /** Default price band for price-optimization, as multiples of the current price. */
  priceBand: [number, number];
  lakeTtlMs: number;
  lakeStaleMs: number;
  populationTtlMs: number;
  populationStaleMs: number;
  /** 'event': scores as of the store's event-time watermark (replays); 'wall': never earlier than now (live). */
  scoreClock: 'event' | 'wall';
  /** K-Means fits computed by warmUp(); other k are fitted on their first request and cached. */
  precomputeSegments: number[];
  /** Entries per per-scope cache (forecasts, elasticities, existence checks). */
  cacheEntries: number;
  /**
   * 'all': the lake's customers are loaded once (one query over every order line) and kept;
   * requests for named customers read them by id until that load is done. 'by-id': named
   * customers are always read by id (only the population listing loads them all).
   */
  lakeCustomers: 'all' | 'by-id';
}

export const DEFAULT_API_CONFIG: ApiServiceConfig = {
  priceBand: [...DEFAULT_PRICE_BAND],
  lakeTtlMs: 10 * 60_000,
  lakeStaleMs: 60 * 60_000,
  populationTtlMs: 1_000,
  populationStaleMs: 3_000,
  scoreClock: 'event',
  precomputeSegments: [5],
  cacheEntries: 512,
  lakeCustomers: 'all',
};

export interface ApiServiceDeps {
  lake: LakeQueries;
  store: StateStore;
  model: CustomerModel;
  config?: Partial<ApiServiceConfig>;
  /** Wall clock (ms); tests pin it. */
  now?: () => number;
  /** Where background refresh failures are reported (the previous answer keeps being served). */
  onBackgroundError?: (error: unknown, what: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Errors the HTTP layer maps to statuses (api/http/errors.ts)

/** 404: the product, category or customers are not in the lake (nor the store). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(
    readonly kind: 'product' | 'category' | 'customer',
    readonly ids: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** 422: a well-formed request the data cannot answer (too little price variation, too few customers). */
export class UnprocessableError extends Error {
  override readonly name = 'UnprocessableError';
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// A small cache: TTL, a serve-stale-while-refreshing window, LRU bound, shared in-flight loads

interface MemoEntry<V> {
  value?: V;
  loadedAt: number;
  pending?: Promise<V>;
}

export class Memo<K, V> {
  private readonly entries = new Map<K, MemoEntry<V>>();

  constructor(
    private readonly options: { ttlMs: number; staleMs: number; maxEntries: number; now: () => number; onRefreshError?: (error: unknown) => void },
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (!entry) return this.load(key, load, undefined);
    this.touch(key, entry);
    if (entry.value === undefined) return entry.pending!;
    const age = this.options.now() - entry.loadedAt;
    if (age <= this.options.ttlMs) return Promise.resolve(entry.value);
    if (age <= this.options.ttlMs + this.options.staleMs) {
      if (!entry.pending) this.load(key, load, entry).catch((error) => this.options.onRefreshError?.(error));
      return Promise.resolve(entry.value);
    }
    return entry.pending ?? this.load(key, load, entry);
  }

  /** The value held for `key` (fresh or stale), without loading. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private touch(key: K, entry: MemoEntry<V>): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private load(key: K, load: () => Promise<V>, existing: MemoEntry<V> | undefined): Promise<V> {
    const entry: MemoEntry<V> = existing ?? { loadedAt: 0 };
    const pending = (async () => load())().then(
      (value) => {
        entry.value = value;
        entry.loadedAt = this.options.now();
        entry.pending = undefined;
        return value;
      },
      (error: unknown) => {
        entry.pending = undefined;
        // A first load that failed leaves nothing behind: the next call tries again.
        if (entry.value === undefined && this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    entry.pending = pending;
    if (!existing) {
      this.entries.set(key, entry);
      while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    }
    return pending;
  }
}

// ---------------------------------------------------------------------------------------------
// Internal shapes

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

type ElasticityOutcome = { ok: true; estimate: ElasticityEstimate } | { ok: false; error: InsufficientPriceVariationError };

interface LakeCustomers {
  states: Map<string, CustomerState>;
  /** End of the lake's last day: lake customers are scored as of it (or the watermark, if later). */
  endMs: number | null;
}

interface ScoredCustomer {
  customerId: string;
  source: 'stream' | 'lake';
  asOfMs: number;
  modelVersion: string;
  score: ModelScore;
  features: Pick<CustomerFeatures, 'recencyDays' | 'frequency' | 'tenureDays' | 'totalSpend'>;
}

interface Population {
  asOfMs: number;
  /** Every known customer id, sorted (code-unit order). */
  ids: string[];
  byId: Map<string, ScoredCustomer>;
  /** By churn probability × CLV, highest first; ties by id. */
  ranked: ScoredCustomer[];
}

const STORE_KEY = 'store';

export class ApiService {
  readonly config: ApiServiceConfig;
  private readonly lake: LakeQueries;
  private readonly store: StateStore;
  private readonly model: CustomerModel;
  private readonly now: () => number;
  private readonly onBackgroundError: (error: unknown, what: string) => void;

  private readonly dateRangeMemo: Memo<string, { first: string; last: string } | null>;
  private readonly storeDemandMemo: Memo<string, StoreDemand | null>;
  private readonly existsMemo: Memo<string, boolean>;
  private readonly forecastMemo: Memo<string, FittedForecast>;
  private readonly elasticityMemo: Memo<string, ElasticityOutcome>;
  private readonly rfmMemo: Memo<string, { asOf: string; rfm: CustomerRfm[] }>;
  private readonly segmentsMemo: Memo<number, SegmentsResponse>;
  private readonly lakeCustomersMemo: Memo<string, LakeCustomers>;
  private readonly populationMemo: Memo<string, Population>;
  /** Rescored stream states, so an unchanged state is not rescored for the same day twice. */
  private readonly rescored = new Map<string, { version: number; day: number; scored: ScoredCustomer }>();

  constructor(deps: ApiServiceDeps) {
    this.config = { ...DEFAULT_API_CONFIG, ...deps.config };
    this.lake = deps.lake;
    this.store = deps.store;
    this.model = deps.model;
    this.now = deps.now ?? Date.now;
    this.onBackgroundError = deps.onBackgroundError ?? (() => {});
    const lakeCache = <K, V>(maxEntries: number, what: string) =>
      new Memo<K, V>({
        ttlMs: this.config.lakeTtlMs,
        staleMs: this.config.lakeStaleMs,
        maxEntries,
        now: this.now,
        onRefreshError: (error) => this.onBackgroundError(error, what),
      });
    this.dateRangeMemo = lakeCache<string, { first: string; last: string } | null>(1, 'date range');
    this.storeDemandMemo = lakeCache<string, StoreDemand | null>(1, 'store demand');
    this.existsMemo = lakeCache<string, boolean>(this.config.cacheEntries * 8, 'existence');
    this.forecastMemo = lakeCache<string, FittedForecast>(this.config.cacheEntries, 'forecast');
    this.elasticityMemo = lakeCache<string, ElasticityOutcome>(this.config.cacheEntries, 'elasticity');
    this.rfmMemo = lakeCache<string, { asOf: string; rfm: CustomerRfm[] }>(1, 'rfm');
    this.segmentsMemo = lakeCache<number, SegmentsResponse>(16, 'segments');
    this.lakeCustomersMemo = lakeCache<string, LakeCustomers>(1, 'lake customers');
    this.populationMemo = new Memo({
      ttlMs: this.config.populationTtlMs,
      staleMs: this.config.populationStaleMs,
      maxEntries: 1,
      now: this.now,
      onRefreshError: (error) => this.onBackgroundError(error, 'population'),
    });
  }

  /**
   * Computes what every endpoint shares, plus the configured K-Means fits, so the first requests
   * are fast. Returns milliseconds per part. Failures propagate (a lake that cannot be read).
   */
  async warmUp(): Promise<Record<string, number>> {
    const timings: Record<string, number> = {};
    const time = async (name: string, work: () => Promise<unknown>) => {
      const start = performance.now();
      await work();
      timings[name] = Math.round(performance.now() - start);
    };
    await time('dateRange', () => this.dateRange());
    await Promise.all([
      time('storeDemand', () => this.storeDemand()),
      time('rfm', () => this.rfm()),
      time('lakeCustomers', () => this.lakeCustomers()),
    ]);
    await time('storeForecast', () => this.fittedForecast({}));
    await time('storeElasticity', () => this.elasticity({}));
    for (const k of this.config.precomputeSegments) await time(`segments.k${k}`, () => this.segments({ n_clusters: k }).catch(() => undefined));
    await time('population', () => this.population());
    return timings;
  }

  // -------------------------------------------------------------------------------------------
  // Lake basics

  private dateRange() {
    return this.dateRangeMemo.get(STORE_KEY, () => this.lake.dateRange());
  }

  private storeDemand(): Promise<StoreDemand | null> {
    return this.storeDemandMemo.get(STORE_KEY, async () => {
      const range = await this.dateRange();
      if (!range) return null;
      const firstDay = parseIsoDay(range.first);
      const lastDay = parseIsoDay(range.last);
      const series = zeroFilled(await this.lake.dailyUnits({}), firstDay, lastDay);
      return { firstDay, lastDay, series, closedDays: storeClosedDays(series) };
    });
  }

  private async requireScope(scope: DemandScope): Promise<void> {
    const checks: Promise<void>[] = [];
    if (scope.productId !== undefined) {
      const id = scope.productId;
      checks.push(
        this.existsMemo.get(`p\u0000${id}`, () => this.lake.productExists(id)).then((known) => {
          if (!known) throw new NotFoundError('product', [id], `unknown product: ${JSON.stringify(id)}`);
        }),
      );
    }
    if (scope.categoryId !== undefined) {
      const id = scope.categoryId;
      checks.push(
        this.existsMemo.get(`c\u0000${id}`, () => this.lake.categoryExists(id)).then((known) => {
          if (!known) throw new NotFoundError('category', [id], `unknown category: ${JSON.stringify(id)}`);
        }),
      );
    }
    await Promise.all(checks);
  }

  // -------------------------------------------------------------------------------------------
  // Segments

  private rfm(): Promise<{ asOf: string; rfm: CustomerRfm[] }> {
    return this.rfmMemo.get(STORE_KEY, async () => {
      const range = await this.dateRange();
      if (!range) return { asOf: '', rfm: [] };
      return { asOf: range.last, rfm: await this.lake.customerRfm(range.last) };
    });
  }

  segments(request: SegmentsRequest): Promise<SegmentsResponse> {
    const k = request.n_clusters;
    return this.segmentsMemo.get(k, async () => {
      const { asOf, rfm } = await this.rfm();
      if (rfm.length < k) {
        throw new UnprocessableError('too_few_customers', `${rfm.length} customers cannot form ${k} segments`, { customers: rfm.length, n_clusters: k });
      }
      const fit = fitSegments(rfm, { k });
      return {
        n_clusters: k,
        as_of: asOf,
        customers: rfm.length,
        method: 'rfm-kmeans' as const,
        segments: fit.segments.map((segment) => ({
          segment: segment.segment,
          name: segment.name,
          size: segment.size,
          share: segment.share,
          means: { recency_days: segment.means.recencyDays, frequency: segment.means.frequency, monetary: segment.means.monetary },
          centroid: segment.centroid,
        })),
        silhouette: { value: fit.silhouette.value, sampled: fit.silhouette.sampled, sample_size: fit.silhouette.sampleSize },
        inertia: fit.model.inertia,
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Forecast

  private fittedForecast(scope: DemandScope): Promise<FittedForecast> {
    return this.forecastMemo.get(scopeKey(scope), async () => {
      const demand = await this.storeDemand();
      if (!demand) throw new UnprocessableError('no_history', 'the lake has no orders yet: nothing to forecast from');
      const history = isStore(scope) ? demand.series : zeroFilled(await this.lake.dailyUnits(scope), demand.firstDay, demand.lastDay);
      return { history, model: fitWeekdayQuantile(history, { closedDays: demand.closedDays }) };
    });
  }

  async forecast(request: ForecastRequest): Promise<ForecastResponse> {
    const scope: DemandScope = { productId: request.product_id, categoryId: request.category_id };
    await this.requireScope(scope);
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
    };
  }

  // -------------------------------------------------------------------------------------------
  // Elasticity and price optimization

  private async elasticity(scope: DemandScope): Promise<ElasticityEstimate> {
    const outcome = await this.elasticityMemo.get(scopeKey(scope), async (): Promise<ElasticityOutcome> => {
      const tables = weeklyTables(await this.lake.weeklyProductSales(scope));
      try {
        const estimate = scope.productId !== undefined
          ? productElasticity(tables.get(scope.productId) ?? emptyTable(scope.productId))
          : pooledElasticity([...tables.values()]);
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

  async priceElasticity(request: PriceElasticityRequest): Promise<ElasticityResponse> {
    const scope: DemandScope = { productId: request.product_id, categoryId: request.category };
    await this.requireScope(scope);
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
    await this.requireScope(scope);
    const estimate = await this.elasticity(scope);
    const band = request.band ?? this.config.priceBand;
    const result = optimizePrice({
      currentPrice: request.current_price,
      currentQuantity: request.current_quantity,
      costPerUnit: request.cost_per_unit,
      elasticity: estimate.coefficient,
      band,
    });
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

  // -------------------------------------------------------------------------------------------
  // Customers: clv, churn, at-risk

  private lakeCustomers(): Promise<LakeCustomers> {
    return this.lakeCustomersMemo.get(STORE_KEY, async () => {
      const [range, states] = await Promise.all([this.dateRange(), this.lakeStatesById()]);
      return { states, endMs: range ? endOfDayMs(range.last) : null };
    });
  }

  /** States of the given customers (all customers when omitted) from the lake. */
  private async lakeStatesById(customerIds?: readonly string[]): Promise<Map<string, CustomerState>> {
    if (hasOrderTotals(this.lake)) return statesFromOrderTotals(await this.lake.customerOrderTotals(customerIds));
    return statesFromLines(await this.lake.customerOrderLines(customerIds));
  }

  /**
   * Lake states of customers the stream has not seen: from the loaded lake customers when they
   * are loaded; otherwise read by id (one query per 100 ids), and with `lakeCustomers: 'all'`
   * the full load starts in the background for the next requests.
   */
  private async lakeStatesOf(customerIds: readonly string[]): Promise<{ states: Map<string, CustomerState>; endMs: number | null }> {
    const loaded = this.lakeCustomersMemo.peek(STORE_KEY);
    if (loaded) {
      const found = new Map<string, CustomerState>();
      for (const id of customerIds) {
        const state = loaded.states.get(id);
        if (state) found.set(id, state);
      }
      return { states: found, endMs: loaded.endMs };
    }
    const range = this.dateRange();
    const states = customerIds.length > 0 ? this.lakeStatesById(customerIds) : Promise.resolve(new Map<string, CustomerState>());
    if (this.config.lakeCustomers === 'all') this.lakeCustomers().catch((error) => this.onBackgroundError(error, 'lake customers'));
    const [resolvedRange, resolvedStates] = await Promise.all([range, states]);
    return { states: resolvedStates, endMs: resolvedRange ? endOfDayMs(resolvedRange.last) : null };
  }

  /** Scores are as of the watermark (or the lake's end, if later; never before now on the wall clock). */
  private scoringTime(watermark: number, lakeEndMs: number | null): number {
    const asOf = Math.max(watermark, lakeEndMs ?? 0);
    return this.config.scoreClock === 'wall' ? Math.max(asOf, this.now()) : asOf;
  }

  /**
   * A stream customer's score: the stored one if it is from this model and as of the scoring
   * day or later (scores depend on the day only: featuresOf), else the state rescored as of
   * `asOfMs` (read-only: the API never writes the store).
   */
  private scoreStream(state: CustomerState, asOfMs: number): ScoredCustomer {
    const at = Math.max(asOfMs, state.lastEventMs);
    const day = dayIndex(at);
    const stored = state.score;
    if (stored && stored.modelVersion === this.model.version && dayIndex(stored.asOfMs) >= day) {
      const features = featuresOf(state, stored.asOfMs);
      return {
        customerId: state.customerId,
        source: 'stream',
        asOfMs: stored.asOfMs,
        modelVersion: stored.modelVersion,
        score: stored,
        features,
      };
    }
    const cached = this.rescored.get(state.customerId);
    if (cached && cached.version === state.version && cached.day === day && cached.scored.modelVersion === this.model.version) return cached.scored;
    const scored = this.scoreState(state, at, 'stream');
    if (this.rescored.size > 500_000) this.rescored.clear();
    this.rescored.set(state.customerId, { version: state.version, day, scored });
    return scored;
  }

  private scoreState(state: CustomerState, asOfMs: number, source: 'stream' | 'lake'): ScoredCustomer {
    const features = featuresOf(state, asOfMs);
    return { customerId: state.customerId, source, asOfMs, modelVersion: this.model.version, score: this.model.score(features), features };
  }

  private population(): Promise<Population> {
    return this.populationMemo.get(STORE_KEY, async () => {
      const [watermark, lake] = await Promise.all([this.store.getWatermark(), this.lakeCustomers()]);
      const asOfMs = this.scoringTime(watermark, lake.endMs);
      const byId = new Map<string, ScoredCustomer>();
      for await (const page of this.store.scan()) {
        for (const state of page) byId.set(state.customerId, this.scoreStream(state, asOfMs));
      }
      for (const [id, state] of lake.states) if (!byId.has(id)) byId.set(id, this.scoreState(state, asOfMs, 'lake'));
      const ids = [...byId.keys()].sort(compareIds);
      const ranked = ids.map((id) => byId.get(id)!).sort((a, b) => expectedLoss(b) - expectedLoss(a) || compareIds(a.customerId, b.customerId));
      return { asOfMs, ids, byId, ranked };
    });
  }

  /** Fresh scores of the given (distinct) ids: the store first, the lake for the rest. */
  private async scoreCustomers(ids: readonly string[]): Promise<{ asOfMs: number; scored: Map<string, ScoredCustomer> }> {
    const [watermark, stream] = await Promise.all([this.store.getWatermark(), this.store.getMany(ids)]);
    const missing = ids.filter((id) => !stream.has(id));
    const lake = await this.lakeStatesOf(missing);
    const asOfMs = this.scoringTime(watermark, lake.endMs);
    const scored = new Map<string, ScoredCustomer>();
    for (const [id, state] of stream) scored.set(id, this.scoreStream(state, asOfMs));
    for (const [id, state] of lake.states) if (!scored.has(id)) scored.set(id, this.scoreState(state, asOfMs, 'lake'));
    return { asOfMs, scored };
  }

  /**
   * The rows of a clv/churn request. Named customers: in request order (duplicates once), a
   * `found: false` row for each unknown id, 404 when none is known. No ids: every known customer
   * by id, a page at a time.
   */
  private async customerRows(request: CustomersRequest): Promise<{
    asOfMs: number;
    total: number;
    nextCursor: string | null;
    rows: Array<ScoredCustomer | { customerId: string; found: false }>;
  }> {
    if (request.customer_ids !== undefined) {
      const ids = [...new Set(request.customer_ids)];
      const { asOfMs, scored } = await this.scoreCustomers(ids);
      if (scored.size === 0) {
        throw new NotFoundError('customer', ids, ids.length === 1 ? `unknown customer: ${JSON.stringify(ids[0])}` : `none of the ${ids.length} customers is known`);
      }
      return { asOfMs, total: ids.length, nextCursor: null, rows: ids.map((id) => scored.get(id) ?? { customerId: id, found: false as const }) };
    }
    const population = await this.population();
    const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    const start = after === undefined ? 0 : upperBound(population.ids, after);
    const limit = request.limit ?? CUSTOMER_PAGE_DEFAULT;
    const pageIds = population.ids.slice(start, start + limit);
    const { asOfMs, scored } = await this.scoreCustomers(pageIds);
    const rows = pageIds.map((id) => scored.get(id) ?? population.byId.get(id)!);
    const more = start + limit < population.ids.length;
    return {
      asOfMs,
      total: population.ids.length,
      nextCursor: more && pageIds.length > 0 ? encodeCursor(pageIds[pageIds.length - 1]) : null,
      rows,
    };
  }

  async clv(request: CustomersRequest): Promise<ClvResponse> {
    return this.customerResponse(request, (row) => ({
      clv: row.score.clv,
      expected_purchases: row.score.expectedPurchases,
      expected_spend: row.score.expectedSpend,
      p_alive: row.score.pAlive,
      total_spend: row.features.totalSpend,
    }));
  }

  async churn(request: CustomersRequest): Promise<ChurnResponse> {
    return this.customerResponse(request, (row) => ({
      churn_probability: row.score.churnProbability,
      p_alive: row.score.pAlive,
      recency_days: row.features.recencyDays,
      frequency: row.features.frequency,
      tenure_days: row.features.tenureDays,
    }));
  }

  /** The envelope clv and churn share: model, as-of, paging, and per id either its fields or found: false. */
  private async customerResponse<Fields extends object>(request: CustomersRequest, fields: (row: ScoredCustomer) => Fields) {
    const { asOfMs, total, nextCursor, rows } = await this.customerRows(request);
    return {
      horizon_days: this.model.horizonDays,
      model_version: this.model.version,
      as_of: new Date(asOfMs).toISOString(),
      total,
      next_cursor: nextCursor,
      customers: rows.map((row) =>
        'found' in row
          ? { customer_id: row.customerId, found: false as const }
          : {
              customer_id: row.customerId,
              found: true as const,
              source: row.source,
              as_of: new Date(row.asOfMs).toISOString(),
              model_version: row.modelVersion,
              ...fields(row),
            },
      ),
    };
  }

  async atRiskCustomers(request: AtRiskRequest): Promise<AtRiskResponse> {
    const population = await this.population();
    const atRisk = population.ranked.filter((row) => row.score.churnProbability >= request.threshold);
    return {
      threshold: request.threshold,
      limit: request.limit,
      horizon_days: this.model.horizonDays,
      model_version: this.model.version,
      as_of: new Date(population.asOfMs).toISOString(),
      total_at_risk: atRisk.length,
      customers: atRisk.slice(0, request.limit).map((row) => ({
        customer_id: row.customerId,
        source: row.source,
        churn_probability: row.score.churnProbability,
        clv: row.score.clv,
        expected_loss: expectedLoss(row),
        as_of: new Date(row.asOfMs).toISOString(),
      })),
    };
  }

  async close(): Promise<void> {
    await this.lake.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers (pure)

function isStore(scope: DemandScope): boolean {
  return scope.productId === undefined && scope.categoryId === undefined;
}

function scopeKey(scope: DemandScope): string {
  return `${scope.productId === undefined ? '-' : `p${scope.productId}`}\u0000${scope.categoryId === undefined ? '-' : `c${scope.categoryId}`}`;
}

function scopeOf(scope: DemandScope): Scope {
  return {
    level: scope.productId !== undefined ? 'product' : scope.categoryId !== undefined ? 'category' : 'store',
    product_id: scope.productId ?? null,
    category_id: scope.categoryId ?? null,
  };
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

/**
 * Customer states from lake order lines, exactly as the stream would have built them: lines are
 * regrouped into their OrderEvents (type, order id, customer), each with the country its lines
 * carry (none when they carry none), and applied with applyEvent, so the state's country follows
 * the stream's rule (latest event time wins).
 */
export function statesFromLines(lines: readonly LakeOrderLine[]): Map<string, CustomerState> {
  const events = new Map<string, OrderEvent>();
  for (const line of lines) {
    const key = `${line.type}\u0000${line.orderId}\u0000${line.customerId}`;
    let event = events.get(key);
    if (!event) {
      events.set(key, (event = { type: line.type, orderId: line.orderId, customerId: line.customerId, occurredAt: line.occurredAt, lines: [] }));
    }
    const country = greaterCountry(event.country ?? null, line.country);
    if (country !== null) event.country = country;
    event.lines.push({
      productId: line.productId,
      ...(line.categoryId ? { categoryId: line.categoryId } : {}),
      quantity: line.quantity,
      unitPrice: line.unitPrice,
    });
  }
  const states = new Map<string, CustomerState>();
  for (const event of events.values()) {
    let state = states.get(event.customerId);
    if (!state) states.set(event.customerId, (state = emptyState(event.customerId)));
    applyEvent(state, event);
  }
  return states;
}

/**
 * The same states from order totals: each total becomes its event, with its country, and one
 * line carrying the event's units and a unit price that gives back its cents exactly (applyEvent
 * rounds quantity × price × 100 per line). Totals of one (type, order id, customer) are merged
 * first, as statesFromLines merges lines.
 */
export function statesFromOrderTotals(totals: readonly LakeOrderTotal[]): Map<string, CustomerState> {
  const merged = new Map<string, LakeOrderTotal>();
  for (const total of totals) {
    const key = `${total.type}\u0000${total.orderId}\u0000${total.customerId}`;
    const seen = merged.get(key);
    if (seen) merged.set(key, { ...seen, cents: seen.cents + total.cents, units: seen.units + total.units, country: greaterCountry(seen.country, total.country) });
    else merged.set(key, total);
  }
  const states = new Map<string, CustomerState>();
  for (const total of merged.values()) {
    let state = states.get(total.customerId);
    if (!state) states.set(total.customerId, (state = emptyState(total.customerId)));
    applyEvent(state, {
      type: total.type,
      orderId: total.orderId,
      customerId: total.customerId,
      occurredAt: total.occurredAt,
      ...(total.country != null ? { country: total.country } : {}),
      lines: [{ productId: '*', quantity: total.units, unitPrice: unitPriceFor(total.cents, total.units) }],
    });
  }
  return states;
}

/**
 * The country of an event whose lines (or totals) say `a` and `b`: the one that is not null, else
 * the greater in code-point order, as SQL's MAX(country) picks it. Every line of one event carries
 * the same country, so this only decides for an order id the lake holds twice.
 */
function greaterCountry(a: string | null | undefined, b: string | null | undefined): string | null {
  if (a == null) return b ?? null;
  if (b == null) return a;
  return compareCodePoints(b, a) > 0 ? b : a;
}

/** A price p with Math.round(units × p × 100) === cents. */
function unitPriceFor(cents: number, units: number): number {
  let price = cents / 100 / units;
  for (let step = 0; step < 8 && Math.round(units * price * 100) !== cents; step++) {
    price = Math.round(units * price * 100) < cents ? price * (1 + Number.EPSILON * 4) : price * (1 - Number.EPSILON * 4);
  }
  return price;
}

function endOfDayMs(isoDate: string): number {
  return (parseIsoDay(isoDate) + 1) * DAY_MS - 1;
}

function expectedLoss(row: ScoredCustomer): number {
  return row.score.churnProbability * row.score.clv;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** First index whose id sorts after `id`. */
function upperBound(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Cursors are opaque to callers: the last id of the page, base64url. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  // Only a customer id can be a cursor: 1..128 characters, no control characters (IdSchema).
  if (id.length === 0 || id.length > 128 || /[\u0000-\u001f\u007f]/.test(id) || encodeCursor(id) !== cursor) {
    throw new InvalidCursorError();
  }
  return id;
}

/** A cursor that no page produced: the HTTP layer answers 400 naming `cursor`. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  readonly field = 'cursor';
  constructor() {
    super('must be the next_cursor of a previous page');
  }
}

