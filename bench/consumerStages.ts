import type { KinesisStreamEvent } from 'aws-lambda';
import type { CustomerModel } from '../models/clv/customerModel.ts';
import { applyOrder, blankWorkingState, type CustomerState } from '../models/customer/customerState.ts';
import { DEFAULT_RISK_POLICY, rescore } from '../models/customer/riskPolicy.ts';
import { fromKinesisEvent } from '../consumers/kinesisEvent.ts';
import { type DecodedRecord, decodeRecord } from '../consumers/recordDecoding.ts';

type DecodedEvent = Extract<DecodedRecord, { ok: true }>;

/** Cumulative CPU microseconds per event of the consumer path, one stage more at a time. */
export interface StageCosts {
  /** base64 + scan + validate every record. */
  decode: number;
  /** ... + group by customer. */
  group: number;
  /** ... + apply each customer's orders to a blank state (as if every customer were new). */
  applyToBlank: number;
  /** ... + rescore the blank-based state. */
  rescoreBlank: number;
  /** ... but applied to and rescored on each customer's real state, kept as live objects (no store, no copies). */
  liveStates: number;
}

export type StagePass = (stage: keyof StageCosts) => number;

/**
 * Where `bench consumer`'s time goes (`--stages`): the handler's own steps, run cumulatively
 * on the same batches, each stage timed by CPU time and reported as its best of `repeats`.
 * The difference between `rescoreBlank` and `liveStates` is the cost of working on realistic
 * states (a graph of heap objects per customer) rather than fresh ones.
 */
export function stageCosts(batches: readonly KinesisStreamEvent[], events: number, model: CustomerModel, repeats: number): StageCosts {
  const pass: StagePass = (stage) => {
    const live = new Map<string, CustomerState>();
    const started = process.cpuUsage();
    let touched = 0;
    for (const batch of batches) touched += stageBatch(batch, stage, model, live);
    const used = process.cpuUsage(started);
    if (touched === 0) throw new Error('stage pass touched nothing');
    return (used.user + used.system) / events;
  };
  const best = (stage: keyof StageCosts) => Math.min(...Array.from({ length: repeats }, () => pass(stage)));
  return {
    decode: best('decode'),
    group: best('group'),
    applyToBlank: best('applyToBlank'),
    rescoreBlank: best('rescoreBlank'),
    liveStates: best('liveStates'),
  };
}

function stageBatch(batch: KinesisStreamEvent, stage: keyof StageCosts, model: CustomerModel, live: Map<string, CustomerState>): number {
  let touched = 0;
  const groups = new Map<string, DecodedEvent[]>();
  for (const record of fromKinesisEvent(batch)) {
    const decoded = decodeRecord(record);
    if (!decoded.ok) continue;
    if (stage === 'decode') {
      touched++;
      continue;
    }
    const group = groups.get(decoded.order.customerId);
    if (group === undefined) groups.set(decoded.order.customerId, [decoded]);
    else group.push(decoded);
  }
  if (stage === 'decode') return touched;
  for (const [customerId, items] of groups) {
    touched++;
    if (stage === 'group') continue;
    const state = (stage === 'liveStates' ? live.get(customerId) : undefined) ?? blankWorkingState(customerId);
    for (const { record, order } of items) applyOrder(state, order, record);
    if (stage !== 'applyToBlank') rescore(state, model, DEFAULT_RISK_POLICY, state.lastEventMs);
    if (stage === 'liveStates') live.set(customerId, state);
  }
  return touched;
}
