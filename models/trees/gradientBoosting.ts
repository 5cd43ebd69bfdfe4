import { z } from 'zod';
import { BinMapper, type BinnedMatrix } from './binning.ts';
import { type FeatureMatrix, type TrainingData, assertTrainingData, checkRow } from './featureMatrix.ts';
import { type FeatureImportances, FlatForest, TreeJSONSchema } from './flatTree.ts';
import { type Loss, createLoss } from './losses.ts';
import { TreeRandom } from './treeRandom.ts';
import { type TreeArrays, TreeGrower, binnedLeaf } from './treeGrower.ts';

/**
 * Histogram gradient boosting: each round fits a tree to the loss's gradients and hessians
 * (Newton leaf values −G/(H+λ), shrunk by the learning rate), on a seeded row sample and
 * feature sample. With a validation set (given, or a seeded fraction of the rows) training
 * stops after `earlyStoppingRounds` rounds without improvement and keeps the best round.
 * Validation losses are recorded before the total balancing of log-link losses.
 */
export const GradientBoostingOptionsSchema = z.object({
  loss: z.enum(['logistic', 'squared', 'poisson', 'tweedie']),
  nEstimators: z.number().int().min(1),
  learningRate: z.number().gt(0),
  /** -1: no limit. */
  maxLeaves: z.number().int().refine((v) => v === -1 || v >= 2, 'maxLeaves must be -1 or at least 2'),
  /** -1: no limit; the root has depth 0. */
  maxDepth: z.number().int().min(-1),
  minChildSamples: z.number().int().min(1),
  minChildWeight: z.number().min(0),
  lambda: z.number().min(0),
  minGain: z.number().min(0),
  /** Share of training rows drawn (without replacement) for each round. */
  subsample: z.number().gt(0).max(1),
  /** Share of features drawn for each tree. */
  featureFraction: z.number().gt(0).max(1),
  maxBins: z.number().int().min(2).max(255),
  binSampleSize: z.number().int().min(1),
  /** Share of rows held out for early stopping when no validation set is given. */
  validationFraction: z.number().min(0).lt(1),
  /** Rounds without validation improvement before stopping; 0 never stops early (the best round is still kept). */
  earlyStoppingRounds: z.number().int().min(0),
  tweedieVariancePower: z.number().gt(1).lt(2),
  poissonMaxDeltaStep: z.number().min(0),
  /**
   * Log-link losses only: after training, shift the starting score so predictions sum to the
   * targets over the training rows. Tweedie's log link is not its canonical link, so its
   * Newton steps do not keep the total (zero-heavy spend drifts 5-15% low); Poisson's do,
   * and its shift is tiny.
   */
  balanceTotal: z.boolean(),
  seed: z.number().int(),
  histogramBudgetBytes: z.number().int().min(1),
});

export type GradientBoostingOptions = z.infer<typeof GradientBoostingOptionsSchema>;

const defaultGradientBoostingOptions: GradientBoostingOptions = {
  loss: 'squared',
  nEstimators: 100,
  learningRate: 0.1,
  maxLeaves: 31,
  maxDepth: -1,
  minChildSamples: 20,
  minChildWeight: 1e-3,
  lambda: 0,
  minGain: 0,
  subsample: 1,
  featureFraction: 1,
  maxBins: 255,
  binSampleSize: 200_000,
  validationFraction: 0,
  earlyStoppingRounds: 10,
  tweedieVariancePower: 1.5,
  poissonMaxDeltaStep: 0.7,
  balanceTotal: true,
  seed: 42,
  histogramBudgetBytes: 128 * 1024 * 1024,
};

const GRADIENT_BOOSTING_FORMAT = 'demand-insights/gradient-boosting';
const GRADIENT_BOOSTING_VERSION = 1;

const GradientBoostingJSONSchema = z.object({
  format: z.literal(GRADIENT_BOOSTING_FORMAT),
  version: z.literal(GRADIENT_BOOSTING_VERSION),
  options: GradientBoostingOptionsSchema,
  nFeatures: z.number().int().min(1),
  initScore: z.number(),
  bestIteration: z.number().int().min(0),
  validationLoss: z.array(z.number()),
  trees: z.array(TreeJSONSchema),
});

export type GradientBoostingJSON = z.infer<typeof GradientBoostingJSONSchema>;

export interface BoostingData extends TrainingData {
  /** Held-out rows for early stopping; overrides options.validationFraction. */
  validation?: TrainingData;
  /**
   * Bin bounds to use instead of fitting them on these rows (options.maxBins and binSampleSize
   * then play no part): models trained on subsets of one table can share one binning.
   */
  bins?: BinMapper;
}

export class GradientBoosting {
  private readonly loss: Loss;

