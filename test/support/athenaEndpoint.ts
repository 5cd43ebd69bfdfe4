import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DuckDBDateValue,
  DuckDBDecimalType,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBTimestampValue,
  DuckDBTypeId,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBResultReader,
  type DuckDBValue,
} from '@duckdb/node-api';
import { AthenaCatalog } from './athenaCatalog.ts';
import { listenLocally, readBody, replyJson } from './localHttpEndpoint.ts';

/**
 * A stand-in for Amazon Athena on a free loopback port, speaking its AWS JSON 1.1 protocol
 * (POST /, X-Amz-Target: AmazonAthena.<Operation>, application/x-amz-json-1.1), so tests drive the
 * real AthenaClient. It runs the received SQL on DuckDB over a lake directory, whose tables it
 * exposes as "<database>"."order_lines" and "<database>"."products".
 *
 * Nothing here comes from the production code: the tables are defined from the Glue tables of
 * terraform/lake.tf (columns, types, partition keys, locations), as Athena would read the files
 * through them: Parquet columns by name, a column no file has reads NULL, the partition key comes
 * from the `key=value` directory; and the rules on parameters are checked by this file's own
 * scanner. So a query that only works through the production DuckDB views fails here.
 *
 * What it enforces, as Athena does: the workgroup must exist; ExecutionParameters are SQL literals
 * (a string must come single-quoted with inner quotes doubled, an unquoted word fails the query),
 * their count must match the `?`s, and `?` may only appear in WHERE; GetQueryResults takes
 * MaxResults 1..1000, pages with NextToken, and its first page starts with the header row; results
 * can only be read once the query SUCCEEDED. A query goes QUEUED → RUNNING → SUCCEEDED (a
 * configurable number of GetQueryExecution polls in each), or FAILED with a StateChangeReason (SQL
 * errors, bad parameters, injected failures); StopQueryExecution cancels it. Identical queries
 * with result reuse on are answered from the previous result. Reasons for failures Athena's docs do
 * not spell out are this stand-in's own wording.
 */

export interface StartedQuery {
  id: string;
  queryString: string;
  executionParameters?: string[];
  workGroup?: string;
  database?: string;
  catalog?: string;
  outputLocation?: string;
  resultReuse?: { enabled: boolean; maxAgeInMinutes?: number };
  clientRequestToken?: string;
}

export interface RecordedOperation {
  operation: string;
  at: number;
  queryExecutionId?: string;
}

export interface InjectedOutcome {
  state: 'FAILED' | 'CANCELLED';
  reason: string;
}

export interface AthenaEndpointOptions {
  lakeDir: string;
  /** Firehose's raw objects (`date=D/*.json.gz`), read as orders_raw (athenaCatalog.ts). */
  rawDir?: string;
  /** The S3 location that stands for `lakeDir` in DDL (default s3://demand-insights-lake/curated). */
  s3Root?: string;
  database?: string;
  workgroup?: string;
  /** GetQueryExecution calls answered QUEUED (default 1), then RUNNING (default 1; Infinity never ends). */
  queuedPolls?: number;
  runningPolls?: number;
  /** Decides a query's fate instead of running it (`index` counts started queries from 0). */
  outcome?: (query: StartedQuery, index: number) => InjectedOutcome | undefined;
  /** Honour ResultReuseConfiguration (default true). */
  resultReuse?: boolean;
  /**
   * Buckets UNLOAD may write to: name → local directory (the S3 stand-in's `buckets`, so what
   * UNLOAD writes, S3 serves). Without it UNLOAD fails as on a bucket the caller cannot write.
   */
  s3Buckets?: Record<string, string>;
  /** Athena's costs in time (off by default: unit tests would only wait). ATHENA_LATENCY is a measured set. */
  latency?: AthenaLatency;
  /**
   * Load the curated tables into memory once (default false: read the files per query). For
   * benchmarks over a large lake, where DuckDB re-reading hundreds of files per query on a shared
   * 2-core machine would measure the stand-in, not the queries; the latency model stands for
   * Athena's own scan. Not with DDL (the curation's catalog needs the file views).
   */
  materialize?: boolean;
}

/**
 * What a query costs in time in Athena, applied by the stand-in: a query cannot be SUCCEEDED
 * before `startupMs` plus its bytes scanned at `scanBytesPerMs` have passed since it was
 * submitted, and each GetQueryResults call waits `pageMs` before it answers.
 */
export interface AthenaLatency {
  startupMs: number;
  scanBytesPerMs: number;
  pageMs: number;
}

/**
 * One Athena engine v2 query's timeline, as GetQueryExecution reported it (qiita.com/zumax,
 * "Athenaで統計情報を取得する", 2022): 79,139,461 bytes scanned, queue 295 ms, planning 798 ms,
 * engine 5,083 ms, service processing 68 ms. Start-up = queue + planning + service processing;
 * scan rate = bytes / engine time (15.6 MB/s, a pessimistic rate: Athena spreads larger scans
 * over more workers). The page round trip is this project's assumption (150 ms: an HTTPS call
 * that reads the result object from S3; no AWS figure was found); MaxResults is at most 1,000
 * rows (GetQueryResults API reference).
 */
