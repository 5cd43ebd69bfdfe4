import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type ColumnInfo,
  type QueryExecution,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import { z } from 'zod';
import { athenaClient } from '../../aws/clients.ts';
import {
  checkParams,
  fillFragments,
  isoTimestamp,
  loadQueries,
  QueryEngineError,
  quotedName,
  tableRefs,
  type Column,
  type ColumnType,
  type QueryEngine,
  type QueryName,
  type QueryResult,
  type Row,
  type SqlFragments,
  type SqlParam,
  type SqlValue,
  type TableRefs,
} from './queryEngine.ts';

/**
 * The AWS engine: each query is one StartQueryExecution in the configured workgroup and database,
 * its values passed as ExecutionParameters (Athena wants SQL literals: strings arrive quoted, with
 * single quotes doubled, which this engine does; callers pass typed values), result reuse on.
 * GetQueryExecution is polled with exponential backoff until the query ends or the deadline
 * passes (then the query is stopped and a timeout error thrown); FAILED and CANCELLED surface
 * with Athena's StateChangeReason; results come from paginated GetQueryResults, typed by the
 * result set's ColumnInfo.
 */

export interface AthenaEngineOptions {
  database: string;
  workgroup: string;
  /** s3://… for results; optional when the workgroup enforces its own. */
  outputLocation?: string;
  catalog?: string;
  /** Glue table names (default order_lines, products; the summary tables by their own names). */
  tables?: Partial<TableRefs>;
  /** Result reuse by age: minutes (1..10080, default 60); 0 disables reuse. */
  resultReuseMinutes?: number;
  /** First wait between polls (default 100 ms), multiplied by `backoffFactor` (2) up to `maxPollIntervalMs` (1000). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  backoffFactor?: number;
  /** Overall deadline of one query, start to last page (default 25 s, under API Gateway's 29 s). */
  timeoutMs?: number;
  /** GetQueryResults page size, 1..1000 (default 1000). */
  pageSize?: number;
  region?: string;
  /** A local stand-in (test/support/athenaEndpoint.ts); uses dummy credentials. */
  endpoint?: string;
  client?: AthenaClient;
  sqlDir?: string;
}

export interface AthenaEngine extends QueryEngine {
  readonly kind: 'athena';
  /** The exact QueryString each query sends. */
  sqlText(name: QueryName): string;
}

/** Raised when Athena reports FAILED or CANCELLED. */
export class AthenaQueryError extends QueryEngineError {
  constructor(
    message: string,
    readonly queryExecutionId: string,
    readonly state: 'FAILED' | 'CANCELLED',
    readonly reason: string,
    readonly errorCategory?: number,
    readonly errorType?: number,
  ) {
    super(message);
    this.name = 'AthenaQueryError';
  }
}

/** Raised when a query outlives the deadline; the query has been asked to stop. */
export class AthenaTimeoutError extends QueryEngineError {
  constructor(message: string, readonly queryExecutionId: string, readonly timeoutMs: number) {
    super(message);
    this.name = 'AthenaTimeoutError';
  }
}

