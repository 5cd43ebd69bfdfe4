import { CHURN_POLICY } from './recencyModel.ts';
import type { KinesisStreamEvent } from 'aws-lambda';
import { EventBridgeAlertSink } from '../../consumers/alerts/eventBridgeAlertSink.ts';
import { dynamoClient, eventBridgeClient, sqsClient } from '../../aws/clients.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { SqsDeadLetterSink } from '../../consumers/deadLetters/sqsDeadLetterSink.ts';
import type { KinesisHandler } from '../../consumers/kinesisHandler.ts';
import { startDynalite } from '../../bin/localStack/embeddedPeers.ts';
import { createStateTable, DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { comparePositions } from '../../models/customer/customerState.ts';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import { type EventBridgeEndpointOptions, startEventBridgeEndpoint } from './eventBridgeEndpoint.ts';
import { startSqsEndpoint } from './sqsEndpoint.ts';

const QUEUE_URL = 'http://127.0.0.1/000000000000/dead-letters';

/** The consumer's real local peers: dynalite for state, EventBridge and SQS protocol endpoints. */
export async function startConsumerPeers(eventBridgeOptions: EventBridgeEndpointOptions = {}) {
  const dynalite = await startDynalite();
  const eventBridge = await startEventBridgeEndpoint(eventBridgeOptions);
  const sqs = await startSqsEndpoint();
  const dynamo = dynamoClient({ endpoint: dynalite.endpoint });
  const eb = eventBridgeClient({ endpoint: eventBridge.endpoint, maxAttempts: 1 });
  const sq = sqsClient({ endpoint: sqs.endpoint, maxAttempts: 1 });
  let tables = 0;
  return {
    eventBridge,
    sqs,
    /** Fresh dependencies over a new, empty table. */
    async deps(model: CustomerModel, overrides: Partial<ConsumerDeps> = {}): Promise<ConsumerDeps & { metrics: CounterMetrics }> {
      const tableName = `customers-${++tables}`;
      await createStateTable(dynamo, tableName);
      return {
        store: new DynamoStateStore({ client: dynamo, tableName }),
        alerts: new EventBridgeAlertSink({ client: eb, eventBusName: 'test-bus', baseDelayMs: 1, maxDelayMs: 5 }),
        deadLetters: new SqsDeadLetterSink({ client: sq, queueUrl: QUEUE_URL, baseDelayMs: 1, maxDelayMs: 5 }),
        model,
        policy: CHURN_POLICY,
        metrics: new CounterMetrics(),
        clock: 'event',
        ...overrides,
      } as ConsumerDeps & { metrics: CounterMetrics };
    },
    async close() {
      dynamo.destroy();
      eb.destroy();
      sq.destroy();
      await Promise.all([dynalite.close(), eventBridge.close(), sqs.close()]);
    },
  };
}

/**
 * Delivers a batch the way Lambda's event source mapping does with ReportBatchItemFailures:
 * on failure, again from the lowest failed sequence number, until the batch succeeds.
 */
export async function deliverUntilDone(handler: KinesisHandler, event: KinesisStreamEvent, maxAttempts = 20): Promise<number> {
  let records = event.Records;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const { batchItemFailures } = await handler({ Records: records });
    if (batchItemFailures.length === 0) return attempt;
    const lowest = batchItemFailures.map((f) => f.itemIdentifier).sort(comparePositions)[0];
    records = records.filter((r) => comparePositions(r.kinesis.sequenceNumber, lowest) >= 0);
  }
  throw new Error(`batch still failing after ${maxAttempts} attempts`);
}

/**
 * Delivers a batch the way the event source mapping does with a finite retry budget
 * (MaximumRetryAttempts): once, then again from the lowest failed sequence number up to
 * `maxRetries` times, then gives up on what still fails (it would go to the on-failure destination).
 */
export async function deliverWithinRetryBudget(handler: KinesisHandler, event: KinesisStreamEvent, maxRetries: number): Promise<{ attempts: number; gaveUp: boolean }> {
  let records = event.Records;
  for (let attempt = 1; attempt <= maxRetries + 1; attempt++) {
    const { batchItemFailures } = await handler({ Records: records });
    if (batchItemFailures.length === 0) return { attempts: attempt, gaveUp: false };
    const lowest = batchItemFailures.map((f) => f.itemIdentifier).sort(comparePositions)[0];
    records = records.filter((r) => comparePositions(r.kinesis.sequenceNumber, lowest) >= 0);
  }
  return { attempts: maxRetries + 1, gaveUp: true };
}
