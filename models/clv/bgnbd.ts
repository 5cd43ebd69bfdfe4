import { minimizeFromStarts } from '../numeric/nelderMead.ts';
import { hypergeometric2F1, lnBeta, lnGamma } from '../numeric/specialFunctions.ts';

/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): while alive a
 * customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase it drops out with
 * probability p ~ Beta(a, b). A customer's history is summarised by (x, tx, T): repeat
 * purchases, time of the last one and age, all measured from the first purchase (in weeks here).
 */
export interface BgnbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** Column-wise customer summaries; equal lengths. */
export interface BgnbdData {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
}

export interface BgnbdFit {
  params: BgnbdParams;
  /** Total log-likelihood over all customers at `params`. */
  logLikelihood: number;
  /** Log-likelihood each start reached (before the best one is restarted), in start order. */
  startLogLikelihoods: number[];
}

/** ln L(r, α, a, b | x, tx, T) for one customer (FHL 2005, equation 6). */
export function bgnbdLogLikelihood(params: BgnbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = params;
  const common = lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha) + lnBeta(a, b + x) - lnBeta(a, b);
  const aliveTerm = -(r + x) * Math.log(alpha + T);
  if (x <= 0) return common + aliveTerm;
  // B(a+1, b+x-1) / B(a, b+x) = a / (b+x-1): the weight of "dropped out right after tx".
  const droppedTerm = Math.log(a / (b + x - 1)) - (r + x) * Math.log(alpha + tx);
  return common + logAddExp(aliveTerm, droppedTerm);
}

/** P(alive at T | x, tx, T). One-time buyers are alive with probability 1: BG/NBD drops out only after a purchase. */
export function bgnbdProbabilityAlive(params: BgnbdParams, x: number, tx: number, T: number): number {
  if (x <= 0) return 1;
  const { r, alpha, a, b } = params;
  return 1 / (1 + (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x));
}

/**
 * P(no purchase in (T, T + t] | x, tx, T) = (1 − P(alive)) + P(alive) · ((α+T)/(α+T+t))^(r+x):
 * an alive customer cannot drop out without buying first, so it stays silent only if its
 * Poisson process (rate posterior Gamma(r + x, α + T)) is.
 */
export function bgnbdProbabilityNoPurchase(params: BgnbdParams, x: number, tx: number, T: number, t: number): number {
  return bgnbdNoPurchaseGivenAlive(params, bgnbdProbabilityAlive(params, x, tx, T), x, T, t);
}

/** bgnbdProbabilityNoPurchase for a caller that already has P(alive). */
export function bgnbdNoPurchaseGivenAlive(params: BgnbdParams, pAlive: number, x: number, T: number, t: number): number {
  return 1 - pAlive + pAlive * Math.pow((params.alpha + T) / (params.alpha + T + t), params.r + x);
}

/**
 * E[Y(t) | x, tx, T], purchases in (T, T + t] (FHL 2005, equation 10):
 *   P(alive) · (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z)],  z = t/(α+T+t).
 */
export function bgnbdExpectedPurchases(params: BgnbdParams, x: number, tx: number, T: number, t: number): number {
  if (t <= 0) return 0;
  return bgnbdProbabilityAlive(params, x, tx, T) * bgnbdPurchasesIfAlive(params, x, T, t);
}

/**
 * E[Y(t) | alive at T]. Euler's transform turns the bracket's product into
 * (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z), whose series decays faster and never overflows.
 * a = 1 is a removable singularity: within 1e-7 of it, a is evaluated at 1 ± 1e-7 (a change far
 * below the fit's own precision). c = a+b+x−1 = 0 (a + b = 1, x = 0) is a pole of 2F1 where
 * c·2F1(A, B; c; z) tends to A·B·z·2F1(A+1, B+1; 2; z).
 */
export function bgnbdPurchasesIfAlive(params: BgnbdParams, x: number, T: number, t: number): number {
  const { r, alpha, b } = params;
  const a = awayFromOne(params.a);
  // With α + T below 1e-16 of t, z rounds to 1, outside 2F1's domain: stay just inside it.
  const z = Math.min(t / (alpha + T + t), LARGEST_BELOW_ONE);
  const shrink = Math.pow((alpha + T) / (alpha + T + t), a - 1); // (1 − z)^(a−1), without cancellation in 1 − z
  const c = a + b + x - 1;
  const hyperA = a + b - 1 - r;
  if (c === 0) return -shrink * hyperA * z * hypergeometric2F1(hyperA + 1, a, 2, z);
  return (c / (a - 1)) * (1 - shrink * hypergeometric2F1(hyperA, a - 1, c, z));
}

