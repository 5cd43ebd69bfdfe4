import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workload } from '../../bench/consumerBench.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import { startKafkaGroupConsumer } from '../../consumers/kafkaGroupConsumer.ts';
import { FileStateStore } from '../../consumers/stateStore/fileStateStore.ts';
import { MemoryStateStore } from '../../consumers/stateStore/memoryStateStore.ts';
import { BtydModel } from '../../models/clv/btydModel.ts';
import { KafkaOrderProducer } from '../../producers/kafkaProducer.ts';
import { freshTopic, statesOf, testKafka, waitForGroupAtEnd } from '../support/kafkaTestKit.ts';
import { memorySinkDeps } from '../support/memoryConsumer.ts';

const EVENTS = 100_000;
const KILL_AFTER = 40_000;
const CLI = join(import.meta.dirname, '../../bin/demand-insights.js');

let kafka: Kafka;
let brokers: string[];
let admin: Admin;
let work: string;

beforeAll(async () => {
  ({ kafka, brokers } = testKafka('exactly-once-test'));
  admin = kafka.admin();
  await admin.connect();
  work = await mkdtemp(join(tmpdir(), 'kafka-exactly-once-'));
});

afterAll(async () => {
  await admin?.disconnect();
  if (work) await rm(work, { recursive: true, force: true });
});

/** `demand-insights consume` in its own process; resolves its records processed as it reports them. */
function startConsumer(args: string[], onRecords: (records: number) => void): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, 'consume', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const match = /records=(\d+) failed=(\d+)/.exec(line);
      if (match) onRecords(Number(match[1]) - Number(match[2]));
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited };
}

describe('Kafka: a consumer killed part-way and restarted', () => {
  it(`reaches the state of a clean single pass over ${EVENTS.toLocaleString()} events, announcing the same alerts`, async () => {
    const { events, artifact } = workload(18_000, EVENTS);
    const modelPath = join(work, 'model.json');
    await writeFile(modelPath, JSON.stringify(artifact));
    const topic = await freshTopic(admin, 'exactly-once', 4);
    const producer = new KafkaOrderProducer({ kafka, topic, batchMessages: 5_000 });
    await producer.connect(brokers);
    await producer.send(events);
    await producer.disconnect();

    // The store must outlive the consumer's process: its journal file (consume --state-file; a
    // DynamoDB table works the same way, but dynalite applies some 600 events/s, too slow for CI).
    const statePath = join(work, 'states.jsonl');
    const alertsPath = join(work, 'alerts.jsonl');
    const group = `${topic}-group`;
    const args = [
      '--from', 'kafka', '--brokers', brokers.join(','), '--topic', topic, '--group', group, '--model', modelPath,
      '--state-file', statePath, '--alerts', alertsPath,
    ];

    // First run: SIGKILL once 40% of the events are processed, with no chance to commit or clean up.
    let processed = 0;
    let killed = false;
    const first = startConsumer(args, (records) => {
      processed += records;
      if (processed >= KILL_AFTER && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    });
    const firstExit = await first.exited;
    expect(firstExit.signal, firstExit.stderr).toBe('SIGKILL');
    expect(processed).toBeLessThan(EVENTS);

    // Second run: picks up from the last committed offsets; SIGTERM once the group is at the end.
    const second = startConsumer(args, () => {});
    await waitForGroupAtEnd(admin, group, topic, 240_000);
    second.child.kill('SIGTERM');
    const secondExit = await second.exited;
    expect(secondExit.code, secondExit.stderr).toBe(0);
    expect(secondExit.stderr).toMatch(/SIGTERM: finishing the chunk in progress/);

    // The reference: the same topic, one clean pass, in memory.
    const reference = memorySinkDeps(new MemoryStateStore());
    reference.model = BtydModel.load(artifact);
    // The policy `consume` runs with (its defaults).
    reference.policy = DEFAULT_RISK_POLICY;
    reference.alerts = new MemoryAlertSink();
    const clean = await startKafkaGroupConsumer({ kafka, topic, groupId: `${topic}-clean`, deps: reference });
    await waitForGroupAtEnd(admin, `${topic}-clean`, topic);
    await clean.stop();
    expect(reference.metrics.get('EventsApplied')).toBe(EVENTS);

    const store = await FileStateStore.open(statePath);
    const afterKill = await statesOf(store);
    store.close();
    const expected = await statesOf(reference.store);
    expect(afterKill.size).toBe(expected.size);
    expect(afterKill).toEqual(expected);

    // Alerts: the same set, by their deterministic ids. Delivery is at least once (a kill between
    // publishing an outbox and clearing it publishes it again, with the same ids).
    const lines = (await readFile(alertsPath, 'utf8')).trim().split('\n').filter(Boolean);
    const ids = lines.map((line) => (JSON.parse(line) as { detail: { eventId: string } }).detail.eventId);
    const expectedIds = reference.alerts.delivered.map((alert) => alert.detail.eventId);
    expect(expectedIds.length).toBeGreaterThan(0);
    expect(new Set(expectedIds).size).toBe(expectedIds.length);
    expect(new Set(ids)).toEqual(new Set(expectedIds));
    // At most the alerts of the chunks in flight at the kill could be published twice.
    expect(ids.length - new Set(ids).size).toBeLessThanOrEqual(expectedIds.length);
  }, 300_000);
});
