import { describe, expect, it } from 'vitest';
import { type FeatureMatrix, matrixFromRows } from '../../models/trees/featureMatrix.ts';
import { TreeRandom } from '../../models/trees/treeRandom.ts';
import { RandomForest } from '../../models/trees/randomForest.ts';

function simulate(n: number, nf: number, seed: number, target: (row: number[], random: TreeRandom) => number) {
  const random = new TreeRandom(seed);
  const values = new Float64Array(n * nf);
  const y = new Float64Array(n);
  const row = new Array<number>(nf);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < nf; f++) row[f] = values[f * n + r] = random.nextGaussian();
    y[r] = target(row, random);
  }
  const x: FeatureMatrix = { values, nRows: n, nFeatures: nf };
  return { x, y };
}

const mse = (p: ArrayLike<number>, y: ArrayLike<number>) => Array.from(p).reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / p.length;
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const noisy = (row: number[], random: TreeRandom) => 2 * row[0] - row[1] + Math.sin(3 * row[2]) + 1.5 * random.nextGaussian();

describe('RandomForest', () => {
  it('beats a single fully grown tree on noisy data', () => {
    const train = simulate(2_000, 6, 1, noisy);
    const test = simulate(2_000, 6, 2, noisy);
    const single = RandomForest.fit(train, { nEstimators: 1, bootstrap: false, featureFraction: 1 });
    const forest = RandomForest.fit(train, { nEstimators: 60 });
    const singleError = mse(single.predictMany(test.x), test.y);
    const forestError = mse(forest.predictMany(test.x), test.y);
    expect(forestError).toBeLessThan(0.7 * singleError);
    // A fully grown tree on distinct values interpolates its training targets.
    expect(mse(single.predictMany(train.x), train.y)).toBeLessThan(1e-20);
  });

  it('splits 0/1 targets where the Gini decrease is largest', () => {
    const random = new TreeRandom(3);
    const xs = Array.from({ length: 300 }, () => Math.round(random.nextFloat() * 1000) / 10);
    const y = Float64Array.from(xs, (v) => (random.nextFloat() < (v < 40 ? 0.2 : v < 70 ? 0.6 : 0.9) ? 1 : 0));
    const stump = RandomForest.fit({ x: matrixFromRows(xs.map((v) => [v])), y }, { task: 'classification', nEstimators: 1, bootstrap: false, maxLeaves: 2 });
    const gini = (ys: number[]) => (ys.length === 0 ? 0 : ys.length * 2 * mean(ys) * (1 - mean(ys)));
    const cuts = [...new Set(xs)].sort((a, b) => a - b);
    let best = { decrease: -1, cut: 0 };
    for (let i = 0; i + 1 < cuts.length; i++) {
      const cut = (cuts[i] + cuts[i + 1]) / 2;
      const left = xs.flatMap((v, j) => (v <= cut ? [y[j]] : []));
      const right = xs.flatMap((v, j) => (v > cut ? [y[j]] : []));
      const decrease = gini(Array.from(y)) - gini(left) - gini(right);
      if (decrease > best.decrease + 1e-12) best = { decrease, cut };
    }
    expect(stump.toJSON().trees[0].threshold[0]).toBeCloseTo(best.cut, 12);
    // Leaves hold class-1 frequencies.
    const leftRate = mean(xs.flatMap((v, j) => (v <= best.cut ? [y[j]] : [])));
    expect(stump.predict([best.cut - 0.01])).toBeCloseTo(leftRate, 12);
  });

  it('outputs class probabilities that are calibrated on average and rank well', () => {
    const label = (row: number[], random: TreeRandom) => (random.nextFloat() < 1 / (1 + Math.exp(-2 * row[0] + row[1])) ? 1 : 0);
    const train = simulate(3_000, 4, 4, label);
    const test = simulate(2_000, 4, 5, label);
    const forest = RandomForest.fit(train, { task: 'classification', nEstimators: 50, minChildSamples: 5 });
    const p = forest.predictMany(test.x);
    expect(Math.min(...p)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...p)).toBeLessThanOrEqual(1);
    expect(Math.abs(mean(p) - mean(test.y))).toBeLessThan(0.03);
    const brier = mse(p, test.y);
    expect(brier).toBeLessThan(0.8 * mse(new Float64Array(p.length).fill(mean(train.y)), test.y));
    expect(() => RandomForest.fit({ ...train, y: train.y.map((v) => v * 2) }, { task: 'classification' })).toThrow(/0\/1/);
  });

  it('estimates its error out of bag, also for a forest too small to cover every row', () => {
    const train = simulate(1_500, 4, 6, noisy);
    const test = simulate(1_500, 4, 7, noisy);
    const forest = RandomForest.fit(train, { nEstimators: 40, oob: true });
    expect(forest.oobLoss!).toBeGreaterThan(0.8 * mse(forest.predictMany(test.x), test.y));
    expect(forest.oobLoss!).toBeLessThan(1.25 * mse(forest.predictMany(test.x), test.y));
    const tiny = RandomForest.fit(train, { nEstimators: 2, oob: true });
    const missing = Array.from(tiny.oobPredictions!).filter(Number.isNaN).length;
    expect(missing).toBeGreaterThan(0.3 * 1_500); // (1 - e^-1)^2 of the rows are in both bags
    expect(Number.isFinite(tiny.oobLoss)).toBe(true);
  });

  it('is deterministic for a seed and round-trips through JSON, per-split and per-tree features', () => {
    const { x, y } = simulate(800, 5, 8, noisy);
    for (let r = 0; r < 800; r += 9) x.values[800 + r] = NaN;
    for (const featureSubsampling of ['split', 'tree'] as const) {
      const options = { nEstimators: 8, featureSubsampling, minChildSamples: 3, seed: 5 };
      const forest = RandomForest.fit({ x, y }, options);
      expect(JSON.stringify(RandomForest.fit({ x, y }, options))).toBe(JSON.stringify(forest));
      expect(JSON.stringify(RandomForest.fit({ x, y }, { ...options, seed: 6 }))).not.toBe(JSON.stringify(forest));
      const loaded = RandomForest.load(JSON.parse(JSON.stringify(forest)));
      expect(Array.from(loaded.predictMany(x))).toEqual(Array.from(forest.predictMany(x)));
      expect(loaded.predict([0, NaN, 1, -1, 2])).toBe(forest.predict([0, NaN, 1, -1, 2]));
    }
    const json = RandomForest.fit({ x, y }, { nEstimators: 2 }).toJSON();
    expect(() => RandomForest.load({ ...json, format: 'demand-insights/gradient-boosting' })).toThrow();
    expect(() => RandomForest.load({ ...json, trees: [] })).toThrow();
  });

  it('respects depth and leaf limits', () => {
    const { x, y } = simulate(1_000, 3, 9, noisy);
    const shallow = RandomForest.fit({ x, y }, { nEstimators: 3, maxDepth: 2 });
    expect(shallow.toJSON().trees.every((t) => t.leafValue.length <= 4)).toBe(true);
    const small = RandomForest.fit({ x, y }, { nEstimators: 3, maxLeaves: 7 });
    expect(small.toJSON().trees.every((t) => t.leafValue.length === 7)).toBe(true);
  });
});
