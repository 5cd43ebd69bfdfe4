import type { KinesisStreamEvent } from 'aws-lambda';
import { kinesisRecord } from '../../bench/kinesisBatches.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { RecencyModel, CHURN_POLICY } from './recencyModel.ts';

export type MemorySinkDeps<S extends StateStore> = ConsumerDeps & { store: S; alerts: MemoryAlertSink; deadLetters: MemoryDeadLetterSink; metrics: CounterMetrics };

/** Consumer dependencies over `store` with in-memory sinks and counters, the recency model and the default policy. */
export function memorySinkDeps<S extends StateStore>(store: S): MemorySinkDeps<S> {
  return {
    store,
    alerts: new MemoryAlertSink(),
    deadLetters: new MemoryDeadLetterSink(),
    model: new RecencyModel(),
    policy: CHURN_POLICY,
    metrics: new CounterMetrics(),
    clock: 'event',
  };
}

export const ORDERS_STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/orders';

export const encodeEvent = (event: OrderEvent): string => Buffer.from(JSON.stringify(event)).toString('base64');

/** Records at sequence indexes from `from` on, one shard of the stream `arn`. */
export function streamBatch(events: readonly OrderEvent[], from: number, arn = ORDERS_STREAM_ARN): KinesisStreamEvent {
  return { Records: events.map((event, i) => ({ ...kinesisRecord(encodeEvent(event), event.customerId, from + i), eventSourceARN: arn })) };
}
