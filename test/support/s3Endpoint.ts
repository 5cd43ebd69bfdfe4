import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, relative, sep } from 'node:path';
import { listenLocally } from './localHttpEndpoint.ts';

/**
 * A stand-in for S3 on a free loopback port, speaking its REST-XML protocol in path style
 * (`forcePathStyle: true`), so tests drive the real S3Client through it: PutObject, GetObject
 * (with If-None-Match → 304), HeadObject, DeleteObject, DeleteObjects (per-key errors) and
 * ListObjectsV2 (pages of MaxKeys with continuation tokens).
 *
 * Each bucket is a local directory, so what the Athena stand-in writes under its lake directory is
 * what S3 lists here and the other way round. Failures are injected per request: a throttle
 * (503 SlowDown), an internal error (500), access denied (403), or a dropped connection; and
 * DeleteObjects can refuse single keys, as S3 does, with the call itself succeeding.
 */

export type S3Operation = 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'DeleteObjects' | 'ListObjectsV2';
export type S3Failure = 'throttle' | 'internal' | 'access-denied' | 'reset';

export interface S3Request {
  operation: S3Operation;
  bucket: string;
  /** The object key; for ListObjectsV2 the prefix; for DeleteObjects the keys joined by commas. */
  key: string;
}

export interface S3EndpointOptions {
  /** Bucket name → local directory holding its objects (created when missing). */
  buckets: Record<string, string>;
  failRequest?: (request: S3Request, call: number) => S3Failure | undefined;
  /** A DeleteObjects key refused with this code (the rest of the call succeeds). */
  failDeleteKey?: (key: string) => string | undefined;
}

export interface S3Endpoint {
  endpoint: string;
  /** Every request that reached the endpoint, whatever its outcome, in order. */
  requests: S3Request[];
  close(): Promise<void>;
}

class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const etagOf = (bytes: Buffer): string => `"${createHash('md5').update(bytes).digest('hex')}"`;
const xmlEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const xmlUnescape = (text: string): string => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

export async function startS3Endpoint(options: S3EndpointOptions): Promise<S3Endpoint> {
  const requests: S3Request[] = [];
  for (const dir of Object.values(options.buckets)) mkdirSync(dir, { recursive: true });

  const pathOf = (bucket: string, key: string): string => {
    const root = options.buckets[bucket];
    if (!root) throw new S3Error(404, 'NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
    const path = join(root, ...key.split('/'));
    if (!key || relative(root, path).startsWith('..')) throw new S3Error(400, 'InvalidArgument', `Invalid key: ${key}`);
    return path;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [bucket, ...keyParts] = url.pathname.slice(1).split('/').map(decodeURIComponent);
    const key = keyParts.join('/');
    const body = await readBytes(req);
    const operation = operationOf(req.method ?? 'GET', url, key);
    const request: S3Request = { operation, bucket, key: operation === 'ListObjectsV2' ? (url.searchParams.get('prefix') ?? '') : operation === 'DeleteObjects' ? keysToDelete(body).join(',') : key };
    requests.push(request);
    const failure = options.failRequest?.(request, requests.length);
    if (failure === 'reset') return void req.socket.destroy();
    if (failure === 'throttle') throw new S3Error(503, 'SlowDown', 'Please reduce your request rate.');
    if (failure === 'internal') throw new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
    if (failure === 'access-denied') throw new S3Error(403, 'AccessDenied', 'Access Denied');
    if (!options.buckets[bucket]) throw new S3Error(404, 'NoSuchBucket', `The specified bucket does not exist: ${bucket}`);

    switch (operation) {
      case 'PutObject': {
        const path = pathOf(bucket, key);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, body);
        return reply(res, 200, '', { etag: etagOf(body) });
      }
      case 'GetObject':
      case 'HeadObject': {
        const bytes = readObject(pathOf(bucket, key), key);
        const etag = etagOf(bytes);
        if (req.headers['if-none-match'] === etag) return reply(res, 304, '', { etag });
        const headers = { etag, 'content-type': 'application/octet-stream', 'last-modified': statSync(pathOf(bucket, key)).mtime.toUTCString() };
        if (operation === 'HeadObject') return reply(res, 200, '', { ...headers, 'content-length': String(bytes.length) });
        return reply(res, 200, bytes, headers);
      }
      case 'DeleteObject':
        rmSync(pathOf(bucket, key), { force: true });
        return reply(res, 204, '');
      case 'DeleteObjects':
        return reply(res, 200, deleteObjects(bucket, keysToDelete(body)), { 'content-type': 'application/xml' });
      case 'ListObjectsV2':
        return reply(res, 200, listObjects(bucket, url.searchParams), { 'content-type': 'application/xml' });
    }
  };

  const deleteObjects = (bucket: string, keys: string[]): string => {
    if (keys.length > 1000) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    const parts = keys.map((key) => {
      const code = options.failDeleteKey?.(key);
      if (code) return `<Error><Key>${xmlEscape(key)}</Key><Code>${code}</Code><Message>${code}</Message></Error>`;
      rmSync(pathOf(bucket, key), { force: true });
      return `<Deleted><Key>${xmlEscape(key)}</Key></Deleted>`;
    });
    return `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</DeleteResult>`;
  };

  const listObjects = (bucket: string, params: URLSearchParams): string => {
    const prefix = params.get('prefix') ?? '';
    const maxKeys = Math.min(1000, Number(params.get('max-keys') ?? 1000));
    const after = params.get('continuation-token') ? Buffer.from(params.get('continuation-token')!, 'base64url').toString('utf8') : (params.get('start-after') ?? '');
    const root = options.buckets[bucket];
    const keys = walk(root).map((path) => relative(root, path).split(sep).join('/')).filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page.map((k) => {
      const path = join(root, ...k.split('/'));
      const stats = statSync(path);
      return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${stats.mtime.toISOString()}</LastModified><ETag>${xmlEscape(etagOf(readFileSync(path)))}</ETag><Size>${stats.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
    });
    const next = truncated ? `<NextContinuationToken>${Buffer.from(page[page.length - 1], 'utf8').toString('base64url')}</NextContinuationToken>` : '';
    return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents.join('')}${next}</ListBucketResult>`;
  };

  const server = await listenLocally((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof S3Error ? error : new S3Error(500, 'InternalError', String(error));
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`;
      reply(res, e.status, req.method === 'HEAD' ? '' : xml, { 'content-type': 'application/xml' });
    });
  });
  return { endpoint: server.endpoint, requests, close: server.close };
}

function operationOf(method: string, url: URL, key: string): S3Operation {
  if (method === 'POST' && url.searchParams.has('delete')) return 'DeleteObjects';
  if (!key && method === 'GET') return 'ListObjectsV2';
  if (method === 'PUT') return 'PutObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'DeleteObject';
  if (method === 'GET') return 'GetObject';
  throw new S3Error(405, 'MethodNotAllowed', `The specified method is not allowed against this resource: ${method}`);
}

function readObject(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new S3Error(404, 'NoSuchKey', `The specified key does not exist: ${key}`);
  }
}

function keysToDelete(body: Buffer): string[] {
  return [...body.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => xmlUnescape(m[1]));
}

function walk(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
}

async function readBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'content-length': String(bytes.length), 'x-amz-request-id': randomUUID(), ...headers });
  res.end(status === 304 || status === 204 || headers['content-length'] ? undefined : bytes);
}
