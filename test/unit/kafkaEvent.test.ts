import { describe, expect, it } from 'vitest';
import { fromKafkaEvent, KafkaEventSchema } from '../../consumers/kafkaEvent.ts';
import { comparePositions } from '../../models/customer/customerState.ts';

// The shape of AWS's documented MSK example event (two partitions of one topic).
const MSK_EVENT = {
  eventSource: 'aws:kafka',
  eventSourceArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2',
  bootstrapServers: 'b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092,b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
  records: {
    'mytopic-0': [
      { topic: 'mytopic', partition: 0, offset: 15, timestamp: 1545084650987, timestampType: 'CREATE_TIME', key: Buffer.from('C-1').toString('base64'), value: 'SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==', headers: [{ headerKey: [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101] }] },
      { topic: 'mytopic', partition: 0, offset: 16, timestamp: 1545084650988, timestampType: 'CREATE_TIME', value: 'e30=', headers: [] },
    ],
    'mytopic-1': [{ topic: 'mytopic', partition: 1, offset: 9, timestamp: 1545084650989, timestampType: 'LOG_APPEND_TIME', key: null, value: null, headers: [] }],
  },
};

describe('Kafka event source events', () => {
  it('accept the MSK shape and the self-managed one (no ARN), and flatten them as topic/partition and offset', () => {
    const msk = KafkaEventSchema.parse(MSK_EVENT);
    const { eventSourceArn: _arn, ...rest } = MSK_EVENT;
    const selfManaged = KafkaEventSchema.parse({ ...rest, eventSource: 'SelfManagedKafka' });
    expect(fromKafkaEvent(selfManaged)).toEqual(fromKafkaEvent(msk));
    expect(fromKafkaEvent(msk)).toEqual([
      { source: 'mytopic/0', position: '15', partitionKey: 'C-1', data: 'SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==' },
      { source: 'mytopic/0', position: '16', partitionKey: undefined, data: 'e30=' },
      // A null value (a tombstone) becomes empty data: the core sets it aside as not JSON.
      { source: 'mytopic/1', position: '9', partitionKey: undefined, data: '' },
    ]);
  });

  it('reject what is not one: another event source, a negative offset or partition, a missing records map', () => {
    for (const bad of [
      { ...MSK_EVENT, eventSource: 'aws:kinesis' },
      { ...MSK_EVENT, records: { 'mytopic-0': [{ ...MSK_EVENT.records['mytopic-0'][0], offset: -1 }] } },
      { ...MSK_EVENT, records: { 'mytopic-0': [{ ...MSK_EVENT.records['mytopic-0'][0], partition: 1.5 }] } },
      { eventSource: 'aws:kafka' },
      { Records: [] },
    ]) {
      expect(KafkaEventSchema.safeParse(bad).success, JSON.stringify(bad).slice(0, 80)).toBe(false);
    }
  });

  it('order offsets as numbers, past 2^53 and across digit counts, as the high-water marks compare them', () => {
    expect(comparePositions('9', '10')).toBe(-1);
    expect(comparePositions('0', '1')).toBe(-1);
    expect(comparePositions('99999999999999999', '100000000000000000')).toBe(-1);
    expect(comparePositions('9007199254740993', '9007199254740992')).toBe(1);
    expect(comparePositions('42', '42')).toBe(0);
  });
});
