import { kmeans } from 'ml-kmeans';
import { z } from 'zod';
import { mulberry32 } from '../numeric/pseudoRandom.ts';

/**
 * RFM customer segmentation: recency (days), frequency (distinct orders) and monetary value per
 * customer → log1p → z-scores → K-Means (ml-kmeans, k-means++, seeded, several restarts keeping
 * the lowest inertia). Segments are named from their centroids' standardised R/F/M profile.
 */

export interface CustomerRfm {
  customerId: string;
  recencyDays: number;
  frequency: number;
  monetary: number;
}

/** The part of a clean line RFM reads (CleanLine fits). */
export interface RfmLine {
  customerId: string | null;
  invoice: string;
  day: number;
  revenue: number;
}

export interface SegmentationOptions {
  k: number;
  seed: number;
  restarts: number;
  maxIterations: number;
  /** Above this many customers the silhouette is computed on a seeded sample of this size. */
  silhouetteSampleSize: number;
}

export const DEFAULT_SEGMENTATION_OPTIONS: SegmentationOptions = {
  k: 5,
  seed: 42,
  restarts: 10,
  maxIterations: 300,
  silhouetteSampleSize: 5000,
};

export const K_MIN = 2;
export const K_MAX = 12;

/**
 * Name prototypes in (r, f, m) z-space, where r = −z(recency) so that higher is more recent.
 * There are K_MAX of them so every k gets unique names.
 */
const SEGMENT_PROTOTYPES: ReadonlyArray<{ name: string; r: number; f: number; m: number }> = [
  { name: 'Champions', r: 1.0, f: 1.5, m: 1.5 },
  { name: 'Loyal', r: 0.5, f: 1.0, m: 1.0 },
  { name: 'Potential loyalists', r: 0.8, f: 0.2, m: 0.2 },
  { name: 'New', r: 1.0, f: -1.0, m: -1.0 },
  { name: 'Promising', r: 0.5, f: -0.5, m: -0.5 },
  { name: 'Need attention', r: 0, f: 0, m: 0 },
  { name: 'Big spenders', r: 0, f: -0.3, m: 1.2 },
  { name: 'About to sleep', r: -0.5, f: -0.5, m: -0.5 },
  { name: 'At risk', r: -0.8, f: 0.6, m: 0.6 },
  { name: "Can't lose them", r: -1.2, f: 1.4, m: 1.4 },
  { name: 'Hibernating', r: -1.0, f: -0.7, m: -0.7 },
  { name: 'Lost', r: -1.6, f: -1.2, m: -1.2 },
];

const Vector3 = z.tuple([z.number(), z.number(), z.number()]);

const SegmentModelSchema = z.object({
  kind: z.literal('rfm-kmeans'),
  version: z.literal(1),
  k: z.number().int().min(K_MIN).max(K_MAX),
  seed: z.number().int(),
  /** Mean and population standard deviation of log1p(recency, frequency, monetary). */
  mean: Vector3,
  std: Vector3,
  /** Centroids in z-space (recency, frequency, monetary). */
  centroids: z.array(Vector3),
  names: z.array(z.string()),
  inertia: z.number().nonnegative(),
});
export type SegmentModel = z.infer<typeof SegmentModelSchema>;

export interface SegmentSummary {
  segment: number;
  name: string;
  size: number;
  share: number;
  /** Means in original units. */
  means: { recencyDays: number; frequency: number; monetary: number };
  /** Centroid in z-space (log1p then standardised); recency: higher = longer ago. */
  centroid: { recency: number; frequency: number; monetary: number };
}

export interface Silhouette {
  value: number;
  /** true when computed on a seeded sample of customers rather than all of them. */
  sampled: boolean;
  sampleSize: number;
}

export interface Segmentation {
  model: SegmentModel;
  /** Segment index of each input customer, in input order. */
  assignments: Int32Array;
  segments: SegmentSummary[];
  silhouette: Silhouette;
}

