import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import { fullJitterDelay, isRetryableCallError } from '../consumers/awsRetry.ts';

/**
 * Sends OrderEvents to a Kinesis stream with PutRecords, keyed by customer so one customer's
 * events share a shard. PutRecords fails per entry: only the failed entries are resent, with
 * exponential backoff and full jitter. Resent entries land after later ones; the consumer is
 * order-independent and deduplicates, so at-least-once delivery is all this needs to give.
 */
export const MAX_RECORDS_PER_CALL = 500;
/** Per-request limit of the older API docs (data + partition keys); the platform notes say design for it. */
export const MAX_CALL_BYTES = 5 * 1024 * 1024;
/** Per-record limit (data + partition key). */
export const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_PARTITION_KEY_CHARS = 256;

const RETRYABLE_ENTRY_ERRORS = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'KMSThrottlingException']);
const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ThrottlingException',
  'RequestTimeout',
  'TimeoutError',
]);

export interface KinesisProducerOptions {
  /** From consumers/awsClients.ts `kinesisClient`: HTTP/1.1, which kinesalite needs. */
  client: KinesisClient;
  streamName: string;
  /** Attempts per record, the first included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Jitter source, in [0, 1); tests pass a fixed one. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SendFailure {
  event: OrderEvent;
  errorCode: string;
  errorMessage: string;
}

export interface SendResult {
  sent: number;
  failed: SendFailure[];
  /** PutRecords calls made (the SDK's own transparent retries of a call are not counted). */
  calls: number;
  /** Records sent again after a failed attempt. */
  retries: number;
}

export interface SendProgress {
  sent: number;
  failed: number;
  total: number;
}

interface PendingRecord {
  event: OrderEvent;
  data: Uint8Array;
  partitionKey: string;
  bytes: number;
}

interface Attempt {
  record: PendingRecord;
  errorCode: string;
  errorMessage: string;
}

export class KinesisProducer {
  private readonly client: KinesisClient;
  private readonly streamName: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: KinesisProducerOptions) {
    this.client = options.client;
    this.streamName = options.streamName;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new RangeError(`maxAttempts must be a positive integer, got ${this.maxAttempts}`);
  }

  async send(events: readonly OrderEvent[], onProgress?: (progress: SendProgress) => void): Promise<SendResult> {
    const result: SendResult = { sent: 0, failed: [], calls: 0, retries: 0 };
    const report = () => onProgress?.({ sent: result.sent, failed: result.failed.length, total: events.length });
    let fatal: Attempt | undefined;
    for (const batch of batches(events, result.failed)) {
      if (fatal) {
        // A call that can never succeed (no such stream, no permission) fails every later call too.
        for (const record of batch) result.failed.push(failure(record, fatal.errorCode, `not sent: ${fatal.errorMessage}`));
      } else {
        fatal = await this.deliver(batch, result, report);
      }
      report();
    }
    return result;
  }

  /** Sends one batch until every record is in or out of attempts; returns the error if the call itself cannot succeed. */
  private async deliver(batch: PendingRecord[], result: SendResult, report: () => void): Promise<Attempt | undefined> {
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.put(pending, result);
      if (outcome.fatal) {
        for (const record of pending) result.failed.push(failure(record, outcome.fatal.errorCode, outcome.fatal.errorMessage));
        return outcome.fatal;
      }
      if (outcome.retry.length === 0) return undefined;
      if (attempt >= this.maxAttempts) {
        for (const { record, errorCode, errorMessage } of outcome.retry) {
          result.failed.push(failure(record, errorCode, `${errorMessage} (gave up after ${attempt} attempts)`));
        }
        return undefined;
      }
      report();
      pending = outcome.retry.map(({ record }) => record);
      result.retries += pending.length;
      await this.sleep(this.backoffMs(attempt));
    }
  }

  /** One PutRecords call: records that succeed are counted, retryable failures returned, the rest failed for good. */
  private async put(records: PendingRecord[], result: SendResult): Promise<{ retry: Attempt[]; fatal?: Attempt }> {
    result.calls++;
    let entries: PutRecordsResultEntry[];
    try {
      const response = await this.client.send(
        new PutRecordsCommand({
          StreamName: this.streamName,
          Records: records.map(({ data, partitionKey }) => ({ Data: data, PartitionKey: partitionKey })),
        }),
      );
      entries = response.Records ?? [];
    } catch (error) {
      const { code, message } = describeError(error);
      const attempts = records.map((record) => ({ record, errorCode: code, errorMessage: message }));
      return isRetryableCallError(error, RETRYABLE_CALL_ERRORS) ? { retry: attempts } : { retry: [], fatal: attempts[0] };
    }
    if (entries.length !== records.length) {
      // Entries line up with the request; if they do not, no entry can be trusted, so resend them all.
      const message = `PutRecords answered ${entries.length} entries for ${records.length} records`;
      return { retry: records.map((record) => ({ record, errorCode: 'MisalignedResponse', errorMessage: message })) };
    }
    const retry: Attempt[] = [];
    entries.forEach((entry, at) => {
      const record = records[at];
      if (!entry.ErrorCode) result.sent++;
      else if (RETRYABLE_ENTRY_ERRORS.has(entry.ErrorCode)) retry.push({ record, errorCode: entry.ErrorCode, errorMessage: entry.ErrorMessage ?? '' });
      else result.failed.push(failure(record, entry.ErrorCode, entry.ErrorMessage ?? ''));
    });
    return { retry };
  }

  private backoffMs(retry: number): number {
    return fullJitterDelay(retry, this.baseDelayMs, this.maxDelayMs, this.random);
  }
}

