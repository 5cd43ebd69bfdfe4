import { createInterface } from 'node:readline';
import { describeZodError, OrderEventSchema, type OrderEvent } from '../../models/customer/orderEvent.ts';
import { openDataset } from './openDataset.ts';
import { ReadReport } from './readReport.ts';

/** JSON Lines of OrderEvent v1 (gzip or not). A bad line is reported with its number and reason, never thrown. */
export async function readJsonl(path: string): Promise<{ events: OrderEvent[]; report: ReadReport }> {
  const report = new ReadReport();
  const events: OrderEvent[] = [];
  const lines = createInterface({ input: await openDataset(path), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = (lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '') continue;
    report.rows++;
    const parsed = parseLine(text);
    if (typeof parsed === 'string') {
      report.reject(lineNo, parsed);
      continue;
    }
    events.push(parsed);
    report.events++;
  }
  return { events, report };
}

function parseLine(text: string): OrderEvent | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`;
  }
  const result = OrderEventSchema.safeParse(json);
  return result.success ? result.data : `not an OrderEvent: ${describeZodError(result.error)}`;
}