/** RFM as of `asOfDay` (default: the last day seen) from clean lines with a customer. */
export function computeRfm(lines: readonly RfmLine[], asOfDay?: number): CustomerRfm[] {
  const last = new Map<string, number>();
  const invoices = new Map<string, Set<string>>();
  const money = new Map<string, number>();
  let maxDay = -Infinity;
  for (const line of lines) {
    if (line.customerId === null || (asOfDay !== undefined && line.day > asOfDay)) continue;
    const id = line.customerId;
    last.set(id, Math.max(last.get(id) ?? -Infinity, line.day));
    if (!invoices.has(id)) invoices.set(id, new Set());
    invoices.get(id)!.add(line.invoice);
    money.set(id, (money.get(id) ?? 0) + line.revenue);
    if (line.day > maxDay) maxDay = line.day;
  }
  const reference = asOfDay ?? maxDay;
  return [...last.keys()].sort().map((customerId) => ({
    customerId,
    recencyDays: reference - last.get(customerId)!,
    frequency: invoices.get(customerId)!.size,
    monetary: money.get(customerId)!,
  }));
}

function logRfm(rfm: CustomerRfm): [number, number, number] {
  // Monetary can be slightly negative in other datasets (returns): log1p needs > −1.
  return [Math.log1p(Math.max(0, rfm.recencyDays)), Math.log1p(Math.max(0, rfm.frequency)), Math.log1p(Math.max(0, rfm.monetary))];
}

function scaler(rows: readonly [number, number, number][]): { mean: [number, number, number]; std: [number, number, number] } {
  const mean: [number, number, number] = [0, 0, 0];
  const std: [number, number, number] = [0, 0, 0];
  for (const row of rows) for (let j = 0; j < 3; j++) mean[j] += row[j] / rows.length;
  for (const row of rows) for (let j = 0; j < 3; j++) std[j] += (row[j] - mean[j]) ** 2 / rows.length;
  // A constant column carries no information: scale 1 keeps it at 0 instead of dividing by 0.
  for (let j = 0; j < 3; j++) std[j] = Math.sqrt(std[j]) || 1;
  return { mean, std };
}

function standardise(row: [number, number, number], model: Pick<SegmentModel, 'mean' | 'std'>): number[] {
  return row.map((value, j) => (value - model.mean[j]) / model.std[j]);
}

export function fitSegments(customers: readonly CustomerRfm[], options: Partial<SegmentationOptions> = {}): Segmentation {
  const opts = { ...DEFAULT_SEGMENTATION_OPTIONS, ...options };
  validate(customers.length, opts);
  const logs = customers.map(logRfm);
  const { mean, std } = scaler(logs);
  const points = logs.map((row) => standardise(row, { mean, std }));
  const best = bestOfRestarts(points, opts);
  const centroids = best.centroids.map((c) => [c[0], c[1], c[2]] as [number, number, number]);
  const model: SegmentModel = {
    kind: 'rfm-kmeans',
    version: 1,
    k: opts.k,
    seed: opts.seed,
    mean,
    std,
    centroids,
    names: nameSegments(centroids),
    inertia: best.inertia,
  };
  const assignments = Int32Array.from(best.clusters);
  return {
    model,
    assignments,
    segments: summarise(customers, assignments, model),
    silhouette: silhouette(points, assignments, opts),
  };
}

function validate(n: number, opts: SegmentationOptions): void {
  if (!Number.isInteger(opts.k) || opts.k < K_MIN || opts.k > K_MAX) {
    throw new RangeError(`n_clusters must be an integer in ${K_MIN}..${K_MAX}, got ${opts.k}`);
  }
  if (n < opts.k) throw new RangeError(`${n} customers cannot form ${opts.k} segments`);
  if (!Number.isInteger(opts.restarts) || opts.restarts < 1) throw new RangeError(`restarts must be >= 1, got ${opts.restarts}`);
}

