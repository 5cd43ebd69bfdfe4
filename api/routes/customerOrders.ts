import { CustomerOrdersQuerySchema, CustomerOrdersResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const customerOrdersRoute = defineRoute({
  method: 'GET',
  path: `${API_PREFIX}/customer-orders`,
  operationId: 'getCustomerOrders',
  summary: 'One customer\'s orders and returns',
  description: 'Every order and return of the customer in the lake, oldest first, with its value and units: the purchase history the dashboard puts on a time line. 404 for a customer the lake does not know.',
  input: 'query',
  schema: CustomerOrdersQuerySchema,
  response: CustomerOrdersResponseSchema,
  errors: [404],
  example: { customer_id: '12346' },
  handle: (service, input) => service.customerOrders(input),
});
