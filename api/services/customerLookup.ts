import { LRUCache } from 'lru-cache';
import { endOfDayMs } from '../../models/clv/btydTraining.ts';
import type { CustomerModel, ModelScore } from '../../models/clv/customerModel.ts';
import { type CustomerFeatures, featuresOf } from '../../models/customer/customerFeatures.ts';
import type { CustomerState } from '../../models/customer/customerState.ts';
import { dayIndex } from '../../models/time/calendar.ts';
import { LakeUnavailableError } from '../errors.ts';
import { lakeStates } from '../lake/lakeStates.ts';
import type { CustomerStateReader, ListingPosition } from './customerStateReader.ts';
import type { ServiceContext } from './serviceContext.ts';

export interface ScoredCustomer {
  customerId: string;
  source: 'stream' | 'lake';
  asOfMs: number;
  modelVersion: string;
  score: ModelScore;
  features: Pick<CustomerFeatures, 'recencyDays' | 'frequency' | 'tenureDays' | 'totalSpend'>;
}

/** Rescored stream states kept, so an unchanged state is not rescored for the same day twice. */
const RESCORED_MAX = 100_000;

/**
 * Customer scores, live and bounded: every read names its customers or is one page of a store
 * index, so no request reads more than its page whatever the table or lake size.
 * - by id: the state store first (BatchGetItem), the lake for the ids it does not know (one query
 *   per 100 ids); ids neither knows are remembered for `unknownIdTtlMs` (an LRU of
 *   `unknownIdEntries`), so asking again for them starts no lake query; the states the lake gave
 *   are kept for the lake's TTL (as many), so asking again for those starts none either. The
 *   store is always read: a customer the stream has just seen is never hidden by either cache.
 * - a listing page: store.listCustomers (list-index), at most `limit` states;
 * - an at-risk page: store.atRiskCustomers (the sparse risk-index), at most `limit` states.
 * Lake-only customers (in the lake, never through the stream) are scored by id only: listing
 * them would read the whole lake.
 */
export class CustomerLookup {
  private readonly unknown: LRUCache<string, true>;
  /** Lake-only customers' states by id, for the lake's TTL: the lake changes with the curation's runs, not per request. */
  private readonly fromLake: LRUCache<string, CustomerState>;
  private readonly rescored = new Map<string, { version: number; day: number; scored: ScoredCustomer }>();

  constructor(
    private readonly context: ServiceContext,
    private readonly store: CustomerStateReader,
    private readonly model: CustomerModel,
  ) {
    this.fromLake = new LRUCache<string, CustomerState>({
      max: context.config.unknownIdEntries,
      ttl: context.config.lakeTtlMs,
      ttlResolution: 0,
      perf: { now: () => context.now() + 1 },
    });
    this.unknown = new LRUCache<string, true>({
      max: context.config.unknownIdEntries,
      ttl: context.config.unknownIdTtlMs,
      // Read the clock on every check; shifted by 1 ms as lru-cache reads a start of 0 as "no TTL".
      ttlResolution: 0,
      perf: { now: () => context.now() + 1 },
    });
  }

  /** Fresh scores of the given (distinct) ids: the store first, the lake for the rest. */
  async scoreCustomers(ids: readonly string[]): Promise<{ asOfMs: number; scored: Map<string, ScoredCustomer> }> {
    const [watermark, range, stream] = await Promise.all([this.store.getWatermark(), this.lakeRange(), this.store.getMany(ids)]);
    const cached = new Map<string, CustomerState>();
    const asked: string[] = [];
    for (const id of ids) {
      if (stream.has(id) || this.unknown.has(id)) continue;
      const state = this.fromLake.get(id);
      if (state) cached.set(id, state);
      else asked.push(id);
    }
    const read = asked.length > 0 ? await lakeStates(this.context.lake, asked).catch(whileLakeUnavailable(() => null)) : new Map<string, CustomerState>();
    // While the lake is being built (the local stack's replay) only the stream answers, and no id is remembered as unknown.
    if (read === null) return { asOfMs: this.scoringTime(watermark, range), scored: this.scoredStream(stream, watermark, range) };
    for (const id of asked) {
      const state = read.get(id);
      if (state) this.fromLake.set(id, state);
      else this.unknown.set(id, true);
    }
    const lake = new Map([...cached, ...read]);
    const asOfMs = this.scoringTime(watermark, range);
    const scored = new Map<string, ScoredCustomer>();
    for (const [id, state] of stream) scored.set(id, this.scoreStream(state, asOfMs));
    for (const [id, state] of lake) if (!scored.has(id)) scored.set(id, this.scoreState(state, asOfMs, 'lake'));
    return { asOfMs, scored };
  }

