import type { FeatureMatrix } from '../models/trees/featureMatrix.ts';
import { TreeRandom } from '../models/trees/treeRandom.ts';

/**
 * Seeded synthetic training rows shaped like customer features: features cycle through a
 * normal score, a log-normal spend (2% missing), a geometric count and a uniform day count.
 * The target depends non-linearly on the first six features; the rest are noise, so a
 * learner has to find the signal among decoys.
 */
export interface SyntheticRowsOptions {
  rows: number;
  features: number;
  seed: number;
  target: 'logistic' | 'regression';
}

export function syntheticRows({ rows: n, features: nf, seed, target }: SyntheticRowsOptions): { x: FeatureMatrix; y: Float64Array } {
  const random = new TreeRandom(seed);
  const values = new Float64Array(n * nf);
  const y = new Float64Array(n);
  const row = new Float64Array(nf);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < nf; f++) row[f] = values[f * n + r] = draw(random, f % 4);
    const s = signal(row);
    y[r] = target === 'logistic' ? (random.nextFloat() < 1 / (1 + Math.exp(-s)) ? 1 : 0) : s + random.nextGaussian();
  }
  return { x: { values, nRows: n, nFeatures: nf, layout: 'column-major' }, y };
}

function draw(random: TreeRandom, kind: number): number {
  switch (kind) {
    case 0:
      return random.nextGaussian();
    case 1:
      return random.nextFloat() < 0.02 ? NaN : Math.exp(3 + random.nextGaussian());
    case 2:
      return Math.floor(Math.log(1 - random.nextFloat()) / Math.log(0.7));
    default:
      return Math.floor(random.nextFloat() * 273);
  }
}

/** Log-odds (or mean) of a row: monotone, saturating, periodic and interaction terms. */
function signal(row: Float64Array): number {
  const at = (f: number) => (f < row.length ? row[f] : 0);
  const spend = at(1) === at(1) ? Math.log1p(at(1)) : 2.5;
  return (
    0.8 * at(0) +
    0.4 * (spend - 3) -
    0.5 * Math.log1p(at(2)) +
    0.006 * (at(3) - 136) +
    0.5 * Math.sin(2 * at(4)) +
    0.3 * at(0) * (at(5) > 20 ? 1 : -1)
  );
}
