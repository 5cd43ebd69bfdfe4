import { dayIndex } from '../time/calendar.ts';

/**
 * The retail protocol's cleaning rule (../shared/protocols/retail.md, "Cleaning rule"), applied
 * once; every demand and customer analysis uses its result.
 */

/**
 * One readable row of an Online Retail file, typed but not cleaned, as the reader
 * (producers/datasets/onlineRetail.ts) hands it over: evaluation protocols apply their own rules.
 */
export interface RetailRow {
  /** 1-based line of the file where the row starts (the header is line 1). */
  line: number;
  invoice: string;
  /** Spaces stripped, upper-cased: `85123a` and `85123A` are one product. */
  stockCode: string;
  description: string;
  quantity: number;
  /** ISO UTC; the written UK local time is kept as UTC so the calendar day stays as written. */
  invoiceDate: string;
  price: number;
  /** Integer text (`13085.0` becomes `13085`), or null when the row has no customer. */
  customerId: string | null;
  country: string;
}

export interface CleanLine {
  line: number;
  invoice: string;
  /** The normalised StockCode (spaces stripped, upper-cased). */
  productId: string;
  description: string;
  quantity: number;
  price: number;
  revenue: number;
  customerId: string | null;
  country: string;
  timeMs: number;
  /** Calendar day of the written InvoiceDate, as a calendar.ts day index. */
  day: number;
}

export interface CleaningStats {
  rows: number;
  nonProductRows: number;
  cancellationLines: number;
  cancellationsMatched: number;
  nonPositiveQuantity: number;
  nonPositivePrice: number;
  lines: number;
  linesWithCustomer: number;
  products: number;
  customers: number;
}

/** A matched pair, by file line: the cancellation and the purchase it reversed (both dropped). */
export interface CancellationMatch {
  cancellation: number;
  purchase: number;
}

export interface CleaningResult {
  lines: CleanLine[];
  stats: CleaningStats;
  matches: CancellationMatch[];
}

const PRODUCT_CODE = /^\d{5}[A-Z]*$/;

function normaliseStockCode(code: string): string {
  return code.replace(/\s+/g, '').toUpperCase();
}

function isCancellation(invoice: string): boolean {
  return invoice.startsWith('C');
}

interface ProductRow {
  row: RetailRow;
  productId: string;
  timeMs: number;
  order: number;
}

export function cleanRetailRows(rows: readonly RetailRow[]): CleaningResult {
  const products = productRows(rows);
  const { removed, matches } = matchCancellations(products);
  const stats = emptyStats(rows.length, rows.length - products.length);
  stats.cancellationsMatched = matches.length;
  const lines: CleanLine[] = [];
  for (const item of products) {
    if (isCancellation(item.row.invoice)) {
      stats.cancellationLines++;
      continue;
    }
    if (removed[item.order]) continue;
    if (!(item.row.quantity > 0)) {
      stats.nonPositiveQuantity++;
      continue;
    }
    if (!(item.row.price > 0)) {
      stats.nonPositivePrice++;
      continue;
    }
    lines.push(toCleanLine(item));
  }
  return { lines, stats: countResult(stats, lines), matches };
}

function productRows(rows: readonly RetailRow[]): ProductRow[] {
  const out: ProductRow[] = [];
  for (const row of rows) {
    const productId = normaliseStockCode(row.stockCode);
    if (!PRODUCT_CODE.test(productId)) continue;
    out.push({ row, productId, timeMs: Date.parse(row.invoiceDate), order: out.length });
  }
  return out;
}

/**
 * Matches each cancellation (with a customer) to the latest earlier-or-simultaneous unused purchase
 * line of the same customer, product and opposite quantity, greedily in cancellation time order
 * (ties by row order). Returns which product rows (by `order`) are removed as matched purchases.
 */
function matchCancellations(products: readonly ProductRow[]): { removed: Uint8Array; matches: CancellationMatch[] } {
  const candidates = purchaseCandidates(products);
  const removed = new Uint8Array(products.length);
  const matches: CancellationMatch[] = [];
  for (const cancel of cancellationsInOrder(products)) {
    const list = candidates.get(matchKey(cancel.row.customerId!, cancel.productId, -cancel.row.quantity));
    if (!list) continue;
    const hit = latestUnusedAtOrBefore(list, cancel.timeMs, removed);
    if (hit === undefined) continue;
    removed[hit.order] = 1;
    matches.push({ cancellation: cancel.row.line, purchase: hit.row.line });
  }
  return { removed, matches };
}

function matchKey(customerId: string, productId: string, quantity: number): string {
  return `${customerId}\u0000${productId}\u0000${quantity}`;
}

/**
 * Purchase lines per key, sorted by (time, row order) so "latest" is the last eligible element.
 * Free lines (Price 0) are not purchases a cancellation can reverse: counting them would match one
 * more cancellation than the protocol's 2,990 (C515997 against a free line of 513416).
 */
function purchaseCandidates(products: readonly ProductRow[]): Map<string, ProductRow[]> {
  const byKey = new Map<string, ProductRow[]>();
  for (const item of products) {
    if (isCancellation(item.row.invoice) || item.row.customerId === null || !(item.row.price > 0)) continue;
    const key = matchKey(item.row.customerId, item.productId, item.row.quantity);
    const list = byKey.get(key);
    if (list) list.push(item);
    else byKey.set(key, [item]);
  }
  for (const list of byKey.values()) list.sort(byTimeThenRow);
  return byKey;
}

function cancellationsInOrder(products: readonly ProductRow[]): ProductRow[] {
  return products
    .filter((item) => isCancellation(item.row.invoice) && item.row.customerId !== null)
    .sort(byTimeThenRow);
}

function byTimeThenRow(a: ProductRow, b: ProductRow): number {
  return a.timeMs - b.timeMs || a.order - b.order;
}

function latestUnusedAtOrBefore(list: readonly ProductRow[], timeMs: number, removed: Uint8Array): ProductRow | undefined {
  // Binary search for the first purchase strictly after the cancellation, then walk back past used ones.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].timeMs <= timeMs) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= 0; i--) if (!removed[list[i].order]) return list[i];
  return undefined;
}

function toCleanLine({ row, productId, timeMs }: ProductRow): CleanLine {
  return {
    line: row.line,
    invoice: row.invoice,
    productId,
    description: row.description,
    quantity: row.quantity,
    price: row.price,
    revenue: row.quantity * row.price,
    customerId: row.customerId,
    country: row.country,
    timeMs,
    day: dayIndex(timeMs),
  };
}

function emptyStats(rows: number, nonProductRows: number): CleaningStats {
  return {
    rows,
    nonProductRows,
    cancellationLines: 0,
    cancellationsMatched: 0,
    nonPositiveQuantity: 0,
    nonPositivePrice: 0,
    lines: 0,
    linesWithCustomer: 0,
    products: 0,
    customers: 0,
  };
}

function countResult(stats: CleaningStats, lines: readonly CleanLine[]): CleaningStats {
  const products = new Set<string>();
  const customers = new Set<string>();
  for (const line of lines) {
    products.add(line.productId);
    if (line.customerId !== null) customers.add(line.customerId);
  }
  stats.lines = lines.length;
  stats.linesWithCustomer = lines.filter((line) => line.customerId !== null).length;
  stats.products = products.size;
  stats.customers = customers.size;
  return stats;
}
