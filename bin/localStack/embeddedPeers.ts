import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import kinesalite from 'kinesalite';
import { installFastSequences, kinesaliteDb } from './kinesaliteSequences.ts';

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

/** A kinesalite whose records can be trimmed once read (see `trimThrough`). */
export interface KinesalitePeer extends LocalPeer {
  /**
   * Deletes a shard's records up to and including `sequenceNumber`, as the end of the retention
   * period would. For a stream with one reader that never goes back (the local job's poller
   * redelivers from its own buffer): what it has read is never asked for again, and a replay of a
   * million records then holds only the records between producer and poller, not all of them.
   */
  trimThrough(streamName: string, shardId: string, sequenceNumber: string): Promise<void>;
}

/** The parts of kinesalite's store (kinesalite/db create()) the trim uses. */
interface KinesaliteStore {
  getStreamDb(name: string): { clear(range: { gte: string; lte: string }, callback: (error?: Error) => void): void };
}

/**
 * kinesalite with no artificial stream-creation delay and its sequence-number arithmetic on
 * BigInt (kinesaliteSequences.ts: the same numbers; PutRecords 8,000 → 32,000 and GetRecords
 * 26,000 → 52,000 records/s measured alone); records in memory, dropped by `trimThrough`.
 */
export async function startKinesalite(): Promise<KinesalitePeer> {
  installFastSequences();
  // kinesalite keeps its store to itself: catch it as kinesalite() creates it.
  const db = kinesaliteDb() as ReturnType<typeof kinesaliteDb> & { create(options: object): KinesaliteStore };
  const create = db.create;
  let store: KinesaliteStore | undefined;
  db.create = (storeOptions) => (store = create(storeOptions));
  let server: ListeningServer;
  try {
    server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 64 }) as ListeningServer;
  } finally {
    db.create = create;
  }
  const peer = await listen(server);
  const trimThrough = (streamName: string, shardId: string, sequenceNumber: string) =>
    new Promise<void>((resolve, reject) => {
      // Records are keyed `<shard index in hex>/<sequence number>`; sequence numbers of one shard have one width.
      const shard = db.shardIxToHex(Number(/(\d+)$/.exec(shardId)?.[1] ?? Number.NaN));
      store!.getStreamDb(streamName).clear({ gte: `${shard}/`, lte: `${shard}/${sequenceNumber}` }, (error) => (error ? reject(error) : resolve()));
    });
  return { ...peer, trimThrough };
}

/** dynalite with in-memory storage and no artificial table-creation delay (loaded only when a run asks for it). */
export async function startDynalite(): Promise<LocalPeer> {
  const { default: dynalite } = await import('dynalite');
  return listen(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as ListeningServer);
}

/**
 * startKinesalite on a worker thread of this process: on a stream replay kinesalite was 30% of the
 * main thread's CPU (profiled), work that can run beside the poller and the handler on a second
 * core. The worker compiles TypeScript with tsx as the CLI does. `trimThrough` is posted to the
 * worker and not awaited: the poller never waits on a clean-up.
 */
export async function startKinesaliteThread(): Promise<KinesalitePeer> {
  const entry = new URL('./kinesaliteThread.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(code, { eval: true });
  let ready: { endpoint: string };
  try {
    [ready] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error))])) as [{ endpoint: string }];
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    endpoint: ready.endpoint,
    trimThrough: async (streamName, shardId, sequenceNumber) => worker.postMessage({ trim: { streamName, shardId, sequenceNumber } }),
    close: async () => {
      worker.postMessage('close');
      await once(worker, 'message');
      await worker.terminate();
    },
  };
}
