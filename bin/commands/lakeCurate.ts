import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { eventTimeBounds } from '../../models/customer/orderEvent.ts';
import { CurationRequestSchema } from '../../lake/curationWindow.ts';
import { curateLocalLake } from '../../lake/localCuration.ts';
import { RAW_ORDERS_DIR } from '../../lake/rawOrders.ts';

/**
 * `demand-insights lake curate --lake DIR [--from D --to D] [--lookback-days N] [--json]`: the
 * Lambda's curation over a local lake: its raw JSON lines (DIR/raw/orders/) rebuilt into the
 * curated days and swapped in. Without --from/--to, the look-back window, as the schedule runs it.
 */
const OptionsSchema = z.object({
  lake: z.string({ error: '--lake is required' }).min(1, '--lake is required'),
  from: z.string().optional(),
  to: z.string().optional(),
  lookbackDays: z.coerce.number().int('--lookback-days must be a whole number').min(0).max(90).default(3),
  graceMinutes: z.coerce.number().int().min(0).default(60),
  json: z.boolean().default(false),
});

export async function run(options: Record<string, unknown>): Promise<void> {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => issue.message).join('; '));
  const { lake, from, to, lookbackDays, graceMinutes, json } = parsed.data;
  const request = CurationRequestSchema.safeParse({ from, to });
  if (!request.success) throw new Error(`--from/--to: ${request.error.issues.map((issue) => issue.message).join('; ')}`);
  if (!existsSync(join(lake, RAW_ORDERS_DIR))) throw new Error(`--lake: ${lake} has no raw orders (${RAW_ORDERS_DIR}/)`);
  const report = await curateLocalLake(lake, request.data, { lookbackDays, graceMs: graceMinutes * 60_000, eventTime: eventTimeBounds() });
  const { days, ...figures } = report;
  if (json) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  process.stdout.write(
    [
      `curated ${report.from}..${report.to}${report.explicit ? '' : ` (look-back ${lookbackDays} days)`} in ${(report.ms / 1000).toFixed(2)} s, run ${report.runId}`,
      `  partitions ${report.partitionsRebuilt} rebuilt, ${report.partitionsDropped} dropped; ${report.rows} lines of ${report.events} raw events`,
      `  dropped    ${report.duplicatesDropped} duplicates; late lines ${report.lateRows}; superseded rebuilds removed ${report.removedVersions}`,
      `  scanned    ${report.bytesScanned} bytes`,
      ...days.slice(0, 10).map((day) => `  ${day.date}  ${day.lines} lines${day.previousLines === null ? ' (new)' : ` (was ${day.previousLines})`}`),
      ...(days.length > 10 ? [`  … ${days.length - 10} more days`] : []),
    ].join('\n') + '\n',
  );
}
