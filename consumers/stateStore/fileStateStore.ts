import { appendFileSync, closeSync, openSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { CustomerState } from '../../models/customer/customerState.ts';
import { MemoryStateStore } from './memoryStateStore.ts';
import type { ListingPosition, ReadOptions, SaveOptions, StateStore } from './stateStore.ts';

/** One line of the journal: a saved state (with its version and outbox flag), the watermark, or a receipt of settled alerts. */
type JournalEntry = { state: CustomerState; pendingOutbox: boolean } | { watermark: number } | { settled: string };

/**
 * StateStore in memory with a journal file behind it, for a long-running consumer on one machine
 * (`consume --state-file`) whose process may die: every save is appended to the journal, one JSON
 * line, before it returns, so a state the consumer has committed offsets for survives a SIGKILL
 * (the OS holds the write; a power cut is another matter: this is not DynamoDB). Opening replays
 * the journal, keeping each customer's highest version, ignores a last line cut short by a kill,
 * and compacts the journal to one line per customer. One process at a time: two processes
 * appending to one journal would not see each other's versions.
 */
export class FileStateStore implements StateStore {
  private constructor(private readonly memory: MemoryStateStore, private readonly fd: number) {}

  static async open(path: string): Promise<FileStateStore> {
    const { latest, watermark, settled } = await replay(path);
    const memory = new MemoryStateStore();
    const lines: string[] = [];
    for (const { state, pendingOutbox } of latest.values()) {
      // Versions restart with the process: only a process holding a state read earlier could tell.
      const version = await memory.save({ ...state, version: 0 }, { pendingOutbox });
      lines.push(line({ state: { ...state, version }, pendingOutbox }));
    }
    await memory.advanceWatermark(watermark);
    if (watermark > 0) lines.push(line({ watermark }));
    for (const invocation of settled) {
      await memory.noteSettled(invocation);
      lines.push(line({ settled: invocation }));
    }
    const compacted = `${path}.${process.pid}.tmp`;
    await writeFile(compacted, lines.join(''));
    await rename(compacted, path);
    return new FileStateStore(memory, openSync(path, 'a'));
  }

  getMany(customerIds: readonly string[], options?: ReadOptions): Promise<Map<string, CustomerState>> {
    return this.memory.getMany(customerIds, options);
  }

  async save(state: CustomerState, options?: SaveOptions): Promise<number> {
    const version = await this.memory.save(state, options);
    appendFileSync(this.fd, line({ state: { ...state, version }, pendingOutbox: options?.pendingOutbox === true }));
    return version;
  }

  dueBefore(asOfMs: number, limit: number): Promise<string[]> {
    return this.memory.dueBefore(asOfMs, limit);
  }

  pendingOutboxes(limit: number): Promise<string[]> {
    return this.memory.pendingOutboxes(limit);
  }

  scan(): AsyncIterable<CustomerState[]> {
    return this.memory.scan();
  }

  listCustomers(limit: number, after?: ListingPosition): Promise<{ states: CustomerState[]; next: ListingPosition | null }> {
    return this.memory.listCustomers(limit, after);
  }

  atRiskCustomers(limit: number, after?: string): Promise<{ states: CustomerState[]; next: string | null }> {
    return this.memory.atRiskCustomers(limit, after);
  }

  getWatermark(): Promise<number> {
    return this.memory.getWatermark();
  }

  async advanceWatermark(ms: number): Promise<void> {
    const before = await this.memory.getWatermark();
    await this.memory.advanceWatermark(ms);
    if (ms > before) appendFileSync(this.fd, line({ watermark: ms }));
  }

  isSettled(invocation: string): Promise<boolean> {
    return this.memory.isSettled(invocation);
  }

  async noteSettled(invocation: string): Promise<void> {
    await this.memory.noteSettled(invocation);
    appendFileSync(this.fd, line({ settled: invocation }));
  }

  close(): void {
    closeSync(this.fd);
  }
}

const line = (entry: JournalEntry): string => `${JSON.stringify(entry)}\n`;

async function replay(path: string): Promise<{ latest: Map<string, { state: CustomerState; pendingOutbox: boolean }>; watermark: number; settled: Set<string> }> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const latest = new Map<string, { state: CustomerState; pendingOutbox: boolean }>();
  let watermark = 0;
  const settled = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(lines[i]) as JournalEntry;
    } catch {
      // Only the last line can be cut short (a kill mid-append); its save never returned.
      if (i === lines.length - 1) break;
      throw new Error(`${path}: line ${i + 1} is not a journal entry`);
    }
    if ('watermark' in entry) watermark = Math.max(watermark, entry.watermark);
    else if ('settled' in entry) settled.add(entry.settled);
    else {
      const seen = latest.get(entry.state.customerId);
      if (seen === undefined || seen.state.version < entry.state.version) latest.set(entry.state.customerId, entry);
    }
  }
  return { latest, watermark, settled };
}
