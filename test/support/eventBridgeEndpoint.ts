import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocally, readBody, replyJson } from './localHttpEndpoint.ts';

/**
 * A stand-in for EventBridge PutEvents on a free loopback port, speaking the service's AWS JSON
 * 1.1 protocol (POST /, X-Amz-Target: AWSEvents.PutEvents, application/x-amz-json-1.1) with its
 * validation and failure shapes, so tests drive the real EventBridgeClient through it.
 */

/** An entry as it travels on the wire: Time is epoch seconds (awsJson's default timestamp format). */
export interface WireEntry {
  Time?: number;
  Source?: string;
  Resources?: string[];
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  TraceHeader?: string;
}

export interface AcceptedEntry extends WireEntry {
  EventId: string;
}

export interface EntryFailure {
  code: string;
  message?: string;
}

/** `attempt` counts how many calls have carried this entry (same bus, source, type, detail), from 1. */
export interface EntryContext {
  attempt: number;
  call: number;
}

/** Whole-call failures: throttled (400), internal error (500), or the connection dropped. */
export type CallFailure = 'throttle' | 'internal' | 'reset';

export interface RecordedCall {
  entries: WireEntry[];
  outcome: 'ok' | CallFailure | 'invalid';
}

export interface EventBridgeEndpointOptions {
  failEntry?: (entry: WireEntry, context: EntryContext) => EntryFailure | undefined;
  /** `call` counts PutEvents requests from 1. */
  failCall?: (call: number, entries: WireEntry[]) => CallFailure | undefined;
  /** The per-entry and per-call size quota. */
  maxBytes?: number;
}

export interface EventBridgeEndpoint {
  endpoint: string;
  /** Entries accepted, in order, each with the EventId it was answered with. */
  received: AcceptedEntry[];
  /** Every PutEvents request that reached the endpoint, whatever its outcome. */
  calls: RecordedCall[];
  close(): Promise<void>;
}

const MAX_ENTRIES = 10;
const JSON_11 = 'application/x-amz-json-1.1';

class ServiceError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

export async function startEventBridgeEndpoint(options: EventBridgeEndpointOptions = {}): Promise<EventBridgeEndpoint> {
  const received: AcceptedEntry[] = [];
  const calls: RecordedCall[] = [];
  const seen = new Map<string, number>();
  const maxBytes = options.maxBytes ?? 256 * 1024;

  const putEvents = (body: unknown, res: ServerResponse) => {
    const entries = parseEntries(body);
    const call = calls.length + 1;
    const recorded: RecordedCall = { entries, outcome: 'invalid' };
    calls.push(recorded);
    validateCall(entries, maxBytes);
    const failure = options.failCall?.(call, entries);
    if (failure) {
      recorded.outcome = failure;
      if (failure === 'reset') return res.socket?.destroy();
      if (failure === 'throttle') throw new ServiceError(400, 'ThrottlingException', 'Rate exceeded');
      throw new ServiceError(500, 'InternalException', 'An internal error occurred.');
    }
    recorded.outcome = 'ok';
    const results = entries.map((entry) => {
      const key = JSON.stringify([entry.EventBusName, entry.Source, entry.DetailType, entry.Detail]);
      const attempt = (seen.get(key) ?? 0) + 1;
      seen.set(key, attempt);
      const rejected = entryError(entry) ?? options.failEntry?.(entry, { attempt, call });
      if (rejected) return { ErrorCode: rejected.code, ErrorMessage: rejected.message ?? rejected.code };
      const EventId = randomUUID();
      received.push({ ...entry, EventId });
      return { EventId };
    });
    const FailedEntryCount = results.filter((result) => 'ErrorCode' in result).length;
    reply(res, 200, { FailedEntryCount, Entries: results });
  };

  const server = await listenLocally((req, res) => {
    void readJson(req)
      .then((body) => {
        if (req.method !== 'POST' || req.headers['content-type'] !== JSON_11) {
          throw new ServiceError(400, 'SerializationException', `expected POST with ${JSON_11}`);
        }
        if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
          throw new ServiceError(400, 'UnknownOperationException', `unsupported target ${req.headers['x-amz-target']}`);
        }
        putEvents(body, res);
      })
      .catch((error: unknown) => {
        if (error instanceof ServiceError) reply(res, error.status, { __type: error.type, message: error.message });
        else reply(res, 500, { __type: 'InternalException', message: String(error) });
      });
  });
  return { endpoint: server.endpoint, received, calls, close: server.close };
}

function parseEntries(body: unknown): WireEntry[] {
  const entries = (body as { Entries?: unknown } | null)?.Entries;
  if (!Array.isArray(entries)) {
    throw new ServiceError(400, 'ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  return entries as WireEntry[];
}

/** Whole-call validation, as the service answers it: 400 ValidationException. */
function validateCall(entries: WireEntry[], maxBytes: number): void {
  if (entries.length < 1 || entries.length > MAX_ENTRIES) {
    const bound = entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
    throw new ServiceError(400, 'ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${bound}`);
  }
  if (entries.reduce((total, entry) => total + entrySize(entry), 0) > maxBytes) {
    throw new ServiceError(400, 'ValidationException', 'Total size of the entries in the request is over the limit.');
  }
}

/** Per-entry validation, as the service answers it: an ErrorCode in that entry's result. */
function entryError(entry: WireEntry): EntryFailure | undefined {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof entry[field] !== 'string' || entry[field] === '') {
      return { code: 'InvalidArgument', message: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` };
    }
  }
  try {
    const detail: unknown = JSON.parse(entry.Detail as string);
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) throw new Error('not an object');
  } catch {
    return { code: 'MalformedDetail', message: 'Detail is malformed.' };
  }
  if (entry.Time !== undefined && typeof entry.Time !== 'number') {
    return { code: 'InvalidArgument', message: 'Parameter Time is not valid.' };
  }
  return undefined;
}

function entrySize(entry: WireEntry): number {
  const utf8 = (text: string | undefined) => Buffer.byteLength(text ?? '', 'utf8');
  const resources = (entry.Resources ?? []).reduce((total, resource) => total + utf8(resource), 0);
  return (entry.Time === undefined ? 0 : 14) + utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail) + resources;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text || '{}');
  } catch {
    throw new ServiceError(400, 'SerializationException', 'request body is not valid JSON');
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  replyJson(res, status, body, JSON_11);
}
