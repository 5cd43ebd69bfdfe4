import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LiveModel, type LiveModelMetric, openServingModel } from '../../aws/liveModel.ts';
import { publishModel, rollbackModel } from '../../aws/modelPublication.ts';
import { modelStoreFor, sha256Of } from '../../aws/modelStore.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import { foldOf } from '../../models/clv/customerPanel.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { dayIndex, isoDay } from '../../models/time/calendar.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { HOLDOUT_FOLD, retrain } from '../../trainer/retrain.ts';
import { retrainAndPublish, type TrainerMetric } from '../../trainer/retrainAndPublish.ts';
import { scheduledTraining } from '../../trainer/scheduledTraining.ts';
import { TrainerEnvSchema } from '../../trainer/trainerConfig.ts';
import { unloadStatement } from '../../trainer/lakeTrainingData.ts';
import { statementRunner } from '../../lake/athenaStatements.ts';
import { athenaClient } from '../../aws/clients.ts';
import { parquetReadObjects } from 'hyparquet';
import { startAthenaEndpoint } from '../support/athenaEndpoint.ts';
import { startS3Endpoint, type S3Endpoint, type S3EndpointOptions } from '../support/s3Endpoint.ts';

/**
 * The model store through the real S3Client against the S3 stand-in: publish, hot pick-up within
 * the interval on a fake clock, refusals, outages; and the trainer end to end: the lake through
 * the Athena stand-in's UNLOAD (Parquet the S3 stand-in serves), retrain, compare, publish or refuse.
 */

const HORIZON = 90;
const EVENTS = generateEvents({ customers: 700, days: 540, seed: 16, start: '2024-01-01' });
const LAST_DAY = isoDay(EVENTS.reduce((last, e) => Math.max(last, dayIndex(Date.parse(e.occurredAt))), 0));
const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: 't', secretAccessKey: 't' }, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
}

