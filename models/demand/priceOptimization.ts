/**
 * Profit-maximising price under constant-elasticity demand q(p) = q0·(p/p0)^b with unit cost c,
 * restricted to a band around the current price p0.
 *
 * Profit π(p) = (p − c)·q(p) has dπ/dp ∝ p^(b−1)·((1 + b)·p − b·c), so:
 * - b < −1 (elastic): π rises up to p* = c·b/(1 + b) and falls after it; the bounded optimum is p*
 *   clipped to the band;
 * - b >= −1 (inelastic, or demand not falling with price): π rises with price everywhere (when
 *   c > 0 or b > −1), so the best price in the band is its upper edge. The model has no interior
 *   optimum there; the answer is an edge, and the result says so.
 */

export interface PriceOptimizationInput {
  currentPrice: number;
  /** Units sold per period at the current price. */
  currentQuantity: number;
  costPerUnit: number;
  /** Elasticity b of the constant-elasticity demand curve. */
  elasticity: number;
  /** Allowed prices as multiples of the current price, [min, max]. */
  band?: [number, number];
}

export const DEFAULT_PRICE_BAND: [number, number] = [0.5, 2.0];

export interface PricePoint {
  price: number;
  quantity: number;
  revenue: number;
  profit: number;
}

export type PriceRegime = 'elastic' | 'inelastic' | 'non-negative';

export interface PriceOptimization {
  elasticity: number;
  regime: PriceRegime;
  current: PricePoint;
  optimal: PricePoint;
  /** c·b/(1 + b) when b < −1 (before clipping to the band), otherwise null: no interior optimum. */
  unconstrainedOptimalPrice: number | null;
  /** Where the answer sits: inside the band, or pinned to one of its edges. */
  position: 'interior' | 'lower-edge' | 'upper-edge';
  band: { min: number; max: number };
  profitChange: number;
  explanation: string;
}

function demandAt(price: number, input: PriceOptimizationInput): number {
  return input.currentQuantity * (price / input.currentPrice) ** input.elasticity;
}

export function pricePoint(price: number, input: PriceOptimizationInput): PricePoint {
  const quantity = demandAt(price, input);
  return { price, quantity, revenue: price * quantity, profit: (price - input.costPerUnit) * quantity };
}

export function optimizePrice(input: PriceOptimizationInput): PriceOptimization {
  validate(input);
  const [lowFactor, highFactor] = input.band ?? DEFAULT_PRICE_BAND;
  const band = { min: lowFactor * input.currentPrice, max: highFactor * input.currentPrice };
  const b = input.elasticity;
  const regime: PriceRegime = b < -1 ? 'elastic' : b < 0 ? 'inelastic' : 'non-negative';
  const unconstrained = b < -1 ? (input.costPerUnit * b) / (1 + b) : null;
  const flat = b === -1 && input.costPerUnit === 0;
  const price = flat ? clamp(input.currentPrice, band) : unconstrained === null ? band.max : clamp(unconstrained, band);
  const position = price <= band.min && !flat ? 'lower-edge' : price >= band.max && !flat ? 'upper-edge' : 'interior';
  const current = pricePoint(input.currentPrice, input);
  const optimal = pricePoint(price, input);
  return {
    elasticity: b,
    regime,
    current,
    optimal,
    unconstrainedOptimalPrice: unconstrained,
    position,
    band,
    profitChange: optimal.profit - current.profit,
    explanation: explain(regime, position, unconstrained, flat, band),
  };
}

function clamp(price: number, band: { min: number; max: number }): number {
  return Math.min(band.max, Math.max(band.min, price));
}

function validate(input: PriceOptimizationInput): void {
  const positive = (name: string, value: number) => {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  };
  positive('current_price', input.currentPrice);
  if (!(Number.isFinite(input.currentQuantity) && input.currentQuantity >= 0)) {
    throw new RangeError(`current_quantity must be a non-negative number, got ${input.currentQuantity}`);
  }
  if (!(Number.isFinite(input.costPerUnit) && input.costPerUnit >= 0)) {
    throw new RangeError(`cost_per_unit must be a non-negative number, got ${input.costPerUnit}`);
  }
  if (!Number.isFinite(input.elasticity)) throw new RangeError(`elasticity must be a finite number, got ${input.elasticity}`);
  const [low, high] = input.band ?? DEFAULT_PRICE_BAND;
  positive('band minimum', low);
  if (!(Number.isFinite(high) && high >= low)) throw new RangeError(`band maximum must be >= its minimum, got [${low}, ${high}]`);
}

function explain(
  regime: PriceRegime,
  position: PriceOptimization['position'],
  unconstrained: number | null,
  flat: boolean,
  band: { min: number; max: number },
): string {
  const edge = `the band's upper edge (${band.max.toFixed(2)})`;
  if (flat) return 'With elasticity −1 and no unit cost, revenue and profit are the same at every price: the current price is kept.';
  if (regime === 'inelastic') {
    return `Demand is inelastic (|elasticity| <= 1): units fall more slowly than the price rises, so profit keeps increasing with price and the model has no interior optimum. The answer is ${edge}; treat it as "raise the price", not as a precise target.`;
  }
  if (regime === 'non-negative') {
    return `The estimated elasticity is not negative: in this model demand does not fall with price, so profit increases with price and the answer is ${edge}. Such an estimate usually reflects confounding (season, order size), not real demand; do not act on it without checking.`;
  }
  const target = `c·b/(1+b) = ${unconstrained!.toFixed(2)}`;
  if (position === 'interior') return `Demand is elastic: profit peaks at ${target}, inside the allowed band.`;
  const side = position === 'upper-edge' ? `above the band, so the answer is ${edge}` : `below the band, so the answer is its lower edge (${band.min.toFixed(2)})`;
  return `Demand is elastic: profit peaks at ${target}, ${side}.`;
}
