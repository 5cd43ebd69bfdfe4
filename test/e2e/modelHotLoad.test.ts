import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiGatewayHandler } from '../../api/http/apiHandler.ts';
import { httpApiEvent } from '../../api/http/events.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import { publishModel } from '../../aws/modelPublication.ts';
import { buildAwsConsumerDeps } from '../../consumers/awsConsumerDeps.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import { readConsumerEnv } from '../../consumers/consumerConfig.ts';
import { modelStoreFor } from '../../aws/modelStore.ts';
import { btydArtifact } from '../../models/clv/btydModel.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { type AthenaEndpoint, startAthenaEndpoint } from '../support/athenaEndpoint.ts';
import { startS3Endpoint, type S3Endpoint } from '../support/s3Endpoint.ts';

/*
 * The deployed API entry point (api/lambda.ts) configured with MODEL_URI as Terraform configures
 * it, against the S3 and Athena stand-ins: it serves the store's model, takes a newer one at the
 * first request after MODEL_REFRESH_SECONDS (Date faked, no sleeps), refuses a corrupt one while
 * the loaded model keeps answering, and keeps answering while S3 is down.
 */

const events = generateEvents({ customers: 120, days: 380, seed: 5, start: '2024-01-01' });
const artifact = (r: number) =>
  btydArtifact({
    horizonDays: 90,
    calibrationEnd: '2024-12-31',
    trainedOn: { customers: 120, events: 500 },
    bgnbd: { r, alpha: 4.414, a: 0.793, b: 2.426, logLikelihood: -1 },
    gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44, logLikelihood: -1 },
  });
const BUNDLED = artifact(0.5);
const FIRST = artifact(0.243);
const SECOND = artifact(0.3);

let dir: string;
let athena: AthenaEndpoint;
let s3: S3Endpoint;
let s3Down = false;
let handler: ApiGatewayHandler;
const savedEnv = { ...process.env };
const T0 = Date.parse('2026-12-05T00:00:00Z');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'di-hot-model-'));
  await buildLake(events, join(dir, 'lake'));
  athena = await startAthenaEndpoint({ lakeDir: join(dir, 'lake') });
  s3 = await startS3Endpoint({ buckets: { lake: join(dir, 's3-lake') }, failRequest: () => (s3Down ? 'internal' : undefined) });
  await writeFile(join(dir, 'model.json'), JSON.stringify(BUNDLED));
  const store = modelStoreFor('s3://lake/model-store', { client: client() });
  await publishModel(store, FIRST.version, JSON.stringify(FIRST));
  Object.assign(process.env, {
    ATHENA_DATABASE: athena.database,
    ATHENA_WORKGROUP: athena.workgroup,
    ATHENA_ENDPOINT: athena.endpoint,
    MODEL_PATH: join(dir, 'model.json'),
    MODEL_URI: 's3://lake/model-store',
    MODEL_REFRESH_SECONDS: '300',
    S3_ENDPOINT: s3.endpoint,
    SCORE_CLOCK: 'event',
    LOG_LEVEL: 'ERROR',
    AWS_REGION: 'us-east-1',
  });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  vi.resetModules();
  handler = (await import('../../api/lambda.ts')).handler;
}, 120_000);

afterAll(async () => {
  vi.useRealTimers();
  process.env = savedEnv;
  await athena?.close();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function client(): S3Client {
  return new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 't', secretAccessKey: 't' }, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
}

async function servedVersion(): Promise<string> {
  const customer = events[0].customerId;
  const response = await handler(httpApiEvent({ method: 'POST', url: '/demand-insights/clv', body: { customer_ids: [customer] } }));
  expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
  return (JSON.parse(response.body) as { model_version: string }).model_version;
}

describe('api/lambda.ts with MODEL_URI over the S3 stand-in', () => {
  it('serves the store\'s model, takes a newer one after the interval, refuses a corrupt one, rides out S3 being down', async () => {
    expect(await servedVersion()).toBe(FIRST.version);
    const store = modelStoreFor('s3://lake/model-store', { client: client() });
    await publishModel(store, SECOND.version, JSON.stringify(SECOND));
    vi.setSystemTime(T0 + 299_000);
    expect(await servedVersion()).toBe(FIRST.version);
    vi.setSystemTime(T0 + 300_000);
    expect(await servedVersion()).toBe(SECOND.version);

    // A corrupt artifact behind a new pointer: refused, SECOND keeps answering.
    const corrupt = JSON.stringify({ ...FIRST, horizonDays: 30 });
    await store.writeArtifact('btyd-ffffffffffff', corrupt);
    await publishModel(store, 'btyd-ffffffffffff', corrupt);
    vi.setSystemTime(T0 + 600_000);
    expect(await servedVersion()).toBe(SECOND.version);

    // S3 down: the API keeps answering with the model it has.
    s3Down = true;
    vi.setSystemTime(T0 + 900_000);
    expect(await servedVersion()).toBe(SECOND.version);
    s3Down = false;
    await publishModel(store, FIRST.version, JSON.stringify(FIRST));
    vi.setSystemTime(T0 + 1_200_000);
    expect(await servedVersion()).toBe(FIRST.version);
  }, 120_000);
});

describe('consumer and sweep deps with MODEL_URI (a directory store)', () => {
  it('score with the store\'s model, and refreshModel takes a newer one after MODEL_REFRESH_SECONDS, counting it', async () => {
    const storeDir = join(dir, 'dir-store');
    const store = modelStoreFor(storeDir);
    await publishModel(store, FIRST.version, JSON.stringify(FIRST));
    const env = readConsumerEnv({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q', MODEL_PATH: join(dir, 'model.json'), MODEL_URI: storeDir, MODEL_REFRESH_SECONDS: '60', AWS_REGION: 'us-east-1' });
    const metrics = new CounterMetrics();
    vi.setSystemTime(T0);
    const deps = await buildAwsConsumerDeps(env, metrics, { info: () => undefined, warn: () => undefined, error: () => undefined });
    expect(deps.model.version).toBe(FIRST.version);
    await publishModel(store, SECOND.version, JSON.stringify(SECOND));
    vi.setSystemTime(T0 + 59_000);
    await deps.refreshModel();
    expect(deps.model.version).toBe(FIRST.version);
    vi.setSystemTime(T0 + 60_000);
    await deps.refreshModel();
    expect(deps.model.version).toBe(SECOND.version);
    expect(metrics.get('ModelsLoaded')).toBe(2);
  });

  it('without MODEL_URI the bundled MODEL_PATH serves and refreshModel does nothing', async () => {
    const env = readConsumerEnv({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q', MODEL_PATH: join(dir, 'model.json'), AWS_REGION: 'us-east-1' });
    const deps = await buildAwsConsumerDeps(env, new CounterMetrics(), { info: () => undefined, warn: () => undefined, error: () => undefined });
    expect(deps.model.version).toBe(BUNDLED.version);
    expect(await deps.refreshModel()).toEqual({ status: 'not-due' });
  });
});
