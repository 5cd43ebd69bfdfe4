import { beforeAll, describe, expect, it } from 'vitest';
import { endOfDayMs, statesUpTo } from '../../models/clv/btydTraining.ts';
import { parseIsoDay } from '../../models/time/calendar.ts';
import { featuresOf, type CustomerFeatures } from '../../models/customer/customerFeatures.ts';
import { buildPanel, foldOf } from '../../models/clv/customerPanel.ts';
import { applyEvent, emptyState } from '../../models/customer/customerState.ts';
import { ForestScorer } from '../../models/clv/forestScorer.ts';
import {
  COUNTRY_MAX_COLUMNS,
  covariateVocabulary,
  HYBRID_FEATURE_COUNT,
  HYBRID_FEATURE_NAMES,
  hybridFeaturesOf,
  hybridRow,
} from '../../models/clv/hybridFeatures.ts';
import { type HybridArtifact, HybridModel } from '../../models/clv/hybridModel.ts';
import { fitBtydInputs, fitHybrid, hybridMatrix, innerGroups, trainHybridFromEvents } from '../../models/clv/hybridTraining.ts';
import { fitLinear, linearRaw } from '../../models/numeric/linearModels.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { matrixFromRows } from '../../models/trees/featureMatrix.ts';
import { GradientBoosting } from '../../models/trees/gradientBoosting.ts';
import { TreeRandom } from '../../models/trees/treeRandom.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

const CALIBRATION_END = '2024-12-31';
let events: OrderEvent[];
let artifact: HybridArtifact;
let features: CustomerFeatures[];

beforeAll(() => {
  events = generateEvents({ customers: 1500, days: 540, seed: 5, start: '2023-07-11' });
  artifact = trainHybridFromEvents(events, { calibrationEnd: CALIBRATION_END, horizonDays: 90 });
  const { states } = statesUpTo(events, parseIsoDay(CALIBRATION_END));
  const asOf = endOfDayMs(CALIBRATION_END);
  features = [...states.values()].map((state) => featuresOf(state, asOf));
  features.push(featuresOf(emptyState('nobody'), asOf));
});

describe('hybrid model artifact', () => {
  it('is versioned, small, and survives a JSON round trip with identical scores', () => {
    expect(artifact.kind).toBe('hybrid');
    expect(artifact.version).toMatch(/^hybrid-[0-9a-f]{12}$/);
    expect(artifact.horizonDays).toBe(90);
    expect(artifact.calibrationEnd).toBe('2024-10-02');
    const json = JSON.stringify(artifact);
    expect(json.length).toBeLessThan(2_000_000);
    const trained = HybridModel.fromArtifact(artifact);
    const loaded = HybridModel.load(JSON.parse(json));
    expect(loaded.version).toBe(artifact.version);
    expect(loaded.toJSON()).toEqual(artifact);
    for (const f of features) expect(loaded.score(f)).toEqual(trained.score(f));
  });

  it('is what loadModel builds for kind "hybrid"', () => {
    const model = loadModel(JSON.parse(JSON.stringify(artifact)));
    expect(model).toBeInstanceOf(HybridModel);
    expect(model.version).toBe(artifact.version);
    expect(model.horizonDays).toBe(90);
    expect(() => loadModel({ kind: 'nope' })).toThrow(/unknown model artifact kind.*"hybrid" or "btyd"/);
  });

  it('rejects an edited artifact, a foreign feature list and broken trees, naming the field', () => {
    const edited = structuredClone(artifact);
    edited.clv.scale *= 1.1;
    expect(() => HybridModel.load(edited)).toThrow(/version: does not match the model/);
    const features = structuredClone(artifact);
    features.features = features.features.slice(1);
    expect(() => HybridModel.load(features)).toThrow(/features: must be the hybrid features/);
    const broken = structuredClone(artifact) as unknown as { churn: { trees: { feature: number[] }[] } };
    if (broken.churn.trees[0].feature.length > 0) broken.churn.trees[0].feature[0] = 999;
    else broken.churn.trees[0].feature.push(999);
    expect(() => HybridModel.load(broken)).toThrow(/invalid hybrid model artifact/);
    expect(() => HybridModel.load({ ...artifact, formatVersion: 2 })).toThrow(/formatVersion/);
  });

  it('trains deterministically', () => {
    const again = trainHybridFromEvents(events, { calibrationEnd: CALIBRATION_END, horizonDays: 90 });
    expect(again.version).toBe(artifact.version);
  });
});

