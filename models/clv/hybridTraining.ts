import { fitBgnbd } from './bgnbd.ts';
import { isoDay, parseIsoDay } from '../time/calendar.ts';
import type { CustomerFeatures } from '../customer/customerFeatures.ts';
import { buildPanel } from './customerPanel.ts';
import { fitGammaGamma } from './gammaGamma.ts';
import {
  type BtydInputs,
  covariateVocabulary,
  emptyBtydOutputs,
  HYBRID_FEATURE_NAMES,
  type HybridCovariates,
  hybridFeatureCount,
  hybridRow,
  NO_COVARIATES,
} from './hybridFeatures.ts';
import { type HybridArtifact, type HybridEnsemble, hybridArtifact, HybridModel } from './hybridModel.ts';
import { fitLinear } from '../numeric/linearModels.ts';
import type { OrderEvent } from '../customer/orderEvent.ts';
import type { FeatureMatrix } from '../trees/featureMatrix.ts';
import { BinMapper } from '../trees/binning.ts';
import { GradientBoosting, type GradientBoostingOptions } from '../trees/gradientBoosting.ts';

/**
 * Trains the hybrid churn/CLV model on labelled customers (features as of one day, targets over
 * the horizon after it):
 * 1. BG/NBD and Gamma-Gamma by maximum likelihood on the customers' summaries (no labels);
 * 2. the hybrid matrix (models/clv/hybridFeatures.ts) from the same CustomerFeatures live scoring sees;
 * 3. churn: logistic boosting trained on the customers outside one inner group (a seeded hash of
 *    the id splits them into `innerFolds` groups, independent of any outer fold rule such as
 *    id mod 5) and early-stopped on that group; averaged 50/50 with an L2 logistic regression
 *    on signed-log features fitted on all customers (the trees find interactions, the linear
 *    model the smooth monotone effects that trees learn slowly from few customers);
 * 4. CLV: Tweedie boosting with the BTYD CLV as base margin, early-stopped the same way,
 *    averaged 50/50 with a log-link Tweedie regression on the same signed-log features, then
 *    rescaled so that its total over the training customers equals their actual total
 *    (Tweedie's log link is not its canonical link, so the fits alone drift off the total).
 * With `churnModels` / `clvModels` above 1, more groups are held out in turn and the boosted
 * models averaged in raw score (an inner cross-fit bag).
 *
 * Hyper-parameters are fixed a priori (below); the number of trees is the only thing tuned, by
 * early stopping on the inner validation group. Nothing looks at any outer test fold.
 */
export interface HybridTrainingOptions {
  innerFolds: number;
  /** How many of the inner groups get a churn / CLV model (each held out in turn): at most innerFolds. */
  churnModels: number;
  clvModels: number;
  seed: number;
  churn: Partial<GradientBoostingOptions>;
  clv: Partial<GradientBoostingOptions>;
  /** Smallest BTYD CLV used as the CLV base margin (currency units). */
  offsetFloor: number;
  /** Weight of the logistic regression in the churn probability (0: trees alone). */
  linearWeight: number;
  /** L2 penalty of the logistic regression (standardised weights). */
  linearL2: number;
  /** Weight of the Tweedie regression in the CLV (0: trees alone). */
  clvLinearWeight: number;
}

const COMMON: Partial<GradientBoostingOptions> = {
  nEstimators: 1000,
  learningRate: 0.1,
  maxLeaves: 15,
  minChildSamples: 50,
  earlyStoppingRounds: 25,
  maxBins: 255,
};

export const DEFAULT_HYBRID_TRAINING: HybridTrainingOptions = {
  innerFolds: 4,
  churnModels: 1,
  clvModels: 1,
  seed: 42,
  churn: { ...COMMON, maxLeaves: 7, loss: 'logistic' },
  clv: { ...COMMON, loss: 'tweedie', tweedieVariancePower: 1.5, balanceTotal: false },
  offsetFloor: 0.01,
  linearWeight: 0.5,
  linearL2: 1,
  clvLinearWeight: 0.5,
};

/** Labelled customers: features as of the training day and the horizon's targets. */
export interface LabelledCustomers {
  customerIds: readonly string[];
  features: readonly CustomerFeatures[];
  /** 1 = no purchase within the horizon. */
  churn: ArrayLike<number>;
  /** Spend within the horizon. */
  spend: ArrayLike<number>;
}

export interface HybridFitMeta {
  horizonDays: number;
  calibrationEnd: string;
  events: number;
}

export interface HybridFitTimings {
  /** BG/NBD and Gamma-Gamma, and the feature matrix built with them. */
  btydSeconds: number;
  churnSeconds: number;
  clvSeconds: number;
}

