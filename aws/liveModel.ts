import { readFile } from 'node:fs/promises';
import type { CustomerFeatures } from '../models/customer/customerFeatures.ts';
import type { CustomerModel, ModelScore } from '../models/clv/customerModel.ts';
import { ModelRefused, parsePointer, readPublished } from './modelPublication.ts';
import { type ModelStore, modelStoreFor } from './modelStore.ts';

/**
 * The model a container serves, hot-swapped from a model store (MODEL_URI) without a redeploy.
 *
 * Loaded once per container; after that, `refresh()` (called by the handler before it scores)
 * looks at the store's pointer at most once per interval, with a conditional GET that costs a
 * 304 while nothing changed. A new version is read, checked (checksum, JSON, the model's own
 * validation, the version it claims) and swapped in between invocations, never within one.
 * Anything wrong keeps the model that serves: a refused artifact is logged and counted once
 * (its pointer tag is remembered, so it is not fetched again until the pointer moves); a store
 * that cannot be reached is logged, counted and tried again at the next interval. When the store
 * cannot give a model at cold start, the bundled one serves.
 */

export type LiveModelMetric = 'ModelsLoaded' | 'ModelsRefused' | 'ModelStoreUnreachable' | 'ModelFallbackServed';

export interface LiveModelLog {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface LiveModelOptions {
  store: ModelStore;
  /** The model's own validation (loadModel): throws on an artifact it cannot serve. */
  load: (json: unknown) => CustomerModel;
  /** The bundled model.json: what serves when the store has none to give at cold start. */
  fallback: () => Promise<CustomerModel>;
  intervalMs: number;
  now?: () => number;
  log: LiveModelLog;
  count?: (metric: LiveModelMetric) => void;
}

export type RefreshOutcome =
  | { status: 'not-due' }
  | { status: 'unchanged' }
  | { status: 'loaded'; version: string; previous: string }
  | { status: 'refused'; reason: string; version?: string }
  | { status: 'unreachable'; error: string };

export class LiveModel implements CustomerModel {
  private current!: CustomerModel;
  /** Where the serving model came from. */
  source: 'store' | 'bundled' = 'bundled';
  private tag: string | undefined;
  private nextCheckAt = 0;
  private inFlight: Promise<RefreshOutcome> | undefined;
  private readonly now: () => number;

  private constructor(private readonly options: LiveModelOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  /** The cold start: the store's current model, else the bundled one (the store is tried again after an interval). */
  static async open(options: LiveModelOptions): Promise<LiveModel> {
    const live = new LiveModel(options);
    const outcome = await live.check(undefined);
    if (outcome.status !== 'loaded') {
      live.current = await options.fallback();
      options.count?.('ModelFallbackServed');
      options.log.warn('serving the bundled model', { version: live.current.version, store: options.store.uri, because: outcome });
    }
    return live;
  }

  get version(): string {
    return this.current.version;
  }

  get horizonDays(): number {
    return this.current.horizonDays;
  }

  score(features: CustomerFeatures): ModelScore {
    return this.current.score(features);
  }

  churnProbability(features: CustomerFeatures): number {
    return this.current.churnProbability(features);
  }

  /** Looks at the pointer when an interval has passed since the last look; concurrent callers share one look. */
  refresh(): Promise<RefreshOutcome> {
    if (this.inFlight) return this.inFlight;
    if (this.now() < this.nextCheckAt) return Promise.resolve({ status: 'not-due' });
    this.inFlight ??= this.check(this.tag).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async check(knownTag: string | undefined): Promise<RefreshOutcome> {
    const { store, log, count } = this.options;
    // Due again one interval after this look, whatever it finds: a store that is down is not hammered.
    this.nextCheckAt = this.now() + this.options.intervalMs;
    let tag: string | undefined;
    try {
      const read = await store.readPointer(knownTag);
      if (read.status === 'unchanged') return { status: 'unchanged' };
      if (read.status === 'missing') return this.refuse({ reason: 'no-pointer' }, `no model published in ${store.uri}`, undefined);
      tag = read.tag;
      const pointer = parsePointer(read.text);
      if (this.current && this.source === 'store' && pointer.version === this.current.version) {
        this.tag = tag;
        return { status: 'unchanged' };
      }
      const model = await readPublished(store, pointer, this.options.load);
      if (model.version !== pointer.version) throw new ModelRefused('incompatible', pointer.version, `the artifact is model ${model.version}`);
      const previous = this.current?.version ?? '(none)';
      this.current = model;
      this.source = 'store';
      this.tag = tag;
      count?.('ModelsLoaded');
      log.info('model loaded from the store', { version: model.version, previous, store: store.uri, publishedAt: pointer.publishedAt, reason: pointer.reason });
      return { status: 'loaded', version: model.version, previous };
    } catch (error) {
      if (error instanceof ModelRefused) {
        // Not fetched again until the pointer moves: the same bytes would be refused again.
        this.tag = tag;
        count?.('ModelsRefused');
        return this.refuse({ reason: error.reason, version: error.version }, error.message, error);
      }
      count?.('ModelStoreUnreachable');
      log.warn('model store unreachable; keeping the model that serves, trying again next interval', {
        store: store.uri,
        serving: this.current?.version ?? '(cold start)',
        retryInMs: this.options.intervalMs,
        error: error as Error,
      });
      return { status: 'unreachable', error: (error as Error).message };
    }
  }

  private refuse(what: { reason: string; version?: string }, message: string, error: ModelRefused | undefined): RefreshOutcome {
    const level = error ? 'error' : 'warn';
    this.options.log[level](`model not taken: ${message}; keeping the model that serves`, { store: this.options.store.uri, serving: this.current?.version ?? '(cold start)', ...what });
    return { status: 'refused', ...what };
  }
}

/** What a handler holds: the model to score with, and the look it takes before each invocation. */
export interface ServingModel {
  model: CustomerModel;
  refresh(): Promise<RefreshOutcome>;
}

export interface ServingModelOptions {
  /** MODEL_URI: `s3://bucket/prefix` or a directory; unset, the bundled model serves for the container's life. */
  uri?: string;
  store?: ModelStore;
  /** MODEL_PATH: the bundled model.json. */
  bundledPath: string;
  intervalMs: number;
  load: (json: unknown) => CustomerModel;
  log: LiveModelLog;
  count?: (metric: LiveModelMetric) => void;
  now?: () => number;
  /** Local stand-ins only: the S3 endpoint. */
  s3Endpoint?: string;
  region?: string;
}

/** The model of a consumer, sweep or API container, by MODEL_URI (hot-loaded) or MODEL_PATH alone. */
export async function openServingModel(options: ServingModelOptions): Promise<ServingModel> {
  const bundled = async () => options.load(JSON.parse(await readFile(options.bundledPath, 'utf8')));
  if (!options.uri && !options.store) {
    const model = await bundled();
    return { model, refresh: async () => ({ status: 'not-due' }) };
  }
  const store = options.store ?? modelStoreFor(options.uri!, { endpoint: options.s3Endpoint, region: options.region });
  const live = await LiveModel.open({ store, load: options.load, fallback: bundled, intervalMs: options.intervalMs, now: options.now, log: options.log, count: options.count });
  return { model: live, refresh: () => live.refresh() };
}
