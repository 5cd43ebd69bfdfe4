import { describe, expect, it } from 'vitest';
import { parseIsoDay } from '../../models/time/calendar.ts';
import { intervalCoverage, mase, seasonalNaiveScale, wape } from '../../models/demand/forecastAccuracy.ts';
import { forecastDemand, storeClosedDays } from '../../models/demand/forecastDemand.ts';
import {
  fitWeekdayQuantile,
  forecastWeekdayQuantile,
  loadWeekdayQuantileModel,
  sortedQuantile,
  weekdayOf,
} from '../../models/demand/weekdayQuantile.ts';
import { mulberry32 } from '../../models/numeric/pseudoRandom.ts';

const MONDAY = parseIsoDay('2024-01-01');
/** Units per weekday, Monday first; Saturday is closed. */
const PROFILE = [120, 100, 100, 110, 90, 0, 80];

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** PROFILE × level(t) × lognormal noise of the given sd, for `days` days from a Monday. */
function weeklySeries(days: number, noise: number, seed: number, level: (t: number) => number = () => 1): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: days }, (_, t) => PROFILE[t % 7] * level(t) * Math.exp(noise * normal(random) - (noise * noise) / 2));
}

const meanWidth = (points: { lower: number; upper: number; closed: boolean }[]) => {
  const open = points.filter((point) => !point.closed);
  return open.reduce((sum, point) => sum + point.upper - point.lower, 0) / open.length;
};

describe('weekday quantile forecaster', () => {
  it('follows a known weekly pattern, with the closed weekday at exactly 0', () => {
    const units = weeklySeries(140, 0.05, 1);
    const closedDays = storeClosedDays({ firstDay: MONDAY, units });
    const points = forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: MONDAY, units }, { closedDays }), 14);
    expect(points).toHaveLength(14);
    for (const point of points) {
      const expected = PROFILE[weekdayOf(point.day)];
      if (expected === 0) {
        expect(point).toMatchObject({ forecast: 0, lower: 0, upper: 0, closed: true });
        continue;
      }
      expect(Math.abs(point.forecast - expected) / expected).toBeLessThan(0.08);
      expect(point.lower).toBeLessThanOrEqual(point.forecast);
      expect(point.upper).toBeGreaterThanOrEqual(point.forecast);
    }
    expect(points[0].day).toBe(MONDAY + 140);
  });

  it('forecasts a weekday that never sells as 0 even when no closed days are given', () => {
    const points = forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: MONDAY, units: weeklySeries(140, 0.05, 1) }), 7);
    const saturday = points.find((point) => weekdayOf(point.day) === 5)!;
    expect(saturday).toMatchObject({ forecast: 0, lower: 0, upper: 0 });
  });

  it('follows a level shift: the forecast moves to the new level', () => {
    // Eight weeks after doubling, ratios from the transition (measured against a level still
    // catching up) run high, so the forecast overshoots a little, as a trend would.
    const units = weeklySeries(140, 0.05, 2, (t) => (t < 84 ? 1 : 2));
    const points = forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: MONDAY, units }), 7);
    const monday = points.find((point) => weekdayOf(point.day) === 0)!;
    expect(monday.forecast).toBeGreaterThan(1.8 * PROFILE[0]);
    expect(monday.forecast).toBeLessThan(2.4 * PROFILE[0]);
  });

  it('widens its intervals with the noise', () => {
    const quiet = forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: MONDAY, units: weeklySeries(182, 0.05, 3) }), 28);
    const noisy = forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: MONDAY, units: weeklySeries(182, 0.4, 3) }), 28);
    expect(meanWidth(noisy)).toBeGreaterThan(4 * meanWidth(quiet));
  });

  it('calibrates its intervals on the history: future coverage near the nominal 80%', () => {
    const days = 182 + 28;
    const actual: number[] = [];
    const lower: number[] = [];
    const upper: number[] = [];
    for (let seed = 10; seed < 40; seed++) {
      const units = weeklySeries(days, 0.3, seed);
      const points = forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: MONDAY, units: units.subarray(0, 182) }), 28);
      points.forEach((point, i) => {
        if (point.closed) return;
        actual.push(units[182 + i]);
        lower.push(point.lower);
        upper.push(point.upper);
      });
    }
    const coverage = intervalCoverage(actual, lower, upper);
    expect(coverage).toBeGreaterThan(0.72);
    expect(coverage).toBeLessThan(0.88);
  });

  it('forecasts zeros with [0, 0] intervals for a series that never sold', () => {
    const model = fitWeekdayQuantile({ firstDay: MONDAY, units: new Float64Array(90) });
    const points = forecastWeekdayQuantile(model, 30);
    expect(points.every((point) => point.forecast === 0 && point.lower === 0 && point.upper === 0 && point.mean === 0)).toBe(true);
    expect(model.importances).toEqual({ level: 0, weekday: 0, irregular: 1 });
  });

  it('forecasts known closed days as 0 and leaves closed days out of the history', () => {
    const units = weeklySeries(140, 0.05, 4);
    const holiday = MONDAY + 133; // a Monday, zero in the history
    units[133] = 0;
    const future = MONDAY + 140 + 7; // the Monday after next
    const model = fitWeekdayQuantile({ firstDay: MONDAY, units }, { closedDays: [holiday, future] });
    expect(model.ratios[0]).toHaveLength(11);
    const points = forecastWeekdayQuantile(model, 14);
    expect(points.find((point) => point.day === future)).toMatchObject({ forecast: 0, closed: true });
    expect(points.find((point) => point.day === MONDAY + 140)!.forecast).toBeGreaterThan(100);
  });

  it('explains a pure weekday pattern by the weekday and a level change by the level', () => {
    const weekly = fitWeekdayQuantile({ firstDay: MONDAY, units: weeklySeries(140, 0.02, 5) }).importances;
    expect(weekly.weekday).toBeGreaterThan(0.8);
    expect(weekly.level + weekly.weekday + weekly.irregular).toBeCloseTo(1, 12);
    const flat = Float64Array.from({ length: 140 }, (_, t) => (t < 98 ? 100 : 300) * (1 + 0.02 * Math.sin(t)));
    const shifted = fitWeekdayQuantile({ firstDay: MONDAY, units: flat }).importances;
    expect(shifted.level).toBeGreaterThan(shifted.weekday);
    expect(shifted.level).toBeGreaterThan(0.3);
  });

  it('round-trips through JSON and rejects a malformed model', () => {
    const model = fitWeekdayQuantile({ firstDay: MONDAY, units: weeklySeries(140, 0.2, 6) });
    const loaded = loadWeekdayQuantileModel(JSON.parse(JSON.stringify(model)));
    expect(forecastWeekdayQuantile(loaded, 10)).toEqual(forecastWeekdayQuantile(model, 10));
    expect(() => loadWeekdayQuantileModel({ ...model, ratios: [[1]] })).toThrow();
  });

  it('is deterministic: the same series gives the same fit and forecast', () => {
    const units = weeklySeries(365, 0.5, 7);
    const first = fitWeekdayQuantile({ firstDay: MONDAY, units });
    expect(fitWeekdayQuantile({ firstDay: MONDAY, units })).toEqual(first);
    expect(forecastWeekdayQuantile(fitWeekdayQuantile({ firstDay: MONDAY, units }), 365)).toEqual(forecastWeekdayQuantile(first, 365));
  });
});