describe('hybrid model scores', () => {
  it('are probabilities and non-negative finite amounts, for every customer and for one with no purchase', () => {
    const model = HybridModel.fromArtifact(artifact);
    for (const f of features) {
      const s = model.score(f);
      expect(s.churnProbability).toBeGreaterThanOrEqual(0);
      expect(s.churnProbability).toBeLessThanOrEqual(1);
      expect(Number.isFinite(s.clv) && s.clv >= 0).toBe(true);
      expect(s.pAlive).toBeGreaterThanOrEqual(0);
      expect(s.pAlive).toBeLessThanOrEqual(1);
      expect(Number.isFinite(s.expectedPurchases) && Number.isFinite(s.expectedSpend)).toBe(true);
    }
  });

  it('churnProbability alone equals score().churnProbability exactly', () => {
    const model = HybridModel.fromArtifact(artifact);
    for (const f of features) expect(model.churnProbability(f)).toBe(model.score(f).churnProbability);
  });

  it('stay finite on extreme and malformed features', () => {
    const model = HybridModel.fromArtifact(artifact);
    const base = features[0];
    for (const patch of [{ x: 1e12, T: 1e12, tx: 1e12 }, { repeatMeanSpend: Infinity, totalSpend: 1e300 }, { recencyDays: NaN, tenureDays: -5 }]) {
      const s = model.score({ ...base, ...patch });
      expect(Number.isFinite(s.churnProbability) && Number.isFinite(s.clv)).toBe(true);
    }
  });

  it('are calibrated in total: the CLV sums to the training customers’ actual spend', () => {
    const featureDay = artifact.calibrationEnd;
    const panel = buildPanel(events, { calibrationEnd: featureDay, holdoutEnd: CALIBRATION_END });
    const model = HybridModel.fromArtifact(artifact);
    let predicted = 0;
    let actual = 0;
    panel.features.forEach((f, i) => {
      predicted += model.score(f).clv;
      actual += panel.spend[i];
    });
    expect(predicted / actual).toBeCloseTo(1, 6);
  });

  it('live and batch rows agree: hybridFeaturesOf(state) equals hybridRow(featuresOf(state)) (a consistency check; the values are checked by hand below)', () => {
    const { states } = statesUpTo(events, parseIsoDay(CALIBRATION_END));
    const model = HybridModel.fromArtifact(artifact);
    const asOf = endOfDayMs(CALIBRATION_END);
    for (const state of [...states.values()].slice(0, 50)) {
      const row = new Float64Array(HYBRID_FEATURE_COUNT);
      hybridRow(featuresOf(state, asOf), model.btydInputs, row);
      expect(Array.from(hybridFeaturesOf(state, asOf, model.btydInputs))).toEqual(Array.from(row));
    }
  });
});

/*
 * An independent oracle for the hybrid row: one customer small enough to work out by hand, and
 * the BTYD block from the published closed forms, written out here (FHL 2005 equations for
 * BG/NBD, with 2F1 summed as its plain power series rather than the Euler-transformed series the
 * model uses; Fader, Hardie & Lee's Gamma-Gamma conditional mean), at the published CDNOW
 * parameters.
 */
