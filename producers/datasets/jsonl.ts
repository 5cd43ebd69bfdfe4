import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describeZodError, OrderEventSchema, type OrderEvent } from '../../models/orderEvent.ts';
import { ReadReport } from './readReport.ts';

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Opens a dataset file as a byte stream, gunzipping it when it starts with the gzip magic
 * bytes: the name is not trusted, so a renamed `.csv` that is really gzip still reads.
 */
export async function openDataset(path: string): Promise<Readable> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(GZIP_MAGIC.length);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(path);
  if (!head.equals(Buffer.from(GZIP_MAGIC))) return raw;
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  return raw.pipe(gunzip);
}

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
