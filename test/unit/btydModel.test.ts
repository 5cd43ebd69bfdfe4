import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as trainCommand } from '../../bin/commands/train.ts';
import { bgnbdExpectedPurchases, bgnbdProbabilityAlive, bgnbdProbabilityNoPurchase } from '../../models/clv/bgnbd.ts';
import { BtydArtifactSchema, BtydModel, btydArtifact, btydVersion, type BtydArtifact } from '../../models/clv/btydModel.ts';
import { btydSummaries, endOfDayMs, statesUpTo, trainBtyd } from '../../models/clv/btydTraining.ts';
import { DAY_MS, parseIsoDay } from '../../models/time/calendar.ts';
import { FEATURE_NAMES, featuresOf, type CustomerFeatures } from '../../models/customer/customerFeatures.ts';
import { gammaGammaExpectedSpend } from '../../models/clv/gammaGamma.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { CDNOW_MASTER, CDNOW_SAMPLE } from '../support/sharedData.ts';


const FIELDS = {
  horizonDays: 273,
  calibrationEnd: '1997-09-30',
  trainedOn: { customers: 2357, events: 4960 },
  bgnbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, logLikelihood: -9582.4 },
  gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44, logLikelihood: -4055.9 },
};

function features(summary: Partial<CustomerFeatures>): CustomerFeatures {
  const zero = Object.fromEntries(FEATURE_NAMES.map((name) => [name, 0])) as unknown as CustomerFeatures;
  return { ...zero, ...summary };
}

const SAMPLE_FEATURES: CustomerFeatures[] = [
  features({ x: 0, tx: 0, T: 0 }),
  features({ x: 0, tx: 0, T: 38.86 }),
  features({ x: 1, tx: 2, T: 3, repeatMeanSpend: 15 }),
  features({ x: 2, tx: 30.43, T: 38.86, repeatMeanSpend: 22.5 }),
  features({ x: 7, tx: 10, T: 38, repeatMeanSpend: 40 }),
  features({ x: 40, tx: 38, T: 38.5, repeatMeanSpend: 300 }),
];

function order(customerId: string, day: string, dollars: number, orderId = `${customerId}-${day}-${dollars}`): OrderEvent {
  return { type: 'order', orderId, customerId, occurredAt: `${day}T12:00:00.000Z`, lines: [{ productId: 'CD', quantity: 1, unitPrice: dollars }] };
}

describe('BTYD artifact', () => {
  it('derives its version from the parameters and horizon, deterministically', () => {
    const artifact = btydArtifact(FIELDS);
    expect(artifact.version).toMatch(/^btyd-[0-9a-f]{12}$/);
    expect(btydArtifact(FIELDS).version).toBe(artifact.version);
    expect(btydArtifact({ ...FIELDS, horizonDays: 90 }).version).not.toBe(artifact.version);
    expect(btydArtifact({ ...FIELDS, bgnbd: { ...FIELDS.bgnbd, r: 0.2430001 } }).version).not.toBe(artifact.version);
    // Bookkeeping that does not change the scores does not change the version.
    expect(btydArtifact({ ...FIELDS, trainedOn: { customers: 1, events: 1 } }).version).toBe(artifact.version);
    expect(btydVersion(artifact)).toBe(artifact.version);
  });

  it('round-trips through JSON and scores identically', () => {
    const model = BtydModel.load(btydArtifact(FIELDS));
    const restored = BtydModel.load(JSON.parse(JSON.stringify(model.toJSON())));
    expect(restored.version).toBe(model.version);
    expect(restored.horizonDays).toBe(273);
    for (const customer of SAMPLE_FEATURES) {
      expect(restored.score(customer)).toEqual(model.score(customer));
      expect(restored.churnProbability(customer)).toBe(model.churnProbability(customer));
    }
  });

  it('toJSON hands out a copy', () => {
    const model = BtydModel.load(btydArtifact(FIELDS));
    model.toJSON().bgnbd.r = 99;
    expect(model.toJSON().bgnbd.r).toBe(FIELDS.bgnbd.r);
  });

  it('rejects invalid artifacts, naming the field', () => {
    const valid = btydArtifact(FIELDS);
    const cases: [unknown, RegExp][] = [
      [null, /invalid BTYD model artifact: \(root\)/],
      [{ ...valid, kind: 'tree' }, /kind/],
      [{ ...valid, formatVersion: 2 }, /formatVersion/],
      [{ ...valid, horizonDays: 0 }, /horizonDays/],
      [{ ...valid, calibrationEnd: '1997-13-01' }, /calibrationEnd/],
      [{ ...valid, bgnbd: { ...valid.bgnbd, alpha: -1 } }, /bgnbd\.alpha/],
      [{ ...valid, bgnbd: { ...valid.bgnbd, r: 'x' } }, /bgnbd\.r/],
      [{ ...valid, gammaGamma: { ...valid.gammaGamma, q: 0.9 } }, /gammaGamma\.q: must exceed 1/],
      [{ ...valid, gammaGamma: undefined }, /gammaGamma/],
      [{ ...valid, bgnbd: { ...valid.bgnbd, b: 3 } }, /version: does not match the parameters/],
      [{ ...valid, version: 'v1' }, /version/],
    ];
    for (const [json, message] of cases) {
      expect(() => BtydModel.load(json)).toThrow(/^invalid BTYD model artifact: /);
      expect(() => BtydModel.load(json)).toThrow(message);
    }
    expect(BtydArtifactSchema.safeParse(valid).success).toBe(true);
  });
});

