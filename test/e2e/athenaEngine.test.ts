import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  InvalidRequestException,
  StartQueryExecutionCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { athenaClient } from '../../aws/clients.ts';
import { AthenaQueryError, AthenaTimeoutError, createAthenaEngine, type AthenaEngine, type AthenaEngineOptions } from '../../api/engines/athenaEngine.ts';
import { createDuckDbEngine, type DuckDbEngine } from '../../api/engines/duckdbEngine.ts';
import { CUSTOMER_BATCH, QUERY_FRAGMENTS, QUERY_NAMES, type QueryName, type SqlParam } from '../../api/engines/queryEngine.ts';
import { buildLake } from '../../api/lake/buildLake.ts';
import type { LakeQueries } from '../../api/lake/lakeQueries.ts';
import { createLakeQueries, scopeParams } from '../../api/lake/lakeQueriesSql.ts';
import { segmentFragments } from '../../api/lake/segmentSql.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { glueTablesFromTerraform, startAthenaEndpoint, type AthenaEndpoint, type AthenaEndpointOptions } from '../support/athenaEndpoint.ts';
import { ONLINE_RETAIL_II } from '../support/sharedData.ts';

/*
 * The Athena engine through the real AthenaClient against the local Athena protocol endpoint
 * (test/support/athenaEndpoint.ts), which runs the SQL it receives on DuckDB over the same lake:
 * the request it sends, polling and its deadline, FAILED/CANCELLED with Athena's reason, pages of
 * 1,000 rows, typed decoding, and answers identical to the DuckDB engine's, hostile ids included,
 * with the query text never changing whatever the values.
 */

const RETAIL = ONLINE_RETAIL_II;

const HOSTILE = [
  "O'Brien",
  "x'; DROP TABLE order_lines; --",
  "' OR '1'='1",
  "'' OR ''=''",
  '/* comment */ OR 1=1',
  '-- comment',
  'a; SELECT 1',
  'back\\slash\\',
  "back\\'quote",
  '"double"',
  'ünïcödé 😀 客户',
  '%_%',
  '?',
  '{{orders}}',
  "'",
  'NULL',
];

function events(): OrderEvent[] {
  const base = generateEvents({ customers: 600, days: 200, seed: 23, start: '2024-01-01' });
  // The first half of the hostile ids are real customers, products and categories; every other
  // one has a country from the second half (the text 'NULL' among them, which is not NULL).
  const extra: OrderEvent[] = HOSTILE.slice(0, 8).map((id, index) => ({
    type: 'order',
    orderId: `hostile-${index}`,
    customerId: id,
    occurredAt: `2024-03-${String(10 + index).padStart(2, '0')}T12:00:00Z`,
    ...(index % 2 === 0 ? { country: HOSTILE[15 - index] } : {}),
    lines: [{ productId: id, categoryId: id, quantity: index + 1, unitPrice: 2.5 }],
  }));
  // A customer who moves country, and whose return carries one too.
  extra.push(
    { type: 'order', orderId: 'move-1', customerId: 'U-moves', occurredAt: '2024-01-03T09:00:00Z', country: 'France', lines: [{ productId: 'P0010', quantity: 2, unitPrice: 3 }, { productId: 'P0011', quantity: 1, unitPrice: 4 }] },
    { type: 'order', orderId: 'move-2', customerId: 'U-moves', occurredAt: '2024-05-03T09:00:00Z', country: 'Germany', lines: [{ productId: 'P0010', quantity: 1, unitPrice: 3 }] },
    { type: 'return', orderId: 'move-2', customerId: 'U-moves', occurredAt: '2024-05-04T09:00:00Z', country: 'Germany', lines: [{ productId: 'P0010', quantity: 1, unitPrice: 3 }] },
  );
  return [...base, ...extra];
}

