import { ElasticityResponseSchema, PriceElasticityBodySchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const priceElasticityRoute = defineRoute({
  method: 'POST',
  path: `${API_PREFIX}/price-elasticity`,
  operationId: 'postPriceElasticity',
  summary: 'Price elasticity of demand',
  description:
    'Log-log OLS of weekly units on the weekly units-weighted price for one product, or pooled with product fixed effects over a category\'s (or the store\'s) eligible products (at least 20 product-weeks and 3 distinct weekly prices). Coefficient, confidence interval, r², observations and a plain-language reading. Too little price variation answers 422, not a number. The estimates are associations, not causal effects.',
  input: 'body',
  schema: PriceElasticityBodySchema,
  response: ElasticityResponseSchema,
  errors: [404, 422],
  example: { product_id: '85123A' },
  handle: (service, input) => service.priceElasticity(input),
});
