import { describe, expect, it } from 'vitest';
import { RefreshingCache } from '../../api/services/refreshingCache.ts';

/*
 * The services' cache (lru-cache behind a bounded stale window): shared loads, fresh / stale /
 * too old, failed loads, the LRU bound.
 */

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('RefreshingCache', () => {
  const make = (now: () => number, overrides: Partial<{ ttlMs: number; staleMs: number; maxEntries: number }> = {}) =>
    new RefreshingCache<string, number>({ ttlMs: 100, staleMs: 50, maxEntries: 3, now, ...overrides });

  it('shares one load between concurrent callers', async () => {
    const memo = make(() => 0);
    const gate = deferred<number>();
    let loads = 0;
    const load = () => {
      loads++;
      return gate.promise;
    };
    const calls = [memo.get('k', load), memo.get('k', load), memo.get('k', load)];
    gate.resolve(7);
    expect(await Promise.all(calls)).toEqual([7, 7, 7]);
    expect(loads).toBe(1);
  });

  it('serves a fresh value, serves a stale one while refreshing it, and waits once it is too old', async () => {
    let now = 0;
    const memo = make(() => now);
    let version = 0;
    const load = async () => ++version;
    expect(await memo.get('k', load)).toBe(1);
    now = 100;
    expect(await memo.get('k', load)).toBe(1); // fresh: no reload
    now = 120;
    expect(await memo.get('k', load)).toBe(1); // stale: answered at once, refresh started
    await Promise.resolve();
    await Promise.resolve();
    expect(await memo.get('k', load)).toBe(2); // the refresh landed
    now = 120 + 151;
    expect(await memo.get('k', load)).toBe(3); // past ttl + stale: waits for the reload
  });

  it('does not keep a failed first load, and keeps the old value when a refresh fails', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const memo = new RefreshingCache<string, number>({ ttlMs: 10, staleMs: 100, maxEntries: 3, now: () => now, onRefreshError: (error) => errors.push(error) });
    await expect(memo.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(memo.size).toBe(0);
    expect(await memo.get('k', async () => 1)).toBe(1);
    now = 20;
    expect(await memo.get('k', async () => Promise.reject(new Error('flaky')))).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveLength(1);
    expect(await memo.get('k', async () => 2)).toBe(1); // still the old value; the next refresh starts
    await new Promise((resolve) => setImmediate(resolve));
    expect(await memo.get('k', async () => 3)).toBe(2);
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const memo = make(() => 0);
    for (const key of ['a', 'b', 'c']) await memo.get(key, async () => 1);
    await memo.get('a', async () => 1);
    await memo.get('d', async () => 1);
    expect(memo.peek('b')).toBeUndefined();
    expect(memo.peek('a')).toBe(1);
    expect(memo.size).toBe(3);
  });
});

describe('RefreshingCache over lru-cache', () => {
  it('caches null like any value', async () => {
    const cache = new RefreshingCache<string, null>({ ttlMs: 100, staleMs: 50, maxEntries: 3, now: () => 0 });
    let loads = 0;
    const load = async () => {
      loads++;
      return null;
    };
    expect(await cache.get('k', load)).toBeNull();
    expect(await cache.get('k', load)).toBeNull();
    expect(loads).toBe(1);
  });

  it('still answers the callers of a load the LRU bound evicted while it ran', async () => {
    const cache = new RefreshingCache<string, number>({ ttlMs: 100, staleMs: 50, maxEntries: 1, now: () => 0 });
    const gate = deferred<number>();
    const first = cache.get('a', () => gate.promise);
    expect(await cache.get('b', async () => 2)).toBe(2);
    gate.resolve(1);
    expect(await first).toBe(1);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toBe(2);
  });

  it('past ttl + stale, callers wait for the refresh already running', async () => {
    let now = 0;
    const cache = new RefreshingCache<string, number>({ ttlMs: 10, staleMs: 10, maxEntries: 3, now: () => now });
    expect(await cache.get('k', async () => 1)).toBe(1);
    now = 15;
    const gate = deferred<number>();
    expect(await cache.get('k', () => gate.promise)).toBe(1); // stale: served, refresh started
    now = 25;
    const waiting = cache.get('k', async () => 99); // too old: joins the running refresh
    gate.resolve(2);
    expect(await waiting).toBe(2);
  });

  it('with no stale window, an expired value is never served', async () => {
    let now = 0;
    const cache = new RefreshingCache<string, number>({ ttlMs: 10, staleMs: 0, maxEntries: 3, now: () => now });
    expect(await cache.get('k', async () => 1)).toBe(1);
    now = 10;
    expect(await cache.get('k', async () => 2)).toBe(1);
    now = 11;
    expect(await cache.get('k', async () => 3)).toBe(3);
  });
});
