import { z } from 'zod';
import type { StreamRecord } from './recordDecoding.ts';

/**
 * The event Lambda's Kafka event source mappings send, for Amazon MSK (`aws:kafka`, with the
 * cluster's ARN) and for self-managed clusters (`SelfManagedKafka`, no ARN): records grouped
 * under `"<topic>-<partition>"`, key and value base64. The same fields as Powertools'
 * KafkaMskEventSchema and KafkaSelfManagedEventSchema; payloads are checked later, one by one.
 */
const KafkaRecordSchema = z.object({
  topic: z.string().min(1).max(249),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  timestamp: z.number(),
  timestampType: z.enum(['CREATE_TIME', 'LOG_APPEND_TIME']).optional(),
  key: z.string().nullish(),
  value: z.string().nullish(),
  headers: z.array(z.record(z.string(), z.array(z.number()))).optional(),
});

export const KafkaEventSchema = z.object({
  eventSource: z.enum(['aws:kafka', 'SelfManagedKafka']),
  eventSourceArn: z.string().optional(),
  bootstrapServers: z.string().optional(),
  records: z.record(z.string(), z.array(KafkaRecordSchema)),
});

export type KafkaEvent = z.infer<typeof KafkaEventSchema>;
export type KafkaEventRecord = z.infer<typeof KafkaRecordSchema>;

/**
 * Where a Kafka offset only grows: `topic/partition`, the key the long-running kafkajs consumer
 * uses too, so a customer consumed by either keeps one high-water mark per partition. A topic
 * name cannot hold `/`, so the key cannot be taken for a Kinesis `stream/shardId` of another source.
 */
export const kafkaSource = (topic: string, partition: number): string => `${topic}/${partition}`;

/** The records in offset order within each partition, as StreamRecords (value as base64 data, key as the partition key). */
export function fromKafkaEvent(event: KafkaEvent): StreamRecord[] {
  const result: StreamRecord[] = [];
  for (const group of Object.values(event.records)) {
    for (const record of group) {
      result.push({
        source: kafkaSource(record.topic, record.partition),
        position: String(record.offset),
        partitionKey: record.key ? Buffer.from(record.key, 'base64').toString('utf8') : undefined,
        data: record.value ?? '',
      });
    }
  }
  return result;
}
