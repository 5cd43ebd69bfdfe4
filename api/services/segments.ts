import { createHash } from 'node:crypto';
import { compareCodePoints } from '../../models/customer/customerIds.ts';
import { fitSegments, type Segmentation, type SegmentSummary } from '../../models/segmentation/segmentation.ts';
import { UnprocessableError } from '../errors.ts';
import { hasAggregates, type CustomerRfm, type LakeAggregates, type LakeQueries } from '../lake/lakeQueries.ts';
import type { SegmentMembersRequest, SegmentMembersResponse, SegmentsRequest, SegmentsResponse } from '../schemas.ts';
import type { ScoredCustomer } from './customerLookup.ts';
import type { RefreshingCache } from './refreshingCache.ts';
import { STORE_KEY, type ServiceContext } from './serviceContext.ts';

/**
 * A fit and what it says of every customer of the lake. `fitted` holds the customers the model
 * was fitted on: all of them (the in-memory lake), or a bounded random sample (a SQL lake, which
 * then assigns everyone in SQL and returns only per-segment sizes and means).
 */
interface FittedSegments {
  asOf: string;
  customers: number;
  fitted: CustomerRfm[];
  fit: Segmentation;
  segments: SegmentSummary[];
}

type Member = SegmentMembersResponse['members'][number];

/** GET segments and GET segment-members: RFM K-Means over the lake's customers, one cached fit per k. */
export class SegmentsService {
  private readonly rfmCache: RefreshingCache<string, { asOf: string; rfm: CustomerRfm[] }>;
  private readonly fitCache: RefreshingCache<number, FittedSegments>;
  private readonly membersCache: RefreshingCache<string, Omit<Member, 'clv'>[]>;

  constructor(private readonly context: ServiceContext) {
    this.rfmCache = context.lakeCache(1, 'rfm');
    this.fitCache = context.lakeCache(16, 'segments');
    this.membersCache = context.lakeCache(16, 'segment members');
  }

  /** The customers to fit on as of the lake's last day: a bounded sample when the lake can aggregate, else all. */
  rfm(): Promise<{ asOf: string; rfm: CustomerRfm[] }> {
    return this.rfmCache.get(STORE_KEY, async () => {
      const range = await this.context.dateRange();
      if (!range) return { asOf: '', rfm: [] };
      const lake = this.context.lake;
      if (!hasAggregates(lake)) return { asOf: range.last, rfm: await lake.customerRfm(range.last) };
      // Fitted in id order, as the whole population was: a lake smaller than the sample gets the very same fit as before.
      const sample = await lake.segmentSample(range.last);
      return { asOf: range.last, rfm: sample.sort((a, b) => compareCodePoints(a.customerId, b.customerId)) };
    });
  }

  private fitted(k: number): Promise<FittedSegments> {
    return this.fitCache.get(k, async () => {
      const { asOf, rfm } = await this.rfm();
      if (rfm.length < k) {
        throw new UnprocessableError('too_few_customers', `${rfm.length} customers cannot form ${k} segments`, { customers: rfm.length, n_clusters: k });
      }
      const fit = fitSegments(rfm, { k });
      const lake = this.context.lake;
      if (!hasAggregates(lake)) return { asOf, customers: rfm.length, fitted: rfm, fit, segments: fit.segments };
      return { asOf, fitted: rfm, fit, ...(await everyCustomer(lake, asOf, fit)) };
    });
  }

  async segments(request: SegmentsRequest): Promise<SegmentsResponse> {
    const k = request.n_clusters;
    const { asOf, customers, fit, segments } = await this.fitted(k);
    return {
      n_clusters: k,
      as_of: asOf,
      customers,
      method: 'rfm-kmeans' as const,
      segments: segments.map((segment) => ({
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
   * The customers of each segment with their RFM and CLV, and each segment's mean CLV over the
   * members listed that have a score. More customers than `limit`: the first `limit` in MD5-of-id
   * order, a deterministic random sample, the same on every call and from either kind of lake.
   * CLVs are the live store's, read by id for the listed members only (`scoreMembers`: bounded by
   * `limit`), never every customer per request; a member the stream has not seen has none.
   */
  async segmentMembers(
    request: SegmentMembersRequest,
    scoreMembers: (ids: readonly string[]) => Promise<{ asOfMs: number; scored: Map<string, ScoredCustomer> }>,
    modelVersion: string,
  ): Promise<SegmentMembersResponse> {
    const fitted = await this.fitted(request.n_clusters);
    const listed = await this.members(fitted, request);
    const { asOfMs, scored } = await scoreMembers(listed.map((member) => member.customer_id));
    const members = listed.map((member) => ({ ...member, clv: scored.get(member.customer_id)?.score.clv ?? null }));
    const clvSums = new Float64Array(fitted.segments.length);
    const clvCounts = new Int32Array(fitted.segments.length);
    for (const member of members) {
      if (member.clv === null) continue;
      clvSums[member.segment] += member.clv;
      clvCounts[member.segment]++;
    }
    return {
      n_clusters: request.n_clusters,
      as_of: fitted.asOf,
      scores_as_of: new Date(asOfMs).toISOString(),
      model_version: modelVersion,
      customers: fitted.customers,
      sampled: members.length < fitted.customers,
      segments: fitted.segments.map((segment) => ({
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

  private members(fitted: FittedSegments, request: SegmentMembersRequest): Promise<Omit<Member, 'clv'>[]> {
    const lake = this.context.lake;
    if (!hasAggregates(lake)) return Promise.resolve(md5Sample(fitted, request.limit));
    return this.membersCache.get(`${request.n_clusters}\u0000${request.limit}`, async () =>
      (await lake.segmentMembers(fitted.asOf, fitted.fit.model, request.limit)).map((row) => ({
        customer_id: row.customerId,
        segment: row.segment,
        recency_days: row.recencyDays,
        frequency: row.frequency,
        monetary: row.monetary,
      })),
    );
  }
}

/** The first `limit` fitted customers in MD5-of-id order (ties by id), as segment_members.sql picks them. */
function md5Sample({ fitted, fit }: FittedSegments, limit: number): Omit<Member, 'clv'>[] {
  const keyed = fitted.map((row, i) => ({ i, key: createHash('md5').update(row.customerId, 'utf8').digest('hex') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : compareCodePoints(fitted[a.i].customerId, fitted[b.i].customerId)));
  return keyed.slice(0, limit).map(({ i }) => {
    const row = fitted[i];
    return { customer_id: row.customerId, segment: fit.assignments[i], recency_days: row.recencyDays, frequency: row.frequency, monetary: row.monetary };
  });
}

/** Sizes and means of every segment over all the lake's customers, assigned by the lake's SQL. */
async function everyCustomer(lake: LakeQueries & LakeAggregates, asOf: string, fit: Segmentation): Promise<{ customers: number; segments: SegmentSummary[] }> {
  const rows = await lake.segmentSummary(asOf, fit.model);
  const customers = rows.reduce((sum, row) => sum + row.size, 0);
  const segments = fit.segments.map((fitted) => {
    const row = rows.find((candidate) => candidate.segment === fitted.segment);
    return {
      ...fitted,
      size: row?.size ?? 0,
      share: customers > 0 ? (row?.size ?? 0) / customers : 0,
      means: row ? { recencyDays: row.recencyDays, frequency: row.frequency, monetary: row.monetary } : { recencyDays: 0, frequency: 0, monetary: 0 },
    };
  });
  return { customers, segments };
}
