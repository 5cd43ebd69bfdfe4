import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import { type ConsumerDeps, processRecords } from './customerBatch.ts';
import { fromKinesisEvent } from './kinesisEvent.ts';

/** The envelope Lambda's Kinesis event source mapping sends; record payloads are checked later, one by one. */
const KinesisEnvelopeSchema = z.object({
  Records: z.array(
    z.object({
      eventID: z.string(),
      eventSourceARN: z.string(),
      kinesis: z.object({ sequenceNumber: z.string().regex(/^\d+$/), partitionKey: z.string(), data: z.string() }),
    }),
  ),
});

export type KinesisHandler = (event: KinesisStreamEvent, context?: Context) => Promise<KinesisStreamBatchResponse>;

/**
 * A Kinesis consumer handler over the given dependencies: the Lambda export below wires AWS,
 * the local runner wires the embedded stand-ins, and both run exactly this code.
 */
export function createKinesisHandler(deps: () => Promise<ConsumerDeps> | ConsumerDeps, logger?: Logger, flush?: () => void): KinesisHandler {
  return async (event, context) => {
    if (context) logger?.addContext(context);
    const envelope = KinesisEnvelopeSchema.safeParse(event);
    if (!envelope.success) throw new Error(`not a Kinesis stream event: ${envelope.error.issues[0]?.message}`);
    const result = await processRecords(fromKinesisEvent(event), await deps());
    logger?.info('batch processed', {
      records: event.Records.length,
      failed: result.failedPositions.length,
      deadLettered: result.deadLettered,
      alertsPublished: result.alertsPublished,
    });
    flush?.();
    return { batchItemFailures: result.failedPositions.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
