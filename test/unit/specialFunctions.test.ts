import { describe, expect, it } from 'vitest';
import { gammaSign, hypergeometric2F1, hypergeometricSeries, lnAbsGamma, lnBeta, lnGamma } from '../../models/numeric/specialFunctions.ts';

const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

/** ln((n−1)!) by summing logs: independent of any gamma approximation. */
function lnFactorialOf(n: number): number {
  let sum = 0;
  for (let k = 2; k <= n; k++) sum += Math.log(k);
  return sum;
}

/**
 * ∫_0^1 f(t) dt by tanh-sinh quadrature, t = σ(π sinh u): endpoint singularities of the
 * integrand are damped double-exponentially, so t^(b−1) with b < 1 is no trouble.
 */
function tanhSinh(f: (t: number, oneMinusT: number) => number, step = 1 / 64, limit = 6): number {
  let sum = 0;
  for (let u = -limit; u <= limit + 1e-12; u += step) {
    const s = Math.PI * Math.sinh(u);
    const t = 1 / (1 + Math.exp(-s));
    const oneMinusT = 1 / (1 + Math.exp(s));
    if (t === 0 || oneMinusT === 0) continue;
    sum += f(t, oneMinusT) * t * oneMinusT * Math.PI * Math.cosh(u);
  }
  return sum * step;
}

/** Euler's integral: 2F1(a,b;c;z) = Γ(c)/(Γ(b)Γ(c−b)) ∫ t^(b−1) (1−t)^(c−b−1) (1−zt)^(−a) dt, c > b > 0. */
function eulerIntegral(a: number, b: number, c: number, z: number): number {
  const integral = tanhSinh((t, oneMinusT) => Math.exp((b - 1) * Math.log(t) + (c - b - 1) * Math.log(oneMinusT) - a * Math.log1p(-z * t)));
  return integral / Math.exp(lnBeta(b, c - b));
}

describe('lnGamma', () => {
  it('matches ln((n−1)!) at the integers up to 170', () => {
    for (let n = 1; n <= 170; n++) {
      const expected = lnFactorialOf(n - 1);
      expect(Math.abs(lnGamma(n) - expected)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(expected)));
    }
  });

  it('matches Γ(n + 1/2) = (2n)! √π / (4^n n!) at the half-integers', () => {
    for (let n = 0; n <= 60; n++) {
      const expected = lnFactorialOf(2 * n) + 0.5 * Math.log(Math.PI) - n * Math.log(4) - lnFactorialOf(n);
      expect(Math.abs(lnGamma(n + 0.5) - expected)).toBeLessThanOrEqual(2e-14 * Math.max(1, Math.abs(expected)));
    }
  });

  it('satisfies ln Γ(x+1) − ln Γ(x) = ln x across the reflection boundary and beyond', () => {
    for (let x = 0.013; x < 200; x *= 1.37) {
      expect(Math.abs(lnGamma(x + 1) - lnGamma(x) - Math.log(x))).toBeLessThanOrEqual(3e-14 * Math.max(1, Math.abs(lnGamma(x))));
    }
  });

  it('matches mpmath.loggamma at non-trivial points', () => {
    // Reference values computed with mpmath 1.3 (mp.dps = 30).
    const reference: [number, number][] = [
      [1e-8, 18.420680738180208905],
      [0.243, 1.3180435846996698495],
      [0.793, 0.15887133028636520012],
      [4.414, 2.3352200522018909703],
      [1000000.5, 12815511.476902765642],
      [1e10, 220258509288.81058147],
    ];
    for (const [x, expected] of reference) expect(relativeError(lnGamma(x), expected)).toBeLessThan(1e-14);
  });

  it('follows the reflection formula on the negative axis, with the sign of Γ', () => {
    expect(relativeError(lnAbsGamma(-0.5), Math.log(2 * Math.sqrt(Math.PI)))).toBeLessThan(1e-14);
    expect(gammaSign(-0.5)).toBe(-1);
    expect(relativeError(lnAbsGamma(-1.5), Math.log((4 * Math.sqrt(Math.PI)) / 3))).toBeLessThan(1e-14);
    expect(gammaSign(-1.5)).toBe(1);
    expect(gammaSign(-2)).toBe(0);
    expect(lnAbsGamma(-2)).toBe(Infinity);
    for (const x of [0.1, 0.37, 0.5, 0.83]) {
      const product = lnAbsGamma(x) + lnAbsGamma(1 - x);
      expect(Math.abs(product - Math.log(Math.PI / Math.sin(Math.PI * x)))).toBeLessThan(1e-14);
    }
  });

  it('is +Infinity at 0 and NaN below', () => {
    expect(lnGamma(0)).toBe(Infinity);
    expect(lnGamma(-1)).toBeNaN();
  });
});

