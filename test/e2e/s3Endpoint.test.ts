import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startS3Endpoint, type S3Endpoint, type S3EndpointOptions } from '../support/s3Endpoint.ts';

/** The S3 stand-in holds to what the real S3Client expects, failures included. */
describe('S3 stand-in through the real S3Client', () => {
  let dir: string;
  let s3: S3Endpoint | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'di-s3-'));
  });
  afterEach(async () => {
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (options: Partial<S3EndpointOptions> = {}) => {
    s3 = await startS3Endpoint({ buckets: { lake: join(dir, 'lake') }, ...options });
    return new S3Client({
      endpoint: s3.endpoint,
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
  };

  it('puts, gets, heads and answers 304 to a matching If-None-Match; the object is a file in the bucket directory', async () => {
    const client = await start();
    const put = await client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'models/v1.json', Body: '{"v":1}' }));
    expect(await readFile(join(dir, 'lake', 'models', 'v1.json'), 'utf8')).toBe('{"v":1}');
    const got = await client.send(new GetObjectCommand({ Bucket: 'lake', Key: 'models/v1.json' }));
    expect(await got.Body!.transformToString()).toBe('{"v":1}');
    expect(got.ETag).toBe(put.ETag);
    expect((await client.send(new HeadObjectCommand({ Bucket: 'lake', Key: 'models/v1.json' }))).ContentLength).toBe(7);
    const notModified = await client.send(new GetObjectCommand({ Bucket: 'lake', Key: 'models/v1.json', IfNoneMatch: put.ETag })).catch((e: unknown) => e);
    expect((notModified as S3ServiceException).$metadata.httpStatusCode).toBe(304);
  });

  it('answers NoSuchKey and NoSuchBucket as S3 does', async () => {
    const client = await start();
    await expect(client.send(new GetObjectCommand({ Bucket: 'lake', Key: 'missing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(client.send(new PutObjectCommand({ Bucket: 'other', Key: 'k', Body: 'x' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('lists in pages with continuation tokens and deletes in bulk, reporting refused keys without failing the call', async () => {
    const client = await start({ failDeleteKey: (key) => (key.endsWith('03') ? 'AccessDenied' : undefined) });
    for (let i = 0; i < 5; i++) await client.send(new PutObjectCommand({ Bucket: 'lake', Key: `runs/r${String(i).padStart(2, '0')}`, Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'other/kept', Body: 'x' }));
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: 'runs/', MaxKeys: 2, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(keys).toEqual(['runs/r00', 'runs/r01', 'runs/r02', 'runs/r03', 'runs/r04']);
    const deleted = await client.send(new DeleteObjectsCommand({ Bucket: 'lake', Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    expect(deleted.Deleted!.map((d) => d.Key)).toEqual(['runs/r00', 'runs/r01', 'runs/r02', 'runs/r04']);
    expect(deleted.Errors).toEqual([expect.objectContaining({ Key: 'runs/r03', Code: 'AccessDenied' })]);
    const left = await client.send(new ListObjectsV2Command({ Bucket: 'lake' }));
    expect(left.Contents!.map((c) => c.Key)).toEqual(['other/kept', 'runs/r03']);
  });

  it('fails whole requests on demand: throttled, internal, denied', async () => {
    const client = await start({ failRequest: (request, call) => (call === 1 ? 'throttle' : call === 2 ? 'internal' : request.key === 'secret' ? 'access-denied' : undefined) });
    await expect(client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'a', Body: 'x' }))).rejects.toMatchObject({ name: 'SlowDown' });
    await expect(client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'a', Body: 'x' }))).rejects.toMatchObject({ name: 'InternalError' });
    await expect(client.send(new GetObjectCommand({ Bucket: 'lake', Key: 'secret' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(s3!.requests.map((r) => r.operation)).toEqual(['PutObject', 'PutObject', 'GetObject']);
  });
});
