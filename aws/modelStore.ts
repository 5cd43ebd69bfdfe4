import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { z } from 'zod';
import { clientConfig } from './clients.ts';

/**
 * Where trained model artifacts are published and read: `<root>/models/<version>.json`, one file
 * per version (never overwritten with other bytes: a version is derived from the model's content),
 * and `<root>/models/current.json`, the pointer naming the version that serves and its SHA-256.
 * Readers check the pointer cheaply (a conditional GET answered 304 while it is unchanged), and
 * verify an artifact's checksum before trusting it. The root is `s3://bucket/prefix` or a local
 * directory; both behave the same. Bytes only: what a model is, is the caller's business.
 */

/** A version names a file: letters, digits, dot, dash and underscore only (no path tricks). */
export const ModelVersionSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 letters, digits, ".", "_" or "-"');

export const ModelPointerSchema = z.object({
  formatVersion: z.literal(1),
  version: ModelVersionSchema,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  publishedAt: z.string(),
  /** The version this pointer replaced (null for the first); a rollback names where it came from too. */
  previous: ModelVersionSchema.nullable(),
  /** Why this version serves: a scheduled or manual publish, a forced one, or a rollback. */
  reason: z.enum(['published', 'forced', 'rollback']),
  /** The holdout comparison that let it through, when there was one. */
  evaluation: z.record(z.string(), z.unknown()).optional(),
});

export type ModelPointer = z.infer<typeof ModelPointerSchema>;

export type PointerRead =
  /** The pointer still has the tag the caller knew. */
  | { status: 'unchanged' }
  /** No model has been published here. */
  | { status: 'missing' }
  | { status: 'found'; tag: string; text: string };

export interface ModelStore {
  /** `s3://bucket/prefix` or the absolute directory. */
  readonly uri: string;
  /** The pointer's text, unless its tag is still `knownTag`. */
  readPointer(knownTag?: string): Promise<PointerRead>;
  writePointer(pointer: ModelPointer): Promise<void>;
  /** The artifact's text; throws ModelNotFound when there is no such version. */
  readArtifact(version: string): Promise<string>;
  writeArtifact(version: string, text: string): Promise<void>;
  /** Every version held, sorted. */
  listVersions(): Promise<string[]>;
}

export class ModelNotFound extends Error {
  override readonly name = 'ModelNotFound';
}

export const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const POINTER = 'current.json';
const artifactName = (version: string) => `${ModelVersionSchema.parse(version)}.json`;

/** The store a MODEL_URI / --out / --store value names: `s3://bucket[/prefix]` or a directory path. */
export function modelStoreFor(uri: string, options: { client?: S3Client; endpoint?: string; region?: string } = {}): ModelStore {
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*?))?\/?$/.exec(uri);
  if (uri.startsWith('s3://') && !s3) throw new Error(`not an s3:// location: ${uri}`);
  if (s3) {
    // Short timeouts: a look at the pointer runs before a batch or a request, and a slow S3 must
    // cost that invocation seconds, not the SDK's default of minutes; the next interval tries again.
    const client =
      options.client ??
      new S3Client({
        ...clientConfig({ endpoint: options.endpoint, region: options.region, maxAttempts: 2 }),
        requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 10_000 }),
        ...(options.endpoint ? { forcePathStyle: true } : {}),
      });
    return new S3ModelStore(client, s3[1], s3[2] ?? '');
  }
  if (uri.trim() === '') throw new Error('a model store needs an s3:// location or a directory');
  return new DirectoryModelStore(resolve(uri));
}

export class S3ModelStore implements ModelStore {
  readonly uri: string;
  private readonly prefix: string;

  constructor(private readonly client: S3Client, private readonly bucket: string, prefix: string) {
    this.prefix = prefix === '' ? 'models/' : `${prefix.replace(/\/+$/, '')}/models/`;
    this.uri = `s3://${bucket}${prefix === '' ? '' : `/${prefix.replace(/\/+$/, '')}`}`;
  }

  async readPointer(knownTag?: string): Promise<PointerRead> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + POINTER, IfNoneMatch: knownTag }));
      return { status: 'found', tag: got.ETag ?? '', text: await got.Body!.transformToString('utf8') };
    } catch (error) {
      // The SDK surfaces 304 Not Modified as an error without a code of its own.
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 304) return { status: 'unchanged' };
      if (isNoSuchKey(error)) return { status: 'missing' };
      throw error;
    }
  }

  async writePointer(pointer: ModelPointer): Promise<void> {
    await this.put(POINTER, `${JSON.stringify(ModelPointerSchema.parse(pointer), null, 2)}\n`);
  }

  async readArtifact(version: string): Promise<string> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + artifactName(version) }));
      return await got.Body!.transformToString('utf8');
    } catch (error) {
      if (isNoSuchKey(error)) throw new ModelNotFound(`no model ${version} in ${this.uri}`);
      throw error;
    }
  }

  async writeArtifact(version: string, text: string): Promise<void> {
    await this.put(artifactName(version), text);
  }

  async listVersions(): Promise<string[]> {
    const versions: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
      for (const { Key } of page.Contents ?? []) {
        const name = Key?.slice(this.prefix.length) ?? '';
        if (name !== POINTER && !name.includes('/') && name.endsWith('.json')) versions.push(name.slice(0, -'.json'.length));
      }
      token = page.NextContinuationToken;
    } while (token);
    return versions.sort();
  }

  private async put(name: string, text: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + name, Body: text, ContentType: 'application/json' }));
  }
}

function isNoSuchKey(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);
}

/** The same layout in a local directory: `<dir>/models/...`; the pointer's tag is its checksum. */
export class DirectoryModelStore implements ModelStore {
  readonly uri: string;
  private readonly dir: string;

  constructor(root: string) {
    this.uri = root;
    this.dir = join(root, 'models');
  }

  async readPointer(knownTag?: string): Promise<PointerRead> {
    const text = await readFile(join(this.dir, POINTER), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return { status: 'missing' };
    const tag = sha256Of(text);
    return tag === knownTag ? { status: 'unchanged' } : { status: 'found', tag, text };
  }

  async writePointer(pointer: ModelPointer): Promise<void> {
    await this.writeWhole(POINTER, `${JSON.stringify(ModelPointerSchema.parse(pointer), null, 2)}\n`);
  }

  async readArtifact(version: string): Promise<string> {
    return readFile(join(this.dir, artifactName(version)), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new ModelNotFound(`no model ${version} in ${this.uri}`);
      throw error;
    });
  }

  async writeArtifact(version: string, text: string): Promise<void> {
    await this.writeWhole(artifactName(version), text);
  }

  async listVersions(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((name) => name.endsWith('.json') && name !== POINTER).map((name) => name.slice(0, -'.json'.length)).sort();
  }

  /** Written aside and renamed, so a reader never sees half a file (as S3 never shows half an object). */
  private async writeWhole(name: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const aside = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(aside, text);
    await rename(aside, join(this.dir, name));
  }
}
