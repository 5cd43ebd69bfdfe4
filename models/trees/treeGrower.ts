import type { BinMapper, BinnedMatrix } from './binning.ts';
import { SLOT, type SplitCandidate, type SplitParams, SplitSearch, buildHistogramByRow, emptySplit, subtractHistogram } from './histogram.ts';
import type { TreeRandom } from './treeRandom.ts';

/**
 * Grows one regression tree on gradients and hessians, best-first: the leaf whose split
 * gains most is split next, until maxLeaves leaves or no split gains more than minGain.
 * With maxLeaves = Infinity and a maxDepth this is exactly depth-wise growth (splits of
 * different nodes never compete for a budget), so one strategy serves boosting and forests.
 * Only the smaller child's histogram is built from its rows; the larger one is the
 * parent's minus it. Nodes with fewer rows than bins (most nodes of a fully grown forest
 * tree) skip dense histograms: their few occupied bins are accumulated and scanned directly.
 */
export interface GrowerOptions extends SplitParams {
  maxLeaves: number;
  /** Root has depth 0; Infinity for no limit. */
  maxDepth: number;
  /** Features drawn at random for each split's search; 0 searches all of the tree's features. */
  featuresPerSplit: number;
  /** Memory for histograms kept for later subtraction; beyond it, children are built directly. */
  histogramBudgetBytes: number;
  /** Nodes with at most this many rows are searched without a full histogram; default: a quarter of the bins per feature. */
  smallNodeRows?: number;
}

/**
 * A tree as parallel typed arrays. A child reference c >= 0 is an internal node, c < 0 the
 * leaf ~c; a tree with no split has root -1 (leaf 0). Rows with x <= threshold go left
 * (bin <= bin on binned data); NaN goes left when missingLeft is 1.
 */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float64Array;
  bin: Uint8Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  gain: Float64Array;
  leafValue: Float64Array;
}

export interface GrownTree {
  tree: TreeArrays;
  /** rows[leafStart[l] .. leafEnd[l]) are the training rows that fell in leaf l. */
  rows: Uint32Array;
  leafStart: Uint32Array;
  leafEnd: Uint32Array;
}

interface Candidate {
  node: number;
  depth: number;
  hist: Float64Array | null;
  split: SplitCandidate;
}

export class TreeGrower {
  /** The binned codes again, row-major, for histogram building (see buildHistogramByRow). */
  private readonly rowCodes: Uint8Array;
  private readonly firstSlot: Int32Array;
  private readonly live: Uint8Array;
  /** How many features the tree was given (dead ones included), for the subtraction heuristic. */
  private featureCount = 0;
  private readonly partitionScratch: Uint32Array;
  private readonly scratch: [Float64Array, Float64Array];
  /** All zeros between uses: small nodes accumulate into it and clear what they touched. */
  private readonly sparseHist: Float64Array;
  private readonly visit = new Uint8Array(256);
  private readonly pool: HistogramPool;
  private readonly search: SplitSearch;
  /** Nodes with at most this many rows skip histograms: scanning 255 bins would cost more. */
  private readonly smallNode: number;
  // The tree being grown.
  private grad: Float64Array = new Float64Array(0);
  private hess: Float64Array = new Float64Array(0);
  private rows: Uint32Array = new Uint32Array(0);
  private features: Int32Array = new Int32Array(0);
  private activeSlots = 0;
  private random: TreeRandom | null = null;

