/** One alert of the server's live feed (api/dashboard/alertFeed.ts). */
export interface FeedEntry {
  seq: number;
  detailType: 'Customer At Risk' | 'Customer Recovered';
  detail: { eventId: string; customerId: string; churnProbability: number; clv: number; threshold: number; modelVersion: string; asOf: string };
}

export type FeedMode = 'connecting' | 'live' | 'polling' | 'off';

const STREAM = '/dashboard/alerts/stream';
const POLL = '/dashboard/alerts';
const POLL_MS = 3_000;

/**
 * Follows the live alert feed: server-sent events first; when the stream cannot be opened (a
 * proxy that buffers, a browser without EventSource) it polls the JSON page of the same feed,
 * from the last sequence number it has. A server without a feed (plain `serve`) answers 404:
 * the mode turns 'off' and the caller keeps to polling the API.
 */
export function followAlerts(onEntries: (entries: FeedEntry[]) => void, onMode: (mode: FeedMode) => void): void {
  let lastSeq = 0;
  const take = (entries: FeedEntry[]) => {
    const fresh = entries.filter((entry) => entry.seq > lastSeq);
    if (fresh.length === 0) return;
    lastSeq = fresh[fresh.length - 1].seq;
    onEntries(fresh);
  };

  const poll = async () => {
    try {
      const response = await fetch(`${POLL}?after=${lastSeq}`, { headers: { accept: 'application/json' } });
      if (response.status === 404) return onMode('off');
      if (response.ok) {
        take(((await response.json()) as { alerts: FeedEntry[] }).alerts);
        onMode('polling');
      }
    } catch {
      // The server is away; the next poll tries again.
    }
    setTimeout(() => void poll(), POLL_MS);
  };

  if (typeof EventSource === 'undefined') {
    void poll();
    return;
  }
  onMode('connecting');
  const source = new EventSource(STREAM);
  source.addEventListener('alert', (event) => take([JSON.parse((event as MessageEvent<string>).data) as FeedEntry]));
  source.addEventListener('open', () => onMode('live'));
  source.addEventListener('error', () => {
    // EventSource retries by itself after a dropped connection; CLOSED means it gave up (a 404 or a non-stream answer).
    if (source.readyState !== EventSource.CLOSED) return;
    void poll();
  });
}