describe('forecastDemand', () => {
  const history = { firstDay: MONDAY, units: weeklySeries(140, 0.2, 8) };

  it('accepts forecast_days 1..365 and rejects anything else', () => {
    expect(forecastDemand(history, 1).points).toHaveLength(1);
    const year = forecastDemand(history, 365);
    expect(year.points).toHaveLength(365);
    expect(year.points[0].date).toBe('2024-05-20');
    for (const bad of [0, 366, 1.5, -3, Number.NaN]) expect(() => forecastDemand(history, bad)).toThrow(RangeError);
  });

  it('answers with the method, interval coverage, importances and a weekday profile', () => {
    const answer = forecastDemand(history, 30);
    expect(answer.method).toBe('weekday-quantile');
    expect(answer.intervalCoverage).toBe(0.8);
    expect(answer.backtestCoverage).toBeGreaterThan(0.6);
    expect(answer.weekdayProfile).toHaveLength(7);
    expect(answer.weekdayProfile[5]).toBe(0);
    const { level, weekday, irregular } = answer.featureImportances;
    expect(level + weekday + irregular).toBeCloseTo(1, 12);
  });

  it('treats days on which the whole store sold nothing as closed', () => {
    expect(storeClosedDays({ firstDay: MONDAY, units: Float64Array.from([3, 0, 2, 0]) })).toEqual([MONDAY + 1, MONDAY + 3]);
  });
});

describe('accuracy measures', () => {
  it('computes WAPE, MASE and coverage as the protocol defines them', () => {
    const train = [1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9];
    expect(seasonalNaiveScale(train)).toBeCloseTo((2 + 0 + 0 + 0 + 0 + 0 + 2) / 7, 12);
    expect(wape([10, 0, 10], [8, 1, 12])).toBeCloseTo(5 / 20, 12);
    expect(mase(train, [4, 4], [3, 6])).toBeCloseTo(1.5 / (4 / 7), 12);
    expect(intervalCoverage([1, 5, 9], [0, 6, 9], [2, 7, 9])).toBeCloseTo(2 / 3, 12);
    expect(sortedQuantile([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12);
  });
});
