/**
 * Gradient/hessian histograms and the split search over them. A histogram is one
 * Float64Array with three numbers per slot (gradient sum, hessian sum, row count),
 * interleaved so one row's update touches one cache line. Feature f owns slots
 * offsets[f] .. offsets[f] + nBins[f], the last of which holds the missing values.
 */
export const SLOT = 3;

export interface HistogramLayout {
  nBins: Uint16Array;
  offsets: Uint32Array;
  totalSlots: number;
}

export interface SplitParams {
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Fewest rows in a child. */
  minChildSamples: number;
  /** Least hessian sum in a child. */
  minChildWeight: number;
  /** A split must gain more than this. */
  minGain: number;
}

/** The best split found for a node; mutated in place to avoid allocation in the search. */
export interface SplitCandidate {
  feature: number;
  /** Rows with bin <= bin go left. */
  bin: number;
  missingLeft: boolean;
  gain: number;
  leftGrad: number;
  leftHess: number;
  leftCount: number;
}

export function emptySplit(): SplitCandidate {
  return { feature: -1, bin: 0, missingLeft: false, gain: 0, leftGrad: 0, leftHess: 0, leftCount: 0 };
}

/**
 * Accumulates rows[start..end) into hist for the listed features. The node's gradients are
 * gathered once into contiguous buffers first, because every feature pass reads them.
 */
export function buildHistogram(
  hist: Float64Array,
  layout: HistogramLayout,
  features: Int32Array,
  codes: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
  orderedGrad: Float64Array,
  orderedHess: Float64Array,
): void {
  const n = end - start;
  for (let i = 0; i < n; i++) {
    const r = rows[start + i];
    orderedGrad[i] = grad[r];
    orderedHess[i] = hess[r];
  }
  for (let j = 0; j < features.length; j++) {
    const f = features[j];
    const first = layout.offsets[f] * SLOT;
    hist.fill(0, first, first + (layout.nBins[f] + 1) * SLOT);
    const column = codes.subarray(f * nRows, (f + 1) * nRows);
    for (let i = 0; i < n; i++) {
      const k = first + column[rows[start + i]] * SLOT;
      hist[k] += orderedGrad[i];
      hist[k + 1] += orderedHess[i];
      hist[k + 2] += 1;
    }
  }
}

/**
 * buildHistogram over row-major codes (rowCodes[r * stride + f]): one pass over the node's rows,
 * each row updating every listed feature's histogram. Successive updates of a feature are a whole
 * row apart, so a run of rows in the same bin (common: most customers bought once) does not
 * stall on its own previous update, and each row's codes share a cache line. Every bin still
 * accumulates its rows in row order: the sums are exactly buildHistogram's.
 */
export function buildHistogramByRow(
  hist: Float64Array,
  layout: HistogramLayout,
  features: Int32Array,
  rowCodes: Uint8Array,
  stride: number,
  rows: Uint32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
  firstSlot: Int32Array,
): void {
  const nf = features.length;
  for (let j = 0; j < nf; j++) {
    const f = features[j];
    const first = layout.offsets[f] * SLOT;
    firstSlot[j] = layout.offsets[f];
    hist.fill(0, first, first + (layout.nBins[f] + 1) * SLOT);
  }
  for (let i = start; i < end; i++) {
    const r = rows[i];
    const g = grad[r];
    const h = hess[r];
    const base = r * stride;
    for (let j = 0; j < nf; j++) {
      const k = (firstSlot[j] + rowCodes[base + features[j]]) * SLOT;
      hist[k] += g;
      hist[k + 1] += h;
      hist[k + 2] += 1;
    }
  }
}

/** parent -= child over the listed features: the sibling's histogram without a pass over its rows. */
export function subtractHistogram(parent: Float64Array, child: Float64Array, layout: HistogramLayout, features: Int32Array): void {
  for (let j = 0; j < features.length; j++) {
    const f = features[j];
    const first = layout.offsets[f] * SLOT;
    const last = first + (layout.nBins[f] + 1) * SLOT;
    for (let k = first; k < last; k++) parent[k] -= child[k];
  }
}

/**
 * Best split of one node, by the second-order gain ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)],
 * fed one feature at a time. Missing values are tried on both sides, and alone against
 * everything else; when the node has none, they follow the larger child so unseen missing
 * values at prediction time land deterministically.
 */
export class SplitSearch {
  private grad = 0;
  private hess = 0;
  private count = 0;
  private parentScore = 0;
  private best: SplitCandidate = emptySplit();

  constructor(
    private readonly layout: HistogramLayout,
    private readonly params: SplitParams,
  ) {}

  /** Starts the search for a node with these totals; `best` receives the result. */
  begin(grad: number, hess: number, count: number, best: SplitCandidate): void {
    this.grad = grad;
    this.hess = hess;
    this.count = count;
    this.parentScore = (grad * grad) / (hess + this.params.lambda);
    this.best = best;
    best.feature = -1;
    best.gain = this.params.minGain;
  }

  /** Whether a split better than minGain has been found so far. */
  get found(): boolean {
    return this.best.feature >= 0;
  }

  /**
   * Scans feature f's histogram. `visit` lists the non-empty bins in ascending order, the
   * missing code included or not, when the caller knows them (small nodes); null scans all.
   */
  feature(hist: Float64Array, f: number, visit: Uint8Array | null, nVisit: number): void {
    const first = this.layout.offsets[f] * SLOT;
    const nb = this.layout.nBins[f];
    const miss = first + nb * SLOT;
    const gm = hist[miss];
    const hm = hist[miss + 1];
    const cm = hist[miss + 2];
    const n = visit ? nVisit : nb;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let i = 0; i < n; i++) {
      const b = visit ? visit[i] : i;
      if (b >= nb - 1) break; // the last value bin leaves nothing on the right
      const k = first + b * SLOT;
      if (hist[k + 2] === 0) continue; // same partition as the previous threshold
      gl += hist[k];
      hl += hist[k + 1];
      cl += hist[k + 2];
      if (cm > 0) {
        this.consider(f, b, false, gl, hl, cl);
        this.consider(f, b, true, gl + gm, hl + hm, cl + cm);
      } else {
        this.consider(f, b, 2 * cl >= this.count, gl, hl, cl);
      }
    }
    if (cm > 0 && cm < this.count) this.consider(f, nb - 1, false, this.grad - gm, this.hess - hm, this.count - cm);
  }

  private consider(f: number, bin: number, missingLeft: boolean, gl: number, hl: number, cl: number): void {
    const { lambda, minChildSamples, minChildWeight } = this.params;
    const hr = this.hess - hl;
    const cr = this.count - cl;
    if (cl < minChildSamples || cr < minChildSamples || hl < minChildWeight || hr < minChildWeight) return;
    const gr = this.grad - gl;
    const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - this.parentScore);
    const best = this.best;
    if (gain > best.gain) {
      best.feature = f;
      best.bin = bin;
      best.missingLeft = missingLeft;
      best.gain = gain;
      best.leftGrad = gl;
      best.leftHess = hl;
      best.leftCount = cl;
    }
  }
}
