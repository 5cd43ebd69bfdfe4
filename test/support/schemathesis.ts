import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Schemathesis, the outside tester of the API's contract, in a Python virtual environment the
 * tests build for themselves (so `npm test` alone works on a fresh machine): `python3 -m venv`
 * and `pip install -r schemathesis-requirements.txt`, every version pinned. The environment is
 * rebuilt when the requirements file changes (its hash is kept beside the environment).
 */
export const SCHEMATHESIS_VERSION = '4.32.5';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const REQUIREMENTS = fileURLToPath(new URL('./schemathesis-requirements.txt', import.meta.url));
export const SCHEMATHESIS_VENV = `${REPO}.cache/venv-schemathesis`;
const STAMP = `${SCHEMATHESIS_VENV}/.requirements-sha256`;
export const SCHEMATHESIS_BIN = `${SCHEMATHESIS_VENV}/bin/schemathesis`;

/** The schemathesis executable, installing it first when the environment is missing or stale. */
export async function ensureSchemathesis(): Promise<string> {
  const wanted = createHash('sha256').update(await readFile(REQUIREMENTS)).digest('hex');
  const stamp = existsSync(STAMP) ? (await readFile(STAMP, 'utf8')).trim() : '';
  if (stamp !== wanted || !existsSync(SCHEMATHESIS_BIN)) {
    await run('python3', ['-m', 'venv', '--clear', SCHEMATHESIS_VENV], { timeout: 120_000 });
    await run(`${SCHEMATHESIS_VENV}/bin/pip`, ['install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], { timeout: 600_000 });
    await writeFile(STAMP, `${wanted}\n`);
  }
  const { stdout } = await run(SCHEMATHESIS_BIN, ['--version']);
  if (!stdout.includes(SCHEMATHESIS_VERSION)) throw new Error(`expected schemathesis ${SCHEMATHESIS_VERSION}, got ${stdout.trim()}`);
  return SCHEMATHESIS_BIN;
}

/** The figures of Schemathesis's JSON run report (`--report json`) that the contract test reads. */
export interface SchemathesisReport {
  schemathesis_version: string;
  command: string;
  seed: number;
  running_time: number;
  complete: boolean;
  exit_code: number;
  operations: { total: number; selected: number; tested: number; errored: number; skipped: number };
  phases: Record<string, { status: string; skip_reason: string | null }>;
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures: Array<{ code: string; title: string; count: number; operations: string[] }>;
  errors: Array<{ title: string; count: number }>;
}

export interface SchemathesisRun {
  exitCode: number | null;
  output: string;
  report: SchemathesisReport;
}

/**
 * Runs `schemathesis run ARGS` in `cwd` (where it keeps its .schemathesis/ state), bounded by
 * `timeoutMs`, and reads its JSON report.
 */
export async function runSchemathesis(args: readonly string[], cwd: string, reportPath: string, timeoutMs: number): Promise<SchemathesisRun> {
  const child = spawn(SCHEMATHESIS_BIN, ['run', ...args, '--report', 'json', '--report-json-path', reportPath], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  }).finally(() => clearTimeout(timer));
  if (!existsSync(reportPath)) throw new Error(`schemathesis wrote no report (exit ${exitCode}):\n${output.slice(-4000)}`);
  return { exitCode, output, report: JSON.parse(await readFile(reportPath, 'utf8')) as SchemathesisReport };
}
