import { Kafka, logLevel } from 'kafkajs';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { dayIndex } from '../../models/time/calendar.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { startKafkaGroupConsumer } from '../../consumers/kafkaGroupConsumer.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { ensureTopic, KafkaOrderProducer } from '../../producers/kafkaProducer.ts';
import { startKafkaBroker } from './kafkaBroker.ts';
import { countDistinctAlerts } from './streamReplay.ts';

const TOPIC = 'demand-insights-orders';
const GROUP = 'demand-insights-local';

export interface KafkaStreamingOptions {
  /** Topic partitions (the local command's --shards). */
  shards: number;
  /** Messages per core call (the local command's --batch-size). */
  batchSize: number;
  poison: number;
  serve: boolean;
}

interface Progress {
  advance(records: number): void;
  log(line: string): void;
}

/**
 * `local --stream kafka`: the local stack's streaming half on a real Kafka broker
 * (kafkaBroker.ts) instead of kinesalite: the replay goes through the idempotent producer, the
 * consumer group (kafkaGroupConsumer.ts) feeds the same core, and the sweep runs as event time
 * advances on every partition. The same shape as the Kinesis path's `startStreamReplay`
 * (streamReplay.ts): `drained` once the replay is processed (after a final sweep); with
 * `--serve` the group keeps consuming until `stop()`.
 */
export async function startKafkaStreaming(replay: readonly OrderEvent[], options: KafkaStreamingOptions, deps: ConsumerDeps, progress: Progress, say: (line: string) => void) {
  const broker = await startKafkaBroker({ say });
  const kafka = new Kafka({ clientId: 'demand-insights-local', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, TOPIC, options.shards);
  await admin.disconnect();
  say(`• topic ${TOPIC} (${options.shards} partitions); poison messages go to the dead-letter file`);

  const counts = countDistinctAlerts(deps);
  const tracker = deps.watermark!;
  let nextSweepDay = Number.NEGATIVE_INFINITY;
  let sweeping: Promise<void> = Promise.resolve();
  const sweepAsOf = (asOfMs: number) => {
    sweeping = sweeping.then(async () => {
      await sweepAll(deps, asOfMs, 500);
      counts.sweeps++;
    });
    return sweeping;
  };

  const total = replay.length + options.poison;
  let processed = 0;
  let markDrained = () => {};
  const replayProcessed = new Promise<void>((resolve) => (markDrained = resolve));
  const consumer = await startKafkaGroupConsumer({
    kafka,
    topic: TOPIC,
    groupId: GROUP,
    deps,
    chunkSize: options.batchSize,
    onChunk: async ({ records, failed }) => {
      counts.invocations++;
      processed += records - failed;
      progress.advance(records - failed);
      if (processed >= total) markDrained();
      // Swept as of the event time every partition has reached (see the Kinesis path).
      const watermark = tracker.low(options.shards);
      if (watermark > Number.NEGATIVE_INFINITY && dayIndex(watermark) >= nextSweepDay) {
        nextSweepDay = dayIndex(watermark) + 1;
        await sweepAsOf(watermark);
      }
    },
  });
  await consumer.joined;

  const started = performance.now();
  const producer = new KafkaOrderProducer({ kafka, topic: TOPIC });
  await producer.connect(broker.brokers);
  await injectPoison(kafka, options.poison);
  await producer.send(replay);
  await producer.disconnect();

  const drained = (async () => {
    await replayProcessed;
    const seconds = (performance.now() - started) / 1000;
    await sweeping;
    await tracker.publish(deps.store, Date.now(), true);
    await sweepAsOf(Math.max(tracker.high(), await deps.store.getWatermark()));
    if (options.serve) {
      say(`• the consumer group keeps consuming: send more events with`);
      say(`    npx demand-insights replay --data orders.jsonl --format jsonl --to kafka --brokers ${broker.brokers[0]} --topic ${TOPIC}`);
    }
    return { ...counts, seconds, processed: replay.length + options.poison, interrupted: false };
  })();
  return {
    drained,
    /** Ctrl-C on Kafka: the replay runs to its end (the producer has sent it all already). */
    interrupt: () => {},
    stop: async () => {
      await consumer.stop();
      await broker.stop();
    },
  };
}

/** A few malformed messages, so the run shows the dead-letter path working (--poison 0 to skip). */
async function injectPoison(kafka: Kafka, count: number): Promise<void> {
  if (count === 0) return;
  const samples = [
    'this is not JSON',
    JSON.stringify({ type: 'order', orderId: 'x1', occurredAt: '2024-01-01T00:00:00Z', lines: [] }),
    JSON.stringify({ type: 'order', orderId: 'x2', customerId: 'c', occurredAt: 'yesterday', lines: [{ productId: 'p', quantity: 1, unitPrice: 1 }] }),
    JSON.stringify({ type: 'order', orderId: 'x3', customerId: 'c', occurredAt: '2024-01-01T00:00:00Z', lines: [{ productId: 'p', quantity: -2, unitPrice: 1 }] }),
    null,
  ];
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: Array.from({ length: count }, (_, i) => ({ key: `poison-${i}`, value: samples[i % samples.length] })) });
  await producer.disconnect();
}
