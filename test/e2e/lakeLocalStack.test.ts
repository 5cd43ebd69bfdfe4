import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import type { LakeQueries } from '../../api/lake/lakeQueries.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import { run as runLocal } from '../../bin/commands/local.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

/*
 * Local parity: `demand-insights local` replays through embedded Kinesis, its Firehose tap writes
 * the stream's records as raw JSON lines (poison and redeliveries included), and the curation
 * turns them into the lake. The API's lake answers over that lake (RFM, the input of segments;
 * daily units; weekly product sales, the input of elasticities; the date range and the products)
 * equal those over the lake written straight from the same events by buildLake, an independent path.
 */

const SYNTHETIC = { customers: 150, days: 200, seed: 7 };

async function answers(lakeDir: string) {
  const engine = await createDuckDbEngine({ lakeDir });
  const lake: LakeQueries = createLakeQueries(engine);
  try {
    const range = await lake.dateRange();
    const store = await lake.dailyUnits({});
    const weekly = await lake.weeklyProductSales({});
    const topProduct = [...weekly].sort((a, b) => b.units - a.units || a.productId.localeCompare(b.productId))[0].productId;
    const sort = <T>(rows: T[]) => rows.map((row) => JSON.stringify(row)).sort();
    return {
      range,
      rfm: sort(await lake.customerRfm(range!.last)),
      store: sort(store),
      product: sort(await lake.dailyUnits({ productId: topProduct })),
      weekly: sort(weekly),
      productExists: await lake.productExists(topProduct),
      unknownProduct: await lake.productExists('no-such-product'),
    };
  } finally {
    await lake.close();
  }
}

describe('the local stack curates the lake the API reads', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-local-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replayed through Kinesis, tapped as Firehose would, curated: the same lake answers as buildLake on the same events', async () => {
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await runLocal({ ...SYNTHETIC, trainFraction: 0.5, threshold: 0.6, shards: 2, batchSize: 50, batchingWindowMs: 0, out: join(dir, 'local'), quiet: true, poison: 5, serve: false });
    } finally {
      quiet.mockRestore();
    }
    const raw = await readdir(join(dir, 'local', 'lake', 'raw', 'orders'));
    expect(raw.length).toBeGreaterThan(100);
    // The poison records reached the raw lake as Firehose would deliver them: the two it cannot
    // partition in errors/, three others (no customer, a negative quantity, a 'refund') in the
    // 2024-01-01 partition, a day the curated lake holds; the equality below shows they stayed out.
    expect((await readdir(join(dir, 'local', 'lake', 'raw'))).sort()).toEqual(['errors', 'orders']);
    expect(raw).toContain('date=2024-01-01');

    const events = generateEvents({ ...SYNTHETIC, start: '2024-01-01' });
    await buildLake(events, join(dir, 'reference'));
    const local = await answers(join(dir, 'local', 'lake'));
    const reference = await answers(join(dir, 'reference'));
    expect(reference.rfm.length).toBeGreaterThan(100);
    expect(local).toEqual(reference);
    expect(local.productExists).toBe(true);
    expect(local.unknownProduct).toBe(false);
  }, 240_000);
});
