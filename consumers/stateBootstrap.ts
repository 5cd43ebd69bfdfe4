import { statesFromEvents } from '../models/customer/customerStates.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import type { CustomerModel } from '../models/clv/customerModel.ts';
import { DEFAULT_RISK_POLICY, rescore } from '../models/customer/riskPolicy.ts';
import { DAY_MS, dayIndex } from '../models/time/calendar.ts';
import { MemoryStateStore } from './stateStore/memoryStateStore.ts';
import type { ConsumerDeps } from './customerBatch.ts';

/**
 * Customer states for a training history, scored as of `asOfMs` (its end) under the policy:
 * a repeat customer whose crossing is already behind it starts at risk, everyone else starts
 * with a due time. Nothing is announced: the replay that follows announces only what happens in it.
 */
export async function bootstrapStates(history: readonly OrderEvent[], asOfMs: number, deps: ConsumerDeps): Promise<{ customers: number; atRisk: number }> {
  const { states } = statesFromEvents(history);
  await deps.store.advanceWatermark(asOfMs);
  let atRisk = 0;
  const all = [...states.values()];
  for (let i = 0; i < all.length; i += 64) {
    await Promise.all(
      all.slice(i, i + 64).map(async (state) => {
        rescore(state, deps.model, deps.policy, asOfMs, 'silence', deps.segmentOf);
        state.outbox = [];
        if (state.atRisk) atRisk++;
        await deps.store.save(state);
      }),
    );
  }
  return { customers: all.length, atRisk };
}

/**
 * A state store as the stream and the sweep would have left it: customers with an event in the
 * last `recentDays` days are in it (Infinity: every customer), scored as of their last event and
 * then swept as of the history's end, which flags the silent ones at risk as the sweep would.
 */
export async function streamStore(events: readonly OrderEvent[], model: CustomerModel, recentDays: number): Promise<MemoryStateStore> {
  let lastMs = -Infinity;
  for (const event of events) lastMs = Math.max(lastMs, Date.parse(event.occurredAt));
  const since = (dayIndex(lastMs) - recentDays + 1) * DAY_MS;
  const recent = new Set(events.filter((event) => Date.parse(event.occurredAt) >= since).map((event) => event.customerId));
  const { states } = statesFromEvents(events, { customers: recent });
  const store = new MemoryStateStore();
  for (const state of states.values()) {
    rescore(state, model, DEFAULT_RISK_POLICY, state.lastEventMs);
    if (lastMs > state.lastEventMs) rescore(state, model, DEFAULT_RISK_POLICY, lastMs);
    state.outbox = [];
    await store.save(state);
  }
  await store.advanceWatermark(lastMs);
  return store;
}
