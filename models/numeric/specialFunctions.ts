/**
 * Special functions for the BTYD models: log-gamma, log-beta and the Gauss hypergeometric
 * function 2F1 on [0, 1).
 *
 * Accuracy (checked in test/unit/specialFunctions.test.ts against mpmath and independent
 * computations):
 * - lnGamma: relative error below 1e-14 where |lnGamma(x)| >= 1 and absolute error below
 *   1e-14 elsewhere (near the zeros at x = 1 and x = 2 no method can do better in relative terms),
 *   for 1e-300 < x < 1e300; negative non-integer x goes through the reflection formula
 *   (`lnAbsGamma`, `gammaSign`).
 * - lnBeta: absolute error about 1e-16 * (|lnGamma(a)| + |lnGamma(b)| + |lnGamma(a + b)|),
 *   the price of computing it as a difference of log-gammas: 1e-13 for arguments up to ~1e3.
 * - hypergeometric2F1: relative error below 1e-12 (typically 1e-14) against mpmath over
 *   BG/NBD's parameters, in both the original form 2F1(r+x, b+x; a+b+x-1; z) and the Euler form
 *   the scorer uses, for r, a in (0.05, 5), b in (0.1, 20), x <= 60 and z <= 0.999; 2e-13 on
 *   the general test grid. Cost there: ~0.1-1 µs. Where the connection formula to 1 - z would
 *   cancel, the power series is summed instead: as accurate, but with up to ~ -37 / ln(z) terms
 *   (7,000 at z = 0.995). Not meant for large negative parameters, whose series cancel in any form.
 */

const LANCZOS_G = 7;
// Lanczos coefficients for g = 7, n = 9 (Godfrey); the partial-fraction sum carries the
// accuracy, the leading factor carries the growth.
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LN_TWO_PI = 0.9189385332046727418;

/** ln Γ(x) for x > 0. */
export function lnGamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  if (x < 0.5) {
    // Reflection keeps the Lanczos sum away from its poles; Γ(x)Γ(1 - x) = π / sin(πx).
    return Math.log(Math.PI / sinPi(x)) - lnGamma(1 - x);
  }
  if (x > 1e15) return (x - 0.5) * Math.log(x) - x + HALF_LN_TWO_PI;
  const shifted = x - 1;
  let sum = LANCZOS_COEFFICIENTS[0];
  for (let k = 1; k < LANCZOS_COEFFICIENTS.length; k++) sum += LANCZOS_COEFFICIENTS[k] / (shifted + k);
  const t = shifted + LANCZOS_G + 0.5;
  return HALF_LN_TWO_PI + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln |Γ(x)| for any real x that is not a pole (Infinity at the poles 0, -1, -2, ...). */
export function lnAbsGamma(x: number): number {
  if (x > 0) return lnGamma(x);
  if (Number.isInteger(x)) return Infinity;
  return Math.log(Math.PI / Math.abs(sinPi(x))) - lnGamma(1 - x);
}

/** Sign of Γ(x): +1 for x > 0, alternating between the negative poles; 0 at the poles. */
export function gammaSign(x: number): number {
  if (x > 0) return 1;
  if (Number.isInteger(x)) return 0;
  return Math.floor(x) % 2 === 0 ? 1 : -1;
}

/** ln B(a, b) for a, b > 0. */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** sin(πx) without the loss of `Math.sin(Math.PI * x)` for large |x| or x near an integer. */
function sinPi(x: number): number {
  let reduced = x - 2 * Math.round(x / 2); // in [-1, 1], exact
  if (reduced > 0.5) reduced = 1 - reduced;
  else if (reduced < -0.5) reduced = -1 - reduced;
  return Math.sin(Math.PI * reduced);
}

const SERIES_EPSILON = 1e-16;
const SERIES_MAX_TERMS = 10_000_000;
/** Above this z the series needs more than ~200 terms; the connection formula needs ~40. */
const CONNECTION_MIN_Z = 0.8;
/**
 * With a large parameter the series converges fast anyway (a large c) or the connection
 * formula's series would first wade through ~|parameter| terms of changing sign.
 */
const CONNECTION_MAX_PARAMETER = 50;
/**
 * The series' terms decay like n^-(1 + |c - a - b|) z^n: beyond this excess they die out fast
 * enough that the series beats the connection formula's six log-gammas and two series.
 */
const CONNECTION_MAX_EXCESS = 5;
/** The connection formula cancels as c - a - b nears an integer: it loses -log10(distance) digits. */
const CONNECTION_MIN_INTEGER_DISTANCE = 1e-4;
/** Largest term / result the connection formula may reach (digits lost = log10 of it). */
const CONNECTION_MAX_CANCELLATION = 10;