export const ATHENA_LATENCY: AthenaLatency = { startupMs: 295 + 798 + 68, scanBytesPerMs: 79_139_461 / 5_083, pageMs: 150 };

export interface AthenaEndpoint {
  endpoint: string;
  database: string;
  workgroup: string;
  /** Every accepted StartQueryExecution, in order. */
  started: StartedQuery[];
  /** Every request, in order: operation, arrival time (ms) and the query it names. */
  operations: RecordedOperation[];
  /** Query ids StopQueryExecution was called for. */
  stopped: string[];
  /** GetQueryResults calls a query's results took. */
  pagesOf(queryExecutionId: string): number;
  scannedBytesOf(queryExecutionId: string): number;
  close(): Promise<void>;
}

type State = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

interface ResultTable {
  /** DataScannedInBytes. */
  scannedBytes?: number;
  columnInfo: Record<string, unknown>[];
  /** Header row first. */
  rows: (string | undefined)[][];
}

interface Failure {
  reason: string;
  category: number;
  type: number;
}

interface Execution {
  query: StartedQuery;
  submitted: number;
  completed?: number;
  polls: number;
  state: State;
  reason?: string;
  error?: Failure;
  reused: boolean;
  /** GetQueryResults calls answered. */
  pages: number;
  injected?: InjectedOutcome;
  result?: Promise<ResultTable | Failure>;
  table?: ResultTable;
}

const JSON_11 = 'application/x-amz-json-1.1';
const MAX_QUERY_BYTES = 262_144;
const MAX_PAGE = 1000;

class ServiceError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

