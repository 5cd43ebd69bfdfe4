import { z } from 'zod';
import { AthenaEnvSchema, athenaOptionsOf } from '../api/engines/athenaEngine.ts';
import { DEFAULT_EARLIEST_EVENT_TIME, DEFAULT_MAX_EVENT_SKEW_HOURS, type EventTimeBounds, eventTimeBounds } from '../models/customer/orderEvent.ts';
import type { AthenaCurationOptions } from './athenaCurationTarget.ts';

/** The curation Lambda's environment (terraform/curation.tf), checked with zod on the first invocation. */
export const CurationEnvSchema = AthenaEnvSchema.extend({
  /** s3://<lake>/curated: where order_lines and products live and rebuilds are written. */
  CURATED_ROOT: z.string().trim().regex(/^s3:\/\/[a-z0-9.-]+\/[A-Za-z0-9._\-/]*$/, 'must be an s3:// location with a prefix'),
  /** Whole days before today a scheduled run rebuilds (late arrivals, Firehose buffering). */
  LOOKBACK_DAYS: z.string().regex(/^\d+$/, 'must be a whole number of days').transform(Number).pipe(z.number().max(90)).default(3),
  /** How long a superseded rebuild stays in S3 after its run started (a query planned on it must finish first): 24 h. */
  GRACE_MINUTES: z.string().regex(/^\d+$/, 'must be a whole number of minutes').transform(Number).default(1440),
  /** An S3 endpoint (a local stand-in); AWS's own by default. */
  S3_ENDPOINT: z.string().url().optional(),
  EARLIEST_EVENT_TIME: z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'must be an ISO-8601 time').default(DEFAULT_EARLIEST_EVENT_TIME),
  MAX_EVENT_SKEW_HOURS: z.string().regex(/^\d+(\.\d+)?$/, 'must be a number of hours').transform(Number).default(DEFAULT_MAX_EVENT_SKEW_HOURS),
  /** Per Athena statement (default 10 minutes), below the function's timeout. */
  CURATION_STATEMENT_TIMEOUT_MS: z.string().regex(/^\d+$/, 'must be a whole number of milliseconds').transform(Number).default(600_000),
});

export type CurationEnv = z.infer<typeof CurationEnvSchema>;

export interface CurationConfig {
  athena: AthenaCurationOptions;
  /** Where superseded rebuilds are deleted (the curation Lambda makes its S3 client from it). */
  s3: { region?: string; endpoint?: string };
  lookbackDays: number;
  graceMs: number;
  eventTime: EventTimeBounds;
}

export function readCurationConfig(env: NodeJS.ProcessEnv = process.env): CurationConfig {
  const parsed = CurationEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid curation configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const value = parsed.data;
  const athena = athenaOptionsOf(value);
  return {
    athena: {
      database: athena.database,
      workgroup: athena.workgroup,
      outputLocation: athena.outputLocation,
      region: athena.region,
      endpoint: athena.endpoint,
      curatedRoot: value.CURATED_ROOT,
      timeoutMs: value.CURATION_STATEMENT_TIMEOUT_MS,
    },
    s3: { region: athena.region, ...(value.S3_ENDPOINT ? { endpoint: value.S3_ENDPOINT } : {}) },
    lookbackDays: value.LOOKBACK_DAYS,
    graceMs: value.GRACE_MINUTES * 60_000,
    eventTime: eventTimeBounds(value.EARLIEST_EVENT_TIME, value.MAX_EVENT_SKEW_HOURS),
  };
}
