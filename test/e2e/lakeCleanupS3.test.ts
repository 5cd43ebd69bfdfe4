import { SUMMARY_TABLES } from '../../api/lake/lakeLayout.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AthenaClient } from '@aws-sdk/client-athena';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { athenaClient } from '../../aws/clients.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createAthenaCurationTarget } from '../../lake/athenaCurationTarget.ts';
import { statementRunner } from '../../lake/athenaStatements.ts';
import { type CurateOptions, curateLake } from '../../lake/curateLake.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';
import { supersededKeys } from '../../lake/supersededRebuilds.ts';
import { startAthenaEndpoint, type AthenaEndpoint } from '../support/athenaEndpoint.ts';
import { startS3Endpoint, type S3Endpoint } from '../support/s3Endpoint.ts';

/*
 * Superseded rebuilds deleted from S3, through the real S3Client (ListObjectsV2 pages,
 * DeleteObjects) against the S3 stand-in, whose bucket is the directory the Athena stand-in
 * writes the curated lake to: two runs, then the clean-up within the grace period (nothing) and
 * after it (exactly the first run's objects, which no partition points at any more); a key S3
 * refuses is counted and deleted by the next clean-up; S3 down leaves the run's curation standing
 * and says so. The live locations are read from the catalog (Athena's "$path") at each clean-up.
 */

const BUCKET = 'lake';
const ROOT = `s3://${BUCKET}/curated`;
const DATABASE = 'demand_insights_lake';
const WORKGROUP = 'demand-insights';
const T0 = Date.parse('2024-03-31T12:00:00Z');
const HOUR = 3_600_000;
const GRACE = 24 * HOUR;
const ROWS = 'SELECT order_id, product_id, quantity, "date" FROM order_lines ORDER BY order_id, product_id, "date", quantity';
const options = (nowMs: number): CurateOptions => ({ nowMs, lookbackDays: 3, eventTime: DEFAULT_EVENT_TIME_BOUNDS, graceMs: GRACE });

