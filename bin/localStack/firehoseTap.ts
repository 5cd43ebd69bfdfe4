import type { KinesisHandler } from '../../consumers/kinesisHandler.ts';
import { deliverRawOrders } from '../../lake/rawOrders.ts';

/** Firehose's buffering hints, scaled to one laptop: a delivery once this many records wait, or this long after the first. */
export interface TapBuffering {
  records: number;
  intervalMs: number;
}

const DEFAULT_BUFFERING: TapBuffering = { records: 10_000, intervalMs: 10_000 };

export interface FirehoseTap {
  handler: KinesisHandler;
  /** Delivers whatever waits in the buffer (before the lake is curated, and on stop). */
  flush(): Promise<void>;
  /** Flushes and stops the interval timer. */
  close(): Promise<void>;
}

/**
 * The local stack's Firehose: every batch the event-source mapping hands the consumer is also
 * delivered to the local lake's raw orders, as the delivery stream copies the same Kinesis records
 * to S3 in AWS. Like Firehose it buffers, and writes one object per day per delivery: per batch,
 * the tap's gzip, file creations and directory checks were 6% of the main thread on a
 * 250,000-event replay. A batch the poller redelivers is written again, as Firehose may write a
 * record twice; the curation drops such copies.
 */
export function firehoseTap(handler: KinesisHandler, lakeDir: string, buffering: TapBuffering = DEFAULT_BUFFERING): FirehoseTap {
  let buffer: string[] = [];
  let delivering: Promise<void> = Promise.resolve();
  const deliver = async (texts: string[]) => {
    if (texts.length === 0) return;
    try {
      await deliverRawOrders(lakeDir, texts);
    } catch (error) {
      // Kept for the next delivery, as Firehose retries: a failed write loses no record.
      buffer = [...texts, ...buffer];
      throw error;
    }
  };
  const flush = () => {
    const texts = buffer;
    buffer = [];
    // One delivery at a time, in order: a later one never overtakes an earlier one's files.
    const delivery = delivering.then(() => deliver(texts));
    delivering = delivery.catch(() => {});
    return delivery;
  };
  // A failed timed delivery waits in the buffer for the next one; only a batch's or a caller's flush reports it.
  const timer = setInterval(() => flush().catch(() => {}), buffering.intervalMs);
  timer.unref();
  return {
    handler: async (event, context) => {
      for (const record of event.Records) buffer.push(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
      if (buffer.length >= buffering.records) await flush();
      return handler(event, context);
    },
    flush,
    close: async () => {
      clearInterval(timer);
      await flush();
    },
  };
}