describe('model store and hot loading through the real S3Client', () => {
  let dir: string;
  let s3: S3Endpoint | undefined;
  let v1: string;
  let v2: string;
  beforeAll(() => {
    // Two real hybrid models of the same history: the second fitted with another seed.
    v1 = JSON.stringify(retrain(EVENTS, null, { horizonDays: HORIZON, training: { seed: 1 } }).artifact);
    v2 = JSON.stringify(retrain(EVENTS, null, { horizonDays: HORIZON, training: { seed: 2 } }).artifact);
  }, 120_000);
  afterEach(async () => {
    await s3?.close();
    s3 = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (options: Partial<S3EndpointOptions> = {}) => {
    dir = await mkdtemp(join(tmpdir(), 'di-models-'));
    s3 = await startS3Endpoint({ buckets: { models: join(dir, 'models') }, ...options });
    return modelStoreFor('s3://models/prod', { client: s3ClientFor(s3.endpoint) });
  };
  const versionOf = (text: string) => (JSON.parse(text) as { version: string }).version;

  it('publishes models/<version>.json and a checksummed pointer, and picks a newer version up within the interval with 304s in between', async () => {
    const store = await start();
    const pointer = await publishModel(store, versionOf(v1), v1, { now: () => Date.parse('2026-12-05T00:00:00Z') });
    expect(await readFile(join(dir, 'models', 'prod', 'models', `${versionOf(v1)}.json`), 'utf8')).toBe(v1);
    const onDisk = JSON.parse(await readFile(join(dir, 'models', 'prod', 'models', 'current.json'), 'utf8'));
    expect(onDisk).toEqual({ ...pointer, formatVersion: 1, version: versionOf(v1), sha256: sha256Of(v1), previous: null, reason: 'published', publishedAt: '2026-12-05T00:00:00.000Z' });

    let now = 0;
    const metrics: LiveModelMetric[] = [];
    const live = await LiveModel.open({ store, load: loadModel, fallback: async () => loadModel(JSON.parse(v2)), intervalMs: 300_000, now: () => now, log: silentLog, count: (m) => metrics.push(m) });
    expect(live.version).toBe(versionOf(v1));
    const artifactGets = () => s3!.requests.filter((r) => r.operation === 'GetObject' && !r.key.endsWith('current.json')).length;
    const before = artifactGets();
    for (let i = 1; i <= 3; i++) {
      now = i * 300_000;
      expect(await live.refresh()).toEqual({ status: 'unchanged' });
    }
    expect(artifactGets()).toBe(before);
    await publishModel(store, versionOf(v2), v2);
    now += 299_999;
    expect((await live.refresh()).status).toBe('not-due');
    now += 1;
    expect(await live.refresh()).toMatchObject({ status: 'loaded', version: versionOf(v2) });
    expect(artifactGets()).toBe(before + 1);
    expect(metrics).toEqual(['ModelsLoaded', 'ModelsLoaded']);
  });

  it('refuses a corrupt artifact written over the published one: the old model keeps serving', async () => {
    const store = await start();
    await publishModel(store, versionOf(v1), v1);
    let now = 0;
    const live = await LiveModel.open({ store, load: loadModel, fallback: async () => loadModel(JSON.parse(v1)), intervalMs: 60_000, now: () => now, log: silentLog });
    await publishModel(store, versionOf(v2), v2);
    // The bytes change under the pointer (a bad upload, a truncated copy).
    await writeFile(join(dir, 'models', 'prod', 'models', `${versionOf(v2)}.json`), v2.slice(0, v2.length / 2));
    now = 60_000;
    expect(await live.refresh()).toMatchObject({ status: 'refused', reason: 'checksum-mismatch', version: versionOf(v2) });
    expect(live.version).toBe(versionOf(v1));
  });

  it('S3 down at cold start: the bundled model serves; S3 down later: keeps serving and retries next interval', async () => {
    let down = true;
    const store = await start({ failRequest: () => (down ? 'internal' : undefined) });
    const bundledPath = join(dir, 'model.json');
    await writeFile(bundledPath, v2);
    let now = 0;
    down = false;
    await publishModel(store, versionOf(v1), v1);
    down = true;
    const serving = await openServingModel({ store, bundledPath, intervalMs: 60_000, load: loadModel, log: silentLog, now: () => now });
    expect(serving.model.version).toBe(versionOf(v2));
    now = 30_000;
    expect((await serving.refresh()).status).toBe('not-due');
    down = false;
    now = 60_000;
    expect(await serving.refresh()).toMatchObject({ status: 'loaded', version: versionOf(v1) });
    down = true;
    now = 120_000;
    expect((await serving.refresh()).status).toBe('unreachable');
    expect(serving.model.version).toBe(versionOf(v1));
    down = false;
    await publishModel(store, versionOf(v2), v2);
    now = 180_000;
    expect(await serving.refresh()).toMatchObject({ status: 'loaded', version: versionOf(v2) });
  });

  it('rolls back by pointing at an older version, and refuses to point at one that is not there', async () => {
    const store = await start();
    await publishModel(store, versionOf(v1), v1);
    await publishModel(store, versionOf(v2), v2);
    expect(await store.listVersions()).toEqual([versionOf(v1), versionOf(v2)].sort());
    const pointer = await rollbackModel(store, versionOf(v1), loadModel);
    expect(pointer).toMatchObject({ version: versionOf(v1), previous: versionOf(v2), reason: 'rollback', sha256: sha256Of(v1) });
    await expect(rollbackModel(store, 'hybrid-000000000000', loadModel)).rejects.toThrow(/no model hybrid-000000000000/);
  });
});

describe('trainer: lake through Athena UNLOAD, retrain, compare, publish or refuse', () => {
  let dir: string;
  let s3: S3Endpoint;
  let closeAthena: () => Promise<void>;
  let athena: Awaited<ReturnType<typeof startAthenaEndpoint>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'di-trainer-'));
    await buildLake(EVENTS, join(dir, 'lake'));
    s3 = await startS3Endpoint({ buckets: { models: join(dir, 'models') } });
    athena = await startAthenaEndpoint({ lakeDir: join(dir, 'lake'), s3Buckets: { models: join(dir, 'models') } });
    closeAthena = athena.close;
  }, 120_000);
  afterAll(async () => {
    await s3?.close();
    await closeAthena?.();
    await rm(dir, { recursive: true, force: true });
  });

  const env = () =>
    TrainerEnvSchema.parse({ ATHENA_DATABASE: athena.database, ATHENA_WORKGROUP: athena.workgroup, ATHENA_ENDPOINT: athena.endpoint, S3_ENDPOINT: s3.endpoint, MODEL_URI: 's3://models/prod', AWS_REGION: 'eu-west-1' });

  it('UNLOADs Parquet (never pages GetQueryResults), reads every order back and publishes the model the same events train directly', async () => {
    const metrics: [TrainerMetric, number][] = [];
    const now = () => Date.parse(`${LAST_DAY}T23:00:00Z`);
    const result = await scheduledTraining(env(), { force: false }, { log: silentLog, count: (m, v) => metrics.push([m, v]), now });
    const unloads = athena.started.filter((q) => /^UNLOAD/.test(q.queryString));
    expect(unloads).toHaveLength(1);
    expect(unloads[0].queryString).toMatch(/format = 'PARQUET', compression = 'SNAPPY'/);
    expect(athena.operations.some((o) => o.operation === 'GetQueryResults')).toBe(false);
    expect(result.parquetObjects).toBeGreaterThan(0);
    // One event per (type, order id) of the history.
    expect(result.events).toBe(new Set(EVENTS.map((e) => `${e.type}:${e.orderId}`)).size);
    expect(result.published).toBe(true);
    expect(result.comparison.current).toBeNull();
    // The run's UNLOAD objects are gone; the model is where the pointer says.
    const trainingDir = join(dir, 'models', 'prod', 'training-data');
    expect(existsSync(trainingDir) ? readdirSync(trainingDir, { recursive: true }).filter((f) => String(f).includes('_')) : []).toEqual([]);
    const pointer = JSON.parse(await readFile(join(dir, 'models', 'prod', 'models', 'current.json'), 'utf8'));
    expect(pointer.version).toBe(result.version);
    // Nothing lost on the way through the lake: the same candidate as training on the events themselves.
    expect(retrain(EVENTS, null, { horizonDays: HORIZON }).artifact.version).toBe(result.version);
    expect(metrics).toContainEqual(['ModelsPublished', 1]);
  }, 180_000);

  it('the Lambda entry point refuses input that is not {} or {"force": boolean}, and runs the schedule\'s {}', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { ATHENA_DATABASE: athena.database, ATHENA_WORKGROUP: athena.workgroup, ATHENA_ENDPOINT: athena.endpoint, S3_ENDPOINT: s3.endpoint, MODEL_URI: 's3://models/lambda', TRAINING_DAYS: '3650', AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'SILENT' });
      const { handler } = await import('../../trainer/lambda/trainer.ts');
      expect(await handler({ force: 'yes' })).toMatchObject({ rejected: expect.stringMatching(/force/) });
      expect(await handler({ force: true, extra: 1 })).toMatchObject({ rejected: expect.stringMatching(/extra|unrecognized/i) });
      const result = await handler({});
      expect(result).toMatchObject({ published: true, events: new Set(EVENTS.map((e) => `${e.type}:${e.orderId}`)).size });
      expect(JSON.parse(await readFile(join(dir, 'models', 'lambda', 'models', 'current.json'), 'utf8')).version).toBe((result as { version: string }).version);
    } finally {
      process.env = saved;
    }
  }, 180_000);

  it('UNLOAD fails as Athena does on a non-empty target or a bucket it cannot write; Athena\'s default GZIP Parquet is what hyparquet cannot read', async () => {
    const runner = statementRunner({ client: athenaClient({ endpoint: athena.endpoint, region: 'eu-west-1' }), database: athena.database, workgroup: athena.workgroup, pollIntervalMs: 5 });
    const target = 's3://models/unload-check/run-1/';
    await runner.run(unloadStatement(athena.database, '2024-01-01', target), 'unload');
    await expect(runner.run(unloadStatement(athena.database, '2024-01-01', target), 'unload again')).rejects.toThrow(/HIVE_PATH_ALREADY_EXISTS/);
    await expect(runner.run(unloadStatement(athena.database, '2024-01-01', 's3://elsewhere/x/'), 'unload elsewhere')).rejects.toThrow(/Access Denied/);
    const gzipped = unloadStatement(athena.database, '2024-01-01', 's3://models/unload-check/run-2/').replace(", compression = 'SNAPPY'", '');
    await runner.run(gzipped, 'unload with the default compression');
    const [file] = readdirSync(join(dir, 'models', 'unload-check', 'run-2'));
    const bytes = await readFile(join(dir, 'models', 'unload-check', 'run-2', file));
    await expect(parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer })).rejects.toThrow(/GZIP/);
  }, 60_000);

  it('refuses a worse candidate (log + metric, pointer unchanged) unless forced', async () => {
    const store = modelStoreFor('s3://models/refusal', { client: s3ClientFor(s3.endpoint) });
    const options = { horizonDays: HORIZON, log: silentLog };
    const good = await retrainAndPublish(store, EVENTS, options);
    expect(good.published).toBe(true);
    // Labels turned to noise for the customers it trains on; the held-out customers are untouched.
    const noisy = scrambleTrainingLabels(EVENTS, LAST_DAY);
    const metrics: [TrainerMetric, number][] = [];
    const errors: string[] = [];
    const refused = await retrainAndPublish(store, noisy, { ...options, count: (m, v) => metrics.push([m, v]), log: { ...silentLog, error: (message: string) => errors.push(message) } });
    expect(refused.published).toBe(false);
    expect(refused.comparison.current?.version).toBe(good.version);
    expect(refused.comparison.candidate.churnAuc).toBeLessThan(refused.comparison.current!.churnAuc - 0.01);
    expect(metrics).toContainEqual(['ModelsRejected', 1]);
    expect(errors[0]).toMatch(/not published: churn AUC .* is more than 0.01 below the current/);
    expect((await store.readPointer()).status === 'found' && JSON.parse(((await store.readPointer()) as { text: string }).text).version).toBe(good.version);
    const forced = await retrainAndPublish(store, noisy, { ...options, force: true });
    expect(forced.published).toBe(true);
    expect(forced.pointer).toMatchObject({ version: refused.version, reason: 'forced', previous: good.version });
  }, 180_000);
});

