import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStateStore } from '../../consumers/stateStore/fileStateStore.ts';
import { applyEvent, emptyState } from '../../models/customer/customerState.ts';
import { describeStateStoreContract } from '../support/stateStoreContract.ts';
import { order } from '../support/orderEvents.ts';

const folder = await mkdtemp(join(tmpdir(), 'file-state-store-'));
let files = 0;
afterAll(() => rm(folder, { recursive: true, force: true }));

describeStateStoreContract('FileStateStore', async () => {
  const store = await FileStateStore.open(join(folder, `contract-${++files}.jsonl`));
  return { store, close: async () => store.close() };
});

describe('FileStateStore journal', () => {
  it('reopens with every saved state and the watermark, ignoring a last line cut short by a kill', async () => {
    const path = join(folder, 'reopen.jsonl');
    const first = await FileStateStore.open(path);
    const a = emptyState('A');
    applyEvent(a, order('A', 'o1', '2024-01-02T00:00:00Z', 12), { source: 'orders/0', position: '7' });
    a.version = await first.save(a);
    applyEvent(a, order('A', 'o2', '2024-01-09T00:00:00Z', 30), { source: 'orders/0', position: '9' });
    a.version = await first.save(a);
    const b = emptyState('B');
    applyEvent(b, order('B', 'o3', '2024-01-05T00:00:00Z', 5), { source: 'orders/1', position: '3' });
    await first.save(b);
    await first.advanceWatermark(1_700_000_000_000);
    first.close();
    await appendFile(path, '{"state":{"customerId":"C","vers');

    const reopened = await FileStateStore.open(path);
    const states = await reopened.getMany(['A', 'B', 'C']);
    expect([...states.keys()].sort()).toEqual(['A', 'B']);
    const { version: _a, ...restoredA } = states.get('A')!;
    const { version: _b, ...savedA } = a;
    expect(restoredA).toEqual(savedA);
    expect(states.get('A')!.positions).toEqual({ 'orders/0': '9' });
    expect(await reopened.getWatermark()).toBe(1_700_000_000_000);
    reopened.close();
    // Compacted: one line per customer and one for the watermark.
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(3);
  });

  it('refuses a journal damaged before its last line rather than dropping states silently', async () => {
    const path = join(folder, 'damaged.jsonl');
    await appendFile(path, 'garbage\n{"watermark":5}\n');
    await expect(FileStateStore.open(path)).rejects.toThrow(/line 1 is not a journal entry/);
  });
});
