import { z } from 'zod';
import { AthenaEnvSchema } from '../api/engines/athenaEngine.ts';

/** The trainer Lambda's environment (terraform/trainer.tf), checked with zod on the first invocation. */
export const TrainerEnvSchema = AthenaEnvSchema.extend({
  /** The model store it publishes to: s3://bucket/prefix (models/ and the UNLOAD's training-data/ go under it). */
  MODEL_URI: z.string().trim().regex(/^s3:\/\/[a-z0-9.-]+(\/[A-Za-z0-9._\-/]*)?$/, 'must be an s3:// location'),
  /** Days of the lake read, back from today. */
  TRAINING_DAYS: z.coerce.number().int().min(30).max(3_650).default(730),
  /** The churn/CLV horizon, as `train --horizon-days`. */
  HORIZON_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  /** How far below the serving model's holdout figures a candidate may fall and still be published. */
  TOLERANCE_CHURN_AUC: z.coerce.number().min(0).max(1).default(0.01),
  TOLERANCE_CLV_SPEARMAN: z.coerce.number().min(0).max(2).default(0.02),
  /** Per Athena statement (default 10 minutes), below the function's timeout. */
  TRAINER_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(600_000),
  /** A local stand-in only. */
  S3_ENDPOINT: z.string().url().optional(),
});

export type TrainerEnv = z.infer<typeof TrainerEnvSchema>;

export function readTrainerEnv(env: NodeJS.ProcessEnv = process.env): TrainerEnv {
  const parsed = TrainerEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid trainer configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return parsed.data;
}

/** The input a schedule sends (`{}`) or a person does: `{"force": true}` publishes even a worse model. */
export const TrainerRequestSchema = z.object({ force: z.boolean().default(false) }).strict();
