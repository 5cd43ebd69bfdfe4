import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CurationReport } from './curateLake.ts';

/**
 * One run's figures as CloudWatch metrics (namespace DemandInsights, service curation). The
 * freshness alarm (terraform/curation.tf) compares LastCompleteDayRows with the stream's traffic;
 * an explicit backfill that does not hold yesterday leaves it out rather than report a 0.
 */
export function addCurationMetrics(metrics: Metrics, report: CurationReport): void {
  metrics.addMetric('CurationRuns', MetricUnit.Count, 1);
  metrics.addMetric('PartitionsRebuilt', MetricUnit.Count, report.partitionsRebuilt);
  metrics.addMetric('PartitionsDropped', MetricUnit.Count, report.partitionsDropped);
  metrics.addMetric('CuratedRows', MetricUnit.Count, report.rows);
  metrics.addMetric('DuplicatesDropped', MetricUnit.Count, report.duplicatesDropped);
  metrics.addMetric('LateRows', MetricUnit.Count, report.lateRows);
  metrics.addMetric('BytesScanned', MetricUnit.Bytes, report.bytesScanned);
  metrics.addMetric('SupersededObjectsDeleted', MetricUnit.Count, report.removedVersions);
  metrics.addMetric('SupersededDeleteFailures', MetricUnit.Count, report.cleanupFailures);
  metrics.addMetric('CleanupSkipped', MetricUnit.Count, report.cleanupError === null ? 0 : 1);
  if (report.lastCompleteDayRows !== null) metrics.addMetric('LastCompleteDayRows', MetricUnit.Count, report.lastCompleteDayRows);
}
