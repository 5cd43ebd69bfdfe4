import { ApiFailure } from './apiClient.ts';
import type { Panel } from './panel.ts';

/**
 * While `npm start` replays, the API answers the lake's endpoints with 503 `lake_unavailable` and
 * a Retry-After: the lake is built from the replay and curated when it ends. A lake panel then
 * says so, and loads again when the server announces the lake (the alert stream's `lake` event)
 * or when Retry-After has passed, whichever comes first; no page reload.
 */
const LAKE_READY = 'dashboard:lake-ready';
const DEFAULT_RETRY_SECONDS = 5;

export function isLakeBuilding(error: unknown): error is ApiFailure {
  return error instanceof ApiFailure && error.status === 503 && error.code === 'lake_unavailable';
}

/** The server said the lake answers now (alertStream.ts hears it). */
export function announceLakeReady(): void {
  window.dispatchEvent(new Event(LAKE_READY));
}

/** Runs `retry` once: at the next announcement or after `seconds`, whichever comes first. */
export function onceLakeReady(retry: () => void, seconds: number | null): void {
  let done = false;
  const fire = () => {
    if (done) return;
    done = true;
    window.removeEventListener(LAKE_READY, fire);
    window.clearTimeout(timer);
    retry();
  };
  window.addEventListener(LAKE_READY, fire);
  const timer = window.setTimeout(fire, Math.max(1, seconds ?? DEFAULT_RETRY_SECONDS) * 1000);
}

/**
 * When the failure is the lake being built: the panel says, in plain words, that `what` comes
 * when the replay ends, `retry` is scheduled, and true is returned; otherwise false.
 */
export function waitForLake(panel: Panel, error: unknown, what: string, retry: () => void): boolean {
  if (!isLakeBuilding(error)) return false;
  panel.root.dataset.lake = 'building';
  panel.set('empty', `The lake is being built from the replay: ${what} available when the replay ends. This panel loads by itself then.`);
  onceLakeReady(() => {
    delete panel.root.dataset.lake;
    retry();
  }, error.retryAfterSeconds);
  return true;
}