const MIN_DISTANCE_FROM_ONE = 1e-7;
const LARGEST_BELOW_ONE = 1 - 2 ** -53;

function awayFromOne(a: number): number {
  const distance = a - 1;
  if (Math.abs(distance) >= MIN_DISTANCE_FROM_ONE) return a;
  return distance < 0 ? 1 - MIN_DISTANCE_FROM_ONE : 1 + MIN_DISTANCE_FROM_ONE;
}

function logAddExp(p: number, q: number): number {
  return p > q ? p + Math.log1p(Math.exp(q - p)) : q + Math.log1p(Math.exp(p - q));
}

/**
 * The data regrouped so a likelihood evaluation does the least work: the terms that depend on
 * x alone or on T alone are weighted sums over distinct x and distinct T values (day-granular
 * data has few), and only repeat buyers' identical (x, tx, T) rows, merged with counts, need
 * their own exp and log.
 */
export interface AggregatedBgnbdData {
  customers: number;
  xValues: Float64Array;
  txValues: Float64Array;
  TValues: Float64Array;
  /** Customers with each distinct x. */
  customersPerX: Float64Array;
  /** Customers with each distinct T, and the sum of their x. */
  customersPerT: Float64Array;
  repeatsPerT: Float64Array;
  /** Distinct (x, tx, T) rows with x > 0: how many customers, and indexes into the value arrays. */
  rowWeight: Float64Array;
  rowX: Int32Array;
  rowTx: Int32Array;
  rowT: Int32Array;
}

export function aggregateBgnbdData(data: BgnbdData): AggregatedBgnbdData {
  const n = data.x.length;
  if (data.tx.length !== n || data.T.length !== n) throw new RangeError('x, tx and T must have the same length');
  const xIds = new Map<number, number>();
  const txIds = new Map<number, number>();
  const TIds = new Map<number, number>();
  const idOf = (ids: Map<number, number>, value: number) => {
    let id = ids.get(value);
    if (id === undefined) ids.set(value, (id = ids.size));
    return id;
  };
  const customersPerX: number[] = [];
  const customersPerT: number[] = [];
  const repeatsPerT: number[] = [];
  const rows = new Map<string, number>();
  const rowWeight: number[] = [];
  const rowX: number[] = [];
  const rowTx: number[] = [];
  const rowT: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = data.x[i];
    if (!(x >= 0) || !(data.tx[i] >= 0) || !(data.T[i] >= data.tx[i])) {
      throw new RangeError(`customer ${i}: need x >= 0 and 0 <= tx <= T, got x=${x}, tx=${data.tx[i]}, T=${data.T[i]}`);
    }
    const xi = idOf(xIds, x);
    const Ti = idOf(TIds, data.T[i]);
    customersPerX[xi] = (customersPerX[xi] ?? 0) + 1;
    customersPerT[Ti] = (customersPerT[Ti] ?? 0) + 1;
    repeatsPerT[Ti] = (repeatsPerT[Ti] ?? 0) + x;
    if (x === 0) continue;
    const txi = idOf(txIds, data.tx[i]);
    const key = `${xi},${txi},${Ti}`;
    const row = rows.get(key);
    if (row !== undefined) {
      rowWeight[row] += 1;
      continue;
    }
    rows.set(key, rowWeight.length);
    rowWeight.push(1);
    rowX.push(xi);
    rowTx.push(txi);
    rowT.push(Ti);
  }
  return {
    customers: n,
    xValues: Float64Array.from(xIds.keys()),
    txValues: Float64Array.from(txIds.keys()),
    TValues: Float64Array.from(TIds.keys()),
    customersPerX: Float64Array.from(customersPerX),
    customersPerT: Float64Array.from(customersPerT),
    repeatsPerT: Float64Array.from(repeatsPerT),
    rowWeight: Float64Array.from(rowWeight),
    rowX: Int32Array.from(rowX),
    rowTx: Int32Array.from(rowTx),
    rowT: Int32Array.from(rowT),
  };
}

/**
 * Σ over customers of bgnbdLogLikelihood, regrouped: each customer's
 *   common(x) − (r+x)·ln(α+T) + [x > 0] softplus(ln(a/(b+x−1)) + (r+x)·ln((α+T)/(α+tx))).
 */
