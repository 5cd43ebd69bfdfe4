import type { ApiServiceConfig } from '../apiConfig.ts';
import { NotFoundError } from '../errors.ts';
import type { DemandScope, LakeQueries } from '../lake/lakeQueries.ts';
import type { Scope } from '../schemas.ts';
import { RefreshingCache } from './refreshingCache.ts';

/** The key of the caches that hold one store-wide value. */
export const STORE_KEY = 'store';

/**
 * What every endpoint family shares: the lake, the configuration, the clock, how caches are
 * made, and the two lake facts several of them need (its date range, whether a product or
 * category exists).
 */
export class ServiceContext {
  private readonly dateRangeCache: RefreshingCache<string, { first: string; last: string } | null>;
  private readonly existsCache: RefreshingCache<string, boolean>;

  constructor(
    readonly lake: LakeQueries,
    readonly config: ApiServiceConfig,
    readonly now: () => number,
    readonly onBackgroundError: (error: unknown, what: string) => void,
  ) {
    this.dateRangeCache = this.lakeCache(1, 'date range');
    this.existsCache = this.lakeCache(config.cacheEntries * 8, 'existence');
  }

  /** A cache of lake-derived values: lakeTtlMs fresh, then lakeStaleMs served while refreshing. */
  lakeCache<K extends {}, V>(maxEntries: number, what: string): RefreshingCache<K, V> {
    return this.cache(maxEntries, what, this.config.lakeTtlMs, this.config.lakeStaleMs);
  }

  cache<K extends {}, V>(maxEntries: number, what: string, ttlMs: number, staleMs: number): RefreshingCache<K, V> {
    return new RefreshingCache<K, V>({ ttlMs, staleMs, maxEntries, now: this.now, onRefreshError: (error) => this.onBackgroundError(error, what) });
  }

  /** First and last day of the lake, null when it is empty. */
  dateRange(): Promise<{ first: string; last: string } | null> {
    return this.dateRangeCache.get(STORE_KEY, () => this.lake.dateRange());
  }

  /** Throws NotFoundError when the scope names a product or category the lake does not have. */
  async requireScope(scope: DemandScope): Promise<void> {
    const checks: Promise<void>[] = [];
    if (scope.productId !== undefined) {
      const id = scope.productId;
      checks.push(
        this.existsCache.get(`p\u0000${id}`, () => this.lake.productExists(id)).then((known) => {
          if (!known) throw new NotFoundError('product', [id], `unknown product: ${JSON.stringify(id)}`);
        }),
      );
    }
    if (scope.categoryId !== undefined) {
      const id = scope.categoryId;
      checks.push(
        this.existsCache.get(`c\u0000${id}`, () => this.lake.categoryExists(id)).then((known) => {
          if (!known) throw new NotFoundError('category', [id], `unknown category: ${JSON.stringify(id)}`);
        }),
      );
    }
    await Promise.all(checks);
  }
}

export function isStore(scope: DemandScope): boolean {
  return scope.productId === undefined && scope.categoryId === undefined;
}

/** A cache key per scope. */
export function scopeKey(scope: DemandScope): string {
  return `${scope.productId === undefined ? '-' : `p${scope.productId}`}\u0000${scope.categoryId === undefined ? '-' : `c${scope.categoryId}`}`;
}

/** The scope as responses describe it. */
export function scopeOf(scope: DemandScope): Scope {
  return {
    level: scope.productId !== undefined ? 'product' : scope.categoryId !== undefined ? 'category' : 'store',
    product_id: scope.productId ?? null,
    category_id: scope.categoryId ?? null,
  };
}
