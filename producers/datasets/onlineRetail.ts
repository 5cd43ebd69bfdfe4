import { pipeline } from 'node:stream/promises';
import { parse, type CsvError } from 'csv-parse';
import { checkOrderEvent, DEFAULT_EVENT_TIME_BOUNDS, eventCountry, type OrderEvent, type OrderLine } from '../../models/customer/orderEvent.ts';
import type { RetailRow } from '../../models/evaluation/retailCleaning.ts';
import { openDataset } from './openDataset.ts';
import { type DatasetReadOptions, ReadReport } from './readReport.ts';

/**
 * UCI Online Retail (2010-2011) and Online Retail II (2009-2011) CSV exports, gzip or not.
 * Columns are found by header name, so both spellings and any column order read the same.
 */

const COLUMNS = {
  invoice: ['invoice', 'invoiceno'],
  stockCode: ['stockcode'],
  description: ['description'],
  quantity: ['quantity'],
  invoiceDate: ['invoicedate'],
  price: ['price', 'unitprice'],
  customerId: ['customerid'],
  country: ['country'],
} as const;

type Column = keyof typeof COLUMNS;
type ColumnIndex = Record<Column, number>;

const PRODUCT_CODE = /^\d{5}[A-Z]*$/;

/** Skip reasons of readOnlineRetail, in the order they are tested (a row counts under the first that applies). */
export const SKIP_REASONS = {
  noCustomer: 'no customer id',
  nonProduct: 'non-product stock code',
  writeOff: 'write-off (quantity <= 0, not a cancellation)',
  zeroCancellation: 'cancellation with quantity 0',
  badDebt: 'bad debt (price < 0)',
} as const;

export async function readOnlineRetailRows(path: string): Promise<{ rows: RetailRow[]; report: ReadReport }> {
  const report = new ReadReport();
  const rows: RetailRow[] = [];
  await forEachRow(path, report, (row) => rows.push(row));
  return { rows, report };
}

/**
 * One OrderEvent per invoice and customer: `C…` invoices are returns, the rest orders.
 * Rows without a customer, non-product codes, write-offs and bad debt are skipped and counted;
 * the rows of an invoice outside OrderEvent v1's bounds (event time included) are reported.
 */
export async function readOnlineRetail(path: string, options: DatasetReadOptions = {}): Promise<{ events: OrderEvent[]; report: ReadReport }> {
  const bounds = options.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS;
  const nowMs = options.nowMs ?? Date.now();
  const report = new ReadReport();
  const invoices = new Map<string, InvoiceDraft>();
  await forEachRow(path, report, (row) => {
    const reason = skipReason(row);
    if (reason) report.skip(reason);
    else addToInvoice(invoices, row);
  });
  const events: OrderEvent[] = [];
  for (const draft of invoices.values()) {
    const parsed = toEvents(draft).map((event) => checkOrderEvent(event, bounds, nowMs));
    const failure = parsed.find((result) => !result.ok);
    if (failure && !failure.ok) {
      // Every row of the invoice is reported, so rows still add up to lines + skipped + unreadable.
      const reason = `invoice ${draft.invoice} is not a valid OrderEvent: ${failure.reason}`;
      for (const line of draft.rowLines) report.reject(line, reason);
      continue;
    }
    for (const result of parsed) if (result.ok) events.push(result.event);
    report.events += parsed.length;
  }
  return { events, report };
}

function skipReason(row: RetailRow): string | undefined {
  if (row.customerId === null) return SKIP_REASONS.noCustomer;
  if (!PRODUCT_CODE.test(row.stockCode)) return SKIP_REASONS.nonProduct;
  const cancellation = isCancellation(row.invoice);
  if (!cancellation && row.quantity <= 0) return SKIP_REASONS.writeOff;
  if (cancellation && row.quantity === 0) return SKIP_REASONS.zeroCancellation;
  if (row.price < 0) return SKIP_REASONS.badDebt;
  return undefined;
}

const isCancellation = (invoice: string) => invoice.startsWith('C');

interface InvoiceDraft {
  invoice: string;
  customerId: string;
  rowLines: number[];
  occurredAt: string;
  lines: OrderLine[];
  /** The first of its rows' countries that an OrderEvent can carry (undefined: none). */
  country: string | undefined;
}

