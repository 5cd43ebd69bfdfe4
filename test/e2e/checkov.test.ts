import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHECKOV_VERSION, ensureCheckovVenv } from '../support/checkovVenv.ts';

/*
 * Checkov (pinned, in .cache/venv-checkov: test/support/checkovVenv.ts) over terraform/, the way
 * an infrastructure reviewer runs it: zero failed checks. A check may only be skipped by an
 * inline `#checkov:skip=ID:reason` comment inside the resource, with a reason; no --skip-check,
 * no soft fail.
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TF_DIR = join(ROOT, 'terraform');

interface CheckResult {
  check_id: string;
  check_name: string;
  resource: string;
  file_path: string;
}

interface CheckovReport {
  results: { passed_checks: CheckResult[]; failed_checks: CheckResult[]; skipped_checks: CheckResult[]; parsing_errors: string[] };
  summary: { passed: number; failed: number; skipped: number; parsing_errors: number; resource_count: number; checkov_version: string };
}

function checkov(binary: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['-d', TF_DIR, '--framework', 'terraform', '--compact', '--skip-download', '-o', 'json'];
  return new Promise((done) => {
    execFile(binary, args, { cwd: ROOT, timeout: 300_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function tfFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? tfFiles(path) : entry.name.endsWith('.tf') ? [path] : [];
  });
}

/** Every inline skip in terraform/: file (as Checkov names it, "/x.tf"), check id, reason. */
function inlineSkips(): { file: string; id: string; reason: string }[] {
  return tfFiles(TF_DIR).flatMap((path) =>
    [...readFileSync(path, 'utf8').matchAll(/#\s*checkov:skip=([A-Z0-9_]+)(?::([^\n]*))?/g)].map((m) => ({
      file: `/${relative(TF_DIR, path)}`,
      id: m[1],
      reason: (m[2] ?? '').trim(),
    })),
  );
}

describe('Checkov over terraform/', () => {
  let report: CheckovReport;
  let exitCode: number;

  beforeAll(async () => {
    const venv = await ensureCheckovVenv(ROOT);
    const { code, stdout, stderr } = await checkov(venv.checkov);
    exitCode = code;
    try {
      report = JSON.parse(stdout) as CheckovReport;
    } catch {
      throw new Error(`checkov printed no JSON report (exit ${code}):\n${stderr.slice(0, 4000)}`);
    }
  }, 1_500_000);

  it(`is Checkov ${CHECKOV_VERSION}, and parses every file`, () => {
    expect(report.summary.checkov_version).toBe(CHECKOV_VERSION);
    expect(report.summary.parsing_errors, report.results.parsing_errors.join('\n')).toBe(0);
  });

  it('scans the root module, the API module through its call, and the example', () => {
    const resources = new Set([...report.results.passed_checks, ...report.results.skipped_checks].map((c) => c.resource));
    for (const resource of ['aws_lambda_function.consumer', 'aws_lambda_function.sweep', 'module.api.aws_lambda_function.this', 'aws_dynamodb_table.state', 'aws_s3_bucket.lake']) {
      expect(resources.has(resource), resource).toBe(true);
    }
    expect([...resources].some((r) => r.startsWith('module.demand_insights_lambda.')), 'examples/old-module-caller').toBe(true);
    expect(report.summary.passed).toBeGreaterThan(300);
  });

  it('finds no failed check (exit code 0)', () => {
    const failed = report.results.failed_checks.map((c) => `${c.check_id} ${c.resource} (${c.file_path}): ${c.check_name}`);
    expect(failed).toEqual([]);
    expect(exitCode).toBe(0);
  });

  it('skips only through inline comments that give a reason, and none is stale', () => {
    const skips = inlineSkips();
    const thin = skips.filter((s) => s.reason.split(/\s+/).length < 8);
    expect(thin, 'each checkov:skip needs a reason a reviewer can weigh (8 words or more)').toEqual([]);
    const commented = new Set(skips.map((s) => `${s.file} ${s.id}`));
    const skipped = report.results.skipped_checks.map((c) => `${c.file_path} ${c.check_id}`);
    expect(skipped.filter((key) => !commented.has(key)), 'skipped without an inline comment').toEqual([]);
    expect([...commented].filter((key) => !skipped.includes(key)), 'inline skips no check uses any more').toEqual([]);
  });
});
