import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The dashboard DURING `npm start`'s replay: the CLI's `local` job runs as `npm start` does (its
 * own kinesalite, the real handler, the lake tap), with the replay paced (--replay-rate) so the
 * page can be watched while it runs. The API serves from the replay's start: the lake's
 * endpoints answer 503 "being built" with Retry-After and the lake panels say so, while the risk
 * panel follows the alerts the replay fires; when the replay's curation ends, the lake panels
 * load by themselves, in the same page (no reload). Screenshots go to test-output/dashboard/.
 */

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'demand-insights.js');
const CHROMIUM = '/usr/bin/chromium';
const OUT = join('test-output', 'dashboard');
// 597 replayed events at 40/s: about 15 s of replay to watch, then the curation.
const JOB = ['local', '--customers', '400', '--days', '300', '--poison', '0', '--replay-rate', '40', '--port', '0'];

let child: ChildProcess;
let exited: Promise<number | null>;
let stderr = '';
let out: string;
let url: string;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

const replayOver = () => stderr.includes('lake curated from raw JSON lines');

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; job output:\n${stderr.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'di-live-dashboard-'));
  child = spawn(process.execPath, [CLI, ...JOB, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await until('the dashboard during the replay', () => /dashboard at (http:\/\/\S+)\/ during the replay/.test(stderr), 90_000);
  url = /dashboard at (http:\/\/\S+)\/ during the replay/.exec(stderr)![1];
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  await mkdir(OUT, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await exited;
  }
  if (out) await rm(out, { recursive: true, force: true });
});

const dataset = (selector: string, key: string) => page.$eval(selector, (element, name) => (element as HTMLElement).dataset[name] ?? null, key);

describe('the dashboard during `npm start`', () => {
  it('answers the lake endpoints with 503, Retry-After and a plain reason while the replay runs', async () => {
    const response = await fetch(`${url}/demand-insights/segments?n_clusters=4`);
    expect(replayOver(), 'the replay was still running').toBe(false);
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await response.json()) as { error: { code: string; message: string; details: { retry_after_seconds: number } } };
    expect(body.error.code).toBe('lake_unavailable');
    expect(body.error.message).toMatch(/being built .* available when the replay ends/);
    // Customer scores need no lake: the at-risk listing answers from the live state store.
    const atRisk = await fetch(`${url}/demand-insights/at-risk-customers?limit=5`);
    expect(atRisk.status).toBe(200);
    expect(((await atRisk.json()) as { customers: unknown[] }).customers.length).toBeGreaterThan(0);
  });

  it('follows alerts fired during the replay into the risk panel, and says the lake panels wait', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.getElementById('risk')?.dataset.feed === 'live', undefined, { timeout: 20_000 });
    await page.waitForSelector('#segments[data-lake="building"]', { timeout: 20_000 });
    expect(await page.textContent('#segments [data-role="status"]')).toMatch(/lake is being built .* available when the replay ends/);
    for (const panel of ['demand', 'price']) await page.waitForSelector(`#${panel}[data-lake="building"]`, { timeout: 20_000 });
    // A marker the page keeps only if it is never reloaded.
    await page.evaluate(() => ((window as unknown as { sameLoad: boolean }).sameLoad = true));

    const seenAtLoad = Number((await dataset('#risk', 'alerts')) ?? 0);
    expect(replayOver(), 'the replay was still running when the page was up').toBe(false);
    await page.waitForFunction((before) => Number(document.getElementById('risk')?.dataset.alerts ?? 0) > before, seenAtLoad, { timeout: 30_000 });
    // An at-risk alert fired after the page loaded shows as a live row of the table.
    type Feed = { alerts: { seq: number; detailType: string; detail: { customerId: string } }[] };
    let fresh: Feed['alerts'] = [];
    while (fresh.length === 0 && !replayOver()) {
      const feed = (await (await fetch(`${url}/dashboard/alerts?after=${seenAtLoad}`)).json()) as Feed;
      fresh = feed.alerts.filter((entry) => entry.detailType === 'Customer At Risk');
      if (fresh.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(fresh.length, 'an at-risk alert fired during the replay, after the page loaded').toBeGreaterThan(0);
    await page.waitForFunction(
      (ids) => ids.some((id) => document.querySelector(`#risk tbody tr[data-customer="${CSS.escape(id)}"][data-live="true"]`)),
      fresh.map((entry) => entry.detail.customerId),
      { timeout: 10_000 },
    );
    // Seen while the replay ran: the lake is still being built.
    expect(replayOver(), 'the alert was seen before the replay ended').toBe(false);
    expect((await fetch(`${url}/demand-insights/products`)).status).toBe(503);
    await page.screenshot({ path: join(OUT, 'during-replay-1280x800.png'), fullPage: true });
  });

  it('loads the lake panels by themselves once the replay is curated, without a reload', async () => {
    await until('the lake swapped in', () => stderr.includes('lake ready'), 120_000);
    for (const panel of ['segments', 'demand']) {
      await page.waitForSelector(`#${panel}[data-state="ready"]`, { timeout: 30_000 });
      expect(await dataset(`#${panel}`, 'lake'), panel).toBeNull();
    }
    // Price: a chart, or the plain reason this product cannot be priced (a 422), never "being built".
    await page.waitForFunction(() => {
      const panel = document.getElementById('price')!;
      return panel.dataset.lake === undefined && (panel.dataset.state === 'ready' || panel.dataset.state === 'empty');
    }, undefined, { timeout: 30_000 });
    expect(await page.textContent('#price [data-role="status"]')).not.toMatch(/being built/);
    expect(await page.evaluate(() => (window as unknown as { sameLoad?: boolean }).sameLoad)).toBe(true);
    // The numbers are the API's, now from the curated lake.
    const segments = (await (await fetch(`${url}/demand-insights/segment-members?n_clusters=5&limit=2000`)).json()) as { segments: { size: number }[] };
    const sizes = await page.$$eval('#segments tbody tr td:nth-child(2)', (cells) => cells.map((cell) => Number((cell as HTMLElement).dataset.value)));
    expect(sizes).toEqual(segments.segments.map((segment) => segment.size));
    expect(await page.$$eval('#segments [data-role="chart"] svg circle', (marks) => marks.length)).toBeGreaterThan(0);
    await page.screenshot({ path: join(OUT, 'after-replay-1280x800.png'), fullPage: true });
  });

  it('logged no console error but the lake\'s 503s', () => {
    for (const error of consoleErrors) expect(error).toMatch(/status of 503/);
  });
});
