import { describe, expect, it } from 'vitest';
import { compareCodePoints, compareCodeUnits, compareCustomerIds } from '../../models/customer/customerIds.ts';
import { applyEvent, emptyState } from '../../models/customer/customerState.ts';
import { statesFromEvents } from '../../models/customer/customerStates.ts';
import { parseIsoDay } from '../../models/time/calendar.ts';
import { order } from '../support/orderEvents.ts';

describe('statesFromEvents', () => {
  const events = [
    order('B', 'o1', '2024-01-01T10:00:00Z', 10),
    order('A', 'o2', '2024-01-02T10:00:00Z', 20),
    order('B', 'o3', '2024-01-03T10:00:00Z', 30),
    order('B', 'o3', '2024-01-03T10:00:00Z', 30), // a producer retry: rejected as a duplicate
  ];

  it('is emptyState then applyEvent per event, customers in order of first appearance', () => {
    const { states, applied } = statesFromEvents(events);
    const b = emptyState('B');
    for (const event of events.filter((e) => e.customerId === 'B')) applyEvent(b, event);
    expect([...states.keys()]).toEqual(['B', 'A']);
    expect(states.get('B')).toEqual(b);
    expect(applied).toBe(3);
  });

  it('skips events after lastDay and of customers not asked for', () => {
    expect([...statesFromEvents(events, { lastDay: parseIsoDay('2024-01-01') }).states.keys()]).toEqual(['B']);
    const { states, applied } = statesFromEvents(events, { customers: new Set(['A']) });
    expect([...states.keys()]).toEqual(['A']);
    expect(applied).toBe(1);
  });
});

describe('id orderings', () => {
  it('code points and code units disagree only where an astral character meets U+E000–U+FFFF', () => {
    expect(['😀', '～'].sort(compareCodePoints)).toEqual(['～', '😀']);
    expect(['😀', '～'].sort(compareCodeUnits)).toEqual(['😀', '～']);
    expect(['b', 'a', 'é', 'B'].sort(compareCodePoints)).toEqual(['b', 'a', 'é', 'B'].sort(compareCodeUnits));
  });

  it('customer ids compare numerically when both are integers', () => {
    expect(compareCustomerIds('9', '10')).toBeLessThan(0);
    expect(compareCodeUnits('9', '10')).toBeGreaterThan(0);
  });
});