  private constructor(
    readonly options: GradientBoostingOptions,
    readonly nFeatures: number,
    readonly initScore: number,
    private readonly forest: FlatForest,
    /** Trees kept: the round with the lowest validation loss, or all rounds. */
    readonly bestIteration: number,
    /** Validation loss after 0, 1, 2, ... trees (empty without validation). */
    readonly validationLoss: readonly number[],
  ) {
    this.loss = createLoss(options.loss, options);
  }

  static fit(data: BoostingData, options: Partial<GradientBoostingOptions> = {}): GradientBoosting {
    const o = GradientBoostingOptionsSchema.parse({ ...defaultGradientBoostingOptions, ...options });
    const run = new BoostingRun(data, o);
    const { trees, bestIteration, validationLoss, totalShift } = run.boost();
    const forest = new FlatForest(trees.slice(0, bestIteration), data.x.nFeatures);
    return new GradientBoosting(o, data.x.nFeatures, run.initScore + totalShift, forest, bestIteration, validationLoss);
  }

  get nTrees(): number {
    return this.forest.nTrees;
  }

  /** Raw score (log-odds, mean, or log of the mean) of one row of raw feature values. */
  predictRaw(row: ArrayLike<number>): number {
    checkRow(row, this.nFeatures);
    return this.initScore + this.forest.sum(row);
  }

  /** Probability (logistic), mean (squared) or expected value (poisson, tweedie). */
  predict(row: ArrayLike<number>): number {
    return this.loss.output(this.predictRaw(row));
  }

  predictMany(matrix: FeatureMatrix): Float64Array {
    const out = this.forest.sumMany(matrix);
    for (let r = 0; r < out.length; r++) out[r] = this.loss.output(this.initScore + out[r]);
    return out;
  }

  featureImportances(): FeatureImportances {
    return this.forest.importances();
  }

  toJSON(): GradientBoostingJSON {
    return {
      format: GRADIENT_BOOSTING_FORMAT,
      version: GRADIENT_BOOSTING_VERSION,
      options: { ...this.options },
      nFeatures: this.nFeatures,
      initScore: this.initScore,
      bestIteration: this.bestIteration,
      validationLoss: [...this.validationLoss],
      trees: this.forest.toJSON(),
    };
  }

  static load(json: unknown): GradientBoosting {
    const parsed = GradientBoostingJSONSchema.parse(json);
    const forest = FlatForest.fromJSON(parsed.trees, parsed.nFeatures);
    return new GradientBoosting(parsed.options, parsed.nFeatures, parsed.initScore, forest, parsed.bestIteration, parsed.validationLoss);
  }
}

/** Scores of a set of binned rows under the ensemble so far. */
interface ScoredRows {
  binned: BinnedMatrix;
  y: Float64Array;
  weights: Float64Array | null;
  rows: Uint32Array;
  score: Float64Array;
}

/** The state of one training run; lives only inside GradientBoosting.fit. */
class BoostingRun {
  readonly initScore: number;
  private readonly loss: Loss;
  private readonly random: TreeRandom;
  private readonly bins: BinMapper;
  private readonly train: ScoredRows;
  private readonly validation: ScoredRows | null;
  private readonly grower: TreeGrower;

  constructor(
    data: BoostingData,
    private readonly o: GradientBoostingOptions,
  ) {
    assertTrainingData(data);
    if (data.validation) assertTrainingData(data.validation, 'validation data');
    this.loss = createLoss(o.loss, o);
    for (const y of data.y) this.loss.checkTarget(y);
    this.random = new TreeRandom(o.seed);
    if (data.bins && data.bins.nFeatures !== data.x.nFeatures) {
      throw new RangeError(`bins are for ${data.bins.nFeatures} features, the data has ${data.x.nFeatures}`);
    }
    this.bins = data.bins ?? BinMapper.fit(data.x, { maxBins: o.maxBins, sampleSize: o.binSampleSize, seed: o.seed });
    const binned = this.bins.transform(data.x);
    const weights = data.weights ?? null;
    const [trainRows, heldOut] = this.splitRows(data.x.nRows, data.validation ? 0 : o.validationFraction);
    if (trainRows.length === 0) throw new RangeError('no training rows');
    this.initScore = this.loss.initScore(data.y, weights, trainRows);
    const score = new Float64Array(data.x.nRows).fill(this.initScore);
    this.train = { binned, y: data.y, weights, rows: trainRows, score };
    this.validation = data.validation
      ? this.scored(data.validation)
      : heldOut.length > 0
        ? { binned, y: data.y, weights, rows: heldOut, score }
        : null;
    this.grower = new TreeGrower(binned, this.bins, {
      ...o,
      maxLeaves: o.maxLeaves === -1 ? Infinity : o.maxLeaves,
      maxDepth: o.maxDepth === -1 ? Infinity : o.maxDepth,
      featuresPerSplit: 0,
    });
  }

