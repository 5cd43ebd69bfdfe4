import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { MemoryAlertSink } from '../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../consumers/deadLetters/memoryDeadLetterSink.ts';
import { startKafkaGroupConsumer } from '../consumers/kafkaGroupConsumer.ts';
import { MemoryStateStore } from '../consumers/stateStore/memoryStateStore.ts';
import { BtydModel } from '../models/clv/btydModel.ts';
import { DEFAULT_RISK_POLICY } from '../models/customer/riskPolicy.ts';
import { startKafkaBroker } from '../bin/localStack/kafkaBroker.ts';
import { ensureTopic, KafkaOrderProducer } from '../producers/kafkaProducer.ts';
import { workload } from './consumerBench.ts';

const OptionsSchema = z.object({
  events: z.coerce.number().int().min(1_000).max(10_000_000).default(200_000),
  customers: z.coerce.number().int().min(10).optional(),
  json: z.boolean().default(false),
  /** An existing broker; by default one is started for the run (bin/localStack/kafkaBroker.ts). */
  brokers: z.string().min(1).optional(),
  partitions: z.coerce.number().int().min(1).max(64).default(4),
});

/**
 * `bench kafka`: produce → broker → consume → state → scores, end to end on a real broker. The
 * consumer group (kafkaGroupConsumer.ts over processRecords, in-memory store and sinks, the BTYD
 * model of `bench consumer`) joins first; the clock starts when the producer starts sending and
 * stops when the last event is applied. `producerPerSec` times the idempotent producer alone
 * over the same run (it runs concurrently with the consumer on the same two cores).
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const options = OptionsSchema.parse(rawOptions);
  const customers = options.customers ?? Math.max(100, Math.ceil(options.events / 5));
  const { events, artifact } = workload(customers, options.events);
  const broker = options.brokers ? undefined : await startKafkaBroker({ say: options.json ? undefined : (line) => process.stderr.write(`${line}\n`) });
  const brokers = options.brokers?.split(',') ?? broker!.brokers;
  const kafka = new Kafka({ clientId: 'demand-insights-bench', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench-orders-${Date.now()}`;
  const admin = kafka.admin();
  try {
    await admin.connect();
    await ensureTopic(admin, topic, options.partitions);
    const metrics = new CounterMetrics();
    const deps: ConsumerDeps = {
      store: new MemoryStateStore(),
      alerts: new MemoryAlertSink(),
      deadLetters: new MemoryDeadLetterSink(),
      model: BtydModel.load(artifact),
      policy: DEFAULT_RISK_POLICY,
      metrics,
      clock: 'event',
    };
    let applied = 0;
    let markDone = () => {};
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const consumer = await startKafkaGroupConsumer({
      kafka,
      topic,
      groupId: `${topic}-group`,
      deps,
      onChunk: ({ records, failed }) => {
        if (failed > 0) throw new Error('benchmark chunk failed: the in-memory path should never fail');
        applied += records;
        if (applied >= events.length) markDone();
      },
    });
    await consumer.joined;
    const producer = new KafkaOrderProducer({ kafka, topic });
    await producer.connect(brokers);
    const started = performance.now();
    await producer.send(events);
    const producerSeconds = (performance.now() - started) / 1000;
    await done;
    const seconds = (performance.now() - started) / 1000;
    await producer.disconnect();
    await consumer.stop();
    if (metrics.get('EventsApplied') !== events.length) throw new Error(`applied ${metrics.get('EventsApplied')} of ${events.length} events`);
    const result = { events: events.length, eventsPerSec: Math.round(events.length / seconds), producerPerSec: Math.round(events.length / producerSeconds) };
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(
        `kafka benchmark: ${events.length} events, ${customers} customers, ${options.partitions} partitions, broker ${brokers.join(',')}\n` +
          `  end to end (produce → consume → state → scores)  ${result.eventsPerSec.toLocaleString()} events/s\n` +
          `  producer alone                                   ${result.producerPerSec.toLocaleString()} events/s\n`,
      );
    }
  } finally {
    await admin.disconnect();
    await broker?.stop();
  }
}
