import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { z } from 'zod';
import { dynamoClient } from '../aws/clients.ts';
import { tracedHandler } from '../aws/handlerTracing.ts';
import { openServingModel, type ServingModel } from '../aws/liveModel.ts';
import { DynamoStateStore } from '../consumers/stateStore/dynamoStateStore.ts';
import { loadModel } from '../models/clv/modelArtifact.ts';
import { ApiService } from './apiService.ts';
import { NO_LIVE_STATE } from './services/customerStateReader.ts';
import { AthenaEnvSchema, athenaOptionsOf, createAthenaEngine } from './engines/athenaEngine.ts';
import { parseAllowedOrigins } from './http/cors.ts';
import { type ApiGatewayHandler, createApiHandler } from './http/apiHandler.ts';
import { createLakeQueries } from './lake/lakeQueriesSql.ts';

/**
 * The API Lambda behind API Gateway (HTTP API payload 2.0, or a REST API proxy integration):
 * Athena for the lake, DynamoDB for the scorer's live state, the model artifact shipped beside
 * the code. Configuration is read and checked on the first invocation, not at import, so a
 * misconfigured function fails its requests with a logged reason (and a bare 500) instead of
 * failing to load.
 */
export const ApiEnvSchema = AthenaEnvSchema.extend({
  /** The scorer's live state; without it (the old module's callers) named customers are scored from the lake and listings are empty. */
  STATE_TABLE: z.string().min(1).optional(),
  MODEL_PATH: z.string().min(1).default('./model.json'),
  /** Published models (s3://bucket/prefix or a directory), hot-loaded; unset, MODEL_PATH serves alone. */
  MODEL_URI: z.string().trim().min(1).optional(),
  /** How often, at most, a container looks at the model store's pointer for a new version. */
  MODEL_REFRESH_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  CORS_ALLOWED_ORIGINS: z.string().default(''),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  SCORE_CLOCK: z.enum(['event', 'wall']).default('wall'),
  /** Where the .sql files are in the package (the bundle ships them in ./sql). */
  LAKE_SQL_DIR: z.string().min(1).optional(),
  /** Local stand-ins only. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  S3_ENDPOINT: z.string().url().optional(),
});

export type ApiEnv = z.infer<typeof ApiEnvSchema>;

export function readApiEnv(env: NodeJS.ProcessEnv = process.env): ApiEnv {
  const parsed = ApiEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid API configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  parseAllowedOrigins(parsed.data.CORS_ALLOWED_ORIGINS);
  return parsed.data;
}

const logger = new Logger({ serviceName: 'demand-insights-api' });
const tracer = new Tracer({ serviceName: 'demand-insights-api' });
const metrics = new Metrics({ namespace: 'DemandInsights', serviceName: 'api' });

/** The API's model: MODEL_URI's current version when set (hot-loaded), else the bundled MODEL_PATH. */
function openModel(env: ApiEnv): Promise<ServingModel> {
  return openServingModel({
    uri: env.MODEL_URI,
    bundledPath: env.MODEL_PATH,
    intervalMs: env.MODEL_REFRESH_SECONDS * 1000,
    load: loadModel,
    log: logger,
    count: (metric) => {
      metrics.addMetric(metric, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
    s3Endpoint: env.S3_ENDPOINT,
    region: env.AWS_REGION,
  });
}

async function buildService(env: ApiEnv): Promise<{ service: ApiService; serving: ServingModel }> {
  const serving = await openModel(env);
  const model = serving.model;
  const engine = createAthenaEngine({
    ...athenaOptionsOf(env),
    ...(env.LAKE_SQL_DIR ? { sqlDir: env.LAKE_SQL_DIR } : {}),
  });
  const service = new ApiService({
    lake: createLakeQueries(engine),
    store: env.STATE_TABLE
      ? new DynamoStateStore({ client: dynamoClient({ region: env.AWS_REGION, endpoint: env.DYNAMODB_ENDPOINT }), tableName: env.STATE_TABLE })
      : NO_LIVE_STATE,
    model,
    config: { scoreClock: env.SCORE_CLOCK },
    onBackgroundError: (error, what) => logger.warn('background refresh failed; serving the previous answer', { what, error: error as Error }),
  });
  // Shared aggregates start loading now; requests wait only for the parts they need.
  service.warmUp().then(
    (timings) => logger.info('warm-up done', { timings }),
    (error: unknown) => logger.warn('warm-up failed; requests will retry what they need', { error: error as Error }),
  );
  return { service, serving };
}

let handlerPromise: Promise<ApiGatewayHandler> | undefined;

function coldStart(): Promise<ApiGatewayHandler> {
  return (async () => {
    const env = readApiEnv();
    logger.setLogLevel(env.LOG_LEVEL);
    let built: Promise<{ service: ApiService; serving: ServingModel }> | undefined;
    return createApiHandler({
      // The model store's pointer is looked at before a request (at most once per MODEL_REFRESH_SECONDS).
      service: async () => {
        built ??= buildService(env).catch((error: unknown) => {
          built = undefined;
          throw error;
        });
        const { service, serving } = await built;
        await serving.refresh();
        return service;
      },
      cors: { allowedOrigins: parseAllowedOrigins(env.CORS_ALLOWED_ORIGINS) },
      logger,
    });
  })();
}

export const handler: ApiGatewayHandler = tracedHandler(tracer, 'api', async (event, context) => {
  handlerPromise ??= coldStart();
  let apiHandler: ApiGatewayHandler;
  try {
    apiHandler = await handlerPromise;
  } catch (error) {
    handlerPromise = undefined;
    logger.error('API configuration rejected', { error: error as Error });
    return {
      statusCode: 500,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ error: { code: 'internal', message: 'internal error' }, ...(context?.awsRequestId ? { request_id: context.awsRequestId } : {}) }),
      isBase64Encoded: false,
    };
  }
  if (context) logger.addContext(context);
  return apiHandler(event, context);
});
