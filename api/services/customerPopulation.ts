import { endOfDayMs } from '../../models/clv/btydTraining.ts';
import type { CustomerModel, ModelScore } from '../../models/clv/customerModel.ts';
import { type CustomerFeatures, featuresOf } from '../../models/customer/customerFeatures.ts';
import { compareCodeUnits } from '../../models/customer/customerIds.ts';
import type { CustomerState } from '../../models/customer/customerState.ts';
import { dayIndex } from '../../models/time/calendar.ts';
import { LakeUnavailableError } from '../errors.ts';
import { lakeStates } from '../lake/lakeStates.ts';
import type { CustomerStateReader } from './customerStateReader.ts';
import type { RefreshingCache } from './refreshingCache.ts';
import { STORE_KEY, type ServiceContext } from './serviceContext.ts';

export interface ScoredCustomer {
  customerId: string;
  source: 'stream' | 'lake';
  asOfMs: number;
  modelVersion: string;
  score: ModelScore;
  features: Pick<CustomerFeatures, 'recencyDays' | 'frequency' | 'tenureDays' | 'totalSpend'>;
}

export interface Population {
  asOfMs: number;
  /** Every known customer id, sorted (code-unit order: compareCodeUnits). */
  ids: string[];
  byId: Map<string, ScoredCustomer>;
  /** By churn probability × CLV, highest first; ties by id. */
  ranked: ScoredCustomer[];
}

interface LakeCustomers {
  states: Map<string, CustomerState>;
  /** End of the lake's last day: lake customers are scored as of it (or the watermark, if later). */
  endMs: number | null;
}

/**
 * Customer scores, live: named customers are read from the state store on every request (the
 * lake for those it does not know). The population (every customer: a store scan plus the
 * lake-only customers) is a snapshot rebuilt after populationTtlMs, so a stream update shows
 * there within populationTtlMs + populationStaleMs + one rebuild.
 */
export class CustomerPopulation {
  private readonly lakeCustomersCache: RefreshingCache<string, LakeCustomers>;
  private readonly populationCache: RefreshingCache<string, Population>;
  /** Rescored stream states, so an unchanged state is not rescored for the same day twice. */
  private readonly rescored = new Map<string, { version: number; day: number; scored: ScoredCustomer }>();

  constructor(
    private readonly context: ServiceContext,
    private readonly store: CustomerStateReader,
    private readonly model: CustomerModel,
  ) {
    this.lakeCustomersCache = context.lakeCache(1, 'lake customers');
    this.populationCache = context.cache(1, 'population', context.config.populationTtlMs, context.config.populationStaleMs);
  }

  /** Every lake customer's state, loaded once per lake refresh. */
  lakeCustomers(): Promise<LakeCustomers> {
    return this.lakeCustomersCache.get(STORE_KEY, async () => {
      const [range, states] = await Promise.all([this.context.dateRange(), lakeStates(this.context.lake)]);
      return { states, endMs: range ? endOfDayMs(range.last) : null };
    });
  }

  /**
   * The lake customers, or none while the lake is not readable yet (the local stack building
   * it): the stream's customers are scored meanwhile, rather than every score answering 503.
   */
  private lakeCustomersIfReadable(): Promise<LakeCustomers> {
    return this.lakeCustomers().catch(whileLakeUnavailable(() => ({ states: new Map(), endMs: null })));
  }

  /**
   * Lake states of customers the stream has not seen: from the loaded lake customers when they
   * are loaded; otherwise read by id (one query per 100 ids), and with `lakeCustomers: 'all'`
   * the full load starts in the background for the next requests.
   */
  private async lakeStatesOf(customerIds: readonly string[]): Promise<LakeCustomers> {
    const loaded = this.lakeCustomersCache.peek(STORE_KEY);
    if (loaded) {
      const found = new Map<string, CustomerState>();
      for (const id of customerIds) {
        const state = loaded.states.get(id);
        if (state) found.set(id, state);
      }
      return { states: found, endMs: loaded.endMs };
    }
    const range = this.context.dateRange();
    const states = customerIds.length > 0 ? lakeStates(this.context.lake, customerIds) : Promise.resolve(new Map<string, CustomerState>());
    if (this.context.config.lakeCustomers === 'all') this.lakeCustomersIfReadable().catch((error) => this.context.onBackgroundError(error, 'lake customers'));
    const [resolvedRange, resolvedStates] = await Promise.all([range, states]).catch(whileLakeUnavailable(() => [null, new Map<string, CustomerState>()] as const));
    return { states: resolvedStates, endMs: resolvedRange ? endOfDayMs(resolvedRange.last) : null };
  }

  /** Scores are as of the watermark (or the lake's end, if later; never before now on the wall clock). */
  private scoringTime(watermark: number, lakeEndMs: number | null): number {
    const asOf = Math.max(watermark, lakeEndMs ?? 0);
    return this.context.config.scoreClock === 'wall' ? Math.max(asOf, this.context.now()) : asOf;
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

  /** Every known customer, scored: the store's, then the lake-only ones. */
  population(): Promise<Population> {
    return this.populationCache.get(STORE_KEY, async () => {
      const [watermark, lake] = await Promise.all([this.store.getWatermark(), this.lakeCustomersIfReadable()]);
      const asOfMs = this.scoringTime(watermark, lake.endMs);
      const byId = new Map<string, ScoredCustomer>();
      for await (const page of this.store.scan()) {
        for (const state of page) byId.set(state.customerId, this.scoreStream(state, asOfMs));
      }
      for (const [id, state] of lake.states) if (!byId.has(id)) byId.set(id, this.scoreState(state, asOfMs, 'lake'));
      const ids = [...byId.keys()].sort(compareCodeUnits);
      const ranked = ids.map((id) => byId.get(id)!).sort((a, b) => expectedLoss(b) - expectedLoss(a) || compareCodeUnits(a.customerId, b.customerId));
      return { asOfMs, ids, byId, ranked };
    });
  }

  /** Fresh scores of the given (distinct) ids: the store first, the lake for the rest. */
  async scoreCustomers(ids: readonly string[]): Promise<{ asOfMs: number; scored: Map<string, ScoredCustomer> }> {
    const [watermark, stream] = await Promise.all([this.store.getWatermark(), this.store.getMany(ids)]);
    const missing = ids.filter((id) => !stream.has(id));
    const lake = await this.lakeStatesOf(missing);
    const asOfMs = this.scoringTime(watermark, lake.endMs);
    const scored = new Map<string, ScoredCustomer>();
    for (const [id, state] of stream) scored.set(id, this.scoreStream(state, asOfMs));
    for (const [id, state] of lake.states) if (!scored.has(id)) scored.set(id, this.scoreState(state, asOfMs, 'lake'));
    return { asOfMs, scored };
  }
}

/** A catch handler: the fallback while the lake is unavailable, any other failure passed on. */
function whileLakeUnavailable<T>(fallback: () => T): (error: unknown) => T {
  return (error) => {
    if (error instanceof LakeUnavailableError) return fallback();
    throw error;
  };
}

export function expectedLoss(row: ScoredCustomer): number {
  return row.score.churnProbability * row.score.clv;
}
