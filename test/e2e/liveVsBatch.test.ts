import { beforeAll, describe, expect, it } from 'vitest';
import { toKinesisEvents } from '../../bench/kinesisBatches.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import type { ConsumerDeps } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { createKinesisHandler } from '../../consumers/kinesisHandler.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { endOfDayMs, statesUpTo } from '../../models/clv/btydTraining.ts';
import { parseIsoDay } from '../../models/time/calendar.ts';
import { featuresOf } from '../../models/customer/customerFeatures.ts';
import type { CustomerState } from '../../models/customer/customerState.ts';
import { HybridModel } from '../../models/clv/hybridModel.ts';
import { trainHybridFromEvents } from '../../models/clv/hybridTraining.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';
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
    // The sweep scores each silent customer as of its due day (the day it crossed), not as of the
    // sweep's own time; the consumer scores as of each customer's latest event.
    expect(states.filter((state) => state.score!.asOfMs > state.lastEventMs).length).toBe(swept.rescored);
    expect(expectLiveEqualsBatch(states)).toBe(23_570);
  });
});

/**
 * The same check with a static covariate: every CDNOW event is given a country (by customer, a
 * move to another country part-way for some, none on some events), so the model learns country
 * columns, and the live path must carry the country from the records into the state and the row.
 */
describe('CDNOW with a country per customer, replayed through the streaming path', () => {
  const COUNTRIES = ['Netherlands', 'Belgium', 'Luxembourg'];
  const MOVE_MS = Date.parse('1997-06-01T00:00:00Z');
  let countryModel: HybridModel;
  let countryDeps: ConsumerDeps;
  let countryStates: Map<string, CustomerState>;

  function withCountry(event: OrderEvent, at: number): OrderEvent {
    const id = Number(event.customerId);
    if (at % 11 === 0) return event;
    const country = id % 7 === 0 && Date.parse(event.occurredAt) >= MOVE_MS ? 'Germany' : COUNTRIES[id % 3];
    return { ...event, country };
  }

  beforeAll(async () => {
    const countryEvents = events.map(withCountry);
    const artifact = trainHybridFromEvents(countryEvents, { calibrationEnd: '1997-09-30', horizonDays: 90 });
    countryModel = loadModel(JSON.parse(JSON.stringify(artifact))) as HybridModel;
    countryDeps = { ...deps, store: new MemoryStateStore(), alerts: new MemoryAlertSink(), deadLetters: new MemoryDeadLetterSink(), metrics: new CounterMetrics(), model: countryModel };
    const handler = createKinesisHandler(() => countryDeps);
    for (const batch of toKinesisEvents(countryEvents, 500)) {
      const { batchItemFailures } = await handler(batch);
      expect(batchItemFailures).toEqual([]);
    }
    countryStates = statesUpTo(countryEvents, parseIsoDay('1998-06-30')).states;
  }, 120_000);

  it('learns country columns, and every live state and score equals the batch one', async () => {
    expect([...countryModel.toJSON().covariates.country].sort()).toEqual(['Belgium', 'Germany', 'Luxembourg', 'Netherlands']);
    expect(countryModel.featureNames.slice(-4).every((name) => name.startsWith('country='))).toBe(true);
    const states = await liveStates(countryDeps.store as MemoryStateStore);
    expect(states).toHaveLength(23_570);
    let moved = 0;
    for (const live of states) {
      const batchState = countryStates.get(live.customerId)!;
      expect(live.country).toBe(batchState.country);
      expect(live.countryMs).toBe(batchState.countryMs);
      if (live.country === 'Germany') moved++;
      const score = live.score!;
      const batch = countryModel.score(featuresOf(batchState, score.asOfMs));
      const { asOfMs: _asOf, modelVersion, ...liveScore } = score;
      expect(modelVersion).toBe(countryModel.version);
      if (JSON.stringify(liveScore) !== JSON.stringify(batch)) expect({ customer: live.customerId, ...liveScore }).toEqual({ customer: live.customerId, ...batch });
    }
    expect(moved).toBeGreaterThan(100);
  });
});
