import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { type ConsumerDeps, processRecords } from './customerBatch.ts';
import { fromKafkaEvent, KafkaEventSchema } from './kafkaEvent.ts';

export type KafkaHandler = (event: unknown, context?: Context) => Promise<void>;

/** Records the core could not finish (a store or dead-letter queue down): the whole batch goes back. */
export class KafkaBatchRetryError extends Error {
  constructor(readonly failedPositions: readonly string[]) {
    super(`${failedPositions.length} record(s) failed transiently; the batch is retried`);
    this.name = 'KafkaBatchRetryError';
  }
}

/**
 * The consumer handler for Amazon MSK and self-managed Kafka event sources, over the same core as
 * the Kinesis handler. Kafka mappings take partial batch responses only with provisioned pollers,
 * so a transient failure fails the invocation and the mapping resends the batch: records already
 * applied are recognised by their partition's high-water mark and change nothing.
 */
export function createKafkaHandler(deps: () => Promise<ConsumerDeps> | ConsumerDeps, logger?: Logger, flush?: () => void): KafkaHandler {
  return async (event, context) => {
    if (context) logger?.addContext(context);
    const envelope = KafkaEventSchema.safeParse(event);
    if (!envelope.success) throw new Error(`not a Kafka event: ${envelope.error.issues[0]?.path.join('.')}: ${envelope.error.issues[0]?.message}`);
    const records = fromKafkaEvent(envelope.data);
    const result = await processRecords(records, await deps());
    logger?.info('batch processed', {
      records: records.length,
      failed: result.failedPositions.length,
      deadLettered: result.deadLettered,
      alertsPublished: result.alertsPublished,
    });
    flush?.();
    if (result.failedPositions.length > 0) throw new KafkaBatchRetryError(result.failedPositions);
  };
}
