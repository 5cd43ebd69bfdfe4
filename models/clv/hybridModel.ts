import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CustomerFeatures } from '../customer/customerFeatures.ts';
import type { CustomerModel, ModelScore } from './customerModel.ts';
import { BgnbdFitSchema, GammaGammaFitSchema } from './btydModel.ts';
import { ForestScorer } from './forestScorer.ts';
import {
  type BtydInputs,
  type BtydOutputs,
  emptyBtydOutputs,
  HYBRID_FEATURE_NAMES,
  type HybridCovariates,
  hybridFeatureCount,
  hybridFeatureNames,
  type HybridFeatureName,
  hybridRow,
} from './hybridFeatures.ts';
import { type LinearModel, LinearModelSchema, signedLog } from '../numeric/linearModels.ts';
import { describeZodError } from '../customer/orderEvent.ts';
import { TreeJSONSchema } from '../trees/flatTree.ts';

/**
 * The hybrid churn/CLV model artifact: BG/NBD + Gamma-Gamma fitted inside, and for each target a
 * boosted tree ensemble and a linear model over the hybrid features (models/clv/hybridFeatures.ts:
 * the state record's RFM-style features plus the BTYD outputs for the horizon).
 *
 * - churn: P(no purchase within the horizon) = (1 − w)·sigmoid(initScore + Σ trees) +
 *   w·sigmoid(logistic regression), w = linearWeight.
 * - clv: expected spend within the horizon = scale · [(1 − w)·max(BTYD CLV, offsetFloor) ·
 *   exp(initScore + Σ trees) + w·exp(Tweedie regression)], `scale` making the training
 *   customers' predicted total equal their actual total.
 *
 * `covariates` is the static-covariate vocabulary learned at training time (hybridFeatures.ts):
 * its one-hot columns follow the HYBRID_FEATURE_NAMES columns, and `features` names them all.
 * Artifacts written before covariates existed have no such field and load as having none.
 *
 * An ensemble of several boosted models (an inner cross-fit bag) is their average in raw score:
 * its trees carry leafScale = 1 / models. Scores are as of the features' as-of time and cover the
 * `horizonDays` after it. `version` is derived from everything that affects a score.
 */
const positive = z.number().positive();

const EnsembleSchema = z.object({
  /** Models averaged; leaf values are multiplied by 1 / models when scoring. */
  models: z.number().int().min(1),
  initScore: z.number(),
  trees: z.array(TreeJSONSchema).min(1),
});

export const HybridArtifactSchema = z
  .object({
    kind: z.literal('hybrid'),
    formatVersion: z.literal(1),
    version: z.string().regex(/^hybrid-[0-9a-f]{12}$/, 'must be "hybrid-" and 12 hex digits'),
    horizonDays: z.number().int().positive(),
    /** As-of day of the training features (YYYY-MM-DD); labels cover the horizon after it. */
    calibrationEnd: z.iso.date(),
    trainedOn: z.object({ customers: z.number().int().nonnegative(), events: z.number().int().nonnegative() }),
    features: z.array(z.string()),
    covariates: z
      .object({
        /** Countries with a one-hot column `country=<value>`, in column order. */
        country: z.array(z.string().min(1).max(64)).max(64),
      })
      .default(() => ({ country: [] })),
    btyd: z.object({
      bgnbd: BgnbdFitSchema,
      gammaGamma: GammaGammaFitSchema,
    }),
    churn: EnsembleSchema.extend({
      /** A logistic regression averaged with the trees: p = (1 − w)·p_trees + w·p_linear. */
      linear: LinearModelSchema.nullable(),
      linearWeight: z.number().min(0).max(1),
    }),
    clv: EnsembleSchema.extend({
      /** A log-link Tweedie regression averaged with the trees: (1 − w)·trees + w·linear, before `scale`. */
      linear: LinearModelSchema.nullable(),
      linearWeight: z.number().min(0).max(1),
      offsetFloor: positive,
      scale: positive,
      tweedieVariancePower: z.number().gt(1).lt(2),
    }),
    /** How the ensembles were trained (informational: does not affect scores). */
    training: z.record(z.string(), z.unknown()),
  })
  .superRefine((artifact, context) => {
    const names = hybridFeatureNames(artifact.covariates);
    if (new Set(artifact.covariates.country).size !== artifact.covariates.country.length) {
      context.addIssue({ code: 'custom', path: ['covariates', 'country'], message: 'must not repeat a country' });
    }
    if (artifact.features.length !== names.length || artifact.features.some((name, i) => name !== names[i])) {
      context.addIssue({ code: 'custom', path: ['features'], message: `must be the hybrid features of this build, then the covariate columns (${names.join(', ')})` });
    }
    for (const part of ['churn', 'clv'] as const) {
      const model = artifact[part].linear;
      if (model && [model.mean, model.std, model.weights].some((a) => a.length !== names.length)) {
        context.addIssue({ code: 'custom', path: [part, 'linear'], message: `needs ${names.length} means, stds and weights` });
      }
      if (!model && artifact[part].linearWeight !== 0) {
        context.addIssue({ code: 'custom', path: [part, 'linearWeight'], message: 'must be 0 without a linear model' });
      }
    }
    const expected = hybridVersion(artifact);
    if (artifact.version !== expected) {
      context.addIssue({ code: 'custom', path: ['version'], message: `does not match the model (expected ${expected})` });
    }
  });

