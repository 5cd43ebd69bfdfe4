import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSchemathesis, runSchemathesis, SCHEMATHESIS_VERSION, type SchemathesisRun } from '../support/schemathesis.ts';
import { ONLINE_RETAIL_II } from '../support/sharedData.ts';
import { ROUTES } from '../../api/routes/index.ts';

/*
 * The API's contract against an outside tester: `demand-insights serve` on the shared Online
 * Retail II sample, and Schemathesis (pinned, in its own virtual environment) reading the served
 * OpenAPI document and running every check through every phase. Zero failures, zero errors.
 *
 * Bounds, so the run costs about a minute on 2 cores: at most MAX_EXAMPLES test cases per
 * operation and phase, a fixed seed (the same cases every run; README says how to try others),
 * one worker (Python 3.11.7's ast module is not thread-safe, and Hypothesis parses lambdas with
 * it: two workers fail with "AST constructor recursion depth mismatch"), and a hard kill at
 * RUN_TIMEOUT_MS.
 */
const CLI = fileURLToPath(new URL('../../bin/demand-insights.js', import.meta.url));
const MAX_EXAMPLES = 50;
const SEED = 1;
const RUN_TIMEOUT_MS = 480_000;

let server: ChildProcess | undefined;
let workDir: string;
let baseUrl: string;
let result: SchemathesisRun;

/** Starts `serve` in a scratch directory (its lake goes to .local/lake there) and waits for its URL. */
async function startServe(cwd: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--data', ONLINE_RETAIL_II, '--format', 'online-retail', '--port', '0'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const match = /API listening on (http:\/\/[^\s,]+)/.exec(log);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${log}`)));
  });
  return { child, url };
}

describe(`the API's contract, by Schemathesis ${SCHEMATHESIS_VERSION}`, () => {
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'api-contract-'));
    const [, started] = await Promise.all([ensureSchemathesis(), startServe(workDir)]);
    server = started.child;
    baseUrl = started.url;
    result = await runSchemathesis(
      [
        `${baseUrl}/demand-insights/openapi.json`,
        '--url', baseUrl,
        '--checks', 'all',
        '--phases', 'examples,coverage,fuzzing,stateful',
        '--max-examples', String(MAX_EXAMPLES),
        '--seed', String(SEED),
        '--workers', '1',
        '--generation-database', 'none',
        '--request-timeout', '30',
        '--no-color',
      ],
      workDir,
      join(workDir, 'schemathesis.json'),
      RUN_TIMEOUT_MS,
    );
  }, 900_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('finds no failure and no error, the document included', () => {
    const { report } = result;
    expect({ failures: report.failures, errors: report.errors }, result.output.slice(-6000)).toEqual({ failures: [], errors: [] });
    expect(report.test_cases.unique_failures).toBe(0);
    expect(report.test_cases.errored).toBe(0);
    expect(report.exit_code).toBe(0);
    expect(result.exitCode).toBe(0);
  });

  it('tested every operation through every phase, with every check', () => {
    const { report } = result;
    expect(report.schemathesis_version).toBe(SCHEMATHESIS_VERSION);
    expect(report.complete).toBe(true);
    expect(report.command).toContain('--checks all');
    // Every route the API serves (the seven endpoints and the dashboard's three).
    const operations = ROUTES.length;
    expect(report.operations).toMatchObject({ total: operations, selected: operations, tested: operations, errored: 0, skipped: 0 });
    for (const phase of ['examples', 'coverage', 'fuzzing', 'stateful']) expect(report.phases[phase]?.status, phase).toBe('success');
    // Hundreds of requests, not a handful: the bounds still leave a real search.
    expect(report.test_cases.generated).toBeGreaterThan(500);
  });
});
