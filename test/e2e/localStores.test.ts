import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CustomerState } from '../../models/customer/customerState.ts';
import { type LocalJobOptions, type LocalJobResult, runLocalJob } from '../../bin/localStack/localJob.ts';

/**
 * The fast default (the in-process StateStore) and `--store dynamodb` (the DynamoDB adapter on
 * embedded dynalite) replay one history through kinesalite to the same final states and the same
 * alerts. Run-dependent fields are set apart: `version` counts saves (a sweep may reindex a
 * customer in one run and not the other), the positions' sequence numbers carry kinesalite's
 * wall clock, and the alerts in flight name the invocation that last decided alerts (batches split
 * differently in two runs; the alerts themselves are compared below); which stream and shard each
 * customer was read from must still agree.
 */
const outs: string[] = [];
afterAll(async () => {
  for (const out of outs) await rm(out, { recursive: true, force: true });
});

interface Replayed {
  result: LocalJobResult;
  states: Map<string, unknown>;
  alerts: string[];
}

async function replayWith(store: LocalJobOptions['store']): Promise<Replayed> {
  const out = await mkdtemp(join(tmpdir(), `local-${store}-`));
  outs.push(out);
  const states = new Map<string, unknown>();
  const result = await runLocalJob(
    { customers: 400, days: 400, seed: 11, trainFraction: 0.5, threshold: 0.6, shards: 2, batchSize: 50, batchingWindowMs: 50, out, quiet: true, poison: 5, store, keepPolling: false },
    {
      say: () => {},
      afterReplay: async ({ deps }) => {
        for await (const page of deps.store.scan()) for (const state of page) states.set(state.customerId, comparable(state));
      },
    },
  );
  const lines = (await readFile(join(out, 'alerts.jsonl'), 'utf8')).trim().split('\n');
  // Delivery is at least once: a repeat carries the same event id and the same content.
  const alerts = [...new Set(lines)].sort();
  return { result, states, alerts };
}

function comparable(state: CustomerState) {
  const { version: _version, positions, inFlight: _inFlight, ...rest } = state;
  return { ...rest, sources: Object.keys(positions).sort() };
}

describe('local job: in-process store and embedded DynamoDB', () => {
  it('reach the same final states and announce the same alerts', async () => {
    const memory = await replayWith('memory');
    const dynamo = await replayWith('dynamodb');
    expect(memory.states.size).toBeGreaterThan(300);
    expect(memory.alerts.length).toBeGreaterThan(20);
    expect(memory.result.deadLettered).toBe(5);
    expect(dynamo.result.deadLettered).toBe(5);
    expect([memory.result.alertsAtRisk, memory.result.alertsRecovered]).toEqual([dynamo.result.alertsAtRisk, dynamo.result.alertsRecovered]);
    expect(dynamo.alerts).toEqual(memory.alerts);
    expect([...dynamo.states.keys()].sort()).toEqual([...memory.states.keys()].sort());
    for (const [customerId, state] of memory.states) expect(dynamo.states.get(customerId), customerId).toEqual(state);
  });
});
