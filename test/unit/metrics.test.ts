import { describe, expect, it } from 'vitest';
import { compareCustomerIds } from '../../models/customer/customerIds.ts';
import {
  averagePrecision,
  averageRanks,
  brierScore,
  churnMetrics,
  clvMetrics,
  meanAbsoluteError,
  reliabilityTable,
  rocAuc,
  rootMeanSquaredError,
  spearman,
  topShare,
  totalRatio,
} from '../../models/evaluation/metrics.ts';

/** Every expected value below is worked out by hand in the comment next to it. */
describe('churn metrics', () => {
  it('ROC-AUC: scikit-learn’s documented example, ties counted one half, one class is NaN', () => {
    // Positives 0.35, 0.8; negatives 0.1, 0.4: of 4 pairs, (0.35 vs 0.4) is the only one ranked wrong.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    // One tied pair: half credit.
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    // Positives {0.9, 0.5}, negatives {0.5, 0.1}: pairs (0.9>0.5) (0.9>0.1) (0.5=0.5: ½) (0.5>0.1) → 3.5 / 4.
    expect(rocAuc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])).toBe(0.875);
    expect(rocAuc([0.2, 0.3], [1, 1])).toBeNaN();
  });

  it('average precision: scikit-learn’s example and tied scores entering together', () => {
    // Thresholds 0.8 (P 1, R ½), 0.4 (P ½, R ½: no gain), 0.35 (P ⅔, R 1): ½·1 + ½·⅔ = 5/6.
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(5 / 6, 15);
    // 0.5 (two rows, one positive): P ½, R ½; 0.2: P ⅔, R 1 → ½·½ + ½·⅔ = 7/12.
    expect(averagePrecision([0.5, 0.5, 0.2], [1, 0, 1])).toBeCloseTo(7 / 12, 15);
    expect(averagePrecision([0.5, 0.2], [0, 0])).toBeNaN();
  });

  it('Brier score is the mean squared gap to the 0/1 label', () => {
    // (0.1 − 0)² + (0.9 − 1)² + (0.8 − 0)² = 0.01 + 0.01 + 0.64 = 0.66, over 3.
    expect(brierScore([0.1, 0.9, 0.8], [0, 1, 0])).toBeCloseTo(0.22, 15);
  });

  it('churnMetrics adds PR-AUC with buyers as positives on the negated score', () => {
    const p = [0.1, 0.4, 0.35, 0.8];
    const churned = [0, 0, 1, 1];
    const m = churnMetrics(p, churned);
    expect(m.rocAuc).toBe(0.75);
    // Buyers (rows 0, 1) ranked by −p: −0.1 (buyer) P 1 R ½; −0.35 (churner) ; −0.4 (buyer) P ⅔ R 1 → ½ + ⅓ = 5/6.
    expect(m.prAucActive).toBeCloseTo(5 / 6, 15);
  });

  it('reliability table: equal-size groups by predicted probability, mean prediction against observed rate', () => {
    const table = reliabilityTable([0.9, 0.1, 0.2, 0.8], [1, 0, 1, 1], 2);
    // Sorted: 0.1 (0), 0.2 (1) | 0.8 (1), 0.9 (1).
    expect(table).toEqual([
      { bin: 1, count: 2, meanPredicted: (0.1 + 0.2) / 2, observedRate: 0.5 },
      { bin: 2, count: 2, meanPredicted: (0.8 + 0.9) / 2, observedRate: 1 },
    ]);
    expect(reliabilityTable(Array.from({ length: 25 }, (_, i) => i / 25), new Array(25).fill(0)).map((b) => b.count)).toEqual([2, 3, 2, 3, 2, 3, 2, 3, 2, 3]);
  });
});

describe('CLV metrics', () => {
  it('MAE and RMSE', () => {
    // Errors 1, 0, 2.
    expect(meanAbsoluteError([1, 2, 3], [2, 2, 5])).toBe(1);
    expect(rootMeanSquaredError([1, 2, 3], [2, 2, 5])).toBeCloseTo(Math.sqrt(5 / 3), 15);
  });

  it('average ranks and Spearman with ties (scipy’s rankdata / spearmanr)', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([0, 0, 0]))).toEqual([2, 2, 2]);
    // Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): deviations (−1.5, 0, 0, 1.5), (−1.5, .5, −.5, 1.5);
    // covariance 4.5, variances 4.5 and 5 → 4.5 / √22.5.
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 15);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 15);
  });

  it('top-10% share: ceil(10% of N) customers by prediction, ties by ascending numeric id', () => {
    // N = 4 at 25%: one customer. Ids "3" and "10" tie at 5: numerically 3 < 10, so "3" (actual 10) is taken.
    const ids = ['10', '3', '2', '1'];
    const predictions = [5, 5, 1, 0];
    const actual = [0, 10, 20, 70];
    expect(topShare(predictions, actual, ids, 0.25)).toBe(0.1);
    // Two customers: "3" and "10" → 10 of 100.
    expect(topShare(predictions, actual, ids, 0.5)).toBe(0.1);
    // ceil(0.1 × 11) = 2.
    const eleven = Array.from({ length: 11 }, (_, i) => i);
    expect(topShare(eleven, eleven, eleven.map(String), 0.1)).toBe((10 + 9) / 55);
    expect(compareCustomerIds('9', '10')).toBeLessThan(0);
    expect(compareCustomerIds('b', 'a')).toBeGreaterThan(0);
  });

  it('total ratio and the bundle', () => {
    expect(totalRatio([1, 2, 3], [2, 2, 2])).toBe(1);
    const m = clvMetrics([0, 10], [5, 5], ['1', '2']);
    expect(m).toEqual({ mae: 5, rmse: 5, spearman: NaN, top10Share: 0.5, totalRatio: 1 });
  });

  it('rejects mismatched lengths', () => {
    expect(() => rocAuc([0.1], [1, 0])).toThrow(/1 predictions for 2 targets/);
    expect(() => topShare([1], [1], [], 0.1)).toThrow(/ids/);
  });
});
