import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaDeadLetterSink } from '../../consumers/deadLetters/kafkaDeadLetterSink.ts';
import { type RunningKafkaConsumer, startKafkaGroupConsumer } from '../../consumers/kafkaGroupConsumer.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { KafkaOrderProducer } from '../../producers/kafkaProducer.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { freshTopic, statesOf, testKafka, waitForGroupAtEnd } from '../support/kafkaTestKit.ts';
import { memorySinkDeps } from '../support/memoryConsumer.ts';

let kafka: Kafka;
let brokers: string[];
let admin: Admin;
const running: RunningKafkaConsumer[] = [];

beforeAll(async () => {
  ({ kafka, brokers } = testKafka('consumer-group-test'));
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await Promise.all(running.map((consumer) => consumer.stop()));
  await admin.disconnect();
});

async function produce(topic: string, events: readonly OrderEvent[]): Promise<void> {
  const producer = new KafkaOrderProducer({ kafka, topic });
  await producer.connect(brokers);
  await producer.send(events);
  await producer.disconnect();
}

/** A consumer over its own deps (its own counters) and the given store. */
async function consumer(topic: string, groupId: string, store: MemoryStateStore, onRecords?: (records: number) => void) {
  const deps = memorySinkDeps(store);
  const started = await startKafkaGroupConsumer({ kafka, topic, groupId, deps, chunkSize: 250, onChunk: ({ records }) => onRecords?.(records) });
  running.push(started);
  return { deps, started };
}

describe('the Kafka consumer group against a real broker', () => {
  it('two consumers in one group with a rebalance in the middle apply every event once: none twice, none lost', async () => {
    const events = generateEvents({ customers: 800, days: 400, seed: 11, start: '2024-01-01' }).slice(0, 16_000);
    const half = events.length / 2;
    const topic = await freshTopic(admin, 'rebalance', 4);
    const group = `${topic}-group`;
    const store = new MemoryStateStore();

    await produce(topic, events.slice(0, half));
    let firstSeen = 0;
    let reachedQuarter = () => {};
    const quarter = new Promise<void>((resolve) => (reachedQuarter = resolve));
    const first = await consumer(topic, group, store, (records) => {
      firstSeen += records;
      if (firstSeen >= half / 2) reachedQuarter();
    });
    await quarter;
    // The second member joins while the first is mid-stream: the group rebalances and the
    // partitions are split; offsets the first had not committed are delivered again.
    let secondSeen = 0;
    const second = await consumer(topic, group, store, (records) => (secondSeen += records));
    await second.started.joined;
    await produce(topic, events.slice(half));
    await waitForGroupAtEnd(admin, group, topic);

    const applied = first.deps.metrics.get('EventsApplied') + second.deps.metrics.get('EventsApplied');
    expect(applied).toBe(events.length);
    expect(secondSeen).toBeGreaterThan(0);
    expect(first.deps.deadLetters.letters).toEqual([]);

    // The same topic consumed once, by one member, from the start: the reference.
    const reference = new MemoryStateStore();
    const clean = await consumer(topic, `${topic}-clean`, reference);
    await waitForGroupAtEnd(admin, `${topic}-clean`, topic);
    expect(clean.deps.metrics.get('EventsApplied')).toBe(events.length);
    const together = await statesOf(store);
    expect(together.size).toBe(new Set(events.map((e) => e.customerId)).size);
    expect(together).toEqual(await statesOf(reference));
    const alertIds = (deps: typeof first.deps) => deps.alerts.delivered.map((a) => a.detail.eventId);
    expect(new Set([...alertIds(first.deps), ...alertIds(second.deps)])).toEqual(new Set(alertIds(clean.deps)));
  });

  it('sends malformed messages to the dead-letter topic with the reason in headers, and applies the good ones around them', async () => {
    const topic = await freshTopic(admin, 'poison', 2);
    const deadLetterTopic = await freshTopic(admin, 'poison-dead-letters', 1);
    const good = generateEvents({ customers: 50, days: 200, seed: 5, start: '2024-01-01' }).slice(0, 300);
    const poison: { key: string; value: string | null; reason: RegExp }[] = [
      { key: 'p1', value: 'this is not JSON', reason: /^not JSON/ },
      { key: 'p2', value: JSON.stringify({ type: 'order', orderId: 'x', occurredAt: '2024-02-01T00:00:00Z', lines: [] }), reason: /^not an OrderEvent v1: .*customerId/ },
      { key: 'p3', value: JSON.stringify({ ...good[0], orderId: 'neg', lines: [{ productId: 'p', quantity: -1, unitPrice: 1 }] }), reason: /^not an OrderEvent v1: .*quantity/ },
      { key: 'p4', value: JSON.stringify({ ...good[0], orderId: 'old', occurredAt: '1970-01-01T00:00:00Z' }), reason: /^not an OrderEvent v1: .*occurredAt/ },
      { key: 'p5', value: null, reason: /^not JSON/ },
    ];
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, messages: good.slice(0, 150).map((e) => ({ key: e.customerId, value: JSON.stringify(e) })) });
    await producer.send({ topic, messages: poison.map(({ key, value }) => ({ key, value })) });
    await producer.send({ topic, messages: good.slice(150).map((e) => ({ key: e.customerId, value: JSON.stringify(e) })) });

    const store = new MemoryStateStore();
    const deps = { ...memorySinkDeps(store), deadLetters: new KafkaDeadLetterSink({ producer, topic: deadLetterTopic }) };
    const group = `${topic}-group`;
    running.push(await startKafkaGroupConsumer({ kafka, topic, groupId: group, deps }));
    await waitForGroupAtEnd(admin, group, topic);
    expect(deps.metrics.get('EventsApplied')).toBe(good.length);
    expect(deps.metrics.get('PoisonRecords')).toBe(poison.length);

    const letters: { key: string | undefined; value: string | null; headers: Record<string, string> }[] = [];
    const reader = kafka.consumer({ groupId: `${deadLetterTopic}-reader` });
    await reader.connect();
    await reader.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
    const all = new Promise<void>((resolve) => {
      void reader.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          letters.push({ key: message.key?.toString(), value: message.value && message.value.length > 0 ? message.value.toString() : null, headers });
          if (letters.length === poison.length) resolve();
        },
      });
    });
    await all;
    await reader.disconnect();
    await producer.disconnect();
    for (const sent of poison) {
      const letter = letters.find((l) => l.key === sent.key);
      expect(letter, sent.key).toBeDefined();
      expect(letter!.value).toBe(sent.value);
      expect(letter!.headers['dead-letter-reason']).toMatch(sent.reason);
      expect(letter!.headers['dead-letter-source']).toMatch(new RegExp(`^${topic}/[01]$`));
      expect(letter!.headers['dead-letter-position']).toMatch(/^\d+$/);
    }
  });
});
