import { announceLakeReady } from './lakeReadiness.ts';

/** One alert of the server's live feed (api/dashboard/alertFeed.ts). */
export interface FeedEntry {
  seq: number;
  detailType: 'Customer At Risk' | 'Customer Recovered' | 'Customer Not Returning';
  detail: { eventId: string; customerId: string; churnProbability: number; clv: number; expectedLoss: number; segment: string | null; modelVersion: string; asOf: string };
}

export type FeedMode = 'connecting' | 'live' | 'polling' | 'off';

const STREAM = '/dashboard/alerts/stream';
const POLL = '/dashboard/alerts';
const POLL_MS = 3_000;

/**
 * Follows the live alert feed. It first reads the feed's JSON page: a server without a feed
 * (plain `serve`) says so there, and the mode turns 'off'. Otherwise it opens the server-sent
 * event stream, resuming after what it has; when the stream cannot be kept open (a proxy that
 * buffers, a browser without EventSource) it polls the JSON page from the last sequence number.
 */
export function followAlerts(onEntries: (entries: FeedEntry[]) => void, onMode: (mode: FeedMode) => void): void {
  let lastSeq = 0;
  const take = (entries: FeedEntry[]) => {
    const fresh = entries.filter((entry) => entry.seq > lastSeq);
    if (fresh.length === 0) return;
    lastSeq = fresh[fresh.length - 1].seq;
    onEntries(fresh);
  };
  /** One read of the JSON page; false when the server has no feed. */
  const readPage = async (): Promise<boolean> => {
    const response = await fetch(`${POLL}?after=${lastSeq}`, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`alert feed answered ${response.status}`);
    const page = (await response.json()) as { live: boolean; lake_ready?: boolean; alerts: FeedEntry[] };
    take(page.alerts);
    if (page.lake_ready) announceLakeReady();
    return page.live;
  };
  const poll = async () => {
    try {
      if (!(await readPage())) return onMode('off');
      onMode('polling');
    } catch {
      // The server is away; the next poll tries again.
    }
    setTimeout(() => void poll(), POLL_MS);
  };
  const stream = () => {
    const source = new EventSource(STREAM);
    source.addEventListener('alert', (event) => take([JSON.parse((event as MessageEvent<string>).data) as FeedEntry]));
    source.addEventListener('open', () => onMode('live'));
    // The local stack's lake is curated once its replay ends: the lake panels load then.
    source.addEventListener('lake', () => announceLakeReady());
    source.addEventListener('error', () => {
      // EventSource reconnects by itself after a dropped connection; CLOSED means it gave up.
      if (source.readyState === EventSource.CLOSED) void poll();
    });
  };

  onMode('connecting');
  readPage().then(
    (live) => {
      if (!live) onMode('off');
      else if (typeof EventSource === 'undefined') void poll();
      else stream();
    },
    () => void poll(),
  );
}
