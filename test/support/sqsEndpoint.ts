import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocally, readBody, replyJson } from './localHttpEndpoint.ts';

/**
 * A stand-in for SQS SendMessageBatch on a free loopback port, speaking the protocol the
 * installed @aws-sdk/client-sqs uses: AWS JSON 1.0 (POST /, X-Amz-Target:
 * AmazonSQS.SendMessageBatch, application/x-amz-json-1.0), query-compatible errors (body
 * `{"__type":"com.amazonaws.sqs#<Name>","message"}` plus an `x-amzn-query-error: <code>;Sender`
 * header), and MD5OfMessageBody on every success, which the client verifies.
 */

export interface WireMessage {
  Id?: string;
  MessageBody?: string;
  DelaySeconds?: number;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: string }>;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

export interface AcceptedMessage extends WireMessage {
  QueueUrl: string;
  MessageId: string;
}

export interface EntryFailure {
  code: string;
  message?: string;
  senderFault?: boolean;
}

/** `attempt` counts how many calls have carried this message body, from 1. */
export interface EntryContext {
  attempt: number;
  call: number;
}

/** Whole-call failures: throttled (RequestThrottled, 403 as modelled), internal error (500), or the connection dropped. */
export type CallFailure = 'throttle' | 'internal' | 'reset';

export interface RecordedCall {
  queueUrl: string;
  entries: WireMessage[];
  outcome: 'ok' | CallFailure | 'invalid';
}

export interface SqsEndpointOptions {
  /** Queues that exist; any other QueueUrl gets QueueDoesNotExist. Default: every URL exists. */
  queueUrls?: string[];
  failEntry?: (entry: WireMessage, context: EntryContext) => EntryFailure | undefined;
  /** `call` counts SendMessageBatch requests from 1. */
  failCall?: (call: number, entries: WireMessage[]) => CallFailure | undefined;
  /** The per-message and per-call size quota. */
  maxBytes?: number;
}

export interface SqsEndpoint {
  endpoint: string;
  /** Messages accepted, in order. */
  received: AcceptedMessage[];
  /** Every SendMessageBatch request that reached the endpoint, whatever its outcome. */
  calls: RecordedCall[];
  close(): Promise<void>;
}

const MAX_ENTRIES = 10;
const JSON_10 = 'application/x-amz-json-1.0';
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
// The characters SQS accepts in a message body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
const INVALID_BODY_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

class ServiceError extends Error {
  constructor(readonly status: number, readonly type: string, readonly queryCode: string, message: string) {
    super(message);
  }
}

const senderError = (type: string, message: string, queryCode = `AWS.SimpleQueueService.${type}`) =>
  new ServiceError(400, type, `${queryCode};Sender`, message);

