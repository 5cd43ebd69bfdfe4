import type { WeeklyTable } from './demandSeries.ts';
import { lnBeta } from '../numeric/specialFunctions.ts';

/**
 * Price elasticity of demand from weekly product tables: log-log OLS `log q = a + b·log p` per
 * product, or pooled over products with product fixed effects (within transformation). The
 * estimates are associations, not causal effects: on wholesale data bulk orders get lower unit
 * prices, which alone makes b negative.
 */

export interface ElasticityOptions {
  /** Fewest product-weeks a product needs. */
  minWeeks: number;
  /** Fewest distinct weekly prices (rounded to `priceDecimals`) a product needs. */
  minDistinctPrices: number;
  priceDecimals: number;
  confidence: number;
}

export const ELASTICITY_DEFAULTS: Readonly<ElasticityOptions> = {
  minWeeks: 20,
  minDistinctPrices: 3,
  priceDecimals: 2,
  confidence: 0.95,
};

export interface Inference {
  standardError: number;
  ci: [number, number];
  pValue: number;
  /** Degrees of freedom of the t distribution behind the CI and p-value. */
  df: number;
}

export interface ElasticityEstimate extends Inference {
  scope: 'product' | 'pooled';
  coefficient: number;
  /** Intercept of the product fit; absent when pooled (one intercept per product). */
  intercept?: number;
  /** R² of the fit; within-product R² when pooled. */
  rSquared: number;
  observations: number;
  products: number;
  confidence: number;
  /** Pooled only: standard errors clustered by product (robust to serial correlation within a product). */
  clustered?: Inference;
  interpretation: string;
}

/** Thrown when the data cannot identify an elasticity; the API answers 422 with `reason`. */
export class InsufficientPriceVariationError extends Error {
  override readonly name = 'InsufficientPriceVariationError';
  constructor(
    readonly reason: string,
    readonly details: { productId?: string; observations: number; distinctPrices?: number; eligibleProducts?: number },
  ) {
    super(reason);
  }
}

export interface Eligibility {
  eligible: boolean;
  weeks: number;
  distinctPrices: number;
  reason?: string;
}

/** Rounds half to even, as numpy/pandas `round` does on the binary value. */
export function roundHalfEven(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  const scaled = value * scale;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  const rounded = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  return rounded / scale;
}

export function eligibility(table: WeeklyTable, options: Partial<ElasticityOptions> = {}): Eligibility {
  const opts = { ...ELASTICITY_DEFAULTS, ...options };
  const weeks = table.weeks.length;
  const distinctPrices = new Set(Array.from(table.price, (price) => roundHalfEven(price, opts.priceDecimals))).size;
  let reason: string | undefined;
  if (weeks < opts.minWeeks) reason = `only ${weeks} weeks with sales (at least ${opts.minWeeks} needed)`;
  else if (distinctPrices < opts.minDistinctPrices) {
    reason = `only ${distinctPrices} distinct weekly prices (at least ${opts.minDistinctPrices} needed)`;
  }
  return { eligible: reason === undefined, weeks, distinctPrices, reason };
}

export function productElasticity(table: WeeklyTable, options: Partial<ElasticityOptions> = {}): ElasticityEstimate {
  const opts = { ...ELASTICITY_DEFAULTS, ...options };
  const check = eligibility(table, opts);
  if (!check.eligible) {
    throw new InsufficientPriceVariationError(`product ${table.productId}: ${check.reason}`, {
      productId: table.productId,
      observations: check.weeks,
      distinctPrices: check.distinctPrices,
    });
  }
  const x = logs(table.price);
  const y = logs(table.units);
  const fit = simpleOls(x, y);
  const inference = tInference(fit.slope, Math.sqrt(fit.rss / (x.length - 2) / fit.sxx), x.length - 2, opts.confidence);
  return {
    scope: 'product',
    coefficient: fit.slope,
    intercept: fit.intercept,
    ...inference,
    rSquared: fit.tss > 0 ? 1 - fit.rss / fit.tss : 0,
    observations: x.length,
    products: 1,
    confidence: opts.confidence,
    interpretation: interpret(fit.slope, inference.ci, opts.confidence),
  };
}

