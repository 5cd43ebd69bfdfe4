import { afterEach, describe, expect, it } from 'vitest';
import { sqsClient } from '../../aws/clients.ts';
import type { DeadLetter } from '../../consumers/deadLetters/deadLetterSink.ts';
import {
  DeadLetterDeliveryError,
  SQS_MAX_MESSAGE_BYTES,
  SqsDeadLetterSink,
  messageBody,
  TRUNCATION_MARKER,
  type DeadLetterMessage,
  type SqsDeadLetterSinkConfig,
} from '../../consumers/deadLetters/sqsDeadLetterSink.ts';
import { startSqsEndpoint, type SqsEndpoint, type SqsEndpointOptions, type WireMessage } from '../support/sqsEndpoint.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/111122223333/demand-insights-dead-letters';

function letter(index: number, dataBytes = 24): DeadLetter {
  return {
    reason: `invalid order event: lines[0].quantity must be > 0 (record ${index})`,
    source: 'shardId-000000000003',
    position: `4960729398825935642437437838479875548097${String(index).padStart(4, '0')}`,
    partitionKey: `C${index}`,
    data: Buffer.alloc(Math.ceil((dataBytes * 3) / 4), index % 251).toString('base64').slice(0, dataBytes),
    deadLetteredAt: '2024-03-01T10:00:00.000Z',
  };
}

const letters = (count: number) => Array.from({ length: count }, (_, index) => letter(index));
const bodyOf = (message: WireMessage) => JSON.parse(message.MessageBody ?? '{}') as DeadLetterMessage;
const positionOf = (message: WireMessage) => bodyOf(message).position;

