import type { CustomerState } from '../../models/customer/customerState.ts';

/**
 * What the API reads of the scorer's live state: the port the services depend on, read-only
 * (the API never writes the store). The consumer's StateStore (consumers/stateStore/) satisfies
 * it as it is; only the wiring (api/lambda.ts, bin/) picks an implementation.
 */
export interface CustomerStateReader {
  /** The stored states of those ids the store knows. */
  getMany(customerIds: readonly string[]): Promise<Map<string, CustomerState>>;
  /** Every stored state, a page at a time. */
  scan(): AsyncIterable<CustomerState[]>;
  /** The event-time watermark (ms) the stream has advanced to. */
  getWatermark(): Promise<number>;
}

/**
 * No live state: for an API deployed without the scorer's table (the old module's callers, who
 * pass no state_table_name), every customer is scored from the lake.
 */
export const NO_LIVE_STATE: CustomerStateReader = {
  getMany: async () => new Map(),
  async *scan() {},
  getWatermark: async () => 0,
};
