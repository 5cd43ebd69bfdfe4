import { type Admin, type Kafka, type Message, type Producer, Partitioners } from 'kafkajs';
import type { OrderEvent } from '../models/customer/orderEvent.ts';

/**
 * Sends OrderEvents to a Kafka topic with kafkajs, keyed by customer id so one customer's events
 * share a partition and stay in order. The producer is idempotent (the broker drops a resent
 * batch it already has, per producer id and sequence), which kafkajs supports only with one
 * request in flight; batching many messages per request is what keeps it fast. The partitioner
 * is Java's (murmur2), so a Java producer keyed the same way picks the same partitions.
 */
export interface KafkaOrderProducerOptions {
  kafka: Kafka;
  topic: string;
  /** Messages per produce request (default 2,000). */
  batchMessages?: number;
}

export interface KafkaSendProgress {
  sent: number;
  total: number;
}

export interface KafkaSendResult {
  sent: number;
  /** Produce requests made (kafkajs's own retries of a request are not counted). */
  calls: number;
}

/** The broker could not be reached or refused the connection: say which, and where. */
export class KafkaUnreachableError extends Error {
  constructor(brokers: readonly string[], cause: unknown) {
    super(`cannot reach the Kafka broker at ${brokers.join(',')}: ${(cause as Error).message ?? String(cause)}`);
    this.name = 'KafkaUnreachableError';
  }
}

export class KafkaOrderProducer {
  private readonly producer: Producer;
  private connected = false;

  constructor(private readonly options: KafkaOrderProducerOptions) {
    this.producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  }

  async connect(brokers: readonly string[]): Promise<void> {
    if (this.connected) return;
    try {
      await this.producer.connect();
      this.connected = true;
    } catch (error) {
      throw new KafkaUnreachableError(brokers, error);
    }
  }

  /** Sends every event (acks from all in-sync replicas); kafkajs retries a failed request, then this throws. */
  async send(events: readonly OrderEvent[], onProgress?: (progress: KafkaSendProgress) => void): Promise<KafkaSendResult> {
    const size = this.options.batchMessages ?? 2_000;
    let sent = 0;
    let calls = 0;
    for (let from = 0; from < events.length; from += size) {
      const messages: Message[] = events.slice(from, from + size).map(toMessage);
      await this.producer.send({ topic: this.options.topic, messages, acks: -1 });
      calls++;
      sent += messages.length;
      onProgress?.({ sent, total: events.length });
    }
    return { sent, calls };
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    this.connected = false;
  }
}

const toMessage = (event: OrderEvent): Message => ({ key: event.customerId, value: JSON.stringify(event) });

/**
 * Creates the topic if it is missing (a local broker starts empty), with the broker's default
 * replication factor; an existing topic is left as it is.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
}
