import type { OrderEvent } from '../../models/customer/orderEvent.ts';
import { readCdnow } from './cdnow.ts';
import type { DatasetReadOptions, ReadReport } from './readReport.ts';

export const DATASET_FORMATS = ['cdnow', 'online-retail', 'jsonl'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface Dataset {
  events: OrderEvent[];
  report: ReadReport;
}

/**
 * Reads a whole dataset into OrderEvents sorted by event time (stable), with its read report.
 * Every event is an OrderEvent v1 within its bounds (event time included); rows that are not are
 * in the report with their reasons.
 */
export async function readDataset(path: string, format: DatasetFormat, options: DatasetReadOptions = {}): Promise<Dataset> {
  const dataset = await readUnsorted(path, format, options);
  dataset.events.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
  return dataset;
}

async function readUnsorted(path: string, format: DatasetFormat, options: DatasetReadOptions): Promise<Dataset> {
  switch (format) {
    case 'cdnow':
      return readCdnow(path, options);
    case 'online-retail':
      return (await import('./onlineRetail.ts')).readOnlineRetail(path, options);
    case 'jsonl':
      return (await import('./jsonl.ts')).readJsonl(path, options);
  }
}
