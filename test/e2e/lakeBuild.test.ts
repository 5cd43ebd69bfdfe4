import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../bin/commands/lake.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { ONLINE_RETAIL_II } from '../support/sharedData.ts';

/*
 * `demand-insights lake build --data F --format X --out DIR`: the command's summary, what it
 * leaves on disk, rebuilding over an old lake, bad options, and the real CLI on the shared
 * Online Retail II sample.
 */

const RETAIL = ONLINE_RETAIL_II;
const CLI = new URL('../../bin/demand-insights.js', import.meta.url).pathname;

async function printed(options: Record<string, unknown>): Promise<string> {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    await run(options);
  } finally {
    spy.mockRestore();
  }
  return text;
}

/** Lines, lines with a country and distinct countries in a lake's order files. */
async function countries(root: string): Promise<{ lines: number; withCountry: number; distinct: number }> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT COUNT(*), COUNT(country), COUNT(DISTINCT country) FROM read_parquet('${join(root, 'orders', '*', '*.parquet')}')`);
    const [lines, withCountry, distinct] = reader.getRows()[0].map(Number);
    return { lines, withCountry, distinct };
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

describe('lake build', () => {
  let dir: string;
  let data: string;
  let lines = 0;
  let countryLines = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-build-'));
    data = join(dir, 'orders.jsonl');
    // Every other customer's events carry a country.
    const events = generateEvents({ customers: 150, days: 90, seed: 5, start: '2024-01-01' }).map((event) =>
      Number(event.customerId.slice(1)) % 2 === 0 ? { ...event, country: 'Deutschland' } : event,
    );
    for (const event of events) lines += event.lines.length;
    for (const event of events) if (event.country) countryLines += event.lines.length;
    await writeFile(data, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the layout and prints a summary', async () => {
    const out = join(dir, 'lake');
    const text = await printed({ data, format: 'jsonl', out });
    expect(text).toMatch(new RegExp(`^lake written to ${out} in [\\d.]+ s`));
    expect(text).toContain(`${lines} lines (`);
    expect(text).toMatch(/\d+ daily partitions 2024-01-\d\d\.\.2024-0\d-\d\d/);
    expect(text).toMatch(/\d+ products in 12 categories/);
    expect(readdirSync(join(out, 'orders')).every((name) => /^date=\d{4}-\d{2}-\d{2}$/.test(name))).toBe(true);
    expect(readdirSync(join(out, 'products'))).toEqual([expect.stringMatching(/^r\w+-0\.parquet$/)]);
    // Each line has its event's country, NULL when the event has none.
    expect(await countries(out)).toEqual({ lines, withCountry: countryLines, distinct: 1 });
  });

  it("replaces an old lake's orders and products and nothing else", async () => {
    const out = join(dir, 'rebuilt');
    await mkdir(join(out, 'orders', 'date=1999-01-01'), { recursive: true });
    await writeFile(join(out, 'orders', 'date=1999-01-01', 'part-0.parquet'), 'stale');
    await writeFile(join(out, 'README'), 'keep me');
    await printed({ data, format: 'jsonl', out });
    expect(existsSync(join(out, 'orders', 'date=1999-01-01'))).toBe(false);
    expect(await readFile(join(out, 'README'), 'utf8')).toBe('keep me');
  });

  it('names a bad option', async () => {
    await expect(run({ data, format: 'csv', out: join(dir, 'x') })).rejects.toThrow(/--format must be one of/);
    await expect(run({ data: join(dir, 'missing.jsonl'), format: 'jsonl', out: join(dir, 'x') })).rejects.toThrow(/--data: cannot read/);
    await expect(run({ data, format: 'jsonl' })).rejects.toThrow(/--out is required/);
  });

  it('the CLI writes the Online Retail II sample', async () => {
    const out = join(dir, 'retail');
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'lake', 'build', '--data', RETAIL, '--format', 'online-retail', '--out', out]);
    expect(stdout).toMatch(/400979 lines \(391877 order, 9102 return\) of 22091 events, 4267 customers/);
    expect(stdout).toMatch(/299 daily partitions 2009-12-01\.\.2010-11-30/);
    expect(readdirSync(join(out, 'orders'))).toHaveLength(299);
    // Every Online Retail II invoice names its country: 37 of them.
    expect(await countries(out)).toEqual({ lines: 400979, withCountry: 400979, distinct: 37 });
  });
});