/**
 * Encodes events lazily into batches within the per-call limits, so a large replay never
 * holds two copies of itself. Records that can never be accepted are failed here, unsent.
 */
function* batches(events: readonly OrderEvent[], failed: SendFailure[]): Generator<PendingRecord[]> {
  let batch: PendingRecord[] = [];
  let batchBytes = 0;
  for (const event of events) {
    const record = encode(event);
    const problem = recordProblem(record);
    if (problem) {
      failed.push(failure(record, problem.errorCode, problem.errorMessage));
      continue;
    }
    if (batch.length === MAX_RECORDS_PER_CALL || batchBytes + record.bytes > MAX_CALL_BYTES) {
      yield batch;
      batch = [];
      batchBytes = 0;
    }
    batch.push(record);
    batchBytes += record.bytes;
  }
  if (batch.length > 0) yield batch;
}

function encode(event: OrderEvent): PendingRecord {
  const data = Buffer.from(JSON.stringify(event), 'utf8');
  const partitionKey = event.customerId;
  return { event, data, partitionKey, bytes: data.byteLength + Buffer.byteLength(partitionKey ?? '', 'utf8') };
}

function recordProblem(record: PendingRecord): { errorCode: string; errorMessage: string } | undefined {
  const keyLength = typeof record.partitionKey === 'string' ? record.partitionKey.length : 0;
  // One bad key would make Kinesis reject the whole call, taking good records down with it.
  if (keyLength < 1 || keyLength > MAX_PARTITION_KEY_CHARS) {
    return { errorCode: 'InvalidPartitionKey', errorMessage: `customerId must be 1..${MAX_PARTITION_KEY_CHARS} characters to be a partition key` };
  }
  if (record.bytes > MAX_RECORD_BYTES) {
    return {
      errorCode: 'RecordTooLarge',
      errorMessage: `record is ${record.bytes} bytes (data + partition key), over the ${MAX_RECORD_BYTES}-byte Kinesis limit; not sent`,
    };
  }
  return undefined;
}

function failure(record: PendingRecord, errorCode: string, errorMessage: string): SendFailure {
  return { event: record.event, errorCode, errorMessage };
}

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return { code: error.name !== 'Error' ? error.name : (code ?? 'Error'), message: error.message };
  }
  return { code: 'Error', message: String(error) };
}

/** Creates the stream if it does not exist and waits until it is ACTIVE; an existing stream keeps its shards. */
export async function ensureStream(
  client: KinesisClient,
  name: string,
  shards: number,
  options: { timeoutMs?: number } = {},
): Promise<{ created: boolean }> {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  let created = false;
  let status = await streamStatus(client, name);
  if (status === undefined) {
    try {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
      created = true;
    } catch (error) {
      // Someone else created it between our look and our create: theirs is as good as ours.
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let delay = 50; (status = await streamStatus(client, name)) !== 'ACTIVE'; delay = Math.min(1_000, delay * 2)) {
    if (status === 'DELETING') throw new Error(`stream ${name} is being deleted`);
    if (Date.now() > deadline) throw new Error(`stream ${name} is still ${status ?? 'absent'} after ${options.timeoutMs ?? 60_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return { created };
}

async function streamStatus(client: KinesisClient, name: string): Promise<string | undefined> {
  try {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return StreamDescriptionSummary?.StreamStatus;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}