describe('hybrid row against hand-computed values', () => {
  // Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", CDNOW: r, α, a, b.
  const BGNBD = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  // Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves", CDNOW: p, q, γ.
  const GAMMA_GAMMA = { p: 6.25, q: 3.74, gamma: 15.44 };
  const btyd = { bgnbd: BGNBD, gammaGamma: GAMMA_GAMMA, horizonDays: 273 }; // 39 weeks

  /** Gauss's hypergeometric series, summed term by term (|z| < 1). */
  function hyp2f1Series(a: number, b: number, c: number, z: number): number {
    let term = 1;
    let sum = 1;
    for (let n = 0; n < 10_000 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
      sum += term;
    }
    return sum;
  }
  /** FHL 2005 eq. (10): E[Y(t) | x, tx, T]. */
  function expectedPurchases(x: number, tx: number, T: number, t: number): number {
    const { r, alpha, a, b } = BGNBD;
    const bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1Series(r + x, b + x, a + b + x - 1, t / (alpha + T + t));
    const denominator = 1 + (x > 0 ? (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) : 0);
    return (((a + b + x - 1) / (a - 1)) * bracket) / denominator;
  }
  /** FHL 2005 eq. (13): P(alive | x, tx, T). */
  function pAlive(x: number, tx: number, T: number): number {
    const { r, alpha, a, b } = BGNBD;
    return x === 0 ? 1 : 1 / (1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x));
  }

  it('the oracle itself reproduces the paper: E[Y(39) | x=2, tx=30.43, T=38.86] = 1.226', () => {
    expect(expectedPurchases(2, 30.43, 38.86, 39)).toBeCloseTo(1.226, 3);
  });

  it('hybridFeaturesOf equals the row worked out by hand, BTYD block from the closed forms', () => {
    // Purchase days 2024-01-01 (two orders: 2 × 10 and 1 × 5), 2024-01-15 (1 × 30) and
    // 2024-02-12 (3 × 4); a return of 1 × 4 on 2024-02-20; as of the end of 2024-03-11 (a Monday).
    const order = (orderId: string, day: string, quantity: number, unitPrice: number, type: 'order' | 'return' = 'order'): OrderEvent => ({
      type,
      orderId,
      customerId: 'hand',
      occurredAt: `${day}T10:00:00Z`,
      country: 'France',
      lines: [{ productId: 'P1', quantity, unitPrice }],
    });
    const state = emptyState('hand');
    for (const event of [
      order('o1', '2024-01-01', 2, 10),
      order('o2', '2024-01-01', 1, 5),
      order('o3', '2024-01-15', 1, 30),
      order('o4', '2024-02-12', 3, 4),
      order('o4', '2024-02-20', 1, 4, 'return'),
    ]) {
      applyEvent(state, event);
    }
    const asOf = Date.parse('2024-03-11T23:59:59.999Z');

    // Days from the first purchase: repeats on day 14 and 42, as of day 70.
    const x = 2; // repeat purchase days
    const tx = 42 / 7;
    const T = 70 / 7;
    const m = (30 + 12) / 2; // mean spend of the repeat days
    const t = 39;
    const alive = pAlive(x, tx, T);
    const noPurchase = 1 - alive + alive * ((BGNBD.alpha + T) / (BGNBD.alpha + T + t)) ** (BGNBD.r + x);
    const purchases = expectedPurchases(x, tx, T, t);
    const spend = ((GAMMA_GAMMA.gamma + x * m) * GAMMA_GAMMA.p) / (GAMMA_GAMMA.p * x + GAMMA_GAMMA.q - 1);
    const expected: Record<(typeof HYBRID_FEATURE_NAMES)[number], number> = {
      recencyDays: 28,
      tenureDays: 70,
      spanDays: 42,
      frequency: 3,
      orders: 4,
      totalSpend: 67,
      spendPerPurchaseDay: 67 / 3,
      avgOrderSpend: 67 / 4,
      maxOrderSpend: 30,
      firstDaySpend: 25,
      repeatMeanSpend: 21,
      units: 7,
      avgInterPurchaseDays: 21,
      recencyOverInterPurchase: 28 / 21,
      purchaseDaysLast90: 3,
      spendLast13Weeks: 67, // the 13 weeks from Monday 2023-12-18 hold every order; returns are not sales
      ordersLast13Weeks: 4,
      returns: 1,
      returnSpend: 4,
      btydPAlive: alive,
      btydPNoPurchase: noPurchase,
      btydExpectedPurchases: purchases,
      ggExpectedSpend: spend,
      btydClv: purchases * spend,
    };
    // Sanity of the hand figures themselves: a live-looking customer, some purchases ahead.
    expect(alive).toBeGreaterThan(0.5);
    expect(purchases).toBeGreaterThan(0.5);

    const row = hybridFeaturesOf(state, asOf, btyd);
    expect(row).toHaveLength(HYBRID_FEATURE_COUNT);
    HYBRID_FEATURE_NAMES.forEach((name, index) => {
      expect(Math.abs(row[index] - expected[name]), `${name}: ${row[index]} vs ${expected[name]}`).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(expected[name])));
    });

    // With a country vocabulary, one-hot columns follow in vocabulary order.
    const withCountries = hybridFeaturesOf(state, asOf, btyd, { country: ['Germany', 'France', 'Spain'] });
    expect(Array.from(withCountries.slice(0, HYBRID_FEATURE_COUNT))).toEqual(Array.from(row));
    expect(Array.from(withCountries.slice(HYBRID_FEATURE_COUNT))).toEqual([0, 1, 0]);
  });

  it('a customer with one purchase day: x = 0, alive with probability 1, the population mean spend', () => {
    const state = emptyState('once');
    applyEvent(state, { type: 'order', orderId: 'a', customerId: 'once', occurredAt: '2024-01-01T08:00:00Z', lines: [{ productId: 'P', quantity: 1, unitPrice: 50 }] });
    const row = hybridFeaturesOf(state, Date.parse('2024-01-29T12:00:00Z'), btyd);
    const at = (name: (typeof HYBRID_FEATURE_NAMES)[number]) => row[HYBRID_FEATURE_NAMES.indexOf(name)];
    const T = 4;
    const purchases = expectedPurchases(0, 0, T, 39);
    const spend = (GAMMA_GAMMA.p * GAMMA_GAMMA.gamma) / (GAMMA_GAMMA.q - 1);
    expect(at('recencyDays')).toBe(28);
    expect(at('spanDays')).toBe(0);
    expect(at('avgInterPurchaseDays')).toBe(-1);
    expect(at('recencyOverInterPurchase')).toBe(-1);
    expect(at('repeatMeanSpend')).toBe(0);
    expect(at('btydPAlive')).toBe(1);
    expect(at('btydPNoPurchase')).toBeCloseTo(((BGNBD.alpha + T) / (BGNBD.alpha + T + 39)) ** BGNBD.r, 12);
    expect(at('btydExpectedPurchases')).toBeCloseTo(purchases, 10);
    expect(at('ggExpectedSpend')).toBeCloseTo(spend, 10);
    expect(at('btydClv')).toBeCloseTo(purchases * spend, 8);
  });
});

