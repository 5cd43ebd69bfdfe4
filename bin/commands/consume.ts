import { readFile } from 'node:fs/promises';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { dynamoClient } from '../../aws/clients.ts';
import { JsonlAlertSink } from '../../consumers/alerts/jsonlAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { KafkaDeadLetterSink } from '../../consumers/deadLetters/kafkaDeadLetterSink.ts';
import { startKafkaGroupConsumer } from '../../consumers/kafkaGroupConsumer.ts';
import { DynamoStateStore } from '../../consumers/stateStore/dynamoStateStore.ts';
import { FileStateStore } from '../../consumers/stateStore/fileStateStore.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';
import { KafkaUnreachableError } from '../../producers/kafkaProducer.ts';

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const ConsumeOptionsSchema = z.object({
  from: z.literal('kafka'),
  brokers: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port...]'),
  topic: z.string().regex(TOPIC, 'must be 1-249 letters, digits, . _ or -'),
  group: z.string().min(1).max(255),
  deadLetterTopic: z.string().regex(TOPIC, 'must be 1-249 letters, digits, . _ or -').optional(),
  model: z.string().min(1),
  table: z.string().min(3).max(255).optional(),
  stateFile: z.string().min(1).optional(),
  dynamodbEndpoint: z.url().optional(),
  region: z.string().min(1).optional(),
  alerts: z.string().min(1),
  threshold: z.coerce.number().positive().default(DEFAULT_RISK_POLICY.level),
  chunkSize: z.coerce.number().int().min(1).max(10_000).default(1_000),
  partitionsConcurrently: z.coerce.number().int().min(1).max(64).default(4),
}).refine((o) => !(o.table && o.stateFile), { message: 'give --table or --state-file, not both', path: ['stateFile'] });

/**
 * `demand-insights consume --from kafka`: the long-running consumer group over the consumer core,
 * until SIGINT or SIGTERM, which let the chunk in progress finish and commit before the group is
 * left. State goes to DynamoDB with `--table` (and `--dynamodb-endpoint` for a local stand-in), to
 * a journal file with `--state-file` (one process, survives a kill), otherwise to memory (lost at
 * exit: for trying things out); alerts to a JSONL file; poison
 * messages to the dead-letter topic (`<topic>.dead-letters` by default). One line per chunk on
 * stdout: `chunk <topic/partition> records=<n> failed=<n>`, for scripts and tests to follow.
 */
export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = ConsumeOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const brokers = options.brokers.split(',');
  const kafka = new Kafka({ clientId: 'demand-insights-consumer', brokers, logLevel: logLevel.ERROR, retry: { retries: 8 } });
  const dynamo = options.table ? dynamoClient({ endpoint: options.dynamodbEndpoint, region: options.region }) : undefined;
  const deadLetterProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await deadLetterProducer.connect();
  } catch (error) {
    throw new KafkaUnreachableError(brokers, error);
  }
  const metrics = new CounterMetrics();
  const fileStore = options.stateFile ? await FileStateStore.open(options.stateFile) : undefined;
  const deps: ConsumerDeps = {
    store: dynamo ? new DynamoStateStore({ client: dynamo, tableName: options.table! }) : (fileStore ?? new MemoryStateStore()),
    alerts: new JsonlAlertSink({ path: options.alerts }),
    deadLetters: new KafkaDeadLetterSink({ producer: deadLetterProducer, topic: options.deadLetterTopic ?? `${options.topic}.dead-letters` }),
    model: loadModel(JSON.parse(await readFile(options.model, 'utf8'))),
    policy: { ...DEFAULT_RISK_POLICY, level: options.threshold },
    metrics,
    clock: 'event',
  };
  if (!dynamo && !fileStore) process.stderr.write('• no --table or --state-file: customer states are kept in memory and lost at exit\n');
  const consumer = await startKafkaGroupConsumer({
    kafka,
    topic: options.topic,
    groupId: options.group,
    deps,
    chunkSize: options.chunkSize,
    partitionsConsumedConcurrently: options.partitionsConcurrently,
    onChunk: ({ source, records, failed }) => {
      process.stdout.write(`chunk ${source} records=${records} failed=${failed}\n`);
    },
  });
  process.stderr.write(`• consuming ${options.topic} as group ${options.group} from ${brokers.join(',')}; Ctrl-C to stop\n`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stderr.write(`• ${signal}: finishing the chunk in progress, committing, leaving the group\n`);
  await consumer.stop();
  await deadLetterProducer.disconnect();
  dynamo?.destroy();
  fileStore?.close();
  process.stderr.write(`• stopped: ${metrics.get('EventsApplied')} events applied, ${metrics.get('PoisonRecords')} dead-lettered, ${metrics.get('DuplicatePositions')} redeliveries ignored\n`);
}
