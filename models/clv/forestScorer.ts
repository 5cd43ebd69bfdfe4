import { FlatForest, type TreeJSON } from '../trees/flatTree.ts';

/**
 * Scores a tree ensemble fast enough to rescore a million customers in seconds on one core.
 *
 * Walking a tree costs a mispredicted branch at nearly every node. The QuickScorer layout
 * (Lucchese et al., SIGIR 2015) replaces the walks with one pass over each feature's split
 * thresholds in ascending order: every split the row fails (x > threshold, the row goes right)
 * clears the leaves of that split's left subtree from its tree's 32-bit leaf mask, and each
 * tree's exit leaf is then the lowest bit still set (leaves numbered left to right). The passes
 * stop at the first threshold the row meets, so the only unpredictable branch is one per
 * feature. Leaf values are summed in tree order, as FlatForest.sum does, so the result is the
 * same number a walk gives.
 *
 * Trees with more than 32 leaves, and rows with a missing value (NaN) on a feature whose splits
 * do not all send missing values left, fall back to walking the trees.
 */
export class ForestScorer {
  readonly nFeatures: number;
  readonly nTrees: number;
  /** usedFeatures[f] = 1 when some split tests feature f: other features cannot change a score. */
  readonly usedFeatures: Uint8Array;
  private readonly walker: FlatForest;
  private readonly quick: boolean;
  /** Splits grouped by feature (offsets), each group by ascending threshold. */
  private readonly offsets: Int32Array;
  private readonly thresholds: Float64Array;
  private readonly treeOf: Int32Array;
  private readonly masks: Int32Array;
  /** Leaf values per tree, left to right, from leafStart[t]. */
  private readonly leafStart: Int32Array;
  private readonly leafValues: Float64Array;
  /** Per feature: 1 when every split on it sends missing values left (so NaN needs no walk). */
  private readonly missingLeftOnly: Uint8Array;
  private readonly live: Int32Array;
  /** Features with a split that sends missing values right: a NaN there needs the walk. */
  private readonly nanUnsafe: Int32Array;

  /** `leafScale` multiplies every leaf value (for averaging ensembles); the trees are not modified. */
  constructor(trees: readonly TreeJSON[], nFeatures: number, leafScale = 1) {
    const scaled = trees.map((t) => (leafScale === 1 ? t : { ...t, leafValue: t.leafValue.map((v) => v * leafScale) }));
    this.walker = FlatForest.fromJSON(scaled, nFeatures);
    this.nFeatures = nFeatures;
    this.nTrees = trees.length;
    this.usedFeatures = new Uint8Array(nFeatures);
    this.quick = scaled.every((t) => t.leafValue.length <= 32);
    this.live = new Int32Array(this.nTrees);
    this.missingLeftOnly = new Uint8Array(nFeatures).fill(1);

    interface Split {
      feature: number;
      threshold: number;
      tree: number;
      mask: number;
    }
    const splits: Split[] = [];
    const leafStart: number[] = [];
    const leafValues: number[] = [];
    scaled.forEach((tree, index) => {
      leafStart.push(leafValues.length);
      const leftToRight: number[] = [];
      // For each split: the left-to-right positions of the leaves of its left subtree.
      const leftSpan: Array<[number, number]> = new Array(tree.feature.length);
      const walk = (child: number): [number, number] => {
        if (child < 0) {
          leftToRight.push(~child);
          return [leftToRight.length - 1, leftToRight.length - 1];
        }
        const left = walk(tree.left[child]);
        const right = walk(tree.right[child]);
        leftSpan[child] = left;
        return [left[0], right[1]];
      };
      if (tree.feature.length > 0) walk(0);
      else leftToRight.push(0);
      for (const leaf of leftToRight) leafValues.push(tree.leafValue[leaf]);
      for (let node = 0; node < tree.feature.length; node++) {
        const feature = tree.feature[node];
        this.usedFeatures[feature] = 1;
        if (tree.missingLeft[node] !== 1) this.missingLeftOnly[feature] = 0;
        const [from, to] = leftSpan[node];
        let mask = -1;
        for (let bit = from; bit <= to && bit < 32; bit++) mask &= ~(1 << bit);
        splits.push({ feature, threshold: tree.threshold[node] ?? Infinity, tree: index, mask });
      }
    });
    splits.sort((a, b) => a.feature - b.feature || a.threshold - b.threshold || a.tree - b.tree);
    this.offsets = new Int32Array(nFeatures + 1);
    for (const split of splits) this.offsets[split.feature + 1]++;
    for (let f = 0; f < nFeatures; f++) this.offsets[f + 1] += this.offsets[f];
    this.thresholds = Float64Array.from(splits, (s) => s.threshold);
    this.treeOf = Int32Array.from(splits, (s) => s.tree);
    this.masks = Int32Array.from(splits, (s) => s.mask);
    this.nanUnsafe = Int32Array.from(Array.from(this.missingLeftOnly).flatMap((ok, f) => (ok === 0 ? [f] : [])));
    this.leafStart = Int32Array.from(leafStart);
    this.leafValues = Float64Array.from(leafValues);
  }

  /** Sum of the trees' leaf values for one row of raw feature values (row[f], f < nFeatures). */
  sum(row: ArrayLike<number>): number {
    if (!this.quick || !this.quickRow(row)) return this.walker.sum(row);
    const live = this.live;
    live.fill(-1);
    const { offsets, thresholds, treeOf, masks } = this;
    for (let f = 0; f < this.nFeatures; f++) {
      const x = row[f];
      const end = offsets[f + 1];
      for (let k = offsets[f]; k < end && x > thresholds[k]; k++) live[treeOf[k]] &= masks[k];
    }
    const { leafStart, leafValues } = this;
    let total = 0;
    for (let t = 0; t < live.length; t++) {
      const bits = live[t];
      total += leafValues[leafStart[t] + 31 - Math.clz32(bits & -bits)];
    }
    return total;
  }

  /** The same sum by walking the trees (the reference the fast path must equal). */
  walkSum(row: ArrayLike<number>): number {
    return this.walker.sum(row);
  }

  private quickRow(row: ArrayLike<number>): boolean {
    const { nanUnsafe } = this;
    for (let j = 0; j < nanUnsafe.length; j++) {
      const x = row[nanUnsafe[j]];
      if (x !== x) return false;
    }
    return true;
  }
}