describe('hybrid model covariates (country)', () => {
  const COUNTRIES = ['Germany', 'France', 'Spain'];
  /** Churn rate by country: the label depends on country alone, not on the other features. */
  const CHURN_RATE: Record<string, number> = { Germany: 0.1, France: 0.5, Spain: 0.9, Malta: 0.5 };
  let labelled: { customerIds: string[]; features: CustomerFeatures[]; churn: Float64Array; spend: Float64Array };
  let covariateArtifact: HybridArtifact;

  beforeAll(() => {
    const random = new TreeRandom(11);
    const customers = features.slice(0, -1);
    const withCountry = customers.map((f, i) => ({ ...f, country: i < 30 ? 'Malta' : COUNTRIES[i % 3] }));
    const churn = Float64Array.from(withCountry, (f) => (random.nextFloat() < CHURN_RATE[f.country] ? 1 : 0));
    const spend = Float64Array.from(withCountry, (f, i) => (churn[i] === 1 ? 0 : (f.country === 'Spain' ? 20 : 100) * (0.5 + random.nextFloat())));
    labelled = { customerIds: withCountry.map((_, i) => `K${i}`), features: withCountry, churn, spend };
    covariateArtifact = fitHybrid(labelled, { horizonDays: 90, calibrationEnd: '2024-10-02', events: 1 });
  });

  it('learns a vocabulary of the countries with enough customers, as one-hot columns after the rest', () => {
    expect(labelled.features.filter((f) => f.country === 'Malta')).toHaveLength(30);
    expect([...covariateArtifact.covariates.country].sort()).toEqual([...COUNTRIES].sort());
    expect(covariateArtifact.features).toEqual([...HYBRID_FEATURE_NAMES, ...covariateArtifact.covariates.country.map((c) => `country=${c}`)]);
    expect(covariateArtifact.features.indexOf('btydClv')).toBe(HYBRID_FEATURE_NAMES.indexOf('btydClv'));
    const model = HybridModel.fromArtifact(covariateArtifact);
    expect(model.featureNames).toEqual(covariateArtifact.features);
  });

  it('gives the country a real effect: the same features score by their country', () => {
    const model = HybridModel.fromArtifact(covariateArtifact);
    const mean = (country: string | null, pick: (s: ReturnType<HybridModel['score']>) => number) =>
      labelled.features.reduce((sum, f) => sum + pick(model.score({ ...f, country })), 0) / labelled.features.length;
    const churnOf = (country: string | null) => mean(country, (s) => s.churnProbability);
    expect(churnOf('Spain') - churnOf('Germany')).toBeGreaterThan(0.4);
    expect(churnOf('France')).toBeGreaterThan(churnOf('Germany') + 0.15);
    expect(churnOf('Spain')).toBeGreaterThan(churnOf('France') + 0.15);
    expect(mean('Germany', (s) => s.clv)).toBeGreaterThan(2 * mean('Spain', (s) => s.clv));
    // A country outside the vocabulary (or none) reads as all-zero columns.
    const f = labelled.features[40];
    expect(model.score({ ...f, country: 'Malta' })).toEqual(model.score({ ...f, country: null }));
    expect(model.score({ ...f, country: 'Spain' }).churnProbability).not.toBe(model.score({ ...f, country: 'Germany' }).churnProbability);
    for (const g of labelled.features.slice(0, 100)) expect(model.churnProbability(g)).toBe(model.score(g).churnProbability);
  });

  it('round-trips through JSON with identical scores, and training and scoring build the same rows', () => {
    const json = JSON.stringify(covariateArtifact);
    const loaded = HybridModel.load(JSON.parse(json));
    const trained = HybridModel.fromArtifact(covariateArtifact);
    expect(loaded.version).toBe(covariateArtifact.version);
    expect(loaded.toJSON()).toEqual(covariateArtifact);
    for (const f of labelled.features) expect(loaded.score(f)).toEqual(trained.score(f));

    const covariates = covariateArtifact.covariates;
    const matrix = hybridMatrix(labelled.features, trained.btydInputs, covariates);
    expect(matrix.nFeatures).toBe(HYBRID_FEATURE_COUNT + covariates.country.length);
    const row = new Float64Array(matrix.nFeatures);
    for (let i = 0; i < 200; i++) {
      hybridRow(labelled.features[i], trained.btydInputs, row, 0, 1, undefined, true, covariates);
      expect(Array.from(row)).toEqual(Array.from({ length: matrix.nFeatures }, (_, f) => matrix.values[f * matrix.nRows + i]));
    }
    const { states } = statesUpTo(events, parseIsoDay(CALIBRATION_END));
    const state = { ...[...states.values()][0], country: 'France' };
    const asOf = endOfDayMs(CALIBRATION_END);
    const live = hybridFeaturesOf(state, asOf, trained.btydInputs, covariates);
    hybridRow(featuresOf(state, asOf), trained.btydInputs, row, 0, 1, undefined, true, covariates);
    expect(Array.from(live)).toEqual(Array.from(row));
    expect(Array.from(live.slice(HYBRID_FEATURE_COUNT))).toEqual(covariates.country.map((c) => (c === 'France' ? 1 : 0)));
  });

  it('rejects an artifact whose covariates and feature list disagree', () => {
    const edited = structuredClone(covariateArtifact);
    edited.covariates.country = edited.covariates.country.slice(1);
    expect(() => HybridModel.load(edited)).toThrow(/features: must be the hybrid features/);
    const repeated = structuredClone(covariateArtifact);
    repeated.covariates.country[1] = repeated.covariates.country[0];
    expect(() => HybridModel.load(repeated)).toThrow(/covariates.country: must not repeat a country/);
  });

  it('without countries, the layout is exactly the covariate-free one, and old artifacts load as having none', () => {
    expect(artifact.covariates).toEqual({ country: [] });
    expect(artifact.features).toEqual([...HYBRID_FEATURE_NAMES]);
    const btyd = fitBtydInputs(features, 90).inputs;
    expect(hybridMatrix(features, btyd).nFeatures).toBe(HYBRID_FEATURE_COUNT);
    expect(hybridMatrix(features, btyd, covariateVocabulary(features)).nFeatures).toBe(HYBRID_FEATURE_COUNT);
    // An artifact written before covariates existed: no field, same version, same scores.
    const { covariates: _covariates, ...old } = structuredClone(artifact);
    const loaded = HybridModel.load(old);
    expect(loaded.version).toBe(artifact.version);
    expect(loaded.toJSON().covariates).toEqual({ country: [] });
    const model = HybridModel.fromArtifact(artifact);
    for (const f of features) expect(loaded.score(f)).toEqual(model.score(f));
    // A country on the features changes nothing for a model without covariates.
    for (const f of features.slice(0, 50)) expect(model.score({ ...f, country: 'Germany' })).toEqual(model.score(f));
  });

  it('keeps at most the most frequent countries, ties by name, each with enough customers', () => {
    const names = Array.from({ length: 11 }, (_, i) => `C${String(i).padStart(2, '0')}`);
    const many: CustomerFeatures[] = [];
    names.forEach((country, i) => {
      const count = i < 2 ? 60 : 50 + i * 3;
      for (let k = 0; k < count; k++) many.push({ ...features[0], country });
    });
    for (let k = 0; k < 49; k++) many.push({ ...features[0], country: 'Rare' });
    for (let k = 0; k < 500; k++) many.push({ ...features[0], country: null });
    const vocabulary = covariateVocabulary(many);
    expect(vocabulary.country).toHaveLength(COUNTRY_MAX_COLUMNS);
    expect(vocabulary.country).toEqual(['C10', 'C09', 'C08', 'C07', 'C06', 'C05', 'C04', 'C00']);
    expect(covariateVocabulary(many, 50, 20).country).not.toContain('Rare');
  });
});

