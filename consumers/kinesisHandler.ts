import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import { type ConsumerDeps, processRecords } from './customerBatch.ts';
import { fromKinesisEvent } from './kinesisEvent.ts';

/** The envelope Lambda's Kinesis event source mapping sends; record payloads are checked later, one by one. */
export const KinesisEnvelopeSchema = z.object({
  Records: z.array(
    z.object({
      eventID: z.string(),
      eventSourceARN: z.string(),
      kinesis: z.object({ sequenceNumber: z.string().regex(/^\d+$/), partitionKey: z.string(), data: z.string() }),
    }),
  ),
});

/** /^\d+$/ (the envelope schema's rule for sequence numbers) without a regex call per record. */
function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * True only when KinesisEnvelopeSchema accepts `event`: a hand-written check of the same rules,
 * because zod's general machinery costs a noticeable share of a whole batch. Anything it does
 * not accept goes to zod, which still decides every rejection and writes its message.
 */
export function isKinesisEnvelope(event: unknown): boolean {
  if (!isObject(event)) return false;
  const records = event.Records;
  if (!Array.isArray(records)) return false;
  for (let i = 0; i < records.length; i++) {
    const record: unknown = records[i];
    if (!isObject(record) || typeof record.eventID !== 'string' || typeof record.eventSourceARN !== 'string') return false;
    const kinesis = record.kinesis;
    if (!isObject(kinesis) || typeof kinesis.partitionKey !== 'string' || typeof kinesis.data !== 'string') return false;
    if (typeof kinesis.sequenceNumber !== 'string' || !isDigits(kinesis.sequenceNumber)) return false;
  }
  return true;
}

export type KinesisHandler = (event: KinesisStreamEvent, context?: Context) => Promise<KinesisStreamBatchResponse>;

/**
 * A Kinesis consumer handler over the given dependencies: the Lambda export below wires AWS,
 * the local runner wires the embedded stand-ins, and both run exactly this code.
 */
export function createKinesisHandler(deps: () => Promise<ConsumerDeps> | ConsumerDeps, logger?: Logger, flush?: () => void): KinesisHandler {
  return async (event, context) => {
    if (context) logger?.addContext(context);
    if (!isKinesisEnvelope(event)) {
      const envelope = KinesisEnvelopeSchema.safeParse(event);
      if (!envelope.success) throw new Error(`not a Kinesis stream event: ${envelope.error.issues[0]?.message}`);
    }
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
