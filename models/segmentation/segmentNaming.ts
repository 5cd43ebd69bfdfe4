import type { CustomerFeatures } from '../customer/customerFeatures.ts';
import { eventCents, type OrderEvent } from '../customer/orderEvent.ts';
import { dayIndex } from '../time/calendar.ts';
import { assignSegment, computeRfm, fitSegments, type RfmLine, type SegmentModel } from './segmentation.ts';

/**
 * The RFM segments alerts are named by: fitted on the training history's orders as of its last
 * day, with the segments endpoint's defaults (k = 5, seeded), so an alert's segment name is one
 * a marketer also sees on /segments.
 */
export function trainSegmentModel(history: readonly OrderEvent[], asOfDay: number, k = 5): SegmentModel {
  const lines: RfmLine[] = [];
  for (const event of history) {
    if (event.type !== 'order') continue;
    lines.push({ customerId: event.customerId, invoice: event.orderId, day: dayIndex(Date.parse(event.occurredAt)), revenue: eventCents(event) / 100 });
  }
  return fitSegments(computeRfm(lines, asOfDay), { k }).model;
}

/** A customer's segment name from its features: recency in days, orders, total spend. */
export function segmentNamer(model: SegmentModel): (features: CustomerFeatures) => string {
  return (features) => assignSegment(model, { recencyDays: features.recencyDays, frequency: features.orders, monetary: features.totalSpend }).name;
}

/** Where a segment model is kept beside a model artifact: `model.json` -> `model.segments.json`. */
export function segmentModelPathFor(modelPath: string): string {
  return `${modelPath.replace(/\.json$/i, '')}.segments.json`;
}