/** The Athena variables of a Lambda's environment; api/lambda.ts extends this for the API. */
export const AthenaEnvSchema = z.object({
  ATHENA_DATABASE: z.string().trim().min(1, 'is required'),
  ATHENA_WORKGROUP: z.string().trim().min(1, 'is required'),
  /** s3://… for results; optional when the workgroup enforces its own. */
  ATHENA_OUTPUT_LOCATION: z.string().regex(/^s3:\/\//, 'must be an s3:// location').transform((location) => location.trim()).optional(),
  /** Athena result reuse (minutes) and the per-query deadline (ms), below the Lambda timeout. */
  ATHENA_RESULT_REUSE_MINUTES: z.string().regex(/^\d+$/, 'must be a whole number of minutes').transform(Number).optional(),
  ATHENA_TIMEOUT_MS: z.string().regex(/^\d+$/, 'must be a whole number of milliseconds').transform(Number).optional(),
  AWS_REGION: z.string().optional(),
  /** A local stand-in only (test/support/athenaEndpoint.ts). */
  ATHENA_ENDPOINT: z.string().url().optional(),
});

export type AthenaEnv = z.infer<typeof AthenaEnvSchema>;

/** Engine options from an environment already parsed by AthenaEnvSchema (or a schema extending it). */
export function athenaOptionsOf(env: AthenaEnv): AthenaEngineOptions {
  return {
    database: env.ATHENA_DATABASE,
    workgroup: env.ATHENA_WORKGROUP,
    outputLocation: env.ATHENA_OUTPUT_LOCATION,
    region: env.AWS_REGION?.trim() || undefined,
    resultReuseMinutes: env.ATHENA_RESULT_REUSE_MINUTES,
    timeoutMs: env.ATHENA_TIMEOUT_MS,
    ...(env.ATHENA_ENDPOINT ? { endpoint: env.ATHENA_ENDPOINT } : {}),
  };
}

/** Options from ATHENA_DATABASE, ATHENA_WORKGROUP, ATHENA_OUTPUT_LOCATION (optional), AWS_REGION, ATHENA_RESULT_REUSE_MINUTES, ATHENA_TIMEOUT_MS, ATHENA_ENDPOINT. */
export function athenaOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AthenaEngineOptions {
  const parsed = AthenaEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid Athena configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return athenaOptionsOf(parsed.data);
}

/** Athena's per-value limit on ExecutionParameters. */
const MAX_PARAMETER_LENGTH = 1024;

/** A value as the SQL literal Athena's ExecutionParameters expect. */
export function athenaLiteral(value: SqlParam): string {
  let literal: string;
  if (value === null) literal = 'NULL';
  else if (typeof value === 'boolean') literal = value ? 'TRUE' : 'FALSE';
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    // Integers as integer literals; others in exponent form, which Trino reads as DOUBLE (not DECIMAL).
    literal = Number.isSafeInteger(value) ? String(value) : value.toExponential();
  } else literal = `'${value.replaceAll("'", "''")}'`;
  if (literal.length > MAX_PARAMETER_LENGTH) throw new RangeError(`parameter longer than Athena's ${MAX_PARAMETER_LENGTH} characters once quoted`);
  return literal;
}

