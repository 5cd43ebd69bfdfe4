import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AlertFeed, FeedEntry } from './alertFeed.ts';
import type { DashboardAssets } from './dashboardBundle.ts';

/** Where the page and its live feed live; everything else is the API's. */
export const DASHBOARD_PATHS = {
  page: '/',
  script: '/dashboard/app.js',
  style: '/dashboard/app.css',
  alertStream: '/dashboard/alerts/stream',
  alertPoll: '/dashboard/alerts',
} as const;

const PollQuerySchema = z.strictObject({
  after: z.coerce.number({ error: 'must be a non-negative integer' }).int('must be a non-negative integer').min(0, 'must be a non-negative integer').default(0),
});

const POLL_PAGE = 1_000;
const HEARTBEAT_MS = 15_000;

export interface DashboardRoutesOptions {
  assets: DashboardAssets;
  /** The live alerts; without one the page says there is no live feed (plain `serve`). */
  feed?: AlertFeed;
  /**
   * Resolves once the lake answers (the local stack: after the replay's curation). Every open event
   * stream then gets a `lake` event, so the page reloads its lake panels without a page reload.
   * Without one the lake is taken as ready.
   */
  lakeReady?: Promise<void>;
  /** Open event streams at most; more are refused with 503, so idle tabs cannot exhaust the server. */
  maxStreams?: number;
}

export interface DashboardRoutes {
  /** Answers a dashboard request and returns true, or returns false for the API to answer. */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  /** Ends every open event stream (before the server closes, which waits for open connections). */
  close(): void;
}

/**
 * The dashboard's own routes on the local server: the page, its bundled script and style, and
 * the alert feed as server-sent events (`alerts/stream`, resumable with Last-Event-ID) or as JSON
 * pages for polling (`alerts?after=SEQ`), the page's fallback when event streams fail.
 */
export function createDashboardRoutes(options: DashboardRoutesOptions): DashboardRoutes {
  const streams = new Set<ServerResponse>();
  const maxStreams = options.maxStreams ?? 64;
  const { assets, feed } = options;
  let lakeIsReady = options.lakeReady === undefined;
  const lakeReady = options.lakeReady ?? Promise.resolve();
  void lakeReady.then(() => (lakeIsReady = true));

  const send = (response: ServerResponse, status: number, type: string, body: Buffer | string) => {
    response.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    response.end(body);
  };
  const sendError = (response: ServerResponse, status: number, code: string, message: string, field?: string) =>
    send(response, status, 'application/json', JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } }));

  function stream(request: IncomingMessage, response: ServerResponse): void {
    if (!feed) return sendError(response, 404, 'no_live_feed', 'this server has no live alert feed: `npm start` (the local stack) has one');
    if (streams.size >= maxStreams) return sendError(response, 503, 'too_many_streams', `at most ${maxStreams} open alert streams`);
    const resumeFrom = Number(request.headers['last-event-id']);
    let last = Number.isSafeInteger(resumeFrom) && resumeFrom >= 0 ? resumeFrom : 0;
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    response.write('retry: 2000\n\n');
    const write = (entry: FeedEntry) => {
      if (entry.seq <= last) return;
      last = entry.seq;
      response.write(`id: ${entry.seq}\nevent: alert\ndata: ${JSON.stringify(entry)}\n\n`);
    };
    for (const entry of feed.since(last)) write(entry);
    const unsubscribe = feed.subscribe(write);
    let open = true;
    void lakeReady.then(() => {
      if (open) response.write('event: lake\ndata: {"ready":true}\n\n');
    });
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    streams.add(response);
    const end = () => {
      open = false;
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(response);
    };
    request.once('close', end);
    response.once('close', end);
  }

  function poll(url: URL, response: ServerResponse): void {
    const parsed = PollQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return sendError(response, 400, 'invalid_request', `${String(issue.path[0] ?? 'query')}: ${issue.message}`, String(issue.path[0] ?? ''));
    }
    // Without a feed the answer says so (200, not 404): the page asks this first and opens no stream then.
    if (!feed) return send(response, 200, 'application/json', JSON.stringify({ live: false, last_seq: 0, lake_ready: lakeIsReady, alerts: [] }));
    const entries = feed.since(parsed.data.after, POLL_PAGE);
    send(response, 200, 'application/json', JSON.stringify({ live: true, last_seq: feed.lastSeq, lake_ready: lakeIsReady, alerts: entries }));
  }

  return {
    handle(request, response) {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const route = Object.values(DASHBOARD_PATHS).find((path) => path === url.pathname);
      if (!route) return false;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        sendError(response, 405, 'method_not_allowed', `${request.method} is not allowed here`);
        return true;
      }
      switch (route) {
        case DASHBOARD_PATHS.page:
          send(response, 200, 'text/html; charset=utf-8', assets.html);
          break;
        case DASHBOARD_PATHS.script:
          send(response, 200, 'text/javascript; charset=utf-8', assets.js);
          break;
        case DASHBOARD_PATHS.style:
          send(response, 200, 'text/css; charset=utf-8', assets.css);
          break;
        case DASHBOARD_PATHS.alertStream:
          stream(request, response);
          break;
        case DASHBOARD_PATHS.alertPoll:
          poll(url, response);
          break;
      }
      return true;
    },
    close() {
      for (const response of streams) response.end();
      streams.clear();
    },
  };
}
