/**
 * The tree learners: histogram gradient boosting and a random-forest mode on the same engine.
 * Training takes a dense Float64Array matrix (column-major by default, NaN = missing) and
 * returns a model that scores raw rows and serialises to versioned JSON.
 */
export { type FeatureMatrix, type MatrixLayout, type TrainingData, matrixFromRows, selectRows } from './featureMatrix.ts';
export type { FeatureImportances } from './flatTree.ts';
export {
  type BoostingData,
  GradientBoosting,
  type GradientBoostingJSON,
  type GradientBoostingOptions,
  defaultGradientBoostingOptions,
} from './gradientBoosting.ts';
export type { LossName } from './losses.ts';
export { RandomForest, type RandomForestJSON, type RandomForestOptions, defaultRandomForestOptions } from './randomForest.ts';
export { TreeRandom } from './treeRandom.ts';
export { BinMapper } from './binning.ts';
