import { ProductsQuerySchema, ProductsResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const productsRoute = defineRoute({
  method: 'GET',
  path: `${API_PREFIX}/products`,
  operationId: 'getProducts',
  summary: 'Best-selling products and the categories',
  description: 'Products by units sold (orders only, priced lines), at most limit of them, with category, revenue, mean price and units per week of the lake\'s span, and every category by units: what the dashboard offers to forecast and price.',
  input: 'query',
  schema: ProductsQuerySchema,
  response: ProductsResponseSchema,
  errors: [],
  example: { limit: '50' },
  handle: (service, input) => service.products(input),
});