export type HybridArtifact = z.infer<typeof HybridArtifactSchema>;
export type HybridEnsemble = z.infer<typeof EnsembleSchema>;

/** 'hybrid-' + the first 12 hex digits of sha256 over everything that affects a score. */
function hybridVersion(artifact: Pick<HybridArtifact, 'horizonDays' | 'features' | 'btyd' | 'churn' | 'clv'>): string {
  const key = JSON.stringify([artifact.horizonDays, artifact.features, artifact.btyd, artifact.churn, artifact.clv]);
  return `hybrid-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * Assembles and validates an artifact; throws with the failing fields named. Without
 * `covariates`, the model has none (the covariate-free layout).
 */
export function hybridArtifact(
  fields: Omit<HybridArtifact, 'kind' | 'formatVersion' | 'version' | 'features' | 'covariates'> & { covariates?: HybridCovariates },
): HybridArtifact {
  const covariates = { country: [...(fields.covariates?.country ?? [])] };
  const features = hybridFeatureNames(covariates);
  const candidate = { kind: 'hybrid' as const, formatVersion: 1 as const, features, version: hybridVersion({ ...fields, features }), ...fields, covariates };
  return parseArtifact(candidate);
}

function parseArtifact(json: unknown): HybridArtifact {
  const parsed = HybridArtifactSchema.safeParse(json);
  if (!parsed.success) throw new Error(`invalid hybrid model artifact: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

const feature = (name: HybridFeatureName) => HYBRID_FEATURE_NAMES.indexOf(name);
const BTYD_PURCHASE_FEATURES = [feature('btydExpectedPurchases'), feature('btydClv')];

/**
 * Scores the hybrid model. `score` builds the customer's hybrid row once and runs both
 * ensembles; `churnProbability` (the sweep's due-time search calls it several times per
 * customer) skips the expected-purchases series when the churn ensemble never reads it.
 *
 * ModelScore fields: churnProbability and clv are the hybrid's; pAlive and expectedPurchases are
 * BG/NBD's (P(alive) and E[purchases within the horizon]); expectedSpend is Gamma-Gamma's
 * expected spend per purchase, as in BtydModel.
 */
export class HybridModel implements CustomerModel {
  readonly version: string;
  readonly horizonDays: number;
  private readonly artifact: HybridArtifact;
  private readonly btyd: BtydInputs;
  /** Column names of the rows this model reads: the hybrid features, then the covariate columns. */
  readonly featureNames: readonly string[];
  private readonly covariates: HybridCovariates;
  private readonly churnForest: ForestScorer;
  private readonly clvForest: ForestScorer;
  private readonly churnInit: number;
  private readonly churnLinear: LinearTerm | null;
  private readonly linearWeight: number;
  private readonly clvInit: number;
  private readonly clvScale: number;
  private readonly clvLinear: LinearTerm | null;
  private readonly clvLinearWeight: number;
  /** Features either linear term reads (their signed logs are computed once per score). */
  private readonly logFeatures: Int32Array;
  private readonly logRow: Float64Array;
  private readonly offsetFloor: number;
  private readonly churnNeedsPurchases: boolean;
  private readonly row: Float64Array;
  private readonly outputs: BtydOutputs = emptyBtydOutputs();

  private constructor(artifact: HybridArtifact) {
    this.artifact = artifact;
    this.version = artifact.version;
    this.horizonDays = artifact.horizonDays;
    this.covariates = { country: [...artifact.covariates.country] };
    this.featureNames = Object.freeze(hybridFeatureNames(this.covariates));
    const columns = hybridFeatureCount(this.covariates);
    this.row = new Float64Array(columns);
    this.logRow = new Float64Array(columns);
    const { bgnbd, gammaGamma } = artifact.btyd;
    this.btyd = {
      bgnbd: { r: bgnbd.r, alpha: bgnbd.alpha, a: bgnbd.a, b: bgnbd.b },
      gammaGamma: { p: gammaGamma.p, q: gammaGamma.q, gamma: gammaGamma.gamma },
      horizonDays: artifact.horizonDays,
    };
    this.churnForest = ensembleScorer(artifact.churn, 'churn', columns);
    this.clvForest = ensembleScorer(artifact.clv, 'clv', columns);
    this.churnInit = artifact.churn.initScore;
    this.churnLinear = artifact.churn.linear ? linearTerm(artifact.churn.linear) : null;
    this.linearWeight = artifact.churn.linear ? artifact.churn.linearWeight : 0;
    this.clvInit = artifact.clv.initScore;
    this.clvScale = artifact.clv.scale;
    this.clvLinear = artifact.clv.linear ? linearTerm(artifact.clv.linear) : null;
    this.clvLinearWeight = artifact.clv.linear ? artifact.clv.linearWeight : 0;
    const logged: number[] = [];
    for (let f = 0; f < columns; f++) {
      if ((this.churnLinear && this.churnLinear.coef[f] !== 0) || (this.clvLinear && this.clvLinear.coef[f] !== 0)) logged.push(f);
    }
    this.logFeatures = Int32Array.from(logged);
    this.offsetFloor = artifact.clv.offsetFloor;
    this.churnNeedsPurchases = BTYD_PURCHASE_FEATURES.some(
      (f) => this.churnForest.usedFeatures[f] === 1 || (this.churnLinear !== null && this.churnLinear.coef[f] !== 0),
    );
  }

  /** Validates an artifact (parsed JSON) and builds its scorer; throws naming the failing fields. */
  static load(json: unknown): HybridModel {
    return new HybridModel(parseArtifact(json));
  }

  /** A scorer for an artifact already validated by this module (training's own intermediate models). */
  static fromArtifact(artifact: HybridArtifact): HybridModel {
    return new HybridModel(artifact);
  }

  toJSON(): HybridArtifact {
    return structuredClone(this.artifact);
  }

  get btydInputs(): BtydInputs {
    return this.btyd;
  }

  churnProbability(features: CustomerFeatures): number {
    hybridRow(features, this.btyd, this.row, 0, 1, this.outputs, this.churnNeedsPurchases, this.covariates);
    this.logTransform();
    return this.churnOfRow();
  }

  /** Signed logs of the features the linear terms read, into logRow. */
  private logTransform(): void {
    const { logFeatures, logRow, row } = this;
    for (let j = 0; j < logFeatures.length; j++) logRow[logFeatures[j]] = signedLog(row[logFeatures[j]]);
  }

  private churnOfRow(): number {
    const trees = sigmoid(this.churnInit + this.churnForest.sum(this.row));
    if (this.churnLinear === null) return trees;
    const w = this.linearWeight;
    return (1 - w) * trees + w * sigmoid(linearValue(this.churnLinear, this.logRow));
  }

  score(features: CustomerFeatures): ModelScore {
    const b = hybridRow(features, this.btyd, this.row, 0, 1, this.outputs, true, this.covariates);
    this.logTransform();
    const churnProbability = this.churnOfRow();
    const base = Math.max(b.expectedPurchases * b.expectedSpend, this.offsetFloor);
    let clv = base * Math.exp(this.clvInit + this.clvForest.sum(this.row));
    if (this.clvLinear !== null) {
      const w = this.clvLinearWeight;
      clv = (1 - w) * clv + w * Math.exp(Math.min(linearValue(this.clvLinear, this.logRow), 700));
    }
    clv *= this.clvScale;
    return {
      churnProbability,
      clv: clv > 0 ? Math.min(clv, Number.MAX_VALUE) : 0,
      pAlive: b.pAlive,
      expectedPurchases: b.expectedPurchases,
      expectedSpend: b.expectedSpend,
    };
  }

}

/** A linear model folded for scoring: eta = bias + Σ coef[f]·signedLog(x[f]) (standardisation folded in). */
interface LinearTerm {
  bias: number;
  coef: Float64Array;
  features: Int32Array;
}

function linearTerm(model: LinearModel): LinearTerm {
  let bias = model.intercept;
  const coef = new Float64Array(model.weights.length);
  for (let f = 0; f < coef.length; f++) {
    coef[f] = model.weights[f] / model.std[f];
    bias -= coef[f] * model.mean[f];
  }
  return { bias, coef, features: Int32Array.from(Array.from(coef).flatMap((c, f) => (c !== 0 ? [f] : []))) };
}

function linearValue(term: LinearTerm, logRow: Float64Array): number {
  let eta = term.bias;
  const { coef, features } = term;
  for (let j = 0; j < features.length; j++) eta += coef[features[j]] * logRow[features[j]];
  return eta;
}

function ensembleScorer(ensemble: HybridEnsemble, what: string, columns: number): ForestScorer {
  try {
    return new ForestScorer(ensemble.trees, columns, 1 / ensemble.models);
  } catch (error) {
    throw new Error(`invalid hybrid model artifact: ${what}.trees: ${(error as Error).message}`);
  }
}

function sigmoid(raw: number): number {
  const p = 1 / (1 + Math.exp(-raw));
  return p === p ? p : 0.5;
}
