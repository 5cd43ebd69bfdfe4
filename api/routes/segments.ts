import { SegmentsQuerySchema, SegmentsResponseSchema } from '../schemas.ts';
import { API_PREFIX, defineRoute } from './route.ts';

export const segmentsRoute = defineRoute({
  method: 'GET',
  path: `${API_PREFIX}/segments`,
  operationId: 'getSegments',
  summary: 'RFM customer segments',
  description:
    'Recency, frequency (distinct orders) and monetary value per customer from the lake as of its last day, log1p and z-scored, clustered with K-Means (k-means++, seeded, best of 10 restarts). Segments are named from their RFM profile (Champions, Loyal, At risk, Hibernating, ...), with sizes, means and the silhouette. Fits are cached per n_clusters.',
  input: 'query',
  schema: SegmentsQuerySchema,
  response: SegmentsResponseSchema,
  errors: [422],
  example: { n_clusters: '5' },
  handle: (service, input) => service.segments(input),
});