export function fitHybrid(
  data: LabelledCustomers,
  meta: HybridFitMeta,
  options: Partial<HybridTrainingOptions> = {},
  timings?: HybridFitTimings,
): HybridArtifact {
  const o = { ...DEFAULT_HYBRID_TRAINING, ...options };
  const n = data.features.length;
  if (n === 0) throw new RangeError('no customers to train on');
  if (data.churn.length !== n || data.spend.length !== n || data.customerIds.length !== n) {
    throw new RangeError('customerIds, features, churn and spend must have the same length');
  }
  let started = performance.now();
  const { btyd, covariates, matrix, groups } = hybridTrainingInputs(data, meta.horizonDays, o);
  const tick = () => {
    const now = performance.now();
    const seconds = (now - started) / 1000;
    started = now;
    return seconds;
  };
  const btydSeconds = tick();
  const churn = fitChurnModel(matrix, data.churn, groups, o);
  const churnSeconds = tick();
  const clvFit = fitClvEnsemble(matrix, data.spend, groups, o);
  const clvLinear = o.clvLinearWeight > 0 ? fitLinear(matrix, data.spend, { family: 'tweedie', power: o.clv.tweedieVariancePower ?? 1.5, l2: o.linearL2 }) : null;
  const clvSeconds = tick();
  if (timings) Object.assign(timings, { btydSeconds, churnSeconds, clvSeconds });

  const fields = {
    horizonDays: meta.horizonDays,
    calibrationEnd: meta.calibrationEnd,
    trainedOn: { customers: n, events: meta.events },
    btyd: btyd.artifact,
    covariates,
    churn: churn.ensemble,
    clv: {
      ...clvFit.ensemble,
      linear: clvLinear,
      linearWeight: clvLinear ? o.clvLinearWeight : 0,
      offsetFloor: o.offsetFloor,
      scale: 1,
      tweedieVariancePower: o.clv.tweedieVariancePower ?? 1.5,
    },
    training: {
      innerFolds: o.innerFolds,
      churnModels: o.churnModels,
      clvModels: o.clvModels,
      seed: o.seed,
      linearL2: o.linearL2,
      churn: { ...o.churn, bestIterations: churn.bestIterations },
      clv: { ...o.clv, bestIterations: clvFit.bestIterations },
      clvScale: 'training customers: actual total / model total',
    },
  };
  // The total rescaling: the unscaled model's CLV summed over the training customers.
  const unscaled = HybridModel.fromArtifact(hybridArtifact(fields));
  let predicted = 0;
  let actual = 0;
  for (let i = 0; i < n; i++) {
    predicted += unscaled.score(data.features[i]).clv;
    actual += data.spend[i];
  }
  const scale = predicted > 0 && actual > 0 ? actual / predicted : 1;
  return hybridArtifact({ ...fields, clv: { ...fields.clv, scale } });
}

/** What the learners of fitHybrid train on, derived from the labelled customers alone. */
export interface HybridTrainingInputs {
  btyd: { inputs: BtydInputs; artifact: HybridArtifact['btyd'] };
  covariates: HybridCovariates;
  matrix: FeatureMatrix;
  /** Inner cross-fit group of each customer: the early-stopping split. */
  groups: Uint8Array;
}

export function hybridTrainingInputs(
  data: Pick<LabelledCustomers, 'customerIds' | 'features'>,
  horizonDays: number,
  options: Pick<HybridTrainingOptions, 'innerFolds' | 'seed'> = DEFAULT_HYBRID_TRAINING,
): HybridTrainingInputs {
  const btyd = fitBtydInputs(data.features, horizonDays);
  // Static covariates (country) with enough training customers get one-hot columns after the rest.
  const covariates = covariateVocabulary(data.features);
  const matrix = hybridMatrix(data.features, btyd.inputs, covariates);
  return { btyd, covariates, matrix, groups: innerGroups(data.customerIds, options.innerFolds, options.seed) };
}

/** BG/NBD + Gamma-Gamma fitted on the customers' summaries, as artifact fields and scoring inputs. */
export function fitBtydInputs(features: readonly CustomerFeatures[], horizonDays: number): { inputs: BtydInputs; artifact: HybridArtifact['btyd'] } {
  const n = features.length;
  const x = Float64Array.from(features, (f) => Math.max(0, f.x));
  const T = Float64Array.from(features, (f) => Math.max(0, f.T));
  const tx = Float64Array.from(features, (f, i) => Math.min(Math.max(0, f.tx), T[i]));
  const m = Float64Array.from(features, (f) => (f.repeatMeanSpend > 0 ? f.repeatMeanSpend : 0));
  if (n === 0) throw new RangeError('BTYD needs at least one customer');
  const bgnbd = fitBgnbd({ x, tx, T });
  const gammaGamma = fitGammaGamma({ x, m });
  if (!(gammaGamma.params.q > 1)) {
    throw new RangeError(`Gamma-Gamma fit has q = ${gammaGamma.params.q} <= 1: expected spend would be infinite`);
  }
  return {
    inputs: { bgnbd: bgnbd.params, gammaGamma: gammaGamma.params, horizonDays },
    artifact: {
      bgnbd: { ...bgnbd.params, logLikelihood: bgnbd.logLikelihood },
      gammaGamma: { ...gammaGamma.params, logLikelihood: gammaGamma.logLikelihood },
    },
  };
}

