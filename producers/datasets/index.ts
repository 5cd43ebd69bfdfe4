import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readCdnow } from './cdnow.ts';
import type { ReadReport } from './readReport.ts';

export const DATASET_FORMATS = ['cdnow', 'online-retail', 'jsonl'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface Dataset {
  events: OrderEvent[];
  report: ReadReport;
}

/** Reads a whole dataset into OrderEvents sorted by event time (stable), with its read report. */
export async function readDataset(path: string, format: DatasetFormat): Promise<Dataset> {
  const dataset = await readUnsorted(path, format);
  dataset.events.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
  return dataset;
}

async function readUnsorted(path: string, format: DatasetFormat): Promise<Dataset> {
  switch (format) {
    case 'cdnow':
      return readCdnow(path);
    case 'online-retail':
      return (await import('./onlineRetail.ts')).readOnlineRetail(path);
    case 'jsonl':
      return (await import('./jsonl.ts')).readJsonl(path);
  }
}
