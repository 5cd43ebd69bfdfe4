import { z } from 'zod';
import { DAY_MS, isoDay } from '../models/time/calendar.ts';
import { featuresOf } from '../models/customer/customerFeatures.ts';
import { applyEvent, type CustomerState, emptyState } from '../models/customer/customerState.ts';
import { HybridModel } from '../models/clv/hybridModel.ts';
import { trainHybridFromEvents } from '../models/clv/hybridTraining.ts';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import { TreeRandom } from '../models/trees/treeRandom.ts';
import { generateEvents } from '../producers/syntheticGenerator.ts';

/**
 * `demand-insights bench score`: full churn + CLV rescoring of synthetic customer state records
 * on one core. The timed part is exactly what the consumer does to score a customer: features
 * from the state record (featuresOf) and the hybrid model's score (BTYD outputs, both tree
 * ensembles, both linear terms) as of one time. Building the states, training the model and
 * loading it from its serialised artifact happen before the clock starts.
 *
 * - the model: the hybrid model trained by `demand-insights train` on 20,000 customers of the
 *   project's synthetic generator (90-day horizon), loaded from its JSON;
 * - the states: `customers` distinct records built with applyEvent from seeded synthetic orders
 *   (1 to ~40 purchase days over two years, log-normal amounts, some returns);
 * - reported: the median of `repeats` timed passes over all customers (after a warm-up pass).
 */
const OptionsSchema = z.object({
  customers: z.coerce.number().int().min(1_000).max(5_000_000).default(1_000_000),
  repeats: z.coerce.number().int().min(1).max(9).default(3),
  json: z.boolean().default(false),
});

export interface ScoreBenchResult {
  customers: number;
  seconds: number;
  customersPerSec: number;
}

const HISTORY_DAYS = 730;
const AS_OF = '2025-06-30';

export async function run(options: Record<string, unknown>): Promise<void> {
  const o = OptionsSchema.parse({ customers: options.customers, repeats: options.repeats, json: options.json ?? false });
  const log = (line: string) => {
    if (!o.json) process.stderr.write(`${line}\n`);
  };
  const detail = measure(o.customers, o.repeats, log);
  const result: ScoreBenchResult = { customers: detail.customers, seconds: detail.seconds, customersPerSec: detail.customersPerSec };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    [
      `${result.customers.toLocaleString('en')} customers rescored (features + churn + CLV) in ${result.seconds.toFixed(3)} s on one core`,
      `  ${Math.round(result.customersPerSec).toLocaleString('en')} customers/s, ${((result.seconds / result.customers) * 1e6).toFixed(2)} µs each`,
      `  passes: ${detail.passes.map((s) => s.toFixed(3)).join(', ')} s (median reported)`,
      `  model ${detail.modelVersion}: ${detail.churnTrees} churn trees, ${detail.clvTrees} CLV trees, artifact ${(detail.artifactBytes / 1024).toFixed(0)} KB`,
      `  churnProbability alone (the sweep's due-time search): ${detail.churnOnlyMicros.toFixed(2)} µs per call`,
      '',
    ].join('\n'),
  );
}

export interface ScoreBenchDetail extends ScoreBenchResult {
  passes: number[];
  modelVersion: string;
  churnTrees: number;
  clvTrees: number;
  artifactBytes: number;
  churnOnlyMicros: number;
}

export function measure(customers: number, repeats = 3, log: (line: string) => void = () => {}): ScoreBenchDetail {
  log('training the model on synthetic history...');
  const artifact = benchModelArtifact();
  const json = JSON.stringify(artifact);
  const model = HybridModel.load(JSON.parse(json));
  log(`building ${customers.toLocaleString('en')} state records...`);
  const asOfMs = Date.parse(`${AS_OF}T23:59:59.999Z`);
  const states = syntheticStates(customers, asOfMs, 7);
  let sink = 0;
  const pass = () => {
    const started = performance.now();
    for (let i = 0; i < states.length; i++) {
      const score = model.score(featuresOf(states[i], asOfMs));
      sink += score.churnProbability + score.clv;
    }
    return (performance.now() - started) / 1000;
  };
  log('warm-up pass...');
  pass();
  const passes: number[] = [];
  for (let r = 0; r < repeats; r++) {
    log(`timed pass ${r + 1}/${repeats}...`);
    passes.push(pass());
  }
  const churnCalls = Math.min(states.length, 200_000);
  const started = performance.now();
  for (let i = 0; i < churnCalls; i++) sink += model.churnProbability(featuresOf(states[i], asOfMs + (i % 60) * DAY_MS));
  const churnOnlyMicros = ((performance.now() - started) * 1000) / churnCalls;
  if (!Number.isFinite(sink)) throw new Error('non-finite scores');
  const seconds = median(passes);
  return {
    customers: states.length,
    seconds: round(seconds),
    customersPerSec: Math.round(states.length / seconds),
    passes,
    modelVersion: model.version,
    churnTrees: artifact.churn.trees.length,
    clvTrees: artifact.clv.trees.length,
    artifactBytes: json.length,
    churnOnlyMicros,
  };
}

/** The model the benchmark scores with: trained on the synthetic generator's history, as `train` would. */
export function benchModelArtifact() {
  const events = generateEvents({ customers: 20_000, days: HISTORY_DAYS, seed: 42, start: isoDay(Date.parse(`${AS_OF}T00:00:00Z`) / DAY_MS - HISTORY_DAYS + 1) });
  return trainHybridFromEvents(events, { calibrationEnd: AS_OF, horizonDays: 90 });
}

/**
 * `count` state records from seeded synthetic orders: first purchase anywhere in the two years
 * before the as-of time, a customer-specific purchase rate and spend level, a chance to stop
 * buying after each purchase, and a few returns.
 */
export function syntheticStates(count: number, asOfMs: number, seed: number): CustomerState[] {
  const random = new TreeRandom(seed);
  const lastDay = Math.floor(asOfMs / DAY_MS);
  const states: CustomerState[] = new Array(count);
  const line = { productId: 'P', quantity: 1, unitPrice: 0 };
  const event: OrderEvent = { type: 'order', orderId: '', customerId: '', occurredAt: '', lines: [line] };
  for (let i = 0; i < count; i++) {
    const id = `C${i}`;
    const state = emptyState(id);
    event.customerId = id;
    let day = lastDay - random.nextInt(HISTORY_DAYS);
    const gapDays = 7 + 120 * random.nextFloat() ** 2;
    const level = Math.exp(3 + 0.8 * random.nextGaussian());
    const dropout = 0.05 + 0.4 * random.nextFloat();
    for (let k = 0; day <= lastDay && k < 60; k++) {
      event.type = 'order';
      event.orderId = `${id}-${k}`;
      line.quantity = 1 + random.nextInt(4);
      line.unitPrice = Math.round((level * Math.exp(0.4 * random.nextGaussian()) * 100) / line.quantity) / 100;
      applyEvent(state, event, undefined, day * DAY_MS + 36_000_000);
      if (random.nextFloat() < 0.04 && day + 3 <= lastDay) {
        event.type = 'return';
        event.orderId = `${id}-${k}-r`;
        applyEvent(state, event, undefined, (day + 3) * DAY_MS + 36_000_000);
      }
      if (random.nextFloat() < dropout) break;
      day += 1 + Math.floor(-gapDays * Math.log(1 - random.nextFloat()));
    }
    states[i] = state;
  }
  return states;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
