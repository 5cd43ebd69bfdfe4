import { describe, expect, it } from 'vitest';
import { BinMapper } from '../../models/trees/binning.ts';
import { SLOT, buildHistogram, subtractHistogram } from '../../models/trees/histogram.ts';
import { TreeRandom } from '../../models/trees/treeRandom.ts';
import { type GrowerOptions, TreeGrower, binnedLeaf } from '../../models/trees/treeGrower.ts';

function problem(n: number, nf: number, seed: number) {
  const random = new TreeRandom(seed);
  const values = Float64Array.from({ length: n * nf }, (_, i) => (i % 17 === 0 ? NaN : Math.round(random.nextGaussian() * 50) / 10));
  const x = { values, nRows: n, nFeatures: nf };
  const bins = BinMapper.fit(x, { maxBins: 64 });
  const binned = bins.transform(x);
  const grad = Float64Array.from({ length: n }, (_, r) => (values[r] > 0 ? -1 : 1) + random.nextGaussian());
  const hess = Float64Array.from({ length: n }, () => 0.5 + random.nextFloat());
  return { bins, binned, grad, hess, features: Int32Array.from({ length: nf }, (_, f) => f) };
}

const options: GrowerOptions = {
  maxLeaves: Infinity,
  maxDepth: Infinity,
  lambda: 0.5,
  minChildSamples: 2,
  minChildWeight: 1e-3,
  minGain: 0,
  featuresPerSplit: 0,
  histogramBudgetBytes: 1 << 24,
};

describe('TreeGrower', () => {
  it('finds the same splits whether nodes are searched by histogram or by their rows', () => {
    const p = problem(600, 4, 1);
    const grow = (smallNodeRows: number, histogramBudgetBytes = options.histogramBudgetBytes) =>
      new TreeGrower(p.binned, p.bins, { ...options, smallNodeRows, histogramBudgetBytes }).grow(
        p.grad,
        p.hess,
        Uint32Array.from({ length: 600 }, (_, i) => i),
        p.features,
        new TreeRandom(1),
      ).tree;
    const dense = grow(0);
    const sparse = grow(10_000);
    const mixed = grow(40);
    const noSubtraction = grow(0, 1); // no histogram survives to be subtracted from
    expect(dense.feature.length).toBeGreaterThan(20);
    for (const other of [sparse, mixed, noSubtraction]) {
      expect(Array.from(other.feature)).toEqual(Array.from(dense.feature));
      expect(Array.from(other.bin)).toEqual(Array.from(dense.bin));
      expect(Array.from(other.missingLeft)).toEqual(Array.from(dense.missingLeft));
      other.leafValue.forEach((v, l) => expect(v).toBeCloseTo(dense.leafValue[l], 9));
    }
  });

  it('gives each leaf -G/(H+λ) of its rows, and the binned walk finds the same leaves', () => {
    const p = problem(500, 3, 2);
    const rows = Uint32Array.from({ length: 500 }, (_, i) => i);
    const { tree, leafStart, leafEnd } = new TreeGrower(p.binned, p.bins, { ...options, maxLeaves: 12 }).grow(p.grad, p.hess, rows, p.features, new TreeRandom(1));
    expect(tree.leafValue.length).toBe(12);
    for (let l = 0; l < 12; l++) {
      let g = 0;
      let h = 0;
      for (let i = leafStart[l]; i < leafEnd[l]; i++) {
        g += p.grad[rows[i]];
        h += p.hess[rows[i]];
        expect(binnedLeaf(tree, p.binned, p.bins.nBins, rows[i])).toBe(l);
      }
      expect(tree.leafValue[l]).toBeCloseTo(-g / (h + options.lambda), 12);
      expect(leafEnd[l] - leafStart[l]).toBeGreaterThanOrEqual(options.minChildSamples);
    }
  });

  it('derives a sibling histogram as parent minus child', () => {
    const p = problem(300, 3, 3);
    const size = p.bins.totalSlots * SLOT;
    const rows = Uint32Array.from({ length: 300 }, (_, i) => i);
    const scratch = [new Float64Array(300), new Float64Array(300)] as const;
    const histogram = (start: number, end: number) => {
      const h = new Float64Array(size);
      buildHistogram(h, p.bins, p.features, p.binned.codes, 300, rows, start, end, p.grad, p.hess, ...scratch);
      return h;
    };
    const parent = histogram(0, 300);
    subtractHistogram(parent, histogram(0, 120), p.bins, p.features);
    histogram(120, 300).forEach((v, k) => expect(parent[k]).toBeCloseTo(v, 10));
  });
});
