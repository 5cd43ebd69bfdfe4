import { describe, expect, it } from 'vitest';
import type { WeeklyTable } from '../../models/demand/demandSeries.ts';
import { weeklyProductTables } from '../../models/demand/demandSeries.ts';
import {
  InsufficientPriceVariationError,
  eligibility,
  pooledElasticity,
  productElasticity,
  roundHalfEven,
  studentTQuantile,
  studentTUpperTail,
} from '../../models/demand/elasticity.ts';
import { mulberry32 } from '../../models/numeric/pseudoRandom.ts';

const normal = (random: () => number) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** Weekly table with log q = a + b·log p + noise, prices spread around `basePrice`. */
function syntheticTable(productId: string, weeks: number, b: number, a: number, basePrice: number, noise: number, seed: number): WeeklyTable {
  const random = mulberry32(seed);
  const price = Float64Array.from({ length: weeks }, () => basePrice * Math.exp(0.3 * (random() - 0.5)));
  const units = price.map((p) => Math.exp(a + b * Math.log(p) + noise * normal(random)));
  return {
    productId,
    weeks: Int32Array.from({ length: weeks }, (_, i) => 2000 + i),
    units,
    revenue: units.map((q, i) => q * price[i]),
    price,
  };
}

describe('product elasticity (log-log OLS)', () => {
  it('recovers a known elasticity inside its confidence interval', () => {
    const fit = productElasticity(syntheticTable('A', 80, -2, 6, 3, 0.2, 1));
    expect(fit.ci[0]).toBeLessThan(-2);
    expect(fit.ci[1]).toBeGreaterThan(-2);
    expect(fit.coefficient).toBeCloseTo(-2, 0);
    expect(fit.observations).toBe(80);
    expect(fit.df).toBe(78);
    expect(fit.pValue).toBeLessThan(1e-6);
    // Signal variance 4·0.3²/12 = 0.03 against noise 0.2² = 0.04: R² near 0.43.
    expect(fit.rSquared).toBeGreaterThan(0.25);
    expect(fit.rSquared).toBeLessThan(0.6);
    expect(fit.interpretation).toMatch(/fewer weekly units/);
    expect(fit.interpretation).toMatch(/elastic/);
  });

  it('covers the true elasticity in about 95% of repeated samples', () => {
    let covered = 0;
    for (let seed = 0; seed < 400; seed++) {
      const fit = productElasticity(syntheticTable('A', 25, -1.5, 4, 2, 0.3, 100 + seed));
      if (fit.ci[0] <= -1.5 && -1.5 <= fit.ci[1]) covered++;
    }
    expect(covered / 400).toBeGreaterThan(0.92);
    expect(covered / 400).toBeLessThan(0.98);
  });

  it('matches a hand-computed regression', () => {
    // log p = 0, 1, 2, 3; log q = 5, 3, 2, 0: slope −1.6, intercept 4.9, RSS 0.2.
    const price = Float64Array.from([0, 1, 2, 3], Math.exp);
    const units = Float64Array.from([5, 3, 2, 0], Math.exp);
    const table = { productId: 'H', weeks: Int32Array.from([1, 2, 3, 4]), units, revenue: units.map((q, i) => q * price[i]), price };
    const fit = productElasticity(table, { minWeeks: 4 });
    expect(fit.coefficient).toBeCloseTo(-1.6, 12);
    expect(fit.intercept).toBeCloseTo(4.9, 12);
    expect(fit.standardError).toBeCloseTo(Math.sqrt(0.2 / 2 / 5), 12);
    expect(fit.rSquared).toBeCloseTo(1 - 0.2 / 13, 12);
  });

  it('refuses a product with too few weeks or too few distinct prices, with a typed error', () => {
    const short = syntheticTable('S', 12, -2, 6, 3, 0.2, 2);
    expect(() => productElasticity(short)).toThrow(InsufficientPriceVariationError);
    const twoPrices = syntheticTable('T', 30, -2, 6, 3, 0.2, 3);
    twoPrices.price = twoPrices.price.map((_, i) => (i % 2 ? 2.5 : 2.51));
    try {
      productElasticity(twoPrices);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InsufficientPriceVariationError);
      const typed = error as InsufficientPriceVariationError;
      expect(typed.reason).toMatch(/2 distinct weekly prices/);
      expect(typed.details).toMatchObject({ productId: 'T', observations: 30, distinctPrices: 2 });
    }
    expect(eligibility(twoPrices)).toMatchObject({ eligible: false, weeks: 30, distinctPrices: 2 });
  });
});

