import { z } from 'zod';
import { BinMapper } from './binning.ts';
import { type FeatureMatrix, type TrainingData, assertTrainingData, checkRow } from './featureMatrix.ts';
import { type FeatureImportances, FlatForest, TreeJSONSchema } from './flatTree.ts';
import { TreeRandom } from './treeRandom.ts';
import { type TreeArrays, TreeGrower, binnedLeaf } from './treeGrower.ts';

/**
 * Random forest on the boosting engine: each tree is grown on a bootstrap sample (drawn
 * counts become hessian weights, so a row drawn twice weighs twice) with squared loss from a
 * zero score, so gradients are −y and hessians the counts. Leaf values −G/H are then means of
 * the targets and split gains are sum-of-squares reductions. On 0/1 targets ('classification')
 * that reduction is proportional to the Gini decrease, and leaf means are class-1
 * frequencies, so the forest's average is a probability. No shrinkage: trees are averaged.
 */
const RandomForestOptionsSchema = z.object({
  task: z.enum(['regression', 'classification']),
  nEstimators: z.number().int().min(1),
  /** Share of features searched; null: sqrt(nFeatures) for classification, a third for regression. */
  featureFraction: z.number().gt(0).max(1).nullable(),
  /** Draw the features for each split (Breiman) or once for each tree. */
  featureSubsampling: z.enum(['split', 'tree']),
  /** Draw rows with replacement (bootstrap) or without. */
  bootstrap: z.boolean(),
  /** Rows drawn per tree, as a share of the training rows. */
  sampleFraction: z.number().gt(0).max(1),
  /** -1: no limit. */
  maxLeaves: z.number().int().refine((v) => v === -1 || v >= 2, 'maxLeaves must be -1 or at least 2'),
  /** -1: no limit; the root has depth 0. */
  maxDepth: z.number().int().min(-1),
  minChildSamples: z.number().int().min(1),
  minChildWeight: z.number().min(0),
  minGain: z.number().min(0),
  maxBins: z.number().int().min(2).max(255),
  binSampleSize: z.number().int().min(1),
  /** Compute out-of-bag predictions and their mean squared error (the Brier score for 0/1). */
  oob: z.boolean(),
  seed: z.number().int(),
  histogramBudgetBytes: z.number().int().min(1),
});

export type RandomForestOptions = z.infer<typeof RandomForestOptionsSchema>;

const defaultRandomForestOptions: RandomForestOptions = {
  task: 'regression',
  nEstimators: 100,
  featureFraction: null,
  featureSubsampling: 'split',
  bootstrap: true,
  sampleFraction: 1,
  maxLeaves: -1,
  maxDepth: -1,
  minChildSamples: 1,
  minChildWeight: 0,
  minGain: 0,
  maxBins: 255,
  binSampleSize: 200_000,
  oob: false,
  seed: 42,
  histogramBudgetBytes: 128 * 1024 * 1024,
};

const RANDOM_FOREST_FORMAT = 'demand-insights/random-forest';
const RANDOM_FOREST_VERSION = 1;

const RandomForestJSONSchema = z.object({
  format: z.literal(RANDOM_FOREST_FORMAT),
  version: z.literal(RANDOM_FOREST_VERSION),
  options: RandomForestOptionsSchema,
  nFeatures: z.number().int().min(1),
  oobLoss: z.number().nullable(),
  trees: z.array(TreeJSONSchema).min(1),
});

export type RandomForestJSON = z.infer<typeof RandomForestJSONSchema>;

export class RandomForest {
  private constructor(
    readonly options: RandomForestOptions,
    readonly nFeatures: number,
    private readonly forest: FlatForest,
    /** Out-of-bag mean squared error, when options.oob. */
    readonly oobLoss: number | null,
    /** Out-of-bag prediction per training row (NaN where a row was in every bag), when options.oob. */
    readonly oobPredictions: Float64Array | null = null,
  ) {}

