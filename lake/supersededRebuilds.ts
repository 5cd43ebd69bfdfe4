import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isRunId, runStartMs } from './curationTarget.ts';

/**
 * Deleting the S3 objects of superseded rebuilds (the Athena curation target's clean-up). Each run
 * writes its rebuild to `<curated>/versions/<table>/<run>/...` and then points the catalog at it;
 * the rebuild a partition (or the products table) pointed at before stays in S3, readable by
 * queries planned before the swap. Once its run is older than the grace period (longer than the
 * longest query), and no table points at it any more, its objects are deleted.
 *
 *   t ── run A writes, swaps in ── run B writes, swaps in (A superseded) ── A's start + grace ── A deleted
 *
 * What is kept: any object under a location the catalog points at now (read from the catalog at
 * each clean-up, never remembered), any object of a run younger than the grace period (a run still
 * writing, or a rebuild a query may still read), anything that is not a run's. A failure never
 * undoes the run: S3 or the catalog unreachable → nothing deleted, the error reported; keys S3
 * refuses (DeleteObjects' per-key errors) → reported and counted, and deleted by a later run, which
 * lists them again.
 */

export interface RebuildCleanupOptions {
  s3: S3Client;
  /** s3://bucket/prefix: the curated root, whose `versions/` holds the rebuilds. */
  curatedRoot: string;
  /** The locations (s3://… prefixes or object URIs) the catalog's tables and partitions point at now. */
  liveLocations: () => Promise<readonly string[]>;
  nowMs: number;
  graceMs: number;
  /** Keys per ListObjectsV2 page (S3's maximum is 1,000). */
  pageSize?: number;
}

export interface RebuildCleanup {
  /** Objects deleted. */
  deleted: number;
  /** Objects of superseded rebuilds S3 refused to delete (per-key errors); a later run tries again. */
  failed: number;
  /** The first few refusals, `key: code`. */
  failures: string[];
  /** Why nothing was deleted (S3 or the catalog unreachable); null when the clean-up ran. */
  error: string | null;
}

/** DeleteObjects takes at most 1,000 keys per call. */
const DELETE_BATCH = 1_000;
const FAILURES_KEPT = 10;

export async function deleteSupersededRebuilds(options: RebuildCleanupOptions): Promise<RebuildCleanup> {
  const { bucket, prefix } = parseS3Uri(options.curatedRoot);
  const versions = `${prefix}versions/`;
  let keys: string[];
  let live: string[];
  try {
    // The catalog is read before the listing: a rebuild swapped in meanwhile is younger than the grace period.
    live = (await options.liveLocations()).map((location) => keyPrefixIn(location, bucket)).filter((key): key is string => key !== undefined);
    // An empty answer is more likely a catalog read gone wrong than a lake with no table: delete nothing.
    if (live.length === 0) throw new Error('the catalog named no live location in this bucket');
    keys = await listKeys(options.s3, bucket, versions, options.pageSize ?? 1_000);
  } catch (error) {
    return { deleted: 0, failed: 0, failures: [], error: `clean-up skipped: ${(error as Error).message}` };
  }
  const doomed = supersededKeys(keys, versions, live, options.nowMs - options.graceMs);
  const result: RebuildCleanup = { deleted: 0, failed: 0, failures: [], error: null };
  for (let from = 0; from < doomed.length; from += DELETE_BATCH) {
    const batch = doomed.slice(from, from + DELETE_BATCH);
    try {
      const answer = await options.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false } }));
      result.deleted += answer.Deleted?.length ?? 0;
      for (const refused of answer.Errors ?? []) {
        result.failed++;
        if (result.failures.length < FAILURES_KEPT) result.failures.push(`${refused.Key}: ${refused.Code}`);
      }
    } catch (error) {
      // The rest waits for the next run; what was deleted stays deleted.
      result.failed += doomed.length - from;
      result.error = `clean-up stopped: ${(error as Error).message}`;
      break;
    }
  }
  return result;
}

/**
 * The keys under `versions` that belong to a run started before `beforeMs` and lie under no live
 * location. Plain data in and out, so the rule can be read (and tested) apart from S3.
 */
export function supersededKeys(keys: readonly string[], versions: string, live: readonly string[], beforeMs: number): string[] {
  return keys.filter((key) => {
    if (!key.startsWith(versions)) return false;
    const [table, run] = key.slice(versions.length).split('/');
    if (!table || !run || !isRunId(run)) return false;
    if ((runStartMs(run) ?? Infinity) >= beforeMs) return false;
    return !live.some((location) => key.startsWith(location));
  });
}

async function listKeys(s3: S3Client, bucket: string, prefix: string, pageSize: number): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: pageSize, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** s3://bucket/prefix → the bucket and the prefix with a trailing slash ('' for the bucket's root). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9.-]+)(?:\/(.*))?$/.exec(uri);
  if (!match) throw new Error(`not an s3:// location: ${uri}`);
  const path = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: match[1], prefix: path ? `${path}/` : '' };
}

/**
 * A live location as a key prefix of the bucket: a directory (ending in `/`) as it is, an object
 * as itself. A location in another bucket, or unparsable, protects nothing here (undefined).
 */
function keyPrefixIn(location: string, bucket: string): string | undefined {
  const match = /^s3:\/\/([a-z0-9.-]+)\/(.+)$/.exec(location.trim());
  if (!match || match[1] !== bucket) return undefined;
  return match[2];
}
