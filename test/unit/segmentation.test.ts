import { describe, expect, it } from 'vitest';
import {
  assignSegment,
  computeRfm,
  fitSegments,
  K_MAX,
  K_MIN,
  loadSegmentModel,
  nameSegments,
  silhouette,
  type CustomerRfm,
} from '../../models/segmentation/segmentation.ts';
import { mulberry32 } from '../../models/numeric/pseudoRandom.ts';

/** Three well-separated customer groups (in log space), `perGroup` each, with ±10% noise. */
function threeGroups(perGroup: number, seed: number): { customers: CustomerRfm[]; truth: number[] } {
  const random = mulberry32(seed);
  const centres = [
    { recencyDays: 2, frequency: 30, monetary: 20_000 },
    { recencyDays: 300, frequency: 1, monetary: 50 },
    { recencyDays: 40, frequency: 5, monetary: 1_000 },
  ];
  const customers: CustomerRfm[] = [];
  const truth: number[] = [];
  const jitter = (value: number) => value * (0.9 + 0.2 * random());
  centres.forEach((centre, group) => {
    for (let i = 0; i < perGroup; i++) {
      customers.push({
        customerId: `c${group}-${i}`,
        recencyDays: Math.round(jitter(centre.recencyDays)),
        frequency: Math.max(1, Math.round(jitter(centre.frequency))),
        monetary: jitter(centre.monetary),
      });
      truth.push(group);
    }
  });
  return { customers, truth };
}

function randomCustomers(n: number, seed: number): CustomerRfm[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => ({
    customerId: `r${i}`,
    recencyDays: Math.floor(365 * random()),
    frequency: 1 + Math.floor(Math.exp(4 * random())),
    monetary: Math.exp(3 + 7 * random()),
  }));
}

/** Straightforward silhouette: mean over points of (b − a) / max(a, b), singletons 0. */
function bruteForceSilhouette(points: number[][], labels: ArrayLike<number>): number {
  const distance = (p: number[], q: number[]) => Math.hypot(...p.map((v, j) => v - q[j]));
  const clusters = [...new Set(Array.from(labels))];
  let total = 0;
  points.forEach((p, i) => {
    const own = points.filter((_, j) => j !== i && labels[j] === labels[i]);
    if (own.length === 0) return;
    const a = own.reduce((s, q) => s + distance(p, q), 0) / own.length;
    const b = Math.min(
      ...clusters
        .filter((c) => c !== labels[i])
        .map((c) => {
          const other = points.filter((_, j) => labels[j] === c);
          return other.reduce((s, q) => s + distance(p, q), 0) / other.length;
        }),
    );
    total += (b - a) / Math.max(a, b);
  });
  return total / points.length;
}