/**
 * Pooled elasticity with product fixed effects over the eligible tables: the same coefficient as
 * `log q ~ log p + product dummies`, from within-product demeaned data. Classical SE use
 * df = n − G − 1. Clustered SE (clusters = products) use the small-sample factor G/(G−1)·(n−1)/(n−K)
 * with K = 1: fixed effects nested within the clusters are not counted (Cameron & Miller 2015, as
 * Stata's xtreg, fe does), and a t distribution with G − 1 df.
 */
export function pooledElasticity(tables: readonly WeeklyTable[], options: Partial<ElasticityOptions> = {}): ElasticityEstimate {
  const opts = { ...ELASTICITY_DEFAULTS, ...options };
  const eligible = tables.filter((table) => eligibility(table, opts).eligible);
  const n = eligible.reduce((sum, table) => sum + table.weeks.length, 0);
  const groups = eligible.length;
  if (groups === 0) {
    throw new InsufficientPriceVariationError(
      `none of the ${tables.length} products has enough price variation (at least ${opts.minWeeks} weeks and ${opts.minDistinctPrices} distinct weekly prices)`,
      { observations: tables.reduce((sum, table) => sum + table.weeks.length, 0), eligibleProducts: 0 },
    );
  }
  const within = demeanedByProduct(eligible);
  const fit = throughOrigin(within);
  const classical = tInference(fit.slope, Math.sqrt(fit.rss / (n - groups - 1) / fit.sxx), n - groups - 1, opts.confidence);
  const clustered = clusteredInference(within, fit, n, groups, opts.confidence);
  return {
    scope: 'pooled',
    coefficient: fit.slope,
    ...classical,
    rSquared: fit.tss > 0 ? 1 - fit.rss / fit.tss : 0,
    observations: n,
    products: groups,
    confidence: opts.confidence,
    clustered,
    interpretation: interpret(fit.slope, classical.ci, opts.confidence),
  };
}

/**
 * Within-product sums of a pooled fit, computed elsewhere (the lake's SQL): eligible products and
 * their weeks, Σdx², Σdx·dy, Σdy² of the demeaned logs, the residual sum of squares about the
 * slope, and Σ over products of their score (Sxy_g − b·Sxx_g)². With all products and weeks in
 * scope, for the refusal.
 */
export interface PooledSums {
  allProducts: number;
  allObservations: number;
  products: number;
  observations: number;
  sxx: number;
  sxy: number;
  syy: number;
  rss: number;
  meat: number;
}

/** `pooledElasticity` from its sums: the same estimate, whatever the number of products and weeks behind them. */
export function pooledElasticityFromSums(sums: PooledSums, options: Partial<Pick<ElasticityOptions, 'confidence' | 'minWeeks' | 'minDistinctPrices'>> = {}): ElasticityEstimate {
  const opts = { ...ELASTICITY_DEFAULTS, ...options };
  const { products: groups, observations: n } = sums;
  if (groups === 0) {
    throw new InsufficientPriceVariationError(
      `none of the ${sums.allProducts} products has enough price variation (at least ${opts.minWeeks} weeks and ${opts.minDistinctPrices} distinct weekly prices)`,
      { observations: sums.allObservations, eligibleProducts: 0 },
    );
  }
  const slope = sums.sxy / sums.sxx;
  const classical = tInference(slope, Math.sqrt(sums.rss / (n - groups - 1) / sums.sxx), n - groups - 1, opts.confidence);
  const correction = (groups / (groups - 1)) * ((n - 1) / (n - 1));
  const clustered = tInference(slope, Math.sqrt((correction * sums.meat) / (sums.sxx * sums.sxx)), groups - 1, opts.confidence);
  return {
    scope: 'pooled',
    coefficient: slope,
    ...classical,
    rSquared: sums.syy > 0 ? 1 - sums.rss / sums.syy : 0,
    observations: n,
    products: groups,
    confidence: opts.confidence,
    clustered,
    interpretation: interpret(slope, classical.ci, opts.confidence),
  };
}

function logs(values: Float64Array): Float64Array {
  return values.map(Math.log);
}

interface SimpleFit {
  slope: number;
  intercept: number;
  sxx: number;
  rss: number;
  tss: number;
}

function simpleOls(x: Float64Array, y: Float64Array): SimpleFit {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  let sxx = 0;
  let sxy = 0;
  let tss = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
    tss += (y[i] - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, sxx, rss: Math.max(0, tss - slope * sxy), tss };
}

interface WithinData {
  x: Float64Array;
  y: Float64Array;
  /** Start offset of each product's rows, plus the end. */
  starts: Int32Array;
}