export async function startAthenaEndpoint(options: AthenaEndpointOptions): Promise<AthenaEndpoint> {
  const database = options.database ?? 'demand_insights_lake';
  const workgroup = options.workgroup ?? 'demand-insights';
  const queuedPolls = options.queuedPolls ?? 1;
  const runningPolls = options.runningPolls ?? 1;
  const reuseEnabled = options.resultReuse ?? true;
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  const glueTables = glueTablesFromTerraform();
  await createGlueTables(connection, options.lakeDir, database, glueTables, options.materialize ?? false);
  const catalog = new AthenaCatalog(connection, database, options.s3Root ?? 's3://demand-insights-lake/curated', options.lakeDir, options.rawDir);
  await catalog.init();
  await catalog.refreshRaw();
  // The curated tables move into the catalog at the first DDL (their views then list partitions
  // one by one); until then they are the glob views above, which the API's tests exercise.
  let adopted = false;
  const adoptTables = async () => {
    if (adopted) return;
    adopted = true;
    for (const table of glueTables) {
      const entry = { name: table.name, columns: table.columns.map((c) => ({ name: c.name, type: duckdbType(c) })), partitionKey: table.partitionKeys[0]?.name };
      catalog.adopt(entry, join(options.lakeDir, table.location));
      await catalog.rebuild(entry);
    }
  };
  const columnBytes = options.latency ? await parquetColumnBytes(connection, options.lakeDir, glueTables) : new Map<string, Map<string, number>>();
  const run = async (query: StartedQuery): Promise<ResultTable | Failure> => {
    if (/^\s*UNLOAD\s*\(/i.test(query.queryString)) return unload(connection, query, database, options.s3Buckets ?? {});
    if (/^\s*(CREATE|ALTER|DROP)\b/i.test(query.queryString) && query.database === database) {
      await adoptTables();
      const scannedBytes = catalog.rawBytes(query.queryString);
      if (/orders_raw/.test(query.queryString)) await catalog.refreshRaw();
      const outcome = await catalog.ddl(query.queryString).catch((error: Error) => ({ ok: false, reason: `GENERIC_INTERNAL_ERROR: ${error.message}` }));
      if (outcome) return outcome.ok ? { columnInfo: [], rows: [], scannedBytes } : { reason: outcome.reason ?? 'failed', category: 2, type: 1100 };
    }
    const pathQuery = /^\s*SELECT\s+DISTINCT\s+"\$path"\s+AS\s+path\s+FROM\s+([\w.]+)\s*$/i.exec(query.queryString);
    if (pathQuery) {
      // Athena's "$path" pseudo-column, which the DuckDB views do not carry: answered from the catalog.
      await adoptTables();
      const paths = catalog.paths(pathQuery[1]);
      if (!paths) return { reason: `TABLE_NOT_FOUND: Table ${pathQuery[1]} does not exist`, category: 2, type: 1100 };
      return { columnInfo: [{ Name: 'path', Label: 'path', Type: 'varchar', Nullable: 'UNKNOWN', CaseSensitive: true, Precision: 2147483647, Scale: 0 }], rows: [['path'], ...paths.map((path) => [path])], scannedBytes: 0 };
    }
    if (/orders_raw/.test(query.queryString)) await catalog.refreshRaw();
    const result = await execute(connection, query, database);
    if (!('reason' in result)) result.scannedBytes = catalog.rawBytes(query.queryString) + curatedBytes(columnBytes, query.queryString);
    return result;
  };
  const serial = new Serial();

  const executions = new Map<string, Execution>();
  const reusable = new Map<string, Execution>();
  const started: StartedQuery[] = [];
  const operations: RecordedOperation[] = [];
  const stopped: string[] = [];

  const finish = (execution: Execution, state: State, reason?: string, error?: Failure) => {
    execution.state = state;
    execution.reason = reason;
    execution.error = error;
    execution.completed = Date.now();
  };

  const startQuery = (body: Record<string, unknown>) => {
    const queryString = body.QueryString;
    if (typeof queryString !== 'string' || queryString.length === 0) throw new ServiceError('InvalidRequestException', 'QueryString is required');
    if (Buffer.byteLength(queryString) > MAX_QUERY_BYTES) throw new ServiceError('InvalidRequestException', `Query string exceeds ${MAX_QUERY_BYTES} bytes`);
    const group = typeof body.WorkGroup === 'string' ? body.WorkGroup : 'primary';
    if (group !== workgroup) throw new ServiceError('InvalidRequestException', `WorkGroup ${group} is not found.`);
    const parameters = body.ExecutionParameters;
    if (parameters !== undefined && (!Array.isArray(parameters) || parameters.length === 0 || parameters.some((p) => typeof p !== 'string' || p.length < 1 || p.length > 1024))) {
      throw new ServiceError('InvalidRequestException', 'ExecutionParameters must be a non-empty list of strings of 1..1024 characters');
    }
    const context = (body.QueryExecutionContext ?? {}) as Record<string, unknown>;
    const reuse = ((body.ResultReuseConfiguration as Record<string, unknown> | undefined)?.ResultReuseByAgeConfiguration ?? undefined) as
      | { Enabled?: boolean; MaxAgeInMinutes?: number }
      | undefined;
    const query: StartedQuery = {
      id: randomUUID(),
      queryString,
      executionParameters: parameters as string[] | undefined,
      workGroup: group,
      database: typeof context.Database === 'string' ? context.Database : undefined,
      catalog: typeof context.Catalog === 'string' ? context.Catalog : undefined,
      outputLocation: ((body.ResultConfiguration as Record<string, unknown> | undefined)?.OutputLocation as string | undefined) ?? undefined,
      resultReuse: reuse ? { enabled: reuse.Enabled === true, maxAgeInMinutes: reuse.MaxAgeInMinutes } : undefined,
      clientRequestToken: typeof body.ClientRequestToken === 'string' ? body.ClientRequestToken : undefined,
    };
    const index = started.length;
    started.push(query);
    const execution: Execution = { query, submitted: Date.now(), polls: 0, state: 'QUEUED', reused: false, pages: 0 };
    executions.set(query.id, execution);

    execution.injected = options.outcome?.(query, index);
    const key = JSON.stringify([queryString, parameters ?? [], query.database, group]);
    const previous = reusable.get(key);
    const maxAgeMs = (query.resultReuse?.maxAgeInMinutes ?? 60) * 60_000;
    if (!execution.injected && reuseEnabled && query.resultReuse?.enabled && previous?.table && Date.now() - (previous.completed ?? 0) <= maxAgeMs) {
      execution.reused = true;
      execution.table = previous.table;
      finish(execution, 'SUCCEEDED');
    } else if (!execution.injected) {
      execution.result = serial.run(() => run(query));
      execution.result.then((outcome) => {
        if (!('reason' in outcome)) reusable.set(key, execution);
      });
    }
    return { QueryExecutionId: query.id };
  };

  const advance = async (execution: Execution) => {
    if (execution.state === 'SUCCEEDED' || execution.state === 'FAILED' || execution.state === 'CANCELLED') return;
    execution.polls++;
    if (execution.polls <= queuedPolls) execution.state = 'QUEUED';
    else if (execution.polls <= queuedPolls + runningPolls) execution.state = 'RUNNING';
    else if (execution.injected) {
      const { state, reason } = execution.injected;
      finish(execution, state, reason, state === 'FAILED' ? { reason, category: 2, type: 1100 } : undefined);
    } else {
      const outcome = await (execution.result as Promise<ResultTable | Failure>);
      if (!('reason' in outcome) && options.latency && Date.now() < readyAt(execution, outcome, options.latency)) {
        execution.state = 'RUNNING';
        return;
      }
      if ('reason' in outcome) finish(execution, 'FAILED', outcome.reason, outcome);
      else {
        execution.table = outcome;
        finish(execution, 'SUCCEEDED');
      }
    }
  };

  const describe = (execution: Execution) => {
    const { query } = execution;
    const status: Record<string, unknown> = { State: execution.state, SubmissionDateTime: execution.submitted / 1000 };
    if (execution.completed) status.CompletionDateTime = execution.completed / 1000;
    if (execution.reason) status.StateChangeReason = execution.reason;
    if (execution.error) {
      status.AthenaError = { ErrorCategory: execution.error.category, ErrorType: execution.error.type, Retryable: false, ErrorMessage: execution.error.reason };
    }
    return {
      QueryExecution: {
        QueryExecutionId: query.id,
        Query: query.queryString,
        StatementType: 'DML',
        ResultConfiguration: { OutputLocation: `${query.outputLocation ?? `s3://athena-results-${workgroup}/`}${query.id}.csv` },
        ...(query.resultReuse
          ? { ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: query.resultReuse.enabled, MaxAgeInMinutes: query.resultReuse.maxAgeInMinutes } } }
          : {}),
        QueryExecutionContext: { Database: query.database, Catalog: query.catalog ?? 'AwsDataCatalog' },
        Status: status,
        Statistics: {
          EngineExecutionTimeInMillis: execution.completed ? execution.completed - execution.submitted : 0,
          DataScannedInBytes: execution.table?.scannedBytes ?? 0,
          TotalExecutionTimeInMillis: (execution.completed ?? Date.now()) - execution.submitted,
          ResultReuseInformation: { ReusedPreviousResult: execution.reused },
        },
        WorkGroup: query.workGroup,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3', EffectiveEngineVersion: 'Athena engine version 3' },
        ...(query.executionParameters ? { ExecutionParameters: query.executionParameters } : {}),
      },
    };
  };

  const find = (body: Record<string, unknown>): Execution => {
    const id = body.QueryExecutionId;
    if (typeof id !== 'string') throw new ServiceError('InvalidRequestException', 'QueryExecutionId is required');
    const execution = executions.get(id);
    if (!execution) throw new ServiceError('InvalidRequestException', `QueryExecution ${id} was not found`);
    return execution;
  };

  const results = async (body: Record<string, unknown>) => {
    const execution = find(body);
    if (options.latency) await sleep(options.latency.pageMs);
    execution.pages++;
    const max = body.MaxResults === undefined ? MAX_PAGE : body.MaxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_PAGE) {
      throw new ServiceError('InvalidRequestException', `MaxResults must be between 1 and ${MAX_PAGE}`);
    }
    if (execution.state !== 'SUCCEEDED' || !execution.table) {
      throw new ServiceError('InvalidRequestException', `Query has not yet finished. Current state: ${execution.state}`);
    }
    let offset = 0;
    if (body.NextToken !== undefined) {
      const token = decodeToken(body.NextToken);
      if (!token || token.id !== execution.query.id) throw new ServiceError('InvalidRequestException', 'NextToken is invalid');
      offset = token.offset;
    }
    const { rows, columnInfo } = execution.table;
    const page = rows.slice(offset, offset + max);
    const next = offset + max < rows.length ? encodeToken(execution.query.id, offset + max) : undefined;
    return {
      UpdateCount: 0,
      ResultSet: {
        Rows: page.map((row) => ({ Data: row.map((value) => (value === undefined ? {} : { VarCharValue: value })) })),
        ResultSetMetadata: { ColumnInfo: columnInfo },
      },
      ...(next ? { NextToken: next } : {}),
    };
  };

  const handle = async (target: string, body: Record<string, unknown>): Promise<unknown> => {
    switch (target) {
      case 'StartQueryExecution':
        return startQuery(body);
      case 'GetQueryExecution': {
        const execution = find(body);
        await advance(execution);
        return describe(execution);
      }
      case 'GetQueryResults':
        return await results(body);
      case 'StopQueryExecution': {
        const execution = find(body);
        stopped.push(execution.query.id);
        if (execution.state === 'QUEUED' || execution.state === 'RUNNING') finish(execution, 'CANCELLED', 'Query was cancelled by user');
        return {};
      }
      default:
        throw new ServiceError('UnknownOperationException', `unsupported operation ${target}`);
    }
  };

  const server = await listenLocally((req, res) => {
    void readBody(req)
      .then(async (text) => {
        const target = String(req.headers['x-amz-target'] ?? '');
        if (req.method !== 'POST' || req.headers['content-type'] !== JSON_11) throw new ServiceError('SerializationException', `expected POST with ${JSON_11}`);
        if (!target.startsWith('AmazonAthena.')) throw new ServiceError('UnknownOperationException', `unsupported target ${target}`);
        const operation = target.slice('AmazonAthena.'.length);
        let body: Record<string, unknown>;
        try {
          body = ((text ? JSON.parse(text) : {}) ?? {}) as Record<string, unknown>;
        } catch {
          throw new ServiceError('SerializationException', 'body is not JSON');
        }
        const recorded: RecordedOperation = { operation, at: performance.now() };
        if (typeof body.QueryExecutionId === 'string') recorded.queryExecutionId = body.QueryExecutionId;
        operations.push(recorded);
        const answer = await handle(operation, body);
        if (operation === 'StartQueryExecution') recorded.queryExecutionId = (answer as { QueryExecutionId: string }).QueryExecutionId;
        reply(res, 200, answer);
      })
      .catch((error: unknown) => {
        if (error instanceof ServiceError) reply(res, error.status, { __type: error.type, Message: error.message });
        else reply(res, 500, { __type: 'InternalServerException', Message: String(error) });
      });
  });

  return {
    endpoint: server.endpoint,
    database,
    workgroup,
    started,
    operations,
    stopped,
    pagesOf: (id) => executions.get(id)?.pages ?? 0,
    scannedBytesOf: (id) => executions.get(id)?.table?.scannedBytes ?? 0,
    async close() {
      await server.close();
      await serial.run(async () => {
        connection.closeSync();
        instance.closeSync();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The latency model

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** When a finished query may report SUCCEEDED: start-up, then its bytes at the scan rate; a reused result at once. */
function readyAt(execution: Execution, table: ResultTable, latency: AthenaLatency): number {
  if (execution.reused) return execution.submitted;
  return execution.submitted + latency.startupMs + (table.scannedBytes ?? 0) / latency.scanBytesPerMs;
}

/** Compressed bytes of each column of each curated table's Parquet files (what Athena bills and reads). */
async function parquetColumnBytes(connection: DuckDBConnection, lakeDir: string, tables: readonly GlueTable[]): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const table of tables) {
    const dir = join(lakeDir, table.location);
    const depth = table.partitionKeys.length;
    const columns = new Map<string, number>();
    out.set(table.name, columns);
    if (!hasParquet(dir, depth)) continue;
    const glob = join(dir, ...Array<string>(depth).fill('*'), '*.parquet');
    const reader = await connection.runAndReadAll(`SELECT path_in_schema AS name, SUM(total_compressed_size) AS bytes FROM parquet_metadata(${literal(glob)}) GROUP BY path_in_schema`);
    for (const row of reader.getRowObjectsJson()) columns.set(String(row.name).toLowerCase(), Number(row.bytes));
  }
  return out;
}

/** Bytes a query reads of the curated tables: every column of a table it names that its text mentions. */
function curatedBytes(columnBytes: Map<string, Map<string, number>>, sql: string): number {
  const words = new Set((sql.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []));
  let bytes = 0;
  for (const [table, columns] of columnBytes) {
    if (!words.has(table)) continue;
    for (const [column, size] of columns) if (words.has(column)) bytes += size;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The tables, as the Glue catalog of terraform/lake.tf defines them

/** A value bound to a `?`, as an ExecutionParameters literal reads. */
type SqlParam = string | number | boolean | null;

export interface GlueColumn {
  name: string;
  /** Hive DDL type name, as in the Terraform. */
  type: string;
}

export interface GlueTable {
  name: string;
  columns: GlueColumn[];
  partitionKeys: GlueColumn[];
  /** Where the files are, relative to the curated root (`local.curated_root`): the local lake directory. */
  location: string;
}

/** The lake's Terraform: its tables, and the curation's summary tables beside them. */
const TERRAFORM_LAKE = ['lake.tf', 'lake_summaries.tf'].map((file) => fileURLToPath(new URL(`../../terraform/${file}`, import.meta.url)));

/**
 * The curated Glue tables of terraform/lake.tf and lake_summaries.tf (those under `local.curated_root`, which is what
 * `lake build` writes locally): each table's columns (from the `local.*_columns` list its dynamic
 * block iterates), partition keys and location.
 */
export function glueTablesFromTerraform(text: string = TERRAFORM_LAKE.map((file) => readFileSync(file, 'utf8')).join('\n')): GlueTable[] {
  const columnLists = new Map<string, GlueColumn[]>();
  for (const list of text.matchAll(/^\s*(\w+_columns)\s*=\s*\[([\s\S]*?)^\s*\]/gm)) {
    columnLists.set(list[1], [...list[2].matchAll(/\{\s*name\s*=\s*"([^"]+)"\s*,\s*type\s*=\s*"([^"]+)"\s*\}/g)].map((m) => ({ name: m[1], type: m[2] })));
  }
  const tables: GlueTable[] = [];
  for (const resource of text.split(/^resource "aws_glue_catalog_table" "\w+" \{/m).slice(1)) {
    const body = resource.slice(0, resource.search(/^\}/m));
    // One resource per table of a map (the summary tables): for_each over `local.<map>`, named and located by each.key.
    const each = /^\s*for_each\s*=\s*local\.(\w+)\s*$/m.exec(body);
    if (each && /location\s*=\s*"\$\{local\.curated_root\}\/\$\{each\.key\}\/"/.test(body)) {
      for (const [name, columns] of tableMap(text, each[1])) tables.push({ name, columns, partitionKeys: [], location: name });
      continue;
    }
    const location = /^\s*location\s*=\s*"\$\{local\.curated_root\}\/([^"]*?)\/?"/m.exec(body);
    if (!location) continue; // orders_raw: Firehose's JSON, not what the API reads
    const name = /^\s*name\s*=\s*"(\w+)"/m.exec(body);
    const list = /for_each\s*=\s*local\.(\w+)/.exec(body);
    const columns = list ? columnLists.get(list[1]) : undefined;
    if (!name || !columns || columns.length === 0) throw new Error('terraform/lake.tf: a curated Glue table without a name or a known column list');
    const partitionKeys = [...body.matchAll(/partition_keys\s*\{\s*name\s*=\s*"(\w+)"\s*type\s*=\s*"(\w+)"\s*\}/g)].map((m) => ({ name: m[1], type: m[2] }));
    tables.push({ name: name[1], columns, partitionKeys, location: location[1] });
  }
  return tables;
}

/** The entries of a `local.<map>` of tables: `name = { description = "...", columns = [{ name, type }, ...] }`. */
function tableMap(text: string, map: string): Map<string, GlueColumn[]> {
  const start = text.search(new RegExp(`^\\s*${map}\\s*=\\s*\\{`, 'm'));
  if (start < 0) throw new Error(`terraform: local.${map} not found`);
  const block = text.slice(start, text.indexOf('\n  }\n', start));
  const out = new Map<string, GlueColumn[]>();
  for (const entry of block.matchAll(/^\s*(\w+)\s*=\s*\{\s*description\s*=\s*"[^"]*"\s*columns\s*=\s*\[([\s\S]*?)\]/gm)) {
    out.set(entry[1], [...entry[2].matchAll(/\{\s*name\s*=\s*"([^"]+)"\s*,\s*type\s*=\s*"([^"]+)"\s*\}/g)].map((m) => ({ name: m[1], type: m[2] })));
  }
  if (out.size === 0) throw new Error(`terraform: local.${map} holds no table`);
  return out;
}

const DUCKDB_TYPE_OF_HIVE: Record<string, string> = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  float: 'FLOAT',
  bigint: 'BIGINT',
  int: 'INTEGER',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
};

function duckdbType(column: GlueColumn): string {
  const type = DUCKDB_TYPE_OF_HIVE[column.type];
  if (!type) throw new Error(`the Athena stand-in does not map the Hive type ${column.type} (column ${column.name})`);
  return type;
}

const identifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

function hasParquet(dir: string, depth: number): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { withFileTypes: true }).some((entry) =>
    depth === 0 ? entry.isFile() && entry.name.endsWith('.parquet') : (entry.isDirectory() || entry.isSymbolicLink()) && hasParquet(join(dir, entry.name), depth - 1),
  );
}

