import { splitmix32, xoshiro128ss } from '../models/numeric/pseudoRandom.ts';

/**
 * A seeded sampler of the distributions the synthetic generator (and the BTYD tests'
 * simulations) draw from: uniform, normal, exponential, gamma, beta, Poisson, over xoshiro128**
 * seeded through splitmix32 (models/trees/treeRandom.ts seeds the same generator its own way).
 * Math.random cannot be seeded; this gives the same stream for the same seed on every machine,
 * which is what makes generated data byte-identical.
 */
export interface DistributionSampler {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  normal(): number;
  exponential(rate: number): number;
  /** Gamma with the given shape and scale (mean shape·scale). */
  gamma(shape: number, scale: number): number;
  beta(a: number, b: number): number;
  poisson(mean: number): number;
}

export function createDistributionSampler(seed: number): DistributionSampler {
  const next = uniform(seed);
  const random: DistributionSampler = {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => normal(next),
    exponential: (rate) => -Math.log(1 - next()) / rate,
    gamma: (shape, scale) => gamma(random, shape) * scale,
    beta: (a, b) => {
      const x = gamma(random, a);
      return x / (x + gamma(random, b));
    },
    poisson: (mean) => poisson(random, mean),
  };
  return random;
}

function uniform(seed: number): () => number {
  const init = splitmix32(seed);
  let a = init();
  const b = init();
  const c = init();
  const d = init();
  // The all-zero state is a fixed point; splitmix32 makes it practically impossible, but be sure.
  if ((a | b | c | d) === 0) a = 1;
  const next = xoshiro128ss(a, b, c, d);
  return () => next() / 4294967296;
}

/** Box-Muller, one value per call: simpler than caching the pair, and fast enough here. */
function normal(next: () => number): number {
  const u = 1 - next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/** Marsaglia & Tsang (2000); shape < 1 is boosted to shape + 1 and scaled back by U^(1/shape). */
function gamma(random: DistributionSampler, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape must be positive, got ${shape}`);
  if (shape < 1) return gamma(random, shape + 1) * Math.pow(1 - random.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = random.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random.next();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Knuth's product method for small means; a rounded normal beyond 30, where it is accurate enough for synthetic data. */
function poisson(random: DistributionSampler, mean: number): number {
  if (!(mean >= 0)) throw new RangeError(`poisson mean must be non-negative, got ${mean}`);
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.normal()));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random.next(); p > limit; p *= random.next()) k++;
  return k;
}
