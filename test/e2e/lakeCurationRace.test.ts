import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { createLakeQueries } from '../../api/lake/lakeQueriesSql.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../../models/customer/orderEvent.ts';
import { curateLake } from '../../lake/curateLake.ts';
import { openDuckdbCurationTarget } from '../../lake/duckdbCurationTarget.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';

/*
 * A partition rebuild racing queries on the DuckDB (local) curation target: while runs rebuild
 * and swap the same days again and again (each with more late events), the API's DuckDB engine
 * queries the lake without pause, both reading the files live and refreshing its snapshot. Each
 * answer must hold, for every day, the lines of one published rebuild (the old or the new),
 * never a mix, a missing partition or a failed read.
 */

const NOW = Date.parse('2024-03-31T12:00:00Z');
const DAYS = ['2024-03-27', '2024-03-28', '2024-03-29'];
const RUNS = 8;
const LATE_PER_RUN = 3;

function order(day: string, id: string, quantity: number): OrderEvent {
  return { type: 'order', orderId: id, customerId: `c-${id}`, occurredAt: `${day}T10:00:00Z`, lines: [{ productId: 'P1', categoryId: 'C1', quantity, unitPrice: 2 }] };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lake-race-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a partition rebuild racing queries (DuckDB)', () => {
  it('shows each query, for every day, the old or the new rebuild, never half of one', async () => {
    // Units per day after run k: every run adds LATE_PER_RUN orders of 1 unit to each day.
    const base = DAYS.map((day, index) => order(day, `base-${index}`, 100));
    await deliverRawOrders(root, base.map((event) => JSON.stringify(event)), NOW);
    const curate = async (run: number) => {
      const target = await openDuckdbCurationTarget(root);
      try {
        // Runs a second apart within a minute of grace: superseded rebuilds stay, as a reader planned on them needs.
        await curateLake(target, { from: DAYS[0], to: DAYS[DAYS.length - 1] }, { nowMs: NOW + run * 1000, lookbackDays: 3, eventTime: DEFAULT_EVENT_TIME_BOUNDS, graceMs: 60_000 });
      } finally {
        await target.close();
      }
    };
    await curate(0);
    const published = new Set([100]);

    const live = await createDuckDbEngine({ lakeDir: root, snapshot: false, resultCacheEntries: 0 });
    const snapshot = await createDuckDbEngine({ lakeDir: root });
    const liveLake = createLakeQueries(live);
    const snapshotLake = createLakeQueries(snapshot);
    const seen: number[][] = [];
    const failures: string[] = [];
    let racing = true;
    const reader = async (read: () => Promise<{ date: string; units: number }[]>) => {
      while (racing) {
        try {
          const rows = await read();
          seen.push(DAYS.map((day) => rows.find((row) => row.date === day)?.units ?? 0));
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const readers = [
      reader(() => liveLake.dailyUnits({})),
      reader(async () => {
        await snapshot.refresh();
        return snapshotLake.dailyUnits({});
      }),
    ];
    try {
      for (let run = 1; run <= RUNS; run++) {
        const late = DAYS.flatMap((day, index) => Array.from({ length: LATE_PER_RUN }, (_, i) => order(day, `late-${run}-${index}-${i}`, 1)));
        await deliverRawOrders(root, late.map((event) => JSON.stringify(event)), NOW + run * 1000);
        await curate(run);
        published.add(100 + run * LATE_PER_RUN);
      }
    } finally {
      racing = false;
      await Promise.all(readers);
      await live.close();
      await snapshot.close();
    }

    expect(failures).toEqual([]);
    expect(seen.length).toBeGreaterThan(RUNS);
    for (const units of seen) for (const value of units) expect(published, JSON.stringify(units)).toContain(value);
    // The race was real: the readers saw more than one rebuild.
    expect(new Set(seen.flat()).size).toBeGreaterThan(1);
  });
});