  constructor(
    private readonly binned: BinnedMatrix,
    private readonly bins: BinMapper,
    private readonly options: GrowerOptions,
  ) {
    const n = binned.nRows;
    const nf = binned.nFeatures;
    this.rowCodes = new Uint8Array(n * nf);
    for (let f = 0; f < nf; f++) {
      const column = f * n;
      for (let r = 0; r < n; r++) this.rowCodes[r * nf + f] = binned.codes[column + r];
    }
    this.firstSlot = new Int32Array(nf);
    // A feature with one value bin and no missing value can never split: boosting skips it.
    this.live = new Uint8Array(nf);
    for (let f = 0; f < nf; f++) {
      if (bins.nBins[f] > 1) {
        this.live[f] = 1;
        continue;
      }
      const column = binned.codes.subarray(f * n, (f + 1) * n);
      if (column.includes(bins.nBins[f])) this.live[f] = 1;
    }
    this.partitionScratch = new Uint32Array(n);
    const size = bins.totalSlots * SLOT;
    this.scratch = [new Float64Array(size), new Float64Array(size)];
    this.sparseHist = new Float64Array(size);
    this.pool = new HistogramPool(size, Math.floor(options.histogramBudgetBytes / (size * 8)));
    this.search = new SplitSearch(bins, options);
    this.smallNode = options.smallNodeRows ?? Math.max(8, Math.floor(bins.totalSlots / bins.nFeatures / 4));
  }

  /**
   * Grows a tree on `rows` (ascending; partitioned in place) using the listed features.
   * grad and hess are indexed by row and already carry sample weights.
   */
  grow(grad: Float64Array, hess: Float64Array, rows: Uint32Array, features: Int32Array, random: TreeRandom): GrownTree {
    this.grad = grad;
    this.hess = hess;
    this.rows = rows;
    this.featureCount = features.length;
    // Forests draw from the full list per split, so only boosting (no per-split draw) drops dead features.
    this.features = this.options.featuresPerSplit > 0 ? features : features.filter((f) => this.live[f] === 1);
    this.random = random;
    this.activeSlots = 0;
    for (const f of features) this.activeSlots += this.bins.nBins[f] + 1;
    const build = new TreeBuild();
    let g = 0;
    let h = 0;
    for (let i = 0; i < rows.length; i++) {
      g += grad[rows[i]];
      h += hess[rows[i]];
    }
    build.addNode(0, rows.length, g, h, rows.length);
    const heap = new CandidateHeap();
    this.consider(heap, build, 0, 0, rows.length > this.smallNode ? this.denseHistogram(0, rows.length) : null);
    let leaves = 1;
    while (leaves < this.options.maxLeaves && heap.size > 0) {
      this.split(heap, build, heap.pop()!);
      leaves++;
    }
    for (let c = heap.pop(); c; c = heap.pop()) if (c.hist) this.pool.release(c.hist);
    this.random = null;
    return build.finish(rows, this.bins, this.options.lambda);
  }

  private split(heap: CandidateHeap, build: TreeBuild, { node, depth, hist, split }: Candidate): void {
    const start = build.start[node];
    const end = build.end[node];
    const mid = this.partition(start, end, split);
    const left = build.addNode(start, mid, split.leftGrad, split.leftHess, split.leftCount);
    const right = build.addNode(mid, end, build.grad[node] - split.leftGrad, build.hess[node] - split.leftHess, build.count[node] - split.leftCount);
    build.setSplit(node, split, left, right);
    const [small, large] = mid - start <= end - mid ? [left, right] : [right, left];
    const largeRows = build.end[large] - build.start[large];
    if (largeRows <= this.smallNode) {
      if (hist) this.pool.release(hist);
      this.consider(heap, build, small, depth + 1, null);
      this.consider(heap, build, large, depth + 1, null);
      return;
    }
    const smallHist = this.denseHistogram(build.start[small], build.end[small]);
    let largeHist: Float64Array;
    // Subtraction costs a pass over the slots; a child with few rows is cheaper to build.
    if (hist && largeRows * this.featureCount > this.activeSlots) {
      subtractHistogram(hist, smallHist, this.bins, this.features);
      largeHist = hist;
    } else {
      if (hist) this.pool.release(hist);
      largeHist = this.denseHistogram(build.start[large], build.end[large], this.scratch[1]);
    }
    this.consider(heap, build, small, depth + 1, smallHist);
    this.consider(heap, build, large, depth + 1, largeHist);
  }

