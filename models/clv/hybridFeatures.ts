import { bgnbdNoPurchaseGivenAlive, bgnbdProbabilityAlive, bgnbdPurchasesIfAlive, type BgnbdParams } from './bgnbd.ts';
import { WEEK_DAYS } from '../time/calendar.ts';
import { featuresOf, type CustomerFeatures } from '../customer/customerFeatures.ts';
import type { CustomerState } from '../customer/customerState.ts';
import { gammaGammaExpectedSpend, type GammaGammaParams } from './gammaGamma.ts';

/**
 * The hybrid model's inputs: the RFM-style features of the streaming state record (through
 * featuresOf, the one feature function) plus the BG/NBD and Gamma-Gamma outputs for the model's
 * horizon, then one-hot columns for the static covariates the model learned (HybridCovariates).
 * Training, batch evaluation and live scoring all build rows with hybridRow, from the
 * CustomerFeatures that featuresOf returns, so their scores cannot drift apart.
 */
export const HYBRID_FEATURE_NAMES = [
  'recencyDays',
  'tenureDays',
  'spanDays',
  'frequency',
  'orders',
  'totalSpend',
  'spendPerPurchaseDay',
  'avgOrderSpend',
  'maxOrderSpend',
  'firstDaySpend',
  'repeatMeanSpend',
  'units',
  'avgInterPurchaseDays',
  'recencyOverInterPurchase',
  'purchaseDaysLast90',
  'spendLast13Weeks',
  'ordersLast13Weeks',
  'returns',
  'returnSpend',
  'btydPAlive',
  'btydPNoPurchase',
  'btydExpectedPurchases',
  'ggExpectedSpend',
  'btydClv',
] as const;

export type HybridFeatureName = (typeof HYBRID_FEATURE_NAMES)[number];
/** Columns of a hybrid row without covariates; covariate columns come after these. */
export const HYBRID_FEATURE_COUNT = HYBRID_FEATURE_NAMES.length;

/**
 * Static covariates a hybrid model encodes, learned from its training customers and stored in
 * its artifact: one-hot columns `country=<value>`, one per vocabulary entry in this order,
 * appended after the HYBRID_FEATURE_NAMES columns (whose indexes never move). A country outside
 * the vocabulary, or none, is all zeros. With an empty vocabulary the row is exactly the
 * covariate-free layout.
 */
export interface HybridCovariates {
  country: readonly string[];
}

export const NO_COVARIATES: HybridCovariates = Object.freeze({ country: Object.freeze([]) as readonly string[] });
/** A country gets a column only with at least this many training customers... */
const COUNTRY_MIN_CUSTOMERS = 50;
/** ...and only the most frequent ones, at most this many. */
export const COUNTRY_MAX_COLUMNS = 8;

/** Column names of a hybrid row: HYBRID_FEATURE_NAMES, then the covariate columns. */
export function hybridFeatureNames(covariates: HybridCovariates = NO_COVARIATES): string[] {
  const names: string[] = [...HYBRID_FEATURE_NAMES];
  for (const country of covariates.country) names.push(`country=${country}`);
  return names;
}

export function hybridFeatureCount(covariates: HybridCovariates = NO_COVARIATES): number {
  return HYBRID_FEATURE_COUNT + covariates.country.length;
}

/**
 * The covariate vocabulary of a training set: the countries of at least `minCustomers`
 * customers, the `maxColumns` most frequent (ties by name). Empty when no customer has a
 * country (CDNOW), so such data trains the covariate-free layout.
 */
export function covariateVocabulary(
  features: readonly CustomerFeatures[],
  minCustomers = COUNTRY_MIN_CUSTOMERS,
  maxColumns = COUNTRY_MAX_COLUMNS,
): HybridCovariates {
  const counts = new Map<string, number>();
  for (const f of features) {
    const country = f.country;
    if (typeof country === 'string') counts.set(country, (counts.get(country) ?? 0) + 1);
  }
  const country = [...counts]
    .filter(([, count]) => count >= minCustomers)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxColumns)
    .map(([name]) => name);
  return country.length === 0 ? NO_COVARIATES : { country };
}

/** BG/NBD and Gamma-Gamma parameters and the horizon their outputs are computed for. */
export interface BtydInputs {
  bgnbd: BgnbdParams;
  gammaGamma: GammaGammaParams;
  horizonDays: number;
}

/** BTYD outputs for one customer, from its summaries (x, tx, T in weeks, m in currency). */
export interface BtydOutputs {
  pAlive: number;
  pNoPurchase: number;
  expectedPurchases: number;
  expectedSpend: number;
}

