import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadModel } from '../models/clv/modelArtifact.ts';
import { type LiveModelLog, openServingModel } from '../aws/liveModel.ts';
import { EventBridgeAlertSink } from './alerts/eventBridgeAlertSink.ts';
import { dynamoClient, eventBridgeClient, sqsClient } from '../aws/clients.ts';
import { type ConsumerEnv, eventTimeBoundsOf, riskPolicyOf } from './consumerConfig.ts';
import { loadSegmentModel } from '../models/segmentation/segmentation.ts';
import { segmentNamer } from '../models/segmentation/segmentNaming.ts';
import type { ConsumerMetrics } from './consumerMetrics.ts';
import type { ConsumerDeps } from './customerBatch.ts';
import { SqsDeadLetterSink } from './deadLetters/sqsDeadLetterSink.ts';
import { DynamoStateStore } from './stateStore/dynamoStateStore.ts';

/** The consumer's and sweep's deps, with the look at the model store their handlers take before each invocation. */
export type AwsConsumerDeps = ConsumerDeps & { refreshModel(): Promise<unknown> };

/**
 * The consumer's and sweep's AWS side: DynamoDB state, EventBridge alerts, SQS dead letters, and
 * the model: MODEL_URI's current version when set (hot-loaded), else the bundled MODEL_PATH.
 */
export async function buildAwsConsumerDeps(env: ConsumerEnv, metrics: ConsumerMetrics, log: LiveModelLog): Promise<AwsConsumerDeps> {
  const region = env.AWS_REGION;
  const serving = await openServingModel({
    uri: env.MODEL_URI,
    bundledPath: env.MODEL_PATH,
    intervalMs: env.MODEL_REFRESH_SECONDS * 1000,
    load: loadModel,
    log,
    count: (metric) => metrics.count(metric, 1),
    s3Endpoint: env.S3_ENDPOINT,
    region,
  });
  return {
    refreshModel: serving.refresh,
    store: new DynamoStateStore({ client: dynamoClient({ region, endpoint: env.DYNAMODB_ENDPOINT }), tableName: env.STATE_TABLE }),
    alerts: new EventBridgeAlertSink({
      client: eventBridgeClient({ region, endpoint: env.EVENTBRIDGE_ENDPOINT, maxAttempts: 1 }),
      eventBusName: env.EVENT_BUS_NAME,
    }),
    deadLetters: new SqsDeadLetterSink({ client: sqsClient({ region, endpoint: env.SQS_ENDPOINT, maxAttempts: 1 }), queueUrl: env.DEAD_LETTER_QUEUE_URL }),
    model: serving.model,
    policy: riskPolicyOf(env),
    segmentOf: await segmentNamerFrom(env.SEGMENT_MODEL_PATH),
    metrics,
    clock: env.SCORE_CLOCK,
    duplicateHorizonDays: env.DUPLICATE_HORIZON_DAYS,
    eventTime: eventTimeBoundsOf(env),
  };
}

/**
 * The bundle ships segments.json beside model.json when a segment model was trained with the
 * model; without one, alerts carry segment null. A path set explicitly must exist.
 */
async function segmentNamerFrom(path: string | undefined) {
  const file = path ?? './segments.json';
  if (path === undefined && !existsSync(file)) return undefined;
  return segmentNamer(loadSegmentModel(JSON.parse(await readFile(file, 'utf8'))));
}