  /** Queues the node if it has a worthwhile split; keeps its histogram only if it was queued. */
  private consider(heap: CandidateHeap, build: TreeBuild, node: number, depth: number, hist: Float64Array | null): void {
    const o = this.options;
    const count = build.count[node];
    const hess = build.hess[node];
    const stored = hist !== null && hist !== this.scratch[0] && hist !== this.scratch[1];
    const split = emptySplit();
    const splittable =
      depth < o.maxDepth &&
      o.maxLeaves > 1 &&
      count >= 2 * o.minChildSamples &&
      hess >= 2 * o.minChildWeight &&
      this.findSplit(build, node, hist, split);
    if (splittable) heap.push({ node, depth, hist: stored ? hist : null, split });
    else if (stored) this.pool.release(hist);
  }

  /**
   * With a feature subset per split (forests), a node whose drawn features cannot split it
   * falls back to all of the tree's features rather than becoming a leaf early, as in CART.
   */
  private findSplit(build: TreeBuild, node: number, hist: Float64Array | null, split: SplitCandidate): boolean {
    this.search.begin(build.grad[node], build.hess[node], build.count[node], split);
    const drawn = this.splitFeatures();
    this.searchFeatures(build, node, hist, drawn);
    if (!this.search.found && drawn !== this.features) this.searchFeatures(build, node, hist, this.features);
    return this.search.found;
  }

  private searchFeatures(build: TreeBuild, node: number, hist: Float64Array | null, features: Int32Array): void {
    for (let j = 0; j < features.length; j++) {
      if (hist) this.search.feature(hist, features[j], null, 0);
      else this.searchSmall(build.start[node], build.end[node], features[j]);
    }
  }

  /** One feature of a small node: accumulate its rows' few bins, scan them in order, clear them. */
  private searchSmall(start: number, end: number, f: number): void {
    const { grad, hess, rows, visit } = this;
    const hist = this.sparseHist;
    const codes = this.binned.codes;
    const base = f * this.binned.nRows;
    const first = this.bins.offsets[f] * SLOT;
    let n = 0;
    for (let i = start; i < end; i++) {
      const r = rows[i];
      const code = codes[base + r];
      const k = first + code * SLOT;
      if (hist[k + 2] === 0) visit[n++] = code;
      hist[k] += grad[r];
      hist[k + 1] += hess[r];
      hist[k + 2] += 1;
    }
    insertionSort(visit, n);
    this.search.feature(hist, f, visit, n);
    for (let i = 0; i < n; i++) hist.fill(0, first + visit[i] * SLOT, first + (visit[i] + 1) * SLOT);
  }

  private splitFeatures(): Int32Array {
    const k = this.options.featuresPerSplit;
    const features = this.features;
    if (k <= 0 || k >= features.length) return features;
    // Partial Fisher–Yates on a copy: k distinct features, order irrelevant to the search.
    const pick = features.slice();
    for (let i = 0; i < k; i++) {
      const j = i + this.random!.nextInt(pick.length - i);
      const t = pick[i];
      pick[i] = pick[j];
      pick[j] = t;
    }
    return pick.subarray(0, k);
  }

  /** A histogram of rows[start..end) in a pooled buffer, or in `fallback` when the pool is spent. */
  private denseHistogram(start: number, end: number, fallback = this.scratch[0]): Float64Array {
    const hist = this.pool.acquire() ?? fallback;
    const b = this.binned;
    buildHistogramByRow(hist, this.bins, this.features, this.rowCodes, b.nFeatures, this.rows, start, end, this.grad, this.hess, this.firstSlot);
    return hist;
  }

  /** Stable partition of rows[start..end) by the split; returns where the right child starts. */
  private partition(start: number, end: number, split: SplitCandidate): number {
    const rows = this.rows;
    const codes = this.binned.codes;
    const base = split.feature * this.binned.nRows;
    const missing = this.bins.nBins[split.feature];
    const bin = split.bin;
    const missingLeft = split.missingLeft;
    const scratch = this.partitionScratch;
    let write = start;
    let spilled = 0;
    for (let i = start; i < end; i++) {
      const r = rows[i];
      const code = codes[base + r];
      if (code <= bin || (missingLeft && code === missing)) rows[write++] = r;
      else scratch[spilled++] = r;
    }
    for (let i = 0; i < spilled; i++) rows[write + i] = scratch[i];
    return write;
  }
}