/** Scratch for a series' sum and its largest |term|; the module is single-threaded and never re-enters it. */
const seriesResult = new Float64Array(2);

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) for real a, b, c and 0 <= z < 1
 * (c must not be 0, -1, -2, ...).
 *
 * z > 0.8, |c - a - b| <= 5 but not within 1e-4 of an integer, and no parameter beyond 50 in
 * magnitude: the connection formula to 1 - z (Abramowitz & Stegun 15.3.6), whose two series converge like
 * 0.2^n; its result is kept unless its terms were over 10 times larger than it (cancellation).
 * Otherwise the power series, on Euler's transform (1 - z)^(c-a-b) 2F1(c-a, c-b; c; z) when
 * c - a - b < 0 (its terms then decay like n^-(1 + |c-a-b|) z^n instead of growing) unless
 * that would make a parameter below -1 (whose alternating terms would cancel).
 */
export function hypergeometric2F1(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hypergeometric2F1 needs 0 <= z < 1, got z = ${z}`);
  if (c <= 0 && Number.isInteger(c)) throw new RangeError(`hypergeometric2F1 needs c != 0, -1, -2, ..., got c = ${c}`);
  if (z === 0 || a === 0 || b === 0) return 1;
  const d = c - a - b;
  const terminates = (a < 0 && Number.isInteger(a)) || (b < 0 && Number.isInteger(b));
  if (terminates) return hypergeometricSeries(a, b, c, z);
  const moderate = Math.max(Math.abs(a), Math.abs(b), Math.abs(c)) <= CONNECTION_MAX_PARAMETER;
  const slowSeries = z > CONNECTION_MIN_Z && Math.abs(d) <= CONNECTION_MAX_EXCESS;
  if (moderate && slowSeries && Math.abs(d - Math.round(d)) > CONNECTION_MIN_INTEGER_DISTANCE) {
    const value = connectionToOneMinusZ(a, b, c, z);
    if (!Number.isNaN(value)) return value;
  }
  if (d < 0 && Math.min(c - a, c - b) >= -1) return Math.pow(1 - z, d) * hypergeometricSeries(c - a, c - b, c, z);
  return hypergeometricSeries(a, b, c, z);
}

/** The plain power series Σ (a)_n (b)_n / ((c)_n n!) z^n, summed to a relative 1e-16. */
export function hypergeometricSeries(a: number, b: number, c: number, z: number): number {
  sumSeries(a, b, c, z);
  return seriesResult[0];
}

/**
 * Stops once the terms have a constant sign and the geometric bound on the tail,
 * |term| ρ / (1 - ρ) with ρ = max(next ratio, z) (the ratios tend to z), is below 1e-16 of the sum.
 */
function sumSeries(a: number, b: number, c: number, z: number): void {
  let term = 1;
  let sum = 1;
  let largest = 1;
  // Terms change sign only while n + a, n + b or n + c is still negative.
  const settledAfter = Math.max(0, -a, -b, -c) + 1;
  for (let n = 0; n < SERIES_MAX_TERMS; n++) {
    const ratio = ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
    if (n > settledAfter) {
      const bound = ratio > z ? ratio : z;
      if (bound < 1 && Math.abs(term) * bound <= SERIES_EPSILON * (1 - bound) * Math.abs(sum)) break;
    }
    term *= ratio;
    if (term === 0) break;
    sum += term;
    const size = Math.abs(term);
    if (size > largest) largest = size;
  }
  seriesResult[0] = sum;
  seriesResult[1] = largest;
}

/**
 * A&S 15.3.6: 2F1(a,b;c;z) = Γ(c)Γ(d)/(Γ(c-a)Γ(c-b)) 2F1(a,b;1-d;1-z)
 *                          + (1-z)^d Γ(c)Γ(-d)/(Γ(a)Γ(b)) 2F1(c-a,c-b;1+d;1-z),  d = c-a-b.
 * The gamma ratios are formed in log space (with signs) so large parameters do not overflow.
 * NaN when the two parts cancel too much to trust.
 */
function connectionToOneMinusZ(a: number, b: number, c: number, z: number): number {
  const d = c - a - b;
  const w = 1 - z;
  const lnGammaC = lnAbsGamma(c);
  let result = 0;
  let magnitude = 0;
  // A factor with 1/Γ at a pole (sign 0) is exactly zero: its part drops out.
  const firstSign = gammaSign(c) * gammaSign(d) * gammaSign(c - a) * gammaSign(c - b);
  if (firstSign !== 0) {
    const factor = Math.exp(lnGammaC + lnAbsGamma(d) - lnAbsGamma(c - a) - lnAbsGamma(c - b));
    sumSeries(a, b, 1 - d, w);
    result += firstSign * factor * seriesResult[0];
    magnitude += factor * seriesResult[1];
  }
  const secondSign = gammaSign(c) * gammaSign(-d) * gammaSign(a) * gammaSign(b);
  if (secondSign !== 0) {
    const factor = Math.exp(d * Math.log(w) + lnGammaC + lnAbsGamma(-d) - lnAbsGamma(a) - lnAbsGamma(b));
    sumSeries(c - a, c - b, 1 + d, w);
    result += secondSign * factor * seriesResult[0];
    magnitude += factor * seriesResult[1];
  }
  return magnitude <= CONNECTION_MAX_CANCELLATION * Math.abs(result) ? result : NaN;
}
