import { ClvResponseSchema, CustomersBodySchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const CUSTOMER_LIST_POLICY =
  'Named customers (customer_ids, at most 1000): one row per distinct id in request order; an id nobody knows gets {"found": false}; 404 only when none of them is known. Without customer_ids: the live customers (the state store\'s), in the store\'s key order, read a page at a time from its listing index (total is null: counting them would read the table); customers only the lake knows are scored by id, never listed. An id neither the store nor the lake knows is remembered as unknown for a minute, so asking again starts no lake query. Either way a page at a time (limit, default 1000, at most 5000; pass next_cursor as cursor, with the same customer_ids, for the next page). Each row says where its score comes from: "stream" (the scorer\'s state store: its stored score, or the stored state rescored as of the store\'s event-time watermark when the score is from an earlier day or another model version) or "lake" (the same model on the state rebuilt from the customer\'s lake order lines).';

export const clvRoute = defineRoute({
  method: 'POST',
  path: `${API_PREFIX}/clv`,
  operationId: 'postClv',
  summary: 'Customer lifetime value over the model horizon',
  description: `Expected spend over the model's horizon (BG/NBD expected purchases × Gamma-Gamma expected spend per purchase). ${CUSTOMER_LIST_POLICY}`,
  input: 'body',
  schema: CustomersBodySchema,
  response: ClvResponseSchema,
  errors: [404],
  example: { customer_ids: ['13085', '13078'] },
  handle: (service, input) => service.clv(input),
});
