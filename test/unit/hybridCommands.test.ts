import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as evalCommand } from '../../bin/commands/evalCustomers.ts';
import { run as trainCommand } from '../../bin/commands/train.ts';
import { HYBRID_FEATURE_NAMES } from '../../models/clv/hybridFeatures.ts';
import { HybridModel } from '../../models/clv/hybridModel.ts';
import { DEFAULT_HYBRID_TRAINING } from '../../models/clv/hybridTraining.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
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

describe('demand-insights eval --export-folds', () => {
  it("writes each fold's training and test tables and the out-of-fold predictions, consistent with each other", async () => {
    const data = join(work, 'export-events.jsonl');
    const events = generateEvents({ customers: 600, days: 400, seed: 5, start: '2024-01-01' });
    await writeFile(data, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
    const dir = join(work, 'folds');
    const json = JSON.parse(await stdoutOf(() => evalCommand({ data, format: 'jsonl', calibrationEnd: '2024-11-30', holdoutEnd: '2025-02-03', exportFolds: dir, json: true })));

    const files = (await readdir(dir)).sort();
    expect(files).toEqual([...[0, 1, 2, 3, 4].flatMap((k) => [`fold${k}_test.csv`, `fold${k}_train.csv`]), 'predictions.csv']);
    const csv = async (name: string) => {
      const [header, ...rows] = (await readFile(join(dir, name), 'utf8')).trimEnd().split('\n');
      return { header: header.split(','), rows: rows.map((row) => row.split(',')) };
    };
    const predictions = await csv('predictions.csv');
    expect(predictions.header).toEqual(['customer_id', 'fold', 'churned', 'spend', 'churn_probability', 'clv']);
    const foldOf = new Map(predictions.rows.map(([id, fold]) => [id, Number(fold)]));
    let clvTotal = 0;
    let spendTotal = 0;
    for (const [, , , spend, , clv] of predictions.rows) {
      spendTotal += Number(spend);
      clvTotal += Number(clv);
    }
    // The exported predictions are the ones the printed metrics were computed from.
    expect(clvTotal / spendTotal).toBeCloseTo(json.clv.totalRatio, 9);

    for (let k = 0; k < 5; k++) {
      const train = await csv(`fold${k}_train.csv`);
      const test = await csv(`fold${k}_test.csv`);
      expect(train.header).toEqual(['customer_id', 'inner_group', 'churned', 'spend', ...HYBRID_FEATURE_NAMES]);
      expect(test.header).toEqual(train.header);
      // Every panel customer is either trained on or tested in fold k, and tested exactly in its own fold.
      expect(train.rows.length + test.rows.length).toBe(predictions.rows.length);
      for (const [id, group] of test.rows.map((row) => [row[0], row[1]])) {
        expect(foldOf.get(id)).toBe(k);
        expect(group).toBe('');
      }
      for (const row of train.rows) {
        expect(foldOf.get(row[0])).not.toBe(k);
        expect(Number(row[1])).toBeLessThan(DEFAULT_HYBRID_TRAINING.innerFolds);
        for (const cell of row.slice(2)) expect(Number.isFinite(Number(cell))).toBe(true);
      }
    }
  }, 60_000);
});

