import { isoDay, weekIndex } from '../time/calendar.ts';

/**
 * Demand tables built from clean order lines: zero-filled daily unit series (for forecasting) and
 * weekly product tables with a units-weighted price (for elasticity).
 */

/** The part of a clean line that demand analyses read; CleanLine and lake rows both fit. */
export interface DemandLine {
  /** calendar.ts day index of the line's (local) calendar day. */
  day: number;
  productId: string;
  categoryId?: string | null;
  quantity: number;
  price: number;
}

export interface DayRange {
  firstDay: number;
  lastDay: number;
}

export interface DailySeries {
  firstDay: number;
  /** units[i] = units sold on day firstDay + i; every day present, zero when nothing sold. */
  units: Float64Array;
}

export function dayRangeOf(lines: readonly DemandLine[]): DayRange {
  if (lines.length === 0) throw new Error('no lines: the day range is undefined');
  let firstDay = Infinity;
  let lastDay = -Infinity;
  for (const line of lines) {
    if (line.day < firstDay) firstDay = line.day;
    if (line.day > lastDay) lastDay = line.day;
  }
  return { firstDay, lastDay };
}

/** Daily units of the lines `select` keeps (all lines: the store total), zero-filled over `range`. */
export function dailyUnits(
  lines: readonly DemandLine[],
  range: DayRange = dayRangeOf(lines),
  select: (line: DemandLine) => boolean = () => true,
): DailySeries {
  const units = new Float64Array(range.lastDay - range.firstDay + 1);
  for (const line of lines) {
    if (line.day < range.firstDay || line.day > range.lastDay || !select(line)) continue;
    units[line.day - range.firstDay] += line.quantity;
  }
  return { firstDay: range.firstDay, units };
}

/** One zero-filled daily series per key (product, category...) in a single pass. */
export function dailyUnitsBy(
  lines: readonly DemandLine[],
  keyOf: (line: DemandLine) => string | null | undefined,
  range: DayRange = dayRangeOf(lines),
): Map<string, DailySeries> {
  const out = new Map<string, DailySeries>();
  const length = range.lastDay - range.firstDay + 1;
  for (const line of lines) {
    if (line.day < range.firstDay || line.day > range.lastDay) continue;
    const key = keyOf(line);
    if (key == null) continue;
    let series = out.get(key);
    if (!series) out.set(key, (series = { firstDay: range.firstDay, units: new Float64Array(length) }));
    series.units[line.day - range.firstDay] += line.quantity;
  }
  return out;
}

export const byProduct = (line: DemandLine): string => line.productId;

/** A product's weeks with units > 0, in week order. Weeks start on Monday. */
export interface WeeklyTable {
  productId: string;
  /** calendar.ts week indices. */
  weeks: Int32Array;
  units: Float64Array;
  revenue: Float64Array;
  /** revenue / units: the units-weighted average unit price of the week. */
  price: Float64Array;
}

/** Weekly tables for every product (or the ones `select` keeps), keyed by product id. */
export function weeklyProductTables(
  lines: readonly DemandLine[],
  select: (line: DemandLine) => boolean = () => true,
): Map<string, WeeklyTable> {
  const sums = new Map<string, Map<number, { units: number; revenue: number }>>();
  for (const line of lines) {
    if (!select(line)) continue;
    let weeks = sums.get(line.productId);
    if (!weeks) sums.set(line.productId, (weeks = new Map()));
    const week = weekIndex(line.day);
    const cell = weeks.get(week) ?? { units: 0, revenue: 0 };
    cell.units += line.quantity;
    cell.revenue += line.quantity * line.price;
    weeks.set(week, cell);
  }
  const out = new Map<string, WeeklyTable>();
  for (const [productId, weeks] of sums) out.set(productId, toTable(productId, weeks));
  return out;
}

function toTable(productId: string, weeks: Map<number, { units: number; revenue: number }>): WeeklyTable {
  const order = [...weeks.keys()].filter((week) => weeks.get(week)!.units > 0).sort((a, b) => a - b);
  const table: WeeklyTable = {
    productId,
    weeks: Int32Array.from(order),
    units: new Float64Array(order.length),
    revenue: new Float64Array(order.length),
    price: new Float64Array(order.length),
  };
  order.forEach((week, i) => {
    const cell = weeks.get(week)!;
    table.units[i] = cell.units;
    table.revenue[i] = cell.revenue;
    table.price[i] = cell.revenue / cell.units;
  });
  return table;
}

/** Keys ranked by total units over a day window, descending, ties by key (the protocol's top-N). */
export function topByUnits(series: Map<string, DailySeries>, range: DayRange, n: number): string[] {
  const totals: Array<[string, number]> = [];
  for (const [key, { firstDay, units }] of series) {
    let total = 0;
    for (let day = range.firstDay; day <= range.lastDay; day++) total += units[day - firstDay] ?? 0;
    totals.push([key, total]);
  }
  totals.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return totals.slice(0, n).map(([key]) => key);
}