  boost(): { trees: TreeArrays[]; bestIteration: number; validationLoss: number[]; totalShift: number } {
    const { o, train } = this;
    const n = train.binned.nRows;
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    const inBag = new Uint8Array(n);
    const trees: TreeArrays[] = [];
    const validationLoss: number[] = [];
    const balance = o.balanceTotal && this.loss.logLink;
    const totals = balance ? [this.predictedTotal()] : [];
    let best = 0;
    if (this.validation) validationLoss.push(this.validationMeanLoss());
    for (let round = 1; round <= o.nEstimators; round++) {
      const rows = this.bagRows();
      this.loss.gradients(train.y, train.weights, train.score, rows, grad, hess);
      const grown = this.grower.grow(grad, hess, rows, this.treeFeatures(), this.random);
      const tree = grown.tree;
      for (let l = 0; l < tree.leafValue.length; l++) tree.leafValue[l] *= o.learningRate;
      trees.push(tree);
      this.updateTrainScores(tree, grown.rows, grown.leafStart, grown.leafEnd, inBag);
      if (balance) totals.push(this.predictedTotal());
      if (!this.validation) continue;
      if (this.validation.binned !== train.binned) this.addTree(this.validation, tree);
      validationLoss.push(this.validationMeanLoss());
      if (validationLoss[round] < validationLoss[best]) best = round;
      else if (o.earlyStoppingRounds > 0 && round - best >= o.earlyStoppingRounds) break;
    }
    const bestIteration = this.validation ? best : trees.length;
    const totalShift = balance ? Math.log(this.targetTotal() / totals[bestIteration]) || 0 : 0;
    return { trees, bestIteration, validationLoss, totalShift };
  }

  /** Weighted sum of predictions over the training rows. */
  private predictedTotal(): number {
    const { rows, weights, score } = this.train;
    let total = 0;
    for (const r of rows) total += (weights ? weights[r] : 1) * this.loss.output(score[r]);
    return total;
  }

  private targetTotal(): number {
    const { rows, weights, y } = this.train;
    let total = 0;
    for (const r of rows) total += (weights ? weights[r] : 1) * y[r];
    return total;
  }

  private validationMeanLoss(): number {
    const v = this.validation!;
    return this.loss.meanLoss(v.y, v.weights, v.score, v.rows);
  }

  /** Training rows and held-out rows, both ascending. */
  private splitRows(n: number, fraction: number): [Uint32Array, Uint32Array] {
    const all = Uint32Array.from({ length: n }, (_, i) => i);
    const m = Math.floor(n * fraction);
    if (m === 0) return [all, new Uint32Array(0)];
    const heldOut = this.random.sampleSorted(n, m);
    const mark = new Uint8Array(n);
    for (const r of heldOut) mark[r] = 1;
    return [all.filter((r) => mark[r] === 0), heldOut];
  }

  private scored(data: TrainingData): ScoredRows {
    for (const y of data.y) this.loss.checkTarget(y);
    const n = data.x.nRows;
    return {
      binned: this.bins.transform(data.x),
      y: data.y,
      weights: data.weights ?? null,
      rows: Uint32Array.from({ length: n }, (_, i) => i),
      score: new Float64Array(n).fill(this.initScore),
    };
  }

  /** This round's rows, ascending; a fresh array because the grower partitions it. */
  private bagRows(): Uint32Array {
    const all = this.train.rows;
    if (this.o.subsample >= 1) return all.slice();
    const k = Math.max(1, Math.round(all.length * this.o.subsample));
    const picks = this.random.sampleSorted(all.length, k);
    for (let i = 0; i < k; i++) picks[i] = all[picks[i]];
    return picks;
  }

  private treeFeatures(): Int32Array {
    const nf = this.bins.nFeatures;
    const k = Math.max(1, Math.round(nf * this.o.featureFraction));
    return k >= nf ? Int32Array.from({ length: nf }, (_, f) => f) : Int32Array.from(this.random.sampleSorted(nf, k));
  }

  /** In-bag rows through the leaf they were grown into; the rest of the rows by walking the tree. */
  private updateTrainScores(tree: TreeArrays, rows: Uint32Array, leafStart: Uint32Array, leafEnd: Uint32Array, inBag: Uint8Array): void {
    const score = this.train.score;
    for (let l = 0; l < tree.leafValue.length; l++) {
      const v = tree.leafValue[l];
      for (let i = leafStart[l]; i < leafEnd[l]; i++) score[rows[i]] += v;
    }
    if (rows.length === score.length) return;
    for (const r of rows) inBag[r] = 1;
    for (let r = 0; r < score.length; r++) {
      if (inBag[r] === 0) score[r] += tree.leafValue[binnedLeaf(tree, this.train.binned, this.bins.nBins, r)];
      inBag[r] = 0;
    }
  }

  private addTree(target: ScoredRows, tree: TreeArrays): void {
    for (const r of target.rows) target.score[r] += tree.leafValue[binnedLeaf(tree, target.binned, this.bins.nBins, r)];
  }
}
