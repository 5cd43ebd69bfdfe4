import type { CustomerFeatures } from '../customer/customerFeatures.ts';

/** What a trained model says about one customer over its horizon. */
export interface ModelScore {
  /** Probability of no purchase over the horizon (not 1 - P(alive)). */
  churnProbability: number;
  /** Expected spend over the horizon. */
  clv: number;
  pAlive: number;
  expectedPurchases: number;
  expectedSpend: number;
}

/**
 * The scoring side of a model artifact, as the consumer, the sweep and the API use it.
 * Implementations are pure and score one customer in microseconds.
 */
export interface CustomerModel {
  readonly version: string;
  readonly horizonDays: number;
  score(features: CustomerFeatures): ModelScore;
  /** Churn probability alone: the sweep's due-time search evaluates it many times. */
  churnProbability(features: CustomerFeatures): number;
}
