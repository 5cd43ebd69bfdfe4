import { createInterface } from 'node:readline';
import { checkOrderEvent, DEFAULT_EVENT_TIME_BOUNDS, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { openDataset } from './openDataset.ts';
import { type DatasetReadOptions, ReadReport } from './readReport.ts';

/**
 * CDNOW transaction files (Fader & Hardie): whitespace-separated `customer date cds dollars`
 * (master, with a header line) or `customer sampleId date cds dollars` (sample, no header).
 * Each row becomes one order of `cds` units of the product "CD". Gzip or not. A row whose order
 * would fall outside OrderEvent v1's bounds is reported with its reason.
 */
export async function readCdnow(path: string, options: DatasetReadOptions = {}): Promise<{ events: OrderEvent[]; report: ReadReport }> {
  const bounds = options.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS;
  const nowMs = options.nowMs ?? Date.now();
  const report = new ReadReport();
  const events: OrderEvent[] = [];
  const lines = createInterface({ input: await openDataset(path), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim();
    if (text === '') continue;
    if (lineNo === 1 && /[a-z]/i.test(text)) continue;
    report.rows++;
    const parsed = parseRow(text.split(/\s+/));
    if (typeof parsed === 'string') {
      report.reject(lineNo, parsed);
      continue;
    }
    const { customerId, date, cds, dollars } = parsed;
    const event: OrderEvent = {
      type: 'order',
      orderId: `cdnow-${customerId}-${date}-${lineNo}`,
      customerId,
      occurredAt: `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T00:00:00.000Z`,
      currency: 'USD',
      lines: [{ productId: 'CD', quantity: cds, unitPrice: dollars / cds }],
    };
    const checked = checkOrderEvent(event, bounds, nowMs);
    if (!checked.ok) {
      report.reject(lineNo, `not an OrderEvent: ${checked.reason}`);
      continue;
    }
    events.push(event);
    report.events++;
  }
  return { events, report };
}

function parseRow(fields: string[]): { customerId: string; date: string; cds: number; dollars: number } | string {
  if (fields.length !== 4 && fields.length !== 5) return `expected 4 or 5 fields, got ${fields.length}`;
  const [id, date, cdsText, dollarText] = fields.length === 4 ? fields : [fields[0], fields[2], fields[3], fields[4]];
  if (!/^\d+$/.test(id)) return `customer id is not a number: ${id}`;
  if (!/^\d{8}$/.test(date) || Number.isNaN(Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`))) {
    return `date is not YYYYMMDD: ${date}`;
  }
  const cds = Number(cdsText);
  const dollars = Number(dollarText);
  if (!Number.isInteger(cds) || cds <= 0) return `number of CDs is not a positive integer: ${cdsText}`;
  if (!Number.isFinite(dollars) || dollars < 0) return `dollar value is not a non-negative number: ${dollarText}`;
  return { customerId: String(Number(id)), date, cds, dollars };
}
