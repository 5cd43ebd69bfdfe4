import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildPanel } from '../models/clv/customerPanel.ts';
import { DEFAULT_HYBRID_TRAINING, fitBtydInputs, fitChurnModel, hybridMatrix, innerGroups } from '../models/clv/hybridTraining.ts';
import { type FeatureMatrix, matrixStrides } from '../models/trees/featureMatrix.ts';
import { readDataset } from '../producers/datasets/index.ts';
import { GradientBoosting } from '../models/trees/gradientBoosting.ts';
import { RandomForest } from '../models/trees/randomForest.ts';
import { syntheticRows } from './syntheticRows.ts';

/**
 * `demand-insights bench train`: how fast the tree learner fits.
 * - millionRowsFitSeconds: 100 boosting rounds (logistic, 31 leaves) on 1,000,000 synthetic
 *   rows × 12 features, binning included, one core.
 * - cdnowFoldFitSeconds: the hybrid churn model's fit on one CDNOW training fold (below).
 * - syntheticFoldFitSeconds: the same learner on 18,856 × 12 rows, the size of one CDNOW
 *   training fold (100 rounds, no early stopping).
 * - mlRandomForest vs oursOnSameRowsFitSeconds: ml-random-forest's RandomForestRegression and
 *   our forest mode, 10 trees each, the same rows and settings (all features per tree,
 *   bootstrap, unlimited depth), timed in the same run; their held-out MSEs show both learned.
 */
const MILLION = { rows: 1_000_000, features: 12, rounds: 100 };
const FOLD_ROWS = 18_856;
const FOREST = { rows: 5_000, testRows: 5_000, trees: 10 };

export interface TrainBenchResult {
  /** Fit of the churn model on one CDNOW training fold; absent when the CDNOW file is not there. */
  cdnowFoldFitSeconds?: number;
  syntheticFoldFitSeconds: number;
  millionRowsFitSeconds: number;
  mlRandomForest: { rows: number; fitSeconds: number | null; testMse: number | null; error?: string };
  oursOnSameRowsFitSeconds: number;
  oursOnSameRowsTestMse: number;
}

