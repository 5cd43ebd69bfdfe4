import { z } from 'zod';
import { type FeatureMatrix, assertMatrix, matrixStrides } from './featureMatrix.ts';

/**
 * An ensemble's trees concatenated into parallel typed arrays, for scoring a row in
 * microseconds with no allocation. Child references are global: c >= 0 is internal node c,
 * c < 0 is leaf ~c. A row goes left when x <= threshold, or when x is NaN and missingLeft.
 */
export interface TreeData {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  missingLeft: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  gain: ArrayLike<number>;
  leafValue: ArrayLike<number>;
}

export interface FeatureImportances {
  /** Total split gain per feature. */
  gain: Float64Array;
  /** Number of splits per feature. */
  split: Uint32Array;
}

export class FlatForest {
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly missingLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly gain: Float64Array;
  readonly leafValue: Float64Array;
  private readonly nodeStart: Uint32Array;
  private readonly leafStart: Uint32Array;

  constructor(
    trees: readonly TreeData[],
    readonly nFeatures: number,
  ) {
    let nodes = 0;
    let leaves = 0;
    this.nodeStart = new Uint32Array(trees.length + 1);
    this.leafStart = new Uint32Array(trees.length + 1);
    trees.forEach((t, i) => {
      this.nodeStart[i] = nodes;
      this.leafStart[i] = leaves;
      nodes += t.feature.length;
      leaves += t.leafValue.length;
    });
    this.nodeStart[trees.length] = nodes;
    this.leafStart[trees.length] = leaves;
    this.roots = new Int32Array(trees.length);
    this.feature = new Int32Array(nodes);
    this.threshold = new Float64Array(nodes);
    this.missingLeft = new Uint8Array(nodes);
    this.left = new Int32Array(nodes);
    this.right = new Int32Array(nodes);
    this.gain = new Float64Array(nodes);
    this.leafValue = new Float64Array(leaves);
    trees.forEach((t, i) => this.place(t, this.nodeStart[i], this.leafStart[i], i));
  }

  get nTrees(): number {
    return this.roots.length;
  }

  private place(t: TreeData, nodeOffset: number, leafOffset: number, index: number): void {
    const shift = (c: number) => (c >= 0 ? c + nodeOffset : ~(~c + leafOffset));
    this.roots[index] = t.feature.length > 0 ? nodeOffset : ~leafOffset;
    for (let k = 0; k < t.feature.length; k++) {
      this.feature[nodeOffset + k] = t.feature[k];
      this.threshold[nodeOffset + k] = t.threshold[k];
      this.missingLeft[nodeOffset + k] = t.missingLeft[k];
      this.left[nodeOffset + k] = shift(t.left[k]);
      this.right[nodeOffset + k] = shift(t.right[k]);
      this.gain[nodeOffset + k] = t.gain[k];
    }
    for (let l = 0; l < t.leafValue.length; l++) this.leafValue[leafOffset + l] = t.leafValue[l];
  }

  /** Sum of the first nTrees trees' leaf values for the row at values[base + f * stride]. */
  sum(values: ArrayLike<number>, base = 0, stride = 1, nTrees = this.roots.length): number {
    let total = 0;
    for (let t = 0; t < nTrees; t++) {
      let node = this.roots[t];
      while (node >= 0) {
        const x = values[base + this.feature[node] * stride];
        node = x <= this.threshold[node] || (x !== x && this.missingLeft[node] === 1) ? this.left[node] : this.right[node];
      }
      total += this.leafValue[~node];
    }
    return total;
  }

  /** Per-row sums over a whole matrix. */
  sumMany(matrix: FeatureMatrix, nTrees = this.roots.length): Float64Array {
    assertMatrix(matrix);
    if (matrix.nFeatures !== this.nFeatures) {
      throw new RangeError(`matrix has ${matrix.nFeatures} features, the model was trained on ${this.nFeatures}`);
    }
    const { rowStride, featureStride } = matrixStrides(matrix);
    const out = new Float64Array(matrix.nRows);
    for (let r = 0; r < matrix.nRows; r++) out[r] = this.sum(matrix.values, r * rowStride, featureStride, nTrees);
    return out;
  }

  importances(): FeatureImportances {
    const gain = new Float64Array(this.nFeatures);
    const split = new Uint32Array(this.nFeatures);
    for (let k = 0; k < this.feature.length; k++) {
      gain[this.feature[k]] += this.gain[k];
      split[this.feature[k]]++;
    }
    return { gain, split };
  }

  /** One tree with tree-local references, as plain arrays (JSON has no Infinity: null stands for it). */
  treeJSON(index: number): TreeJSON {
    const n0 = this.nodeStart[index];
    const n1 = this.nodeStart[index + 1];
    const l0 = this.leafStart[index];
    const local = (c: number) => (c >= 0 ? c - n0 : ~(~c - l0));
    return {
      feature: Array.from(this.feature.subarray(n0, n1)),
      threshold: Array.from(this.threshold.subarray(n0, n1), (x) => (x === Infinity ? null : x)),
      missingLeft: Array.from(this.missingLeft.subarray(n0, n1), (m) => (m === 1 ? 1 : 0)),
      left: Array.from(this.left.subarray(n0, n1), local),
      right: Array.from(this.right.subarray(n0, n1), local),
      gain: Array.from(this.gain.subarray(n0, n1)),
      leafValue: Array.from(this.leafValue.subarray(l0, this.leafStart[index + 1])),
    };
  }

  toJSON(): TreeJSON[] {
    return Array.from(this.roots, (_, i) => this.treeJSON(i));
  }

  static fromJSON(trees: TreeJSON[], nFeatures: number): FlatForest {
    trees.forEach((t, i) => checkTree(t, nFeatures, i));
    return new FlatForest(
      trees.map((t) => ({ ...t, threshold: t.threshold.map((x) => (x === null ? Infinity : x)) })),
      nFeatures,
    );
  }
}

export const TreeJSONSchema = z.object({
  feature: z.array(z.number().int().nonnegative()),
  threshold: z.array(z.number().nullable()),
  missingLeft: z.array(z.union([z.literal(0), z.literal(1)])),
  left: z.array(z.number().int()),
  right: z.array(z.number().int()),
  gain: z.array(z.number()),
  leafValue: z.array(z.number()).min(1),
});

export type TreeJSON = z.infer<typeof TreeJSONSchema>;

/**
 * Structural checks zod cannot express: equal lengths, features in range, and children that
 * are leaves or later nodes (so every walk ends) with each leaf reached exactly once.
 */
function checkTree(t: TreeJSON, nFeatures: number, index: number): void {
  const n = t.feature.length;
  const fail = (why: string) => {
    throw new RangeError(`tree ${index}: ${why}`);
  };
  if ([t.threshold, t.missingLeft, t.left, t.right, t.gain].some((a) => a.length !== n)) fail('node arrays differ in length');
  if (t.leafValue.length !== n + 1) fail(`${n} splits need ${n + 1} leaves, found ${t.leafValue.length}`);
  const seen = new Uint8Array(t.leafValue.length);
  for (let k = 0; k < n; k++) {
    if (t.feature[k] >= nFeatures) fail(`node ${k} uses feature ${t.feature[k]} of ${nFeatures}`);
    for (const c of [t.left[k], t.right[k]]) {
      if (c >= 0 ? c <= k || c >= n : ~c >= t.leafValue.length || seen[~c]++ > 0) fail(`node ${k} has a bad child ${c}`);
    }
  }
}
