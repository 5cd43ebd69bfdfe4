import type { CustomerModel } from '../clv/customerModel.ts';
import type { LabelledCustomers } from '../clv/hybridTraining.ts';
import { rocAuc, spearman } from './metrics.ts';

/**
 * The publish gate of a retrained model: the candidate and the model that serves now, scored on
 * the same holdout customers (churn ROC-AUC, CLV Spearman). The candidate is refused when either
 * figure falls more than its tolerance below the current model's. No current model: accepted.
 */

export interface HoldoutFigures {
  churnAuc: number;
  clvSpearman: number;
}

export interface ComparisonTolerance {
  /** How far below the current churn AUC the candidate may fall (e.g. 0.01). */
  churnAuc: number;
  /** How far below the current CLV Spearman the candidate may fall (e.g. 0.02). */
  clvSpearman: number;
}

export const DEFAULT_TOLERANCE: ComparisonTolerance = { churnAuc: 0.01, clvSpearman: 0.02 };

export interface ModelComparison {
  holdoutCustomers: number;
  candidate: HoldoutFigures & { version: string };
  current: (HoldoutFigures & { version: string }) | null;
  tolerance: ComparisonTolerance;
  accepted: boolean;
  /** Why it was refused, one sentence per figure; empty when accepted. */
  reasons: string[];
}

export function holdoutFigures(model: CustomerModel, holdout: LabelledCustomers): HoldoutFigures {
  const n = holdout.features.length;
  const churn = new Float64Array(n);
  const clv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const score = model.score(holdout.features[i]);
    churn[i] = score.churnProbability;
    clv[i] = score.clv;
  }
  return { churnAuc: rocAuc(churn, holdout.churn), clvSpearman: spearman(clv, holdout.spend) };
}

export function compareModels(candidate: CustomerModel, current: CustomerModel | null, holdout: LabelledCustomers, tolerance: ComparisonTolerance = DEFAULT_TOLERANCE): ModelComparison {
  const mine = { version: candidate.version, ...holdoutFigures(candidate, holdout) };
  const theirs = current ? { version: current.version, ...holdoutFigures(current, holdout) } : null;
  const reasons: string[] = [];
  if (theirs) {
    if (!(mine.churnAuc >= theirs.churnAuc - tolerance.churnAuc)) {
      reasons.push(`churn AUC ${mine.churnAuc.toFixed(4)} is more than ${tolerance.churnAuc} below the current ${theirs.churnAuc.toFixed(4)}`);
    }
    if (!(mine.clvSpearman >= theirs.clvSpearman - tolerance.clvSpearman)) {
      reasons.push(`CLV Spearman ${mine.clvSpearman.toFixed(4)} is more than ${tolerance.clvSpearman} below the current ${theirs.clvSpearman.toFixed(4)}`);
    }
  }
  return { holdoutCustomers: holdout.features.length, candidate: mine, current: theirs, tolerance, accepted: reasons.length === 0, reasons };
}