function bestOfRestarts(points: number[][], opts: SegmentationOptions): { clusters: number[]; centroids: number[][]; inertia: number } {
  let best: { clusters: number[]; centroids: number[][]; inertia: number } | undefined;
  for (let r = 0; r < opts.restarts; r++) {
    const result = kmeans(points, opts.k, {
      initialization: 'kmeans++',
      seed: opts.seed + r,
      maxIterations: opts.maxIterations,
    });
    // The last step's centroids are the means of its clusters; reassigning to them can only lower inertia.
    const clusters = nearestCentroids(points, result.centroids);
    const inertia = inertiaOf(points, clusters, result.centroids);
    if (!best || inertia < best.inertia) best = { clusters, centroids: result.centroids, inertia };
  }
  return best!;
}

function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += (a[j] - b[j]) ** 2;
  return sum;
}

function nearestCentroid(point: ArrayLike<number>, centroids: readonly ArrayLike<number>[]): number {
  let best = 0;
  let bestDistance = Infinity;
  centroids.forEach((centroid, c) => {
    const distance = squaredDistance(point, centroid);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = c;
    }
  });
  return best;
}

function nearestCentroids(points: number[][], centroids: number[][]): number[] {
  return points.map((point) => nearestCentroid(point, centroids));
}

function inertiaOf(points: number[][], clusters: number[], centroids: number[][]): number {
  return points.reduce((sum, point, i) => sum + squaredDistance(point, centroids[clusters[i]]), 0);
}

/**
 * Unique names, deterministically: repeatedly give the globally closest (centroid, prototype) pair
 * its name, ties by centroid then prototype order.
 */
export function nameSegments(centroids: readonly [number, number, number][]): string[] {
  const pairs: Array<{ c: number; p: number; distance: number }> = [];
  centroids.forEach(([recency, frequency, monetary], c) => {
    SEGMENT_PROTOTYPES.forEach((proto, p) => {
      pairs.push({ c, p, distance: (-recency - proto.r) ** 2 + (frequency - proto.f) ** 2 + (monetary - proto.m) ** 2 });
    });
  });
  pairs.sort((a, b) => a.distance - b.distance || a.c - b.c || a.p - b.p);
  const names: string[] = new Array(centroids.length);
  const used = new Set<number>();
  for (const { c, p } of pairs) {
    if (names[c] !== undefined || used.has(p)) continue;
    names[c] = SEGMENT_PROTOTYPES[p].name;
    used.add(p);
  }
  return names;
}

function summarise(customers: readonly CustomerRfm[], assignments: Int32Array, model: SegmentModel): SegmentSummary[] {
  return model.centroids.map(([recency, frequency, monetary], segment) => {
    let size = 0;
    const sums = { recencyDays: 0, frequency: 0, monetary: 0 };
    customers.forEach((customer, i) => {
      if (assignments[i] !== segment) return;
      size++;
      sums.recencyDays += customer.recencyDays;
      sums.frequency += customer.frequency;
      sums.monetary += customer.monetary;
    });
    const mean = (total: number) => (size > 0 ? total / size : 0);
    return {
      segment,
      name: model.names[segment],
      size,
      share: size / customers.length,
      means: { recencyDays: mean(sums.recencyDays), frequency: mean(sums.frequency), monetary: mean(sums.monetary) },
      centroid: { recency, frequency, monetary },
    };
  });
}

/** Segment of a customer the model has not seen, from the saved scaler and centroids. */
export function assignSegment(model: SegmentModel, rfm: Omit<CustomerRfm, 'customerId'> & { customerId?: string }): {
  segment: number;
  name: string;
} {
  const point = standardise(logRfm({ customerId: rfm.customerId ?? '', ...rfm }), model);
  const segment = nearestCentroid(point, model.centroids);
  return { segment, name: model.names[segment] };
}

export function loadSegmentModel(json: unknown): SegmentModel {
  const model = SegmentModelSchema.parse(json);
  if (model.centroids.length !== model.k || model.names.length !== model.k) {
    throw new Error(`segment model: expected ${model.k} centroids and names, got ${model.centroids.length} and ${model.names.length}`);
  }
  return model;
}

