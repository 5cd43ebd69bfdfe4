import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { LiveModelMetric } from '../aws/liveModel.ts';

/** The counts a consumer or sweep run reports; an adapter decides where they go. */
export interface ConsumerMetrics {
  count(name: CounterName, value: number): void;
}

export type CounterName =
  | 'RecordsReceived'
  /** Valid records the fast scanner left to JSON.parse + zod: slower, worth a look at the producer. */
  | 'RecordsParsedGenerally'
  | 'EventsApplied'
  | 'DuplicatePositions'
  | 'DuplicateOrders'
  | 'PoisonRecords'
  | 'RecordsBeyondHorizon'
  | 'RecordsFailed'
  | 'VersionConflicts'
  | 'AlertsPublished'
  | 'AlertsUndelivered'
  /** Alerts the bus refused for good, set aside in the dead-letter sink. */
  | 'AlertsDeadLettered'
  /** Customers whose alerts in flight no settled receipt covered: back in the outbox, published again with their ids. */
  | 'AlertsInFlightResent'
  /** Settled receipts written (StateStore.noteSettled): at most one per invocation. */
  | 'SettledReceipts'
  /** Receipts that could not be written: a redelivery of those records would resend their alerts. */
  | 'SettledReceiptsFailed'
  | 'CustomersRescored'
  | 'CustomersSwept'
  /** Customers the sweep could not rescore because the model threw: left due, tried again next run. */
  | 'CustomersUnscorable'
  /** Customers the sweep found listed before their due day and indexed anew (SaveOptions.earlyDueKey). */
  | 'DueKeysMoved'
  /** Writes of the store's event-time watermark item: at most one per container per interval. */
  | 'WatermarkWrites'
  /** The model store (MODEL_URI, aws/liveModel.ts): versions taken, refused, looks that failed, cold starts on the bundled model. */
  | LiveModelMetric;

/** Counters in memory: the local runner's summary, tests and benchmarks read them. */
export class CounterMetrics implements ConsumerMetrics {
  readonly counters: Partial<Record<CounterName, number>> = {};

  count(name: CounterName, value: number): void {
    if (value !== 0) this.counters[name] = (this.counters[name] ?? 0) + value;
  }

  get(name: CounterName): number {
    return this.counters[name] ?? 0;
  }
}

/** CloudWatch metrics through Powertools (EMF); the handler flushes them once per invocation. */
export class PowertoolsMetrics implements ConsumerMetrics {
  constructor(private readonly metrics: Metrics) {}

  count(name: CounterName, value: number): void {
    if (value !== 0) this.metrics.addMetric(name, MetricUnit.Count, value);
  }
}