describe('superseded rebuilds deleted from S3', () => {
  let dir: string;
  let athena: AthenaEndpoint;
  let s3: S3Endpoint;
  let athenaApi: AthenaClient;
  let s3Api: S3Client;
  const refuse = new Set<string>();
  let s3Down = false;

  const target = () => createAthenaCurationTarget({ client: athenaApi, s3: s3Api, database: DATABASE, workgroup: WORKGROUP, curatedRoot: ROOT, pollIntervalMs: 1 });
  const rows = async () => (await statementRunner({ client: athenaApi, database: DATABASE, workgroup: WORKGROUP, pollIntervalMs: 1 }).run(ROWS, 'read back')).map((row) => JSON.stringify(row));
  const keys = async () => {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3Api.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'curated/versions/', ContinuationToken: token }));
      found.push(...(page.Contents ?? []).map((object) => object.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return found.sort();
  };
  const ofRun = (all: readonly string[], run: string) => all.filter((key) => key.split('/')[3] === run);

  let first: string;
  let second: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-cleanup-'));
    const events: OrderEvent[] = generateEvents({ customers: 40, days: 20, seed: 5, start: '2024-03-12' });
    await deliverRawOrders(join(dir, 'stream'), events.map((event) => JSON.stringify(event)), T0);
    athena = await startAthenaEndpoint({ lakeDir: join(dir, 'bucket', 'curated'), rawDir: join(dir, 'stream', 'raw', 'orders'), s3Root: ROOT, queuedPolls: 0, runningPolls: 0 });
    s3 = await startS3Endpoint({
      buckets: { [BUCKET]: join(dir, 'bucket') },
      failRequest: () => (s3Down ? 'internal' : undefined),
      failDeleteKey: (key) => (refuse.has(key) ? 'AccessDenied' : undefined),
    });
    athenaApi = athenaClient({ endpoint: athena.endpoint, region: 'us-east-1' });
    s3Api = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
    first = (await curateLake(target(), { from: '2024-03-12', to: '2024-03-31' }, options(T0))).runId;
    second = (await curateLake(target(), { from: '2024-03-12', to: '2024-03-31' }, options(T0 + 60_000))).runId;
  }, 120_000);
  afterAll(async () => {
    athenaApi?.destroy();
    s3Api?.destroy();
    await athena?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('deletes nothing within the grace period', async () => {
    const before = await keys();
    expect(ofRun(before, first).length).toBeGreaterThan(0);
    expect(ofRun(before, second).length).toBeGreaterThan(0);
    const cleanup = await target().removeSuperseded(T0 + GRACE - HOUR, GRACE);
    expect(cleanup).toEqual({ removed: 0, failed: 0, refused: [], error: null });
    expect(await keys()).toEqual(before);
  });

  it('after it, deletes exactly the superseded run\'s objects; a key S3 refuses is counted and deleted by the next clean-up', async () => {
    const before = await keys();
    const expected = await rows();
    const doomed = ofRun(before, first);
    // Products and order lines of the first run, every one superseded by the second run.
    expect(doomed.some((key) => key.includes('/versions/products/'))).toBe(true);
    expect(doomed.some((key) => key.includes('/versions/orders/'))).toBe(true);
    // ...and its summary tables; the second run's, which the tables point at, stay.
    for (const table of SUMMARY_TABLES) {
      expect(doomed.some((key) => key.includes(`/versions/${table.name}/`)), table.name).toBe(true);
      expect(ofRun(before, second).some((key) => key.includes(`/versions/${table.name}/`)), table.name).toBe(true);
    }
    refuse.add(doomed[0]);
    const cleanup = await target().removeSuperseded(T0 + GRACE + HOUR, GRACE);
    expect(cleanup).toMatchObject({ removed: doomed.length - 1, failed: 1, refused: [`${doomed[0]}: AccessDenied`], error: null });
    expect(await keys()).toEqual([doomed[0], ...ofRun(before, second)].sort());
    expect(await rows()).toEqual(expected);

    refuse.clear();
    const retried = await target().removeSuperseded(T0 + GRACE + 2 * HOUR, GRACE);
    expect(retried).toMatchObject({ removed: 1, failed: 0, error: null });
    expect(await keys()).toEqual(ofRun(before, second));
    // The second run is past the grace period too, but every partition points at it: kept.
    expect(await rows()).toEqual(expected);
  });

  it('lets a run succeed, and say so, while S3 is down; the next run cleans up', async () => {
    const expected = await rows();
    s3Down = true;
    let report;
    try {
      report = await curateLake(target(), { from: '2024-03-12', to: '2024-03-31' }, options(T0 + 3 * GRACE));
    } finally {
      s3Down = false;
    }
    expect(report.partitionsRebuilt).toBeGreaterThan(0);
    expect(report.removedVersions).toBe(0);
    expect(report.cleanupError).toMatch(/clean-up skipped: .*internal error/i);
    expect(await rows()).toEqual(expected);
    // The third run swapped in; the second is superseded and past the grace period.
    const next = await curateLake(target(), { from: '2024-03-12', to: '2024-03-31' }, options(T0 + 3 * GRACE + 60_000));
    expect(next.cleanupError).toBeNull();
    expect(next.removedVersions).toBeGreaterThan(0);
    expect(ofRun(await keys(), second)).toEqual([]);
    expect(await rows()).toEqual(expected);
  });

  it('never picks a key under a live location, of a young run, or not of a run', () => {
    const versions = 'curated/versions/';
    const old = 'r20240101t000000z_aaaaaaaaaaaa';
    const young = 'r20240331t110000z_bbbbbbbbbbbb';
    const all = [
      `${versions}orders/${old}/date=2024-01-01/a.parquet`,
      `${versions}orders/${old}/date=2024-01-02/b.parquet`,
      `${versions}orders/${young}/date=2024-01-01/c.parquet`,
      `${versions}products/${old}/p.parquet`,
      `${versions}orders/manual-copy/d.parquet`,
      'curated/elsewhere/e.parquet',
    ];
    expect(supersededKeys(all, versions, [`${versions}orders/${old}/date=2024-01-02/`], T0 - HOUR)).toEqual([all[0], all[3]]);
  });
});