describe('hybrid training pieces', () => {
  it('inner groups are balanced and independent of the outer fold rule (id mod 5)', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => String(i + 1));
    const groups = innerGroups(ids, 4, 42);
    const counts = [0, 0, 0, 0];
    const byFold = Array.from({ length: 5 }, () => [0, 0, 0, 0]);
    ids.forEach((id, i) => {
      counts[groups[i]]++;
      byFold[foldOf(id)][groups[i]]++;
    });
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(300);
    for (const fold of byFold) for (const c of fold) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(() => innerGroups(ids, 1, 42)).toThrow(/innerFolds/);
  });

  it('the fold rule is id mod 5 for integer ids of any length, a stable hash otherwise', () => {
    expect(foldOf('12')).toBe(2);
    expect(foldOf('123456789012345678901234567890')).toBe(0);
    expect(foldOf('U000017')).toBe(foldOf('U000017'));
    expect(foldOf('U000017')).toBeGreaterThanOrEqual(0);
    expect(foldOf('U000017')).toBeLessThan(5);
  });

  it('fitHybrid refuses mismatched inputs', () => {
    expect(() => fitHybrid({ customerIds: ['1'], features: [features[0]], churn: [1, 0], spend: [0] }, { horizonDays: 90, calibrationEnd: '2024-01-01', events: 1 })).toThrow(
      /same length/,
    );
  });
});

