import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from './recordDecoding.ts';

/**
 * Where a Kinesis record's sequence number only grows: its stream and shard, as
 * `streamName/shardId`. Every stream has a `shardId-000000000000`, so the shard alone would take
 * a new stream's lower sequence numbers (after a migration) for redeliveries. The name comes from
 * eventSourceARN (`arn:aws:kinesis:region:account:stream/NAME`, or `.../stream/NAME/consumer/...`
 * for an enhanced fan-out consumer); the shard from eventID (`shardId-000000000000:sequence`).
 */
function sourceOf(record: KinesisStreamRecord): string {
  const arn = record.eventSourceARN;
  const at = arn.indexOf(':stream/');
  const rest = at < 0 ? arn : arn.slice(at + 8);
  const slash = rest.indexOf('/');
  const stream = slash < 0 ? rest : rest.slice(0, slash);
  const colon = record.eventID.indexOf(':');
  return `${stream}/${colon > 0 ? record.eventID.slice(0, colon) : record.eventID}`;
}

export function fromKinesisEvent(event: KinesisStreamEvent): StreamRecord[] {
  const records = event.Records;
  const result: StreamRecord[] = new Array(records.length);
  // A batch comes from one shard of one stream: reuse its key rather than build a string per record.
  let source = '';
  let arn = '';
  let shard = '';
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const id = record.eventID;
    if (!(record.eventSourceARN === arn && id.length > shard.length && id.charCodeAt(shard.length) === 58 && id.startsWith(shard))) {
      arn = record.eventSourceARN;
      const colon = id.indexOf(':');
      shard = colon > 0 ? id.slice(0, colon) : id;
      source = internalized(sourceOf(record));
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
