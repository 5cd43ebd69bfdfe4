import { createHash } from 'node:crypto';
import { z } from 'zod';
import { bgnbdNoPurchaseGivenAlive, bgnbdProbabilityAlive, bgnbdPurchasesIfAlive, type BgnbdParams } from './bgnbd.ts';
import { WEEK_DAYS } from '../time/calendar.ts';
import type { CustomerFeatures } from '../customer/customerFeatures.ts';
import type { CustomerModel, ModelScore } from './customerModel.ts';
import { gammaGammaExpectedSpend, type GammaGammaParams } from './gammaGamma.ts';
import { describeZodError } from '../customer/orderEvent.ts';

const positive = z.number().positive();

/** Fitted BG/NBD parameters as artifacts store them (this one's and the hybrid model's BTYD part). */
export const BgnbdFitSchema = z.object({ r: positive, alpha: positive, a: positive, b: positive, logLikelihood: z.number() });

/** Fitted Gamma-Gamma parameters as artifacts store them. */
export const GammaGammaFitSchema = z.object({
  p: positive,
  q: z.number().gt(1, 'must exceed 1 (the Gamma-Gamma mean spend p·γ/(q−1) is finite only then)'),
  gamma: positive,
  logLikelihood: z.number(),
});

/**
 * The BG/NBD + Gamma-Gamma model artifact (a JSON file or S3 object). Times are in weeks inside
 * the models, the horizon in days outside. `version` is derived from the parameters and the
 * horizon, so the same fit always carries the same version and an edited artifact cannot pass
 * for the one it was copied from.
 */
export const BtydArtifactSchema = z
  .object({
    kind: z.literal('btyd'),
    formatVersion: z.literal(1),
    version: z.string().regex(/^btyd-[0-9a-f]{12}$/, 'must be "btyd-" and 12 hex digits'),
    horizonDays: z.number().int().positive(),
    calibrationEnd: z.iso.date(),
    trainedOn: z.object({ customers: z.number().int().nonnegative(), events: z.number().int().nonnegative() }),
    bgnbd: BgnbdFitSchema,
    gammaGamma: GammaGammaFitSchema,
  })
  .superRefine((artifact, context) => {
    const expected = btydVersion(artifact);
    if (artifact.version !== expected) {
      context.addIssue({ code: 'custom', path: ['version'], message: `does not match the parameters (expected ${expected})` });
    }
  });

export type BtydArtifact = z.infer<typeof BtydArtifactSchema>;

