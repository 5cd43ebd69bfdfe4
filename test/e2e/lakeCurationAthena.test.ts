import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AthenaClient } from '@aws-sdk/client-athena';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { athenaClient } from '../../aws/clients.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createAthenaCurationTarget } from '../../lake/athenaCurationTarget.ts';
import { statementRunner } from '../../lake/athenaStatements.ts';
import { type CurateOptions, curateLake } from '../../lake/curateLake.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';
import { startAthenaEndpoint, type AthenaEndpoint } from '../support/athenaEndpoint.ts';

/*
 * The curation through the real AthenaClient against the Athena protocol endpoint, which keeps a
 * Glue catalog (test/support/athenaCatalog.ts): CTAS into a run's location, partition swaps,
 * staging tables dropped. The curated table read back through the endpoint equals the lake
 * `lake build` writes from the same events, run after run, with Firehose duplicates, a late
 * event, concurrent runs, and queries racing the swaps.
 */

const NOW = Date.parse('2024-03-31T12:00:00Z');
const S3 = 's3://test-lake/curated';
const DATABASE = 'demand_insights_lake';
const WORKGROUP = 'demand-insights';
const options = (nowMs = NOW): CurateOptions => ({ nowMs, lookbackDays: 3, eventTime: DEFAULT_EVENT_TIME_BOUNDS, graceMs: 3_600_000 });
const texts = (events: readonly OrderEvent[]) => events.map((event) => JSON.stringify(event));
const ROWS = `SELECT order_id, customer_id, product_id, category_id, quantity, unit_price, occurred_at, type, country, "date" FROM order_lines ORDER BY order_id, product_id, type, "date", quantity, unit_price`;

