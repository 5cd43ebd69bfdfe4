import { DEFAULT_PRICE_BAND } from '../models/demand/priceOptimization.ts';

/**
 * How the API services cache and score. The lake only changes when Firehose delivers (minutes),
 * so what depends on it alone lives `lakeTtlMs` and is then refreshed in the background while
 * the previous answer keeps being served for up to `lakeStaleMs` more. Customer scores are read
 * live, by id or a page of a store index at a time (api/services/customerLookup.ts).
 */
export interface ApiServiceConfig {
  /** Default price band for price-optimization, as multiples of the current price. */
  priceBand: [number, number];
  lakeTtlMs: number;
  lakeStaleMs: number;
  /** How long an id neither the store nor the lake knows is answered as unknown without a lake query. */
  unknownIdTtlMs: number;
  /** LRU bound of those remembered unknown ids. */
  unknownIdEntries: number;
  /** 'event': scores as of the store's event-time watermark (replays); 'wall': never earlier than now (live). */
  scoreClock: 'event' | 'wall';
  /** K-Means fits computed by warmUp(); other k are fitted on their first request and cached. */
  precomputeSegments: number[];
  /** Entries per per-scope cache (forecasts, elasticities, existence checks). */
  cacheEntries: number;
}

export const DEFAULT_API_CONFIG: ApiServiceConfig = {
  priceBand: [...DEFAULT_PRICE_BAND],
  lakeTtlMs: 10 * 60_000,
  lakeStaleMs: 60 * 60_000,
  unknownIdTtlMs: 60_000,
  unknownIdEntries: 10_000,
  scoreClock: 'event',
  precomputeSegments: [5],
  cacheEntries: 512,
};
