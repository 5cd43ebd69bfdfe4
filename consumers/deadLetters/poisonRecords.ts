import type { ConsumerMetrics } from '../consumerMetrics.ts';
import type { DecodedRecord } from '../recordDecoding.ts';
import type { DeadLetterSink } from './deadLetterSink.ts';

type PoisonRecord = Extract<DecodedRecord, { ok: false }>;

export interface PoisonDeps {
  deadLetters: DeadLetterSink;
  metrics: ConsumerMetrics;
  now?: () => number;
}

/**
 * Sends records that can never be applied to the dead-letter sink, each with its reason; returns
 * how many were set aside. When the sink is down their positions join `failed`, so the stream
 * redelivers them rather than losing them.
 */
export async function setAsidePoison(poison: readonly PoisonRecord[], deps: PoisonDeps, failed: Set<string>): Promise<number> {
  if (poison.length === 0) return 0;
  const now = new Date(deps.now?.() ?? Date.now()).toISOString();
  try {
    await deps.deadLetters.send(
      poison.map(({ record, reason }) => ({
        reason,
        source: record.source,
        position: record.position,
        partitionKey: record.partitionKey,
        data: record.data,
        deadLetteredAt: now,
      })),
    );
    deps.metrics.count('PoisonRecords', poison.length);
    return poison.length;
  } catch {
    for (const { record } of poison) failed.add(record.position);
    return 0;
  }
}
