import { type Admin, Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import type { StateStore } from '../../consumers/stateStore/stateStore.ts';
import type { CustomerState } from '../../models/customer/customerState.ts';

let topics = 0;

/** A kafkajs client of the e2e project's broker (test/support/kafkaGlobalSetup.ts). */
export function testKafka(clientId = 'demand-insights-test'): { kafka: Kafka; brokers: string[] } {
  const brokers = inject('kafkaBrokers');
  return { kafka: new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING }), brokers };
}

/** A topic no other test uses (tests in parallel files share the broker). */
export async function freshTopic(admin: Admin, name: string, partitions: number): Promise<string> {
  const topic = `${name}-${process.pid}-${Date.now()}-${++topics}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return topic;
}

/** Waits until the group's committed offsets reach the end of every partition of the topic. */
export async function waitForGroupAtEnd(admin: Admin, groupId: string, topic: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  while (Date.now() < deadline) {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    if (committed.partitions.every((p) => BigInt(p.offset) >= (ends.get(p.partition) ?? 0n))) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`group ${groupId} did not reach the end of ${topic} within ${timeoutMs} ms`);
}

/**
 * Every state of a store, by customer id, without the version counter (it counts saves, which
 * differ with batching and retries) and the alerts in flight (delivery bookkeeping of the last
 * invocation that decided alerts: which invocation that was differs with batching, and the alerts
 * themselves are compared by id as delivered); everything else must be identical between two runs.
 */
export async function statesOf(store: StateStore): Promise<Map<string, Omit<CustomerState, 'version' | 'inFlight'>>> {
  const states = new Map<string, Omit<CustomerState, 'version' | 'inFlight'>>();
  for await (const page of store.scan()) {
    for (const { version: _version, inFlight: _inFlight, ...state } of page) states.set(state.customerId, state);
  }
  return new Map([...states].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