/**
 * The hybrid rows of all customers as a column-major matrix, through hybridRow as live scoring
 * builds them (covariate columns last; none without `covariates`).
 */
export function hybridMatrix(features: readonly CustomerFeatures[], btyd: BtydInputs, covariates: HybridCovariates = NO_COVARIATES): FeatureMatrix {
  const n = features.length;
  const columns = hybridFeatureCount(covariates);
  const values = new Float64Array(n * columns);
  const scratch = emptyBtydOutputs();
  for (let i = 0; i < n; i++) hybridRow(features[i], btyd, values, i, n, scratch, true, covariates);
  return { values, nRows: n, nFeatures: columns, layout: 'column-major' };
}

/** Inner cross-fit group of each customer: a seeded FNV-1a hash of the id, so no outer fold rule (id mod 5) leaks in. */
export function innerGroups(customerIds: readonly string[], groups: number, seed: number): Uint8Array {
  if (!Number.isInteger(groups) || groups < 2 || groups > 255) throw new RangeError(`innerFolds must be an integer in 2..255, got ${groups}`);
  return Uint8Array.from(customerIds, (id) => {
    let hash = (0x811c9dc5 ^ seed) >>> 0;
    const key = `inner:${id}`;
    for (let i = 0; i < key.length; i++) hash = Math.imul((hash ^ key.charCodeAt(i)) >>> 0, 0x01000193) >>> 0;
    hash = (hash ^ (hash >>> 15)) >>> 0;
    hash = Math.imul(hash, 0x2c1b3c6d) >>> 0;
    hash = (hash ^ (hash >>> 12)) >>> 0;
    return hash % groups;
  });
}

/** Rows of a column-major matrix (and a target/weight vector) in and out of one group. */
function splitRows(matrix: FeatureMatrix, groups: Uint8Array, group: number): { train: Uint32Array; held: Uint32Array } {
  const train: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < matrix.nRows; i++) (groups[i] === group ? held : train).push(i);
  return { train: Uint32Array.from(train), held: Uint32Array.from(held) };
}

function subMatrix(matrix: FeatureMatrix, rows: Uint32Array): FeatureMatrix {
  const n = matrix.nRows;
  const m = rows.length;
  const values = new Float64Array(m * matrix.nFeatures);
  for (let f = 0; f < matrix.nFeatures; f++) {
    const from = f * n;
    const to = f * m;
    for (let i = 0; i < m; i++) values[to + i] = matrix.values[from + rows[i]];
  }
  return { values, nRows: m, nFeatures: matrix.nFeatures, layout: 'column-major' };
}

const pick = (values: ArrayLike<number>, rows: Uint32Array, map: (v: number, row: number) => number = (v) => v) =>
  Float64Array.from(rows, (row) => map(values[row], row));

/** Averages models in raw score: all trees, leaf values weighted 1 / models by the scorer. */
function ensembleOf(models: GradientBoosting[]): HybridEnsemble {
  const trees = models.flatMap((model) => model.toJSON().trees);
  const initScore = models.reduce((sum, model) => sum + model.initScore, 0) / models.length;
  // A model stopped before its first tree contributes none; the ensemble still needs one tree.
  if (trees.length === 0) trees.push({ feature: [], threshold: [], missingLeft: [], left: [], right: [], gain: [], leafValue: [0] });
  return { models: models.length, initScore, trees };
}

/** One binning of the whole table for all inner models (fitting bins is a fifth of a small fit). */
function sharedBins(matrix: FeatureMatrix, options: Partial<GradientBoostingOptions>, seed: number): BinMapper {
  return BinMapper.fit(matrix, { maxBins: options.maxBins ?? 255, sampleSize: options.binSampleSize ?? 200_000, seed });
}

function groupCount(groups: Uint8Array): number {
  let max = 0;
  for (const g of groups) if (g > max) max = g;
  return max + 1;
}

