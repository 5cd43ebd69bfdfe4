import { describe, expect, it } from 'vitest';
import {
  fitGammaGamma,
  gammaGammaExpectedSpend,
  gammaGammaLogLikelihood,
  gammaGammaStarts,
  gammaGammaTotalLogLikelihood,
  prepareGammaGammaData,
  type GammaGammaParams,
} from '../../models/clv/gammaGamma.ts';
import { lnGamma } from '../../models/numeric/specialFunctions.ts';
import { createDistributionSampler } from '../../producers/distributionSampler.ts';

/** FHL 2005 "RFM and CLV": the CDNOW sample's published Gamma-Gamma parameters. */
const PUBLISHED: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };

/** Customers with 1..8 repeat transactions, each worth Gamma(p, ν), ν ~ Gamma(q, γ) (rates). */
function simulateSpend(params: GammaGammaParams, customers: number, seed: number) {
  const random = createDistributionSampler(seed);
  const x = new Float64Array(customers);
  const m = new Float64Array(customers);
  for (let i = 0; i < customers; i++) {
    const nu = random.gamma(params.q, 1 / params.gamma);
    x[i] = 1 + random.int(8);
    let total = 0;
    for (let k = 0; k < x[i]; k++) total += random.gamma(params.p, 1 / nu);
    m[i] = total / x[i];
  }
  return { x, m };
}

describe('Gamma-Gamma log-likelihood', () => {
  it('for one transaction is the density of a gamma whose rate is gamma-distributed (numerical integral over ν)', () => {
    const { p, q, gamma } = PUBLISHED;
    for (const m of [3, 20, 75]) {
      // ∫ Gamma(m; p, ν) Gamma(ν; q, γ) dν by the midpoint rule on a fine grid of ν.
      let integral = 0;
      const step = 1e-4;
      for (let nu = step / 2; nu < 5; nu += step) {
        const lnDensity = p * Math.log(nu) + (p - 1) * Math.log(m) - nu * m - lnGamma(p)
          + q * Math.log(gamma) + (q - 1) * Math.log(nu) - gamma * nu - lnGamma(q);
        integral += Math.exp(lnDensity) * step;
      }
      expect(Math.abs(Math.exp(gammaGammaLogLikelihood(PUBLISHED, 1, m)) / integral - 1)).toBeLessThan(1e-6);
    }
  });

  it('the regrouped total equals the per-customer sum, leaving out x = 0 and m = 0', () => {
    const { x, m } = simulateSpend(PUBLISHED, 500, 1);
    const withExtras = { x: Float64Array.from([...x, 0, 3]), m: Float64Array.from([...m, 10, 0]) };
    const prepared = prepareGammaGammaData(withExtras);
    expect(prepared.customers).toBe(500);
    for (const params of [PUBLISHED, { p: 1, q: 1, gamma: 1 }]) {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += gammaGammaLogLikelihood(params, x[i], m[i]);
      expect(Math.abs(gammaGammaTotalLogLikelihood(params, prepared) - sum)).toBeLessThan(1e-9 * Math.abs(sum));
    }
  });
});

describe('Gamma-Gamma expected spend', () => {
  it('is the population mean pγ/(q−1) without repeats and tends to m as x grows', () => {
    const { p, q, gamma } = PUBLISHED;
    expect(gammaGammaExpectedSpend(PUBLISHED, 0, 0)).toBeCloseTo((p * gamma) / (q - 1), 12);
    const m = 80;
    let previousGap = Infinity;
    for (const x of [1, 2, 5, 20, 200]) {
      const gap = Math.abs(gammaGammaExpectedSpend(PUBLISHED, x, m) - m);
      expect(gap).toBeLessThan(previousGap);
      previousGap = gap;
    }
    expect(previousGap / m).toBeLessThan(0.01);
  });

  it('matches the mean of a next transaction simulated under the posterior (prior draws weighted by the likelihood)', () => {
    const random = createDistributionSampler(42);
    const { p, q, gamma } = PUBLISHED;
    for (const [x, m] of [[1, 12], [4, 35], [10, 20]]) {
      let weightSum = 0;
      let weightSquares = 0;
      let valueSum = 0;
      let valueSquares = 0;
      for (let i = 0; i < 200_000; i++) {
        const nu = random.gamma(q, 1 / gamma);
        // x·m is Gamma(p·x, ν): its density in ν, up to a constant.
        const weight = Math.exp(p * x * Math.log(nu) - nu * x * m);
        const next = random.gamma(p, 1 / nu);
        weightSum += weight;
        weightSquares += weight * weight;
        valueSum += weight * next;
        valueSquares += weight * next * next;
      }
      const mean = valueSum / weightSum;
      const variance = valueSquares / weightSum - mean * mean;
      const standardError = Math.sqrt((variance * weightSquares) / (weightSum * weightSum));
      expect(Math.abs(gammaGammaExpectedSpend(PUBLISHED, x, m) - mean)).toBeLessThan(4 * standardError);
    }
  });
});

describe('Gamma-Gamma fit', () => {
  it('uses (1, 1, 1) plus six starts whose population mean is mean(m)', () => {
    const starts = gammaGammaStarts(40);
    expect(starts[0]).toEqual({ p: 1, q: 1, gamma: 1 });
    expect(starts).toHaveLength(7);
    for (const start of starts.slice(1)) expect((start.p * start.gamma) / (start.q - 1)).toBeCloseTo(40, 10);
  });

  it('recovers simulated parameters, reaching at least the true parameters\' likelihood', () => {
    const data = simulateSpend(PUBLISHED, 8000, 9);
    const fit = fitGammaGamma(data);
    expect(fit.customers).toBe(8000);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(gammaGammaTotalLogLikelihood(PUBLISHED, prepareGammaGammaData(data)));
    const populationMean = (params: GammaGammaParams) => (params.p * params.gamma) / (params.q - 1);
    expect(Math.abs(populationMean(fit.params) / populationMean(PUBLISHED) - 1)).toBeLessThan(0.05);
    for (const key of ['p', 'q', 'gamma'] as const) expect(Math.abs(fit.params[key] / PUBLISHED[key] - 1)).toBeLessThan(0.3);
  });

  it('needs a customer with a repeat purchase of positive value', () => {
    expect(() => fitGammaGamma({ x: Float64Array.of(0, 2), m: Float64Array.of(0, 0) })).toThrow(/at least one customer/);
  });
});
