import { describe, expect, it } from 'vitest';
import { optimizePrice, pricePoint, type PriceOptimizationInput } from '../../models/demand/priceOptimization.ts';

/** Best profit on a fine grid over the band: the brute-force answer the closed form must match. */
function gridBest(input: PriceOptimizationInput, points = 20001): { price: number; profit: number } {
  const [low, high] = input.band ?? [0.5, 2];
  let best = { price: NaN, profit: -Infinity };
  for (let i = 0; i < points; i++) {
    const price = input.currentPrice * (low + ((high - low) * i) / (points - 1));
    const { profit } = pricePoint(price, input);
    if (profit > best.profit) best = { price, profit };
  }
  return best;
}

describe('optimizePrice', () => {
  it('puts the elastic optimum at c·b/(1+b) when it lies inside the band', () => {
    const input = { currentPrice: 10, currentQuantity: 100, costPerUnit: 6, elasticity: -2.5 };
    const result = optimizePrice(input);
    expect(result.regime).toBe('elastic');
    expect(result.unconstrainedOptimalPrice).toBeCloseTo(10, 12);
    expect(result.optimal.price).toBeCloseTo(10, 12);
    expect(result.position).toBe('interior');
    const grid = gridBest(input);
    expect(Math.abs(grid.price - result.optimal.price)).toBeLessThan(0.002);
    expect(result.optimal.profit).toBeGreaterThanOrEqual(grid.profit - 1e-9);
  });

  it('agrees with a grid search across elasticities, costs and bands', () => {
    const cases: PriceOptimizationInput[] = [];
    for (const elasticity of [-1.2, -1.8, -3, -4.2, -6])
      for (const cost of [0.5, 3, 7])
        for (const band of [[0.5, 2], [0.8, 1.2]] as [number, number][]) cases.push({ currentPrice: 5, currentQuantity: 40, costPerUnit: cost, elasticity, band });
    for (const input of cases) {
      const result = optimizePrice(input);
      const grid = gridBest(input);
      expect(result.optimal.profit).toBeGreaterThanOrEqual(grid.profit - 1e-9 * Math.abs(grid.profit));
      expect(Math.abs(result.optimal.price - grid.price)).toBeLessThan(0.01);
    }
  });

  it('answers the upper edge for inelastic demand and says so', () => {
    const input = { currentPrice: 4, currentQuantity: 50, costPerUnit: 2, elasticity: -0.6 };
    const result = optimizePrice(input);
    expect(result.regime).toBe('inelastic');
    expect(result.unconstrainedOptimalPrice).toBeNull();
    expect(result.position).toBe('upper-edge');
    expect(result.optimal.price).toBe(8);
    expect(result.explanation).toMatch(/inelastic/);
    expect(result.explanation).toMatch(/no interior optimum/);
    expect(result.optimal.profit).toBeCloseTo(gridBest(input).profit, 9);
  });

  it('treats elasticity −1 with a cost as inelastic and a non-negative one as suspect', () => {
    expect(optimizePrice({ currentPrice: 4, currentQuantity: 50, costPerUnit: 1, elasticity: -1 }).position).toBe('upper-edge');
    const rising = optimizePrice({ currentPrice: 4, currentQuantity: 50, costPerUnit: 1, elasticity: 0.4 });
    expect(rising.regime).toBe('non-negative');
    expect(rising.position).toBe('upper-edge');
    expect(rising.explanation).toMatch(/not negative/);
  });

  it('clips an optimum outside the band to the band edge', () => {
    // c·b/(1+b) = 9·(−1.5)/(−0.5) = 27, far above 2 × 10.
    const high = optimizePrice({ currentPrice: 10, currentQuantity: 10, costPerUnit: 9, elasticity: -1.5 });
    expect(high.unconstrainedOptimalPrice).toBeCloseTo(27, 12);
    expect(high.optimal.price).toBe(20);
    expect(high.position).toBe('upper-edge');
    // 1·(−6)/(−5) = 1.2, below 0.5 × 10.
    const low = optimizePrice({ currentPrice: 10, currentQuantity: 10, costPerUnit: 1, elasticity: -6 });
    expect(low.optimal.price).toBe(5);
    expect(low.position).toBe('lower-edge');
    const narrow = optimizePrice({ currentPrice: 10, currentQuantity: 10, costPerUnit: 1, elasticity: -6, band: [0.9, 1.1] });
    expect(narrow.optimal.price).toBe(9);
    expect(narrow.band).toEqual({ min: 9, max: 11 });
  });

  it('reports quantity, revenue and profit at the current and the optimal price', () => {
    const result = optimizePrice({ currentPrice: 10, currentQuantity: 100, costPerUnit: 4, elasticity: -2 });
    expect(result.current).toEqual({ price: 10, quantity: 100, revenue: 1000, profit: 600 });
    // p* = 4·(−2)/(−1) = 8: q = 100·(0.8)^−2 = 156.25.
    expect(result.optimal.price).toBeCloseTo(8, 12);
    expect(result.optimal.quantity).toBeCloseTo(156.25, 9);
    expect(result.optimal.revenue).toBeCloseTo(1250, 9);
    expect(result.optimal.profit).toBeCloseTo(625, 9);
    expect(result.profitChange).toBeCloseTo(25, 9);
  });

  it('rejects impossible inputs naming the field', () => {
    const base = { currentPrice: 10, currentQuantity: 10, costPerUnit: 1, elasticity: -2 };
    expect(() => optimizePrice({ ...base, currentPrice: 0 })).toThrow(/current_price/);
    expect(() => optimizePrice({ ...base, currentQuantity: -1 })).toThrow(/current_quantity/);
    expect(() => optimizePrice({ ...base, costPerUnit: Number.NaN })).toThrow(/cost_per_unit/);
    expect(() => optimizePrice({ ...base, band: [1.5, 1.2] })).toThrow(/band/);
  });
});
