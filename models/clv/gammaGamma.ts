import { minimizeFromStarts } from '../numeric/nelderMead.ts';
import { lnGamma } from '../numeric/specialFunctions.ts';

/**
 * Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The
 * Gamma-Gamma Model of Monetary Value"): each transaction's value is Gamma(p, ν) with the
 * customer's ν ~ Gamma(q, γ), so a customer's mean spend over x transactions, m, is informative
 * about ν and shrinks toward the population mean pγ/(q − 1).
 */
export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

/** Column-wise: repeat transactions and their mean value, one entry per customer. */
export interface GammaGammaData {
  x: Float64Array;
  m: Float64Array;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  /** Total log-likelihood over the customers used (x > 0 and m > 0). */
  logLikelihood: number;
  customers: number;
}

/** ln L(p, q, γ | m, x) for one customer with x > 0 transactions of mean value m > 0. */
export function gammaGammaLogLikelihood(params: GammaGammaParams, x: number, m: number): number {
  const { p, q, gamma } = params;
  const px = p * x;
  return (
    lnGamma(px + q) - lnGamma(px) - lnGamma(q) + q * Math.log(gamma) +
    (px - 1) * Math.log(m) + px * Math.log(x) - (px + q) * Math.log(gamma + m * x)
  );
}

/**
 * E[M | x, m] = (γ + x·m)·p / (p·x + q − 1), a weighted mean of the population mean pγ/(q−1)
 * and the customer's m; the population mean for x = 0. Needs q > 1 (else the mean is infinite).
 */
export function gammaGammaExpectedSpend(params: GammaGammaParams, x: number, m: number): number {
  const { p, q, gamma } = params;
  if (x <= 0) return (p * gamma) / (q - 1);
  return ((gamma + x * m) * p) / (p * x + q - 1);
}

/**
 * The customers the likelihood can use, regrouped so an evaluation needs one logarithm per
 * customer: the terms linear in p are precomputed sums, and the gamma functions are per
 * distinct x. A mean of zero (free repeat purchases) has zero density under a gamma, so those
 * customers are left out rather than making the likelihood −∞.
 */
export interface PreparedGammaGammaData {
  customers: number;
  x: Float64Array;
  m: Float64Array;
  meanM: number;
  xValues: Float64Array;
  customersPerX: Float64Array;
  /** Σ ln m, Σ x ln m, Σ x ln x over the customers. */
  sumLnM: number;
  sumXLnM: number;
  sumXLnX: number;
}

export function prepareGammaGammaData(data: GammaGammaData): PreparedGammaGammaData {
  if (data.m.length !== data.x.length) throw new RangeError('x and m must have the same length');
  const x: number[] = [];
  const m: number[] = [];
  const perX = new Map<number, number>();
  let sumM = 0;
  let sumLnM = 0;
  let sumXLnM = 0;
  let sumXLnX = 0;
  for (let i = 0; i < data.x.length; i++) {
    const xi = data.x[i];
    const mi = data.m[i];
    if (!(xi > 0 && mi > 0 && mi < Infinity)) continue;
    x.push(xi);
    m.push(mi);
    perX.set(xi, (perX.get(xi) ?? 0) + 1);
    sumM += mi;
    sumLnM += Math.log(mi);
    sumXLnM += xi * Math.log(mi);
    sumXLnX += xi * Math.log(xi);
  }
  return {
    customers: x.length,
    x: Float64Array.from(x),
    m: Float64Array.from(m),
    meanM: x.length > 0 ? sumM / x.length : 0,
    xValues: Float64Array.from(perX.keys()),
    customersPerX: Float64Array.from(perX.values()),
    sumLnM,
    sumXLnM,
    sumXLnX,
  };
}

/** Σ gammaGammaLogLikelihood over the prepared customers. */
export function gammaGammaTotalLogLikelihood(params: GammaGammaParams, data: PreparedGammaGammaData): number {
  const { p, q, gamma } = params;
  let total = data.customers * (q * Math.log(gamma) - lnGamma(q)) + p * (data.sumXLnM + data.sumXLnX) - data.sumLnM;
  for (let k = 0; k < data.xValues.length; k++) {
    const px = p * data.xValues[k];
    total += data.customersPerX[k] * (lnGamma(px + q) - lnGamma(px));
  }
  for (let i = 0; i < data.customers; i++) {
    const x = data.x[i];
    total -= (p * x + q) * Math.log(gamma + data.m[i] * x);
  }
  return total;
}

const LOG_BOUND = 30;
/** (p, q) of the six data-scaled starts; γ makes each start's population mean equal mean(m). */
const SCALED_STARTS: readonly (readonly [number, number])[] = [
  [1, 2], [1, 4], [4, 2], [4, 4], [10, 3], [2, 10],
];

/**
 * Maximum likelihood by multi-start Nelder–Mead over log-parameters: (1, 1, 1) plus six starts
 * with γ = mean(m)(q − 1)/p; the best start wins.
 */
export function fitGammaGamma(data: GammaGammaData): GammaGammaFit {
  const prepared = prepareGammaGammaData(data);
  const customers = prepared.customers;
  if (customers === 0) throw new RangeError('Gamma-Gamma needs at least one customer with a repeat purchase of positive value');
  const objective = (theta: Float64Array) => {
    for (let i = 0; i < 3; i++) if (Math.abs(theta[i]) > LOG_BOUND) return Infinity;
    return -gammaGammaTotalLogLikelihood(paramsFromLog(theta), prepared) / customers;
  };
  const starts = gammaGammaStarts(prepared.meanM).map((start) => [start.p, start.q, start.gamma].map(Math.log));
  const best = minimizeFromStarts(objective, starts, { maxIterations: 2000 });
  if (!Number.isFinite(best.value)) throw new Error('Gamma-Gamma fit failed: no start reached a finite likelihood');
  const params = paramsFromLog(Float64Array.from(best.x));
  return { params, logLikelihood: gammaGammaTotalLogLikelihood(params, prepared), customers };
}

export function gammaGammaStarts(meanM: number): GammaGammaParams[] {
  const scale = meanM > 0 ? meanM : 1;
  return [{ p: 1, q: 1, gamma: 1 }, ...SCALED_STARTS.map(([p, q]) => ({ p, q, gamma: (scale * (q - 1)) / p }))];
}

function paramsFromLog(theta: Float64Array): GammaGammaParams {
  return { p: Math.exp(theta[0]), q: Math.exp(theta[1]), gamma: Math.exp(theta[2]) };
}
