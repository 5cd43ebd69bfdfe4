import { splitmix32, xoshiro128ss } from '../numeric/pseudoRandom.ts';

/**
 * Seeded pseudo-random numbers for the tree learners: xoshiro128** seeded through splitmix32,
 * with the last state word forced odd. Every random choice in training (bin sample, validation
 * split, bagging, feature subsets) draws from one of these, so a seed fixes the model bit for bit.
 * (producers/distributionSampler.ts seeds the same generator its own way, so its stream for a
 * seed can differ, and adds the distributions the synthetic generator draws from.)
 */
export class TreeRandom {
  private readonly next: () => number;

  constructor(seed = 42) {
    // splitmix32 spreads a small integer seed over the whole 128-bit state, never all zero.
    const init = splitmix32(seed);
    const s0 = init();
    const s1 = init();
    const s2 = init();
    this.next = xoshiro128ss(s0, s1, s2, init() | 1);
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    return this.next();
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Standard normal (Box–Muller), for synthetic data. */
  nextGaussian(): number {
    const u = 1 - this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * k distinct values of [0, n), ascending (selection sampling, Knuth's algorithm S):
   * ascending row indices keep the histogram passes cache-friendly.
   */
  sampleSorted(n: number, k: number): Uint32Array {
    const out = new Uint32Array(Math.min(k, n));
    let needed = out.length;
    for (let i = 0, j = 0; i < n && needed > 0; i++) {
      if (this.nextFloat() * (n - i) < needed) {
        out[j++] = i;
        needed--;
      }
    }
    return out;
  }

  /** Draws m times from [0, n) with replacement and returns how often each was drawn. */
  bootstrapCounts(n: number, m: number): Uint32Array {
    const counts = new Uint32Array(n);
    for (let i = 0; i < m; i++) counts[this.nextInt(n)]++;
    return counts;
  }
}
