import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocally, readBody } from './localHttpEndpoint.ts';

/**
 * A minimal Kinesis PutRecords endpoint speaking the AWS JSON 1.1 protocol, for failures that
 * kinesalite cannot produce on demand: chosen entries or whole calls fail, and every request is
 * recorded so a test can see exactly what was resent. It enforces the real request limits, so
 * a producer that overfills a call fails the test instead of passing silently.
 */
const PUT_RECORDS_TARGET = 'Kinesis_20131202.PutRecords';
const MAX_RECORDS = 500;
const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_CALL_BYTES = 5 * 1024 * 1024;

export interface SeenEntry {
  partitionKey: string;
  data: string;
  /** How many times this exact data has arrived, this time included. */
  seen: number;
}

export interface KinesisEndpointOptions {
  /** Error code to fail this entry with, or undefined to accept it. */
  failEntry?: (entry: SeenEntry) => string | undefined;
  /** Error type to fail the whole call with (1-based call number), or undefined. */
  failCall?: (call: number) => string | undefined;
}

export interface PutCall {
  records: number;
  bytes: number;
  /** Error type when the whole call failed. */
  error?: string;
}

export interface KinesisEndpoint {
  endpoint: string;
  calls: PutCall[];
  /** Every entry that was accepted, in arrival order. */
  accepted: SeenEntry[];
  /** Every entry that arrived, accepted or not. */
  received: SeenEntry[];
  close(): Promise<void>;
}

interface PutRecordsBody {
  StreamName?: string;
  Records?: { Data?: string; PartitionKey?: string }[];
}

export async function startKinesisEndpoint(options: KinesisEndpointOptions = {}): Promise<KinesisEndpoint> {
  const state = { calls: [] as PutCall[], accepted: [] as SeenEntry[], received: [] as SeenEntry[], seen: new Map<string, number>() };
  const server = await listenLocally((request, response) => {
    readBody(request)
      .then((body) => handle(request, body, response, state, options))
      .catch((error: Error) => reply(response, 500, { __type: 'InternalFailure', message: error.message }));
  });
  return { endpoint: server.endpoint, calls: state.calls, accepted: state.accepted, received: state.received, close: server.close };
}

type State = { calls: PutCall[]; accepted: SeenEntry[]; received: SeenEntry[]; seen: Map<string, number> };

function handle(request: IncomingMessage, text: string, response: ServerResponse, state: State, options: KinesisEndpointOptions): void {
  if (request.headers['x-amz-target'] !== PUT_RECORDS_TARGET) {
    return reply(response, 400, { __type: 'UnknownOperationException', message: `unsupported target ${request.headers['x-amz-target']}` });
  }
  if (!String(request.headers['content-type']).startsWith('application/x-amz-json-1.1')) {
    return reply(response, 400, { __type: 'SerializationException', message: `content-type ${request.headers['content-type']}` });
  }
  const body = JSON.parse(text) as PutRecordsBody;
  const records = (body.Records ?? []).map((record) => ({
    partitionKey: record.PartitionKey ?? '',
    bytes: Buffer.from(record.Data ?? '', 'base64'),
  }));
  const bytes = records.reduce((sum, record) => sum + record.bytes.length + Buffer.byteLength(record.partitionKey), 0);
  const call: PutCall = { records: records.length, bytes };
  state.calls.push(call);
  const invalid = validate(body, records, bytes);
  const error = invalid ? 'ValidationException' : options.failCall?.(state.calls.length);
  if (error) {
    call.error = error;
    return reply(response, 400, { __type: error, message: invalid ?? 'Rate exceeded for stream (whole call).' });
  }
  const entries = records.map((record, index) => answerEntry(record.partitionKey, record.bytes.toString('utf8'), index, state, options));
  const failed = entries.filter((entry) => 'ErrorCode' in entry).length;
  reply(response, 200, { FailedRecordCount: failed, Records: entries });
}

function validate(body: PutRecordsBody, records: { partitionKey: string; bytes: Buffer }[], bytes: number): string | undefined {
  if (!body.StreamName) return 'StreamName is required';
  if (records.length < 1 || records.length > MAX_RECORDS) return `Records must have 1..${MAX_RECORDS} entries, got ${records.length}`;
  if (bytes > MAX_CALL_BYTES) return `request of ${bytes} bytes exceeds ${MAX_CALL_BYTES}`;
  const bad = records.find((record) => record.bytes.length + Buffer.byteLength(record.partitionKey) > MAX_RECORD_BYTES || record.partitionKey.length < 1);
  return bad ? `record with key "${bad.partitionKey.slice(0, 20)}" is empty-keyed or over ${MAX_RECORD_BYTES} bytes` : undefined;
}

function answerEntry(partitionKey: string, data: string, index: number, state: State, options: KinesisEndpointOptions) {
  const seen = (state.seen.get(data) ?? 0) + 1;
  state.seen.set(data, seen);
  const entry: SeenEntry = { partitionKey, data, seen };
  state.received.push(entry);
  const errorCode = options.failEntry?.(entry);
  if (errorCode) return { ErrorCode: errorCode, ErrorMessage: `${errorCode} for entry ${index} (test endpoint)` };
  state.accepted.push(entry);
  return { SequenceNumber: String(49_000_000_000_000n + BigInt(state.accepted.length)), ShardId: 'shardId-000000000000' };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
  const type = (body as { __type?: string }).__type;
  if (status >= 400 && type) headers['x-amzn-errortype'] = type;
  response.writeHead(status, headers).end(JSON.stringify(body));
}
