import { readFile } from 'node:fs/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { z } from 'zod';
import { dynamoClient } from '../aws/clients.ts';
import { tracedHandler } from '../aws/handlerTracing.ts';
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
  CORS_ALLOWED_ORIGINS: z.string().default(''),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  SCORE_CLOCK: z.enum(['event', 'wall']).default('wall'),
  /** Where the .sql files are in the package (the bundle ships them in ./sql). */
  LAKE_SQL_DIR: z.string().min(1).optional(),
  /** Local stand-ins only. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
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

async function buildService(env: ApiEnv): Promise<ApiService> {
  const model = loadModel(JSON.parse(await readFile(env.MODEL_PATH, 'utf8')));
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
  return service;
}

let handlerPromise: Promise<ApiGatewayHandler> | undefined;

function coldStart(): Promise<ApiGatewayHandler> {
  return (async () => {
    const env = readApiEnv();
    logger.setLogLevel(env.LOG_LEVEL);
    let service: Promise<ApiService> | undefined;
    return createApiHandler({
      service: () => {
        service ??= buildService(env).catch((error: unknown) => {
          service = undefined;
          throw error;
        });
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
