import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { tracedHandler } from '../../aws/handlerTracing.ts';
import { type ScheduledTrainingResult, scheduledTraining } from '../scheduledTraining.ts';
import { readTrainerEnv, type TrainerEnv, TrainerRequestSchema } from '../trainerConfig.ts';

const logger = new Logger({ serviceName: 'demand-insights-trainer' });
const metrics = new Metrics({ namespace: 'DemandInsights', serviceName: 'trainer' });
const tracer = new Tracer({ serviceName: 'demand-insights-trainer' });
let env: TrainerEnv | undefined;

export type TrainerResult = ScheduledTrainingResult | { rejected: string };

/**
 * The trainer: EventBridge Scheduler invokes it weekly with `{}`; `{"force": true}` publishes a
 * model even when it is worse than the serving one. Other input is refused with its reason and
 * counted (RequestsRejected), not retried.
 */
async function train(event: unknown): Promise<TrainerResult> {
  env ??= readTrainerEnv();
  const request = TrainerRequestSchema.safeParse(event ?? {});
  try {
    if (!request.success) {
      const reason = request.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ');
      logger.error('trainer input refused', { reason });
      metrics.addMetric('RequestsRejected', MetricUnit.Count, 1);
      return { rejected: reason };
    }
    return await scheduledTraining(env, request.data, { log: logger, count: (metric, value) => metrics.addMetric(metric, MetricUnit.Count, value) });
  } finally {
    metrics.publishStoredMetrics();
  }
}

export const handler = tracedHandler(tracer, 'trainer', train);
