import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventBridgeClient } from '../../aws/clients.ts';
import { ALERT_SCHEMA_DIR, alertSchemaFileName } from '../../consumers/alerts/alertSchemas.ts';
import { ENTRY_TOO_LARGE, EventBridgeAlertSink, PUT_EVENTS_MAX_BYTES, type EventBridgeAlertSinkConfig } from '../../consumers/alerts/eventBridgeAlertSink.ts';
import { ALERT_SOURCE, AlertDetailSchema, type AlertType, type PendingAlert } from '../../models/customer/alertEvent.ts';
import { alertEventId } from '../../models/customer/riskPolicy.ts';
import { startEventBridgeEndpoint, type EventBridgeEndpoint, type EventBridgeEndpointOptions, type WireEntry } from '../support/eventBridgeEndpoint.ts';

const BUS = 'demand-insights-test';

function alert(index: number, extraDrivers = 0): PendingAlert {
  const detailType: AlertType = index % 3 === 2 ? 'Customer Recovered' : 'Customer At Risk';
  const customerId = `C${String(index).padStart(4, '0')}`;
  const drivers: Record<string, number> = { recencyDays: 40 + index, frequency: 3, tenureDays: 400, totalSpend: 120.5, pAlive: 0.31 };
  for (let i = 0; i < extraDrivers; i++) drivers[`padding_feature_${String(i).padStart(6, '0')}`] = i / 7;
  return {
    detailType,
    detail: {
      eventId: alertEventId(customerId, detailType, 1),
      customerId,
      churnProbability: 0.71,
      previousChurnProbability: index % 2 === 0 ? null : 0.52,
      clv: 88.25,
      expectedLoss: 0,
      segment: null,
      trigger: 'churn',
      level: 0.6,
      modelVersion: 'btyd-2024-01',
      asOf: new Date(Date.UTC(1997, 5, 1 + (index % 28), 12, 0, 0, 250)).toISOString(),
      drivers,
    },
  };
}

const alerts = (count: number) => Array.from({ length: count }, (_, index) => alert(index));
const eventIdOf = (entry: WireEntry) => (JSON.parse(entry.Detail ?? '{}') as { eventId: string }).eventId;
const utf8 = (text = '') => Buffer.byteLength(text, 'utf8');
const wireSize = (entry: WireEntry) => 14 + utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail);

/** The subset of JSON Schema 2020-12 the committed schemas use; an unknown keyword fails loudly. */
function violations(schema: Record<string, unknown>, value: unknown, path = '$'): string[] {
  const out: string[] = [];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  for (const [keyword, rule] of Object.entries(schema)) {
    switch (keyword) {
      case '$schema': case '$id': case 'title': case 'description': case 'properties': case 'additionalProperties':
        break;
      case 'type':
        if (![rule].flat().includes(typeOf(value))) out.push(`${path}: expected ${rule}, got ${typeOf(value)}`);
        break;
      case 'minimum':
        if (typeof value === 'number' && value < (rule as number)) out.push(`${path}: below ${rule}`);
        break;
      case 'maximum':
        if (typeof value === 'number' && value > (rule as number)) out.push(`${path}: above ${rule}`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(rule as string, 'u').test(value)) out.push(`${path}: does not match pattern`);
        break;
      case 'format':
        if (rule !== 'date-time') throw new Error(`format ${rule} not supported`);
        if (typeof value === 'string' && Number.isNaN(Date.parse(value))) out.push(`${path}: not a date-time`);
        break;
      case 'enum':
        if (!(rule as unknown[]).includes(value)) out.push(`${path}: not one of ${JSON.stringify(rule)}`);
        break;
      case 'anyOf':
        if ((rule as Record<string, unknown>[]).every((option) => violations(option, value, path).length > 0)) out.push(`${path}: matches no anyOf option`);
        break;
      case 'required':
        for (const key of rule as string[]) if (typeOf(value) === 'object' && !(key in (value as object))) out.push(`${path}: missing ${key}`);
        break;
      case 'propertyNames':
        if (typeOf(value) === 'object') for (const key of Object.keys(value as object)) out.push(...violations(rule as Record<string, unknown>, key, `${path}[name]`));
        break;
      default:
        throw new Error(`keyword ${keyword} not supported by this test's validator`);
    }
  }
  if (typeOf(value) === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
      const rule: unknown = properties[key] ?? schema.additionalProperties;
      if (rule === false) out.push(`${path}.${key}: not allowed`);
      else if (rule && typeof rule === 'object') out.push(...violations(rule as Record<string, unknown>, member, `${path}.${key}`));
    }
  }
  return out;
}