describe('SqsDeadLetterSink against a SendMessageBatch endpoint', () => {
  let endpoint: SqsEndpoint | undefined;
  const sleeps: number[] = [];

  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    sleeps.length = 0;
  });

  async function sinkWith(options: SqsEndpointOptions, config: Partial<SqsDeadLetterSinkConfig> = {}) {
    endpoint = await startSqsEndpoint({ queueUrls: [QUEUE_URL], ...options });
    const sink = new SqsDeadLetterSink({
      client: sqsClient({ endpoint: endpoint.endpoint, maxAttempts: 1 }) /* the sink owns retries: one SDK attempt, as deployed */,
      queueUrl: QUEUE_URL,
      sleep: async (ms) => void sleeps.push(ms),
      ...config,
    });
    return { sink, endpoint };
  }

  function expectDeliveredOnce(endpoint: SqsEndpoint, expected: DeadLetter[]) {
    expect(endpoint.received.map(positionOf).sort()).toEqual(expected.map((l) => l.position).sort());
  }

  it('sends 25 letters in 3 batches of at most 10, each exactly once and intact', async () => {
    const { sink, endpoint } = await sinkWith({});
    const sent = letters(25);

    await sink.send(sent);

    expect(endpoint.calls.map((call) => call.entries.length)).toEqual([10, 10, 5]);
    expect(endpoint.calls.every((call) => call.queueUrl === QUEUE_URL)).toBe(true);
    expectDeliveredOnce(endpoint, sent);
    for (const expected of sent) {
      expect(endpoint.received.map(bodyOf).find((body) => body.position === expected.position)).toEqual(expected);
    }
    expect(sleeps).toEqual([]);
  });

  it('resends only the entries listed as Failed', async () => {
    const failing = new Set([1, 5, 10, 22].map((i) => letter(i).position));
    const { sink, endpoint } = await sinkWith({
      failEntry: (entry, { attempt }) => (attempt === 1 && failing.has(positionOf(entry)) ? { code: 'InternalError', senderFault: false } : undefined),
    });
    const sent = letters(25);

    await sink.send(sent);

    expect(endpoint.calls).toHaveLength(4);
    expect(endpoint.calls[3].entries.map(positionOf).sort()).toEqual([...failing].sort());
    expectDeliveredOnce(endpoint, sent);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeLessThanOrEqual(50);
  });

  it('truncates a letter too large for one message, marks it and notes its size', async () => {
    const huge = letter(3, 400_000);
    const { sink, endpoint } = await sinkWith({});

    await sink.send([letter(1), huge, letter(2)]);

    expect(endpoint.received).toHaveLength(3);
    const message = endpoint.received.find((m) => positionOf(m) === huge.position)!;
    expect(Buffer.byteLength(message.MessageBody!, 'utf8')).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(Buffer.byteLength(message.MessageBody!, 'utf8')).toBeGreaterThan(SQS_MAX_MESSAGE_BYTES - 64);
    const body = bodyOf(message);
    expect(body).toMatchObject({ ...huge, data: expect.any(String), dataTruncated: true, originalDataBytes: 400_000 });
    expect(body.data.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(huge.data.startsWith(body.data.slice(0, -TRUNCATION_MARKER.length))).toBe(true);
    expect(bodyOf(endpoint.received.find((m) => positionOf(m) === letter(1).position)!)).toEqual(letter(1));
  });

  it('keeps every batch within 256 KB in total', async () => {
    const large = [1, 2, 3, 4, 5].map((i) => letter(i, 100_000));
    const { sink, endpoint } = await sinkWith({});

    await sink.send(large);

    expect(endpoint.calls.map((call) => call.entries.length)).toEqual([2, 2, 1]);
    expectDeliveredOnce(endpoint, large);
    expect(endpoint.received.map(bodyOf)).toEqual(large);
  });

  it('escapes characters SQS refuses, so the letter still arrives unchanged', async () => {
    const odd = { ...letter(4), reason: 'bad byte \uFFFF in \uFFFE field', data: 'not base64 \u0000\u0001' };
    const { sink, endpoint } = await sinkWith({});

    await sink.send([odd]);

    expect(endpoint.received.map(bodyOf)).toEqual([odd]);
  });

  it('throws with the undelivered letters when one fails every time, after delivering the others', async () => {
    const doomed = letter(6);
    const { sink, endpoint } = await sinkWith(
      { failEntry: (entry) => (positionOf(entry) === doomed.position ? { code: 'InternalError' } : undefined) },
      { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 150 },
    );
    const sent = letters(12);

    const error = await sink.send(sent).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterDeliveryError);
    expect((error as DeadLetterDeliveryError).undelivered).toEqual([doomed]);
    expect((error as Error).message).toContain('InternalError');
    expect(endpoint.calls.map((call) => call.entries.length)).toEqual([10, 2, 1, 1]);
    expectDeliveredOnce(endpoint, sent.filter((l) => l.position !== doomed.position));
    expect(sleeps).toHaveLength(2);
    sleeps.forEach((ms, i) => expect(ms).toBeLessThanOrEqual(Math.min(150, 100 * 2 ** i)));
  });

  it('does not resend an entry refused as the sender\'s fault, and reports it', async () => {
    const refused = letter(2);
    const { sink, endpoint } = await sinkWith({
      failEntry: (entry) => (positionOf(entry) === refused.position ? { code: 'InvalidParameterValue', senderFault: true } : undefined),
    });

    await expect(sink.send(letters(4))).rejects.toMatchObject({ name: 'DeadLetterDeliveryError', undelivered: [refused] });
    expect(endpoint.calls).toHaveLength(1);
    expect(endpoint.received).toHaveLength(3);
  });

  it('retries whole calls that were throttled, failed inside the service or lost on the network', async () => {
    const failures = ['throttle', 'internal', 'reset'] as const;
    const { sink, endpoint } = await sinkWith({ failCall: (call) => failures[call - 1] });
    const sent = letters(3);

    await sink.send(sent);

    expect(endpoint.calls.map((call) => call.outcome)).toEqual(['throttle', 'internal', 'reset', 'ok']);
    expectDeliveredOnce(endpoint, sent);
    expect(sleeps).toHaveLength(3);
  });

  it('throws at once for a queue that does not exist', async () => {
    const { sink, endpoint } = await sinkWith({ queueUrls: ['https://sqs.us-east-1.amazonaws.com/111122223333/other'] });

    await expect(sink.send(letters(2))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    expect(endpoint.calls).toHaveLength(1);
  });

  it('sends nothing for no letters', async () => {
    const { sink, endpoint } = await sinkWith({});
    await sink.send([]);
    expect(endpoint.calls).toEqual([]);
  });
});

describe('messageBody', () => {
  it('cuts multi-byte data on a character boundary, within budget, for every budget', () => {
    const emoji = { ...letter(8), data: '\u{1F600}é'.repeat(400) };
    const whole = Buffer.byteLength(JSON.stringify(emoji), 'utf8');
    for (let maxBytes = whole - 40; maxBytes > whole - 240; maxBytes--) {
      const body = messageBody(emoji, maxBytes);
      expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(maxBytes);
      expect(body).not.toMatch(/\\ud[89a-f]/i);
      const parsed = JSON.parse(body) as DeadLetterMessage;
      expect(parsed.originalDataBytes).toBe(Buffer.byteLength(emoji.data, 'utf8'));
      expect(emoji.data.startsWith(parsed.data.slice(0, -TRUNCATION_MARKER.length))).toBe(true);
    }
  });

  it('leaves a letter that fits untouched', () => {
    expect(JSON.parse(messageBody(letter(1), SQS_MAX_MESSAGE_BYTES))).toEqual(letter(1));
  });
});
