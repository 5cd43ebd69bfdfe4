import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { OrderEvent } from '../models/customer/orderEvent.ts';

/**
 * Kinesis-shaped Lambda events for a list of order events, as the event source mapping would
 * deliver them from one shard: base64 JSON data, increasing sequence numbers, `batchSize` each.
 * Each event goes through JSON, as the Lambda runtime hands it to a handler: parsed from the
 * invocation's JSON, so its strings are the flat strings a parser makes (string templates would
 * leave rope strings that every comparison has to flatten, a cost no deployed handler pays).
 */
export function toKinesisEvents(events: readonly OrderEvent[], batchSize: number, shardId = 'shardId-000000000000'): KinesisStreamEvent[] {
  const records = events.map((event, i) => kinesisRecord(Buffer.from(JSON.stringify(event)).toString('base64'), event.customerId, i, shardId));
  const batches: KinesisStreamEvent[] = [];
  for (let i = 0; i < records.length; i += batchSize) {
    batches.push(JSON.parse(JSON.stringify({ Records: records.slice(i, i + batchSize) })) as KinesisStreamEvent);
  }
  return batches;
}

/** Sequence numbers look like Kinesis's: 56 digits, increasing within the shard. */
export function sequenceNumber(index: number): string {
  return `4959033827149025660855969253836157109592157598913${String(index).padStart(7, '0')}`;
}

export function kinesisRecord(data: string, partitionKey: string, index: number, shardId = 'shardId-000000000000'): KinesisStreamRecord {
  const seq = sequenceNumber(index);
  return {
    kinesis: { kinesisSchemaVersion: '1.0', partitionKey, sequenceNumber: seq, data, approximateArrivalTimestamp: 1_700_000_000 + index / 1000 },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${seq}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/bench',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/bench',
  };
}
