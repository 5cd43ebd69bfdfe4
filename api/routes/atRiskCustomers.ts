import { AtRiskQuerySchema, AtRiskResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const atRiskCustomersRoute = defineRoute({
  method: 'GET',
  path: `${API_PREFIX}/at-risk-customers`,
  operationId: 'getAtRiskCustomers',
  summary: 'Customers at risk, most value at stake first',
  description:
    'Every known customer (stream and lake, scored as for churn and clv) whose churn probability is at least threshold, sorted by churn probability × CLV (the expected loss), highest first, at most limit of them. The ranking is a snapshot rebuilt at most a few seconds after the state store changes.',
  input: 'query',
  schema: AtRiskQuerySchema,
  response: AtRiskResponseSchema,
  errors: [],
  example: { threshold: '0.6', limit: '100' },
  handle: (service, input) => service.atRiskCustomers(input),
});
