import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ALERT_DETAIL_TYPES, ALERT_SOURCE, AlertDetailSchema, type AlertType } from '../../models/customer/alertEvent.ts';

/**
 * The published JSON Schemas (draft 2020-12) of each alert detail-type's `detail`, generated
 * from AlertDetailSchema so the contract in the repo cannot drift from the code.
 *
 * Regenerate the committed files after changing AlertDetailSchema:
 *   npx tsx consumers/alerts/alertSchemas.ts
 * (test/unit/alertSchemas.test.ts fails while they differ.)
 */
export const ALERT_SCHEMA_DIR = fileURLToPath(new URL('./schemas/', import.meta.url));

export interface AlertSchemaFile {
  detailType: AlertType;
  fileName: string;
  /** The file's exact content. */
  content: string;
}

/** 'Customer At Risk' -> 'customer-at-risk.schema.json' */
export function alertSchemaFileName(detailType: AlertType): string {
  return `${detailType.toLowerCase().replace(/\s+/g, '-')}.schema.json`;
}

function alertDetailJsonSchema(detailType: AlertType): Record<string, unknown> {
  const { $schema, ...body } = z.toJSONSchema(AlertDetailSchema, { target: 'draft-2020-12' });
  const slug = alertSchemaFileName(detailType).replace('.schema.json', '');
  return {
    $schema,
    $id: `urn:${ALERT_SOURCE}:events:${slug}`,
    title: `${detailType} detail`,
    description: `The detail of EventBridge events with source "${ALERT_SOURCE}" and detail-type "${detailType}".`,
    ...body,
  };
}

export function alertSchemaFiles(): AlertSchemaFile[] {
  return ALERT_DETAIL_TYPES.map((detailType) => ({
    detailType,
    fileName: alertSchemaFileName(detailType),
    content: `${JSON.stringify(alertDetailJsonSchema(detailType), null, 2)}\n`,
  }));
}

export async function writeAlertSchemas(dir = ALERT_SCHEMA_DIR): Promise<string[]> {
  const files = alertSchemaFiles();
  await Promise.all(files.map((file) => writeFile(join(dir, file.fileName), file.content, 'utf8')));
  return files.map((file) => file.fileName);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`wrote ${(await writeAlertSchemas()).join(', ')} to ${ALERT_SCHEMA_DIR}`);
}
