import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { tracedHandler } from '../../aws/handlerTracing.ts';
import { buildAwsConsumerDeps } from '../awsConsumerDeps.ts';
import { readConsumerEnv } from '../consumerConfig.ts';
import { PowertoolsMetrics } from '../consumerMetrics.ts';
import type { ConsumerDeps } from '../customerBatch.ts';
import { createKafkaHandler, type KafkaHandler } from '../kafkaHandler.ts';

const logger = new Logger({ serviceName: 'demand-insights-kafka-consumer' });
const metrics = new Metrics({ namespace: 'DemandInsights', serviceName: 'kafka-consumer' });
const tracer = new Tracer({ serviceName: 'demand-insights-kafka-consumer' });
let awsDeps: Promise<ConsumerDeps> | undefined;

/** The MSK / self-managed Kafka Lambda entry point (bundled as index.mjs; Terraform: handler = "index.handler"). */
export const handler: KafkaHandler = tracedHandler(
  tracer,
  'kafka-consumer',
  createKafkaHandler(
    () => (awsDeps ??= buildAwsConsumerDeps(readConsumerEnv(), new PowertoolsMetrics(metrics))),
    logger,
    () => metrics.publishStoredMetrics(),
  ),
);
