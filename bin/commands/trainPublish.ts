import { modelStoreFor } from '../../aws/modelStore.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { retrainAndPublish } from '../../trainer/retrainAndPublish.ts';

/**
 * `demand-insights train --out s3://bucket/prefix` (or `--out dir/`): the trainer Lambda's
 * retrain-compare-publish on a laptop, with the same refusal rule; `--force` publishes anyway.
 * A refusal exits non-zero, so a script that publishes notices.
 */
export async function publishFromLaptop(
  events: readonly OrderEvent[],
  options: { store: string; calibrationEnd: string; horizonDays: number; force: boolean; s3Endpoint?: unknown },
): Promise<void> {
  const endpoint = typeof options.s3Endpoint === 'string' ? options.s3Endpoint : undefined;
  const store = modelStoreFor(options.store, { endpoint });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const run = await retrainAndPublish(store, events, {
    horizonDays: options.horizonDays,
    calibrationEnd: options.calibrationEnd,
    force: options.force,
    log: { info: (message) => say(message), warn: (message) => say(`warning: ${message}`), error: (message) => process.stderr.write(`${message}\n`) },
  });
  const { candidate, current, holdoutCustomers } = run.comparison;
  say(`  holdout (${holdoutCustomers} customers never trained on): candidate churn AUC ${candidate.churnAuc.toFixed(4)}, CLV Spearman ${candidate.clvSpearman.toFixed(4)}`);
  if (current) say(`  serving ${current.version}: churn AUC ${current.churnAuc.toFixed(4)}, CLV Spearman ${current.clvSpearman.toFixed(4)}`);
  if (run.published) say(`  ${store.uri}/models/current.json -> ${run.version}`);
  else {
    say('  not published (use --force to publish anyway)');
    process.exitCode = 3;
  }
}