/**
 * Mean silhouette (Euclidean, in z-space), exact over all points up to `silhouetteSampleSize`;
 * beyond that, exact for a seeded random sample of that many points (distances to all points).
 */
export function silhouette(points: readonly ArrayLike<number>[], labels: Int32Array, opts: Pick<SegmentationOptions, 'seed' | 'silhouetteSampleSize'>): Silhouette {
  const n = points.length;
  // A loop, not Math.max(...labels): spreading a few hundred thousand labels overflows the stack.
  let k = 0;
  for (let i = 0; i < n; i++) if (labels[i] + 1 > k) k = labels[i] + 1;
  if (k < 2) return { value: 0, sampled: false, sampleSize: n };
  const sampled = n > opts.silhouetteSampleSize;
  const subjects = sampled ? sampleIndices(n, opts.silhouetteSampleSize, opts.seed) : Array.from({ length: n }, (_, i) => i);
  const sizes = new Int32Array(k);
  for (const label of labels) sizes[label]++;
  const flat = flatten(points);
  const dim = points[0].length;
  const sums = sampled ? subjectDistanceSums(flat, dim, labels, k, subjects) : allDistanceSums(flat, dim, labels, k);
  let total = 0;
  subjects.forEach((i, row) => {
    total += pointSilhouette(labels[i], sums.subarray(row * k, row * k + k), sizes);
  });
  return { value: total / subjects.length, sampled, sampleSize: subjects.length };
}

/** Row i: sum of distances from point i to the points of each cluster; each pair computed once. */
function allDistanceSums(flat: Float64Array, dim: number, labels: Int32Array, k: number): Float64Array {
  const n = labels.length;
  const sums = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const distance = euclidean(flat, i * dim, j * dim, dim);
      sums[i * k + labels[j]] += distance;
      sums[j * k + labels[i]] += distance;
    }
  }
  return sums;
}

function subjectDistanceSums(flat: Float64Array, dim: number, labels: Int32Array, k: number, subjects: readonly number[]): Float64Array {
  const sums = new Float64Array(subjects.length * k);
  subjects.forEach((i, row) => {
    for (let j = 0; j < labels.length; j++) if (j !== i) sums[row * k + labels[j]] += euclidean(flat, i * dim, j * dim, dim);
  });
  return sums;
}

function euclidean(flat: Float64Array, a: number, b: number, dim: number): number {
  let squared = 0;
  for (let d = 0; d < dim; d++) {
    const diff = flat[a + d] - flat[b + d];
    squared += diff * diff;
  }
  return Math.sqrt(squared);
}

function flatten(points: readonly ArrayLike<number>[]): Float64Array {
  const dim = points[0].length;
  const flat = new Float64Array(points.length * dim);
  points.forEach((point, i) => {
    for (let j = 0; j < dim; j++) flat[i * dim + j] = point[j];
  });
  return flat;
}

/** s(i) = (b − a) / max(a, b) from i's distance sums per cluster; 0 for a point alone in its cluster (scikit-learn's convention). */
function pointSilhouette(own: number, sums: Float64Array, sizes: Int32Array): number {
  if (sizes[own] <= 1) return 0;
  const a = sums[own] / (sizes[own] - 1);
  let b = Infinity;
  for (let c = 0; c < sizes.length; c++) if (c !== own && sizes[c] > 0) b = Math.min(b, sums[c] / sizes[c]);
  if (!Number.isFinite(b)) return 0;
  const denominator = Math.max(a, b);
  return denominator > 0 ? (b - a) / denominator : 0;
}

/** Seeded sample without replacement (partial Fisher–Yates on mulberry32), in ascending order. */
export function sampleIndices(n: number, size: number, seed: number): number[] {
  const random = mulberry32(seed);
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (n - i));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, size).sort((a, b) => a - b);
}
