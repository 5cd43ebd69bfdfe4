import type { CustomerModel } from '../../models/clv/customerModel.ts';
import { NotFoundError } from '../errors.ts';
import { decodeCursor, decodeListingCursor, encodeCursor, encodeListingCursor } from '../pagination.ts';
import { type AtRiskRequest, type AtRiskResponse, type ChurnResponse, CUSTOMER_PAGE_DEFAULT, type ClvResponse, type CustomersRequest } from '../schemas.ts';
import { type CustomerLookup, expectedLoss, type ScoredCustomer } from './customerLookup.ts';

type CustomerRow = ScoredCustomer | { customerId: string; found: false };

/** POST clv, POST churn, GET at-risk-customers: the rows of CustomerLookup, as responses. */
export class CustomerScoresService {
  constructor(
    private readonly customers: CustomerLookup,
    private readonly model: CustomerModel,
  ) {}

  async clv(request: CustomersRequest): Promise<ClvResponse> {
    return this.customerResponse(request, (row) => ({
      clv: row.score.clv,
      expected_purchases: row.score.expectedPurchases,
      expected_spend: row.score.expectedSpend,
      p_alive: row.score.pAlive,
      total_spend: row.features.totalSpend,
    }));
  }

  async churn(request: CustomersRequest): Promise<ChurnResponse> {
    return this.customerResponse(request, (row) => ({
      churn_probability: row.score.churnProbability,
      p_alive: row.score.pAlive,
      recency_days: row.features.recencyDays,
      frequency: row.features.frequency,
      tenure_days: row.features.tenureDays,
    }));
  }

  /**
   * One page of the customers the scorer flags at risk (the sparse risk-index), most expected
   * loss first by their stored scores, scored now; those whose churn probability is now below
   * `threshold` are left out of the page, so a page may hold fewer than `limit`.
   */
  async atRiskCustomers(request: AtRiskRequest): Promise<AtRiskResponse> {
    const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    const page = await this.customers.atRiskPage(request.limit, after === '' ? undefined : after);
    return {
      threshold: request.threshold,
      limit: request.limit,
      horizon_days: this.model.horizonDays,
      model_version: this.model.version,
      as_of: new Date(page.asOfMs).toISOString(),
      next_cursor: page.next === null ? null : encodeCursor(page.next),
      customers: page.rows
        .filter((row) => row.score.churnProbability >= request.threshold)
        .map((row) => ({
          customer_id: row.customerId,
          source: row.source,
          churn_probability: row.score.churnProbability,
          clv: row.score.clv,
          expected_loss: expectedLoss(row),
          as_of: new Date(row.asOfMs).toISOString(),
        })),
    };
  }

  /**
   * The rows of a clv/churn request, a page at a time (limit, cursor). Named customers: in
   * request order (duplicates once), a `found: false` row for each unknown id, 404 when none of
   * the named ids is known, whichever page is asked for. No ids: one page of the store's
   * listing (its key order), with no total (counting every customer would read the table).
   */
  private async customerRows(request: CustomersRequest): Promise<{ asOfMs: number; total: number | null; nextCursor: string | null; rows: CustomerRow[] }> {
    const limit = request.limit ?? CUSTOMER_PAGE_DEFAULT;
    if (request.customer_ids !== undefined) {
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
      const ids = [...new Set(request.customer_ids)];
      const { asOfMs, scored } = await this.customers.scoreCustomers(ids);
      if (scored.size === 0) {
        throw new NotFoundError('customer', ids, ids.length === 1 ? `unknown customer: ${JSON.stringify(ids[0])}` : `none of the ${ids.length} customers is known`);
      }
      // A cursor naming no id of this list points past its end: an empty last page.
      const start = after === undefined ? 0 : ids.includes(after) ? ids.indexOf(after) + 1 : ids.length;
      const pageIds = ids.slice(start, start + limit);
      return {
        asOfMs,
        total: ids.length,
        nextCursor: nextCursor(pageIds, start + limit < ids.length),
        rows: pageIds.map((id) => scored.get(id) ?? { customerId: id, found: false as const }),
      };
    }
    const page = await this.customers.listPage(limit, request.cursor === undefined ? undefined : decodeListingCursor(request.cursor));
    return { asOfMs: page.asOfMs, total: null, nextCursor: page.next === null ? null : encodeListingCursor(page.next), rows: page.rows };
  }

  /** The envelope clv and churn share: model, as-of, paging, and per id either its fields or found: false. */
  private async customerResponse<Fields extends object>(request: CustomersRequest, fields: (row: ScoredCustomer) => Fields) {
    const { asOfMs, total, nextCursor, rows } = await this.customerRows(request);
    return {
      horizon_days: this.model.horizonDays,
      model_version: this.model.version,
      as_of: new Date(asOfMs).toISOString(),
      total,
      next_cursor: nextCursor,
      customers: rows.map((row) =>
        'found' in row
          ? { customer_id: row.customerId, found: false as const }
          : {
              customer_id: row.customerId,
              found: true as const,
              source: row.source,
              as_of: new Date(row.asOfMs).toISOString(),
              model_version: row.modelVersion,
              ...fields(row),
            },
      ),
    };
  }
}

function nextCursor(pageIds: readonly string[], more: boolean): string | null {
  return more && pageIds.length > 0 ? encodeCursor(pageIds[pageIds.length - 1]) : null;
}
