import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firehoseTap } from '../../bin/localStack/firehoseTap.ts';
import { RAW_ORDERS_DIR } from '../../lake/rawOrders.ts';

/*
 * The local Firehose buffers as Firehose does: a delivery once enough records wait, or after an
 * interval, and whatever waits on flush. Every record reaches the raw lake once per delivery to
 * the handler, in the day partition of its occurredAt, and the handler sees every batch.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'firehose-tap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function batch(from: number, count: number): KinesisStreamEvent {
  return {
    Records: Array.from({ length: count }, (_, i) => {
      const n = from + i;
      const text = JSON.stringify({ type: 'order', orderId: `o${n}`, customerId: `c${n % 7}`, occurredAt: `2024-03-0${1 + (n % 3)}T10:00:00Z`, lines: [] });
      return { kinesis: { data: Buffer.from(text).toString('base64'), sequenceNumber: String(n) } } as KinesisStreamEvent['Records'][number];
    }),
  };
}

async function rawOrderIds(): Promise<{ files: number; ids: string[] }> {
  let files = 0;
  const ids: string[] = [];
  const root = join(dir, RAW_ORDERS_DIR);
  for (const day of await readdir(root).catch(() => [] as string[])) {
    for (const file of await readdir(join(root, day))) {
      files++;
      const text = gunzipSync(await readFile(join(root, day, file))).toString('utf8');
      for (const line of text.trim().split('\n')) {
        const event = JSON.parse(line) as { orderId: string; occurredAt: string };
        expect(day).toBe(`date=${event.occurredAt.slice(0, 10)}`);
        ids.push(event.orderId);
      }
    }
  }
  return { files, ids: ids.sort() };
}

describe('firehoseTap', () => {
  it('delivers once the buffer holds enough records, and the rest on flush', async () => {
    const seen: number[] = [];
    const tap = firehoseTap(async (event) => {
      seen.push(event.Records.length);
      return { batchItemFailures: [] };
    }, dir, { records: 250, intervalMs: 60_000 });
    for (let from = 0; from < 600; from += 100) await tap.handler(batch(from, 100), {} as Context);
    expect(seen).toEqual([100, 100, 100, 100, 100, 100]);
    // Two deliveries (at 300 and 600 records), three days each.
    expect((await rawOrderIds()).files).toBe(6);
    await tap.handler(batch(600, 50), {} as Context);
    expect((await rawOrderIds()).ids).toHaveLength(600);
    await tap.close();
    const { files, ids } = await rawOrderIds();
    expect(files).toBe(9);
    expect(ids).toEqual(Array.from({ length: 650 }, (_, n) => `o${n}`).sort());
  });

  it('keeps the records of a failed delivery for the next one, and a failed timed delivery does not crash the process', async () => {
    // The lake's raw directory is a file: every write fails until it is a directory again.
    await writeFile(join(dir, 'raw'), 'not a directory');
    const tap = firehoseTap(async () => ({ batchItemFailures: [] }), dir, { records: 100, intervalMs: 20 });
    await expect(tap.handler(batch(0, 100), {} as Context)).rejects.toThrow(/ENOTDIR/);
    // The kept 100 and these 30 are over the threshold: delivered again, and failing again.
    await expect(tap.handler(batch(100, 30), {} as Context)).rejects.toThrow(/ENOTDIR/);
    await sleep(100);
    await rm(join(dir, 'raw'));
    await mkdir(join(dir, 'raw'));
    await tap.close();
    expect((await rawOrderIds()).ids).toEqual(Array.from({ length: 130 }, (_, n) => `o${n}`).sort());
  });

  it('delivers what waits after its interval, with no batch to push it', async () => {
    const tap = firehoseTap(async () => ({ batchItemFailures: [] }), dir, { records: 10_000, intervalMs: 50 });
    await tap.handler(batch(0, 10), {} as Context);
    for (let attempt = 0; attempt < 100 && (await rawOrderIds()).ids.length < 10; attempt++) await sleep(20);
    expect((await rawOrderIds()).ids).toHaveLength(10);
    await tap.close();
  });
});
