import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from './recordDecoding.ts';

/** The shard id of a Kinesis record: its eventID is "shardId-000000000000:sequenceNumber". */
function shardOf(record: KinesisStreamRecord): string {
  const colon = record.eventID.indexOf(':');
  return colon > 0 ? record.eventID.slice(0, colon) : record.eventSourceARN;
}

export function fromKinesisEvent(event: KinesisStreamEvent): StreamRecord[] {
  const records = event.Records;
  const result: StreamRecord[] = new Array(records.length);
  // A batch comes from one shard: reuse its id rather than slice a new string per record.
  let source = '';
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const id = record.eventID;
    if (!(source.length > 0 && id.length > source.length && id.charCodeAt(source.length) === 58 && id.indexOf(':') === source.length && id.startsWith(source))) {
      source = internalized(shardOf(record));
    }
    result[i] = {
      source,
      position: record.kinesis.sequenceNumber,
      partitionKey: record.kinesis.partitionKey,
      data: record.kinesis.data,
    };
  }
  return result;
}

/**
 * The same text as a property-key string: a state record's positions are keyed by source, and a
 * sliced string used as a key is looked up in the string table on every access; a key string
 * is found once, here, once per batch.
 */
function internalized(text: string): string {
  return Object.keys({ [text]: true })[0];
}
