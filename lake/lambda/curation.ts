import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../aws/clients.ts';
import { tracedHandler } from '../../aws/handlerTracing.ts';
import { createAthenaCurationTarget } from '../athenaCurationTarget.ts';
import { type CurationReport, curateLake } from '../curateLake.ts';
import { type CurationConfig, readCurationConfig } from '../curationConfig.ts';
import { addCurationMetrics } from '../curationMetrics.ts';
import { CurationRequestSchema } from '../curationWindow.ts';

const logger = new Logger({ serviceName: 'demand-insights-curation' });
const metrics = new Metrics({ namespace: 'DemandInsights', serviceName: 'curation' });
const tracer = new Tracer({ serviceName: 'demand-insights-curation' });
let config: CurationConfig | undefined;
let s3: S3Client | undefined;

export type CurationResult = Omit<CurationReport, 'days'> | { rejected: string };

/**
 * The curation Lambda: EventBridge Scheduler invokes it hourly with `{}` (the look-back window);
 * a backfill invokes it with `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`. Input that is not
 * that is refused with its reason and counted (RequestsRejected), not retried.
 */
async function curate(event: unknown): Promise<CurationResult> {
  config ??= readCurationConfig();
  const request = CurationRequestSchema.safeParse(event ?? {});
  if (!request.success) {
    const reason = request.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ');
    logger.error('curation input refused', { reason });
    metrics.addMetric('RequestsRejected', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    return { rejected: reason };
  }
  s3 ??= s3Client(config.s3);
  const target = createAthenaCurationTarget({ ...config.athena, s3 });
  try {
    const { days, ...report } = await curateLake(target, request.data, { nowMs: Date.now(), lookbackDays: config.lookbackDays, eventTime: config.eventTime, graceMs: config.graceMs });
    logger.info('curation done', { ...report, days: days.map((day) => `${day.date}:${day.lines}`).join(' ') });
    // The curated table is right either way; what was not deleted is deleted by a later run.
    if (report.cleanupError !== null || report.cleanupFailures > 0) {
      logger.warn('superseded rebuilds not all deleted', { cleanupError: report.cleanupError, cleanupFailures: report.cleanupFailures, refused: report.cleanupRefused });
    }
    addCurationMetrics(metrics, { ...report, days });
    return report;
  } finally {
    metrics.publishStoredMetrics();
    await target.close();
  }
}

export const handler = tracedHandler(tracer, 'curation', curate);
