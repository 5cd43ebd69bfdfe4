import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import type { OrderEvent } from '../models/customer/orderEvent.ts';
import {
  type BatchCall,
  describeCallError,
  type EntryFailure,
  packBatches,
  type RetryBudget,
  retryBudget,
  type RetryOptions,
  sendBatched,
} from '../aws/batchSend.ts';

/**
 * Sends OrderEvents to a Kinesis stream with PutRecords, keyed by customer so one customer's
 * events share a shard. PutRecords fails per entry: only the failed entries are resent
 * (aws/batchSend.ts: exponential backoff, full jitter), one call's before the next call is
 * built. Resent entries land after later ones; the consumer is order-independent and
 * deduplicates, so at-least-once delivery is all this needs to give.
 */
const MAX_RECORDS_PER_CALL = 500;
/** Per-request limit of the older API docs (data + partition keys); the platform notes say design for it. */
export const MAX_CALL_BYTES = 5 * 1024 * 1024;
/** Per-record limit (data + partition key). */
const MAX_RECORD_BYTES = 1024 * 1024;
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

/** Retries: `maxAttempts` per record (default 8), backoff from 100 ms up to 5 s; tests may pass a fixed jitter `random`. */
export interface KinesisProducerOptions extends RetryOptions {
  /** From aws/clients.ts `kinesisClient`: HTTP/1.1, which kinesalite needs. */
  client: KinesisClient;
  streamName: string;
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

const PUT_RECORDS_LIMITS = { maxEntries: MAX_RECORDS_PER_CALL, maxBytes: MAX_CALL_BYTES };

export class KinesisProducer {
  private readonly client: KinesisClient;
  private readonly streamName: string;
  private readonly budget: RetryBudget;
  private readonly putRecords: BatchCall<PendingRecord>;

  constructor(options: KinesisProducerOptions) {
    this.client = options.client;
    this.streamName = options.streamName;
    this.budget = retryBudget(options, { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 5_000 });
    this.putRecords = { limits: PUT_RECORDS_LIMITS, retryableErrors: RETRYABLE_CALL_ERRORS, send: (records) => this.put(records) };
    const { maxAttempts } = this.budget;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }

  async send(events: readonly OrderEvent[], onProgress?: (progress: SendProgress) => void): Promise<SendResult> {
    const result: SendResult = { sent: 0, failed: [], calls: 0, retries: 0 };
    const report = () => onProgress?.({ sent: result.sent, failed: result.failed.length, total: events.length });
    let fatal: { code: string; message: string } | undefined;
    // Encoded lazily, one call's worth at a time, so a large replay never holds two copies of itself.
    for (const batch of packBatches(sendable(events, result.failed), PUT_RECORDS_LIMITS)) {
      if (fatal) {
        // A call that can never succeed (no such stream, no permission) fails every later call too.
        for (const record of batch) result.failed.push(failure(record, fatal.code, `not sent: ${fatal.message}`));
      } else {
        fatal = await this.deliver(batch, result, report);
      }
      report();
    }
    return result;
  }

  /** Sends one batch until every record is in or out of attempts; returns the error if the call itself cannot succeed. */
  private async deliver(batch: PendingRecord[], result: SendResult, report: () => void): Promise<{ code: string; message: string } | undefined> {
    const outcome = await sendBatched(batch, this.putRecords, this.budget, {
      onCall: (call, failures) => {
        result.sent += call.length - failures.length;
        for (const { entry, permanent, code, message } of failures) if (permanent) result.failed.push(failure(entry, code, message));
      },
      onRetry: (records) => {
        report();
        result.retries += records.length;
      },
    });
    result.calls += outcome.calls;
    for (const { entry, code, message } of outcome.exhausted) {
      result.failed.push(failure(entry, code, `${message} (gave up after ${this.budget.maxAttempts} attempts)`));
    }
    if (!outcome.fatal) return undefined;
    const fatal = describeCallError(outcome.fatal.error);
    for (const record of outcome.fatal.unsent) result.failed.push(failure(record, fatal.code, fatal.message));
    return fatal;
  }

  /** One PutRecords call: returns the records that did not go through, and whether resending can help. */
  private async put(records: readonly PendingRecord[]): Promise<EntryFailure<PendingRecord>[]> {
    const response = await this.client.send(
      new PutRecordsCommand({
        StreamName: this.streamName,
        Records: records.map(({ data, partitionKey }) => ({ Data: data, PartitionKey: partitionKey })),
      }),
    );
    const entries: PutRecordsResultEntry[] = response.Records ?? [];
    if (entries.length !== records.length) {
      // Entries line up with the request; if they do not, no entry can be trusted, so resend them all.
      const message = `PutRecords answered ${entries.length} entries for ${records.length} records`;
      return records.map((entry) => ({ entry, permanent: false, code: 'MisalignedResponse', message }));
    }
    const failures: EntryFailure<PendingRecord>[] = [];
    entries.forEach((entry, at) => {
      if (!entry.ErrorCode) return;
      failures.push({ entry: records[at], permanent: !RETRYABLE_ENTRY_ERRORS.has(entry.ErrorCode), code: entry.ErrorCode, message: entry.ErrorMessage ?? '' });
    });
    return failures;
  }
}

/** Encodes events lazily; records that can never be accepted are failed here, unsent. */
function* sendable(events: readonly OrderEvent[], failed: SendFailure[]): Generator<PendingRecord> {
  for (const event of events) {
    const record = encode(event);
    const problem = recordProblem(record);
    if (problem) failed.push(failure(record, problem.errorCode, problem.errorMessage));
    else yield record;
  }
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
