import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { buildAwsConsumerDeps } from '../awsConsumerDeps.ts';
import { readConsumerEnv } from '../consumerConfig.ts';
import { PowertoolsMetrics } from '../consumerMetrics.ts';
import type { ConsumerDeps } from '../customerBatch.ts';
import { createKinesisHandler, type KinesisHandler } from '../kinesisHandler.ts';

const logger = new Logger({ serviceName: 'demand-insights-consumer' });
const metrics = new Metrics({ namespace: 'DemandInsights', serviceName: 'consumer' });
let awsDeps: Promise<ConsumerDeps> | undefined;

/** The Lambda entry point (bundled as index.mjs; Terraform: handler = "index.handler"). */
export const handler: KinesisHandler = createKinesisHandler(
  () => (awsDeps ??= buildAwsConsumerDeps(readConsumerEnv(), new PowertoolsMetrics(metrics))),
  logger,
  () => metrics.publishStoredMetrics(),
);