describe('linear models', () => {
  it('logistic regression recovers the direction and size of a known effect', () => {
    const random = new TreeRandom(3);
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const a = Math.exp(random.nextGaussian());
      const b = random.nextFloat() * 10;
      rows.push([a, b, 7]);
      // log-odds = 1.5·log(1 + a) − 1
      y.push(random.nextFloat() < 1 / (1 + Math.exp(-(1.5 * Math.log1p(a) - 1))) ? 1 : 0);
    }
    const model = fitLinear(matrixFromRows(rows), y, { family: 'logistic', l2: 0 });
    expect(model.weights[0] / model.std[0]).toBeCloseTo(1.5, 0);
    expect(Math.abs(model.weights[1])).toBeLessThan(0.15);
    expect(model.weights[2]).toBe(0);
    expect(linearRaw(model, [Math.E - 1, 5, 7])).toBeCloseTo(0.5, 0);
  });

  it('Tweedie regression recovers a log-linear mean, and converges from a poor start on low powers', () => {
    const random = new TreeRandom(4);
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const a = random.nextFloat() * 50;
      rows.push([a]);
      const mean = Math.exp(0.8 * Math.log1p(a));
      y.push(random.nextFloat() < 0.3 ? (mean / 0.3) * Math.exp(0.3 * random.nextGaussian() - 0.045) : 0);
    }
    for (const power of [1.2, 1.5, 1.9]) {
      const model = fitLinear(matrixFromRows(rows), y, { family: 'tweedie', power, l2: 0 });
      expect(Math.abs(model.weights[0] / model.std[0] - 0.8)).toBeLessThan(0.1);
    }
  });
});