/** Parameters for each query file, covering its filters. */
function paramSets(customers: readonly string[]): Record<QueryName, SqlParam[][]> {
  const batch = (ids: readonly string[]) => {
    const padded: SqlParam[] = ids.slice(0, CUSTOMER_BATCH);
    while (padded.length < CUSTOMER_BATCH) padded.push(padded[padded.length - 1]);
    return padded;
  };
  return {
    date_range: [[]],
    order_line_date_range: [[]],
    summary_presence: [[]],
    product_exists: [['P0010'], ['nope']],
    category_exists: [['C10'], ['nope']],
    daily_units: [scopeParams({}), scopeParams({ productId: 'P0010' }), scopeParams({ categoryId: 'C03' })],
    weekly_product_sales: [scopeParams({}), scopeParams({ categoryId: 'C03' })],
    product_sales: [[]],
    customer_rfm: [
      ['2024-04-01', '2024-04-01'],
      ['2030-01-01', '2030-01-01'],
    ],
    customer_order_lines: [[]],
    customer_order_lines_for: [batch(customers.slice(0, 3)), batch(customers.slice(0, 150))],
    customer_order_totals: [[]],
    customer_order_totals_for: [batch(customers.slice(0, 3)), batch(customers.slice(0, 150))],
    segment_sample: [['2024-04-01']],
    segment_summary: [Array<SqlParam>(2).fill('2024-04-01'), Array<SqlParam>(2).fill('2030-01-01')],
    segment_members: [[...Array<SqlParam>(2).fill('2024-04-01'), 7]],
    pooled_elasticity: [scopeParams({}), scopeParams({ categoryId: 'C03' })],
    top_products: [[]],
    product_categories: [[]],
  };
}

/** A three-segment model for the queries that take one (QUERY_FRAGMENTS). */
const SEGMENT_MODEL = { mean: [3, 1, 4] as const, std: [1, 0.5, 1.5] as const, centroids: [[-1, 0, 0], [0, 1, 1], [1, -1, -1]] as const };
const fragmentsOf = (name: QueryName) => (QUERY_FRAGMENTS[name] ? segmentFragments(SEGMENT_MODEL) : undefined);

