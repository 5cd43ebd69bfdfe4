import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, type AthenaClient } from '@aws-sdk/client-athena';
import { athenaLiteral, createAthenaEngine } from '../../api/engines/athenaEngine.ts';
import { DEFAULT_SQL_DIR, fillFragments, loadQueries, QUERIES, QUERY_FRAGMENTS, QUERY_NAMES, quotedName, readSqlFile, renderSql, scanSql, tableRefs, TABLE_PLACEHOLDERS, type QueryName } from '../../api/engines/queryEngine.ts';
import { segmentFragments } from '../../api/lake/segmentSql.ts';
import { scopeParams } from '../../api/lake/lakeQueriesSql.ts';
import { parseLiteral } from '../support/athenaEndpoint.ts';

/*
 * The SQL files are static text in the subset Athena (Trino) and DuckDB both run: every caller
 * value is a `?` in a WHERE clause, the only substitutions are the two table placeholders (engine
 * configuration), and nothing JS-interpolated can hide in them.
 */

const tables = tableRefs((table) => quotedName('db', table === 'orders' ? 'order_lines' : table));
const SEGMENT_MODEL = { mean: [3, 1, 4] as const, std: [1, 0.5, 1.5] as const, centroids: [[-1, 0, 0], [0, 1, 1]] as const };
const fragmentsOf = (name: QueryName) => (QUERY_FRAGMENTS[name] ? segmentFragments(SEGMENT_MODEL) : undefined);