function addToInvoice(invoices: Map<string, InvoiceDraft>, row: RetailRow): void {
  const customerId = row.customerId as string;
  // Keyed by customer too: an invoice shared by two customers must not merge their spend.
  const key = `${row.invoice}\u0000${customerId}`;
  let draft = invoices.get(key);
  if (!draft) {
    draft = { invoice: row.invoice, customerId, rowLines: [], occurredAt: row.invoiceDate, lines: [], country: undefined };
    invoices.set(key, draft);
  }
  draft.country ??= eventCountry(row.country);
  // An invoice's rows can straddle a minute; the order happened when it started.
  if (row.invoiceDate < draft.occurredAt) draft.occurredAt = row.invoiceDate;
  draft.rowLines.push(row.line);
  draft.lines.push({ productId: row.stockCode, quantity: Math.abs(row.quantity), unitPrice: row.price });
}

/** OrderEventSchema's limit on lines per event. */
const MAX_EVENT_LINES = 1000;

/**
 * Usually one event; an invoice longer than an event may be is split into `invoice`,
 * `invoice/2`… rather than lost. Occasions are customer-days, so the split never adds a purchase.
 */
function toEvents(draft: InvoiceDraft): OrderEvent[] {
  const events: OrderEvent[] = [];
  for (let at = 0; at < draft.lines.length; at += MAX_EVENT_LINES) {
    const part = at / MAX_EVENT_LINES + 1;
    const event: OrderEvent = {
      type: isCancellation(draft.invoice) ? 'return' : 'order',
      orderId: part === 1 ? draft.invoice : `${draft.invoice}/${part}`,
      customerId: draft.customerId,
      occurredAt: draft.occurredAt,
      lines: draft.lines.slice(at, at + MAX_EVENT_LINES),
    };
    if (draft.country !== undefined) event.country = draft.country;
    events.push(event);
  }
  return events;
}

/**
 * Streams the file through csv-parse. Rows are handled inside its record hook, synchronously
 * and in file order with its error hook, so every issue lands in the report in line order and
 * no row pays for a trip through an object-mode stream.
 */
async function forEachRow(path: string, report: ReadReport, onRow: (row: RetailRow) => void): Promise<void> {
  const rows = new RowReader(path, report, onRow);
  const abort = new AbortController();
  const parser = parse({
    bom: true,
    relax_column_count: true,
    // A stray quote inside an unquoted field (`7" SINGLE`) is text, not a syntax error.
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_record: (record: string[], context: { lines: number }) => {
      if (!rows.record(record, context.lines)) abort.abort();
      return null;
    },
    on_skip: (error: CsvError | undefined) => rows.broken(error),
  });
  try {
    await pipeline(await openDataset(path), parser, async (records: AsyncIterable<unknown>) => {
      for await (const _ of records); // records never come out: the hook handled them
    }, { signal: abort.signal });
  } catch (error) {
    if (!abort.signal.aborted) throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
  }
  rows.end();
}

class RowReader {
  private columns: ColumnIndex | undefined;
  private width = 0;
  private parsedThrough = 0;
  private fatal: Error | undefined;

  constructor(
    private readonly path: string,
    private readonly report: ReadReport,
    private readonly onRow: (row: RetailRow) => void,
  ) {}

  /** Handles one record; false when the file cannot be read at all. */
  record(record: string[], endLine: number): boolean {
    const line = startLine(record, endLine);
    this.parsedThrough = endLine;
    if (!this.columns) {
      const header = headerColumns(record, this.path);
      if (header instanceof Error) this.fatal = header;
      else [this.columns, this.width] = [header, record.length];
      return !this.fatal;
    }
    if (line < endLine) {
      // No Online Retail field holds a line break: this is a quote left open that a later
      // quote happened to close, and the lines in between are rows it swallowed.
      rejectLines(this.report, line, endLine, `a quoted field runs over lines ${line}-${endLine} (unbalanced quote)`);
      return true;
    }
    this.report.rows++;
    const row = record.length === this.width ? parseRow(record, this.columns, line) : `expected ${this.width} fields, got ${record.length}`;
    if (typeof row === 'string') this.report.reject(line, row);
    else this.onRow(row);
    return true;
  }