  static fit(data: TrainingData, options: Partial<RandomForestOptions> = {}): RandomForest {
    const o = RandomForestOptionsSchema.parse({ ...defaultRandomForestOptions, ...options });
    assertTrainingData(data);
    for (const y of data.y) checkTarget(o.task, y);
    const random = new TreeRandom(o.seed);
    const bins = BinMapper.fit(data.x, { maxBins: o.maxBins, sampleSize: o.binSampleSize, seed: o.seed });
    const binned = bins.transform(data.x);
    const nf = data.x.nFeatures;
    const k = featureCount(o, nf);
    const grower = new TreeGrower(binned, bins, {
      ...o,
      lambda: 0,
      maxLeaves: o.maxLeaves === -1 ? Infinity : o.maxLeaves,
      maxDepth: o.maxDepth === -1 ? Infinity : o.maxDepth,
      featuresPerSplit: o.featureSubsampling === 'split' ? k : 0,
    });
    const n = data.x.nRows;
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    const oob = o.oob ? { sum: new Float64Array(n), count: new Uint32Array(n) } : null;
    const allFeatures = Int32Array.from({ length: nf }, (_, f) => f);
    const trees: TreeArrays[] = [];
    for (let t = 0; t < o.nEstimators; t++) {
      const counts = drawRows(random, n, Math.max(1, Math.round(n * o.sampleFraction)), o.bootstrap);
      const rows = inBagRows(counts);
      for (const r of rows) {
        const w = counts[r] * (data.weights ? data.weights[r] : 1);
        grad[r] = -w * data.y[r];
        hess[r] = w;
      }
      const features = o.featureSubsampling === 'tree' && k < nf ? Int32Array.from(random.sampleSorted(nf, k)) : allFeatures;
      const { tree } = grower.grow(grad, hess, rows, features, random);
      trees.push(tree);
      if (oob) {
        for (let r = 0; r < n; r++) {
          if (counts[r] > 0) continue;
          oob.sum[r] += tree.leafValue[binnedLeaf(tree, binned, bins.nBins, r)];
          oob.count[r]++;
        }
      }
    }
    const { loss, predictions } = oob ? oobSummary(oob.sum, oob.count, data) : { loss: null, predictions: null };
    return new RandomForest(o, nf, new FlatForest(trees, nf), loss, predictions);
  }

  get nTrees(): number {
    return this.forest.nTrees;
  }

  /** Mean of the trees: the class-1 probability for classification. */
  predict(row: ArrayLike<number>): number {
    checkRow(row, this.nFeatures);
    return this.forest.sum(row) / this.forest.nTrees;
  }

  predictMany(matrix: FeatureMatrix): Float64Array {
    const out = this.forest.sumMany(matrix);
    for (let r = 0; r < out.length; r++) out[r] /= this.forest.nTrees;
    return out;
  }

  featureImportances(): FeatureImportances {
    return this.forest.importances();
  }

  toJSON(): RandomForestJSON {
    return {
      format: RANDOM_FOREST_FORMAT,
      version: RANDOM_FOREST_VERSION,
      options: { ...this.options },
      nFeatures: this.nFeatures,
      oobLoss: this.oobLoss,
      trees: this.forest.toJSON(),
    };
  }

  static load(json: unknown): RandomForest {
    const parsed = RandomForestJSONSchema.parse(json);
    return new RandomForest(parsed.options, parsed.nFeatures, FlatForest.fromJSON(parsed.trees, parsed.nFeatures), parsed.oobLoss);
  }
}

function checkTarget(task: RandomForestOptions['task'], y: number): void {
  if (task === 'classification' ? !(y >= 0 && y <= 1) : !Number.isFinite(y)) {
    throw new RangeError(task === 'classification' ? `classification needs 0/1 targets, got ${y}` : `regression needs finite targets, got ${y}`);
  }
}

function featureCount(o: RandomForestOptions, nFeatures: number): number {
  const fraction = o.featureFraction ?? (o.task === 'classification' ? Math.sqrt(nFeatures) / nFeatures : 1 / 3);
  return Math.min(nFeatures, Math.max(1, Math.round(nFeatures * fraction)));
}

/** How often each row is drawn for one tree. */
function drawRows(random: TreeRandom, n: number, m: number, bootstrap: boolean): Uint32Array {
  if (bootstrap) return random.bootstrapCounts(n, m);
  const counts = new Uint32Array(n);
  for (const r of random.sampleSorted(n, m)) counts[r] = 1;
  return counts;
}

function inBagRows(counts: Uint32Array): Uint32Array {
  let k = 0;
  for (const c of counts) if (c > 0) k++;
  const rows = new Uint32Array(k);
  for (let r = 0, i = 0; r < counts.length; r++) if (counts[r] > 0) rows[i++] = r;
  return rows;
}

function oobSummary(sum: Float64Array, count: Uint32Array, data: TrainingData): { loss: number | null; predictions: Float64Array } {
  const predictions = new Float64Array(sum.length);
  let squared = 0;
  let total = 0;
  for (let r = 0; r < sum.length; r++) {
    predictions[r] = count[r] > 0 ? sum[r] / count[r] : NaN;
    if (count[r] === 0) continue;
    const w = data.weights ? data.weights[r] : 1;
    squared += w * (predictions[r] - data.y[r]) ** 2;
    total += w;
  }
  return { loss: total > 0 ? squared / total : null, predictions };
}
