import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import kinesalite from 'kinesalite';
import { installFastSequences } from './kinesaliteSequences.ts';

/** An in-process stand-in for an AWS service, listening on a free loopback port. */
export interface LocalPeer {
  endpoint: string;
  close(): Promise<void>;
}

interface ListeningServer {
  listen(port: number, host: string, callback: (error?: Error) => void): void;
  address(): AddressInfo | string | null;
  close(callback?: (error?: Error) => void): void;
}

async function listen(server: ListeningServer): Promise<LocalPeer> {
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface KinesaliteOptions {
  /**
   * A directory for kinesalite's records (LevelDB, kinesalite's own `path` option); in memory
   * without it. A stream keeps every record for its retention period, read or not: a million
   * records held in the JS heap were about 1.3 GB of the main job's peak RSS.
   */
  path?: string;
}

/**
 * kinesalite with no artificial stream-creation delay and its sequence-number arithmetic on
 * BigInt (kinesaliteSequences.ts: the same numbers; PutRecords 8,000 → 32,000 and GetRecords
 * 26,000 → 52,000 records/s measured alone); records in memory, or on disk with `path`.
 */
export function startKinesalite(options: KinesaliteOptions = {}): Promise<LocalPeer> {
  installFastSequences();
  return listen(kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 64, path: options.path }) as ListeningServer);
}

/** dynalite with in-memory storage and no artificial table-creation delay (loaded only when a run asks for it). */
export async function startDynalite(): Promise<LocalPeer> {
  const { default: dynalite } = await import('dynalite');
  return listen(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as ListeningServer);
}

/**
 * startKinesalite on a worker thread of this process: on a stream replay kinesalite was 30% of the
 * main thread's CPU (profiled), work that can run beside the poller and the handler on a second
 * core. The worker compiles TypeScript with tsx as the CLI does. With `onDisk`, its records live
 * in a LevelDB directory under the system's temp directory, removed on close.
 */
export async function startKinesaliteThread(options: { onDisk?: boolean } = {}): Promise<LocalPeer & { storePath?: string }> {
  const path = options.onDisk ? await mkdtemp(join(tmpdir(), 'demand-insights-kinesalite-')) : undefined;
  const entry = new URL('./kinesaliteThread.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(code, { eval: true, workerData: { path } satisfies KinesaliteOptions });
  const removeStore = async () => {
    if (path) await rm(path, { recursive: true, force: true });
  };
  let ready: { endpoint: string };
  try {
    [ready] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error))])) as [{ endpoint: string }];
  } catch (error) {
    await worker.terminate();
    await removeStore();
    throw error;
  }
  return {
    endpoint: ready.endpoint,
    storePath: path,
    close: async () => {
      worker.postMessage('close');
      await once(worker, 'message');
      await worker.terminate();
      await removeStore();
    },
  };
}
