import { z } from 'zod';
import type { FeatureMatrix } from '../trees/featureMatrix.ts';

/**
 * L2-regularised generalised linear models on signed-log, standardised features, fitted by
 * Newton's method (Fisher scoring): logistic regression for churn and a log-link Tweedie model
 * for spend. Boosted trees need many customers to learn smooth monotone effects (more recent,
 * more frequent: less churn, more spend) and cannot extrapolate past their last split; a linear
 * model on log scales gets those from few customers, so the hybrid model averages the two.
 *
 * Each feature x becomes sign(x)·log(1 + |x|), then (value − mean) / std with the training
 * rows' mean and standard deviation (std 1 for a constant feature, whose weight stays 0).
 * NaN becomes 0 before standardising.
 */
export const LinearModelSchema = z.object({
  family: z.enum(['logistic', 'tweedie']),
  /** Tweedie variance power (ignored for logistic). */
  power: z.number().gt(1).lt(2),
  mean: z.array(z.number()),
  std: z.array(z.number().positive()),
  weights: z.array(z.number()),
  intercept: z.number(),
  l2: z.number().min(0),
});

export type LinearModel = z.infer<typeof LinearModelSchema>;

export interface LinearOptions {
  family: 'logistic' | 'tweedie';
  power: number;
  /** Penalty λ·|w|²/2 on the standardised weights (not the intercept), against the summed loss. */
  l2: number;
  maxIterations: number;
  /** Stop when no coefficient moves more than this in a Newton step. */
  tolerance: number;
}

const DEFAULT_LINEAR_OPTIONS: LinearOptions = { family: 'logistic', power: 1.5, l2: 1, maxIterations: 100, tolerance: 1e-7 };

/** log(1 + k) for small whole k: counts and day numbers, most of a customer's features, skip log1p. */
const SMALL_LOGS = Float64Array.from({ length: 4096 }, (_, k) => Math.log1p(k));

export function signedLog(x: number): number {
  if (x >= 0 && x < 4096 && (x | 0) === x) return SMALL_LOGS[x];
  const v = x >= 0 ? Math.log1p(x) : -Math.log1p(-x);
  return v === v ? v : 0;
}

