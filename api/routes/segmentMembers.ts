import { SegmentMembersQuerySchema, SegmentMembersResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const segmentMembersRoute = defineRoute({
  method: 'GET',
  path: `${API_PREFIX}/segment-members`,
  operationId: 'getSegmentMembers',
  summary: 'Customers of each RFM segment, with CLV',
  description:
    'The same K-Means fit as GET segments, per customer: recency, frequency, monetary value, segment and CLV (scored as for POST clv), at most limit customers (an even, deterministic sample when there are more), and each segment\'s mean CLV over all its customers. The dashboard draws its segment chart from it.',
  input: 'query',
  schema: SegmentMembersQuerySchema,
  response: SegmentMembersResponseSchema,
  errors: [422],
  example: { n_clusters: '5', limit: '2000' },
  handle: (service, input) => service.segmentMembers(input),
});
