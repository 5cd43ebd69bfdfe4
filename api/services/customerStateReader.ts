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