export async function startSqsEndpoint(options: SqsEndpointOptions = {}): Promise<SqsEndpoint> {
  const received: AcceptedMessage[] = [];
  const calls: RecordedCall[] = [];
  const seen = new Map<string, number>();
  const maxBytes = options.maxBytes ?? 256 * 1024;

  const sendMessageBatch = (body: { QueueUrl?: unknown; Entries?: unknown }, res: ServerResponse) => {
    const queueUrl = typeof body.QueueUrl === 'string' ? body.QueueUrl : '';
    const entries = Array.isArray(body.Entries) ? (body.Entries as WireMessage[]) : [];
    const call = calls.length + 1;
    const recorded: RecordedCall = { queueUrl, entries, outcome: 'invalid' };
    calls.push(recorded);
    if (!queueUrl || (options.queueUrls && !options.queueUrls.includes(queueUrl))) {
      throw senderError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
    }
    validateBatch(entries, maxBytes);
    const failure = options.failCall?.(call, entries);
    if (failure) {
      recorded.outcome = failure;
      if (failure === 'reset') return res.socket?.destroy();
      if (failure === 'throttle') throw new ServiceError(403, 'RequestThrottled', 'RequestThrottled;Sender', 'Request is throttled.');
      throw new ServiceError(500, 'InternalError', 'InternalError;Receiver', 'We encountered an internal error. Please try again.');
    }
    recorded.outcome = 'ok';
    const Successful: object[] = [];
    const Failed: object[] = [];
    for (const entry of entries) {
      const attempt = (seen.get(entry.MessageBody as string) ?? 0) + 1;
      seen.set(entry.MessageBody as string, attempt);
      const rejected = entryError(entry) ?? options.failEntry?.(entry, { attempt, call });
      if (rejected) {
        Failed.push({ Id: entry.Id, SenderFault: rejected.senderFault ?? false, Code: rejected.code, Message: rejected.message ?? rejected.code });
        continue;
      }
      const MessageId = randomUUID();
      received.push({ ...entry, QueueUrl: queueUrl, MessageId });
      Successful.push({ Id: entry.Id, MessageId, MD5OfMessageBody: createHash('md5').update(entry.MessageBody as string, 'utf8').digest('hex') });
    }
    reply(res, 200, { Successful, Failed });
  };

  const server = await listenLocally((req, res) => {
    void readJson(req)
      .then((body) => {
        if (req.method !== 'POST' || req.headers['content-type'] !== JSON_10) {
          throw new ServiceError(400, 'SerializationException', 'SerializationException;Sender', `expected POST with ${JSON_10}`);
        }
        if (req.headers['x-amz-target'] !== 'AmazonSQS.SendMessageBatch') {
          throw new ServiceError(400, 'UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation;Sender', `unsupported target ${req.headers['x-amz-target']}`);
        }
        sendMessageBatch(body as { QueueUrl?: unknown; Entries?: unknown }, res);
      })
      .catch((error: unknown) => {
        if (!(error instanceof ServiceError)) error = new ServiceError(500, 'InternalError', 'InternalError;Receiver', String(error));
        const { status, type, queryCode, message } = error as ServiceError;
        reply(res, status, { __type: `com.amazonaws.sqs#${type}`, message }, { 'x-amzn-query-error': queryCode });
      });
  });
  return { endpoint: server.endpoint, received, calls, close: server.close };
}

/** Whole-call validation, in the order and with the error names the service uses. */
function validateBatch(entries: WireMessage[], maxBytes: number): void {
  if (entries.length === 0) {
    throw senderError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
  }
  if (entries.length > MAX_ENTRIES) {
    throw senderError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_ENTRIES}. You have sent ${entries.length}.`);
  }
  const ids = new Set<string>();
  for (const { Id } of entries) {
    if (typeof Id !== 'string' || !ENTRY_ID.test(Id)) {
      throw senderError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
    }
    if (ids.has(Id)) throw senderError('BatchEntryIdsNotDistinct', `Id ${Id} repeated.`);
    ids.add(Id);
  }
  const total = entries.reduce((sum, entry) => sum + messageSize(entry), 0);
  if (total > maxBytes) {
    throw senderError('BatchRequestTooLong', `Batch requests cannot be longer than ${maxBytes} bytes. You have sent ${total} bytes.`);
  }
}

/** Per-entry validation: a Failed entry, the sender's fault. */
function entryError(entry: WireMessage): EntryFailure | undefined {
  if (typeof entry.MessageBody !== 'string' || entry.MessageBody === '') {
    return { code: 'MissingParameter', message: 'The request must contain the parameter MessageBody.', senderFault: true };
  }
  if (INVALID_BODY_CHAR.test(entry.MessageBody)) {
    return { code: 'InvalidMessageContents', message: 'Invalid characters found.', senderFault: true };
  }
  return undefined;
}

/** Body plus attribute names, types and values, as SQS counts a message's size. */
function messageSize(entry: WireMessage): number {
  const utf8 = (text: string | undefined) => Buffer.byteLength(text ?? '', 'utf8');
  let bytes = utf8(entry.MessageBody);
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += utf8(name) + utf8(value.DataType) + utf8(value.StringValue) + (value.BinaryValue ? Buffer.from(value.BinaryValue, 'base64').length : 0);
  }
  return bytes;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text || '{}');
  } catch {
    throw new ServiceError(400, 'SerializationException', 'SerializationException;Sender', 'request body is not valid JSON');
  }
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  replyJson(res, status, body, JSON_10, headers);
}
