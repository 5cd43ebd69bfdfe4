import { describe, expect, it } from 'vitest';
import { BinMapper } from '../../models/trees/binning.ts';
import { matrixFromRows, selectRows } from '../../models/trees/featureMatrix.ts';
import { FlatForest, type TreeJSON } from '../../models/trees/flatTree.ts';
import { TreeRandom } from '../../models/trees/treeRandom.ts';

const column = (values: number[]) => ({ values: Float64Array.from(values), nRows: values.length, nFeatures: 1 });

describe('BinMapper', () => {
  it('gives each of a few distinct values its own bin, cut halfway between neighbours', () => {
    const bins = BinMapper.fit(column([3, 1, 2, 2, 1, 3, 10]));
    expect(Array.from(bins.upper[0])).toEqual([1.5, 2.5, 6.5, Infinity]);
    expect([1, 2, 3, 10, 0, 4, 7, 1e9].map((x) => bins.code(0, x))).toEqual([0, 1, 2, 3, 0, 2, 3, 3]);
  });

  it('codes NaN as nBins, past every value bin', () => {
    const bins = BinMapper.fit(column([1, NaN, 2, NaN]));
    expect(bins.nBins[0]).toBe(2);
    expect(Array.from(bins.transform(column([NaN, 1, 2, 5])).codes)).toEqual([2, 0, 1, 1]);
  });

  it('uses at most maxBins near-equal-frequency bins for many distinct values', () => {
    const random = new TreeRandom(3);
    const values = Array.from({ length: 10_000 }, () => random.nextGaussian());
    const bins = BinMapper.fit(column(values), { maxBins: 255 });
    expect(bins.nBins[0]).toBe(255);
    const counts = new Array(255).fill(0);
    for (const c of bins.transform(column(values)).codes) counts[c]++;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(35);
    expect(Math.max(...counts)).toBeLessThanOrEqual(45);
  });

  it('gives a heavy tie one bin and spreads the others over the remaining values', () => {
    const random = new TreeRandom(4);
    const values = Array.from({ length: 10_000 }, () => (random.nextFloat() < 0.7 ? 0 : 1 + random.nextFloat() * 100));
    const bins = BinMapper.fit(column(values), { maxBins: 64 });
    expect(bins.code(0, 0)).toBe(0);
    expect(bins.code(0, 0.4)).toBe(0);
    expect(bins.nBins[0]).toBe(64);
    // The 30% non-zero values share the other 63 bins about equally.
    const counts = new Array(64).fill(0);
    for (const c of bins.transform(column(values)).codes) counts[c]++;
    expect(counts[0]).toBeGreaterThan(6_800);
    expect(Math.max(...counts.slice(1))).toBeLessThan(70);
  });

  it('bins a large matrix from a seeded sample of rows, deterministically', () => {
    const random = new TreeRandom(5);
    const n = 5_000;
    const m = { values: Float64Array.from({ length: 2 * n }, () => random.nextFloat()), nRows: n, nFeatures: 2 };
    const a = BinMapper.fit(m, { sampleSize: 500, maxBins: 16, seed: 1 });
    const b = BinMapper.fit(m, { sampleSize: 500, maxBins: 16, seed: 1 });
    expect(a.upper).toEqual(b.upper);
    expect(a.nBins[1]).toBe(16);
  });

  it('bins row-major and column-major layouts of the same data identically', () => {
    const rows = [[1, 10], [2, NaN], [3, 30], [4, 40]];
    const byColumn = matrixFromRows(rows);
    const byRow = { values: Float64Array.from(rows.flat()), nRows: 4, nFeatures: 2, layout: 'row-major' as const };
    expect(BinMapper.fit(byRow).transform(byRow).codes).toEqual(BinMapper.fit(byColumn).transform(byColumn).codes);
    expect(Array.from(selectRows(byRow, [3, 0]).values)).toEqual([4, 1, 40, 10]);
  });
});

describe('FlatForest', () => {
  // x0 <= 0.5 ? (x1 <= 2, NaN left ? 1 : 2) : 3, and a stump-free second tree adding 10.
  const trees: TreeJSON[] = [
    { feature: [0, 1], threshold: [0.5, 2], missingLeft: [0, 1], left: [1, -1], right: [-3, -2], gain: [4, 1], leafValue: [1, 2, 3] },
    { feature: [], threshold: [], missingLeft: [], left: [], right: [], gain: [], leafValue: [10] },
  ];

  it('walks raw values, sending NaN the learned way', () => {
    const forest = FlatForest.fromJSON(trees, 2);
    expect(forest.sum([0, 1])).toBe(11);
    expect(forest.sum([0, 5])).toBe(12);
    expect(forest.sum([0, NaN])).toBe(11);
    expect(forest.sum([NaN, 0])).toBe(13);
    expect(forest.sum([1, 0])).toBe(13);
    expect(forest.sum([1, 0], 0, 1, 1)).toBe(3);
  });

  it('round-trips through JSON and reports importances', () => {
    const forest = FlatForest.fromJSON(JSON.parse(JSON.stringify(FlatForest.fromJSON(trees, 2).toJSON())), 2);
    expect(forest.toJSON()).toEqual(trees);
    expect(Array.from(forest.importances().gain)).toEqual([4, 1]);
    expect(Array.from(forest.importances().split)).toEqual([1, 1]);
  });

  it('rejects trees whose walk could loop or fall off', () => {
    const loop = { ...trees[0], left: [0, -1] };
    expect(() => FlatForest.fromJSON([loop], 2)).toThrow(/bad child/);
    expect(() => FlatForest.fromJSON([trees[0]], 1)).toThrow(/feature 1/);
  });
});

describe('TreeRandom', () => {
  it('is reproducible and roughly uniform', () => {
    const a = new TreeRandom(7);
    const b = new TreeRandom(7);
    const draws = Array.from({ length: 10_000 }, () => a.nextFloat());
    expect(draws.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.nextFloat()));
    expect(draws.reduce((s, x) => s + x, 0) / draws.length).toBeCloseTo(0.5, 1);
    expect(new TreeRandom(8).nextFloat()).not.toBe(draws[0]);
  });

  it('samples distinct sorted indices and bootstrap counts summing to the draws', () => {
    const random = new TreeRandom(9);
    const sample = Array.from(random.sampleSorted(100, 30));
    expect(sample).toHaveLength(30);
    expect(new Set(sample).size).toBe(30);
    expect(sample).toEqual([...sample].sort((x, y) => x - y));
    expect(random.bootstrapCounts(50, 50).reduce((s, c) => s + c, 0)).toBe(50);
  });
});