function insertionSort(a: Uint8Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

/** Leaf of a binned row: the training-time twin of raw-value prediction. */
export function binnedLeaf(tree: TreeArrays, binned: BinnedMatrix, missingCodes: Uint16Array, row: number): number {
  let node = tree.feature.length > 0 ? 0 : -1;
  while (node >= 0) {
    const f = tree.feature[node];
    const code = binned.codes[f * binned.nRows + row];
    const goLeft = code <= tree.bin[node] || (tree.missingLeft[node] === 1 && code === missingCodes[f]);
    node = goLeft ? tree.left[node] : tree.right[node];
  }
  return ~node;
}

/** Nodes of a tree under construction, in creation order (root first). */
class TreeBuild {
  readonly start: number[] = [];
  readonly end: number[] = [];
  readonly grad: number[] = [];
  readonly hess: number[] = [];
  readonly count: number[] = [];
  private readonly splits: (SplitCandidate | null)[] = [];
  private readonly children: number[] = [];

  addNode(start: number, end: number, grad: number, hess: number, count: number): number {
    this.start.push(start);
    this.end.push(end);
    this.grad.push(grad);
    this.hess.push(hess);
    this.count.push(count);
    this.splits.push(null);
    this.children.push(-1, -1);
    return this.start.length - 1;
  }

  setSplit(node: number, split: SplitCandidate, left: number, right: number): void {
    this.splits[node] = split;
    this.children[2 * node] = left;
    this.children[2 * node + 1] = right;
  }

  /** Renumbers nodes into internal nodes and leaves, in creation order, and sets leaf values. */
  finish(rows: Uint32Array, bins: BinMapper, lambda: number): GrownTree {
    const n = this.start.length;
    const index = new Int32Array(n);
    let internal = 0;
    let leaves = 0;
    for (let i = 0; i < n; i++) index[i] = this.splits[i] ? internal++ : ~leaves++;
    const tree: TreeArrays = {
      feature: new Int32Array(internal),
      threshold: new Float64Array(internal),
      bin: new Uint8Array(internal),
      missingLeft: new Uint8Array(internal),
      left: new Int32Array(internal),
      right: new Int32Array(internal),
      gain: new Float64Array(internal),
      leafValue: new Float64Array(leaves),
    };
    const leafStart = new Uint32Array(leaves);
    const leafEnd = new Uint32Array(leaves);
    for (let i = 0; i < n; i++) {
      const split = this.splits[i];
      const k = index[i];
      if (split) {
        tree.feature[k] = split.feature;
        tree.threshold[k] = bins.upper[split.feature][split.bin];
        tree.bin[k] = split.bin;
        tree.missingLeft[k] = split.missingLeft ? 1 : 0;
        tree.left[k] = index[this.children[2 * i]];
        tree.right[k] = index[this.children[2 * i + 1]];
        tree.gain[k] = split.gain;
      } else {
        tree.leafValue[~k] = -this.grad[i] / (this.hess[i] + lambda) || 0;
        leafStart[~k] = this.start[i];
        leafEnd[~k] = this.end[i];
      }
    }
    return { tree, rows, leafStart, leafEnd };
  }
}

/** Max-heap of split candidates by gain; ties go to the older node, for determinism. */
class CandidateHeap {
  private readonly items: Candidate[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: Candidate): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): Candidate | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Candidate, b: Candidate): boolean {
  return a.split.gain > b.split.gain || (a.split.gain === b.split.gain && a.node < b.node);
}

/** Reuses histogram buffers and caps how many are alive at once. */
class HistogramPool {
  private readonly free: Float64Array[] = [];
  private live = 0;

  constructor(
    private readonly size: number,
    private readonly capacity: number,
  ) {}

  acquire(): Float64Array | null {
    const reused = this.free.pop();
    if (reused) {
      this.live++;
      return reused;
    }
    if (this.live >= this.capacity) return null;
    this.live++;
    return new Float64Array(this.size);
  }

  release(hist: Float64Array): void {
    this.live--;
    this.free.push(hist);
  }
}
