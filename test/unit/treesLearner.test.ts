import { describe, expect, it } from 'vitest';
import { type FeatureMatrix, matrixFromRows } from '../../models/trees/featureMatrix.ts';
import { GradientBoosting } from '../../models/trees/gradientBoosting.ts';
import { TreeRandom } from '../../models/trees/treeRandom.ts';

/** n rows of nf standard-normal features (column-major) and a target computed from each row. */
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

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
const mse = (p: ArrayLike<number>, y: ArrayLike<number>) => Array.from(p).reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / p.length;

/** ROC-AUC by the rank-sum formula with average ranks for ties. */
function auc(score: ArrayLike<number>, label: ArrayLike<number>): number {
  const order = Array.from(score, (_, i) => i).sort((a, b) => score[a] - score[b]);
  const ranks = new Float64Array(order.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && score[order[j + 1]] === score[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; i++) if (label[i] === 1) (positives++, (rankSum += ranks[i]));
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

describe('GradientBoosting on known answers', () => {
  it('learns a separable split exactly, with the cut halfway between the classes', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const data = { x: matrixFromRows(xs.map((v) => [v])), y: Float64Array.from(xs, (v) => (v < 37 ? 0 : 1)) };
    const model = GradientBoosting.fit(data, { nEstimators: 1, learningRate: 1, maxLeaves: 2, minChildSamples: 1 });
    expect(model.toJSON().trees[0].threshold).toEqual([36.5]);
    expect(Array.from(model.predictMany(data.x))).toEqual(Array.from(data.y));
    expect(model.predict([36.4])).toBe(0);
    expect(model.predict([36.6])).toBe(1);
  });

  it('separates classes with logistic loss', () => {
    const xs = Array.from({ length: 200 }, (_, i) => i / 10);
    const data = { x: matrixFromRows(xs.map((v) => [v, -v])), y: Float64Array.from(xs, (v) => (v > 7.05 ? 1 : 0)) };
    const model = GradientBoosting.fit(data, { loss: 'logistic', nEstimators: 50, learningRate: 0.3, minChildSamples: 5 });
    const p = model.predictMany(data.x);
    p.forEach((pi, i) => expect(pi > 0.5 ? 1 : 0).toBe(data.y[i]));
    expect(model.predict([2, -2])).toBeLessThan(0.05);
    expect(model.predict([15, -15])).toBeGreaterThan(0.95);
  });

  it('approximates a monotone function with training error falling as trees are added', () => {
    const xs = Array.from({ length: 1_000 }, (_, i) => (3 * i) / 1_000);
    const data = { x: matrixFromRows(xs.map((v) => [v])), y: Float64Array.from(xs, (v) => Math.exp(v)) };
    const errors = [5, 20, 80, 200].map((nEstimators) => mse(GradientBoosting.fit(data, { nEstimators }).predictMany(data.x), data.y));
    for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThan(errors[i - 1]);
    expect(errors[3]).toBeLessThan(1e-3 * 25); // var(y) is about 25
    const model = GradientBoosting.fit(data, { nEstimators: 200 });
    const grid = Array.from({ length: 30 }, (_, i) => model.predict([0.05 + i / 10]));
    for (let i = 1; i < grid.length; i++) expect(grid[i]).toBeGreaterThanOrEqual(grid[i - 1]);
  });

  it('predicts a constant target everywhere with no splits', () => {
    const { x } = simulate(500, 3, 1, () => 0);
    const model = GradientBoosting.fit({ x, y: new Float64Array(500).fill(4.25) }, { nEstimators: 10 });
    expect(model.toJSON().trees.every((t) => t.feature.length === 0)).toBe(true);
    expect(new Set(model.predictMany(x))).toEqual(new Set([4.25]));
    expect(model.predict([100, -100, NaN])).toBe(4.25);
  });

  it('gives calibrated logistic probabilities and a high AUC on a learnable signal', () => {
    const truth = (row: number[]) => sigmoid(1.5 * row[0] - row[1] + Math.sin(2 * row[2]) - 0.8);
    const draw = (seed: number) => simulate(12_000, 6, seed, (row, random) => (random.nextFloat() < truth(row) ? 1 : 0));
    const train = draw(2);
    const test = draw(3);
    const model = GradientBoosting.fit(train, { loss: 'logistic', nEstimators: 300, learningRate: 0.1, validationFraction: 0.2 });
    expect(Math.abs(mean(model.predictMany(train.x)) - mean(train.y))).toBeLessThan(0.002);
    const p = model.predictMany(test.x);
    expect(Math.abs(mean(p) - mean(test.y))).toBeLessThan(0.015);
    const oracle = Array.from({ length: test.x.nRows }, (_, r) => truth([0, 1, 2].map((f) => test.x.values[f * test.x.nRows + r])));
    expect(auc(p, test.y)).toBeGreaterThan(auc(oracle, test.y) - 0.01);
    // Reliability: in each probability quintile the mean prediction matches the observed rate.
    const order = Array.from(p, (_, i) => i).sort((a, b) => p[a] - p[b]);
    for (let q = 0; q < 5; q++) {
      const bucket = order.slice((q * order.length) / 5, ((q + 1) * order.length) / 5);
      expect(Math.abs(mean(bucket.map((i) => p[i])) - mean(bucket.map((i) => test.y[i])))).toBeLessThan(0.03);
    }
  });

  it('recovers the total of Poisson counts on the training data, even without balancing', () => {
    const { x, y } = simulate(5_000, 4, 4, (row, random) => poissonDraw(random, Math.exp(0.3 + 0.8 * row[0] - 0.4 * row[1])));
    // The log link is Poisson's canonical link: Newton steps keep the total by themselves.
    const model = GradientBoosting.fit({ x, y }, { loss: 'poisson', nEstimators: 100, learningRate: 0.1, balanceTotal: false });
    expect(sum(model.predictMany(x)) / sum(y)).toBeCloseTo(1, 2);
    expect(model.predict([1, 0, 0, 0])).toBeGreaterThan(model.predict([-1, 0, 0, 0]) * 3);
  });

  it('recovers the total of zero-heavy Tweedie spend and ranks spenders', () => {
    // Most customers spend nothing; buyers spend a gamma-like amount that grows with x0.
    const spend = (row: number[], random: TreeRandom) =>
      random.nextFloat() < sigmoid(-1 + row[0]) ? Math.exp(3 + 0.5 * row[0] + 0.3 * random.nextGaussian()) : 0;
    const train = simulate(8_000, 4, 5, spend);
    const test = simulate(4_000, 4, 6, spend);
    expect(mean(Array.from(train.y, (v) => (v === 0 ? 1 : 0)))).toBeGreaterThan(0.6);
    const model = GradientBoosting.fit(train, { loss: 'tweedie', tweedieVariancePower: 1.5, nEstimators: 150, learningRate: 0.05 });
    expect(sum(model.predictMany(train.x)) / sum(train.y)).toBeCloseTo(1, 10);
    const unbalanced = GradientBoosting.fit(train, { loss: 'tweedie', nEstimators: 150, learningRate: 0.05, balanceTotal: false });
    expect(sum(unbalanced.predictMany(train.x)) / sum(train.y)).toBeLessThan(0.97);
    expect(sum(model.predictMany(test.x)) / sum(test.y)).toBeGreaterThan(0.9);
    expect(sum(model.predictMany(test.x)) / sum(test.y)).toBeLessThan(1.1);
    expect(Math.min(...model.predictMany(test.x))).toBeGreaterThan(0);
    const buyer = Float64Array.from(test.y, (v) => (v > 0 ? 1 : 0));
    expect(auc(model.predictMany(test.x), buyer)).toBeGreaterThan(0.7);
  });

  it('stops early on a validation split and keeps the best iteration', () => {
    const { x, y } = simulate(2_000, 8, 7, (row, random) => row[0] + 2 * random.nextGaussian());
    const model = GradientBoosting.fit({ x, y }, { nEstimators: 500, learningRate: 0.3, minChildSamples: 2, validationFraction: 0.25, earlyStoppingRounds: 15 });
    const losses = model.validationLoss;
    expect(model.bestIteration).toBeGreaterThan(0);
    expect(model.bestIteration).toBeLessThan(100);
    expect(losses).toHaveLength(model.bestIteration + 15 + 1);
    expect(Math.min(...losses)).toBe(losses[model.bestIteration]);
    expect(model.nTrees).toBe(model.bestIteration);
  });

  it('uses an explicit validation set and matches its loss history', () => {
    const make = (seed: number) => simulate(1_500, 3, seed, (row, random) => (random.nextFloat() < sigmoid(2 * row[0]) ? 1 : 0));
    const train = make(8);
    const validation = make(9);
    const model = GradientBoosting.fit({ ...train, validation }, { loss: 'logistic', nEstimators: 300, learningRate: 0.3, earlyStoppingRounds: 10 });
    expect(model.bestIteration).toBeLessThan(300);
    const p = model.predictMany(validation.x);
    const logLoss = -mean(Array.from(p, (pi, i) => (validation.y[i] === 1 ? Math.log(pi) : Math.log(1 - pi))));
    expect(logLoss).toBeCloseTo(model.validationLoss[model.bestIteration], 10);
  });

  it('is deterministic for a seed, with row and feature subsampling', () => {
    const { x, y } = simulate(3_000, 6, 10, (row, random) => row[0] * row[1] + random.nextGaussian());
    const options = { nEstimators: 30, subsample: 0.6, featureFraction: 0.5, validationFraction: 0.2, seed: 11 };
    const a = JSON.stringify(GradientBoosting.fit({ x, y }, options));
    expect(JSON.stringify(GradientBoosting.fit({ x, y }, options))).toBe(a);
    expect(JSON.stringify(GradientBoosting.fit({ x, y }, { ...options, seed: 12 }))).not.toBe(a);
  });

  it('round-trips through JSON with identical predictions, and validates on load', () => {
    const { x, y } = simulate(2_000, 5, 13, (row, random) => (random.nextFloat() < sigmoid(row[0] - row[1]) ? 1 : 0));
    for (let r = 0; r < 2_000; r += 7) x.values[2 * 2_000 + r] = NaN;
    const model = GradientBoosting.fit({ x, y }, { loss: 'logistic', nEstimators: 40, subsample: 0.8 });
    const json = JSON.parse(JSON.stringify(model));
    const loaded = GradientBoosting.load(json);
    expect(Array.from(loaded.predictMany(x))).toEqual(Array.from(model.predictMany(x)));
    expect(loaded.predict([Infinity, -Infinity, NaN, 0, 1])).toBe(model.predict([Infinity, -Infinity, NaN, 0, 1]));
    expect(JSON.stringify(loaded)).toBe(JSON.stringify(json));
    expect(() => GradientBoosting.load({ ...json, version: 2 })).toThrow();
    expect(() => GradientBoosting.load({ ...json, options: { ...json.options, learningRate: -1 } })).toThrow();
  });

  it('learns where missing values go, and sends unseen missing values one deterministic way', () => {
    // Missing x0 means a buyer; present x0 buys above 0.
    const { x, y } = simulate(4_000, 2, 14, (row) => (row[0] > 0 ? 1 : 0));
    for (let r = 0; r < 4_000; r += 5) {
      x.values[r] = NaN;
      y[r] = 1;
    }
    const model = GradientBoosting.fit({ x, y }, { loss: 'logistic', nEstimators: 50, learningRate: 0.3 });
    expect(model.predict([NaN, 0])).toBeGreaterThan(0.95);
    expect(model.predict([-1, 0])).toBeLessThan(0.05);
    expect(model.predict([1, 0])).toBeGreaterThan(0.95);
    // x1 never missing in training: NaN there follows the larger child, same answer each time.
    expect(model.predict([1, NaN])).toBe(model.predict([1, NaN]));
    expect(model.predict([1, NaN])).toBeGreaterThan(0.9);
  });

  it('treats row-major and column-major input alike and matches predict with predictMany', () => {
    const { x, y } = simulate(1_000, 3, 15, (row) => row[0] + row[1] * row[2]);
    const rowMajor = new Float64Array(3_000);
    for (let r = 0; r < 1_000; r++) for (let f = 0; f < 3; f++) rowMajor[r * 3 + f] = x.values[f * 1_000 + r];
    const xr: FeatureMatrix = { values: rowMajor, nRows: 1_000, nFeatures: 3, layout: 'row-major' };
    const a = GradientBoosting.fit({ x, y }, { nEstimators: 20 });
    const b = GradientBoosting.fit({ x: xr, y }, { nEstimators: 20 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const batch = a.predictMany(xr);
    for (let r = 0; r < 1_000; r += 50) expect(batch[r]).toBe(a.predict(rowMajor.subarray(r * 3, r * 3 + 3)));
  });

  it('counts a weight of 2 like a duplicated row', () => {
    const xs = Array.from({ length: 60 }, (_, i) => i % 20);
    const y = Float64Array.from(xs, (v, i) => v * (i % 3) + (v > 10 ? 5 : 0));
    const weighted = { x: matrixFromRows(xs.map((v) => [v])), y, weights: Float64Array.from(xs, (_, i) => (i < 10 ? 2 : 1)) };
    const doubled = { x: matrixFromRows([...xs, ...xs.slice(0, 10)].map((v) => [v])), y: Float64Array.from([...y, ...y.slice(0, 10)]) };
    const options = { nEstimators: 10, minChildSamples: 1 };
    const a = GradientBoosting.fit(weighted, options);
    const b = GradientBoosting.fit(doubled, options);
    for (let v = 0; v < 20; v++) expect(a.predict([v])).toBeCloseTo(b.predict([v]), 12);
  });

  it('ranks the informative feature first by gain', () => {
    const { x, y } = simulate(3_000, 5, 16, (row, random) => 3 * row[3] + 0.5 * row[1] + random.nextGaussian());
    const { gain, split } = GradientBoosting.fit({ x, y }, { nEstimators: 30 }).featureImportances();
    expect(Array.from(gain).indexOf(Math.max(...gain))).toBe(3);
    expect(gain[1]).toBeGreaterThan(gain[0]);
    expect(sum(split)).toBeGreaterThan(30);
  });
});

/** Knuth's multiplication method: fine for the small means used here. */
function poissonDraw(random: TreeRandom, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = random.nextFloat(); p > limit; p *= random.nextFloat()) k++;
  return k;
}

describe('GradientBoosting input checks', () => {
  const data = { x: matrixFromRows([[1, 2], [3, 4], [5, 6]]), y: Float64Array.from([0, 1, 1]) };

  it('rejects malformed data and options with a message naming the problem', () => {
    expect(() => GradientBoosting.fit({ ...data, y: Float64Array.from([0, 1]) })).toThrow(/2 targets for 3 rows/);
    expect(() => GradientBoosting.fit({ ...data, y: Float64Array.from([0, 2, 1]) }, { loss: 'logistic' })).toThrow(/\[0, 1\]/);
    expect(() => GradientBoosting.fit({ ...data, y: Float64Array.from([0, -1, 1]) }, { loss: 'poisson' })).toThrow(/non-negative/);
    expect(() => GradientBoosting.fit(data, { maxBins: 300 })).toThrow();
    expect(() => GradientBoosting.fit(data, { tweedieVariancePower: 2 })).toThrow();
    expect(() => GradientBoosting.fit({ ...data, weights: Float64Array.from([1, -1, 1]) })).toThrow(/weights/);
  });

  it('refuses to score a row shorter than the model', () => {
    expect(() => GradientBoosting.fit(data, { nEstimators: 2 }).predict([1])).toThrow(/needs 2/);
  });
});
