import type { DeadLetter, DeadLetterSink } from './deadLetterSink.ts';

/** Keeps dead letters in memory, for tests and benchmarks. */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  private failures = 0;

  /** The next `count` calls to send throw and keep nothing, as a destination that is down would. */
  failNext(count: number): void {
    this.failures += count;
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error(`dead-letter destination unavailable (injected), ${letters.length} letter(s) not kept`);
    }
    this.letters.push(...letters);
  }
}
