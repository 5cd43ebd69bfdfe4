import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dayIndex, isoDay } from '../../models/time/calendar.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';
import { startAthenaEndpoint, type AthenaEndpoint } from '../support/athenaEndpoint.ts';
import { startS3Endpoint, type S3Endpoint } from '../support/s3Endpoint.ts';

/*
 * The curation Lambda's handler, configured from its environment as Terraform sets it, against
 * the Athena protocol endpoint: a scheduled invocation ({}) rebuilds yesterday and reports it in
 * its metrics (the alarm's LastCompleteDayRows, bytes scanned); input that is not {from, to} is
 * refused with its reason and counted, and nothing runs.
 */

const S3 = 's3://lambda-lake/curated';

describe('curation Lambda handler', () => {
  let dir: string;
  let endpoint: AthenaEndpoint;
  let s3: S3Endpoint;
  let handler: (event: unknown) => Promise<unknown>;
  const yesterday = isoDay(dayIndex(Date.now()) - 1);
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-lambda-'));
    const order = (id: string) => JSON.stringify({ type: 'order', orderId: id, customerId: 'c1', occurredAt: `${yesterday}T12:00:00Z`, lines: [{ productId: 'P1', quantity: 1, unitPrice: 2 }, { productId: 'P2', quantity: 3, unitPrice: 1 }] });
    await deliverRawOrders(join(dir, 'stream'), [order('o1'), order('o2'), order('o1')]);
    endpoint = await startAthenaEndpoint({ lakeDir: join(dir, 'curated'), rawDir: join(dir, 'stream', 'raw', 'orders'), s3Root: S3, queuedPolls: 0, runningPolls: 0 });
    // The bucket is the directory holding curated/, so S3 lists what the Athena stand-in wrote.
    s3 = await startS3Endpoint({ buckets: { 'lambda-lake': dir } });
    Object.assign(process.env, {
      ATHENA_DATABASE: endpoint.database,
      ATHENA_WORKGROUP: endpoint.workgroup,
      ATHENA_ENDPOINT: endpoint.endpoint,
      S3_ENDPOINT: s3.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      CURATED_ROOT: S3,
      LOOKBACK_DAYS: '2',
    });
    ({ handler } = await import('../../lake/lambda/curation.ts'));
  });
  afterAll(async () => {
    process.env = saved;
    await endpoint?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const invoke = async (event: unknown) => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void (out += `${args.join(' ')}\n`));
    const info = vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => void (out += `${args.join(' ')}\n`));
    const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void (out += `${args.join(' ')}\n`));
    try {
      return { result: (await handler(event)) as Record<string, unknown>, out };
    } finally {
      spy.mockRestore();
      log.mockRestore();
      info.mockRestore();
      error.mockRestore();
    }
  };

  it('curates the look-back window on a scheduled invocation and emits the run\'s metrics', async () => {
    const { result, out } = await invoke({});
    expect(result).toMatchObject({ explicit: false, partitionsRebuilt: 1, rows: 4, duplicatesDropped: 1, lastCompleteDayRows: 4 });
    expect(result.bytesScanned).toBeGreaterThan(0);
    expect(out).toMatch(/"LastCompleteDayRows"/);
    expect(out).toMatch(/"BytesScanned"/);
    expect(out).toMatch(/curation done/);
    // The clean-up ran against S3 (nothing is past the 24-hour grace period yet) and said so.
    expect(result).toMatchObject({ removedVersions: 0, cleanupFailures: 0, cleanupError: null });
    expect(s3.requests.some((request) => request.operation === 'ListObjectsV2' && request.key === 'curated/versions/')).toBe(true);
    expect(out).toMatch(/"SupersededObjectsDeleted"/);
  });

  it('refuses input that is not {from, to} with its reason, counted, and runs nothing', async () => {
    const before = endpoint.started.length;
    for (const event of [{ from: '2024-02-30', to: '2024-03-01' }, { from: '2024-03-02', to: '2024-03-01' }, { from: '2024-03-01' }, { days: 3 }, 'x']) {
      const { result, out } = await invoke(event);
      expect(result, JSON.stringify(event)).toEqual({ rejected: expect.any(String) });
      expect(out).toMatch(/"RequestsRejected"/);
    }
    expect(endpoint.started.length).toBe(before);
  });
});
