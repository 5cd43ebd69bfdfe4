import { describe, expect, it } from 'vitest';
import { assignSegment, computeRfm, fitSegments, type RfmLine } from '../../models/segmentation/segmentation.ts';
import { SEGMENT_FIT_CUSTOMERS, trainSegmentModel } from '../../models/segmentation/segmentNaming.ts';
import { eventCents } from '../../models/customer/orderEvent.ts';
import { dayIndex } from '../../models/time/calendar.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';

/*
 * The alerts' segment model is fitted on a seeded sample of SEGMENT_FIT_CUSTOMERS once the history
 * has more customers: it must name customers as the fit on all of them does.
 */
describe('trainSegmentModel', () => {
  it('fits a sample above SEGMENT_FIT_CUSTOMERS and names nearly every customer as the full fit does', () => {
    const events = generateEvents({ customers: 40_000, days: 365, seed: 7, start: '2024-01-01' });
    const asOfDay = dayIndex(Date.parse('2024-12-31T00:00:00Z'));
    const lines: RfmLine[] = events
      .filter((event) => event.type === 'order')
      .map((event) => ({ customerId: event.customerId, invoice: event.orderId, day: dayIndex(Date.parse(event.occurredAt)), revenue: eventCents(event) / 100 }));
    const customers = computeRfm(lines, asOfDay);
    expect(customers.length).toBeGreaterThan(SEGMENT_FIT_CUSTOMERS);

    const sampled = trainSegmentModel(events, asOfDay);
    const full = fitSegments(customers, { k: 5 }).model;
    expect(sampled.centroids).not.toEqual(full.centroids);
    expect([...sampled.names].sort()).toEqual([...full.names].sort());
    let same = 0;
    for (const customer of customers) if (assignSegment(sampled, customer).name === assignSegment(full, customer).name) same++;
    expect(same / customers.length).toBeGreaterThan(0.97);
  }, 120_000);
});
