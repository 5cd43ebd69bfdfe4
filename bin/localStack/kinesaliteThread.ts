import { parentPort } from 'node:worker_threads';
import { startKinesalite } from './embeddedPeers.ts';

/**
 * kinesalite on its own thread (startKinesaliteThread): the stream stand-in's request parsing,
 * record store and sequence arithmetic run beside the poller and the handler rather than between
 * them. Posts the endpoint, then closes the server when told to.
 */
const peer = await startKinesalite();
parentPort!.postMessage({ endpoint: peer.endpoint });
parentPort!.once('message', async () => {
  await peer.close();
  parentPort!.postMessage({ closed: true });
});
