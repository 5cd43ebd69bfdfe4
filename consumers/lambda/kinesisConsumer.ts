import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { tracedHandler } from '../../aws/handlerTracing.ts';
import { type AwsConsumerDeps, buildAwsConsumerDeps } from '../awsConsumerDeps.ts';
import { readConsumerEnv } from '../consumerConfig.ts';
import { PowertoolsMetrics } from '../consumerMetrics.ts';
import { createKinesisHandler, type KinesisHandler } from '../kinesisHandler.ts';

const logger = new Logger({ serviceName: 'demand-insights-consumer' });
const metrics = new Metrics({ namespace: 'DemandInsights', serviceName: 'consumer' });
const tracer = new Tracer({ serviceName: 'demand-insights-consumer' });
let awsDeps: Promise<AwsConsumerDeps> | undefined;

/** The Lambda entry point (bundled as index.mjs; Terraform: handler = "index.handler"). */
export const handler: KinesisHandler = tracedHandler(
  tracer,
  'consumer',
  createKinesisHandler(
    // The model store's pointer is looked at before a batch (at most once per MODEL_REFRESH_SECONDS), never during one.
    async () => {
      const deps = await (awsDeps ??= buildAwsConsumerDeps(readConsumerEnv(), new PowertoolsMetrics(metrics), logger));
      await deps.refreshModel();
      return deps;
    },
    logger,
    () => metrics.publishStoredMetrics(),
  ),
);
