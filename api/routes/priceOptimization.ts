import { PriceOptimizationBodySchema, PriceOptimizationResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const priceOptimizationRoute = defineRoute({
  method: 'POST',
  path: `${API_PREFIX}/price-optimization`,
  operationId: 'postPriceOptimization',
  summary: 'Profit-maximising price',
  description:
    'The profit-maximising price under constant-elasticity demand q = q0·(p/p0)^b, with b the product\'s estimated elasticity, bounded to a band around the current price (default [0.5, 2] × current_price). Expected quantity, revenue and profit at the current and the optimal price. Inelastic demand (|b| <= 1) has no interior optimum: the answer is the band\'s upper edge, and the explanation says so. Too little price variation to estimate b answers 422, as does an answer beyond what a number can carry (an elasticity steeper than about −145 at a band edge of 0.01).',
  input: 'body',
  schema: PriceOptimizationBodySchema,
  response: PriceOptimizationResponseSchema,
  errors: [404, 422],
  example: { product_id: '85123A', current_price: 2.55, current_quantity: 500, cost_per_unit: 1.5 },
  handle: (service, input) => service.priceOptimization(input),
});
