import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLake } from '../../api/lake/buildLake.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { type CurateOptions, curateLake } from '../../lake/curateLake.ts';
import { openDuckdbCurationTarget } from '../../lake/duckdbCurationTarget.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';
import { curatedRows } from '../support/curatedLake.ts';

/*
 * The curation on DuckDB over local raw JSON lines, as the local stack and `lake build` run it:
 * the same rows as the lake written straight from the events, idempotent, duplicates dropped,
 * late and old arrivals, products, poison. Its twin against the Athena protocol endpoint is
 * lakeCurationAthena.test.ts.
 */

const NOW = Date.parse('2024-03-31T12:00:00Z');
const options = (nowMs = NOW, extra: Partial<CurateOptions> = {}): CurateOptions => ({
  nowMs,
  lookbackDays: 3,
  eventTime: DEFAULT_EVENT_TIME_BOUNDS,
  graceMs: 3_600_000,
  ...extra,
});
const texts = (events: readonly OrderEvent[]) => events.map((event) => JSON.stringify(event));

async function curate(root: string, request: { from?: string; to?: string }, opts = options()) {
  const target = await openDuckdbCurationTarget(root);
  try {
    return await curateLake(target, request, opts);
  } finally {
    await target.close();
  }
}

describe('lake curation on DuckDB', () => {
  let dir: string;
  let events: OrderEvent[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-curate-'));
    events = generateEvents({ customers: 80, days: 60, seed: 11, start: '2024-01-01' }).map((event, index) =>
      index % 2 === 0 ? { ...event, country: index % 4 === 0 ? 'France' : 'United Kingdom' } : event,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('curates raw JSON lines into exactly the rows lake build writes from the events, and again into the same rows', async () => {
    const reference = join(dir, 'reference');
    await buildLake(events, reference, { nowMs: NOW });
    const root = join(dir, 'twice');
    // Firehose's at-least-once: the second half is delivered twice, in other objects.
    await deliverRawOrders(root, texts(events));
    const half = Math.floor(events.length / 2);
    await deliverRawOrders(root, texts(events.slice(half)));
    const first = await curate(root, { from: '2024-01-01', to: '2024-03-31' });
    const expected = await curatedRows(reference);
    expect(expected.lines.length).toBeGreaterThan(300);
    const once = await curatedRows(root);
    expect(once).toEqual(expected);
    expect(first.duplicatesDropped).toBe(events.length - half);
    expect(first.events - first.duplicatesDropped).toBe(events.length);
    expect(first.rows).toBe(expected.lines.length);

    const second = await curate(root, { from: '2024-01-01', to: '2024-03-31' }, options(NOW + 60_000));
    expect(await curatedRows(root)).toEqual(expected);
    expect(second.lateRows).toBe(0);
    expect(second.partitionsRebuilt).toBe(first.partitionsRebuilt);
  });

  it('takes an event two days late into its own day on the next scheduled run, and an older one only when asked', async () => {
    const root = join(dir, 'late');
    const recent = events.filter((event) => event.occurredAt < '2024-03-01');
    await deliverRawOrders(root, texts(recent));
    await curate(root, { from: '2024-01-01', to: '2024-03-31' });
    const before = await curatedRows(root);

    const late: OrderEvent = { type: 'order', orderId: 'late-1', customerId: 'late-customer', occurredAt: '2024-03-29T23:59:59.000Z', lines: [{ productId: 'NEW-PRODUCT', categoryId: 'NEW-CATEGORY', quantity: 1, unitPrice: 2 }] };
    const old: OrderEvent = { ...late, orderId: 'old-1', occurredAt: '2024-02-10T08:00:00+05:00' };
    await deliverRawOrders(root, texts([late, old]));
    const scheduled = await curate(root, {}, options(Date.parse('2024-03-31T13:00:00Z')));
    expect(scheduled.from).toBe('2024-03-28');
    expect(scheduled.to).toBe('2024-04-01');
    const after = await curatedRows(root);
    const added = after.lines.filter((line) => !before.lines.includes(line));
    expect(added).toEqual([JSON.stringify(['late-1', 'late-customer', 'NEW-PRODUCT', 'NEW-CATEGORY', 1, 2, '2024-03-29T23:59:59.000', 'order', null, '2024-03-29'])]);
    expect(after.products).toContain(JSON.stringify(['NEW-PRODUCT', 'NEW-CATEGORY']));

    const backfill = await curate(root, { from: '2024-02-10', to: '2024-02-10' }, options(Date.parse('2024-03-31T14:00:00Z')));
    expect(backfill).toMatchObject({ explicit: true, partitionsRebuilt: 1, lateRows: 1, rows: before.lines.filter((line) => line.endsWith('"2024-02-10"]')).length + 1 });
    const withOld = await curatedRows(root);
    expect(withOld.lines.filter((line) => line.startsWith('["old-1"'))).toEqual([JSON.stringify(['old-1', 'late-customer', 'NEW-PRODUCT', 'NEW-CATEGORY', 1, 2, '2024-02-10T03:00:00.000', 'order', null, '2024-02-10'])]);
  });

  it('leaves out poison and out-of-bounds records and keeps the good ones around them', async () => {
    const root = join(dir, 'poison');
    const good: OrderEvent = { type: 'order', orderId: 'g1', customerId: 'c1', occurredAt: '2024-03-30T10:00:00Z', lines: [{ productId: 'P', quantity: 1, unitPrice: 1 }] };
    await deliverRawOrders(root, [
      'not json',
      JSON.stringify({ ...good, orderId: 'bad-time', occurredAt: '2024-03-30T99:00:00Z' }),
      JSON.stringify({ ...good, orderId: 'no-customer', customerId: undefined }),
      JSON.stringify({ ...good, orderId: 'bad-type', type: 'refund' }),
      JSON.stringify({ ...good, orderId: 'no-lines', lines: [] }),
      JSON.stringify({ ...good, orderId: 'future', occurredAt: '2024-04-05T00:00:00Z' }),
      JSON.stringify(good),
    ]);
    const report = await curate(root, {});
    expect(report.rows).toBe(1);
    expect((await curatedRows(root)).lines.map((line) => JSON.parse(line)[0])).toEqual(['g1']);
  });

  it('deletes superseded rebuilds only after the grace period, never the live one', async () => {
    const root = join(dir, 'grace');
    await deliverRawOrders(root, texts(events.filter((event) => event.occurredAt >= '2024-02-25')));
    await curate(root, { from: '2024-02-25', to: '2024-03-01' });
    const runs = async () => (await readdir(join(root, 'versions', 'orders'))).length;
    const second = await curate(root, { from: '2024-02-25', to: '2024-03-01' }, options(NOW + 60_000));
    expect(second.removedVersions).toBe(0);
    expect(await runs()).toBe(2);
    const third = await curate(root, { from: '2024-02-25', to: '2024-03-01' }, options(NOW + 2 * 3_600_000));
    expect(third.removedVersions).toBeGreaterThan(0);
    expect(await runs()).toBe(1);
    expect((await curatedRows(root)).lines.length).toBe(third.rows);
  });
});