describe('api/sql files', () => {
  const files = readdirSync(DEFAULT_SQL_DIR).filter((file) => file.endsWith('.sql'));

  it('are exactly the registered queries', () => {
    expect(files.map((file) => file.replace(/\.sql$/, '')).sort()).toEqual([...QUERY_NAMES].sort());
  });

  it.each(QUERY_NAMES)('%s.sql is static text: only table placeholders, no interpolation', (name) => {
    const text = readSqlFile(name);
    expect(text).not.toMatch(/\$\{/); // JS template interpolation
    expect(text).not.toMatch(/`/); // template literal or MySQL quoting
    expect(text).not.toMatch(/\$\d/); // DuckDB/Postgres numbered parameters
    expect(renderSql(name, text, tables)).not.toMatch(/:[A-Za-z_]/); // named parameters (:name)
    const placeholders = [...text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((match) => match[1]);
    expect(placeholders.length).toBeGreaterThan(0);
    // Besides the tables, only the generated parts a query declares (QUERY_FRAGMENTS; test/unit/segmentSql.test.ts).
    const allowed: string[] = [...TABLE_PLACEHOLDERS, ...(QUERY_FRAGMENTS[name] ?? [])];
    for (const placeholder of placeholders) expect(allowed).toContain(placeholder);
    expect(text.replace(/\{\{([a-z_]+)\}\}/g, (whole, key: string) => (allowed.includes(key) ? '' : whole))).not.toMatch(/[{}]/);
  });

  it.each(QUERY_NAMES)('%s.sql keeps to the common subset of Athena and DuckDB', (name) => {
    const body = renderSql(name, readSqlFile(name), tables);
    expect(body).not.toMatch(/::/); // DuckDB-only casts
    expect(body).not.toMatch(/approx_(percentile|quantile)|quantile_cont|strftime|strptime|date_parse|from_iso8601/i);
    expect(body).not.toMatch(/\bINTERVAL\s+\d/i); // DuckDB's INTERVAL 30 DAY; Trino needs INTERVAL '30' DAY
    expect(body).not.toMatch(/\/\/|\bDIV\b/); // integer division spellings
    expect(body).not.toMatch(/date_diff\(\s*'(?!day')/i); // only day differences agree between the two
    expect(body).not.toMatch(/--|\/\*/); // comments are for the files, not the engines
    const scan = scanSql(body);
    expect(scan.unterminated).toBe(false);
    expect(scan.semicolons).toBe(0);
  });

  it.each(QUERY_NAMES)('%s.sql: every parameter is a bare ? in WHERE, as many as registered', (name) => {
    const text = readSqlFile(name);
    const body = renderSql(name, text, tables);
    const { parameters } = scanSql(body);
    expect(parameters).toHaveLength(QUERIES[name]);
    for (const parameter of parameters) expect(parameter.clause).toBe('WHERE');
    // No `?` hides in a literal or comment, where one engine would count it and the other not.
    expect((text.match(/\?/g) ?? []).length).toBe(QUERIES[name]);
  });

  it('renders once, without placeholders, the same text on every load', () => {
    const first = loadQueries(tables);
    expect(loadQueries(tables)).toEqual(first);
    for (const name of QUERY_NAMES) expect(fillFragments(name, first[name], fragmentsOf(name))).not.toMatch(/\{\{/);
  });

  it('sends the same text for any parameters, the values bound as ExecutionParameters only', async () => {
    // The Athena engine over a recording client: what it would send to StartQueryExecution.
    const sent: { QueryString?: string; ExecutionParameters?: string[] }[] = [];
    const client = {
      async send(command: object) {
        if (command instanceof StartQueryExecutionCommand) {
          sent.push(command.input);
          return { QueryExecutionId: `q${sent.length}` };
        }
        if (command instanceof GetQueryExecutionCommand) return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
        if (command instanceof GetQueryResultsCommand) return { ResultSet: { Rows: [{ Data: [] }], ResultSetMetadata: { ColumnInfo: [] } } };
        throw new Error(`unexpected ${command.constructor.name}`);
      },
      destroy() {},
    } as unknown as AthenaClient;
    const engine = createAthenaEngine({ database: 'db', workgroup: 'wg', client, resultReuseMinutes: 0 });
    const expected = loadQueries(tables);
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom("O'Brien", "x'; DROP TABLE order_lines; --", '?', '{{orders}}', '-- c', '/* c */', 'NULL', ''),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    );
    for (const name of QUERY_NAMES) {
      await fc.assert(
        fc.asyncProperty(fc.array(value, { minLength: QUERIES[name], maxLength: QUERIES[name] }), async (params) => {
          sent.length = 0;
          await engine.query(name, params, fragmentsOf(name));
          expect(sent).toHaveLength(1);
          const [input] = sent;
          expect(input.QueryString).toBe(fillFragments(name, expected[name], fragmentsOf(name)));
          if (params.length === 0) expect(input.ExecutionParameters).toBeUndefined();
          else {
            expect(input.ExecutionParameters).toHaveLength(params.length);
            // Each value, read back as Trino reads a literal (the test-side parser), is the value bound.
            input.ExecutionParameters!.forEach((literal, index) => {
              const parsed = parseLiteral(literal);
              const bound = params[index];
              expect(parsed === bound || (typeof bound === 'number' && parsed === bound + 0), `${name} parameter ${index}: ${literal}`).toBe(true);
            });
          }
        }),
        { numRuns: QUERIES[name] > 10 ? 20 : 60 },
      );
    }
    await engine.close();
  });

  it('refuses unknown placeholders, misplaced parameters and wrong parameter counts', () => {
    expect(() => renderSql('date_range', 'SELECT 1 FROM {{users}}', tables)).toThrow(/unknown placeholder/);
    expect(() => renderSql('product_exists', 'SELECT ? FROM {{products}} WHERE 1 = 1', tables)).toThrow(/only in WHERE/);
    expect(() => renderSql('product_exists', 'SELECT 1 FROM {{products}}', tables)).toThrow(/0 parameters, expected 1/);
  });

  it('table references are plain identifiers only', () => {
    expect(quotedName('demand_insights_lake', 'order_lines')).toBe('"demand_insights_lake"."order_lines"');
    expect(() => quotedName('x"; DROP TABLE y; --')).toThrow(/identifier/);
    expect(() => quotedName('a b')).toThrow(/identifier/);
  });
});

describe('scanSql', () => {
  it('skips literals, quoted identifiers and comments, and tracks the clause of each ?', () => {
    const scan = scanSql(`SELECT '?', "a?b" -- ?\nFROM t /* ? */ WHERE (x = ? OR y IN (?, ?)) AND z = (SELECT MAX(w) FROM u WHERE v = ?) GROUP BY 1 HAVING COUNT(*) > ?`);
    expect(scan.parameters.map((parameter) => parameter.clause)).toEqual(['WHERE', 'WHERE', 'WHERE', 'WHERE', 'HAVING']);
    expect(scanSql("SELECT 'it''s ?' FROM t").parameters).toHaveLength(0);
    expect(scanSql("SELECT 'open").unterminated).toBe(true);
    expect(scanSql('SELECT 1; SELECT 2').semicolons).toBe(1);
  });

  it('sees a parameter in the select list or a join condition', () => {
    expect(scanSql('SELECT ? FROM t').parameters[0].clause).toBe('SELECT');
    expect(scanSql('SELECT a FROM t JOIN u ON t.x = ? WHERE 1 = 1').parameters[0].clause).toBe('ON');
  });
});

describe('Athena literals', () => {
  it('quotes strings with inner quotes doubled, and nothing else changes', () => {
    expect(athenaLiteral('C123')).toBe("'C123'");
    expect(athenaLiteral("O'Brien")).toBe("'O''Brien'");
    expect(athenaLiteral("'; DROP TABLE x; --")).toBe("'''; DROP TABLE x; --'");
    expect(athenaLiteral('back\\slash')).toBe("'back\\slash'");
    expect(athenaLiteral('')).toBe("''");
    expect(athenaLiteral(true)).toBe('TRUE');
    expect(athenaLiteral(false)).toBe('FALSE');
    expect(athenaLiteral(null)).toBe('NULL');
    expect(athenaLiteral(42)).toBe('42');
    expect(athenaLiteral(0.5)).toBe('5e-1');
    expect(() => athenaLiteral(Number.NaN)).toThrow(RangeError);
    expect(() => athenaLiteral('x'.repeat(1023))).toThrow(/1024/);
  });

  it('every string survives the round trip through a literal, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (value) => {
        expect(parseLiteral(athenaLiteral(value))).toBe(value);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)), (value) => {
        const parsed = parseLiteral(athenaLiteral(value));
        expect(Object.is(parsed, value) || parsed === value || (value === 0 && parsed === 0)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('the stand-in rejects what Athena rejects: unquoted words and unbalanced quotes', () => {
    expect(parseLiteral('C123')).toBeInstanceOf(Error);
    expect(parseLiteral("'O'Brien'")).toBeInstanceOf(Error);
    expect(parseLiteral("'x' OR 1=1")).toBeInstanceOf(Error);
    expect(parseLiteral('1; DROP TABLE t')).toBeInstanceOf(Error);
  });
});

describe('scope parameters', () => {
  it('flag each filter, so an empty id is a filter that matches nothing, not "no filter"', () => {
    expect(scopeParams({})).toEqual([false, '', false, '']);
    expect(scopeParams({ productId: 'P1' })).toEqual([true, 'P1', false, '']);
    expect(scopeParams({ categoryId: 'C1' })).toEqual([false, '', true, 'C1']);
    expect(scopeParams({ productId: '' })).toEqual([true, '', false, '']);
    expect(() => scopeParams({ productId: 5 as unknown as string })).toThrow(TypeError);
  });
});

describe('SQL file names', () => {
  it('are snake_case and live in api/sql', () => {
    for (const name of QUERY_NAMES) {
      expect(name).toMatch(/^[a-z_]+$/);
      expect(readFileSync(join(DEFAULT_SQL_DIR, `${name}.sql`), 'utf8').length).toBeGreaterThan(0);
    }
    const typed: QueryName[] = QUERY_NAMES;
    expect(typed).toContain('daily_units');
  });
});
