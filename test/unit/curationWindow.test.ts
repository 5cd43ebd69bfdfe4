import { describe, expect, it } from 'vitest';
import { renderCurationSql } from '../../lake/curationSql.ts';
import { isRunId, newRunId, runStartMs } from '../../lake/curationTarget.ts';
import { CurationRequestSchema, curationWindow, lastCompleteDay, MAX_WINDOW_DAYS, windowBatches } from '../../lake/curationWindow.ts';

const NOW = Date.parse('2024-03-31T00:30:00Z');
const HOUR = 3_600_000;

describe('curation window', () => {
  it('takes the look-back days, today, and the days the skew reaches on a scheduled run', () => {
    expect(curationWindow({}, NOW, 3, 24 * HOUR)).toEqual({ from: '2024-03-28', to: '2024-04-01', days: 5, explicit: false });
    expect(curationWindow({}, NOW, 0, 0)).toEqual({ from: '2024-03-31', to: '2024-03-31', days: 1, explicit: false });
  });

  it('takes an explicit range as given, and refuses one longer than ten years', () => {
    expect(curationWindow({ from: '2009-12-01', to: '2010-11-30' }, NOW, 3, 0)).toEqual({ from: '2009-12-01', to: '2010-11-30', days: 365, explicit: true });
    expect(() => curationWindow({ from: '1990-01-01', to: '2024-01-01' }, NOW, 3, 0)).toThrow(/split the backfill/);
    expect(MAX_WINDOW_DAYS).toBe(3660);
  });

  it('cuts a window into CTAS batches of at most 100 days, in order, covering every day once', () => {
    const batches = windowBatches(curationWindow({ from: '2024-01-01', to: '2024-12-31' }, NOW, 3, 0), 100);
    expect(batches).toEqual([
      { from: '2024-01-01', to: '2024-04-09' },
      { from: '2024-04-10', to: '2024-07-18' },
      { from: '2024-07-19', to: '2024-10-26' },
      { from: '2024-10-27', to: '2024-12-31' },
    ]);
  });

  it('names the last whole day', () => {
    expect(lastCompleteDay(NOW)).toBe('2024-03-30');
  });

  it('validates the Lambda input: both days or neither, real calendar days, in order, nothing else', () => {
    expect(CurationRequestSchema.safeParse({}).success).toBe(true);
    expect(CurationRequestSchema.safeParse({ from: '2024-02-29', to: '2024-02-29' }).success).toBe(true);
    for (const bad of [{ from: '2023-02-29', to: '2023-03-01' }, { from: '2024-03-02', to: '2024-03-01' }, { to: '2024-03-01' }, { from: "2024-01-01'; DROP TABLE x; --", to: '2024-01-02' }, { from: '2024-01-01', to: '2024-01-02', extra: 1 }, null, []]) {
      expect(CurationRequestSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('curation SQL and run ids', () => {
  it('splices only validated days and times into the SQL', () => {
    const sql = renderCurationSql('curate_order_lines', { raw: 'db.orders_raw' }, { from: '2024-01-01', to: '2024-01-02', earliest: '1990-01-01T00:00:00.000Z', latest: '2024-01-03T00:00:00.000Z' });
    expect(sql).toContain("order_date BETWEEN '2024-01-01' AND '2024-01-02'");
    expect(sql).not.toMatch(/\{\{|--/);
    expect(() => renderCurationSql('curated_day_counts', { orders: 'x' }, { from: "2024-01-01' OR 1=1 --", to: '2024-01-02' })).toThrow(/not a day/);
    expect(() => renderCurationSql('curate_order_lines', { raw: 'x' }, { from: '2024-01-01', to: '2024-01-02', earliest: 'yesterday', latest: '2024-01-03T00:00:00.000Z' })).toThrow(/not a UTC time/);
    expect(() => renderCurationSql('curate_products', {})).toThrow(/\{\{orders\}\} is not configured/);
  });

  it('makes run ids that sort by start time, differ within a second, and age', () => {
    const a = newRunId(NOW);
    const b = newRunId(NOW);
    expect(a).not.toBe(b);
    expect(isRunId(a)).toBe(true);
    expect(runStartMs(a)).toBe(Date.parse('2024-03-31T00:30:00Z'));
    expect(runStartMs('legacy')).toBeUndefined();
    expect(a < newRunId(NOW + 1000)).toBe(true);
  });
});
