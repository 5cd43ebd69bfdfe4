import { foldOf, buildPanel, type CustomerPanel } from '../models/clv/customerPanel.ts';
import type { CustomerModel } from '../models/clv/customerModel.ts';
import { fitHybrid, type HybridTrainingOptions, type LabelledCustomers } from '../models/clv/hybridTraining.ts';
import type { HybridArtifact } from '../models/clv/hybridModel.ts';
import { loadModel } from '../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import { compareModels, type ComparisonTolerance, DEFAULT_TOLERANCE, type ModelComparison } from '../models/evaluation/modelComparison.ts';
import { dayIndex, isoDay } from '../models/time/calendar.ts';

/**
 * One retraining, pure: features as of the last day minus the horizon, labels over the horizon
 * up to the last day (as `train --model hybrid`), the customers of one fixed fold held out. The
 * candidate is fitted on the other folds and compared with the serving model on the held-out
 * customers. The fold is the same every run (the protocol's customer-id rule), so a model this
 * trainer published never saw the customers it is judged on, nor does its successor.
 */

/** The fold held out of training for the comparison: customers whose id falls in it are never trained on. */
export const HOLDOUT_FOLD = 0;

export interface RetrainOptions {
  horizonDays: number;
  /** Last day of the data (YYYY-MM-DD); default the day of the latest event. */
  calibrationEnd?: string;
  tolerance?: ComparisonTolerance;
  training?: Partial<HybridTrainingOptions>;
}

export interface Retraining {
  artifact: HybridArtifact;
  comparison: ModelComparison;
  calibrationEnd: string;
  trainingCustomers: number;
}

export function retrain(events: readonly OrderEvent[], current: CustomerModel | null, options: RetrainOptions): Retraining {
  if (events.length === 0) throw new RangeError('no training events');
  const calibrationEnd = options.calibrationEnd ?? isoDay(lastDay(events));
  const featureDay = isoDay(dayIndex(Date.parse(`${calibrationEnd}T00:00:00Z`)) - options.horizonDays);
  const panel = buildPanel(events, { calibrationEnd: featureDay, holdoutEnd: calibrationEnd });
  const train = rowsOf(panel, (fold) => fold !== HOLDOUT_FOLD);
  const holdout = rowsOf(panel, (fold) => fold === HOLDOUT_FOLD);
  if (train.customerIds.length === 0 || holdout.customerIds.length === 0) {
    throw new RangeError(`${panel.customerIds.length} customers bought by ${featureDay}: too few to train and hold out`);
  }
  const artifact = fitHybrid(train, { horizonDays: options.horizonDays, calibrationEnd: featureDay, events: panel.calibrationEvents }, options.training);
  // Judged as it would serve: serialised, validated, loaded.
  const candidate = loadModel(JSON.parse(JSON.stringify(artifact)));
  const comparison = compareModels(candidate, current, holdout, options.tolerance ?? DEFAULT_TOLERANCE);
  return { artifact, comparison, calibrationEnd, trainingCustomers: train.customerIds.length };
}

function lastDay(events: readonly OrderEvent[]): number {
  let last = -Infinity;
  for (const event of events) last = Math.max(last, dayIndex(Date.parse(event.occurredAt)));
  return last;
}

function rowsOf(panel: CustomerPanel, keep: (fold: number) => boolean): LabelledCustomers {
  const rows: number[] = [];
  panel.customerIds.forEach((id, i) => {
    if (keep(foldOf(id))) rows.push(i);
  });
  return {
    customerIds: rows.map((i) => panel.customerIds[i]),
    features: rows.map((i) => panel.features[i]),
    churn: Float64Array.from(rows, (i) => panel.churn[i]),
    spend: Float64Array.from(rows, (i) => panel.spend[i]),
  };
}
