import { z } from 'zod';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { CounterMetrics } from '../../consumers/consumerMetrics.ts';
import { type ConsumerDeps, processRecords } from '../../consumers/customerBatch.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { bootstrapStates } from '../../consumers/stateBootstrap.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { sweepAll } from '../../consumers/sweep.ts';
import { trainHybridFromEvents } from '../../models/clv/hybridTraining.ts';
import type { CustomerModel } from '../../models/clv/customerModel.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import type { AlertType, PendingAlert } from '../../models/customer/alertEvent.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { DEFAULT_RISK_POLICY, RISK_TRIGGERS, type RiskPolicy, type SegmentNamer } from '../../models/customer/riskPolicy.ts';
import { segmentNamer, trainSegmentModel } from '../../models/segmentation/segmentNaming.ts';
import {
  type AlertAt,
  type AlertScores,
  DEFAULT_ALERT_OUTCOME,
  orderHistory,
  scoreAlerts,
  silenceRuleAlerts,
} from '../../models/evaluation/alertEvaluation.ts';
import { DAY_MS, dayIndex, isoDay, parseIsoDay } from '../../models/time/calendar.ts';
import { DATASET_FORMATS, type DatasetFormat, readDataset } from '../../producers/datasets/index.ts';
import { CDNOW_PROTOCOL, customerEvents } from './evalCustomers.ts';

/**
 * `demand-insights eval alerts --data F --format X [--calibration-end D]`: are the at-risk alerts
 * worth acting on (../shared/protocols/alerts.md)? Trains on the history up to the calibration
 * end (default: half the span by time, as `local` splits; CDNOW: 1997-09-30), replays the rest
 * through the real handler and sweep on the in-process store, and scores the "Customer At Risk"
 * alerts by what each customer did next. Beside them: the CRM rule "no order for 90 days, at
 * least 2 orders", and our policy with its level tuned to raise as many scored alerts as the rule.
 */
const EvalAlertsOptionsSchema = z.object({
  data: z.string({ error: 'eval alerts needs --data <file>' }).min(1),
  format: z.enum(DATASET_FORMATS, { error: `--format must be one of ${DATASET_FORMATS.join(', ')}` }),
  calibrationEnd: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD').optional(),
  trigger: z.enum(RISK_TRIGGERS).default(DEFAULT_RISK_POLICY.trigger),
  level: z.coerce.number().positive().optional(),
  notReturningAfterDays: z.coerce.number().int().min(0).max(3_650).default(DEFAULT_RISK_POLICY.notReturningAfterDays),
  minChurn: z.coerce.number().min(0).max(1).optional(),
  batchSize: z.coerce.number().int().min(1).max(10_000).default(100),
  json: z.boolean().default(false),
});

export interface AlertEvalJson {
  alerts: number;
  scored: number;
  precision: number;
  valueAtStake: number;
  shareSinglePurchase: number;
  shareOnOrderDay: number;
  repeatCustomerAlerts: number;
  notReturning: number;
  rule: Pick<AlertScores, 'alerts' | 'scored' | 'precision' | 'valueAtStake'>;
  atRuleVolume: Pick<AlertScores, 'alerts' | 'scored' | 'precision' | 'valueAtStake'> & { level: number };
  policy: RiskPolicy;
  window: { from: string; to: string; lastObserved: string };
}

export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = EvalAlertsOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const result = await evaluateAlerts({
    data: options.data,
    format: options.format,
    calibrationEnd: options.calibrationEnd,
    policy: {
      ...DEFAULT_RISK_POLICY,
      trigger: options.trigger,
      level: options.level ?? (options.trigger === DEFAULT_RISK_POLICY.trigger ? DEFAULT_RISK_POLICY.level : defaultLevel(options.trigger)),
      notReturningAfterDays: options.notReturningAfterDays,
      minChurn: options.minChurn ?? (options.trigger === 'churn' ? 0 : DEFAULT_RISK_POLICY.minChurn),
    },
    batchSize: options.batchSize,
  });
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(report(result));
}

