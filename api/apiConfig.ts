import { DEFAULT_PRICE_BAND } from '../models/demand/priceOptimization.ts';

/**
 * How the API services cache and score. The lake only changes when Firehose delivers (minutes),
 * so what depends on it alone lives `lakeTtlMs` and is then refreshed in the background while
 * the previous answer keeps being served for up to `lakeStaleMs` more. The population listing
 * (all customers, at-risk ranking) is rebuilt after `populationTtlMs`, served stale for at most
 * `populationStaleMs` more while it rebuilds.
 */
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
