import type { KinesisHandler } from '../../consumers/kinesisHandler.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';

/**
 * The local stack's Firehose: every batch the event-source mapping hands the consumer is also
 * delivered to the local lake's raw orders, as the delivery stream copies the same Kinesis records
 * to S3 in AWS. A batch the poller redelivers is written again, as Firehose may write a record
 * twice; the curation drops such copies.
 */
export function firehoseTap(handler: KinesisHandler, lakeDir: string): KinesisHandler {
  return async (event, context) => {
    const texts = event.Records.map((record) => Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
    if (texts.length > 0) await deliverRawOrders(lakeDir, texts);
    return handler(event, context);
  };
}
