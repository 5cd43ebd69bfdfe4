import { parentPort, workerData } from 'node:worker_threads';
import { type KinesaliteOptions, startKinesalite } from './embeddedPeers.ts';

/**
 * kinesalite on its own thread (startKinesaliteThread): the stream stand-in's request parsing,
 * record store and sequence arithmetic run beside the poller and the handler rather than between
 * them. Posts the endpoint, then closes the server when told to.
 */
const peer = await startKinesalite(workerData as KinesaliteOptions);
parentPort!.postMessage({ endpoint: peer.endpoint });
parentPort!.once('message', async () => {
  await peer.close();
  parentPort!.postMessage({ closed: true });
});
