/**
 * Boosting losses: each gives the starting score, per-row gradients and hessians of the loss
 * in the raw score, the map from raw score to prediction, and a mean loss for early stopping.
 * Poisson and Tweedie use a log link, so predictions stay positive and the optimum of the
 * starting score is log(mean target); that keeps totals right on zero-heavy spend targets.
 */
export type LossName = 'logistic' | 'squared' | 'poisson' | 'tweedie';

export interface LossOptions {
  /** Tweedie variance power, strictly between 1 (Poisson) and 2 (Gamma). */
  tweedieVariancePower: number;
  /**
   * Poisson hessians are taken at score + this (as LightGBM's poisson_max_delta_step):
   * a larger hessian shrinks the Newton step of a leaf whose targets are all zero, which
   * would otherwise head for log(0).
   */
  poissonMaxDeltaStep: number;
}

export interface Loss {
  readonly name: LossName;
  /** Log link: a shift of every raw score by s scales every prediction by e^s. */
  readonly logLink: boolean;
  initScore(y: Float64Array, weights: Float64Array | null, rows: Uint32Array): number;
  /** Fills grad[r] and hess[r] (times the weight) for every r in rows. */
  gradients(y: Float64Array, weights: Float64Array | null, score: Float64Array, rows: Uint32Array, grad: Float64Array, hess: Float64Array): void;
  /** Raw score to prediction: probability, mean, or expected count/amount. */
  output(raw: number): number;
  /** Weighted mean loss over rows (lower is better). */
  meanLoss(y: Float64Array, weights: Float64Array | null, score: Float64Array, rows: Uint32Array): number;
  /** Throws when a target is outside the loss's domain. */
  checkTarget(y: number): void;
}

export function createLoss(name: LossName, options: LossOptions): Loss {
  switch (name) {
    case 'logistic':
      return logistic;
    case 'squared':
      return squared;
    case 'poisson':
      return poisson(options.poissonMaxDeltaStep);
    case 'tweedie':
      return tweedie(options.tweedieVariancePower);
    default:
      throw new RangeError(`unknown loss "${String(name)}"`);
  }
}

function weightedMean(y: Float64Array, weights: Float64Array | null, rows: Uint32Array): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < rows.length; i++) {
    const w = weights ? weights[rows[i]] : 1;
    sum += w * y[rows[i]];
    total += w;
  }
  return total > 0 ? sum / total : 0;
}

/** Weighted mean of a per-row loss. */
function meanOf(pointLoss: (y: number, f: number) => number) {
  return (y: Float64Array, weights: Float64Array | null, score: Float64Array, rows: Uint32Array): number => {
    let sum = 0;
    let total = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const w = weights ? weights[r] : 1;
      sum += w * pointLoss(y[r], score[r]);
      total += w;
    }
    return total > 0 ? sum / total : 0;
  };
}

const EPS = 1e-15;

function sigmoid(f: number): number {
  return 1 / (1 + Math.exp(-f));
}

const logistic: Loss = {
  name: 'logistic',
  logLink: false,
  initScore(y, weights, rows) {
    const p = Math.min(1 - EPS, Math.max(EPS, weightedMean(y, weights, rows)));
    return Math.log(p / (1 - p));
  },
  gradients(y, weights, score, rows, grad, hess) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const w = weights ? weights[r] : 1;
      const p = sigmoid(score[r]);
      grad[r] = w * (p - y[r]);
      // A floor keeps Newton steps finite where the model is already certain.
      hess[r] = w * Math.max(p * (1 - p), 1e-16);
    }
  },
  output: sigmoid,
  // log(1 + e^f) - y f, written to stay finite for large |f|.
  meanLoss: meanOf((y, f) => Math.max(f, 0) + Math.log1p(Math.exp(-Math.abs(f))) - y * f),
  checkTarget(y) {
    if (!(y >= 0 && y <= 1)) throw new RangeError(`logistic loss needs targets in [0, 1], got ${y}`);
  },
};

const squared: Loss = {
  name: 'squared',
  logLink: false,
  initScore: weightedMean,
  gradients(y, weights, score, rows, grad, hess) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const w = weights ? weights[r] : 1;
      grad[r] = w * (score[r] - y[r]);
      hess[r] = w;
    }
  },
  output: (raw) => raw,
  meanLoss: meanOf((y, f) => (f - y) * (f - y)),
  checkTarget(y) {
    if (!Number.isFinite(y)) throw new RangeError(`squared loss needs finite targets, got ${y}`);
  },
};

function logLinkInit(y: Float64Array, weights: Float64Array | null, rows: Uint32Array): number {
  // An all-zero target has no finite optimum; a very small mean keeps the model usable.
  return Math.log(Math.max(weightedMean(y, weights, rows), 1e-10));
}

function checkNonNegative(name: string) {
  return (y: number) => {
    if (!(y >= 0 && Number.isFinite(y))) throw new RangeError(`${name} loss needs finite non-negative targets, got ${y}`);
  };
}

function poisson(maxDeltaStep: number): Loss {
  const hessianFactor = Math.exp(maxDeltaStep);
  return {
    name: 'poisson',
    logLink: true,
    initScore: logLinkInit,
    gradients(y, weights, score, rows, grad, hess) {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        const w = weights ? weights[r] : 1;
        const mu = Math.exp(score[r]);
        grad[r] = w * (mu - y[r]);
        hess[r] = w * mu * hessianFactor;
      }
    },
    output: Math.exp,
    meanLoss: meanOf((y, f) => Math.exp(f) - y * f),
    checkTarget: checkNonNegative('poisson'),
  };
}

function tweedie(power: number): Loss {
  if (!(power > 1 && power < 2)) throw new RangeError(`tweedie variance power must be in (1, 2), got ${power}`);
  const a = 1 - power;
  const b = 2 - power;
  return {
    name: 'tweedie',
    logLink: true,
    initScore: logLinkInit,
    gradients(y, weights, score, rows, grad, hess) {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        const w = weights ? weights[r] : 1;
        const f = score[r];
        const ea = Math.exp(a * f);
        const eb = Math.exp(b * f);
        grad[r] = w * (eb - y[r] * ea);
        hess[r] = w * (b * eb - y[r] * a * ea);
      }
    },
    output: Math.exp,
    // Negative log-likelihood up to terms free of f.
    meanLoss: meanOf((y, f) => Math.exp(b * f) / b - (y * Math.exp(a * f)) / a),
    checkTarget: checkNonNegative('tweedie'),
  };
}