/** 'btyd-' + the first 12 hex digits of sha256 over the parameters and horizon (full precision). */
export function btydVersion(artifact: Pick<BtydArtifact, 'bgnbd' | 'gammaGamma' | 'horizonDays'>): string {
  const { bgnbd, gammaGamma } = artifact;
  const key = JSON.stringify([bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b, gammaGamma.p, gammaGamma.q, gammaGamma.gamma, artifact.horizonDays]);
  return `btyd-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** Assembles and validates an artifact; throws with the failing fields named. */
export function btydArtifact(fields: Omit<BtydArtifact, 'kind' | 'formatVersion' | 'version'>): BtydArtifact {
  const candidate = { kind: 'btyd' as const, formatVersion: 1 as const, version: btydVersion(fields), ...fields };
  return parseArtifact(candidate);
}

function parseArtifact(json: unknown): BtydArtifact {
  const parsed = BtydArtifactSchema.safeParse(json);
  if (!parsed.success) throw new Error(`invalid BTYD model artifact: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** churnCrossingDays looks this far (about 270 years) before answering "never". */
const MAX_SILENCE_DAYS = 100_000;
/** Entries each memo keeps before starting afresh. */
const MAX_REMEMBERED = 200_000;

/**
 * A small-integer key for a summary pair (repeat count, weeks) as featuresOf makes them (whole
 * x, weeks = whole days / 7), or -1 for any other pair, which is then not remembered: the key
 * is exact, never shared by two different pairs.
 */
function summaryKey(x: number, weeks: number): number {
  const days = Math.round(weeks * 7);
  if (!(x >= 0 && x < 512 && Number.isInteger(x) && days >= 0 && days < 2_097_152 && days / 7 === weeks)) return -1;
  return x * 2_097_152 + days;
}

/** Summaries beyond this are clamped: no customer is a billion weeks old, and Infinity would make NaN. */
const MAX_SUMMARY = 1e9;

/**
 * Scores a customer's features in closed form. Churn probability is P(no purchase within the
 * horizon), not 1 − P(alive) (which is 0 for every one-time buyer); CLV is
 * E[purchases within the horizon] × E[spend per purchase]. `expectedSpend` is the latter
 * (Gamma-Gamma E[M | x, m]), per purchase.
 */
export class BtydModel implements CustomerModel {
  readonly version: string;
  readonly horizonDays: number;
  private readonly artifact: BtydArtifact;
  private readonly bgnbd: BgnbdParams;
  private readonly gammaGamma: GammaGammaParams;
  /** Horizon in weeks, the unit of x, tx and T. */
  private readonly t: number;
  /** purchasesIfAlive's memory: summaryKey(x, T) → E[purchases within the horizon | alive]. */
  private readonly purchases = new Map<number, number>();
  /** churnCrossingDays' memory: summaryKey(x, tx) → days, for one threshold at a time. */
  private readonly crossings = new Map<number, number>();
  private crossingThreshold = Number.NaN;

  private constructor(artifact: BtydArtifact) {
    this.artifact = artifact;
    this.version = artifact.version;
    this.horizonDays = artifact.horizonDays;
    const { r, alpha, a, b } = artifact.bgnbd;
    this.bgnbd = { r, alpha, a, b };
    const { p, q, gamma } = artifact.gammaGamma;
    this.gammaGamma = { p, q, gamma };
    this.t = artifact.horizonDays / WEEK_DAYS;
  }

  /** Validates an artifact (parsed JSON) and builds its scorer; throws naming the failing fields. */
  static load(json: unknown): BtydModel {
    return new BtydModel(parseArtifact(json));
  }

  toJSON(): BtydArtifact {
    return structuredClone(this.artifact);
  }

  /** P(no purchase within the horizon): two powers, no hypergeometric function. */
  churnProbability(features: CustomerFeatures): number {
    return this.churnOf(features.x, features.tx, features.T);
  }

  /** churnProbability as a function of the three summaries it reads: x, tx and T. */
  private churnOf(rawX: number, tx: number, rawT: number): number {
    const x = repeatCount(rawX);
    const T = clampWeeks(rawT);
    const pAlive = bgnbdProbabilityAlive(this.bgnbd, x, clampWeeks(Math.min(tx, T)), T);
    return probability(bgnbdNoPurchaseGivenAlive(this.bgnbd, pAlive, x, T, this.t));
  }

  /**
   * bgnbdPurchasesIfAlive for this model, remembered per (x, T): a hypergeometric series of up
   * to a hundred terms, while day-granular summaries take few distinct values (x repeat days, T
   * whole days / 7), so a stream of rescores keeps meeting the same pairs. Same value, same bits.
   */
  private purchasesIfAlive(x: number, T: number): number {
    const key = summaryKey(x, T);
    if (key < 0) return bgnbdPurchasesIfAlive(this.bgnbd, x, T, this.t);
    let value = this.purchases.get(key);
    if (value === undefined) {
      value = bgnbdPurchasesIfAlive(this.bgnbd, x, T, this.t);
      if (this.purchases.size >= MAX_REMEMBERED) this.purchases.clear();
      this.purchases.set(key, value);
    }
    return value;
  }

  /**
   * With no further purchase, the first whole number of days since the first purchase, k >= the
   * days from first to last purchase, at which churnProbability reaches `threshold`: the value
   * it returns for these features with T = k / 7, exactly as featuresOf computes T on that day.
   * Infinity if churn stays below the threshold for MAX_SILENCE_DAYS (over 270 years).
   *
   * Churn here reads the as-of time only through T, and for T >= tx it only grows with T
   * (P(alive) falls, the chance of a silent horizon while alive rises), so the answer depends
   * on (x, tx) alone and is remembered per pair: the due-time search of a whole stream reduces
   * to one search per distinct (x, tx), and each of those to exponential then binary search.
   */
  churnCrossingDays(features: CustomerFeatures, threshold: number): number {
    const x = features.x;
    const tx = features.tx;
    const key = summaryKey(x, tx);
    if (key < 0) return this.searchCrossingDays(x, tx, threshold);
    if (threshold !== this.crossingThreshold) {
      this.crossings.clear();
      this.crossingThreshold = threshold;
    }
    let days = this.crossings.get(key);
    if (days === undefined) {
      days = this.searchCrossingDays(x, tx, threshold);
      if (this.crossings.size >= MAX_REMEMBERED) this.crossings.clear();
      this.crossings.set(key, days);
    }
    return days;
  }

  private searchCrossingDays(x: number, tx: number, threshold: number): number {
    if (!Number.isFinite(tx)) return Infinity;
    // The smallest whole day count at which T = k / 7 is not below tx: T >= tx from there on.
    let lo = Math.max(0, Math.ceil(tx * 7));
    while (lo > 0 && (lo - 1) / 7 >= tx) lo--;
    while (lo / 7 < tx) lo++;
    const first = lo;
    if (this.churnOf(x, tx, lo / 7) >= threshold) return lo;
    // churn(lo) < threshold: find hi with churn(hi) >= threshold, then the first crossing in (lo, hi].
    let step = 64;
    let hi = lo + step;
    while (this.churnOf(x, tx, hi / 7) < threshold) {
      if (hi - first > MAX_SILENCE_DAYS) return Infinity;
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.churnOf(x, tx, mid / 7) >= threshold) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  score(features: CustomerFeatures): ModelScore {
    const x = repeatCount(features.x);
    const T = clampWeeks(features.T);
    const pAlive = bgnbdProbabilityAlive(this.bgnbd, x, clampWeeks(Math.min(features.tx, T)), T);
    const expectedPurchases = nonNegative(pAlive * this.purchasesIfAlive(x, T));
    const m = features.repeatMeanSpend > 0 && features.repeatMeanSpend < Infinity ? features.repeatMeanSpend : 0;
    const expectedSpend = nonNegative(gammaGammaExpectedSpend(this.gammaGamma, x, m));
    return {
      churnProbability: probability(bgnbdNoPurchaseGivenAlive(this.bgnbd, pAlive, x, T, this.t)),
      clv: nonNegative(expectedPurchases * expectedSpend),
      pAlive: probability(pAlive),
      expectedPurchases,
      expectedSpend,
    };
  }

}

/** NaN and negatives become 0, so a malformed feature cannot poison a score. */
function repeatCount(x: number): number {
  return x > 0 ? (x < MAX_SUMMARY ? x : MAX_SUMMARY) : 0;
}

function clampWeeks(weeks: number): number {
  return weeks > 0 ? (weeks < MAX_SUMMARY ? weeks : MAX_SUMMARY) : 0;
}

function probability(value: number): number {
  return value > 0 ? (value < 1 ? value : 1) : 0;
}

/** NaN becomes 0 and an overflow the largest finite number: extreme but valid. */
function nonNegative(value: number): number {
  return value > 0 ? Math.min(value, Number.MAX_VALUE) : 0;
}
