import { z } from 'zod';
import { DEFAULT_DUPLICATE_HORIZON_DAYS } from '../models/customer/customerState.ts';
import { DEFAULT_EARLIEST_EVENT_TIME, DEFAULT_MAX_EVENT_SKEW_HOURS, type EventTimeBounds, eventTimeBounds } from '../models/customer/orderEvent.ts';
import { DEFAULT_RISK_POLICY, RISK_TRIGGERS, type RiskPolicy } from '../models/customer/riskPolicy.ts';

/** The consumer and sweep Lambdas' configuration, from the environment, validated once at cold start. */
export const ConsumerEnvSchema = z.object({
  STATE_TABLE: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1).default('default'),
  DEAD_LETTER_QUEUE_URL: z.string().url(),
  MODEL_PATH: z.string().min(1).default('./model.json'),
  /** Published models (s3://bucket/prefix or a directory), hot-loaded; unset, MODEL_PATH serves alone. */
  MODEL_URI: z.string().trim().min(1).optional(),
  /** How often, at most, a container looks at the model store's pointer for a new version. */
  MODEL_REFRESH_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Segment model for alert segment names (models/segmentation); unset, alerts say segment null. */
  SEGMENT_MODEL_PATH: z.string().min(1).optional(),
  /** The at-risk measure of repeat customers and its level (models/customer/riskPolicy.ts). */
  RISK_TRIGGER: z.enum(RISK_TRIGGERS).default(DEFAULT_RISK_POLICY.trigger),
  RISK_LEVEL: z.coerce.number().positive().default(DEFAULT_RISK_POLICY.level),
  RISK_MIN_CHURN: z.coerce.number().min(0).max(1).default(DEFAULT_RISK_POLICY.minChurn),
  /** Days of silence after a first purchase before "Customer Not Returning"; 0: never. */
  NOT_RETURNING_AFTER_DAYS: z.coerce.number().int().min(0).max(3_650).default(DEFAULT_RISK_POLICY.notReturningAfterDays),
  SCORE_CLOCK: z.enum(['event', 'wall']).default('wall'),
  SWEEP_BATCH_LIMIT: z.coerce.number().int().min(1).max(100_000).default(5_000),
  /** Days of event time for which a producer retry (same type and order id) is ignored. */
  DUPLICATE_HORIZON_DAYS: z.coerce.number().int().min(1).max(3_650).default(DEFAULT_DUPLICATE_HORIZON_DAYS),
  /** Orders before this time (ISO-8601 date or date-time) are dead-lettered. */
  EARLIEST_EVENT_TIME: z
    .string()
    .refine((text) => !Number.isNaN(Date.parse(text)), 'must be an ISO-8601 date or date-time')
    .default(DEFAULT_EARLIEST_EVENT_TIME),
  /** Orders later than the wall clock plus this many hours are dead-lettered. */
  MAX_EVENT_SKEW_HOURS: z.coerce.number().min(0).max(8_760).default(DEFAULT_MAX_EVENT_SKEW_HOURS),
  AWS_REGION: z.string().optional(),
  /** Local stand-ins only: endpoint overrides. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  EVENTBRIDGE_ENDPOINT: z.string().url().optional(),
  SQS_ENDPOINT: z.string().url().optional(),
  S3_ENDPOINT: z.string().url().optional(),
});

export type ConsumerEnv = z.infer<typeof ConsumerEnvSchema>;

export function riskPolicyOf(env: Pick<ConsumerEnv, 'RISK_TRIGGER' | 'RISK_LEVEL' | 'RISK_MIN_CHURN' | 'NOT_RETURNING_AFTER_DAYS'>): RiskPolicy {
  return { ...DEFAULT_RISK_POLICY, trigger: env.RISK_TRIGGER, level: env.RISK_LEVEL, minChurn: env.RISK_MIN_CHURN, notReturningAfterDays: env.NOT_RETURNING_AFTER_DAYS };
}

export function eventTimeBoundsOf(env: Pick<ConsumerEnv, 'EARLIEST_EVENT_TIME' | 'MAX_EVENT_SKEW_HOURS'>): EventTimeBounds {
  return eventTimeBounds(env.EARLIEST_EVENT_TIME, env.MAX_EVENT_SKEW_HOURS);
}

export function readConsumerEnv(env: NodeJS.ProcessEnv = process.env): ConsumerEnv {
  const parsed = ConsumerEnvSchema.refine((e) => e.RISK_TRIGGER === 'expected-loss' || e.RISK_TRIGGER === 'spend-at-risk' || e.RISK_LEVEL < 1, {
    message: 'must be below 1 for the churn and risk-rise triggers (a probability; currency for expected-loss and spend-at-risk)',
    path: ['RISK_LEVEL'],
  }).safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid consumer configuration: ${problems}`);
  }
  return parsed.data;
}

/**
 * V8 flags the consumer and sweep Lambdas run with (terraform/main.tf puts them in NODE_OPTIONS;
 * a test keeps the two equal), and `bench consumer` too, so it measures the handler as deployed.
 * A larger young generation: a batch's working copies of customer states are short-lived, and
 * every young-generation collection that finds them alive copies them.
 */
export const CONSUMER_V8_FLAGS = ['--max-semi-space-size=32'] as const;
