import { parentPort } from 'node:worker_threads';
import { startKinesalite } from './embeddedPeers.ts';

/**
 * kinesalite on its own thread (startKinesaliteThread): the stream stand-in's request parsing,
 * record store and sequence arithmetic run beside the poller and the handler rather than between
 * them. Posts the endpoint, trims read records when told to, and closes the server when told to.
 */
const peer = await startKinesalite();
parentPort!.postMessage({ endpoint: peer.endpoint });
interface Trim {
  trim: { streamName: string; shardId: string; sequenceNumber: string };
}

parentPort!.on('message', async (message: 'close' | Trim) => {
  if (message === 'close') {
    await peer.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  const { streamName, shardId, sequenceNumber } = message.trim;
  // A failed trim only leaves records in memory longer; the stream itself is intact.
  await peer.trimThrough(streamName, shardId, sequenceNumber).catch((error: Error) => console.error(`kinesalite trim: ${error.message}`));
});
