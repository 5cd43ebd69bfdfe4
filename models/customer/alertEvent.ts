import { z } from 'zod';

/**
 * The one definition of an alert: "Customer At Risk" and "Customer Recovered" events on the bus.
 * The TypeScript types are inferred from these schemas, and the published JSON Schemas
 * (consumers/alerts/schemas/*.schema.json) are generated from them by consumers/alerts/alertSchemas.ts.
 */
export const ALERT_SOURCE = 'demand-insights';
export const ALERT_DETAIL_TYPES = ['Customer At Risk', 'Customer Recovered', 'Customer Not Returning'] as const;

export const AlertTypeSchema = z.enum(ALERT_DETAIL_TYPES);
export type AlertType = z.infer<typeof AlertTypeSchema>;

export const AlertDetailSchema = z.object({
  eventId: z.string().describe('Deterministic: the same transition always has the same id, so subscribers can deduplicate.'),
  customerId: z.string(),
  churnProbability: z.number().min(0).max(1).describe('Probability of no purchase over the model horizon, now.'),
  previousChurnProbability: z.number().min(0).max(1).nullable().describe('The churn probability before this transition, if scored before.'),
  clv: z.number().describe('Expected spend over the model horizon.'),
  expectedLoss: z
    .number()
    .describe('Churn probability × the CLV the customer had at the end of its last purchase day: what is expected to be lost over the model horizon.'),
  segment: z.string().nullable().describe("The customer's RFM segment name (as the segments endpoint names them), null when no segment model is loaded."),
  trigger: z.enum(['churn', 'expected-loss', 'risk-rise', 'spend-at-risk']).describe('The risk measure of the policy that announces a repeat customer at risk (models/customer/riskPolicy.ts).'),
  level: z.number().describe("The policy's level for that measure: a probability for churn and risk-rise, currency for expected-loss."),
  modelVersion: z.string(),
  asOf: z.iso.datetime().describe('Event time the score is as of: the latest event of the customer, or for an at-risk crossing noticed in silence the start of the day it happened.'),
  drivers: z.record(z.string(), z.number()).describe('The features that drove the score.'),
});
export type AlertDetail = z.infer<typeof AlertDetailSchema>;

/** An alert decided and not yet confirmed published: what a customer's outbox holds and sinks publish. */
export const PendingAlertSchema = z.object({
  detailType: AlertTypeSchema,
  detail: AlertDetailSchema,
});
export type PendingAlert = z.infer<typeof PendingAlertSchema>;