export async function run(options: Record<string, unknown>): Promise<void> {
  const result = await measure((line) => {
    if (!options.json) process.stderr.write(`${line}\n`);
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const rows: [string, string][] = [
    ['CDNOW fold fit (churn model)', result.cdnowFoldFitSeconds === undefined ? `not measured (${CDNOW_MASTER} not found)` : seconds(result.cdnowFoldFitSeconds)],
    [`synthetic fold fit (${FOLD_ROWS} × 12, 100 rounds)`, seconds(result.syntheticFoldFitSeconds)],
    [`${MILLION.rows.toLocaleString('en')} × ${MILLION.features}, ${MILLION.rounds} rounds`, seconds(result.millionRowsFitSeconds)],
    [`ml-random-forest, ${FOREST.trees} trees, ${FOREST.rows} rows`, result.mlRandomForest.fitSeconds === null ? `failed: ${result.mlRandomForest.error}` : seconds(result.mlRandomForest.fitSeconds)],
    [`ours (forest mode), same rows and trees`, seconds(result.oursOnSameRowsFitSeconds)],
    ['held-out MSE ml-random-forest / ours', `${fixed(result.mlRandomForest.testMse)} / ${fixed(result.oursOnSameRowsTestMse)}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
}

export async function measure(log: (line: string) => void = () => {}): Promise<TrainBenchResult> {
  log('fold-sized fit...');
  const syntheticFoldFitSeconds = foldFitSeconds();
  log('CDNOW fold fit...');
  const cdnow = await cdnowFoldFitSeconds();
  log('forest comparison...');
  const forest = await forestComparison();
  log('million-row fit...');
  const million = syntheticRows({ rows: MILLION.rows, features: MILLION.features, seed: 42, target: 'logistic' });
  const millionRowsFitSeconds = timed(() =>
    GradientBoosting.fit(million, { loss: 'logistic', nEstimators: MILLION.rounds, earlyStoppingRounds: 0 }),
  );
  return { ...(cdnow === undefined ? {} : { cdnowFoldFitSeconds: cdnow }), syntheticFoldFitSeconds, millionRowsFitSeconds, ...forest };
}

/** The CDNOW master file of the shared data, next to this repository. */
export const CDNOW_MASTER = fileURLToPath(new URL('../../shared/data/cdnow/CDNOW_master.txt', import.meta.url));

/**
 * The churn model's fit on one CDNOW training fold (../shared/protocols/cdnow.md): fold 0's
 * 18,856 training customers (fold = customer_id mod 5), their features built from the state
 * records as of 1997-09-30 and their BTYD inputs prepared outside the clock, then the churn
 * model exactly as fitHybrid trains it (boosted trees early-stopped on an inner split, and the
 * logistic regression). Median of three fits after a warm-up. Undefined without the data file.
 */
export async function cdnowFoldFitSeconds(path = CDNOW_MASTER): Promise<number | undefined> {
  try {
    await access(path);
  } catch {
    return undefined;
  }
  const { events } = await readDataset(path, 'cdnow');
  const panel = buildPanel(events, { calibrationEnd: '1997-09-30', holdoutEnd: '1998-06-30' });
  const rows = panel.customerIds.flatMap((_, i) => (panel.folds[i] === 0 ? [] : [i]));
  const features = rows.map((i) => panel.features[i]);
  const btyd = fitBtydInputs(features, panel.horizonDays);
  const matrix = hybridMatrix(features, btyd.inputs);
  const churn = Float64Array.from(rows, (i) => panel.churn[i]);
  const groups = innerGroups(rows.map((i) => panel.customerIds[i]), DEFAULT_HYBRID_TRAINING.innerFolds, DEFAULT_HYBRID_TRAINING.seed);
  const fit = () => fitChurnModel(matrix, churn, groups, DEFAULT_HYBRID_TRAINING);
  fit();
  const times = [timed(fit), timed(fit), timed(fit)].sort((a, b) => a - b);
  return times[1];
}

/** Median of three fits, after one to warm the JIT: sub-second timings are otherwise compile time. */
function foldFitSeconds(): number {
  const data = syntheticRows({ rows: FOLD_ROWS, features: 12, seed: 7, target: 'logistic' });
  const fit = () => GradientBoosting.fit(data, { loss: 'logistic', nEstimators: 100 });
  fit();
  const times = [timed(fit), timed(fit), timed(fit)].sort((a, b) => a - b);
  return times[1];
}

async function forestComparison(): Promise<Pick<TrainBenchResult, 'mlRandomForest' | 'oursOnSameRowsFitSeconds' | 'oursOnSameRowsTestMse'>> {
  const train = syntheticRows({ rows: FOREST.rows, features: 12, seed: 11, target: 'regression' });
  const test = syntheticRows({ rows: FOREST.testRows, features: 12, seed: 12, target: 'regression' });
  // ml-random-forest has no notion of missing values: both learners get the same imputed rows.
  for (const d of [train, test]) d.x.values.forEach((v, i, a) => (a[i] = v === v ? v : 0));
  const settings = { nEstimators: FOREST.trees, featureFraction: 1, featureSubsampling: 'tree', bootstrap: true, seed: 42 } as const;
  RandomForest.fit(train, settings); // JIT warm-up
  let ours: RandomForest | undefined;
  const oursOnSameRowsFitSeconds = timed(() => (ours = RandomForest.fit(train, settings)));
  const oursOnSameRowsTestMse = mse(ours!.predictMany(test.x), test.y);
  return { mlRandomForest: await mlRandomForest(train, test), oursOnSameRowsFitSeconds, oursOnSameRowsTestMse };
}

interface MlForest {
  train(x: number[][], y: number[]): void;
  predict(x: number[][]): number[];
}

/** ml-random-forest is a dev dependency with no usable type declarations, so it is loaded by name. */
async function mlRandomForest(train: { x: FeatureMatrix; y: Float64Array }, test: { x: FeatureMatrix; y: Float64Array }): Promise<TrainBenchResult['mlRandomForest']> {
  const rows = train.x.nRows;
  try {
    const name = 'ml-random-forest';
    const mod = (await import(name)) as { RandomForestRegression?: new (o: object) => MlForest; default?: { RandomForestRegression: new (o: object) => MlForest } };
    const Regression = mod.RandomForestRegression ?? mod.default!.RandomForestRegression;
    // Its out-of-bag pass crashes on small forests, so it is switched off (ours is off too).
    const forest = new Regression({ nEstimators: FOREST.trees, maxFeatures: 1.0, useSampleBagging: true, seed: 42, noOOB: true });
    const fitSeconds = timed(() => forest.train(toArrays(train.x), Array.from(train.y)));
    const testMse = mse(forest.predict(toArrays(test.x)), test.y);
    return { rows, fitSeconds, testMse };
  } catch (error) {
    return { rows, fitSeconds: null, testMse: null, error: error instanceof Error ? error.message : String(error) };
  }
}

function toArrays(x: FeatureMatrix): number[][] {
  const { rowStride, featureStride } = matrixStrides(x);
  return Array.from({ length: x.nRows }, (_, r) => Array.from({ length: x.nFeatures }, (_, f) => x.values[r * rowStride + f * featureStride]));
}

function timed(work: () => unknown): number {
  const start = performance.now();
  work();
  return round((performance.now() - start) / 1000);
}

function mse(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - y[i]) ** 2;
  return round(s / y.length);
}

const round = (v: number) => Math.round(v * 1000) / 1000;
const seconds = (v: number) => `${v.toFixed(3)} s`;
const fixed = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
