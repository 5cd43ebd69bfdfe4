import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from './recordDecoding.ts';

/** The shard id of a Kinesis record: its eventID is "shardId-000000000000:sequenceNumber". */
export function shardOf(record: KinesisStreamRecord): string {
  const colon = record.eventID.indexOf(':');
  return colon > 0 ? record.eventID.slice(0, colon) : record.eventSourceARN;
}

export function fromKinesisEvent(event: KinesisStreamEvent): StreamRecord[] {
  return event.Records.map((record) => ({
    source: shardOf(record),
    position: record.kinesis.sequenceNumber,
    partitionKey: record.kinesis.partitionKey,
    data: record.kinesis.data,
  }));
}