describe('ForestScorer', () => {
  it('sums exactly what walking the trees sums, missing and infinite values included', () => {
    const random = new TreeRandom(9);
    const n = 3000;
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const row = [random.nextGaussian(), random.nextFloat() < 0.1 ? NaN : random.nextGaussian(), random.nextInt(5), random.nextGaussian()];
      rows.push(row);
      y.push(row[0] + (row[1] === row[1] ? row[1] : 2) * row[2] + random.nextGaussian());
    }
    const model = GradientBoosting.fit({ x: matrixFromRows(rows), y: Float64Array.from(y) }, { nEstimators: 40, maxLeaves: 31, minChildSamples: 5 });
    const trees = model.toJSON().trees;
    const scorer = new ForestScorer(trees, 4);
    const probes = [...rows.slice(0, 500), [NaN, NaN, NaN, NaN], [Infinity, -Infinity, 1e308, -1e308], [0, 0, 0, 0]];
    for (const row of probes) {
      expect(scorer.sum(row)).toBe(scorer.walkSum(row));
      expect(scorer.sum(row) + model.initScore).toBe(model.predictRaw(row));
    }
    expect(Array.from(scorer.usedFeatures)).toEqual([1, 1, 1, 1]);
    const halved = new ForestScorer(trees, 4, 0.5);
    expect(halved.sum(rows[0])).toBeCloseTo(scorer.sum(rows[0]) / 2, 12);
  });

  it('walks trees with more than 32 leaves', () => {
    const rows = Array.from({ length: 400 }, (_, i) => [i]);
    const model = GradientBoosting.fit({ x: matrixFromRows(rows), y: Float64Array.from(rows, ([v]) => Math.sin(v / 7)) }, { nEstimators: 3, maxLeaves: 64, minChildSamples: 2 });
    const trees = model.toJSON().trees;
    expect(Math.max(...trees.map((t) => t.leafValue.length))).toBeGreaterThan(32);
    const scorer = new ForestScorer(trees, 1);
    for (const row of rows) expect(scorer.sum(row)).toBe(scorer.walkSum(row));
  });
});
