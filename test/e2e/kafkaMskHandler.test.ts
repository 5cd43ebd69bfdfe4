import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaHandler } from '../../consumers/kafkaHandler.ts';
import type { KafkaEvent } from '../../consumers/kafkaEvent.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { KafkaOrderProducer } from '../../producers/kafkaProducer.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { freshTopic, statesOf, testKafka } from '../support/kafkaTestKit.ts';
import { memorySinkDeps, streamBatch } from '../support/memoryConsumer.ts';

const CLUSTER_ARN = 'arn:aws:kafka:us-east-1:123456789012:cluster/demand-insights/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab-1';
let kafka: Kafka;
let brokers: string[];
let admin: Admin;

beforeAll(async () => {
  ({ kafka, brokers } = testKafka('msk-handler-test'));
  admin = kafka.admin();
  await admin.connect();
});

afterAll(() => admin.disconnect());

/**
 * What Lambda's MSK event source mapping sends, recorded from the real broker: the topic's
 * messages as fetched, grouped under "<topic>-<partition>", key and value base64, headers as
 * byte arrays, one event per fetched batch; passed through JSON as Lambda delivers it.
 */
async function recordMskEvents(topic: string, expected: number): Promise<KafkaEvent[]> {
  const events: KafkaEvent[] = [];
  let seen = 0;
  const reader = kafka.consumer({ groupId: `${topic}-recorder` });
  await reader.connect();
  await reader.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve) => {
    void reader.run({
      eachBatch: async ({ batch }) => {
        const records = batch.messages.map((message) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          timestampType: 'CREATE_TIME' as const,
          key: message.key?.toString('base64') ?? null,
          value: message.value?.toString('base64') ?? null,
          headers: Object.entries(message.headers ?? {}).map(([k, v]) => ({ [k]: [...Buffer.from(String(v))] })),
        }));
        events.push(JSON.parse(JSON.stringify({ eventSource: 'aws:kafka', eventSourceArn: CLUSTER_ARN, bootstrapServers: brokers.join(','), records: { [`${batch.topic}-${batch.partition}`]: records } })));
        seen += records.length;
        if (seen >= expected) resolve();
      },
    });
  });
  await reader.disconnect();
  return events;
}

const withoutPositions = async (store: MemoryStateStore) => new Map([...(await statesOf(store))].map(([id, { positions: _p, ...state }]) => [id, state]));

describe('the MSK / self-managed Kafka Lambda handler', () => {
  let orders: OrderEvent[];
  let recorded: KafkaEvent[];
  let topic: string;

  beforeAll(async () => {
    orders = generateEvents({ customers: 300, days: 540, seed: 21, start: '2024-01-01' });
    topic = await freshTopic(admin, 'msk', 3);
    const producer = new KafkaOrderProducer({ kafka, topic });
    await producer.connect(brokers);
    await producer.send(orders);
    await producer.disconnect();
    recorded = await recordMskEvents(topic, orders.length);
  });

  it('gives the same states and alerts as the Kinesis handler for the same orders', async () => {
    const viaKafka = memorySinkDeps(new MemoryStateStore());
    const kafkaHandler = createKafkaHandler(() => viaKafka);
    for (const event of recorded) await kafkaHandler(event);
    expect(viaKafka.metrics.get('EventsApplied')).toBe(orders.length);

    const viaKinesis = memorySinkDeps(new MemoryStateStore());
    const kinesisHandler = createKinesisHandler(() => viaKinesis);
    for (let from = 0; from < orders.length; from += 100) {
      const response = await kinesisHandler(streamBatch(orders.slice(from, from + 100), from));
      expect(response.batchItemFailures).toEqual([]);
    }

    expect(await withoutPositions(viaKafka.store)).toEqual(await withoutPositions(viaKinesis.store));
    const ids = (deps: typeof viaKafka) => deps.alerts.delivered.map((alert) => alert.detail.eventId).sort();
    expect(ids(viaKafka).length).toBeGreaterThan(0);
    expect(ids(viaKafka)).toEqual(ids(viaKinesis));
    // High-water marks per topic and partition, at offsets the broker gave.
    for (const state of (await statesOf(viaKafka.store)).values()) {
      for (const [source, offset] of Object.entries(state.positions)) {
        expect(source).toMatch(new RegExp(`^${topic}/[0-2]$`));
        expect(offset).toMatch(/^\d+$/);
      }
    }
  });

  it('ignores a redelivered batch, and takes the self-managed event shape (no ARN) alike', async () => {
    const deps = memorySinkDeps(new MemoryStateStore());
    const handler = createKafkaHandler(() => deps);
    for (const event of recorded) await handler(event);
    const before = await statesOf(deps.store);
    for (const { eventSourceArn: _arn, ...event } of recorded) await handler({ ...event, eventSource: 'SelfManagedKafka' });
    expect(deps.metrics.get('DuplicatePositions')).toBe(orders.length);
    expect(deps.metrics.get('EventsApplied')).toBe(orders.length);
    const after = await statesOf(deps.store);
    expect(after).toEqual(before);
  });

  it('rejects an event that is not a Kafka event, and sets aside a poison record with its reason', async () => {
    const deps = memorySinkDeps(new MemoryStateStore());
    const handler = createKafkaHandler(() => deps);
    await expect(handler({ Records: [] })).rejects.toThrow(/not a Kafka event/);
    await expect(handler({ eventSource: 'aws:kafka', records: { 't-0': [{ topic: 't', partition: -1, offset: 0, timestamp: 0 }] } })).rejects.toThrow(/not a Kafka event/);
    const [first] = Object.values(recorded[0].records);
    const poisoned: KafkaEvent = { ...recorded[0], records: { [`${topic}-0`]: [{ ...first[0], value: Buffer.from('{"type":"order"').toString('base64') }, ...first.slice(1, 3)] } };
    await handler(poisoned);
    expect(deps.deadLetters.letters).toHaveLength(1);
    expect(deps.deadLetters.letters[0].reason).toMatch(/^not JSON/);
    expect(deps.deadLetters.letters[0].source).toBe(`${first[0].topic}/${first[0].partition}`);
    expect(deps.metrics.get('EventsApplied')).toBe(2);
  });
});