  /**
   * csv-parse resumes wherever it can after an error, and a quote never closed swallows every
   * line to the end of the file: every line since the last good record is reported unreadable.
   */
  broken(error: CsvError | undefined): undefined {
    const to = Math.max(typeof error?.lines === 'number' ? error.lines : 0, this.parsedThrough);
    // An error within lines already accounted for is an echo of the previous one.
    if (to > this.parsedThrough) rejectLines(this.report, this.parsedThrough + 1, to, `malformed CSV: ${error?.message ?? 'unknown error'}`);
    this.parsedThrough = to;
    return undefined;
  }

  end(): void {
    if (this.fatal) throw this.fatal;
    if (!this.columns) throw new Error(`${this.path}: empty file, expected an Online Retail header row`);
  }
}

/** Each physical line counts as a row: how many rows a broken stretch held cannot be known. */
function rejectLines(report: ReadReport, from: number, to: number, reason: string): void {
  for (let line = from; line <= to; line++) {
    report.rows++;
    report.reject(line, reason);
  }
}

/** csv-parse reports the line a record ends on; quoted fields can span lines. */
function startLine(record: string[], endLine: number): number {
  let breaks = 0;
  for (const field of record) {
    for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) breaks++;
  }
  return endLine - breaks;
}

function headerColumns(header: string[], path: string): ColumnIndex | Error {
  const names = header.map((name) => name.replace(/[\s_]/g, '').toLowerCase());
  const index = {} as ColumnIndex;
  const missing: string[] = [];
  for (const [column, spellings] of Object.entries(COLUMNS) as [Column, readonly string[]][]) {
    const at = names.findIndex((name) => spellings.includes(name));
    if (at === -1) missing.push(spellings.join('/'));
    index[column] = at;
  }
  if (missing.length) {
    return new Error(`${path}: not an Online Retail file, header lacks ${missing.join(', ')} (found: ${header.join(', ')})`);
  }
  return index;
}

function parseRow(record: string[], at: ColumnIndex, line: number): RetailRow | string {
  const invoice = record[at.invoice].trim();
  if (invoice === '') return 'Invoice is empty';
  const stockCode = record[at.stockCode].replace(/\s+/g, '').toUpperCase();
  if (stockCode === '') return 'StockCode is empty';
  const quantity = parseNumber(record[at.quantity]);
  if (quantity === undefined || !Number.isInteger(quantity)) return `Quantity is not an integer: "${record[at.quantity]}"`;
  const price = parseNumber(record[at.price]);
  if (price === undefined) return `Price is not a number: "${record[at.price]}"`;
  const invoiceDate = parseInvoiceDate(record[at.invoiceDate].trim());
  if (invoiceDate === undefined) return `InvoiceDate is not YYYY-MM-DD HH:MM[:SS] or M/D/YYYY H:MM: "${record[at.invoiceDate]}"`;
  const customerId = parseCustomerId(record[at.customerId].trim());
  if (customerId === undefined) return `Customer ID is not an integer: "${record[at.customerId]}"`;
  return {
    line,
    invoice,
    stockCode,
    description: record[at.description],
    quantity,
    invoiceDate,
    price,
    customerId,
    country: record[at.country].trim(),
  };
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

// Number('') is 0 and Number('0x10') is 16: only plain decimals are numbers here.
function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/** Spreadsheet exports write ids as floats (`13085.0`); the id is the integer. */
function parseCustomerId(text: string): string | null | undefined {
  if (text === '') return null;
  const match = /^(\d+)(?:\.0*)?$/.exec(text);
  return match ? match[1].replace(/^0+(?=\d)/, '') : undefined;
}

const ISO_LIKE = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const UCI_US = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;

// Rows of one invoice repeat the same text: remembering the last answer halves the read time.
let lastDateText = '';
let lastDateIso: string | undefined;

/** The written time is UK local time; it is kept as if UTC so the calendar day never moves. */
function parseInvoiceDate(text: string): string | undefined {
  if (text === lastDateText) return lastDateIso;
  const iso = ISO_LIKE.exec(text);
  const us = iso ? null : UCI_US.exec(text);
  let result: string | undefined;
  if (iso) result = toIso(+iso[1], +iso[2], +iso[3], +iso[4], +iso[5], +(iso[6] ?? 0));
  else if (us) result = toIso(+us[3], +us[1], +us[2], +us[4], +us[5], +(us[6] ?? 0));
  lastDateText = text;
  lastDateIso = result;
  return result;
}

function toIso(year: number, month: number, day: number, hour: number, minute: number, second: number): string | undefined {
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2/30 over to 3/2; a date that does not round-trip does not exist.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date.toISOString();
}
