import { fitSegments } from '../../models/segmentation/segmentation.ts';
import { UnprocessableError } from '../errors.ts';
import type { CustomerRfm } from '../lake/lakeQueries.ts';
import type { SegmentsRequest, SegmentsResponse } from '../schemas.ts';
import type { RefreshingCache } from './refreshingCache.ts';
import { STORE_KEY, type ServiceContext } from './serviceContext.ts';

/** GET segments: RFM K-Means over the lake's customers, one cached fit per k. */
export class SegmentsService {
  private readonly rfmCache: RefreshingCache<string, { asOf: string; rfm: CustomerRfm[] }>;
  private readonly segmentsCache: RefreshingCache<number, SegmentsResponse>;

  constructor(private readonly context: ServiceContext) {
    this.rfmCache = context.lakeCache(1, 'rfm');
    this.segmentsCache = context.lakeCache(16, 'segments');
  }

  /** RFM per customer as of the lake's last day. */
  rfm(): Promise<{ asOf: string; rfm: CustomerRfm[] }> {
    return this.rfmCache.get(STORE_KEY, async () => {
      const range = await this.context.dateRange();
      if (!range) return { asOf: '', rfm: [] };
      return { asOf: range.last, rfm: await this.context.lake.customerRfm(range.last) };
    });
  }

  segments(request: SegmentsRequest): Promise<SegmentsResponse> {
    const k = request.n_clusters;
    return this.segmentsCache.get(k, async () => {
      const { asOf, rfm } = await this.rfm();
      if (rfm.length < k) {
        throw new UnprocessableError('too_few_customers', `${rfm.length} customers cannot form ${k} segments`, { customers: rfm.length, n_clusters: k });
      }
      const fit = fitSegments(rfm, { k });
      return {
        n_clusters: k,
        as_of: asOf,
        customers: rfm.length,
        method: 'rfm-kmeans' as const,
        segments: fit.segments.map((segment) => ({
          segment: segment.segment,
          name: segment.name,
          size: segment.size,
          share: segment.share,
          means: { recency_days: segment.means.recencyDays, frequency: segment.means.frequency, monetary: segment.means.monetary },
          centroid: segment.centroid,
        })),
        silhouette: { value: fit.silhouette.value, sampled: fit.silhouette.sampled, sample_size: fit.silhouette.sampleSize },
        inertia: fit.model.inertia,
      };
    });
  }
}
