import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { tracedHandler } from '../../aws/handlerTracing.ts';
import { buildAwsConsumerDeps } from '../awsConsumerDeps.ts';
import { type ConsumerEnv, readConsumerEnv } from '../consumerConfig.ts';
import { PowertoolsMetrics } from '../consumerMetrics.ts';
import type { AwsConsumerDeps } from '../awsConsumerDeps.ts';
import { type SweepResult, sweepAll } from '../sweep.ts';
import { boundedWatermark } from '../watermark.ts';

const logger = new Logger({ serviceName: 'demand-insights-sweep' });
const metrics = new Metrics({ namespace: 'DemandInsights', serviceName: 'sweep' });
const tracer = new Tracer({ serviceName: 'demand-insights-sweep' });
let cold: Promise<{ env: ConsumerEnv; deps: AwsConsumerDeps }> | undefined;

/**
 * The scheduled sweep (EventBridge Scheduler / rule, e.g. every 15 minutes). It sweeps as of
 * the event-time watermark, floored by the wall clock in live deployments: customers whose
 * crossing day is over by then are announced, as of that day.
 */
async function sweep(): Promise<SweepResult> {
  cold ??= (async () => {
    const env = readConsumerEnv();
    return { env, deps: await buildAwsConsumerDeps(env, new PowertoolsMetrics(metrics), logger) };
  })();
  const { env, deps } = await cold;
  await deps.refreshModel();
  const now = Date.now();
  // Bounded on reading too: a watermark stored before the bound existed may lie in the future.
  const watermark = boundedWatermark(await deps.store.getWatermark(), now, deps.eventTime?.maxSkewMs);
  const asOfMs = env.SCORE_CLOCK === 'wall' ? Math.max(watermark, now) : watermark;
  const result = await sweepAll(deps, asOfMs, env.SWEEP_BATCH_LIMIT);
  logger.info('sweep done', { ...result });
  metrics.publishStoredMetrics();
  return result;
}

/** The Lambda entry point (bundled as index.mjs; Terraform: handler = "index.handler"). */
export const handler: () => Promise<SweepResult> = tracedHandler(tracer, 'sweep', sweep);
