import { type FeatureMatrix, matrixStrides } from './featureMatrix.ts';
import { TreeRandom } from './treeRandom.ts';

/**
 * Quantile binning: each feature gets at most 255 bins, described by their upper bounds.
 * A value x falls in the first bin b with x <= upper[b]; the last bound is +Infinity.
 * Missing values (NaN) get their own code, nBins (<= 255), so a histogram slot can be
 * addressed as offset + code with no branch. Because a split "bin <= t" is the same test
 * as "x <= upper[t]", trained trees predict on raw values without the binner.
 */
export interface BinningOptions {
  /** At most this many bins per feature (2..255). */
  maxBins: number;
  /** Bin bounds come from at most this many rows (a seeded sample). */
  sampleSize: number;
  seed: number;
}

const defaultBinningOptions: BinningOptions = { maxBins: 255, sampleSize: 200_000, seed: 42 };

export interface BinnedMatrix {
  /** Column-major bin codes: codes[f * nRows + r]. */
  codes: Uint8Array;
  nRows: number;
  nFeatures: number;
}

export class BinMapper {
  /** Per feature, ascending upper bounds; the last is +Infinity. */
  readonly upper: Float64Array[];
  /** Per feature, the number of value bins; also the code of a missing value. */
  readonly nBins: Uint16Array;
  /** Per feature, where its slots start in a histogram (each feature has nBins + 1 slots). */
  readonly offsets: Uint32Array;
  readonly totalSlots: number;

  constructor(upper: Float64Array[]) {
    this.upper = upper;
    this.nBins = Uint16Array.from(upper, (u) => u.length);
    this.offsets = new Uint32Array(upper.length);
    let slots = 0;
    for (let f = 0; f < upper.length; f++) {
      this.offsets[f] = slots;
      slots += this.nBins[f] + 1;
    }
    this.totalSlots = slots;
  }

  get nFeatures(): number {
    return this.upper.length;
  }

  static fit(matrix: FeatureMatrix, options: Partial<BinningOptions> = {}): BinMapper {
    const { maxBins, sampleSize, seed } = { ...defaultBinningOptions, ...options };
    if (!(maxBins >= 2 && maxBins <= 255)) throw new RangeError('maxBins must be in 2..255');
    const rows = matrix.nRows > sampleSize ? new TreeRandom(seed).sampleSorted(matrix.nRows, sampleSize) : null;
    const { rowStride, featureStride } = matrixStrides(matrix);
    const n = rows ? rows.length : matrix.nRows;
    const column = new Float64Array(n);
    const upper: Float64Array[] = [];
    for (let f = 0; f < matrix.nFeatures; f++) {
      let m = 0;
      for (let i = 0; i < n; i++) {
        const x = matrix.values[(rows ? rows[i] : i) * rowStride + f * featureStride];
        if (x === x) column[m++] = x;
      }
      upper.push(featureBounds(column.subarray(0, m).sort(), maxBins));
    }
    return new BinMapper(upper);
  }

  /** Bin code of one raw value of feature f. */
  code(f: number, x: number): number {
    if (x !== x) return this.nBins[f];
    const u = this.upper[f];
    let lo = 0;
    let hi = u.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x <= u[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  transform(matrix: FeatureMatrix): BinnedMatrix {
    if (matrix.nFeatures !== this.nFeatures) {
      throw new RangeError(`matrix has ${matrix.nFeatures} features, the bins were fitted on ${this.nFeatures}`);
    }
    const { nRows, nFeatures } = matrix;
    const { rowStride, featureStride } = matrixStrides(matrix);
    const codes = new Uint8Array(nRows * nFeatures);
    for (let f = 0; f < nFeatures; f++) {
      const base = f * nRows;
      for (let r = 0; r < nRows; r++) codes[base + r] = this.code(f, matrix.values[r * rowStride + f * featureStride]);
    }
    return { codes, nRows, nFeatures };
  }
}

/**
 * Upper bounds for one feature's sorted non-missing values: one bin per distinct value when
 * there are few, else cuts at quantiles. Cuts sit halfway between neighbouring observed
 * values, so an unseen value goes to the nearer side.
 */
function featureBounds(sorted: Float64Array, maxBins: number): Float64Array {
  const m = sorted.length;
  const cuts: number[] = [];
  const fewValues = countDistinct(sorted, maxBins + 1) <= maxBins;
  let pos = 0;
  while (pos < m && cuts.length < maxBins - 1) {
    // Greedy equal-frequency bins over what is left, so a heavy tie (say 70% zeros)
    // takes one bin and the remaining bins are spread over the other values.
    const last = fewValues ? pos : pos + Math.ceil((m - pos) / (maxBins - cuts.length)) - 1;
    const a = sorted[last];
    const next = upperBound(sorted, a);
    if (next >= m) break;
    cuts.push(midpoint(a, sorted[next]));
    pos = next;
  }
  cuts.push(Infinity);
  return Float64Array.from(cuts);
}

function countDistinct(sorted: Float64Array, cap: number): number {
  let count = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length && count < cap; i++) if (sorted[i] !== sorted[i - 1]) count++;
  return count;
}

/** First index whose value is greater than x. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A cut c with a <= c < b, so a goes left and b right, even for adjacent doubles or infinities. */
function midpoint(a: number, b: number): number {
  const c = a + (b - a) / 2;
  return Number.isFinite(c) && c >= a && c < b ? c : a;
}