describe('fitSegments', () => {
  it('recovers well-separated clusters and names them by their RFM profile', () => {
    const { customers, truth } = threeGroups(60, 1);
    const result = fitSegments(customers, { k: 3 });
    for (let group = 0; group < 3; group++) {
      const labels = new Set(truth.flatMap((g, i) => (g === group ? [result.assignments[i]] : [])));
      expect(labels.size).toBe(1);
    }
    expect(new Set(result.assignments).size).toBe(3);
    const nameOf = (group: number) => result.model.names[result.assignments[truth.indexOf(group)]];
    expect(nameOf(0)).toBe('Champions');
    expect(['Lost', 'Hibernating']).toContain(nameOf(1));
    expect(result.silhouette.value).toBeGreaterThan(0.8);
    const champions = result.segments.find((segment) => segment.name === 'Champions')!;
    expect(champions.size).toBe(60);
    expect(champions.share).toBeCloseTo(1 / 3, 12);
    expect(champions.means.frequency).toBeGreaterThan(25);
    expect(champions.means.monetary).toBeGreaterThan(15_000);
  });

  it('is deterministic for a seed', () => {
    const customers = randomCustomers(300, 2);
    const a = fitSegments(customers, { k: 5, seed: 7 });
    const b = fitSegments(customers, { k: 5, seed: 7 });
    expect(b.model).toEqual(a.model);
    expect(Array.from(b.assignments)).toEqual(Array.from(a.assignments));
  });

  it('keeps the restart with the lowest inertia', () => {
    const customers = randomCustomers(300, 3);
    const many = fitSegments(customers, { k: 6, restarts: 10 }).model.inertia;
    for (let seed = 42; seed < 52; seed++) {
      expect(many).toBeLessThanOrEqual(fitSegments(customers, { k: 6, restarts: 1, seed }).model.inertia + 1e-9);
    }
  });

  it('gives unique names for every k from 2 to 12', () => {
    const customers = randomCustomers(400, 4);
    for (let k = K_MIN; k <= K_MAX; k++) {
      const names = fitSegments(customers, { k, restarts: 2 }).model.names;
      expect(names).toHaveLength(k);
      expect(new Set(names).size).toBe(k);
    }
    expect(nameSegments([[0, 0, 0], [0, 0, 0]])).toEqual(['Need attention', 'Potential loyalists']);
  });

  it('computes the exact silhouette, matching a brute-force computation', () => {
    const customers = randomCustomers(60, 5);
    const result = fitSegments(customers, { k: 4 });
    const points = customers.map((c) =>
      [c.recencyDays, c.frequency, c.monetary].map((v, j) => (Math.log1p(v) - result.model.mean[j]) / result.model.std[j]),
    );
    expect(result.silhouette).toMatchObject({ sampled: false, sampleSize: 60 });
    expect(result.silhouette.value).toBeCloseTo(bruteForceSilhouette(points, result.assignments), 12);
  });

  it('samples the silhouette (seeded) above the sample size and says so', () => {
    const random = mulberry32(6);
    const points = Array.from({ length: 200 }, () => [random(), random()]);
    const labels = Int32Array.from(points, ([x]) => (x < 0.5 ? 0 : 1));
    const exact = silhouette(points, labels, { seed: 1, silhouetteSampleSize: 1000 });
    const sampled = silhouette(points, labels, { seed: 1, silhouetteSampleSize: 50 });
    expect(exact).toMatchObject({ sampled: false, sampleSize: 200 });
    expect(exact.value).toBeCloseTo(bruteForceSilhouette(points, labels), 12);
    expect(sampled).toMatchObject({ sampled: true, sampleSize: 50 });
    expect(silhouette(points, labels, { seed: 1, silhouetteSampleSize: 50 })).toEqual(sampled);
    expect(Math.abs(sampled.value - exact.value)).toBeLessThan(0.1);
  });

  it('takes a sampled silhouette over hundreds of thousands of customers (no argument spread of every label)', () => {
    const random = mulberry32(9);
    const n = 300_000;
    const points = Array.from({ length: n }, () => [random(), random()]);
    const labels = Int32Array.from(points, ([x]) => (x < 0.5 ? 0 : 1));
    const sampled = silhouette(points, labels, { seed: 1, silhouetteSampleSize: 20 });
    expect(sampled).toMatchObject({ sampled: true, sampleSize: 20 });
    expect(sampled.value).toBeGreaterThan(0);
  });

  it('rejects n_clusters outside 2..12', () => {
    const customers = randomCustomers(50, 7);
    for (const k of [1, 13, 2.5]) expect(() => fitSegments(customers, { k })).toThrow(/n_clusters/);
  });
});

describe('saved segment models', () => {
  it('assigns new customers with the saved centroids and survives a JSON round trip', () => {
    const { customers } = threeGroups(40, 8);
    const result = fitSegments(customers, { k: 3 });
    const loaded = loadSegmentModel(JSON.parse(JSON.stringify(result.model)));
    customers.forEach((customer, i) => expect(assignSegment(loaded, customer).segment).toBe(result.assignments[i]));
    const newcomer = assignSegment(loaded, { recencyDays: 1, frequency: 35, monetary: 25_000 });
    expect(newcomer.name).toBe('Champions');
    expect(() => loadSegmentModel({ ...result.model, names: ['only one'] })).toThrow();
  });
});

describe('computeRfm', () => {
  it('counts distinct invoices, sums revenue and measures recency from the last day', () => {
    const lines = [
      { customerId: 'a', invoice: '1', day: 100, revenue: 10 },
      { customerId: 'a', invoice: '1', day: 100, revenue: 5 },
      { customerId: 'a', invoice: '2', day: 110, revenue: 20 },
      { customerId: 'b', invoice: '3', day: 120, revenue: 7 },
      { customerId: null, invoice: '4', day: 130, revenue: 99 },
    ];
    expect(computeRfm(lines)).toEqual([
      { customerId: 'a', recencyDays: 10, frequency: 2, monetary: 35 },
      { customerId: 'b', recencyDays: 0, frequency: 1, monetary: 7 },
    ]);
    expect(computeRfm(lines, 115)).toEqual([{ customerId: 'a', recencyDays: 5, frequency: 2, monetary: 35 }]);
  });
});
