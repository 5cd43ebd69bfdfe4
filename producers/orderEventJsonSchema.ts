import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { DEFAULT_EARLIEST_EVENT_TIME, DEFAULT_MAX_EVENT_SKEW_HOURS, ORDER_BOUNDS, OrderEventSchema } from '../models/customer/orderEvent.ts';

/**
 * The published JSON Schema (draft 2020-12) of OrderEvent v1, for producers: generated from
 * OrderEventSchema so the contract in the repo cannot drift from the code. Two bounds depend on
 * more than one field or on the clock and are stated in the description, not as keywords: the
 * event's total value and its event-time range.
 *
 * Regenerate the committed file after changing OrderEventSchema:
 *   npx tsx producers/orderEventJsonSchema.ts
 * (test/unit/orderEvent.test.ts fails while they differ.)
 */
export const ORDER_EVENT_SCHEMA_FILE = fileURLToPath(new URL('./order-event.schema.json', import.meta.url));

export function orderEventJsonSchemaText(): string {
  const { $schema, ...body } = z.toJSONSchema(OrderEventSchema, { target: 'draft-2020-12', io: 'input' });
  const schema = {
    $schema,
    $id: 'urn:demand-insights:events:order-event-v1',
    title: 'OrderEvent v1',
    description:
      'One order or return, as every entry point of Demand Insights accepts it (stream records, dataset files, the lake); unknown keys are ignored. ' +
      `Beyond the keywords below: the sum over lines of round(quantity × unitPrice × 100) must be at most ${ORDER_BOUNDS.eventCents} cents, and ` +
      `occurredAt must lie between the earliest event time (EARLIEST_EVENT_TIME, default ${DEFAULT_EARLIEST_EVENT_TIME}) and the wall clock ` +
      `plus the allowed skew (MAX_EVENT_SKEW_HOURS, default ${DEFAULT_MAX_EVENT_SKEW_HOURS} h); other events are dead-lettered with the reason.`,
    ...body,
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(ORDER_EVENT_SCHEMA_FILE, orderEventJsonSchemaText(), 'utf8');
  console.log(`wrote ${ORDER_EVENT_SCHEMA_FILE}`);
}
