import { LRUCache } from 'lru-cache';

export interface RefreshingCacheOptions {
  /** A loaded value is fresh while its age is at most ttlMs (a whole number of ms, at least 1). */
  ttlMs: number;
  /** Then it is served stale, and refreshed in the background, while its age is at most ttlMs + staleMs. */
  staleMs: number;
  /** LRU bound. */
  maxEntries: number;
  /** The clock ages are measured on (ms); tests pin it. */
  now: () => number;
  /** Where a failed background refresh is reported (the stale value keeps being served). */
  onRefreshError?: (error: unknown) => void;
}

/** What one fetch hands lru-cache's fetchMethod: the caller's loader, and whether nobody waits for it. */
interface Load<V> {
  load: () => Promise<V>;
  background: boolean;
}

/**
 * lru-cache with a bounded stale window, per-call loaders and a reported background failure:
 *
 *   t ──────────┬──────── ttl ────────┬──── stale window ────┬──────────►
 *               loaded                │ served + refresh     │ callers wait for a reload
 *
 * lru-cache does the LRU bound, the TTL, the shared in-flight loads (fetch), serving the stale
 * value while one refresh runs (allowStale), keeping it when that refresh fails
 * (noDeleteOnFetchRejection) and dropping a failed first load. What it lacks, this adds:
 * - an upper bound on staleness: past ttl + staleMs a fetch does not allow stale, so callers
 *   wait for the reload (or for the refresh already running);
 * - the loader as a per-call `context`, since each call site knows how to load its key;
 * - reporting a failed background refresh (lru-cache swallows it when nobody awaits it);
 * - values that may be null (lru-cache needs V extends {}): they are boxed.
 */
export class RefreshingCache<K extends {}, V> {
  private readonly cache: LRUCache<K, { value: V }, Load<V>>;

  constructor(private readonly options: RefreshingCacheOptions) {
    const { onRefreshError } = options;
    this.cache = new LRUCache<K, { value: V }, Load<V>>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Read the clock on every check (the default caches it for 1 ms of real time). lru-cache
      // reads a start time of 0 as "no TTL", so the clock is shifted by 1 ms: a pinned clock
      // at 0 must still age entries. Ages, the only thing compared, are unchanged.
      ttlResolution: 0,
      perf: { now: () => options.now() + 1 },
      noDeleteOnFetchRejection: true,
      // An in-flight load evicted by the LRU bound still answers the callers waiting for it.
      ignoreFetchAbort: true,
      fetchMethod: (_key, _stale, { context }) =>
        context.load().then(
          (value) => ({ value }),
          (error: unknown) => {
            if (context.background) onRefreshError?.(error);
            throw error;
          },
        ),
    });
  }

  /** The value for `key`: fresh, stale within the window (refreshing it), else loaded by `load`. */
  async get(key: K, load: () => Promise<V>): Promise<V> {
    // Negative while fresh; 0 for an absent key (lru-cache answers 0 for those).
    const overdue = -this.cache.getRemainingTTL(key);
    const background = overdue > 0 && overdue <= this.options.staleMs;
    const boxed = await this.cache.fetch(key, { context: { load, background }, allowStale: background });
    return boxed!.value;
  }

  /** The value held for `key` (fresh or stale), without loading. */
  peek(key: K): V | undefined {
    return this.cache.peek(key, { allowStale: true })?.value;
  }

  clear(): void {
    this.cache.clear();
  }

  get size(): number {
    return this.cache.size;
  }
}
