import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertFeed } from '../../api/dashboard/alertFeed.ts';
import type { DashboardAssets } from '../../api/dashboard/dashboardBundle.ts';
import { createDashboardRoutes, DASHBOARD_PATHS, type DashboardRoutes } from '../../api/dashboard/dashboardRoutes.ts';
import type { AlertSink } from '../../consumers/alerts/alertSink.ts';
import { FanOutAlertSink } from '../../consumers/alerts/fanOutAlertSink.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import type { PendingAlert } from '../../models/customer/alertEvent.ts';

function alert(customerId: string, ordinal = 1, detailType: PendingAlert['detailType'] = 'Customer At Risk'): PendingAlert {
  return {
    detailType,
    detail: {
      eventId: `${customerId}-${detailType}-${ordinal}`,
      customerId,
      churnProbability: 0.7,
      previousChurnProbability: 0.5,
      clv: 120,
      expectedLoss: 84,
      segment: null,
      trigger: 'churn' as const,
      level: 0.6,
      modelVersion: 'm1',
      asOf: '2025-01-01T00:00:00.000Z',
      drivers: {},
    },
  };
}

describe('AlertFeed', () => {
  it('numbers alerts, drops a repeated event id (at-least-once delivery) and keeps only the last `capacity`', () => {
    const feed = new AlertFeed({ capacity: 3 });
    const heard: number[] = [];
    feed.subscribe((entry) => heard.push(entry.seq));
    feed.add([alert('a'), alert('b'), alert('a')]);
    feed.add([alert('c'), alert('d'), alert('e')]);
    expect(heard).toEqual([1, 2, 3, 4, 5]);
    expect(feed.lastSeq).toBe(5);
    expect(feed.since(0).map((entry) => entry.detail.customerId)).toEqual(['c', 'd', 'e']);
    expect(feed.since(4).map((entry) => entry.seq)).toEqual([5]);
    expect(feed.since(0, 1).map((entry) => entry.seq)).toEqual([3]);
    // An id that has left the window is new again: the feed is bounded, its memory of ids too.
    feed.add([alert('a')]);
    expect(feed.lastSeq).toBe(6);
  });
});

describe('FanOutAlertSink', () => {
  it('tells listeners only what the primary sink delivered, and a throwing listener fails nothing', async () => {
    const refused = alert('x');
    const retried = alert('y');
    const primary: AlertSink = {
      publish: async () => ({ retry: [retried], rejected: [{ alert: refused, code: 'InvalidArgument', message: 'no' }] }),
    };
    const heard: string[] = [];
    const errors: unknown[] = [];
    const sink = new FanOutAlertSink(primary, [() => { throw new Error('listener down'); }, (alerts) => heard.push(...alerts.map((a) => a.detail.customerId))], (error) => errors.push(error));
    const result = await sink.publish([alert('ok'), refused, retried]);
    expect(heard).toEqual(['ok']);
    expect(errors).toHaveLength(1);
    expect(result.retry).toEqual([retried]);
    const memory = new MemoryAlertSink();
    await new FanOutAlertSink(memory, []).publish([alert('m')]);
    expect(memory.delivered.map((a) => a.detail.customerId)).toEqual(['m']);
  });
});

describe('the dashboard routes', () => {
  const assets: DashboardAssets = { html: Buffer.from('<!doctype html><title>t</title>'), css: Buffer.from('body{}'), js: Buffer.from('export {}'), bundleMs: 0 };
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function serve(feed?: AlertFeed, maxStreams?: number): Promise<{ url: string; routes: DashboardRoutes }> {
    const routes = createDashboardRoutes({ assets, feed, maxStreams });
    const server = createServer((request, response) => {
      if (!routes.handle(request, response)) {
        response.writeHead(418);
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = () => new Promise<void>((resolve) => {
      routes.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, routes };
  }

  /** Reads server-sent events until `count` alert events have come. */
  async function readEvents(response: Response, count: number): Promise<{ id: number; data: any }[]> {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const events: { id: number; data: any }[] = [];
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        if (id && data && /^event: alert$/m.test(block)) events.push({ id: Number(id[1]), data: JSON.parse(data[1]) });
      }
    }
    await reader.cancel();
    return events;
  }

  it('serves the page, its script and style, and leaves every other path to the API', async () => {
    const { url } = await serve();
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toBe(assets.html.toString());
    expect((await fetch(`${url}${DASHBOARD_PATHS.script}`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${url}${DASHBOARD_PATHS.style}`)).headers.get('content-type')).toContain('text/css');
    expect((await fetch(`${url}/demand-insights/segments`)).status).toBe(418);
    expect((await fetch(`${url}/`, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('streams the backlog then live alerts, resumes after Last-Event-ID, and pages the same feed as JSON', async () => {
    const feed = new AlertFeed();
    feed.add([alert('a'), alert('b')]);
    const { url } = await serve(feed);
    const stream = await fetch(`${url}${DASHBOARD_PATHS.alertStream}`);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    setTimeout(() => feed.add([alert('c', 1, 'Customer Recovered')]), 50);
    const events = await readEvents(stream, 3);
    expect(events.map((event) => [event.id, event.data.detail.customerId, event.data.detailType])).toEqual([
      [1, 'a', 'Customer At Risk'],
      [2, 'b', 'Customer At Risk'],
      [3, 'c', 'Customer Recovered'],
    ]);
    const resumed = await fetch(`${url}${DASHBOARD_PATHS.alertStream}`, { headers: { 'last-event-id': '2' } });
    expect((await readEvents(resumed, 1)).map((event) => event.id)).toEqual([3]);
    const page = await (await fetch(`${url}${DASHBOARD_PATHS.alertPoll}?after=1`)).json();
    expect(page).toMatchObject({ live: true, last_seq: 3 });
    expect(page.alerts.map((entry: any) => entry.seq)).toEqual([2, 3]);
  });

  it('refuses a bad poll cursor, a stream beyond the limit, and says when there is no feed', async () => {
    const feed = new AlertFeed();
    const { url } = await serve(feed, 1);
    for (const after of ['-1', 'abc', '1.5']) {
      const response = await fetch(`${url}${DASHBOARD_PATHS.alertPoll}?after=${after}`);
      expect(response.status, after).toBe(400);
      expect((await response.json()).error.field).toBe('after');
    }
    expect((await fetch(`${url}${DASHBOARD_PATHS.alertPoll}?after=0&x=1`)).status).toBe(400);
    const first = await fetch(`${url}${DASHBOARD_PATHS.alertStream}`);
    expect(first.status).toBe(200);
    const second = await fetch(`${url}${DASHBOARD_PATHS.alertStream}`);
    expect(second.status).toBe(503);
    await first.body!.cancel();

    await close!();
    const bare = await serve();
    expect(await (await fetch(`${bare.url}${DASHBOARD_PATHS.alertPoll}`)).json()).toEqual({ live: false, last_seq: 0, lake_ready: true, alerts: [] });
    expect((await fetch(`${bare.url}${DASHBOARD_PATHS.alertStream}`)).status).toBe(404);
  });
});