function defaultLevel(trigger: RiskPolicy['trigger']): number {
  return trigger === 'risk-rise' ? 0.2 : trigger === 'expected-loss' || trigger === 'spend-at-risk' ? 100 : 0.6;
}

export interface AlertEvalOptions {
  data: string;
  format: DatasetFormat;
  calibrationEnd?: string;
  policy: RiskPolicy;
  batchSize: number;
}

export async function evaluateAlerts(options: AlertEvalOptions): Promise<AlertEvalJson> {
  const { events } = await readDataset(options.data, options.format);
  if (events.length < 2) throw new Error(`${options.data}: need at least two order events`);
  const calibrationEnd = options.calibrationEnd ?? (options.format === 'cdnow' ? CDNOW_PROTOCOL.calibrationEnd : halfSpanDay(events));
  const cutoff = parseIsoDay(calibrationEnd);
  const history = events.filter((e) => dayIndex(Date.parse(e.occurredAt)) <= cutoff);
  const replay = events.filter((e) => dayIndex(Date.parse(e.occurredAt)) > cutoff);
  if (history.length === 0 || replay.length === 0) throw new Error(`--calibration-end ${calibrationEnd} leaves no history or nothing to replay`);

  const model = loadModel(trainHybridFromEvents(history, { calibrationEnd, horizonDays: 90 }));
  const segmentOf = segmentNamer(trainSegmentModel(history, cutoff));
  // Outcomes are read from the protocol's orders: customer-days with a positive order, cleaned as retail.md says.
  const outcomes = orderHistory(await customerEvents(options.data, options.format));
  const fromDay = cutoff + 1;
  const toDay = outcomes.lastDay;
  const outcome = { ...DEFAULT_ALERT_OUTCOME, lastObservedDay: outcomes.lastDay };
  const runPolicy = async (policy: RiskPolicy) => replayAlerts(history, replay, cutoff, { model, policy, segmentOf, batchSize: options.batchSize });

  const ours = await runPolicy(options.policy);
  const atRisk = ours.filter((a) => a.type === 'Customer At Risk');
  const scores = scoreAlerts(atRisk, outcomes, outcome);
  const rule = scoreAlerts(silenceRuleAlerts(outcomes, fromDay, toDay), outcomes, outcome);
  const tuned = await tuneToVolume(options.policy, rule.scored, async (policy) => scoreAlerts((await runPolicy(policy)).filter((a) => a.type === 'Customer At Risk'), outcomes, outcome));
  return {
    alerts: scores.alerts,
    scored: scores.scored,
    precision: round(scores.precision),
    valueAtStake: round(scores.valueAtStake),
    shareSinglePurchase: round(scores.shareSinglePurchase),
    shareOnOrderDay: round(scores.shareOnOrderDay),
    repeatCustomerAlerts: scores.repeatCustomerAlerts,
    notReturning: ours.filter((a) => a.type === 'Customer Not Returning').length,
    rule: pick(rule),
    atRuleVolume: { ...pick(tuned.scores), level: round(tuned.level) },
    policy: options.policy,
    window: { from: isoDay(fromDay), to: isoDay(toDay), lastObserved: isoDay(outcomes.lastDay) },
  };
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;
const pick = (s: AlertScores) => ({ alerts: s.alerts, scored: s.scored, precision: round(s.precision), valueAtStake: round(s.valueAtStake) });

function halfSpanDay(events: readonly OrderEvent[]): string {
  const first = Date.parse(events[0].occurredAt);
  const last = Date.parse(events[events.length - 1].occurredAt);
  return isoDay(dayIndex(first + (last - first) * 0.5));
}

interface ReplayedAlert extends AlertAt {
  type: AlertType;
}

interface ReplaySetup {
  model: CustomerModel;
  policy: RiskPolicy;
  segmentOf: SegmentNamer;
  batchSize: number;
}

/**
 * The main job's path on the in-process store: states bootstrapped from the history as of its
 * end, then the replay in Kinesis-shaped batches through processRecords, the sweep run as each
 * event day ends, and a last sweep as of the end of the replay's last day.
 */
async function replayAlerts(history: readonly OrderEvent[], replay: readonly OrderEvent[], cutoff: number, setup: ReplaySetup): Promise<ReplayedAlert[]> {
  const alerts = new MemoryAlertSink();
  const deps: ConsumerDeps = {
    store: new MemoryStateStore(),
    alerts,
    deadLetters: new MemoryDeadLetterSink(),
    model: setup.model,
    policy: setup.policy,
    segmentOf: setup.segmentOf,
    metrics: new CounterMetrics(),
    clock: 'event',
  };
  await bootstrapStates(history, (cutoff + 1) * DAY_MS - 1, deps);
  alerts.delivered.length = 0;
  let sweptDay = cutoff;
  for (let i = 0; i < replay.length; i += setup.batchSize) {
    const batch = replay.slice(i, i + setup.batchSize);
    const records = batch.map((event, j) => ({ source: 'shardId-000000000000', position: String(i + j + 1), partitionKey: event.customerId, data: Buffer.from(JSON.stringify(event)).toString('base64') }));
    const result = await processRecords(records, deps);
    if (result.failedPositions.length > 0) throw new Error(`replay: ${result.failedPositions.length} records failed in an in-process store`);
    const day = dayIndex(Date.parse(batch[batch.length - 1].occurredAt));
    if (day > sweptDay) {
      await sweepAll(deps, day * DAY_MS, 5_000);
      sweptDay = day;
    }
  }
  const lastDay = dayIndex(Date.parse(replay[replay.length - 1].occurredAt));
  await sweepAll(deps, (lastDay + 1) * DAY_MS, 5_000);
  const seen = new Set<string>();
  const out: ReplayedAlert[] = [];
  for (const alert of alerts.delivered as PendingAlert[]) {
    if (seen.has(alert.detail.eventId)) continue;
    seen.add(alert.detail.eventId);
    out.push({ customerId: alert.detail.customerId, day: dayIndex(Date.parse(alert.detail.asOf)), type: alert.detailType });
  }
  return out;
}

/**
 * The policy's level at which it raises as many scored at-risk alerts as `target`, by bisection
 * (alerts fall as the level rises, for every trigger); the closest level found if none is exact.
 */
async function tuneToVolume(policy: RiskPolicy, target: number, score: (policy: RiskPolicy) => Promise<AlertScores>) {
  const currency = policy.trigger === 'expected-loss' || policy.trigger === 'spend-at-risk';
  let lo = 0;
  let hi = currency ? 1_000_000 : 1;
  let best = { level: policy.level, scores: await score(policy) };
  for (let step = 0; step < 18 && best.scores.scored !== target; step++) {
    const level = currency ? Math.sqrt(Math.max(lo, 1e-3) * hi) : (lo + hi) / 2;
    const scores = await score({ ...policy, level });
    if (Math.abs(scores.scored - target) < Math.abs(best.scores.scored - target)) best = { level, scores };
    if (scores.scored > target) lo = level;
    else hi = level;
  }
  return best;
}

function report(result: AlertEvalJson): string {
  const row = (name: string, s: { alerts: number; scored: number; precision: number; valueAtStake: number }) =>
    `  ${name.padEnd(28)} ${String(s.alerts).padStart(6)} ${String(s.scored).padStart(7)} ${s.precision.toFixed(3).padStart(9)} ${s.valueAtStake.toFixed(0).padStart(12)}`;
  return [
    `Alerts on ${result.window.from}..${result.window.to} (${result.policy.trigger} ≥ ${result.policy.level}; not returning after ${result.policy.notReturningAfterDays} days)`,
    `  ${'policy'.padEnd(28)} ${'alerts'.padStart(6)} ${'scored'.padStart(7)} ${'precision'.padStart(9)} ${'valueAtStake'.padStart(12)}`,
    row('ours (defaults)', result),
    row('rule: 90 days, ≥ 2 orders', result.rule),
    row(`ours at the rule's volume`, result.atRuleVolume),
    `  single-purchase ${(result.shareSinglePurchase * 100).toFixed(1)}%, on an order day ${(result.shareOnOrderDay * 100).toFixed(1)}%, on repeat customers ${result.repeatCustomerAlerts}, not returning ${result.notReturning}`,
    '',
  ].join('\n');
}