/** OLS with explicit product dummies by the normal equations (Gauss–Jordan), for the comparison. */
function dummyRegression(tables: WeeklyTable[]): { slope: number; se: number } {
  const rows: number[][] = [];
  const ys: number[] = [];
  tables.forEach((table, g) => {
    table.price.forEach((p, i) => {
      // Columns: log p, intercept, dummies for products 1..G−1.
      rows.push([Math.log(p), 1, ...tables.slice(1).map((_, d) => (d + 1 === g ? 1 : 0))]);
      ys.push(Math.log(table.units[i]));
    });
  });
  const k = rows[0].length;
  const xtx = Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => rows.reduce((s, r) => s + r[a] * r[b], 0)));
  const xty = Array.from({ length: k }, (_, a) => rows.reduce((s, r, i) => s + r[a] * ys[i], 0));
  const inverse = invert(xtx);
  const beta = inverse.map((row) => row.reduce((s, v, j) => s + v * xty[j], 0));
  const rss = rows.reduce((s, r, i) => s + (ys[i] - r.reduce((t, v, j) => t + v * beta[j], 0)) ** 2, 0);
  return { slope: beta[0], se: Math.sqrt((rss / (rows.length - k)) * inverse[0][0]) };
}

function invert(matrix: number[][]): number[][] {
  const n = matrix.length;
  const m = matrix.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const pivot = m.reduce((best, row, r) => (r >= c && Math.abs(row[c]) > Math.abs(m[best][c]) ? r : best), c);
    [m[c], m[pivot]] = [m[pivot], m[c]];
    const scale = m[c][c];
    m[c] = m[c].map((v) => v / scale);
    for (let r = 0; r < n; r++) if (r !== c) m[r] = m[r].map((v, j) => v - m[r][c] * m[c][j]);
  }
  return m.map((row) => row.slice(n));
}

describe('pooled elasticity with product fixed effects', () => {
  const tables = [
    syntheticTable('A', 24, -2.5, 7, 2, 0.3, 11),
    syntheticTable('B', 30, -1.5, 4, 6, 0.3, 12),
    syntheticTable('C', 21, -2, 9, 1, 0.3, 13),
  ];

  it('equals the explicit dummy regression: coefficient and classical SE (df = n − G − 1)', () => {
    const pooled = pooledElasticity(tables);
    const explicit = dummyRegression(tables);
    expect(pooled.coefficient).toBeCloseTo(explicit.slope, 10);
    expect(pooled.standardError).toBeCloseTo(explicit.se, 10);
    expect(pooled.df).toBe(75 - 3 - 1);
    expect(pooled.products).toBe(3);
    expect(pooled.observations).toBe(75);
    expect(pooled.clustered!.df).toBe(2);
    expect(pooled.clustered!.standardError).toBeGreaterThan(0);
  });

  it('pools only eligible products and refuses when none is', () => {
    const short = syntheticTable('D', 5, -2, 6, 3, 0.2, 14);
    expect(pooledElasticity([...tables, short]).products).toBe(3);
    expect(() => pooledElasticity([short])).toThrow(InsufficientPriceVariationError);
  });
});

describe('weekly tables and statistics helpers', () => {
  it('builds Monday weeks with a units-weighted price', () => {
    // 2024-01-01 is a Monday (day 19723): days 19723..19729 are one week, 19730 the next.
    const lines = [
      { day: 19723, productId: 'A', quantity: 10, price: 1 },
      { day: 19729, productId: 'A', quantity: 30, price: 2 },
      { day: 19730, productId: 'A', quantity: 5, price: 3 },
    ];
    const table = weeklyProductTables(lines).get('A')!;
    expect(Array.from(table.units)).toEqual([40, 5]);
    expect(Array.from(table.price)).toEqual([70 / 40, 3]);
    expect(table.weeks[1] - table.weeks[0]).toBe(1);
  });

  it("has Student's t quantiles and tails right", () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706204736, 6);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228138852, 8);
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.959966, 5);
    expect(2 * studentTUpperTail(2.228138852, 10)).toBeCloseTo(0.05, 9);
    expect(studentTUpperTail(0, 7)).toBeCloseTo(0.5, 12);
  });

  it('rounds prices half to even like numpy', () => {
    expect(roundHalfEven(0.125, 2)).toBe(0.12);
    expect(roundHalfEven(0.375, 2)).toBe(0.38);
    expect(roundHalfEven(2.504, 2)).toBe(2.5);
    expect(roundHalfEven(1.006, 2)).toBe(1.01);
  });
});