/** Fits on a column-major matrix: 0/1 targets (logistic) or non-negative amounts (tweedie), optional row weights. */
export function fitLinear(x: FeatureMatrix, y: ArrayLike<number>, options: Partial<LinearOptions> = {}, rowWeights?: ArrayLike<number>): LinearModel {
  const o = { ...DEFAULT_LINEAR_OPTIONS, ...options };
  const n = x.nRows;
  const d = x.nFeatures;
  if ((x.layout ?? 'column-major') !== 'column-major') throw new RangeError('fitLinear needs a column-major matrix');
  if (y.length !== n || n === 0) throw new RangeError('fitLinear needs one target per row and at least one row');
  const rw = (r: number) => (rowWeights ? rowWeights[r] : 1);
  const z = new Float64Array(n * d);
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(1);
  for (let f = 0; f < d; f++) {
    let sum = 0;
    for (let r = 0; r < n; r++) sum += z[f * n + r] = signedLog(x.values[f * n + r]);
    const m = sum / n;
    let ss = 0;
    for (let r = 0; r < n; r++) ss += (z[f * n + r] - m) ** 2;
    const s = Math.sqrt(ss / n);
    mean[f] = m;
    std[f] = s > 1e-12 ? s : 1;
    // A constant feature carries nothing: exact zeros keep its weight at exactly 0.
    for (let r = 0; r < n; r++) z[f * n + r] = s > 1e-12 ? (z[f * n + r] - m) / std[f] : 0;
  }
  const k = d + 1;
  const theta = new Float64Array(k);
  let ySum = 0;
  let wSum = 0;
  for (let r = 0; r < n; r++) {
    ySum += rw(r) * y[r];
    wSum += rw(r);
  }
  const average = wSum > 0 ? ySum / wSum : 0;
  if (o.family === 'logistic') {
    const rate = Math.min(1 - 1e-6, Math.max(1e-6, average));
    theta[d] = Math.log(rate / (1 - rate));
  } else {
    theta[d] = Math.log(Math.max(average, 1e-10));
  }
  const eta = new Float64Array(n);
  const grad = new Float64Array(k);
  const hess = new Float64Array(k * k);
  const residual = new Float64Array(n);
  const weight = new Float64Array(n);
  const weighted = new Float64Array(n);
  const p = o.power;
  const predictor = (coefficients: Float64Array) => {
    for (let r = 0; r < n; r++) eta[r] = coefficients[d];
    for (let f = 0; f < d; f++) {
      const w = coefficients[f];
      if (w !== 0) for (let r = 0; r < n; r++) eta[r] += w * z[f * n + r];
    }
  };
  // The penalised negative log-likelihood (up to constants) at the coefficients whose predictor is in eta.
  const objective = (coefficients: Float64Array) => {
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const e = Math.min(Math.max(eta[r], -50), 50);
      loss += rw(r) * (o.family === 'logistic' ? Math.max(e, 0) + Math.log1p(Math.exp(-Math.abs(e))) - y[r] * e : Math.exp((2 - p) * e) / (2 - p) - (y[r] * Math.exp((1 - p) * e)) / (1 - p));
    }
    let penalty = 0;
    for (let f = 0; f < d; f++) penalty += coefficients[f] * coefficients[f];
    return loss + 0.5 * o.l2 * penalty;
  };
  predictor(theta);
  let current = objective(theta);
  const trial = new Float64Array(k);
  for (let iteration = 0; iteration < o.maxIterations; iteration++) {
    grad.fill(0);
    hess.fill(0);
    // Gradient X'(residual) and Fisher information X'W X, column by column (intercept: column d).
    for (let r = 0; r < n; r++) {
      const e = Math.min(Math.max(eta[r], -50), 50);
      if (o.family === 'logistic') {
        const mu = 1 / (1 + Math.exp(-e));
        residual[r] = rw(r) * (mu - y[r]);
        weight[r] = rw(r) * Math.max(mu * (1 - mu), 1e-12);
      } else {
        // d/dη of μ^(2−p)/(2−p) − y μ^(1−p)/(1−p) with μ = e^η; Fisher information μ^(2−p).
        const a = Math.exp((1 - p) * e);
        const b = Math.exp((2 - p) * e);
        residual[r] = rw(r) * (b - y[r] * a);
        weight[r] = rw(r) * Math.max(b, 1e-12);
      }
      grad[d] += residual[r];
      hess[d * k + d] += weight[r];
    }
    for (let a = 0; a < d; a++) {
      const za = a * n;
      let g = 0;
      let hb = 0;
      for (let r = 0; r < n; r++) {
        g += residual[r] * z[za + r];
        weighted[r] = weight[r] * z[za + r];
        hb += weighted[r];
      }
      grad[a] = g;
      hess[a * k + d] = hb;
      for (let b = a; b < d; b++) {
        const zb = b * n;
        let sum = 0;
        for (let r = 0; r < n; r++) sum += weighted[r] * z[zb + r];
        hess[a * k + b] = sum;
      }
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) hess[a * k + b] = hess[b * k + a];
    for (let f = 0; f < d; f++) {
      grad[f] += o.l2 * theta[f];
      hess[f * k + f] += o.l2;
    }
    const step = solveSymmetric(hess, grad, k);
    // Backtracking: halve the Newton step until the objective does not rise (Fisher scoring can overshoot).
    let scale = 1;
    let accepted = false;
    for (let halving = 0; halving < 40; halving++) {
      for (let a = 0; a < k; a++) trial[a] = theta[a] - scale * step[a];
      predictor(trial);
      const value = objective(trial);
      if (value <= current) {
        current = value;
        accepted = true;
        break;
      }
      scale /= 2;
    }
    if (!accepted) {
      predictor(theta);
      break;
    }
    let moved = 0;
    for (let a = 0; a < k; a++) {
      moved = Math.max(moved, Math.abs(trial[a] - theta[a]));
      theta[a] = trial[a];
    }
    if (!(moved > o.tolerance)) break;
  }
  return { family: o.family, power: p, mean, std, weights: Array.from(theta.subarray(0, d)), intercept: theta[d], l2: o.l2 };
}

/** Solves H s = g for a symmetric positive definite H (Cholesky); H is k×k row-major. */
function solveSymmetric(h: Float64Array, g: Float64Array, k: number): Float64Array {
  const l = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = h[i * k + j];
      for (let m = 0; m < j; m++) sum -= l[i * k + m] * l[j * k + m];
      if (i === j) l[i * k + i] = Math.sqrt(Math.max(sum, 1e-12));
      else l[i * k + j] = sum / l[j * k + j];
    }
  }
  const t = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let sum = g[i];
    for (let m = 0; m < i; m++) sum -= l[i * k + m] * t[m];
    t[i] = sum / l[i * k + i];
  }
  const s = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let sum = t[i];
    for (let m = i + 1; m < k; m++) sum -= l[m * k + i] * s[m];
    s[i] = sum / l[i * k + i];
  }
  return s;
}

/** The linear predictor (log-odds or log-mean) of one row (row[f] for f < weights.length). */
export function linearRaw(model: LinearModel, row: ArrayLike<number>): number {
  let eta = model.intercept;
  const { weights, mean, std } = model;
  for (let f = 0; f < weights.length; f++) {
    const w = weights[f];
    if (w !== 0) eta += (w * (signedLog(row[f]) - mean[f])) / std[f];
  }
  return eta;
}
