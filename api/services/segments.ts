import { fitSegments, type Segmentation } from '../../models/segmentation/segmentation.ts';
import { UnprocessableError } from '../errors.ts';
import type { CustomerRfm } from '../lake/lakeQueries.ts';
import type { SegmentMembersRequest, SegmentMembersResponse, SegmentsRequest, SegmentsResponse } from '../schemas.ts';
import type { ScoredCustomer } from './customerLookup.ts';
import type { RefreshingCache } from './refreshingCache.ts';
import { STORE_KEY, type ServiceContext } from './serviceContext.ts';

interface FittedSegments {
  asOf: string;
  rfm: CustomerRfm[];
  fit: Segmentation;
}

/** GET segments and GET segment-members: RFM K-Means over the lake's customers, one cached fit per k. */
export class SegmentsService {
  private readonly rfmCache: RefreshingCache<string, { asOf: string; rfm: CustomerRfm[] }>;
  private readonly fitCache: RefreshingCache<number, FittedSegments>;

  constructor(private readonly context: ServiceContext) {
    this.rfmCache = context.lakeCache(1, 'rfm');
    this.fitCache = context.lakeCache(16, 'segments');
  }

  /** RFM per customer as of the lake's last day. */
  rfm(): Promise<{ asOf: string; rfm: CustomerRfm[] }> {
    return this.rfmCache.get(STORE_KEY, async () => {
      const range = await this.context.dateRange();
      if (!range) return { asOf: '', rfm: [] };
      return { asOf: range.last, rfm: await this.context.lake.customerRfm(range.last) };
    });
  }

  private fitted(k: number): Promise<FittedSegments> {
    return this.fitCache.get(k, async () => {
      const { asOf, rfm } = await this.rfm();
      if (rfm.length < k) {
        throw new UnprocessableError('too_few_customers', `${rfm.length} customers cannot form ${k} segments`, { customers: rfm.length, n_clusters: k });
      }
      return { asOf, rfm, fit: fitSegments(rfm, { k }) };
    });
  }

  async segments(request: SegmentsRequest): Promise<SegmentsResponse> {
    const k = request.n_clusters;
    const { asOf, rfm, fit } = await this.fitted(k);
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
  }

  /**
   * The customers of each segment with their RFM and CLV, and each segment's mean CLV over its
   * listed members. More customers than `limit`: every (n / limit)-th in lake order, so the
   * picture is the same sample on every call. CLVs are the live store's, read by id for the
   * listed members only (`scoreMembers`: bounded by `limit`), never every customer per request;
   * a member the stream has not seen has none.
   */
  async segmentMembers(
    request: SegmentMembersRequest,
    scoreMembers: (ids: readonly string[]) => Promise<{ asOfMs: number; scored: Map<string, ScoredCustomer> }>,
    modelVersion: string,
  ): Promise<SegmentMembersResponse> {
    const { asOf, rfm, fit } = await this.fitted(request.n_clusters);
    const step = Math.max(1, rfm.length / request.limit);
    const sample: number[] = [];
    for (let at = 0; at < rfm.length && sample.length < request.limit; at += step) sample.push(Math.floor(at));
    const { asOfMs, scored } = await scoreMembers(sample.map((i) => rfm[i].customerId));
    const clvOf = (id: string) => scored.get(id)?.score.clv ?? null;
    const clvSums = new Float64Array(fit.segments.length);
    const clvCounts = new Int32Array(fit.segments.length);
    const members: SegmentMembersResponse['members'] = sample.map((i) => {
      const row = rfm[i];
      const clv = clvOf(row.customerId);
      if (clv !== null) {
        clvSums[fit.assignments[i]] += clv;
        clvCounts[fit.assignments[i]]++;
      }
      return { customer_id: row.customerId, segment: fit.assignments[i], recency_days: row.recencyDays, frequency: row.frequency, monetary: row.monetary, clv };
    });
    return {
      n_clusters: request.n_clusters,
      as_of: asOf,
      scores_as_of: new Date(asOfMs).toISOString(),
      model_version: modelVersion,
      customers: rfm.length,
      sampled: members.length < rfm.length,
      segments: fit.segments.map((segment) => ({
        segment: segment.segment,
        name: segment.name,
        size: segment.size,
        means: {
          recency_days: segment.means.recencyDays,
          frequency: segment.means.frequency,
          monetary: segment.means.monetary,
          clv: clvCounts[segment.segment] > 0 ? clvSums[segment.segment] / clvCounts[segment.segment] : null,
        },
      })),
      members,
    };
  }
}
