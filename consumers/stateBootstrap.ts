import { statesFromEvents } from '../models/customer/customerStates.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import { rescore } from '../models/customer/riskPolicy.ts';
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
