import type {
  CustomerRfm,
  DailyUnits,
  DemandScope,
  LakeOrderLine,
  LakeOrderTotal,
  LakeQueries,
  ProductSales,
  WeeklyProductSales,
} from '../../api/lake/lakeQueries.ts';
import type { OrderEvent } from '../../models/customer/orderEvent.ts';

/**
 * LakeQueries computed in memory from OrderEvents, with no SQL at all: the development stand-in
 * for the lake, and an independent oracle the SQL implementations are checked against. It imports
 * nothing from the production code but types: its calendar arithmetic and orderings are written
 * out below, so a mistake in the production helpers cannot hide in both sides.
 *
 * Semantics (the contract the SQL files must meet too):
 * - a day is the UTC calendar day of `occurredAt` (the lake's `date` partition);
 * - demand (dailyUnits, weeklyProductSales) and RFM read order lines only, never returns;
 * - a scope with both productId and categoryId keeps the lines matching both;
 * - productExists / categoryExists look at every line, orders and returns;
 * - customerRfm(asOf): customers with an order on or before asOf; recency in days from the last
 *   order day to asOf, frequency = distinct order ids, monetary = Σ round(quantity × unit price
 *   × 100) / 100 (and weekly revenue likewise: cents per line, as the SQL sums them; weekly
 *   sales leave out free lines, unit price 0);
 * - customerOrderLines: every line of the given customers (all customers when omitted), ordered
 *   by event time, then order id, type and line position; each line carries its event's country
 *   (null when the event has none), and each order total the greatest country of its lines.
 */
export class MemoryLakeQueries implements LakeQueries {
  private readonly lines: (LakeOrderLine & { day: number; position: number })[] = [];
  private readonly products = new Set<string>();
  private readonly categories = new Set<string>();
  /** Calls per method, so tests can see what the service cached. */
  readonly calls = new Map<string, number>();
  closed = false;