function demeanedByProduct(tables: readonly WeeklyTable[]): WithinData {
  const n = tables.reduce((sum, table) => sum + table.weeks.length, 0);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const starts = new Int32Array(tables.length + 1);
  let at = 0;
  tables.forEach((table, g) => {
    starts[g] = at;
    const lx = logs(table.price);
    const ly = logs(table.units);
    const mx = lx.reduce((sum, value) => sum + value, 0) / lx.length;
    const my = ly.reduce((sum, value) => sum + value, 0) / ly.length;
    for (let i = 0; i < lx.length; i++, at++) {
      x[at] = lx[i] - mx;
      y[at] = ly[i] - my;
    }
  });
  starts[tables.length] = n;
  return { x, y, starts };
}

function throughOrigin({ x, y }: WithinData): SimpleFit {
  let sxx = 0;
  let sxy = 0;
  let tss = 0;
  for (let i = 0; i < x.length; i++) {
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
    tss += y[i] * y[i];
  }
  const slope = sxy / sxx;
  let rss = 0;
  for (let i = 0; i < x.length; i++) rss += (y[i] - slope * x[i]) ** 2;
  return { slope, intercept: 0, sxx, rss, tss };
}

function clusteredInference(data: WithinData, fit: SimpleFit, n: number, groups: number, confidence: number): Inference {
  let meat = 0;
  for (let g = 0; g < groups; g++) {
    let score = 0;
    for (let i = data.starts[g]; i < data.starts[g + 1]; i++) score += data.x[i] * (data.y[i] - fit.slope * data.x[i]);
    meat += score * score;
  }
  const parameters = 1;
  const correction = (groups / (groups - 1)) * ((n - 1) / (n - parameters));
  const se = Math.sqrt((correction * meat) / (fit.sxx * fit.sxx));
  return tInference(fit.slope, se, groups - 1, confidence);
}

function tInference(coefficient: number, standardError: number, df: number, confidence: number): Inference {
  const t = coefficient / standardError;
  const critical = studentTQuantile(0.5 + confidence / 2, df);
  return {
    standardError,
    ci: [coefficient - critical * standardError, coefficient + critical * standardError],
    pValue: Number.isFinite(t) ? 2 * studentTUpperTail(Math.abs(t), df) : 0,
    df,
  };
}

/** P(T > t) for t >= 0, via the regularized incomplete beta: I_{df/(df+t²)}(df/2, 1/2) / 2. */
export function studentTUpperTail(t: number, df: number): number {
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5) / 2;
}

/** The p-quantile of Student's t with df degrees of freedom (p in (0, 1)), by bisection. */
export function studentTQuantile(p: number, df: number): number {
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  const tail = 1 - p;
  let lo = 0;
  let hi = 1;
  while (studentTUpperTail(hi, df) > tail) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTUpperTail(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** I_x(a, b) by Lentz's continued fraction (Numerical Recipes §6.4), using the symmetry for large x. */
function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - lnBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + even * d;
    c = 1 + even / c;
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    c = Math.abs(c) < tiny ? tiny : c;
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + odd * d;
    c = 1 + odd / c;
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    c = Math.abs(c) < tiny ? tiny : c;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** A sentence a merchandiser can read: what a 1% price rise goes with, and how sure we are. */
function interpret(coefficient: number, ci: [number, number], confidence: number): string {
  const pct = Math.abs(coefficient).toFixed(2);
  const range = `${Math.round(confidence * 100)}% CI ${ci[0].toFixed(2)} to ${ci[1].toFixed(2)}`;
  const caveat = 'This is an association in past sales, not a controlled experiment (bulk orders get lower unit prices).';
  if (ci[0] <= 0 && ci[1] >= 0) {
    return `A 1% higher price goes with a ${pct}% ${coefficient < 0 ? 'drop' : 'rise'} in weekly units, but the data cannot tell this apart from no effect (${range}). ${caveat}`;
  }
  if (coefficient >= 0) {
    return `A 1% higher price goes with ${pct}% more weekly units (${range}): demand does not fall with price here, which usually means price and demand both follow something else (season, order size). ${caveat}`;
  }
  const kind = coefficient < -1
    ? 'elastic: raising the price loses more units than it gains per unit, so revenue falls'
    : 'inelastic: units fall less than the price rises, so revenue rises with price';
  return `A 1% higher price goes with ${pct}% fewer weekly units (${range}); demand is ${kind}. ${caveat}`;
}
