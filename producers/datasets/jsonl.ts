import { createInterface } from 'node:readline';
import { checkOrderEvent, DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { openDataset } from './openDataset.ts';
import { type DatasetReadOptions, ReadReport } from './readReport.ts';

/**
 * JSON Lines of OrderEvent v1 (gzip or not). A bad line, or one outside the bounds, is reported
 * with its number and reason, never thrown.
 */
export async function readJsonl(path: string, options: DatasetReadOptions = {}): Promise<{ events: OrderEvent[]; report: ReadReport }> {
  const bounds = options.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS;
  const nowMs = options.nowMs ?? Date.now();
  const report = new ReadReport();
  const events: OrderEvent[] = [];
  const lines = createInterface({ input: await openDataset(path), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = (lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '') continue;
    report.rows++;
    const parsed = parseLine(text, bounds, nowMs);
    if (typeof parsed === 'string') {
      report.reject(lineNo, parsed);
      continue;
    }
    events.push(parsed);
    report.events++;
  }
  return { events, report };
}

function parseLine(text: string, bounds: EventTimeBounds, nowMs: number): OrderEvent | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`;
  }
  const result = checkOrderEvent(json, bounds, nowMs);
  return result.ok ? result.event : `not an OrderEvent: ${result.reason}`;
}