/** Each training-fold customer's orders after the feature day moved to another training customer: labels become noise. */
function scrambleTrainingLabels(events: readonly OrderEvent[], lastDay: string): OrderEvent[] {
  const featureDay = dayIndex(Date.parse(`${lastDay}T00:00:00Z`)) - HORIZON;
  const training = [...new Set(events.map((e) => e.customerId))].filter((id) => foldOf(id) !== HOLDOUT_FOLD).sort();
  const shift = new Map(training.map((id, i) => [id, training[(i * 7919 + 13) % training.length]]));
  return events.map((event) =>
    dayIndex(Date.parse(event.occurredAt)) > featureDay && shift.has(event.customerId) ? { ...event, customerId: shift.get(event.customerId)!, orderId: `${event.orderId}-moved` } : event,
  );
}

describe('CLI: train --out s3://... and model rollback through the S3 stand-in', () => {
  it('publishes from a laptop, refuses a worse model with exit code 3, and rolls back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'di-cli-models-'));
    const s3 = await startS3Endpoint({ buckets: { models: join(dir, 'models') } });
    try {
      const data = join(dir, 'events.jsonl');
      await writeFile(data, EVENTS.map((e) => JSON.stringify(e)).join('\n'));
      const noisy = join(dir, 'noisy.jsonl');
      await writeFile(noisy, scrambleTrainingLabels(EVENTS, LAST_DAY).map((e) => JSON.stringify(e)).join('\n'));
      const { run: train } = await import('../../bin/commands/train.ts');
      const { run: model } = await import('../../bin/commands/model.ts');
      const common = { format: 'jsonl', out: 's3://models/cli', s3Endpoint: s3.endpoint, model: 'hybrid' };
      const pointer = async () => JSON.parse(await readFile(join(dir, 'models', 'cli', 'models', 'current.json'), 'utf8')) as { version: string; reason: string; previous: string | null };
      await train({ ...common, data });
      const first = await pointer();
      expect(first.reason).toBe('published');
      process.exitCode = undefined;
      await train({ ...common, data: noisy });
      expect(process.exitCode).toBe(3);
      process.exitCode = undefined;
      expect((await pointer()).version).toBe(first.version);
      await train({ ...common, data: noisy, force: true });
      const forced = await pointer();
      expect(forced).toMatchObject({ reason: 'forced', previous: first.version });
      await model({ store: 's3://models/cli', to: first.version, s3Endpoint: s3.endpoint }, 'rollback');
      expect(await pointer()).toMatchObject({ version: first.version, reason: 'rollback', previous: forced.version });
    } finally {
      process.exitCode = undefined;
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
