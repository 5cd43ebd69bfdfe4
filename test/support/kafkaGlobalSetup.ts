import type { TestProject } from 'vitest/node';
import { type KafkaBroker, startKafkaBroker } from '../../bin/localStack/kafkaBroker.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The e2e project's Kafka broker, `127.0.0.1:port`. */
    kafkaBrokers: string[];
  }
}

/**
 * One real Kafka broker for the whole e2e project (a JVM start costs seconds; every Kafka test
 * uses its own topics and groups, so they share it safely). Stopped after the last test.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const broker: KafkaBroker = await startKafkaBroker({ say: (line) => process.stderr.write(`${line}\n`) });
  project.provide('kafkaBrokers', broker.brokers);
  return () => broker.stop();
}
