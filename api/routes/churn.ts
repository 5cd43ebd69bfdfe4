import { ChurnResponseSchema, CustomersBodySchema } from '../schemas.ts';
import { CUSTOMER_LIST_POLICY } from './clv.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const churnRoute = defineRoute({
  method: 'POST',
  path: `${API_PREFIX}/churn`,
  operationId: 'postChurn',
  summary: 'Churn probability over the model horizon',
  description: `Probability of no purchase within the model's horizon (BG/NBD), with the recency, frequency and tenure behind it. ${CUSTOMER_LIST_POLICY}`,
  input: 'body',
  schema: CustomersBodySchema,
  response: ChurnResponseSchema,
  errors: [404],
  example: { customer_ids: ['13085', '13078'] },
  handle: (service, input) => service.churn(input),
});