/** The boosted half of the churn model: one logistic model per inner group, averaged. */
/** The churn model (what `bench train` times): the boosted ensemble and the logistic regression. */
export function fitChurnModel(
  matrix: FeatureMatrix,
  churn: ArrayLike<number>,
  groups: Uint8Array,
  options: HybridTrainingOptions = DEFAULT_HYBRID_TRAINING,
): { ensemble: HybridArtifact['churn']; bestIterations: number[] } {
  const trees = fitChurnEnsemble(matrix, churn, groups, options);
  const linear = options.linearWeight > 0 ? fitLinear(matrix, churn, { family: 'logistic', l2: options.linearL2 }) : null;
  return { ensemble: { ...trees.ensemble, linear, linearWeight: linear ? options.linearWeight : 0 }, bestIterations: trees.bestIterations };
}

function fitChurnEnsemble(
  matrix: FeatureMatrix,
  churn: ArrayLike<number>,
  groups: Uint8Array,
  options: HybridTrainingOptions = DEFAULT_HYBRID_TRAINING,
): { ensemble: HybridEnsemble; bestIterations: number[] } {
  const models: GradientBoosting[] = [];
  const bins = sharedBins(matrix, options.churn, options.seed);
  for (let g = 0; g < Math.min(groupCount(groups), options.churnModels); g++) {
    const { train, held } = splitRows(matrix, groups, g);
    if (train.length === 0) continue;
    const validation = held.length > 0 ? { x: subMatrix(matrix, held), y: pick(churn, held) } : undefined;
    models.push(
      GradientBoosting.fit({ x: subMatrix(matrix, train), y: pick(churn, train), validation, bins }, { ...options.churn, loss: 'logistic', seed: options.seed + g }),
    );
  }
  return { ensemble: ensembleOf(models), bestIterations: models.map((model) => model.bestIteration) };
}

/**
 * The CLV ensemble: Tweedie boosting of spend with log(max(BTYD CLV, floor)) as a fixed offset.
 * With a log link, fitting y with offset log b is fitting y / b with weight b^(2 − p): the
 * Tweedie deviance factors exactly, so the learner needs no offset support.
 */
function fitClvEnsemble(
  matrix: FeatureMatrix,
  spend: ArrayLike<number>,
  groups: Uint8Array,
  options: HybridTrainingOptions = DEFAULT_HYBRID_TRAINING,
): { ensemble: HybridEnsemble; bestIterations: number[] } {
  const power = options.clv.tweedieVariancePower ?? 1.5;
  const clvColumn = HYBRID_FEATURE_NAMES.indexOf('btydClv') * matrix.nRows;
  const base = (row: number) => Math.max(matrix.values[clvColumn + row], options.offsetFloor);
  const target = (y: number, row: number) => y / base(row);
  const weight = (_: number, row: number) => base(row) ** (2 - power);
  const models: GradientBoosting[] = [];
  const bins = sharedBins(matrix, options.clv, options.seed);
  for (let g = 0; g < Math.min(groupCount(groups), options.clvModels); g++) {
    const { train, held } = splitRows(matrix, groups, g);
    if (train.length === 0) continue;
    const validation =
      held.length > 0 ? { x: subMatrix(matrix, held), y: pick(spend, held, target), weights: pick(spend, held, weight) } : undefined;
    models.push(
      GradientBoosting.fit(
        { x: subMatrix(matrix, train), y: pick(spend, train, target), weights: pick(spend, train, weight), validation, bins },
        { ...options.clv, loss: 'tweedie', tweedieVariancePower: power, balanceTotal: false, seed: options.seed + 100 + g },
      ),
    );
  }
  return { ensemble: ensembleOf(models), bestIterations: models.map((model) => model.bestIteration) };
}

export interface HybridFromEventsOptions {
  /** Last day of the data used (YYYY-MM-DD): labels end here. */
  calibrationEnd: string;
  horizonDays: number;
  training?: Partial<HybridTrainingOptions>;
}

/**
 * `demand-insights train --model hybrid`: features as of calibrationEnd − horizon, labels over
 * the horizon up to calibrationEnd, every customer with a purchase by the feature day.
 */
export function trainHybridFromEvents(events: readonly OrderEvent[], options: HybridFromEventsOptions): HybridArtifact {
  const labelEnd = parseIsoDay(options.calibrationEnd);
  const featureDay = isoDay(labelEnd - options.horizonDays);
  const panel = buildPanel(events, { calibrationEnd: featureDay, holdoutEnd: options.calibrationEnd });
  if (panel.customerIds.length === 0) {
    throw new RangeError(`no customer has a purchase on or before ${featureDay} (${options.calibrationEnd} minus the ${options.horizonDays}-day horizon)`);
  }
  return fitHybrid(panel, { horizonDays: options.horizonDays, calibrationEnd: featureDay, events: panel.calibrationEvents }, options.training);
}