  /** Scores of the given ids the store knows (no lake query: for samples too large to read from the lake per request). */
  async storedScores(ids: readonly string[]): Promise<{ asOfMs: number; scored: Map<string, ScoredCustomer> }> {
    const [watermark, range, stream] = await Promise.all([this.store.getWatermark(), this.lakeRange(), this.store.getMany(ids)]);
    return { asOfMs: this.scoringTime(watermark, range), scored: this.scoredStream(stream, watermark, range) };
  }

  /** One page of the store's customer listing, scored. */
  async listPage(limit: number, after?: ListingPosition): Promise<{ asOfMs: number; rows: ScoredCustomer[]; next: ListingPosition | null }> {
    const [watermark, range, page] = await Promise.all([this.store.getWatermark(), this.lakeRange(), this.store.listCustomers(limit, after)]);
    const asOfMs = this.scoringTime(watermark, range);
    return { asOfMs, rows: page.states.map((state) => this.scoreStream(state, asOfMs)), next: page.next };
  }

  /** One page of the customers the scorer flags at risk, ranked by their stored expected loss, scored now. */
  async atRiskPage(limit: number, after?: string): Promise<{ asOfMs: number; rows: ScoredCustomer[]; next: string | null }> {
    const [watermark, range, page] = await Promise.all([this.store.getWatermark(), this.lakeRange(), this.store.atRiskCustomers(limit, after)]);
    const asOfMs = this.scoringTime(watermark, range);
    return { asOfMs, rows: page.states.map((state) => this.scoreStream(state, asOfMs)), next: page.next };
  }

  /** The lake's date range; null while the lake is not readable yet (the local stack building it). */
  private lakeRange(): Promise<{ last: string } | null> {
    return this.context.dateRange().catch(whileLakeUnavailable(() => null));
  }

  private scoredStream(stream: ReadonlyMap<string, CustomerState>, watermark: number, range: { last: string } | null): Map<string, ScoredCustomer> {
    const asOfMs = this.scoringTime(watermark, range);
    const scored = new Map<string, ScoredCustomer>();
    for (const [id, state] of stream) scored.set(id, this.scoreStream(state, asOfMs));
    return scored;
  }

  /** Scores are as of the watermark (or the lake's end, if later; never before now on the wall clock). */
  private scoringTime(watermark: number, range: { last: string } | null): number {
    const asOf = Math.max(watermark, range ? endOfDayMs(range.last) : 0);
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
      return { customerId: state.customerId, source: 'stream', asOfMs: stored.asOfMs, modelVersion: stored.modelVersion, score: stored, features };
    }
    const cached = this.rescored.get(state.customerId);
    if (cached && cached.version === state.version && cached.day === day && cached.scored.modelVersion === this.model.version) return cached.scored;
    const scored = this.scoreState(state, at, 'stream');
    if (this.rescored.size >= RESCORED_MAX) this.rescored.clear();
    this.rescored.set(state.customerId, { version: state.version, day, scored });
    return scored;
  }

  private scoreState(state: CustomerState, asOfMs: number, source: 'stream' | 'lake'): ScoredCustomer {
    const features = featuresOf(state, asOfMs);
    return { customerId: state.customerId, source, asOfMs, modelVersion: this.model.version, score: this.model.score(features), features };
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