/**
 * One view per Glue table over `<lakeDir>/<location>`: Parquet read by column name (every file's
 * columns, `union_by_name`), each Glue column cast to its type or NULL when no file has it,
 * partition keys from the Hive directory names. An empty location reads as an empty table.
 */
async function createGlueTables(connection: DuckDBConnection, lakeDir: string, database: string, tables: readonly GlueTable[], materialize: boolean): Promise<void> {
  await connection.run(`CREATE SCHEMA ${identifier(database)}`);
  for (const table of tables) {
    const dir = join(lakeDir, table.location);
    const depth = table.partitionKeys.length;
    const all = [...table.columns, ...table.partitionKeys];
    let select: string;
    if (!hasParquet(dir, depth)) {
      select = `SELECT ${all.map((c) => `CAST(NULL AS ${duckdbType(c)}) AS ${identifier(c.name)}`).join(', ')} WHERE FALSE`;
    } else {
      const glob = join(dir, ...Array<string>(depth).fill('*'), '*.parquet');
      const hive = depth > 0 ? `, hive_partitioning = true, hive_types = {${table.partitionKeys.map((k) => `${literal(k.name)}: ${duckdbType(k)}`).join(', ')}}` : '';
      const files = `read_parquet(${literal(glob)}${hive}, union_by_name = true)`;
      const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${files}`);
      const present = new Set(described.getRowObjectsJson().map((row) => String(row.column_name).toLowerCase()));
      const cells = all.map((c) =>
        present.has(c.name.toLowerCase()) ? `CAST(${identifier(c.name)} AS ${duckdbType(c)}) AS ${identifier(c.name)}` : `CAST(NULL AS ${duckdbType(c)}) AS ${identifier(c.name)}`,
      );
      select = `SELECT ${cells.join(', ')} FROM ${files}`;
    }
    await connection.run(`CREATE ${materialize ? 'TABLE' : 'VIEW'} ${identifier(database)}.${identifier(table.name)} AS ${select}`);
  }
}

/** Runs tasks one at a time, in submission order (one DuckDB connection). */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// Athena's parameter rules: the clause each `?` of a statement sits in

const CLAUSE_WORDS = new Set(['SELECT', 'FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'OFFSET', 'WITH', 'UNION', 'INTERSECT', 'EXCEPT', 'JOIN', 'ON', 'USING', 'VALUES', 'WINDOW']);
const TOKENS = /'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|[A-Za-z_][A-Za-z0-9_]*|[()?]|[\s\S]/g;

/** For each `?` outside literals, quoted names and comments, in order: the clause it is in ('' before any). */
function parameterClauses(sql: string): string[] {
  const stack = [''];
  const clauses: string[] = [];
  for (const [token] of sql.matchAll(TOKENS)) {
    if (token === '(') stack.push(stack[stack.length - 1]);
    else if (token === ')') {
      if (stack.length > 1) stack.pop();
    } else if (token === '?') clauses.push(stack[stack.length - 1]);
    else if (/^[A-Za-z_]/.test(token) && CLAUSE_WORDS.has(token.toUpperCase())) stack[stack.length - 1] = token.toUpperCase();
  }
  return clauses;
}

// ---------------------------------------------------------------------------------------------
// Running a query on DuckDB

async function execute(connection: DuckDBConnection, query: StartedQuery, database: string): Promise<ResultTable | Failure> {
  if (query.database !== database) return { reason: `SCHEMA_NOT_FOUND: Schema '${query.database ?? ''}' does not exist`, category: 2, type: 1100 };
  const clauses = parameterClauses(query.queryString);
  const literals = query.executionParameters ?? [];
  if (clauses.length !== literals.length) {
    return { reason: `Incorrect number of parameters: expected ${clauses.length} but found ${literals.length}`, category: 2, type: 1006 };
  }
  const misplaced = clauses.findIndex((clause) => clause !== 'WHERE');
  if (misplaced >= 0) {
    return { reason: `SYNTAX_ERROR: parameter ${misplaced + 1} is in ${clauses[misplaced] || 'the statement head'}; parameters are only allowed in WHERE`, category: 2, type: 1006 };
  }
  const values: SqlParam[] = [];
  for (const [index, literal] of literals.entries()) {
    const value = parseLiteral(literal);
    if (value instanceof Error) return { reason: `SYNTAX_ERROR: ExecutionParameters[${index}] ${value.message}`, category: 2, type: 1006 };
    values.push(value);
  }
  let statement: DuckDBPreparedStatement | undefined;
  try {
    statement = await connection.prepare(query.queryString);
    values.forEach((value, index) => bindLiteral(statement as DuckDBPreparedStatement, index + 1, value));
    return toResultTable(await statement.runAndReadAll());
  } catch (error) {
    const message = (error as Error).message;
    const category = /^(Parser|Binder|Catalog|Conversion) Error/.test(message) ? 'SYNTAX_ERROR' : 'GENERIC_INTERNAL_ERROR';
    return { reason: `${category}: ${message}`, category: category === 'SYNTAX_ERROR' ? 2 : 1, type: category === 'SYNTAX_ERROR' ? 1006 : 1000 };
  } finally {
    statement?.destroySync();
  }
}

/**
 * `UNLOAD (SELECT ...) TO 's3://bucket/prefix/' WITH (format = ..., compression = ...)`, as Athena
 * runs it: the SELECT's rows written under the prefix, which must be empty, as objects named
 * `<query id>_<n>` with no extension; PARQUET (GZIP unless told otherwise, as Athena's default)
 * or JSON (gzip-compressed lines). No rows come back to GetQueryResults.
 */
async function unload(connection: DuckDBConnection, query: StartedQuery, database: string, buckets: Record<string, string>): Promise<ResultTable | Failure> {
  const syntax = (reason: string): Failure => ({ reason: `SYNTAX_ERROR: ${reason}`, category: 2, type: 1006 });
  if (query.database !== database) return { reason: `SCHEMA_NOT_FOUND: Schema '${query.database ?? ''}' does not exist`, category: 2, type: 1100 };
  const match = /^\s*UNLOAD\s*\(([\s\S]*)\)\s*TO\s*'([^']*)'\s*WITH\s*\(([\s\S]*)\)\s*;?\s*$/i.exec(query.queryString);
  if (!match) return syntax("UNLOAD takes (SELECT ...) TO 's3://...' WITH (...)");
  const [, select, target, withText] = match;
  const properties = new Map([...withText.matchAll(/(\w+)\s*=\s*'([^']*)'/g)].map((m) => [m[1].toLowerCase(), m[2].toUpperCase()]));
  const format = properties.get('format') ?? 'TEXTFILE';
  if (format !== 'PARQUET' && format !== 'JSON') return syntax(`this stand-in unloads PARQUET and JSON, not ${format}`);
  const compression = properties.get('compression') ?? 'GZIP';
  if (!['GZIP', 'SNAPPY', 'ZSTD', 'NONE'].includes(compression)) return syntax(`unknown compression ${compression}`);
  const location = /^s3:\/\/([^/]+)\/(.*)$/.exec(target);
  if (!location || !target.endsWith('/')) return syntax(`the UNLOAD target must be an s3:// prefix ending in /: ${target}`);
  const root = buckets[location[1]];
  if (!root) return { reason: `Access Denied: s3://${location[1]} (no such bucket, or no permission to write it)`, category: 1, type: 1000 };
  const dir = join(root, ...location[2].split('/').filter(Boolean));
  if (existsSync(dir) && readdirSync(dir).length > 0) return { reason: `HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: ${target}`, category: 2, type: 1100 };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${query.id}_0`);
  const options = format === 'PARQUET' ? `FORMAT PARQUET, COMPRESSION ${compression === 'NONE' ? 'UNCOMPRESSED' : compression}` : `FORMAT JSON, COMPRESSION ${compression === 'NONE' ? 'UNCOMPRESSED' : 'GZIP'}`;
  try {
    await connection.run(`COPY (${select}) TO ${literal(file)} (${options})`);
  } catch (error) {
    return syntax((error as Error).message);
  }
  return { columnInfo: [], rows: [] };
}

/** An ExecutionParameters entry as Trino reads a literal; an Error for anything else. */
export function parseLiteral(text: string): SqlParam | Error {
  const quoted = /^'((?:[^']|'')*)'$/s.exec(text);
  if (quoted) return quoted[1].replaceAll("''", "'");
  if (/^NULL$/i.test(text)) return null;
  if (/^TRUE$/i.test(text)) return true;
  if (/^FALSE$/i.test(text)) return false;
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (text.startsWith("'")) return new Error(`is not a valid string literal (quotes inside a string must be doubled): ${text}`);
  return new Error(`is not a literal: ${text} (string values must be enclosed in single quotes)`);
}

function bindLiteral(statement: DuckDBPreparedStatement, index: number, value: SqlParam): void {
  if (value === null) statement.bindNull(index);
  else if (typeof value === 'string') statement.bindVarchar(index, value);
  else if (typeof value === 'boolean') statement.bindBoolean(index, value);
  else if (Number.isInteger(value) && Math.abs(value) <= 2 ** 31 - 1) statement.bindInteger(index, value);
  else if (Number.isSafeInteger(value)) statement.bindBigInt(index, BigInt(value));
  else statement.bindDouble(index, value);
}

/** DuckDB's type as Athena's ColumnInfo names it. */
function athenaType(reader: DuckDBResultReader, index: number): { Type: string; Precision: number; Scale: number } {
  const id = reader.columnTypeId(index);
  switch (id) {
    case DuckDBTypeId.VARCHAR:
      return { Type: 'varchar', Precision: 2147483647, Scale: 0 };
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UINTEGER:
      return { Type: 'bigint', Precision: 19, Scale: 0 };
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return { Type: 'integer', Precision: 10, Scale: 0 };
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return { Type: 'smallint', Precision: 5, Scale: 0 };
    case DuckDBTypeId.TINYINT:
      return { Type: 'tinyint', Precision: 3, Scale: 0 };
    case DuckDBTypeId.DOUBLE:
      return { Type: 'double', Precision: 17, Scale: 0 };
    case DuckDBTypeId.FLOAT:
      return { Type: 'float', Precision: 17, Scale: 0 };
    case DuckDBTypeId.DECIMAL: {
      const type = reader.columnType(index) as DuckDBDecimalType;
      return { Type: 'decimal', Precision: type.width, Scale: type.scale };
    }
    case DuckDBTypeId.DATE:
      return { Type: 'date', Precision: 0, Scale: 0 };
    case DuckDBTypeId.TIMESTAMP:
      return { Type: 'timestamp', Precision: 3, Scale: 0 };
    case DuckDBTypeId.BOOLEAN:
      return { Type: 'boolean', Precision: 0, Scale: 0 };
    default:
      throw new Error(`the Athena stand-in cannot return DuckDB type ${DuckDBTypeId[id]}`);
  }
}

function toResultTable(reader: DuckDBResultReader): ResultTable {
  const names = reader.columnNames();
  const types = names.map((_, index) => athenaType(reader, index));
  const columnInfo = names.map((name, index) => ({
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: name,
    Label: name,
    ...types[index],
    Nullable: 'UNKNOWN',
    CaseSensitive: types[index].Type === 'varchar',
  }));
  const columns = reader.getColumns();
  const rows: (string | undefined)[][] = [names];
  for (let r = 0; r < reader.currentRowCount; r++) rows.push(columns.map((column, c) => athenaText(column[r], types[c].Type)));
  return { columnInfo, rows };
}

/** A value as Athena writes it in GetQueryResults: text, doubles in Java's notation, timestamps with milliseconds. */
function athenaText(value: DuckDBValue, type: string): string | undefined {
  if (value === null) return undefined;
  switch (type) {
    case 'double':
    case 'float':
      return javaDouble(Number(value));
    case 'decimal':
      return (value as DuckDBDecimalValue).toString();
    case 'date':
      return (value as DuckDBDateValue).toString();
    case 'timestamp': {
      const iso = new Date(Number((value as DuckDBTimestampValue).micros / 1000n)).toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
    }
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return String(value);
  }
}

/** Java's Double.toString: 1.0E7 and 1.0E-4 outside [1e-3, 1e7), a trailing .0 on whole numbers. */
export function javaDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa, exponent] = value.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

// ---------------------------------------------------------------------------------------------
// Plumbing

function encodeToken(id: string, offset: number): string {
  return Buffer.from(JSON.stringify({ id, offset })).toString('base64url');
}

function decodeToken(token: unknown): { id: string; offset: number } | undefined {
  if (typeof token !== 'string') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { id?: unknown; offset?: unknown };
    if (typeof parsed.id === 'string' && typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset > 0) {
      return { id: parsed.id, offset: parsed.offset };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  replyJson(res, status, body, JSON_11);
}
