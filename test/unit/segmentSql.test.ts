import { describe, expect, it } from 'vitest';
import { fillFragments, loadQueries, QUERY_FRAGMENTS, readSqlFile, renderSql, tableRefs } from '../../api/engines/queryEngine.ts';
import { doubleLiteral, segmentFragments } from '../../api/lake/segmentSql.ts';

const MODEL = { mean: [3, 1, 4] as const, std: [1, 0.5, 1.5] as const, centroids: [[-1, 0, 0], [0, 1, 1], [1, -1, -1]] as const };
const TABLES = tableRefs((table) => `"db"."${table === 'orders' ? 'order_lines' : table}"`);

describe('the generated parts of the segment queries', () => {
  it('are arithmetic on DOUBLE literals, with the first least distance winning', () => {
    const fragments = segmentFragments(MODEL);
    expect(fragments.scaled).toContain('(ln(1e0 + greatest(recency, 0e0)) - 3e+0) / 1e+0 AS zr');
    expect(fragments.distances.split(' AS d')).toHaveLength(4);
    expect(fragments.nearest).toBe('CASE WHEN d0 <= d1 AND d0 <= d2 THEN 0 WHEN d1 < d0 AND d1 <= d2 THEN 1 ELSE 2 END');
    expect(doubleLiteral(1.5)).toBe('1.5e+0');
    expect(() => doubleLiteral(Number.NaN)).toThrow(RangeError);
  });

  it('fill the rendered text, and nothing else gets in: no quote, parameter, statement end or comment', () => {
    const queries = loadQueries(TABLES);
    const text = fillFragments('segment_summary', queries.segment_summary, segmentFragments(MODEL));
    expect(text).not.toMatch(/\{\{/);
    expect(text).toContain(segmentFragments(MODEL).nearest);
    const good = segmentFragments(MODEL);
    for (const hostile of ["1' OR '1'='1", '1 ?', '1; DROP TABLE x', '1 -- x', '1 /* x */']) {
      expect(() => fillFragments('segment_summary', queries.segment_summary, { ...good, nearest: hostile }), hostile).toThrow(/not plain arithmetic/);
    }
    expect(() => fillFragments('segment_summary', queries.segment_summary, { scaled: good.scaled, distances: good.distances })).toThrow(/nearest is required/);
    expect(() => fillFragments('segment_summary', queries.segment_summary, { ...good, extra: '1' })).toThrow(/unexpected fragment/);
    expect(() => fillFragments('date_range', queries.date_range, { nearest: '1' })).toThrow(/unexpected fragment/);
  });

  it('only the queries that declare fragments may keep placeholders', () => {
    expect(Object.keys(QUERY_FRAGMENTS).sort()).toEqual(['segment_members', 'segment_summary']);
    expect(() => renderSql('date_range', 'SELECT {{nearest}} FROM {{orders}}', TABLES)).toThrow(/unknown placeholder/);
    expect(renderSql('segment_summary', readSqlFile('segment_summary'), TABLES)).toContain('{{nearest}}');
  });
});
