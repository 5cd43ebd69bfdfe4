/**
 * Quality metrics for churn and CLV predictions, defined as in ../shared/protocols/cdnow.md
 * (scikit-learn / scipy conventions): ROC-AUC and average precision with tied scores handled
 * as scikit-learn does, Brier score, a reliability table, MAE, RMSE, Spearman with average
 * ranks, the top-10% share with ties broken by ascending customer id, and the total ratio.
 */

import { compareCustomerIds } from '../customer/customerIds.ts';

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: ${a.length} predictions for ${b.length} targets`);
  if (a.length === 0) throw new RangeError(`${what}: no rows`);
}

/** Indices sorted by score descending (ties in index order, which no metric below depends on). */
function byScoreDescending(scores: ArrayLike<number>): Uint32Array {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((i, j) => scores[j] - scores[i] || i - j);
}

/**
 * Area under the ROC curve for `labels` (1 = positive) ranked by `scores` (higher = more
 * positive). Tied scores count one half, as the trapezoidal ROC of scikit-learn does.
 * NaN when only one class is present.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(scores, labels, 'rocAuc');
  const ranks = averageRanks(scores);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      positives++;
      rankSum += ranks[i];
    }
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision (scikit-learn's average_precision_score): Σ over distinct score thresholds,
 * from the highest, of (recall gain) × (precision at that threshold); tied scores enter together.
 * NaN without positives.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(scores, labels, 'averagePrecision');
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  if (positives === 0) return NaN;
  const order = byScoreDescending(scores);
  let truePositives = 0;
  let seen = 0;
  let ap = 0;
  let i = 0;
  while (i < order.length) {
    const value = scores[order[i]];
    let gained = 0;
    while (i < order.length && scores[order[i]] === value) {
      if (labels[order[i]] === 1) gained++;
      seen++;
      i++;
    }
    truePositives += gained;
    if (gained > 0) ap += (gained / positives) * (truePositives / seen);
  }
  return ap;
}

/** Mean squared difference between a probability and its 0/1 label. */
export function brierScore(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(probabilities, labels, 'brierScore');
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (probabilities[i] - labels[i]) ** 2;
  return sum / labels.length;
}

export interface ReliabilityBin {
  /** 1-based decile (or bin) of the predicted probability, lowest first. */
  bin: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/**
 * Reliability table: customers sorted by predicted probability (ties by index) and cut into
 * `bins` groups of equal size (deciles by default); each group's mean prediction against its
 * observed positive rate. A calibrated model has the two close in every group.
 */
export function reliabilityTable(probabilities: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  checkLengths(probabilities, labels, 'reliabilityTable');
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const n = labels.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((i, j) => probabilities[i] - probabilities[j] || i - j);
  const table: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const start = Math.floor((b * n) / bins);
    const end = Math.floor(((b + 1) * n) / bins);
    if (end <= start) continue;
    let predicted = 0;
    let observed = 0;
    for (let k = start; k < end; k++) {
      predicted += probabilities[order[k]];
      observed += labels[order[k]];
    }
    table.push({ bin: b + 1, count: end - start, meanPredicted: predicted / (end - start), observedRate: observed / (end - start) });
  }
  return table;
}

export function meanAbsoluteError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  checkLengths(predictions, targets, 'meanAbsoluteError');
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += Math.abs(predictions[i] - targets[i]);
  return sum / targets.length;
}

export function rootMeanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  checkLengths(predictions, targets, 'rootMeanSquaredError');
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += (predictions[i] - targets[i]) ** 2;
  return Math.sqrt(sum / targets.length);
}

/** 1-based ranks, tied values sharing the mean of their ranks (scipy.stats.rankdata 'average'). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i] - values[j] || i - j);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && values[order[j]] === values[order[i]]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** Spearman rank correlation: Pearson correlation of average ranks (scipy.stats.spearmanr). */
export function spearman(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  checkLengths(predictions, targets, 'spearman');
  return pearson(averageRanks(predictions), averageRanks(targets));
}

/**
 * Share of the total actual value taken by the top `fraction` of customers by prediction:
 * sorted by prediction descending, ties by ascending customer id, the first ceil(fraction × N).
 */
export function topShare(predictions: ArrayLike<number>, targets: ArrayLike<number>, customerIds: readonly string[], fraction = 0.1): number {
  checkLengths(predictions, targets, 'topShare');
  if (customerIds.length !== targets.length) throw new RangeError(`topShare: ${customerIds.length} ids for ${targets.length} targets`);
  const n = targets.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => predictions[j] - predictions[i] || compareCustomerIds(customerIds[i], customerIds[j]),
  );
  const k = Math.ceil(fraction * n);
  let top = 0;
  let total = 0;
  for (let i = 0; i < n; i++) total += targets[i];
  for (let i = 0; i < k; i++) top += targets[order[i]];
  return total > 0 ? top / total : NaN;
}

/** Σ predictions ÷ Σ targets. */
export function totalRatio(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  checkLengths(predictions, targets, 'totalRatio');
  let p = 0;
  let t = 0;
  for (let i = 0; i < targets.length; i++) {
    p += predictions[i];
    t += targets[i];
  }
  return t !== 0 ? p / t : NaN;
}

export interface ChurnMetrics {
  rocAuc: number;
  prAuc: number;
  /** Average precision with holdout buyers as positives and the negated score (base rate ≈ 1 − churn rate). */
  prAucActive: number;
  brier: number;
}

export function churnMetrics(probabilities: ArrayLike<number>, churned: ArrayLike<number>): ChurnMetrics {
  const negated = Float64Array.from(probabilities, (p) => -p);
  const active = Float64Array.from(churned, (y) => 1 - y);
  return {
    rocAuc: rocAuc(probabilities, churned),
    prAuc: averagePrecision(probabilities, churned),
    prAucActive: averagePrecision(negated, active),
    brier: brierScore(probabilities, churned),
  };
}

export interface ClvMetrics {
  mae: number;
  rmse: number;
  spearman: number;
  top10Share: number;
  totalRatio: number;
}

export function clvMetrics(predictions: ArrayLike<number>, targets: ArrayLike<number>, customerIds: readonly string[]): ClvMetrics {
  return {
    mae: meanAbsoluteError(predictions, targets),
    rmse: rootMeanSquaredError(predictions, targets),
    spearman: spearman(predictions, targets),
    top10Share: topShare(predictions, targets, customerIds, 0.1),
    totalRatio: totalRatio(predictions, targets),
  };
}
