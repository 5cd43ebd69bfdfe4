import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * The Python virtual environment the infrastructure checks run in (.cache/venv-checkov,
 * git-ignored), created from test/support/checkov-requirements.txt (Checkov and every package
 * it pulls in, pinned) the first time a test needs it, and rebuilt when that file changes. So
 * `npm test` alone works on a fresh machine with python3; nothing is installed globally.
 */

const run = promisify(execFile);

export const CHECKOV_VERSION = '3.3.30';

export interface CheckovVenv {
  python: string;
  checkov: string;
}

const STAMP = '.requirements-sha256';

export async function ensureCheckovVenv(root: string): Promise<CheckovVenv> {
  const dir = join(root, '.cache', 'venv-checkov');
  const requirements = join(root, 'test', 'support', 'checkov-requirements.txt');
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const venv = { python: join(dir, 'bin', 'python'), checkov: join(dir, 'bin', 'checkov') };
  const stamp = join(dir, STAMP);
  if (existsSync(venv.checkov) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return venv;

  const python = process.env.PYTHON ?? 'python3';
  try {
    await run(python, ['-m', 'venv', dir], { timeout: 120_000 });
  } catch (error) {
    throw new Error(`creating ${dir} needs python3 with the venv module (or PYTHON=/path/to/python3): ${(error as Error).message}`);
  }
  await run(venv.python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', requirements], { timeout: 1_200_000, maxBuffer: 16 << 20 });
  const { stdout } = await run(venv.checkov, ['--version'], { timeout: 120_000 });
  if (stdout.trim() !== CHECKOV_VERSION) throw new Error(`${venv.checkov} is ${stdout.trim()}, expected ${CHECKOV_VERSION}`);
  writeFileSync(stamp, digest);
  return venv;
}
