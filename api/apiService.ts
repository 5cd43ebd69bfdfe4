import type { CustomerModel } from '../models/clv/customerModel.ts';
import { type ApiServiceConfig, DEFAULT_API_CONFIG } from './apiConfig.ts';
import type { LakeQueries } from './lake/lakeQueries.ts';
import type {
  AtRiskRequest,
  AtRiskResponse,
  ChurnResponse,
  ClvResponse,
  CustomerOrdersRequest,
  CustomerOrdersResponse,
  CustomersRequest,
  ElasticityResponse,
  ForecastRequest,
  ForecastResponse,
  PriceElasticityRequest,
  PriceOptimizationRequest,
  PriceOptimizationResponse,
  ProductsRequest,
  ProductsResponse,
  SegmentMembersRequest,
  SegmentMembersResponse,
  SegmentsRequest,
  SegmentsResponse,
} from './schemas.ts';
import { CustomerLookup } from './services/customerLookup.ts';
import { CustomerOrdersService } from './services/customerOrders.ts';
import { CustomerScoresService } from './services/customerScores.ts';
import type { CustomerStateReader } from './services/customerStateReader.ts';
import { DemandService } from './services/demand.ts';
import { PricingService } from './services/pricing.ts';
import { ProductCatalogService } from './services/productCatalog.ts';
import { SegmentsService } from './services/segments.ts';
import { ServiceContext } from './services/serviceContext.ts';

export interface ApiServiceDeps {
  lake: LakeQueries;
  /** The scorer's live state, read-only. */
  store: CustomerStateReader;
  model: CustomerModel;
  config?: Partial<ApiServiceConfig>;
  /** Wall clock (ms); tests pin it. */
  now?: () => number;
  /** Where background refresh failures are reported (the previous answer keeps being served). */
  onBackgroundError?: (error: unknown, what: string) => void;
}

/**
 * The API's core: typed request in, typed response out, over three ports (the lake, the scorer's
 * state, the customer model). No HTTP here; api/http/ adapts API Gateway events to it. One
 * service per endpoint family (api/services/); this facade builds them over one shared context
 * and is what the routes call.
 *
 * Nothing is trained per request. What depends only on the lake (RFM, K-Means fits per k, daily
 * series and fitted forecasters per scope, elasticity estimates per scope) is computed once and
 * cached (api/services/refreshingCache.ts):
 *
 *   t ──────────┬──────── ttl ────────┬──── stale window ────┬──────────►
 *               loaded                │ served + refresh     │ callers wait for a reload
 *
 * Customer scores are live and bounded: by id, or a page of a store index, never the whole
 * table or lake per request (api/services/customerLookup.ts).
 */
export class ApiService {
  readonly config: ApiServiceConfig;
  private readonly context: ServiceContext;
  private readonly segmentsService: SegmentsService;
  private readonly demand: DemandService;
  private readonly pricing: PricingService;
  private readonly customers: CustomerLookup;
  private readonly scores: CustomerScoresService;
  private readonly orders: CustomerOrdersService;
  private readonly catalog: ProductCatalogService;
  private readonly model: CustomerModel;

  constructor(deps: ApiServiceDeps) {
    this.config = { ...DEFAULT_API_CONFIG, ...deps.config };
    this.context = new ServiceContext(deps.lake, this.config, deps.now ?? Date.now, deps.onBackgroundError ?? (() => {}));
    this.segmentsService = new SegmentsService(this.context);
    this.demand = new DemandService(this.context);
    this.pricing = new PricingService(this.context);
    this.customers = new CustomerLookup(this.context, deps.store, deps.model);
    this.scores = new CustomerScoresService(this.customers, deps.model);
    this.orders = new CustomerOrdersService(this.context);
    this.catalog = new ProductCatalogService(this.context);
    this.model = deps.model;
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
    await time('dateRange', () => this.context.dateRange());
    await Promise.all([
      time('storeDemand', () => this.demand.storeDemand()),
      time('rfm', () => this.segmentsService.rfm()),
    ]);
    await time('storeForecast', () => this.demand.fittedForecast({}));
    await time('storeElasticity', () => this.pricing.elasticity({}));
    for (const k of this.config.precomputeSegments) await time(`segments.k${k}`, () => this.segments({ n_clusters: k }).catch(() => undefined));
    await time('products', () => this.catalog.products({ limit: 1 }));
    return timings;
  }

  segments(request: SegmentsRequest): Promise<SegmentsResponse> {
    return this.segmentsService.segments(request);
  }

  forecast(request: ForecastRequest): Promise<ForecastResponse> {
    return this.demand.forecast(request);
  }

  priceElasticity(request: PriceElasticityRequest): Promise<ElasticityResponse> {
    return this.pricing.priceElasticity(request);
  }

  priceOptimization(request: PriceOptimizationRequest): Promise<PriceOptimizationResponse> {
    return this.pricing.priceOptimization(request);
  }

  clv(request: CustomersRequest): Promise<ClvResponse> {
    return this.scores.clv(request);
  }

  churn(request: CustomersRequest): Promise<ChurnResponse> {
    return this.scores.churn(request);
  }

  atRiskCustomers(request: AtRiskRequest): Promise<AtRiskResponse> {
    return this.scores.atRiskCustomers(request);
  }

  async segmentMembers(request: SegmentMembersRequest): Promise<SegmentMembersResponse> {
    return this.segmentsService.segmentMembers(request, (ids) => this.customers.storedScores(ids), this.model.version);
  }

  customerOrders(request: CustomerOrdersRequest): Promise<CustomerOrdersResponse> {
    return this.orders.customerOrders(request);
  }

  products(request: ProductsRequest): Promise<ProductsResponse> {
    return this.catalog.products(request);
  }

  async close(): Promise<void> {
    await this.context.lake.close();
  }
}
