import { httpApiEvent } from '../api/http/events.ts';

/** One endpoint call the API benchmarks time: a label, and the request as HTTP API sends it. */
export interface ApiCase {
  endpoint: string;
  method: 'GET' | 'POST';
  path: string;
  query?: string;
  body?: unknown;
}

/** The case as the Lambda handler receives it (HTTP API, payload 2.0). */
export function apiCaseEvent(bench: ApiCase) {
  return httpApiEvent({
    method: bench.method,
    url: bench.query ? `${bench.path}?${bench.query}` : bench.path,
    headers: { 'content-type': 'application/json', host: 'bench.local' },
    body: bench.body,
  });
}

/** Milliseconds to two decimals, as the benchmarks print them. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** p50 and p99 of the warm calls (nearest rank), rounded. */
export function warmPercentiles(warmMs: readonly number[]): { p50Ms: number; p99Ms: number } {
  const sorted = [...warmMs].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return { p50Ms: roundMs(rank(0.5)), p99Ms: roundMs(rank(0.99)) };
}
