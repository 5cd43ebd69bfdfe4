import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeadLetter, DeadLetterSink } from './deadLetterSink.ts';

export interface JsonlDeadLetterSinkConfig {
  path: string;
}

/**
 * The local dead-letter destination: one JSON line per letter, appended in a single write per
 * call, creating missing directories. A write error is thrown so the consumer fails those
 * records rather than losing them.
 */
export class JsonlDeadLetterSink implements DeadLetterSink {
  constructor(private readonly config: JsonlDeadLetterSinkConfig) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await mkdir(dirname(this.config.path), { recursive: true });
    await appendFile(this.config.path, letters.map((letter) => `${JSON.stringify(letter)}\n`).join(''), 'utf8');
  }
}
