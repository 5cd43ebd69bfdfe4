import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type CustomerEvalJson, resolveOptions, run, runCustomerEval } from '../../bin/commands/evalCustomers.ts';
import type { CustomerEvaluation } from '../../models/evaluation/customerEvaluation.ts';
import { CDNOW_MASTER as CDNOW, ONLINE_RETAIL_II as RETAIL } from '../support/sharedData.ts';

/**
 * The churn/CLV goals of issue 4, end to end from the raw files through the commands
 * `npx demand-insights eval cdnow --data … --json` and `npx demand-insights eval --data …
 * --format online-retail --calibration-end 2010-09-01 --holdout-end 2010-11-30 --json` run:
 * state records built by applyEvent from the event stream, 5-fold cross-fitting with
 * fold = customer id mod 5, metrics on the pooled out-of-fold predictions.
 */


async function printed(options: Record<string, unknown>, protocol?: string): Promise<{ json: CustomerEvalJson; text: string }> {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    await run({ ...options, json: true }, protocol);
  } finally {
    spy.mockRestore();
  }
  return { json: JSON.parse(text) as CustomerEvalJson, text };
}

describe('CDNOW protocol (eval cdnow)', () => {
  let result: CustomerEvalJson;
  let detail: CustomerEvaluation;

  beforeAll(async () => {
    result = (await printed({ data: CDNOW }, 'cdnow')).json;
    // The same run's details (reliability table, per-fold spread) through the same code path.
    detail = await runCustomerEval(resolveOptions({ data: CDNOW }, 'cdnow'));
  }, 300_000);

  it('prints exactly the issue’s JSON keys', () => {
    expect(Object.keys(result)).toEqual(['churn', 'clv', 'btyd', 'segmentation', 'fitSeconds']);
    expect(Object.keys(result.churn)).toEqual(['rocAuc', 'prAuc', 'brier']);
    expect(Object.keys(result.clv)).toEqual(['mae', 'rmse', 'spearman', 'top10Share', 'totalRatio']);
    expect(Object.keys(result.btyd)).toEqual(['r', 'alpha', 'a', 'b']);
    expect(Object.keys(result.segmentation)).toEqual(['silhouette']);
  });

  it('churn: ROC-AUC >= 0.772 and Brier <= 0.158 (best references 0.7710 / 0.1584), calibrated within 0.03 per decile', () => {
    expect(result.churn.rocAuc).toBeGreaterThanOrEqual(0.772);
    expect(result.churn.brier).toBeLessThanOrEqual(0.158);
    expect(result.churn.prAuc).toBeGreaterThan(0.8529);
    expect(detail.reliability).toHaveLength(10);
    for (const bin of detail.reliability) expect(Math.abs(bin.meanPredicted - bin.observedRate)).toBeLessThan(0.03);
  });

  it('CLV: Spearman >= 0.450, top-10% share >= 0.523, total within 0.95..1.05, RMSE below every reference', () => {
    expect(result.clv.spearman).toBeGreaterThanOrEqual(0.45);
    expect(result.clv.top10Share).toBeGreaterThanOrEqual(0.523);
    expect(result.clv.totalRatio).toBeGreaterThanOrEqual(0.95);
    expect(result.clv.totalRatio).toBeLessThanOrEqual(1.05);
    expect(result.clv.rmse).toBeLessThan(92.94);
    // Honest expected spend at a correct total: MAE below every reference with a total in 0.95..1.05
    // (LightGBM 35.72, RandomForest 35.26).
    expect(result.clv.mae).toBeLessThan(35.26);
  });

  it('BTYD and segmentation match the protocol’s reference figures', () => {
    expect(result.btyd.r).toBeCloseTo(0.2516, 3);
    expect(result.btyd.alpha).toBeCloseTo(4.789, 2);
    expect(result.btyd.a).toBeCloseTo(0.7234, 3);
    expect(result.btyd.b).toBeCloseTo(2.161, 2);
    expect(result.segmentation.silhouette).toBeCloseTo(0.412, 2);
    expect(result.fitSeconds).toBeGreaterThan(0);
  });

  it('is deterministic: the second run scores the same', () => {
    expect(detail.churn.rocAuc).toBe(result.churn.rocAuc);
    expect(detail.clv.mae).toBe(result.clv.mae);
  });
});

describe('Online Retail II, temporal split (eval --format online-retail)', () => {
  let result: CustomerEvalJson;

  beforeAll(async () => {
    result = (
      await printed({ data: RETAIL, format: 'online-retail', calibrationEnd: '2010-09-01', holdoutEnd: '2010-11-30' })
    ).json;
  }, 300_000);

  it('churn: ROC-AUC >= 0.725 (best reference 0.716) with a Brier below BG/NBD’s 0.223', () => {
    expect(result.churn.rocAuc).toBeGreaterThanOrEqual(0.725);
    expect(result.churn.brier).toBeLessThan(0.223);
  });

  it('CLV: Spearman >= 0.50 (best reference 0.472) with the total within 0.9..1.1 (BG/NBD × Gamma-Gamma: 0.69)', () => {
    expect(result.clv.spearman).toBeGreaterThanOrEqual(0.5);
    expect(result.clv.totalRatio).toBeGreaterThanOrEqual(0.9);
    expect(result.clv.totalRatio).toBeLessThanOrEqual(1.1);
    expect(result.clv.top10Share).toBeGreaterThan(0.504);
  });

  // No published BG/NBD fit exists for this population: this checks only that the fit is a proper
  // one (every parameter positive and finite) and that the segmentation separates at all.
  it('fits BG/NBD with positive, finite parameters and segments with a positive silhouette', () => {
    for (const key of ['r', 'alpha', 'a', 'b'] as const) {
      expect(Number.isFinite(result.btyd[key]), key).toBe(true);
      expect(result.btyd[key], key).toBeGreaterThan(0);
    }
    expect(result.segmentation.silhouette).toBeGreaterThan(0);
  });
});

describe('eval option checks', () => {
  it('names what is missing', () => {
    expect(() => resolveOptions({}, 'cdnow')).toThrow(/--data/);
    expect(() => resolveOptions({ data: 'x', format: 'jsonl' })).toThrow(/--calibration-end and --holdout-end/);
    expect(() => resolveOptions({ data: 'x', format: 'nope', calibrationEnd: '2020-01-01', holdoutEnd: '2020-02-01' })).toThrow(/--format/);
    expect(() => resolveOptions({ data: 'x', format: 'jsonl', calibrationEnd: '2020-02-30', holdoutEnd: '2020-03-01' })).toThrow(/calendar date/);
    expect(() => resolveOptions({ data: 'x', format: 'jsonl', calibrationEnd: '2020-03-01', holdoutEnd: '2020-03-01' })).toThrow(/must come after/);
    expect(resolveOptions({ data: 'x' }, 'cdnow')).toEqual({ data: 'x', format: 'cdnow', calibrationEnd: '1997-09-30', holdoutEnd: '1998-06-30' });
  });
});