export function createAthenaEngine(options: AthenaEngineOptions): AthenaEngine {
  const client = options.client ?? athenaClient({ region: options.region, endpoint: options.endpoint });
  const ownsClient = !options.client;
  const tables = tableRefs((table) => quotedName(options.database, options.tables?.[table] ?? (table === 'orders' ? 'order_lines' : table)));
  const texts = loadQueries(tables, options.sqlDir);
  const reuseMinutes = options.resultReuseMinutes ?? 60;
  if (!Number.isInteger(reuseMinutes) || reuseMinutes < 0 || reuseMinutes > 10_080) throw new RangeError('resultReuseMinutes must be 0..10080');
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new RangeError('pageSize must be 1..1000');
  const timeoutMs = options.timeoutMs ?? 25_000;
  const firstWait = options.pollIntervalMs ?? 100;
  const maxWait = options.maxPollIntervalMs ?? 1000;
  const factor = options.backoffFactor ?? 2;
  let closed = false;

  const start = async (name: QueryName, params: readonly SqlParam[], fragments?: SqlFragments): Promise<string> => {
    const input: StartQueryExecutionCommandInput = {
      QueryString: fillFragments(name, texts[name], fragments),
      WorkGroup: options.workgroup,
      QueryExecutionContext: { Database: options.database, ...(options.catalog ? { Catalog: options.catalog } : {}) },
      ...(options.outputLocation ? { ResultConfiguration: { OutputLocation: options.outputLocation } } : {}),
      // Athena rejects an empty list: no parameters, no field.
      ...(params.length ? { ExecutionParameters: params.map(athenaLiteral) } : {}),
      ...(reuseMinutes > 0 ? { ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: true, MaxAgeInMinutes: reuseMinutes } } } : {}),
    };
    const { QueryExecutionId } = await client.send(new StartQueryExecutionCommand(input));
    if (!QueryExecutionId) throw new QueryEngineError(`Athena started ${name} without a QueryExecutionId`);
    return QueryExecutionId;
  };

  const stop = async (id: string) => {
    try {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    } catch {
      // Best effort: the timeout is what the caller needs to hear about.
    }
  };

  /** Polls until SUCCEEDED; throws on FAILED/CANCELLED, or stops the query at the deadline. */
  const awaitCompletion = async (name: QueryName, id: string, deadline: number): Promise<QueryExecution> => {
    let wait = firstWait;
    for (;;) {
      const { QueryExecution: execution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const status = execution?.Status;
      const state = status?.State;
      if (state === 'SUCCEEDED') return execution as QueryExecution;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason = status?.StateChangeReason ?? status?.AthenaError?.ErrorMessage ?? (state === 'CANCELLED' ? 'cancelled' : 'no reason given');
        throw new AthenaQueryError(
          `Athena query ${name} (${id}) ${state}: ${reason}`,
          id,
          state,
          reason,
          status?.AthenaError?.ErrorCategory,
          status?.AthenaError?.ErrorType,
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        await stop(id);
        throw new AthenaTimeoutError(`Athena query ${name} (${id}) still ${state ?? 'pending'} after ${timeoutMs} ms: stopped`, id, timeoutMs);
      }
      await sleep(Math.min(wait, remaining));
      wait = Math.min(wait * factor, maxWait);
    }
  };

  const fetchResults = async (name: QueryName, id: string, deadline: number): Promise<QueryResult> => {
    let columns: Column[] | undefined;
    const rows: Row[] = [];
    let token: string | undefined;
    let first = true;
    do {
      if (Date.now() > deadline) throw new AthenaTimeoutError(`Athena query ${name} (${id}): results not read within ${timeoutMs} ms`, id, timeoutMs);
      const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: pageSize, NextToken: token }));
      columns ??= decodeColumns(page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []);
      const data = page.ResultSet?.Rows ?? [];
      // The first row of the first page holds the column labels.
      for (let r = first ? 1 : 0; r < data.length; r++) rows.push(decodeRow(columns, data[r].Data ?? []));
      first = false;
      token = page.NextToken;
    } while (token);
    return { columns: columns ?? [], rows };
  };

  return {
    kind: 'athena',
    sqlText: (name) => texts[name],
    async query(name, params = [], fragments) {
      if (closed) throw new QueryEngineError('the Athena engine is closed');
      checkParams(name, params);
      const deadline = Date.now() + timeoutMs;
      const id = await start(name, params, fragments);
      await awaitCompletion(name, id, deadline);
      return fetchResults(name, id, deadline);
    },
    async close() {
      closed = true;
      if (ownsClient) client.destroy();
    },
  };
}

/** Athena's type name (ColumnInfo.Type) as the port's column type. */
export function athenaColumnType(type: string): ColumnType {
  const base = type.toLowerCase().replace(/\(.*$/, '').trim();
  switch (base) {
    case 'varchar':
    case 'char':
    case 'string':
      return 'varchar';
    case 'bigint':
      return 'bigint';
    case 'integer':
    case 'int':
    case 'smallint':
    case 'tinyint':
      return 'integer';
    case 'double':
    case 'float':
    case 'real':
      return 'double';
    case 'decimal':
      return 'decimal';
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamp';
    case 'boolean':
      return 'boolean';
    default:
      throw new QueryEngineError(`unsupported Athena column type ${type}`);
  }
}

function decodeColumns(info: readonly ColumnInfo[]): Column[] {
  return info.map((column) => ({ name: column.Name ?? column.Label ?? '', type: athenaColumnType(column.Type ?? '') }));
}

/** One result cell: Athena sends every value as text, NULL as a Datum without VarCharValue. */
export function decodeAthenaValue(text: string | undefined, type: ColumnType): SqlValue {
  if (text === undefined) return null;
  switch (type) {
    case 'varchar':
    case 'date':
      return text;
    case 'bigint':
    case 'integer':
    case 'double':
    case 'decimal': {
      const value = Number(text);
      if (Number.isNaN(value) && text !== 'NaN') throw new QueryEngineError(`not a number: ${JSON.stringify(text)}`);
      return value;
    }
    case 'boolean':
      return text === 'true';
    case 'timestamp':
      return isoTimestamp(text);
  }
}

function decodeRow(columns: readonly Column[], data: readonly { VarCharValue?: string }[]): Row {
  const row: Row = {};
  for (let c = 0; c < columns.length; c++) row[columns[c].name] = decodeAthenaValue(data[c]?.VarCharValue, columns[c].type);
  return row;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
