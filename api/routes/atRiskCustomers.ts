import { AtRiskQuerySchema, AtRiskResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const atRiskCustomersRoute = defineRoute({
  method: 'GET',
  path: `${API_PREFIX}/at-risk-customers`,
  operationId: 'getAtRiskCustomers',
  summary: 'Customers at risk, most value at stake first',
  description:
    'The customers the scorer flags at risk (those "Customer At Risk" announced and not yet recovered), a page of at most limit at a time from a sparse index, ranked by the expected loss (churn probability × CLV) stored at each one\'s last save, highest first; each is scored now, and those whose churn probability is now below threshold are left out of the page. next_cursor continues the ranking.',
  input: 'query',
  schema: AtRiskQuerySchema,
  response: AtRiskResponseSchema,
  errors: [],
  example: { threshold: '0.6', limit: '100' },
  handle: (service, input) => service.atRiskCustomers(input),
});