export function bgnbdTotalLogLikelihood(params: BgnbdParams, data: AggregatedBgnbdData): number {
  const { r, alpha, a, b } = params;
  const { xValues, txValues, TValues } = data;
  let total = 0;
  const shared = -lnGamma(r) + r * Math.log(alpha) - lnBeta(a, b);
  const dropWeight = new Float64Array(xValues.length);
  for (let k = 0; k < xValues.length; k++) {
    const x = xValues[k];
    total += data.customersPerX[k] * (shared + lnGamma(r + x) + lnBeta(a, b + x));
    dropWeight[k] = x > 0 ? Math.log(a / (b + x - 1)) : 0;
  }
  const lnAlphaT = new Float64Array(TValues.length);
  for (let j = 0; j < TValues.length; j++) {
    lnAlphaT[j] = Math.log(alpha + TValues[j]);
    total -= (r * data.customersPerT[j] + data.repeatsPerT[j]) * lnAlphaT[j];
  }
  const lnAlphaTx = new Float64Array(txValues.length);
  for (let j = 0; j < txValues.length; j++) lnAlphaTx[j] = Math.log(alpha + txValues[j]);
  for (let row = 0; row < data.rowWeight.length; row++) {
    const k = data.rowX[row];
    const u = dropWeight[k] + (r + xValues[k]) * (lnAlphaT[data.rowT[row]] - lnAlphaTx[data.rowTx[row]]);
    // softplus(u) = ln(1 + e^u); exp(-u) cannot overflow on the positive side.
    total += data.rowWeight[row] * (u > 0 ? u + Math.log(1 + Math.exp(-u)) : Math.log(1 + Math.exp(u)));
  }
  return total;
}

export interface BgnbdFitOptions {
  /** Starting points; default: three spread around the data's purchase rate. */
  starts?: BgnbdParams[];
  maxIterations?: number;
}

/** Parameters stay within e^±LOG_BOUND while searching, so no evaluation overflows. */
const LOG_BOUND = 30;

/** Maximum likelihood by multi-start Nelder–Mead over log-parameters; the best start wins. */
export function fitBgnbd(data: BgnbdData, options: BgnbdFitOptions = {}): BgnbdFit {
  const aggregated = aggregateBgnbdData(data);
  if (aggregated.customers === 0) throw new RangeError('BG/NBD needs at least one customer');
  const starts = options.starts ?? defaultBgnbdStarts(data);
  // Mean log-likelihood per customer keeps the tolerances independent of the data size.
  const objective = (theta: Float64Array) => {
    for (let i = 0; i < 4; i++) if (Math.abs(theta[i]) > LOG_BOUND) return Infinity;
    return -bgnbdTotalLogLikelihood(paramsFromLog(theta), aggregated) / aggregated.customers;
  };
  const best = minimizeFromStarts(
    objective,
    starts.map((start) => [start.r, start.alpha, start.a, start.b].map(Math.log)),
    { maxIterations: options.maxIterations ?? 2000 },
  );
  if (!Number.isFinite(best.value)) throw new Error('BG/NBD fit failed: no start reached a finite likelihood');
  const params = paramsFromLog(Float64Array.from(best.x));
  return {
    params,
    logLikelihood: bgnbdTotalLogLikelihood(params, aggregated),
    startLogLikelihoods: best.startValues.map((value) => -value * aggregated.customers),
  };
}

function paramsFromLog(theta: Float64Array): BgnbdParams {
  return { r: Math.exp(theta[0]), alpha: Math.exp(theta[1]), a: Math.exp(theta[2]), b: Math.exp(theta[3]) };
}

/**
 * Three starts whose α matches the data's repeat rate for their r (so the time unit does not
 * matter): a neutral one, a heterogeneous one, and one with little dropout.
 */
function defaultBgnbdStarts(data: BgnbdData): BgnbdParams[] {
  let purchases = 0;
  let exposure = 0;
  for (let i = 0; i < data.x.length; i++) {
    purchases += data.x[i];
    exposure += data.T[i];
  }
  const rate = purchases > 0 && exposure > 0 ? purchases / exposure : 1;
  return [
    { r: 1, alpha: 1 / rate, a: 1, b: 1 },
    { r: 0.25, alpha: 0.25 / rate, a: 0.5, b: 2 },
    { r: 4, alpha: 4 / rate, a: 0.2, b: 5 },
  ];
}
