/**
 * The seeded pseudo-random generators every part of the project draws from (Math.random cannot
 * be seeded): the same seed gives the same stream on every machine, which is what makes models,
 * samples and generated data reproducible bit for bit.
 */

/** splitmix32: spreads a small integer seed over 32-bit words; seeds the generators below. */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** from a given 128-bit state (not all zero: a fixed point), as unsigned 32-bit
 * integers. Callers seed the state through splitmix32, each in its own way.
 */
export function xoshiro128ss(s0: number, s1: number, s2: number, s3: number): () => number {
  let a = s0;
  let b = s1;
  let c = s2;
  let d = s3;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** mulberry32: a one-word generator of floats in [0, 1), for small samples and test data. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