describe('BtydModel scoring', () => {
  const artifact: BtydArtifact = btydArtifact(FIELDS);
  const model = BtydModel.load(artifact);
  const t = FIELDS.horizonDays / 7;

  it('agrees with the BG/NBD and Gamma-Gamma closed forms over horizonDays / 7 weeks', () => {
    for (const customer of SAMPLE_FEATURES) {
      const { x, tx, T, repeatMeanSpend } = customer;
      const score = model.score(customer);
      const close = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
      close(score.pAlive, bgnbdProbabilityAlive(FIELDS.bgnbd, x, tx, T));
      close(score.churnProbability, bgnbdProbabilityNoPurchase(FIELDS.bgnbd, x, tx, T, t));
      close(score.expectedPurchases, bgnbdExpectedPurchases(FIELDS.bgnbd, x, tx, T, t));
      close(score.expectedSpend, gammaGammaExpectedSpend(FIELDS.gammaGamma, x, repeatMeanSpend));
      close(score.clv, score.expectedPurchases * score.expectedSpend);
      expect(model.churnProbability(customer)).toBe(score.churnProbability);
    }
  });

  it('churn is P(no purchase over the horizon), not 1 − P(alive): one-time buyers are alive yet often silent', () => {
    const score = model.score(features({ x: 0, tx: 0, T: 30 }));
    expect(score.pAlive).toBe(1);
    expect(score.churnProbability).toBeGreaterThan(0.5);
    expect(score.churnProbability).toBeLessThan(1);
  });

  it('churn grows with silence, as the due-time search assumes', () => {
    for (const base of SAMPLE_FEATURES) {
      let previous = -1;
      for (let extraWeeks = 0; extraWeeks <= 104; extraWeeks += 1 / 7) {
        const churn = model.churnProbability({ ...base, T: base.T + extraWeeks });
        expect(churn).toBeGreaterThanOrEqual(previous);
        previous = churn;
      }
    }
  });

  it('never returns NaN or out-of-range values, whatever the features', () => {
    const garbage = [NaN, -5, Infinity, -Infinity, 1e300, 0];
    for (const x of garbage) {
      for (const T of garbage) {
        for (const tx of [NaN, -1, 1e9, 3]) {
          const customer = features({ x, tx, T, repeatMeanSpend: x === 0 ? NaN : 1e308 });
          const score = model.score(customer);
          for (const value of Object.values(score)) expect(Number.isFinite(value)).toBe(true);
          for (const probability of [score.churnProbability, score.pAlive, model.churnProbability(customer)]) {
            expect(probability).toBeGreaterThanOrEqual(0);
            expect(probability).toBeLessThanOrEqual(1);
          }
          expect(score.clv).toBeGreaterThanOrEqual(0);
          expect(score.expectedPurchases).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });

  it('stays finite and in range for extreme fitted parameters', () => {
    const extremes = [
      { r: 1e-6, alpha: 1e-20, a: 0.01, b: 1e-6 },
      { r: 1e6, alpha: 1e6, a: 1e6, b: 1e-6 },
      { r: 0.5, alpha: 3, a: 0.4, b: 0.6 },
    ];
    for (const bgnbd of extremes) {
      const extreme = BtydModel.load(btydArtifact({ ...FIELDS, bgnbd: { ...bgnbd, logLikelihood: 0 }, gammaGamma: { p: 1e-6, q: 1 + 1e-9, gamma: 1e6, logLikelihood: 0 } }));
      for (const customer of SAMPLE_FEATURES) {
        const score = extreme.score(customer);
        for (const value of Object.values(score)) expect(Number.isFinite(value) && value >= 0).toBe(true);
        expect(score.churnProbability).toBeLessThanOrEqual(1);
      }
    }
  });

  it('scores a = 1 exactly (a removable singularity of E[Y(t)])', () => {
    const atOne = BtydModel.load(btydArtifact({ ...FIELDS, bgnbd: { ...FIELDS.bgnbd, a: 1 } }));
    const nearOne = BtydModel.load(btydArtifact({ ...FIELDS, bgnbd: { ...FIELDS.bgnbd, a: 1.001 } }));
    for (const customer of SAMPLE_FEATURES) {
      const expected = nearOne.score(customer).expectedPurchases;
      expect(Math.abs(atOne.score(customer).expectedPurchases - expected)).toBeLessThan(0.01 * expected);
    }
  });
});

describe('trainBtyd', () => {
  const events: OrderEvent[] = [
    order('1', '2024-01-01', 10),
    order('1', '2024-01-01', 5), // same day: one occasion, spend summed
    order('1', '2024-01-15', 30),
    order('1', '2024-02-12', 50),
    order('1', '2024-03-20', 70), // after the calibration end
    order('2', '2024-01-08', 20),
    order('2', '2024-02-29', 40),
    order('3', '2024-02-29', 25), // first purchase on the calibration end day: T = 0
    { type: 'return', orderId: 'r4', customerId: '4', occurredAt: '2024-01-20T00:00:00.000Z', lines: [{ productId: 'CD', quantity: 1, unitPrice: 9 }] },
  ];

  it('builds summaries as of the end of the calibration day, through featuresOf', () => {
    const lastDay = parseIsoDay('2024-02-29');
    const { states, applied } = statesUpTo(events, lastDay);
    expect(applied).toBe(8);
    const summaries = btydSummaries(states.values(), endOfDayMs('2024-02-29'));
    // Customer 4 only returned something: not a buyer, not in the population.
    expect(summaries.customerIds).toEqual(['1', '2', '3']);
    expect(Array.from(summaries.x)).toEqual([2, 1, 0]);
    expect(Array.from(summaries.tx)).toEqual([42 / 7, 52 / 7, 0]);
    expect(Array.from(summaries.T)).toEqual([59 / 7, 52 / 7, 0]);
    expect(Array.from(summaries.m)).toEqual([40, 40, 0]);
    const asOf = endOfDayMs('2024-02-29');
    expect(Math.floor(asOf / DAY_MS)).toBe(lastDay);
    expect(summaries.T[0]).toBe(featuresOf(states.get('1')!, asOf).T);
  });

  it('fits both models into a loadable artifact and refuses an empty calibration', () => {
    const artifact = trainBtyd(events, { calibrationEnd: '2024-02-29', horizonDays: 30 });
    expect(artifact.trainedOn).toEqual({ customers: 3, events: 8 });
    expect(artifact.calibrationEnd).toBe('2024-02-29');
    expect(BtydModel.load(artifact).horizonDays).toBe(30);
    expect(() => trainBtyd(events, { calibrationEnd: '2023-12-31', horizonDays: 30 })).toThrow(/no customer has a purchase on or before 2023-12-31/);
  });

  it(
    'reproduces the protocol figures on the full CDNOW cohort (calibration 1997-01-01..1997-09-30)',
    async () => {
      const { events: master } = await readDataset(CDNOW_MASTER, 'cdnow');
      const artifact = trainBtyd(master, { calibrationEnd: '1997-09-30', horizonDays: 273 });
      expect(artifact.trainedOn.customers).toBe(23_570);
      const expected = { r: 0.2516, alpha: 4.789, a: 0.7234, b: 2.161, p: 6.275, q: 3.624, gamma: 14.98 };
      const fitted = { ...artifact.bgnbd, ...artifact.gammaGamma };
      for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
        expect(Math.abs(fitted[key] / expected[key] - 1)).toBeLessThan(0.01);
      }
    },
    60_000,
  );
});

describe('demand-insights train', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'di-train-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('writes a loadable artifact and prints a summary', async () => {
    const out = join(work, 'nested', 'model.json');
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await trainCommand({ data: CDNOW_SAMPLE, format: 'cdnow', out, calibrationEnd: '1997-09-30', horizonDays: '273' });
      const printed = write.mock.calls.map((call) => String(call[0])).join('');
      expect(printed).toMatch(/BG\/NBD\s+r=0\.24\d+ alpha=4\.41\d+ a=0\.79\d+ b=2\.42\d+/);
      expect(printed).toMatch(/2357 customers/);
    } finally {
      write.mockRestore();
    }
    const model = BtydModel.load(JSON.parse(await readFile(out, 'utf8')));
    expect(model.horizonDays).toBe(273);
    expect(model.toJSON().calibrationEnd).toBe('1997-09-30');
  }, 30_000);

  it('rejects bad options with messages naming the flag', async () => {
    const base = { data: CDNOW_SAMPLE, format: 'cdnow', out: join(work, 'x.json'), horizonDays: '90' };
    await expect(trainCommand({ ...base, horizonDays: '0' })).rejects.toThrow(/--horizon-days must be a whole number/);
    await expect(trainCommand({ ...base, horizonDays: 'soon' })).rejects.toThrow(/--horizon-days/);
    await expect(trainCommand({ ...base, calibrationEnd: '1997-02-30' })).rejects.toThrow(/--calibration-end is not a calendar date/);
    await expect(trainCommand({ ...base, calibrationEnd: '30/09/1997' })).rejects.toThrow(/--calibration-end must be a date YYYY-MM-DD/);
    await expect(trainCommand({ ...base, format: 'csv' })).rejects.toThrow(/--format must be one of/);
    await expect(trainCommand({ ...base, data: join(work, 'missing.txt') })).rejects.toThrow(/--data: cannot read/);
  });
});