  constructor(
    events: readonly OrderEvent[],
    private readonly options: { orderTotals?: boolean } = {},
  ) {
    // Without `orderTotals` the optional order-level query is hidden, so the service reads order
    // lines, as it does over the SQL lake today; with it, the service takes the order-totals path.
    if (!options.orderTotals) (this as { customerOrderTotals?: unknown }).customerOrderTotals = undefined;
    for (const event of events) {
      const ms = Date.parse(event.occurredAt);
      event.lines.forEach((line, position) => {
        this.lines.push({
          orderId: event.orderId,
          customerId: event.customerId,
          productId: line.productId,
          categoryId: line.categoryId ?? null,
          quantity: line.quantity,
          unitPrice: line.unitPrice,
          occurredAt: new Date(ms).toISOString(),
          type: event.type,
          country: event.country ?? null,
          day: Math.floor(ms / DAY_MS),
          position,
        });
        this.products.add(line.productId);
        if (line.categoryId !== undefined) this.categories.add(line.categoryId);
      });
    }
    this.lines.sort(
      (a, b) =>
        a.occurredAt.localeCompare(b.occurredAt) ||
        compare(a.orderId, b.orderId) ||
        compare(a.type, b.type) ||
        a.position - b.position,
    );
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  private inScope(line: LakeOrderLine, scope: DemandScope): boolean {
    return (
      line.type === 'order' &&
      (scope.productId === undefined || line.productId === scope.productId) &&
      (scope.categoryId === undefined || line.categoryId === scope.categoryId)
    );
  }

  async dateRange(): Promise<{ first: string; last: string } | null> {
    this.count('dateRange');
    if (this.lines.length === 0) return null;
    let first = Infinity;
    let last = -Infinity;
    for (const line of this.lines) {
      if (line.day < first) first = line.day;
      if (line.day > last) last = line.day;
    }
    return { first: isoDay(first), last: isoDay(last) };
  }

  async productExists(productId: string): Promise<boolean> {
    this.count('productExists');
    return this.products.has(productId);
  }

  async categoryExists(categoryId: string): Promise<boolean> {
    this.count('categoryExists');
    return this.categories.has(categoryId);
  }

  async dailyUnits(scope: DemandScope): Promise<DailyUnits[]> {
    this.count('dailyUnits');
    const byDay = new Map<number, number>();
    for (const line of this.lines) {
      if (this.inScope(line, scope)) byDay.set(line.day, (byDay.get(line.day) ?? 0) + line.quantity);
    }
    return [...byDay.entries()].sort((a, b) => a[0] - b[0]).map(([day, units]) => ({ date: isoDay(day), units }));
  }

  async weeklyProductSales(scope: DemandScope): Promise<WeeklyProductSales[]> {
    this.count('weeklyProductSales');
    const cells = new Map<string, WeeklyProductSales>();
    for (const line of this.lines) {
      if (!this.inScope(line, scope) || line.unitPrice <= 0) continue;
      const weekStart = isoDay(mondayOf(line.day));
      const key = `${line.productId}\u0000${weekStart}`;
      const cell = cells.get(key) ?? { productId: line.productId, weekStart, units: 0, revenue: 0 };
      cell.units += line.quantity;
      cell.revenue += cents(line);
      cells.set(key, cell);
    }
    return [...cells.values()]
      .filter((cell) => cell.units > 0)
      .map((cell) => ({ ...cell, revenue: cell.revenue / 100 }))
      .sort((a, b) => compare(a.productId, b.productId) || compare(a.weekStart, b.weekStart));
  }

  async productSales(): Promise<ProductSales[]> {
    this.count('productSales');
    const byProduct = new Map<string, ProductSales & { weekSet: Set<number> }>();
    for (const line of this.lines) {
      if (line.type !== 'order' || line.unitPrice <= 0) continue;
      const row = byProduct.get(line.productId) ?? { productId: line.productId, categoryId: null, units: 0, revenue: 0, weeks: 0, weekSet: new Set<number>() };
      if (line.categoryId !== null && (row.categoryId === null || compareCodePoints(line.categoryId, row.categoryId) > 0)) row.categoryId = line.categoryId;
      row.units += line.quantity;
      row.revenue += cents(line);
      row.weekSet.add(mondayOf(line.day));
      byProduct.set(line.productId, row);
    }
    return [...byProduct.values()]
      .map(({ weekSet, ...row }) => ({ ...row, revenue: row.revenue / 100, weeks: weekSet.size }))
      .sort((a, b) => compare(a.productId, b.productId));
  }

  async customerRfm(asOf: string): Promise<CustomerRfm[]> {
    this.count('customerRfm');
    const asOfDay = parseIsoDay(asOf);
    const customers = new Map<string, { last: number; orders: Set<string>; monetary: number }>();
    for (const line of this.lines) {
      if (line.type !== 'order' || line.day > asOfDay) continue;
      let customer = customers.get(line.customerId);
      if (!customer) customers.set(line.customerId, (customer = { last: line.day, orders: new Set(), monetary: 0 }));
      customer.last = Math.max(customer.last, line.day);
      customer.orders.add(line.orderId);
      customer.monetary += cents(line);
    }
    return [...customers.entries()]
      .sort((a, b) => compare(a[0], b[0]))
      .map(([customerId, c]) => ({ customerId, recencyDays: asOfDay - c.last, frequency: c.orders.size, monetary: c.monetary / 100 }));
  }

  async customerOrderLines(customerIds?: readonly string[]): Promise<LakeOrderLine[]> {
    this.count('customerOrderLines');
    const wanted = customerIds ? new Set(customerIds) : null;
    return this.lines
      .filter((line) => !wanted || wanted.has(line.customerId))
      .map(({ day: _day, position: _position, ...line }) => line);
  }

  /** The optional order-level query (LakeOrderTotals), when `orderTotals` is on. */
  async customerOrderTotals(customerIds?: readonly string[]): Promise<LakeOrderTotal[]> {
    if (!this.options.orderTotals) throw new Error('customerOrderTotals is off for this lake');
    this.count('customerOrderTotals');
    const wanted = customerIds ? new Set(customerIds) : null;
    const totals = new Map<string, LakeOrderTotal>();
    for (const line of this.lines) {
      if (wanted && !wanted.has(line.customerId)) continue;
      const key = `${line.type}\u0000${line.orderId}\u0000${line.customerId}\u0000${line.occurredAt}`;
      const total = totals.get(key) ?? { orderId: line.orderId, customerId: line.customerId, type: line.type, occurredAt: line.occurredAt, cents: 0, units: 0, country: null };
      total.cents += cents(line);
      total.units += line.quantity;
      // MAX(country), as the SQL takes it: the event's country, on every one of its lines.
      if (line.country !== null && (total.country === null || compareCodePoints(line.country, total.country) > 0)) total.country = line.country;
      totals.set(key, total);
    }
    return [...totals.values()];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A line's value in integer cents, as the SQL sums it (exact and order-independent). */
function cents(line: LakeOrderLine): number {
  return Math.round(line.quantity * line.unitPrice * 100);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Calendar and ordering, written here rather than imported (see the class comment)

const DAY_MS = 86_400_000;

/** YYYY-MM-DD of a UTC day number (days since 1970-01-01). */
function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function parseIsoDay(text: string): number {
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new Error(`not a date (YYYY-MM-DD): ${text}`);
  return ms / DAY_MS;
}

/** The Monday that starts a day's ISO week (1970-01-01, day 0, was a Thursday). */
function mondayOf(day: number): number {
  return day - (((day + 3) % 7) + 7) % 7;
}

/** Code-point order (as Trino and DuckDB compare VARCHARs), not UTF-16 code-unit order. */
function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number);
  const y = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
