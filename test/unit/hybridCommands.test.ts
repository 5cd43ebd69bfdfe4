import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as evalCommand } from '../../bin/commands/evalCustomers.ts';
import { run as trainCommand } from '../../bin/commands/train.ts';
import { HybridModel } from '../../models/hybridModel.ts';
import { loadModel } from '../../models/modelArtifact.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { CDNOW_SAMPLE } from '../support/sharedData.ts';

/** The commands that produce and evaluate the hybrid model, on small data. */
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'di-hybrid-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function stdoutOf(action: () => Promise<void>): Promise<string> {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    await action();
  } finally {
    spy.mockRestore();
  }
  return text;
}

describe('demand-insights train --model hybrid', () => {
  it('writes a loadable hybrid artifact from the last horizon of the data and prints a summary', async () => {
    const out = join(work, 'hybrid.json');
    const printed = await stdoutOf(() => trainCommand({ data: CDNOW_SAMPLE, format: 'cdnow', out, horizonDays: '90', model: 'hybrid' }));
    expect(printed).toMatch(/\(hybrid\) written to/);
    expect(printed).toMatch(/features as of 1998-04-01, labels 1998-04-01 \.\. 1998-06-30 \(horizon 90 days\): 2357 customers/);
    const json = JSON.parse(await readFile(out, 'utf8'));
    const model = loadModel(json);
    expect(model).toBeInstanceOf(HybridModel);
    expect(model.horizonDays).toBe(90);
    expect(json.calibrationEnd).toBe('1998-04-01');
  }, 60_000);

  it('names the problem when the history is shorter than the horizon, and rejects unknown kinds', async () => {
    const base = { data: CDNOW_SAMPLE, format: 'cdnow', out: join(work, 'x.json'), horizonDays: '90' };
    await expect(trainCommand({ ...base, calibrationEnd: '1997-02-01', model: 'hybrid' })).rejects.toThrow(/no customer has a purchase on or before 1996-11-03/);
    await expect(trainCommand({ ...base, model: 'forest' })).rejects.toThrow(/--model must be hybrid or btyd/);
  });
});

describe('demand-insights eval (any dataset)', () => {
  it('evaluates a JSONL history on a calibration / holdout split and prints the issue’s keys', async () => {
    const data = join(work, 'events.jsonl');
    const events = generateEvents({ customers: 1200, days: 400, seed: 3, start: '2024-01-01' });
    await writeFile(data, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
    const options = { data, format: 'jsonl', calibrationEnd: '2024-11-30', holdoutEnd: '2025-02-03' };
    const json = JSON.parse(await stdoutOf(() => evalCommand({ ...options, json: true })));
    expect(Object.keys(json)).toEqual(['churn', 'clv', 'btyd', 'segmentation', 'fitSeconds']);
    expect(json.churn.rocAuc).toBeGreaterThan(0.6);
    expect(json.churn.brier).toBeLessThan(0.25);
    expect(json.clv.totalRatio).toBeGreaterThan(0.7);
    expect(json.clv.totalRatio).toBeLessThan(1.3);
    const text = await stdoutOf(() => evalCommand(options));
    expect(text).toMatch(/reliability \(deciles of predicted churn probability\)/);
    expect(text).toMatch(/hybrid \(this build\)/);
  }, 60_000);
});
