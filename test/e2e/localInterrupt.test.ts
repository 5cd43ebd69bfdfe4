import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Ctrl-C during a long replay: the job stops its producer and pollers, prints the summary of
 * what it processed so far, closes the stand-ins and exits 0, rather than dying mid-batch.
 */
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'demand-insights.js');
let out: string | undefined;
afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe('local job under Ctrl-C', () => {
  it('stops cleanly mid-replay and prints the summary so far', async () => {
    out = await mkdtemp(join(tmpdir(), 'local-sigint-'));
    // A small training slice and a long replay, so the signal lands mid-replay.
    const child = spawn(process.execPath, [CLI, 'local', '--no-serve', '--customers', '10000', '--days', '730', '--train-fraction', '0.3', '--poison', '0', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let signalledAt = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // The replay starts right after the states are bootstrapped; a second and a half into it, Ctrl-C.
      if (!signalledAt && stderr.includes('customer states bootstrapped')) {
        signalledAt = Date.now();
        setTimeout(() => child.kill('SIGINT'), 1_500);
      }
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    expect(signalledAt, stderr).toBeGreaterThan(0);
    expect(code, stderr).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    const match = /interrupted after ([\d,]+) of ([\d,]+) events/.exec(stderr);
    expect(match, stderr).not.toBeNull();
    const [done, total] = [match![1], match![2]].map((n) => Number(n.replaceAll(',', '')));
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(total);
    expect(stderr).toContain('Summary');
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { events: number; interrupted: boolean };
    expect(summary).toMatchObject({ events: done, interrupted: true });
  });
});
