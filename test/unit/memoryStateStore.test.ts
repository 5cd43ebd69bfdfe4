import { describe, expect, it } from 'vitest';
import { emptyState } from '../../models/customer/customerState.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { describeStateStoreContract } from '../support/stateStoreContract.ts';

describeStateStoreContract('MemoryStateStore', async () => ({ store: new MemoryStateStore(), close: async () => {} }));

async function expectDue(store: MemoryStateStore, due: Map<string, number | null>): Promise<void> {
  for (const [asOf, limit] of [[0, 1_000], [250, 1_000], [999, 1_000], [500, 17]]) {
    const expected = [...due]
      .filter((entry): entry is [string, number] => entry[1] !== null && entry[1] <= asOf)
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .map(([id]) => id)
      .slice(0, limit);
    expect(await store.dueBefore(asOf, limit)).toEqual(expected);
  }
}

describe('MemoryStateStore due index', () => {
  it('stays exact through heavy churn of due times', async () => {
    const store = new MemoryStateStore();
    const due = new Map<string, number | null>();
    const versions = new Map<string, number>();
    let seed = 12_345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const id = `c-${random(500)}`;
      const dueAtMs = random(10) === 0 ? null : random(1_000);
      const state = { ...emptyState(id), dueAtMs, version: versions.get(id) ?? 0 };
      versions.set(id, await store.save(state));
      due.set(id, dueAtMs);
      if (step % 2_500 === 0) await expectDue(store, due);
    }
    await expectDue(store, due);
  });
});
