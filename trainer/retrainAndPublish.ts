import { ModelRefused, parsePointer, publishModel, readPublished } from '../aws/modelPublication.ts';
import type { ModelPointer, ModelStore } from '../aws/modelStore.ts';
import type { CustomerModel } from '../models/clv/customerModel.ts';
import { loadModel } from '../models/clv/modelArtifact.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import type { ModelComparison } from '../models/evaluation/modelComparison.ts';
import { retrain, type RetrainOptions } from './retrain.ts';

/**
 * Retrain, compare with what the store serves, publish or refuse: the trainer Lambda and
 * `demand-insights train --out s3://...` both run this. A candidate worse than the serving model
 * by more than the tolerance is not published (logged and counted as ModelsRejected) unless
 * forced; a serving model the store cannot give back (refused or missing) is no comparison.
 */

export type TrainerMetric = 'ModelsPublished' | 'ModelsRejected' | 'TrainingEvents' | 'TrainingCustomers';

export interface TrainerLog {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface PublishRunOptions extends RetrainOptions {
  force?: boolean;
  now?: () => number;
  log: TrainerLog;
  count?: (metric: TrainerMetric, value: number) => void;
}

export interface PublishRun {
  published: boolean;
  version: string;
  comparison: ModelComparison;
  pointer?: ModelPointer;
  /** The artifact's JSON (written to the store when published). */
  text: string;
}

export async function retrainAndPublish(store: ModelStore, events: readonly OrderEvent[], options: PublishRunOptions): Promise<PublishRun> {
  const { log, count } = options;
  const current = await servingModel(store, log);
  const run = retrain(events, current, options);
  const { comparison } = run;
  const version = run.artifact.version;
  const text = JSON.stringify(run.artifact);
  count?.('TrainingEvents', events.length);
  count?.('TrainingCustomers', run.trainingCustomers);
  if (!comparison.accepted && !options.force) {
    count?.('ModelsRejected', 1);
    log.error(`model ${version} not published: ${comparison.reasons.join('; ')}`, { store: store.uri, comparison });
    return { published: false, version, comparison, text };
  }
  const forced = !comparison.accepted;
  if (forced) log.warn(`model ${version} published although ${comparison.reasons.join('; ')} (forced)`, { store: store.uri, comparison });
  const pointer = await publishModel(store, version, text, { now: options.now, reason: forced ? 'forced' : 'published', evaluation: { ...comparison } });
  count?.('ModelsPublished', 1);
  log.info(`model ${version} published`, { store: store.uri, previous: pointer.previous, comparison });
  return { published: true, version, comparison, pointer, text };
}

/** The model the store serves now, or null when there is none it would serve. */
async function servingModel(store: ModelStore, log: TrainerLog): Promise<CustomerModel | null> {
  const read = await store.readPointer();
  if (read.status !== 'found') return null;
  try {
    return await readPublished(store, parsePointer(read.text), loadModel);
  } catch (error) {
    if (!(error instanceof ModelRefused)) throw error;
    log.warn('the serving model cannot be read back; the candidate is compared with nothing', { store: store.uri, error: error.message });
    return null;
  }
}
