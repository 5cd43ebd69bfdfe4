import { beforeAll, describe, expect, it } from 'vitest';
import { toKinesisEvents } from '../../bench/kinesisBatches.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { endOfDayMs, statesUpTo } from '../../models/btydTraining.ts';
import { parseIsoDay } from '../../models/calendar.ts';
import { featuresOf } from '../../models/customerFeatures.ts';
import type { CustomerState } from '../../models/customerState.ts';
import { HybridModel } from '../../models/hybridModel.ts';
import { trainHybridFromEvents } from '../../models/hybridTraining.ts';
import { loadModel } from '../../models/modelArtifact.ts';
import type { OrderEvent } from '../../models/orderEvent.ts';
import { DEFAULT_RISK_POLICY } from '../../models/riskPolicy.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { CDNOW_MASTER as CDNOW } from '../support/sharedData.ts';

/**
 * Online and offline scores cannot drift: CDNOW is replayed through the streaming path (the
 * Kinesis handler over the in-memory state store and sinks, rescoring as the consumer does) with
 * the hybrid model, and every customer's stored live score must equal, to the last bit, the batch
 * score: the same model applied to the features of a state built from the raw events, as of the
 * live score's own as-of time. Then the sweep rescores the silent customers and the check repeats.
 */


let events: OrderEvent[];
let model: HybridModel;
let deps: ConsumerDeps;
let batchStates: Map<string, CustomerState>;

async function liveStates(store: MemoryStateStore): Promise<CustomerState[]> {
  const states: CustomerState[] = [];
  for await (const page of store.scan()) states.push(...page);
  return states;
}

function expectLiveEqualsBatch(states: CustomerState[]): number {
  let compared = 0;
  for (const live of states) {
    const score = live.score;
    expect(score).not.toBeNull();
    const batch = model.score(featuresOf(batchStates.get(live.customerId)!, score!.asOfMs));
    const { asOfMs: _asOf, modelVersion, ...liveScore } = score!;
    expect(modelVersion).toBe(model.version);
    if (JSON.stringify(liveScore) !== JSON.stringify(batch)) expect({ customer: live.customerId, ...liveScore }).toEqual({ customer: live.customerId, ...batch });
    compared++;
  }
  return compared;
}

beforeAll(async () => {
  events = (await readDataset(CDNOW, 'cdnow')).events;
  // The model as `train` makes it from the calibration period: features as of 1997-07-02, labels to 1997-09-30.
  const artifact = trainHybridFromEvents(events, { calibrationEnd: '1997-09-30', horizonDays: 90 });
  model = loadModel(JSON.parse(JSON.stringify(artifact))) as HybridModel;
  deps = {
    store: new MemoryStateStore(),
    alerts: new MemoryAlertSink(),
    deadLetters: new MemoryDeadLetterSink(),
    model,
    policy: DEFAULT_RISK_POLICY,
    metrics: new CounterMetrics(),
    clock: 'event',
  };
  const handler = createKinesisHandler(() => deps);
  for (const batch of toKinesisEvents(events, 500)) {
    const { batchItemFailures } = await handler(batch);
    expect(batchItemFailures).toEqual([]);
  }
  batchStates = statesUpTo(events, parseIsoDay('1998-06-30')).states;
}, 120_000);

describe('CDNOW replayed through the streaming path with the hybrid model', () => {
  it('every customer’s live score equals the batch score for the same as-of time', async () => {
    const states = await liveStates(deps.store as MemoryStateStore);
    expect(states).toHaveLength(23_570);
    expect((deps.metrics as CounterMetrics).get('EventsApplied')).toBe(69_659);
    expect(expectLiveEqualsBatch(states)).toBe(23_570);
    expect((deps.alerts as MemoryAlertSink).delivered.length).toBeGreaterThan(0);
  });

  it('after the sweep rescores the silent customers, live still equals batch', async () => {
    const asOf = endOfDayMs('1998-12-31');
    const swept = await sweepAll(deps, asOf, 5_000);
    expect(swept.rescored).toBeGreaterThan(1_000);
    const states = await liveStates(deps.store as MemoryStateStore);
    expect(states.filter((state) => state.score!.asOfMs === asOf).length).toBe(swept.rescored);
    expect(expectLiveEqualsBatch(states)).toBe(23_570);
  });
});
