import { type ModelPointer, ModelPointerSchema, type ModelStore, sha256Of } from './modelStore.ts';

/**
 * Publishing to a model store, and reading back what it serves: the artifact first, then the
 * pointer, so a reader that sees the new pointer always finds its artifact; a reader verifies the
 * pointer's checksum against the bytes before it believes them.
 */

export type RefusalReason = 'bad-pointer' | 'missing-artifact' | 'checksum-mismatch' | 'bad-json' | 'incompatible';

/** A published artifact that must not serve: the reason, and the version the pointer named. */
export class ModelRefused extends Error {
  override readonly name = 'ModelRefused';
  constructor(readonly reason: RefusalReason, readonly version: string | undefined, detail: string) {
    super(`model ${version ?? '(unknown version)'} refused (${reason}): ${detail}`);
  }
}

export interface PublishOptions {
  now?: () => number;
  reason?: ModelPointer['reason'];
  evaluation?: Record<string, unknown>;
}

/** Writes `models/<version>.json`, then points `current.json` at it; returns the new pointer. */
export async function publishModel(store: ModelStore, version: string, text: string, options: PublishOptions = {}): Promise<ModelPointer> {
  const previous = await currentVersion(store);
  await store.writeArtifact(version, text);
  const pointer: ModelPointer = {
    formatVersion: 1,
    version,
    sha256: sha256Of(text),
    bytes: Buffer.byteLength(text, 'utf8'),
    publishedAt: new Date((options.now ?? Date.now)()).toISOString(),
    previous,
    reason: options.reason ?? 'published',
    ...(options.evaluation ? { evaluation: options.evaluation } : {}),
  };
  await store.writePointer(pointer);
  return pointer;
}

/**
 * Points `current.json` at a version the store already holds, after checking that its bytes
 * load (`validate` throws on an artifact that would be refused): a rollback must not point
 * readers at something they will refuse.
 */
export async function rollbackModel(store: ModelStore, version: string, validate: (json: unknown) => unknown, now: () => number = Date.now): Promise<ModelPointer> {
  const text = await store.readArtifact(version);
  parseArtifact(text, version, validate);
  const pointer: ModelPointer = {
    formatVersion: 1,
    version,
    sha256: sha256Of(text),
    bytes: Buffer.byteLength(text, 'utf8'),
    publishedAt: new Date(now()).toISOString(),
    previous: await currentVersion(store),
    reason: 'rollback',
  };
  await store.writePointer(pointer);
  return pointer;
}

/** The version the pointer names now; null when nothing was published or the pointer is unreadable. */
export async function currentVersion(store: ModelStore): Promise<string | null> {
  const read = await store.readPointer();
  if (read.status !== 'found') return null;
  try {
    return parsePointer(read.text).version;
  } catch {
    return null;
  }
}

export function parsePointer(text: string): ModelPointer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelRefused('bad-pointer', undefined, `the pointer is not JSON (${(error as Error).message})`);
  }
  const parsed = ModelPointerSchema.safeParse(json);
  if (!parsed.success) throw new ModelRefused('bad-pointer', undefined, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * The artifact a pointer names, checked: present, the pointer's checksum, JSON, and accepted by
 * `load` (the model's own validation). Returns what `load` made of it.
 */
export async function readPublished<M>(store: ModelStore, pointer: ModelPointer, load: (json: unknown) => M): Promise<M> {
  let text: string;
  try {
    text = await store.readArtifact(pointer.version);
  } catch (error) {
    if ((error as Error).name === 'ModelNotFound') throw new ModelRefused('missing-artifact', pointer.version, (error as Error).message);
    throw error;
  }
  const sha256 = sha256Of(text);
  if (sha256 !== pointer.sha256) throw new ModelRefused('checksum-mismatch', pointer.version, `the pointer says sha256 ${pointer.sha256}, the artifact's ${text.length} bytes hash to ${sha256}`);
  return parseArtifact(text, pointer.version, load);
}

function parseArtifact<M>(text: string, version: string, load: (json: unknown) => M): M {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelRefused('bad-json', version, (error as Error).message);
  }
  try {
    return load(json);
  } catch (error) {
    throw new ModelRefused('incompatible', version, (error as Error).message);
  }
}