describe('lnBeta', () => {
  it('is symmetric and matches closed forms', () => {
    expect(relativeError(lnBeta(0.5, 0.5), Math.log(Math.PI))).toBeLessThan(1e-14);
    for (const b of [0.3, 1, 2.426, 17]) expect(Math.abs(lnBeta(1, b) + Math.log(b))).toBeLessThan(1e-14);
    expect(lnBeta(0.793, 2.426)).toBe(lnBeta(2.426, 0.793));
    // B(a, b) = B(a + 1, b) (a + b) / a
    const [a, b] = [0.793, 4.426];
    expect(Math.abs(lnBeta(a, b) - (lnBeta(a + 1, b) + Math.log((a + b) / a)))).toBeLessThan(1e-14);
  });
});

describe('hypergeometric2F1', () => {
  const zs = [0, 0.01, 0.3, 0.6, 0.79, 0.81, 0.9, 0.97, 0.995];

  it('matches elementary closed forms on every branch (series, Euler transform, connection formula)', () => {
    for (const z of zs) {
      // c − a − b = 0: series; c − a − b < 0: Euler; c − a − b = 1/2: connection formula above 0.8.
      expect(relativeError(hypergeometric2F1(1, 1, 2, z), z === 0 ? 1 : -Math.log1p(-z) / z)).toBeLessThan(1e-13);
      expect(relativeError(hypergeometric2F1(2.3, 0.7, 0.7, z), Math.pow(1 - z, -2.3))).toBeLessThan(1e-13);
      const s = Math.sqrt(z);
      expect(relativeError(hypergeometric2F1(0.5, 0.5, 1.5, z), z === 0 ? 1 : Math.asin(s) / s)).toBeLessThan(1e-13);
      expect(relativeError(hypergeometric2F1(0.5, 1, 1.5, z), z === 0 ? 1 : Math.atanh(s) / s)).toBeLessThan(1e-13);
    }
  });

  it('matches Euler\'s integral for the parameters BG/NBD uses', () => {
    const [r, a, b] = [0.243, 0.793, 2.426];
    for (const x of [0, 1, 3, 12]) {
      for (const z of [0.2, 0.5, 0.85, 0.95]) {
        // 2F1(r+x, b+x; a+b+x−1; z), with the roles swapped so the integral's "b" = r + x < c.
        const expected = eulerIntegral(b + x, r + x, a + b + x - 1, z);
        expect(relativeError(hypergeometric2F1(r + x, b + x, a + b + x - 1, z), expected)).toBeLessThan(1e-10);
      }
    }
  });

  it('matches mpmath.hyp2f1 on the transformed BG/NBD parameters, including negative c', () => {
    const [r, a, b] = [0.243, 0.793, 2.426];
    // Reference values computed with mpmath 1.3 (mp.dps = 30).
    const reference: [number, number, number, number, number][] = [
      [a + b - 1 - r, a - 1, a + b - 1, 0.5, 0.8836467308159790783],
      [a + b - 1 - r, a - 1, a + b - 1, 0.9, 0.69104561634029132966],
      [a + b - 1 - r, a - 1, a + b + 3 - 1, 0.99, 0.89867870066352479495],
      [r + 2, b + 2, a + b + 2 - 1, 0.7, 17.513211961569026756],
      [r + 2, b + 2, a + b + 2 - 1, 0.95, 1344.3402781759937773],
      [0.3 + 0.5 - 1 - r, 0.3 - 1, 0.3 + 0.5 - 1, 0.85, -0.51245770806354138138],
    ];
    for (const [p, q, c, z, expected] of reference) expect(relativeError(hypergeometric2F1(p, q, c, z), expected)).toBeLessThan(1e-13);
  });

  it('agrees with the plain series where both apply, on either side of the connection switch', () => {
    for (const [p, q, c] of [[1.976, -0.207, 2.219], [0.5, 1.7, 3.1], [2.243, 4.426, 4.219], [3.3, 10.2, 20.1]]) {
      for (const z of [0.79, 0.81, 0.9, 0.95]) {
        const series = c - p - q < 0 ? Math.pow(1 - z, c - p - q) * hypergeometricSeries(c - p, c - q, c, z) : hypergeometricSeries(p, q, c, z);
        expect(relativeError(hypergeometric2F1(p, q, c, z), series)).toBeLessThan(1e-12);
      }
    }
  });

  it('is a polynomial when a parameter is a non-positive integer', () => {
    // 2F1(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1))
    const [b, c, z] = [1.5, 2.5, 0.9];
    expect(relativeError(hypergeometric2F1(-2, b, c, z), 1 - (2 * b * z) / c + (b * (b + 1) * z * z) / (c * (c + 1)))).toBeLessThan(1e-15);
  });

  it('rejects z outside [0, 1) and c at a pole', () => {
    expect(() => hypergeometric2F1(1, 1, 2, 1)).toThrow(/0 <= z < 1/);
    expect(() => hypergeometric2F1(1, 1, 2, -0.1)).toThrow(/0 <= z < 1/);
    expect(() => hypergeometric2F1(1, 1, -3, 0.5)).toThrow(/c != 0/);
  });
});
