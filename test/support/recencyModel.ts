import type { CustomerFeatures } from '../../models/customer/customerFeatures.ts';
import type { CustomerModel, ModelScore } from '../../models/clv/customerModel.ts';
import { DEFAULT_RISK_POLICY, type RiskPolicy } from '../../models/customer/riskPolicy.ts';

/** The churn-level policy the recency model's closed forms are written against (level 0.6). */
export const CHURN_POLICY: RiskPolicy = { ...DEFAULT_RISK_POLICY, trigger: 'churn', level: 0.6, minChurn: 0 };

/**
 * A transparent model for policy tests: churn grows with days of silence as 1 - exp(-d/scale),
 * so the day it crosses a threshold is known in closed form.
 */
export class RecencyModel implements CustomerModel {
  readonly version = 'recency-test';
  readonly horizonDays = 90;

  constructor(private readonly scaleDays = 60) {}

  churnProbability(features: CustomerFeatures): number {
    return 1 - Math.exp(-features.recencyDays / this.scaleDays);
  }

  score(features: CustomerFeatures): ModelScore {
    const churnProbability = this.churnProbability(features);
    return { churnProbability, clv: features.avgOrderSpend * (1 - churnProbability), pAlive: 1 - churnProbability, expectedPurchases: 1 - churnProbability, expectedSpend: features.avgOrderSpend };
  }
}
