import { athenaClient, s3Client } from '../aws/clients.ts';
import { modelStoreFor } from '../aws/modelStore.ts';
import { statementRunner } from '../lake/athenaStatements.ts';
import { isoDay, dayIndex } from '../models/time/calendar.ts';
import { readLakeTrainingData } from './lakeTrainingData.ts';
import { type PublishRun, retrainAndPublish, type TrainerLog, type TrainerMetric } from './retrainAndPublish.ts';
import type { TrainerEnv } from './trainerConfig.ts';

export interface ScheduledTrainingResult {
  published: boolean;
  version: string;
  events: number;
  parquetObjects: number;
  athenaBytesScanned: number;
  comparison: PublishRun['comparison'];
}

/** One scheduled run: the lake through Athena UNLOAD, retrain, compare, publish or refuse. */
export async function scheduledTraining(
  env: TrainerEnv,
  request: { force: boolean },
  io: { log: TrainerLog; count: (metric: TrainerMetric, value: number) => void; now?: () => number },
): Promise<ScheduledTrainingResult> {
  const now = io.now ?? Date.now;
  const s3 = s3Client({ region: env.AWS_REGION, endpoint: env.S3_ENDPOINT });
  const athena = statementRunner({
    client: athenaClient({ region: env.AWS_REGION, endpoint: env.ATHENA_ENDPOINT }),
    database: env.ATHENA_DATABASE,
    workgroup: env.ATHENA_WORKGROUP,
    outputLocation: env.ATHENA_OUTPUT_LOCATION,
    timeoutMs: env.TRAINER_STATEMENT_TIMEOUT_MS,
  });
  const data = await readLakeTrainingData({
    athena,
    s3,
    database: env.ATHENA_DATABASE,
    unloadRoot: `${env.MODEL_URI.replace(/\/+$/, '')}/training-data/`,
    fromDay: isoDay(dayIndex(now()) - env.TRAINING_DAYS),
  });
  io.log.info('training data read', { events: data.events.length, rows: data.rows, parquetObjects: data.objects, athenaBytesScanned: data.bytesScanned });
  const store = modelStoreFor(env.MODEL_URI, { client: s3 });
  const run = await retrainAndPublish(store, data.events, {
    horizonDays: env.HORIZON_DAYS,
    tolerance: { churnAuc: env.TOLERANCE_CHURN_AUC, clvSpearman: env.TOLERANCE_CLV_SPEARMAN },
    force: request.force,
    now,
    log: io.log,
    count: io.count,
  });
  return { published: run.published, version: run.version, events: data.events.length, parquetObjects: data.objects, athenaBytesScanned: data.bytesScanned, comparison: run.comparison };
}
