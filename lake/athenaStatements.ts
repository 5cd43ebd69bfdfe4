import { type AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, StopQueryExecutionCommand } from '@aws-sdk/client-athena';
import { AthenaQueryError, AthenaTimeoutError } from '../api/engines/athenaEngine.ts';

/**
 * Runs whole statements on Athena (DDL, CTAS, small SELECTs) for the curation: start, poll with
 * backoff until done, read the rows as text. Unlike the API's engine there is no result reuse
 * (each run must see the raw data as it is now) and the deadline is minutes, not seconds. It
 * adds up DataScannedInBytes, what Athena bills.
 */

export interface StatementRunnerOptions {
  client: AthenaClient;
  database: string;
  workgroup: string;
  outputLocation?: string;
  /** Per statement (default 10 minutes). */
  timeoutMs?: number;
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
}

export interface StatementRunner {
  /** Runs a statement; for a SELECT, its rows as column name → text (NULL as null). */
  run(sql: string, label: string): Promise<Record<string, string | null>[]>;
  bytesScanned(): number;
}

export function statementRunner(options: StatementRunnerOptions): StatementRunner {
  const { client } = options;
  const timeoutMs = options.timeoutMs ?? 600_000;
  let scanned = 0;

  const awaitDone = async (id: string, label: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let wait = options.pollIntervalMs ?? 200;
    for (;;) {
      const { QueryExecution: execution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const status = execution?.Status;
      const state = status?.State;
      if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') scanned += execution?.Statistics?.DataScannedInBytes ?? 0;
      if (state === 'SUCCEEDED') return;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason = status?.StateChangeReason ?? status?.AthenaError?.ErrorMessage ?? 'no reason given';
        throw new AthenaQueryError(`Athena ${label} (${id}) ${state}: ${reason}`, id, state, reason, status?.AthenaError?.ErrorCategory, status?.AthenaError?.ErrorType);
      }
      if (Date.now() >= deadline) {
        await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
        throw new AthenaTimeoutError(`Athena ${label} (${id}) still ${state ?? 'pending'} after ${timeoutMs} ms: stopped`, id, timeoutMs);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, options.maxPollIntervalMs ?? 2000);
    }
  };

  const rows = async (id: string): Promise<Record<string, string | null>[]> => {
    const out: Record<string, string | null>[] = [];
    let names: string[] | undefined;
    let token: string | undefined;
    let first = true;
    do {
      const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1000, NextToken: token }));
      names ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((column) => column.Name ?? '');
      const data = page.ResultSet?.Rows ?? [];
      for (let r = first ? 1 : 0; r < data.length; r++) {
        const cells = data[r].Data ?? [];
        out.push(Object.fromEntries(names.map((name, c) => [name, cells[c]?.VarCharValue ?? null])));
      }
      first = false;
      token = page.NextToken;
    } while (token);
    return out;
  };

  return {
    async run(sql, label) {
      const { QueryExecutionId: id } = await client.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: options.workgroup,
          QueryExecutionContext: { Database: options.database },
          ...(options.outputLocation ? { ResultConfiguration: { OutputLocation: options.outputLocation } } : {}),
        }),
      );
      if (!id) throw new Error(`Athena started ${label} without a QueryExecutionId`);
      await awaitDone(id, label);
      return /^\s*SELECT\b/i.test(sql) ? rows(id) : [];
    },
    bytesScanned: () => scanned,
  };
}
