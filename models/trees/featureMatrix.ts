/**
 * The dense feature matrix every tree learner takes. Column-major is the default because
 * binning and histogram building walk one feature at a time; row-major is accepted so a
 * caller holding rows need not transpose. NaN marks a missing value.
 */
export type MatrixLayout = 'column-major' | 'row-major';

export interface FeatureMatrix {
  values: Float64Array;
  nRows: number;
  nFeatures: number;
  /** Default 'column-major': value (row r, feature f) at values[f * nRows + r]. */
  layout?: MatrixLayout;
}

/** Strides such that value (r, f) = values[r * rowStride + f * featureStride]. */
export function matrixStrides(matrix: FeatureMatrix): { rowStride: number; featureStride: number } {
  return (matrix.layout ?? 'column-major') === 'column-major'
    ? { rowStride: 1, featureStride: matrix.nRows }
    : { rowStride: matrix.nFeatures, featureStride: 1 };
}

export function assertMatrix(matrix: FeatureMatrix, what = 'matrix'): void {
  const { values, nRows, nFeatures } = matrix;
  if (!Number.isInteger(nRows) || nRows < 0 || !Number.isInteger(nFeatures) || nFeatures < 1) {
    throw new RangeError(`${what}: nRows must be a non-negative integer and nFeatures a positive one`);
  }
  if (values.length !== nRows * nFeatures) {
    throw new RangeError(`${what}: values has ${values.length} entries, expected nRows * nFeatures = ${nRows * nFeatures}`);
  }
}

/** A short row would read undefined, which silently goes right at every split. */
export function checkRow(row: ArrayLike<number>, nFeatures: number): void {
  if (row.length < nFeatures) throw new RangeError(`row has ${row.length} values, the model needs ${nFeatures}`);
}

/** Builds a column-major matrix from rows of numbers (null and undefined become NaN). */
export function matrixFromRows(rows: ReadonlyArray<ArrayLike<number | null | undefined>>, nFeatures?: number): FeatureMatrix {
  const nRows = rows.length;
  const width = nFeatures ?? (nRows > 0 ? rows[0].length : 0);
  const values = new Float64Array(nRows * width);
  for (let r = 0; r < nRows; r++) {
    const row = rows[r];
    if (row.length !== width) throw new RangeError(`row ${r} has ${row.length} values, expected ${width}`);
    for (let f = 0; f < width; f++) values[f * nRows + r] = row[f] ?? NaN;
  }
  return { values, nRows, nFeatures: width, layout: 'column-major' };
}

/** The rows of `matrix` listed in `rows`, as a new column-major matrix. */
export function selectRows(matrix: FeatureMatrix, rows: ArrayLike<number>): FeatureMatrix {
  const { rowStride, featureStride } = matrixStrides(matrix);
  const n = rows.length;
  const values = new Float64Array(n * matrix.nFeatures);
  for (let f = 0; f < matrix.nFeatures; f++) {
    for (let i = 0; i < n; i++) values[f * n + i] = matrix.values[rows[i] * rowStride + f * featureStride];
  }
  return { values, nRows: n, nFeatures: matrix.nFeatures, layout: 'column-major' };
}

/** Features, targets and optional non-negative sample weights, as every learner takes them. */
export interface TrainingData {
  x: FeatureMatrix;
  y: Float64Array;
  weights?: Float64Array;
}

export function assertTrainingData(data: TrainingData, what = 'training data'): void {
  assertMatrix(data.x, what);
  if (data.y.length !== data.x.nRows) throw new RangeError(`${what}: ${data.y.length} targets for ${data.x.nRows} rows`);
  if (data.weights) {
    if (data.weights.length !== data.x.nRows) throw new RangeError(`${what}: ${data.weights.length} weights for ${data.x.nRows} rows`);
    for (const w of data.weights) if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`${what}: weights must be finite and non-negative`);
  }
}