describe('lake curation on Athena (protocol endpoint)', () => {
  let dir: string;
  let events: OrderEvent[];
  let reference: AthenaEndpoint;
  let endpoint: AthenaEndpoint;
  let client: AthenaClient;
  let referenceRows: string[];

  const rowsOf = async (at: AthenaEndpoint, sql = ROWS) => {
    const runner = statementRunner({ client: athenaClient({ endpoint: at.endpoint, region: 'us-east-1' }), database: DATABASE, workgroup: WORKGROUP, pollIntervalMs: 1 });
    return (await runner.run(sql, 'read back')).map((row) => JSON.stringify(row));
  };
  const target = () =>
    createAthenaCurationTarget({ client, database: DATABASE, workgroup: WORKGROUP, curatedRoot: S3, pollIntervalMs: 1 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-curate-athena-'));
    events = generateEvents({ customers: 60, days: 40, seed: 17, start: '2024-02-15' }).map((event, index) => (index % 3 === 0 ? { ...event, country: 'Germany' } : event));
    await buildLake(events, join(dir, 'reference'), { nowMs: NOW });
    reference = await startAthenaEndpoint({ lakeDir: join(dir, 'reference'), queuedPolls: 0, runningPolls: 0 });
    referenceRows = await rowsOf(reference);
    await deliverRawOrders(join(dir, 'stream'), texts(events));
    // Firehose's at-least-once: a third of the events delivered again, in other objects.
    await deliverRawOrders(join(dir, 'stream'), texts(events.filter((_, index) => index % 3 === 1)));
    endpoint = await startAthenaEndpoint({ lakeDir: join(dir, 'curated'), rawDir: join(dir, 'stream', 'raw', 'orders'), s3Root: S3, queuedPolls: 0, runningPolls: 1 });
    client = athenaClient({ endpoint: endpoint.endpoint, region: 'us-east-1' });
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await endpoint?.close();
    await reference?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rebuilds the days into the rows lake build writes, one copy of each duplicate; a second run and two concurrent runs give the same table', async () => {
    expect(referenceRows.length).toBeGreaterThan(200);
    const first = await curateLake(target(), { from: '2024-02-15', to: '2024-03-31' }, options());
    expect(await rowsOf(endpoint)).toEqual(referenceRows);
    expect(first.duplicatesDropped).toBe(events.filter((_, index) => index % 3 === 1).length);
    expect(first.bytesScanned).toBeGreaterThan(0);
    const products = await rowsOf(endpoint, 'SELECT product_id, category_id FROM products ORDER BY product_id');
    expect(products).toEqual(await rowsOf(reference, 'SELECT product_id, category_id FROM products ORDER BY product_id'));

    await curateLake(target(), { from: '2024-02-15', to: '2024-03-31' }, options(NOW + 60_000));
    expect(await rowsOf(endpoint)).toEqual(referenceRows);
    await Promise.all([
      curateLake(target(), {}, options(NOW + 120_000)),
      curateLake(target(), {}, options(NOW + 120_000)),
    ]);
    expect(await rowsOf(endpoint)).toEqual(referenceRows);
    // Every staging table was dropped; only the three curated tables and the raw one remain.
    const ctas = endpoint.started.filter((query) => /^CREATE TABLE/.test(query.queryString)).length;
    const drops = endpoint.started.filter((query) => /^DROP TABLE IF EXISTS/.test(query.queryString)).length;
    expect(drops).toBe(ctas);
  }, 120_000);

  it('puts an event arriving two days late into its own day at the next run, while racing queries see the old or the new day, never a part', async () => {
    // The events end on 2024-03-25; the run is on the 26th, the late events are of the 24th.
    const day = '2024-03-24';
    const count = `SELECT COUNT(*) AS n FROM order_lines WHERE "date" = '${day}'`;
    const before = Number(JSON.parse((await rowsOf(endpoint, count))[0]).n);
    const late: OrderEvent[] = [1, 2, 3].map((n) => ({
      type: 'order',
      orderId: `late-${n}`,
      customerId: 'late-customer',
      occurredAt: `${day}T2${n}:00:00.000Z`,
      lines: [{ productId: `NEW-${n}`, categoryId: 'NEW', quantity: n, unitPrice: 1 }, { productId: 'P-shared', quantity: 1, unitPrice: 2 }],
    }));
    await deliverRawOrders(join(dir, 'stream'), texts(late));
    const seen = new Set<number>();
    let racing = true;
    const racer = (async () => {
      while (racing) seen.add(Number(JSON.parse((await rowsOf(endpoint, count))[0]).n));
    })();
    const report = await curateLake(target(), {}, options(Date.parse('2024-03-26T13:00:00Z')));
    racing = false;
    await racer;
    expect(report.lateRows).toBe(6);
    expect(Number(JSON.parse((await rowsOf(endpoint, count))[0]).n)).toBe(before + 6);
    expect([...seen].every((n) => n === before || n === before + 6)).toBe(true);
    expect(before).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThanOrEqual(1);
    const products = await rowsOf(endpoint, "SELECT product_id, category_id FROM products WHERE product_id LIKE 'NEW-%' ORDER BY product_id");
    expect(products.map((row) => JSON.parse(row).product_id)).toEqual(['NEW-1', 'NEW-2', 'NEW-3']);
  }, 120_000);

  it('fails the run, and leaves the table as it was, when Athena fails a statement', async () => {
    const rowsBefore = await rowsOf(endpoint);
    const broken = await startAthenaEndpoint({
      lakeDir: join(dir, 'curated'),
      rawDir: join(dir, 'stream', 'raw', 'orders'),
      s3Root: S3,
      queuedPolls: 0,
      runningPolls: 0,
      outcome: (query) => (/^CREATE TABLE/.test(query.queryString) ? { state: 'FAILED', reason: 'HIVE_CANNOT_OPEN_SPLIT: injected' } : undefined),
    });
    const brokenClient = athenaClient({ endpoint: broken.endpoint, region: 'us-east-1' });
    try {
      const failing = createAthenaCurationTarget({ client: brokenClient, database: DATABASE, workgroup: WORKGROUP, curatedRoot: S3, pollIntervalMs: 1 });
      await expect(curateLake(failing, {}, options(Date.parse('2024-03-31T14:00:00Z')))).rejects.toThrow(/HIVE_CANNOT_OPEN_SPLIT/);
      expect(broken.started.some((query) => /SET LOCATION/.test(query.queryString))).toBe(false);
    } finally {
      brokenClient.destroy();
      await broken.close();
    }
    expect(await rowsOf(endpoint)).toEqual(rowsBefore);
  }, 60_000);
});
