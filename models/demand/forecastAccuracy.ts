/** Point and interval accuracy measures of the retail protocol (section 1). */

/** Σ|y − ŷ| / Σy over one or many series (pass concatenated values for an aggregated WAPE). */
export function wape(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  let error = 0;
  let total = 0;
  for (let i = 0; i < actual.length; i++) {
    error += Math.abs(actual[i] - forecast[i]);
    total += actual[i];
  }
  return error / total;
}

function meanAbsoluteError(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  let error = 0;
  for (let i = 0; i < actual.length; i++) error += Math.abs(actual[i] - forecast[i]);
  return error / actual.length;
}

/** In-sample MAE of the seasonal naive forecast (y_t − y_{t−season}) over the training values. */
export function seasonalNaiveScale(train: ArrayLike<number>, season = 7): number {
  let error = 0;
  for (let t = season; t < train.length; t++) error += Math.abs(train[t] - train[t - season]);
  return error / (train.length - season);
}

/** Test MAE scaled by the training window's seasonal naive MAE (Hyndman & Koehler's MASE). */
export function mase(train: ArrayLike<number>, actual: ArrayLike<number>, forecast: ArrayLike<number>, season = 7): number {
  return meanAbsoluteError(actual, forecast) / seasonalNaiveScale(train, season);
}

/** Share of values inside their [lower, upper] interval, bounds included. */
export function intervalCoverage(actual: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>): number {
  let inside = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] >= lower[i] && actual[i] <= upper[i]) inside++;
  return inside / actual.length;
}