const MAX_SUMMARY = 1e9;
const clampWeeks = (w: number) => (w > 0 ? (w < MAX_SUMMARY ? w : MAX_SUMMARY) : 0);
const unit = (v: number) => (v > 0 ? (v < 1 ? v : 1) : 0);
const nonNegative = (v: number) => (v > 0 ? Math.min(v, Number.MAX_VALUE) : 0);

/**
 * The BTYD block of a hybrid row (closed forms; NaN and negatives clamp as in BtydModel).
 * Without `withPurchases`, the expected purchases (the one output that needs a hypergeometric
 * series) are left at 0, for a caller whose model does not read them.
 */
export function btydOutputs(btyd: BtydInputs, features: CustomerFeatures, out: BtydOutputs, withPurchases = true): BtydOutputs {
  const x = features.x > 0 ? (features.x < MAX_SUMMARY ? features.x : MAX_SUMMARY) : 0;
  const T = clampWeeks(features.T);
  const tx = clampWeeks(Math.min(features.tx, T));
  const t = btyd.horizonDays / WEEK_DAYS;
  const pAlive = bgnbdProbabilityAlive(btyd.bgnbd, x, tx, T);
  out.pAlive = unit(pAlive);
  out.pNoPurchase = unit(bgnbdNoPurchaseGivenAlive(btyd.bgnbd, pAlive, x, T, t));
  out.expectedPurchases = withPurchases ? nonNegative(pAlive * bgnbdPurchasesIfAlive(btyd.bgnbd, x, T, t)) : 0;
  const m = features.repeatMeanSpend > 0 && features.repeatMeanSpend < Infinity ? features.repeatMeanSpend : 0;
  out.expectedSpend = nonNegative(gammaGammaExpectedSpend(btyd.gammaGamma, x, m));
  return out;
}

export function emptyBtydOutputs(): BtydOutputs {
  return { pAlive: 0, pNoPurchase: 0, expectedPurchases: 0, expectedSpend: 0 };
}

/**
 * Writes a customer's hybrid row into out[offset + f * stride] for each feature f (stride 1:
 * a row; stride = rows: a column-major matrix), covariate columns last (hybridFeatureNames).
 * Returns the BTYD outputs it computed. Without `withPurchases`, btydExpectedPurchases and
 * btydClv are written as 0 (see btydOutputs).
 */
export function hybridRow(
  features: CustomerFeatures,
  btyd: BtydInputs,
  out: Float64Array,
  offset = 0,
  stride = 1,
  scratch: BtydOutputs = emptyBtydOutputs(),
  withPurchases = true,
  covariates: HybridCovariates = NO_COVARIATES,
): BtydOutputs {
  const b = btydOutputs(btyd, features, scratch, withPurchases);
  const frequency = features.frequency;
  const spanDays = features.tenureDays - features.recencyDays;
  const ipt = features.x > 0 ? spanDays / features.x : -1;
  let k = offset;
  out[k] = features.recencyDays;
  out[(k += stride)] = features.tenureDays;
  out[(k += stride)] = spanDays;
  out[(k += stride)] = frequency;
  out[(k += stride)] = features.orders;
  out[(k += stride)] = features.totalSpend;
  out[(k += stride)] = frequency > 0 ? features.totalSpend / frequency : 0;
  out[(k += stride)] = features.avgOrderSpend;
  out[(k += stride)] = features.maxOrderSpend;
  out[(k += stride)] = features.firstDaySpend;
  out[(k += stride)] = features.repeatMeanSpend;
  out[(k += stride)] = features.units;
  out[(k += stride)] = ipt;
  out[(k += stride)] = ipt > 0 ? features.recencyDays / ipt : -1;
  out[(k += stride)] = features.purchaseDaysLast90;
  out[(k += stride)] = features.spendLast13Weeks;
  out[(k += stride)] = features.ordersLast13Weeks;
  out[(k += stride)] = features.returns;
  out[(k += stride)] = features.returnSpend;
  out[(k += stride)] = b.pAlive;
  out[(k += stride)] = b.pNoPurchase;
  out[(k += stride)] = b.expectedPurchases;
  out[(k += stride)] = b.expectedSpend;
  out[(k += stride)] = b.expectedPurchases * b.expectedSpend;
  const countries = covariates.country;
  if (countries.length > 0) {
    const country = features.country;
    for (let c = 0; c < countries.length; c++) out[(k += stride)] = countries[c] === country ? 1 : 0;
  }
  return b;
}

/** A customer's hybrid row as of `asOfMs`, straight from the state record. */
export function hybridFeaturesOf(state: CustomerState, asOfMs: number, btyd: BtydInputs, covariates: HybridCovariates = NO_COVARIATES): Float64Array {
  const row = new Float64Array(hybridFeatureCount(covariates));
  hybridRow(featuresOf(state, asOfMs), btyd, row, 0, 1, emptyBtydOutputs(), true, covariates);
  return row;
}
