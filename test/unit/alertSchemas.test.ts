import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_SCHEMA_DIR, alertSchemaFiles, writeAlertSchemas } from '../../consumers/alerts/alertSchemas.ts';
import { JsonlAlertSink } from '../../consumers/alerts/jsonlAlertSink.ts';
import { MemoryAlertSink } from '../../consumers/alerts/memoryAlertSink.ts';
import type { DeadLetter } from '../../consumers/deadLetters/deadLetterSink.ts';
import { JsonlDeadLetterSink } from '../../consumers/deadLetters/jsonlDeadLetterSink.ts';
import { MemoryDeadLetterSink } from '../../consumers/deadLetters/memoryDeadLetterSink.ts';
import { ALERT_DETAIL_TYPES, ALERT_SOURCE, AlertDetailSchema, type PendingAlert } from '../../models/customer/alertEvent.ts';

const REGENERATE = 'npx tsx consumers/alerts/alertSchemas.ts';

function alert(customerId: string, detailType: PendingAlert['detailType'] = 'Customer At Risk'): PendingAlert {
  return {
    detailType,
    detail: {
      eventId: `id-${customerId}`,
      customerId,
      churnProbability: 0.7,
      previousChurnProbability: null,
      clv: 12.5,
      expectedLoss: 0,
      segment: null,
      trigger: 'churn',
      level: 0.6,
      modelVersion: 'm1',
      asOf: '1997-06-01T00:00:00.000Z',
      drivers: { recencyDays: 90 },
    },
  };
}

function letter(position: string): DeadLetter {
  return { reason: 'not JSON', source: 'shardId-000000000000', position, data: 'eyJ0eXBl', deadLetteredAt: '2024-01-01T00:00:00.000Z' };
}

describe('published alert schemas', () => {
  it('the committed files are what alertSchemas.ts generates now', async () => {
    const committed = (await readdir(ALERT_SCHEMA_DIR)).filter((name) => name.endsWith('.schema.json')).sort();
    const generated = alertSchemaFiles();
    expect(committed, `schema files differ from the detail-types; run: ${REGENERATE}`).toEqual(generated.map((file) => file.fileName).sort());
    for (const file of generated) {
      const content = await readFile(join(ALERT_SCHEMA_DIR, file.fileName), 'utf8');
      expect(content, `${file.fileName} is stale; run: ${REGENERATE}`).toBe(file.content);
    }
  });

  it('one schema per detail-type, naming the source and the detail-type, requiring every field', () => {
    const fields = Object.keys(AlertDetailSchema.shape).sort();
    for (const [index, file] of alertSchemaFiles().entries()) {
      const schema = JSON.parse(file.content) as Record<string, unknown>;
      expect(file.detailType).toBe(ALERT_DETAIL_TYPES[index]);
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toMatch(/^urn:demand-insights:events:customer-(at-risk|recovered|not-returning)$/);
      expect(schema.title).toContain(file.detailType);
      expect(schema.description).toContain(ALERT_SOURCE);
      expect(schema.description).toContain(file.detailType);
      expect((schema.required as string[]).slice().sort()).toEqual(fields);
      expect(Object.keys(schema.properties as object).sort()).toEqual(fields);
    }
  });

  it('writes the same files it generates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alert-schemas-'));
    try {
      expect((await writeAlertSchemas(dir)).sort()).toEqual(['customer-at-risk.schema.json', 'customer-not-returning.schema.json', 'customer-recovered.schema.json']);
      for (const file of alertSchemaFiles()) expect(await readFile(join(dir, file.fileName), 'utf8')).toBe(file.content);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('JSONL sinks', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jsonl-sinks-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n');

  it('appends one {detailType, detail} line per alert, creating directories, and reports each alert', async () => {
    const path = join(dir, 'nested', 'deeper', 'alerts.jsonl');
    const seen: string[] = [];
    const sink = new JsonlAlertSink({ path, onAlert: (a) => seen.push(a.detail.customerId) });
    const first = [alert('C1'), alert('C2', 'Customer Recovered')];

    const none = { retry: [], rejected: [] };
    expect(await sink.publish(first)).toEqual(none);
    expect(await sink.publish([])).toEqual(none);
    expect(await sink.publish([alert('C3')])).toEqual(none);

    await sink.close();
    const written = await lines(path);
    expect(written.pop()).toBe('');
    expect(written.map((line) => JSON.parse(line))).toEqual([...first, alert('C3')].map(({ detailType, detail }) => ({ detailType, detail })));
    expect(seen).toEqual(['C1', 'C2', 'C3']);
  });

  it('appends to an existing file instead of replacing it', async () => {
    const path = join(dir, 'alerts.jsonl');
    for (const id of ['C1', 'C2']) {
      const sink = new JsonlAlertSink({ path });
      await sink.publish([alert(id)]);
      await sink.close();
    }
    expect((await lines(path)).filter(Boolean).map((line) => JSON.parse(line).detail.customerId)).toEqual(['C1', 'C2']);
  });

  it('appends one line per dead letter, creating directories', async () => {
    const path = join(dir, 'dlq', 'letters.jsonl');
    const sink = new JsonlDeadLetterSink({ path });

    await sink.send([letter('1'), letter('2')]);
    await sink.send([letter('3')]);

    const written = await lines(path);
    expect(written.pop()).toBe('');
    expect(written.map((line) => JSON.parse(line))).toEqual([letter('1'), letter('2'), letter('3')]);
  });

  it('throws when the file cannot be written', async () => {
    const sink = new JsonlDeadLetterSink({ path: dir });
    await expect(sink.send([letter('1')])).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('memory sinks', () => {
  it('the alert sink fails the next n alerts once each, those matching a predicate always, and rejects others for good', async () => {
    const sink = new MemoryAlertSink({ failWhen: (a) => a.detail.customerId === 'C9', rejectWhen: (a) => (a.detail.customerId === 'C7' ? 'MalformedDetail' : undefined) });
    sink.failNext(2);

    expect(await sink.publish([alert('C1'), alert('C2'), alert('C3'), alert('C9')])).toEqual({ retry: [alert('C1'), alert('C2'), alert('C9')], rejected: [] });
    expect(await sink.publish([alert('C1'), alert('C7'), alert('C2'), alert('C9')])).toEqual({
      retry: [alert('C9')],
      rejected: [{ alert: alert('C7'), code: 'MalformedDetail', message: 'MalformedDetail (injected)' }],
    });
    expect(sink.delivered.map((a) => a.detail.customerId)).toEqual(['C3', 'C1', 'C2']);
    expect(sink.calls).toHaveLength(2);
  });

  it('the dead-letter sink throws for the next n calls and keeps nothing from them', async () => {
    const sink = new MemoryDeadLetterSink();
    sink.failNext(1);

    await expect(sink.send([letter('1')])).rejects.toThrow(/unavailable/);
    await sink.send([letter('1'), letter('2')]);
    expect(sink.letters).toEqual([letter('1'), letter('2')]);
  });
});
