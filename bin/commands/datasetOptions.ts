import { DATASET_FORMATS, type DatasetFormat } from '../../producers/datasets/index.ts';

/** The checks of the dataset options (`--data`, `--out`, `--format`) that commands share. */
export function requiredText(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${flag} is required`);
  return value;
}

export function datasetFormat(value: unknown): DatasetFormat {
  if (typeof value === 'string' && (DATASET_FORMATS as readonly string[]).includes(value)) return value as DatasetFormat;
  throw new Error(`--format must be one of ${DATASET_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
}