/** Sums of doubles over many rows depend on the order of summation, which parallel scans do not fix: equal to 1e-12. */
function expectClose(actual: Record<string, unknown>[], expected: Record<string, unknown>[], name: string): void {
  expect(actual.length, name).toBe(expected.length);
  actual.forEach((row, r) => {
    for (const [column, value] of Object.entries(expected[r])) {
      if (typeof value === 'number') expect(Math.abs((row[column] as number) - value), `${name}.${column}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(value)));
      else expect(row[column], `${name}.${column}`).toEqual(value);
    }
  });
}

const fast: Partial<AthenaEngineOptions> = { pollIntervalMs: 2, maxPollIntervalMs: 10 };

describe('Athena engine against the local Athena endpoint', () => {
  let dir: string;
  let lakeEvents: OrderEvent[];
  let duck: DuckDbEngine;
  let local: ReturnType<typeof createLakeQueries>;
  const open: { close(): Promise<void> }[] = [];

  const endpoint = async (options: Partial<AthenaEndpointOptions> = {}) => {
    const started = await startAthenaEndpoint({ lakeDir: dir, ...options });
    open.push(started);
    return started;
  };
  const engine = (at: AthenaEndpoint, options: Partial<AthenaEngineOptions> = {}): AthenaEngine => {
    const created = createAthenaEngine({ database: at.database, workgroup: at.workgroup, endpoint: at.endpoint, outputLocation: 's3://lake/athena-results/', ...fast, ...options });
    open.push(created);
    return created;
  };
  const client = (at: AthenaEndpoint): AthenaClient => {
    const created = athenaClient({ endpoint: at.endpoint });
    open.push({ close: async () => created.destroy() });
    return created;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-athena-'));
    lakeEvents = events();
    await buildLake(lakeEvents, dir);
    duck = await createDuckDbEngine({ lakeDir: dir });
    local = createLakeQueries(duck);
  });

  afterEach(async () => {
    for (const item of open.splice(0)) await item.close();
  });

  afterAll(async () => {
    await duck?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends each query with its workgroup, database, output location, result reuse and literal parameters', async () => {
    const at = await endpoint();
    const athena = engine(at, { resultReuseMinutes: 15 });
    await athena.query('daily_units', scopeParams({ productId: "O'Brien" }));
    expect(at.started).toHaveLength(1);
    expect(at.started[0]).toMatchObject({
      queryString: athena.sqlText('daily_units'),
      workGroup: at.workgroup,
      database: at.database,
      outputLocation: 's3://lake/athena-results/',
      resultReuse: { enabled: true, maxAgeInMinutes: 15 },
      executionParameters: ['TRUE', "'O''Brien'", 'FALSE', "''"],
    });
    expect(athena.sqlText('daily_units')).toContain(`FROM "${at.database}"."product_daily_sales"`);
    expect(athena.sqlText('customer_order_lines_for')).toContain(`FROM "${at.database}"."order_lines"`);
    expect(athena.sqlText('customer_order_totals_for')).toContain(`FROM "${at.database}"."customer_orders"`);
    // No parameters, no ExecutionParameters field (Athena rejects an empty list).
    await athena.query('date_range');
    expect(at.started[1].executionParameters).toBeUndefined();
    // Reuse off: no ResultReuseConfiguration.
    await engine(at, { resultReuseMinutes: 0 }).query('date_range');
    expect(at.started[2].resultReuse).toBeUndefined();
  });

  it('returns exactly what the DuckDB engine returns, for every query file, columns and types included', async () => {
    const at = await endpoint({ resultReuse: false });
    const athena = engine(at);
    const customers = [...new Set(lakeEvents.map((event) => event.customerId))];
    const sets = paramSets(customers);
    for (const name of QUERY_NAMES) {
      for (const params of sets[name]) {
        const expected = await duck.query(name, params, fragmentsOf(name));
        const actual = await athena.query(name, params, fragmentsOf(name));
        expect(actual.columns, name).toEqual(expected.columns);
        if (name === 'pooled_elasticity') expectClose(actual.rows, expected.rows, name);
        else expect(actual.rows, name).toEqual(expected.rows);
      }
    }
    expect(new Set((await athena.query('customer_order_lines')).columns.map((column) => column.type))).toEqual(new Set(['varchar', 'double', 'timestamp']));
    expect((await athena.query('customer_rfm', ['2024-04-01', '2024-04-01'])).columns.map((column) => column.type)).toEqual(['varchar', 'date', 'bigint', 'double']);
  });

  it('and so does every LakeQueries method', async () => {
    const at = await endpoint();
    const remote = createLakeQueries(engine(at));
    const customers = [...new Set(lakeEvents.map((event) => event.customerId))];
    expect(await remote.dateRange()).toEqual(await local.dateRange());
    for (const id of ['P0010', 'P0199', 'nope']) expect(await remote.productExists(id)).toBe(await local.productExists(id));
    for (const id of ['C01', 'C12', 'nope']) expect(await remote.categoryExists(id)).toBe(await local.categoryExists(id));
    for (const scope of [{}, { productId: 'P0010' }, { categoryId: 'C05' }, { productId: 'P0010', categoryId: 'C10' }]) {
      expect(await remote.dailyUnits(scope)).toEqual(await local.dailyUnits(scope));
      expect(await remote.weeklyProductSales(scope)).toEqual(await local.weeklyProductSales(scope));
    }
    for (const asOf of ['2024-02-01', '2024-07-18']) expect(await remote.customerRfm(asOf)).toEqual(await local.customerRfm(asOf));
    expect(await remote.customerOrderLines()).toEqual(await local.customerOrderLines());
    const many = customers.slice(0, 230);
    expect(await remote.customerOrderLines(many)).toEqual(await local.customerOrderLines(many));
    expect(await remote.customerOrderTotals()).toEqual(await local.customerOrderTotals());
    expect(await remote.customerOrderTotals(many)).toEqual(await local.customerOrderTotals(many));
    // Countries come through as text, NULL as null (and the text 'NULL' as that text).
    const withCountries = [...HOSTILE.slice(0, 8), 'U-moves'];
    const countryOf = (rows: { orderId: string; country: string | null }[]) => Object.fromEntries(rows.map((row) => [row.orderId, row.country]));
    const expectedCountries = {
      ...Object.fromEntries(HOSTILE.slice(0, 8).map((_, index) => [`hostile-${index}`, index % 2 === 0 ? HOSTILE[15 - index] : null])),
      'move-1': 'France',
      'move-2': 'Germany',
    };
    expect(countryOf(await remote.customerOrderLines(withCountries))).toEqual(expectedCountries);
    expect(countryOf(await remote.customerOrderTotals(withCountries))).toEqual(expectedCountries);
    expect(countryOf(await remote.customerOrderTotals(withCountries))['hostile-0']).toBe('NULL');
  });

  it('reads results over 1,000 rows page by page, the header row only on the first page', async () => {
    const at = await endpoint();
    const athena = engine(at);
    const expected = await duck.query('customer_order_lines');
    expect(expected.rows.length).toBeGreaterThan(2_500);
    const actual = await athena.query('customer_order_lines');
    expect(actual.rows).toEqual(expected.rows);
    const pages = at.operations.filter((op) => op.operation === 'GetQueryResults');
    expect(pages).toHaveLength(Math.ceil((expected.rows.length + 1) / 1000));
    // A page size under 1,000 pages the same rows.
    const small = engine(at, { pageSize: 7, resultReuseMinutes: 0 });
    expect((await small.query('customer_rfm', ['2024-02-01', '2024-02-01'])).rows).toEqual((await duck.query('customer_rfm', ['2024-02-01', '2024-02-01'])).rows);
  });

  it('polls QUEUED and RUNNING with exponential backoff until SUCCEEDED', async () => {
    const at = await endpoint({ queuedPolls: 3, runningPolls: 3 });
    const athena = engine(at, { pollIntervalMs: 10, maxPollIntervalMs: 60, backoffFactor: 2 });
    // The waits the engine asks for between polls, not how long they took: timings are bench's.
    const waits: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number, ...rest: unknown[]) => {
      waits.push(ms ?? 0);
      return realSetTimeout(callback, ms, ...rest);
    }) as typeof setTimeout);
    try {
      expect((await athena.query('product_exists', ['P0010'])).rows).toEqual([{ matches: 1 }]);
    } finally {
      spy.mockRestore();
    }
    const polls = at.operations.filter((op) => op.operation === 'GetQueryExecution');
    expect(polls).toHaveLength(7);
    // The SDK's own timers (socket and request timeouts) are all of a second or more.
    expect(waits.filter((ms) => ms > 0 && ms < 1000)).toEqual([10, 20, 40, 60, 60, 60]);
  });

  it('surfaces FAILED with Athena\'s StateChangeReason', async () => {
    const reason = 'HIVE_BAD_DATA: Error parsing field value for field 3';
    const at = await endpoint({ outcome: () => ({ state: 'FAILED', reason }) });
    const error = await engine(at).query('date_range').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ state: 'FAILED', reason, queryExecutionId: at.started[0].id });
    expect((error as Error).message).toContain(`date_range (${at.started[0].id}) FAILED: ${reason}`);
  });

  it('surfaces CANCELLED with its reason', async () => {
    const reason = 'Query was cancelled by an administrator';
    const at = await endpoint({ outcome: () => ({ state: 'CANCELLED', reason }) });
    const error = await engine(at).query('date_range').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ state: 'CANCELLED', reason });
  });

  it('surfaces an SQL error as FAILED with the engine\'s message', async () => {
    const at = await endpoint();
    const error = await engine(at, { tables: { daily_totals: 'no_such_table' } })
      .query('date_range')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect((error as AthenaQueryError).reason).toMatch(/no_such_table/);
  });

  it('stops a query that outlives the deadline and says so', async () => {
    const at = await endpoint({ runningPolls: Number.POSITIVE_INFINITY });
    const athena = engine(at, { timeoutMs: 300, pollIntervalMs: 10, maxPollIntervalMs: 50 });
    const error = await athena.query('date_range').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AthenaTimeoutError);
    expect((error as Error).message).toMatch(/still RUNNING after 300 ms: stopped/);
    const id = at.started[0].id;
    expect(at.stopped).toEqual([id]);
    const { QueryExecution } = await client(at).send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    expect(QueryExecution?.Status?.State).toBe('CANCELLED');
  });

  it('reuses a previous result for the same query and parameters', async () => {
    const at = await endpoint();
    const athena = engine(at);
    const first = await athena.query('customer_rfm', ['2024-03-01', '2024-03-01']);
    const second = await athena.query('customer_rfm', ['2024-03-01', '2024-03-01']);
    expect(second).toEqual(first);
    const api = client(at);
    const reused = await api.send(new GetQueryExecutionCommand({ QueryExecutionId: at.started[1].id }));
    expect(reused.QueryExecution?.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(true);
    await athena.query('customer_rfm', ['2024-03-02', '2024-03-02']);
    const other = await api.send(new GetQueryExecutionCommand({ QueryExecutionId: at.started[2].id }));
    expect(other.QueryExecution?.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(false);
  });

  describe('the endpoint holds to Athena\'s rules', () => {
    const run = async (at: AthenaEndpoint, QueryString: string, ExecutionParameters?: string[]) => {
      const api = client(at);
      const { QueryExecutionId } = await api.send(
        new StartQueryExecutionCommand({ QueryString, ExecutionParameters, WorkGroup: at.workgroup, QueryExecutionContext: { Database: at.database } }),
      );
      for (;;) {
        const { QueryExecution } = await api.send(new GetQueryExecutionCommand({ QueryExecutionId }));
        const state = QueryExecution?.Status?.State;
        if (state !== 'QUEUED' && state !== 'RUNNING') return { id: QueryExecutionId as string, state, reason: QueryExecution?.Status?.StateChangeReason };
      }
    };
    const table = (at: AthenaEndpoint) => `"${at.database}"."products"`;

    it('its tables are the Glue tables of terraform/lake.tf: columns in Glue order, then the partition key', async () => {
      const at = await endpoint();
      const api = client(at);
      for (const glue of glueTablesFromTerraform()) {
        const { id, state } = await run(at, `SELECT * FROM "${at.database}"."${glue.name}" LIMIT 1`);
        expect(state, glue.name).toBe('SUCCEEDED');
        const page = await api.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
        const columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((column) => column.Name);
        expect(columns, glue.name).toEqual([...glue.columns, ...glue.partitionKeys].map((column) => column.name));
      }
    });

    it('a string parameter must come quoted', async () => {
      const at = await endpoint();
      expect(await run(at, `SELECT COUNT(*) FROM ${table(at)} WHERE product_id = ?`, ["'P0010'"])).toMatchObject({ state: 'SUCCEEDED' });
      expect(await run(at, `SELECT COUNT(*) FROM ${table(at)} WHERE product_id = ?`, ['P0010'])).toMatchObject({ state: 'FAILED', reason: expect.stringMatching(/single quotes/) });
      expect(await run(at, `SELECT COUNT(*) FROM ${table(at)} WHERE product_id = ?`, ["'O'Brien'"])).toMatchObject({ state: 'FAILED', reason: expect.stringMatching(/doubled/) });
    });

    it('parameters must match the ?s and sit in WHERE', async () => {
      const at = await endpoint();
      expect(await run(at, `SELECT COUNT(*) FROM ${table(at)} WHERE product_id = ?`)).toMatchObject({
        state: 'FAILED',
        reason: 'Incorrect number of parameters: expected 1 but found 0',
      });
      expect(await run(at, `SELECT ? FROM ${table(at)} WHERE 1 = 1`, ["'x'"])).toMatchObject({ state: 'FAILED', reason: expect.stringMatching(/only allowed in WHERE/) });
    });

    it('GetQueryResults: at most 1,000 rows a page, only once SUCCEEDED; an unknown workgroup is refused', async () => {
      const at = await endpoint({ runningPolls: Number.POSITIVE_INFINITY });
      const api = client(at);
      const { QueryExecutionId } = await api.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: at.workgroup, QueryExecutionContext: { Database: at.database } }));
      await expect(api.send(new GetQueryResultsCommand({ QueryExecutionId, MaxResults: 1000 }))).rejects.toThrow(/not yet finished/);
      await expect(api.send(new GetQueryResultsCommand({ QueryExecutionId, MaxResults: 1001 }))).rejects.toBeInstanceOf(InvalidRequestException);
      await expect(api.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'other' }))).rejects.toThrow(/WorkGroup other is not found/);
    });
  });

  it('hostile ids: the same answers as DuckDB, and never a different query text', async () => {
    const at = await endpoint({ queuedPolls: 0, runningPolls: 0 });
    const athena = engine(at);
    const remote = createLakeQueries(athena);
    for (const [index, id] of HOSTILE.entries()) {
      const known = index < 8;
      expect(await remote.productExists(id), id).toBe(known);
      expect(await remote.categoryExists(id), id).toBe(known);
      const daily = await remote.dailyUnits({ productId: id });
      expect(daily, id).toEqual(await local.dailyUnits({ productId: id }));
      expect(daily, id).toHaveLength(known ? 1 : 0);
      expect(await remote.weeklyProductSales({ categoryId: id }), id).toEqual(await local.weeklyProductSales({ categoryId: id }));
      const lines = await remote.customerOrderLines([id, 'U000001']);
      expect(lines, id).toEqual(await local.customerOrderLines([id, 'U000001']));
      expect(lines.filter((line) => line.customerId === id), id).toHaveLength(known ? 1 : 0);
    }
    // Every StartQueryExecution of one query carried byte-identical text: the file's, nothing spliced.
    const texts = new Map<string, Set<string>>();
    for (const query of at.started) {
      const name = QUERY_NAMES.find((candidate) => athena.sqlText(candidate) === query.queryString);
      expect(name, query.queryString).toBeDefined();
      texts.set(name as string, (texts.get(name as string) ?? new Set()).add(query.queryString));
    }
    // summary_presence: once, after the first empty answer from a summary (an unknown product's days), to tell an empty answer from missing summaries.
    expect([...texts.keys()].sort()).toEqual(['category_exists', 'customer_order_lines_for', 'daily_units', 'product_exists', 'summary_presence', 'weekly_product_sales']);
    expect(at.started.filter((query) => query.queryString === athena.sqlText('summary_presence'))).toHaveLength(1);
    for (const set of texts.values()) expect(set.size).toBe(1);
    // ...and the values travelled only as parameters.
    const sent = at.started.flatMap((query) => query.executionParameters ?? []);
    expect(sent).toContain("'x''; DROP TABLE order_lines; --'");
    expect(sent).toContain("'ünïcödé 😀 客户'");
    for (const query of at.started) for (const id of HOSTILE) if (id.length > 2 && id !== 'NULL') expect(query.queryString).not.toContain(id);
  });
});

describe('Athena engine on an empty lake', () => {
  it('answers with nothing: NULL cells decode to null', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-athena-empty-'));
    await buildLake([], dir);
    const at = await startAthenaEndpoint({ lakeDir: dir });
    const athena = createAthenaEngine({ database: at.database, workgroup: at.workgroup, endpoint: at.endpoint, ...fast });
    const remote = createLakeQueries(athena);
    try {
      expect((await athena.query('date_range')).rows).toEqual([{ first_day: null, last_day: null }]);
      expect(await remote.dateRange()).toBeNull();
      expect(await remote.dailyUnits({})).toEqual([]);
      expect(await remote.customerRfm('2024-01-01')).toEqual([]);
      expect(await remote.customerOrderLines(['a'])).toEqual([]);
    } finally {
      await remote.close();
      await at.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Athena engine on the Online Retail II sample', () => {
  let dir: string;
  let duck: DuckDbEngine;
  let at: AthenaEndpoint;
  let athena: AthenaEngine;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lake-athena-retail-'));
    await buildLake((await readDataset(RETAIL, 'online-retail')).events, dir);
    duck = await createDuckDbEngine({ lakeDir: dir });
    at = await startAthenaEndpoint({ lakeDir: dir, resultReuse: false });
    athena = createAthenaEngine({ database: at.database, workgroup: at.workgroup, endpoint: at.endpoint, ...fast });
  });

  afterAll(async () => {
    await athena?.close();
    await at?.close();
    await duck?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same answers as DuckDB for every method, over many pages', async () => {
    const local = createLakeQueries(duck);
    const remote = createLakeQueries(athena);
    expect(await remote.dateRange()).toEqual(await local.dateRange());
    expect(await remote.productExists('85123A')).toBe(true);
    expect(await remote.productExists('85123a')).toBe(false);
    expect(await remote.categoryExists('85123A')).toBe(false);
    for (const scope of [{}, { productId: '85123A' }, { productId: '84077' }]) {
      expect(await remote.dailyUnits(scope)).toEqual(await local.dailyUnits(scope));
      expect(await remote.weeklyProductSales(scope)).toEqual(await local.weeklyProductSales(scope));
    }
    const rfm = await remote.customerRfm('2010-11-30');
    expect(rfm.length).toBeGreaterThan(4_000);
    expect(rfm).toEqual(await local.customerRfm('2010-11-30'));
    const customers = rfm.filter((_, index) => index % 20 === 0).map((row) => row.customerId);
    const lines = await remote.customerOrderLines(customers);
    expect(lines.length).toBeGreaterThan(1_000);
    expect(lines).toEqual(await local.customerOrderLines(customers));
    expect(new Set(lines.map((line) => line.country)).size).toBeGreaterThan(1);
    expect(await remote.customerOrderTotals(customers)).toEqual(await local.customerOrderTotals(customers));
    const weeklyPages = at.operations.filter((op) => op.operation === 'GetQueryResults').length;
    expect(weeklyPages).toBeGreaterThan(80);
  });
});
