import type { CustomerState } from '../../models/customer/customerState.ts';

/** A place in the store's customer listing (the StateStore's ListingPosition). */
export interface ListingPosition {
  bucket: number;
  afterId: string;
}

/**
 * What the API reads of the scorer's live state: the port the services depend on, read-only
 * (the API never writes the store), and bounded: by id, or one page of an index, never a scan
 * (the API's role has no dynamodb:Scan). The consumer's StateStore (consumers/stateStore/)
 * satisfies it as it is; only the wiring (api/lambda.ts, bin/) picks an implementation.
 */
export interface CustomerStateReader {
  /** The stored states of those ids the store knows. */
  getMany(customerIds: readonly string[]): Promise<Map<string, CustomerState>>;
  /** The event-time watermark (ms) the stream has advanced to. */
  getWatermark(): Promise<number>;
  /** One page of the customer listing, in the store's key order (StateStore.listCustomers). */
  listCustomers(limit: number, after?: ListingPosition): Promise<{ states: CustomerState[]; next: ListingPosition | null }>;
  /** One page of the customers flagged at risk, most expected loss first (StateStore.atRiskCustomers). */
  atRiskCustomers(limit: number, after?: string): Promise<{ states: CustomerState[]; next: string | null }>;
}

/**
 * No live state: for an API deployed without the scorer's table (the old module's callers, who
 * pass no state_table_name), named customers are scored from the lake; the listing and the
 * at-risk list are empty, as listing lake customers would read the whole lake per request.
 */
export const NO_LIVE_STATE: CustomerStateReader = {
  getMany: async () => new Map(),
  getWatermark: async () => 0,
  listCustomers: async () => ({ states: [], next: null }),
  atRiskCustomers: async () => ({ states: [], next: null }),
};
