import { LakeUnavailableError } from '../errors.ts';
import type { DailyUnits, LakeOrderLine, LakeQueries, ProductSales, WeeklyProductSales, CustomerRfm } from './lakeQueries.ts';

/**
 * The lake while it is being built (the local stack's replay, before its curation): every query
 * fails with LakeUnavailableError, which the API answers with 503 and Retry-After, so callers
 * hear "not yet" in plain words rather than numbers from half a lake. The scorer's live state
 * needs no lake: customer scores are answered from the store alone meanwhile.
 */
export class PendingLake implements LakeQueries {
  constructor(
    private readonly message = 'the lake is being built from the replay: available when the replay ends',
    private readonly retryAfterSeconds = 5,
  ) {}

  private refuse(): Promise<never> {
    return Promise.reject(new LakeUnavailableError(this.message, this.retryAfterSeconds));
  }

  dateRange(): Promise<{ first: string; last: string } | null> {
    return this.refuse();
  }
  productExists(): Promise<boolean> {
    return this.refuse();
  }
  categoryExists(): Promise<boolean> {
    return this.refuse();
  }
  dailyUnits(): Promise<DailyUnits[]> {
    return this.refuse();
  }
  weeklyProductSales(): Promise<WeeklyProductSales[]> {
    return this.refuse();
  }
  productSales(): Promise<ProductSales[]> {
    return this.refuse();
  }
  customerRfm(): Promise<CustomerRfm[]> {
    return this.refuse();
  }
  customerOrderLines(): Promise<LakeOrderLine[]> {
    return this.refuse();
  }
  async close(): Promise<void> {}
}