const committedSchema = (detailType: AlertType) =>
  JSON.parse(readFileSync(join(ALERT_SCHEMA_DIR, alertSchemaFileName(detailType)), 'utf8')) as Record<string, unknown>;

describe('EventBridgeAlertSink against a PutEvents endpoint', () => {
  let endpoint: EventBridgeEndpoint | undefined;
  const sleeps: number[] = [];

  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    sleeps.length = 0;
  });

  async function sinkWith(options: EventBridgeEndpointOptions, config: Partial<EventBridgeAlertSinkConfig> = {}) {
    endpoint = await startEventBridgeEndpoint(options);
    const sink = new EventBridgeAlertSink({
      client: eventBridgeClient({ endpoint: endpoint.endpoint, maxAttempts: 1 }) /* the sink owns retries: one SDK attempt, as deployed */,
      eventBusName: BUS,
      sleep: async (ms) => void sleeps.push(ms),
      ...config,
    });
    return { sink, endpoint };
  }

  function expectDeliveredOnce(endpoint: EventBridgeEndpoint, expected: PendingAlert[]) {
    const ids = endpoint.received.map(eventIdOf);
    expect(ids.sort()).toEqual(expected.map((a) => a.detail.eventId).sort());
  }

  it('sends 25 alerts in 3 calls of at most 10, each exactly once, matching the published schema', async () => {
    const { sink, endpoint } = await sinkWith({});
    const sent = alerts(25);

    expect(await sink.publish(sent)).toEqual({ retry: [], rejected: [] });

    expect(endpoint.calls.map((call) => call.entries.length)).toEqual([10, 10, 5]);
    expectDeliveredOnce(endpoint, sent);
    for (const expected of sent) {
      const entry = endpoint.received.find((e) => eventIdOf(e) === expected.detail.eventId)!;
      expect(entry.Source).toBe(ALERT_SOURCE);
      expect(entry.DetailType).toBe(expected.detailType);
      expect(entry.EventBusName).toBe(BUS);
      expect(entry.Time).toBe(Date.parse(expected.detail.asOf) / 1000);
      const detail: unknown = JSON.parse(entry.Detail!);
      expect(detail).toEqual(expected.detail);
      expect(AlertDetailSchema.parse(detail)).toEqual(expected.detail);
      expect(violations(committedSchema(expected.detailType), detail)).toEqual([]);
    }
    expect(sleeps).toEqual([]);
  });

  it('the schema check can fail: a detail with a wrong type or an extra key is rejected', () => {
    const schema = committedSchema('Customer At Risk');
    expect(violations(schema, { ...alert(0).detail, churnProbability: 1.5 })).toEqual(['$.churnProbability: above 1']);
    expect(violations(schema, { ...alert(0).detail, extra: 1 })).toEqual(['$.extra: not allowed']);
    const { customerId: _dropped, ...missing } = alert(0).detail;
    expect(violations(schema, missing)).toEqual(['$: missing customerId']);
  });

  it('resends only the entries that failed, and delivers everything once', async () => {
    const failing = new Set([0, 4, 9, 13, 24].map((i) => alert(i).detail.eventId));
    const { sink, endpoint } = await sinkWith({
      failEntry: (entry, { attempt }) =>
        attempt === 1 && failing.has(eventIdOf(entry))
          ? { code: eventIdOf(entry) === alert(9).detail.eventId ? 'ThrottlingException' : 'InternalFailure', message: 'try again' }
          : undefined,
    });
    const sent = alerts(25);

    expect(await sink.publish(sent)).toEqual({ retry: [], rejected: [] });

    expect(endpoint.calls).toHaveLength(4);
    expect(endpoint.calls.slice(0, 3).map((call) => call.entries.length)).toEqual([10, 10, 5]);
    expect(endpoint.calls[3].entries.map(eventIdOf).sort()).toEqual([...failing].sort());
    expectDeliveredOnce(endpoint, sent);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(0);
    expect(sleeps[0]).toBeLessThanOrEqual(50);
  });

  it('returns an entry that fails every time after maxAttempts, with backoff, and delivers the others', async () => {
    const doomed = alert(7);
    const { sink, endpoint } = await sinkWith(
      { failEntry: (entry) => (eventIdOf(entry) === doomed.detail.eventId ? { code: 'InternalFailure' } : undefined) },
      { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 },
    );
    const sent = alerts(12);

    expect(await sink.publish(sent)).toEqual({ retry: [doomed], rejected: [] });

    expect(endpoint.calls.map((call) => call.entries.length)).toEqual([10, 2, 1, 1, 1]);
    for (const retry of endpoint.calls.slice(2)) expect(retry.entries.map(eventIdOf)).toEqual([doomed.detail.eventId]);
    expectDeliveredOnce(endpoint, sent.filter((a) => a.detail.eventId !== doomed.detail.eventId));
    expect(sleeps).toHaveLength(3);
    sleeps.forEach((ms, i) => expect(ms).toBeLessThanOrEqual(Math.min(250, 100 * 2 ** i)));
  });

  it('does not resend an entry rejected for good, and reports it with EventBridge\'s error code', async () => {
    const refused = alert(3);
    const { sink, endpoint } = await sinkWith({
      failEntry: (entry) => (eventIdOf(entry) === refused.detail.eventId ? { code: 'NotAuthorizedForSourceException' } : undefined),
    });

    expect(await sink.publish(alerts(5))).toEqual({ retry: [], rejected: [{ alert: refused, code: 'NotAuthorizedForSourceException', message: 'NotAuthorizedForSourceException' }] });

    expect(endpoint.calls).toHaveLength(1);
    expect(endpoint.received).toHaveLength(4);
    expect(sleeps).toEqual([]);
  });

  it('retries whole calls that were throttled, failed inside the service or lost on the network', async () => {
    const failures = ['throttle', 'internal', 'reset'] as const;
    const { sink, endpoint } = await sinkWith({ failCall: (call) => failures[call - 1] });
    const sent = alerts(3);

    expect(await sink.publish(sent)).toEqual({ retry: [], rejected: [] });

    expect(endpoint.calls.map((call) => call.outcome)).toEqual(['throttle', 'internal', 'reset', 'ok']);
    expect(endpoint.calls.every((call) => call.entries.length === 3)).toBe(true);
    expectDeliveredOnce(endpoint, sent);
    expect(sleeps).toHaveLength(3);
  });

  it('returns the alerts after maxAttempts when every call is throttled', async () => {
    const { sink, endpoint } = await sinkWith({ failCall: () => 'throttle' }, { maxAttempts: 3 });
    const sent = alerts(2);

    expect(await sink.publish(sent)).toEqual({ retry: sent, rejected: [] });
    expect(endpoint.calls).toHaveLength(3);
    expect(endpoint.received).toEqual([]);
  });

  it('throws for a whole-call error no retry can fix, without retrying it', async () => {
    // The endpoint's quota is lower than the sink's, so the service refuses the call as too large.
    const { sink, endpoint } = await sinkWith({ maxBytes: 2_000 });

    await expect(sink.publish([alert(0, 40), alert(1, 40)])).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
    });
    expect(endpoint.calls).toHaveLength(1);
  });

  it('rejects an alert too large for one entry at once, and packs the others within 256 KB per call', async () => {
    const huge = alert(0, 9_000);
    const large = [1, 2, 3, 4, 5].map((i) => alert(i, 2_800));
    const { sink, endpoint } = await sinkWith({});
    const sizeOf = (a: PendingAlert) => 14 + utf8(ALERT_SOURCE) + utf8(a.detailType) + utf8(JSON.stringify(a.detail));
    expect(sizeOf(huge)).toBeGreaterThan(PUT_EVENTS_MAX_BYTES);
    expect(sizeOf(large[0]) * 2).toBeLessThan(PUT_EVENTS_MAX_BYTES);
    expect(sizeOf(large[0]) * 3).toBeGreaterThan(PUT_EVENTS_MAX_BYTES);

    expect(await sink.publish([huge, ...large])).toEqual({ retry: [], rejected: [{ alert: huge, code: ENTRY_TOO_LARGE, message: expect.stringMatching(/over the 262144-byte PutEvents quota/) }] });

    expect(endpoint.calls.map((call) => call.entries.length)).toEqual([2, 2, 1]);
    for (const call of endpoint.calls) expect(call.entries.reduce((sum, e) => sum + wireSize(e), 0)).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
    expect(endpoint.calls.flatMap((call) => call.entries.map(eventIdOf))).not.toContain(huge.detail.eventId);
    expectDeliveredOnce(endpoint, large);
  });
});
