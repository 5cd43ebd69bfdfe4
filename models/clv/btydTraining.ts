import { fitBgnbd } from './bgnbd.ts';
import { btydArtifact, type BtydArtifact } from './btydModel.ts';
import { DAY_MS, parseIsoDay } from '../time/calendar.ts';
import { featuresOf } from '../customer/customerFeatures.ts';
import { type CustomerState, hasPurchase } from '../customer/customerState.ts';
import { statesFromEvents } from '../customer/customerStates.ts';
import { fitGammaGamma } from './gammaGamma.ts';
import type { OrderEvent } from '../customer/orderEvent.ts';

/**
 * BTYD summaries of a population, column-wise, in weeks: what the BG/NBD and Gamma-Gamma fits
 * and any batch evaluation consume. Built through featuresOf so they match live scoring exactly.
 */
export interface BtydSummaries {
  customerIds: string[];
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  /** Mean spend of the repeat purchase days (0 without repeats). */
  m: Float64Array;
}

export interface BtydTrainingOptions {
  /** Last day of the calibration period, YYYY-MM-DD (UTC); its purchases are included. */
  calibrationEnd: string;
  horizonDays: number;
}

/** The last millisecond of a YYYY-MM-DD day: "as of the end of that day". */
export function endOfDayMs(isoDay: string): number {
  return (parseIsoDay(isoDay) + 1) * DAY_MS - 1;
}

/** Every customer's state from the events on or before `lastDay` (a UTC day index). */
export function statesUpTo(events: readonly OrderEvent[], lastDay: number): { states: Map<string, CustomerState>; applied: number } {
  return statesFromEvents(events, { lastDay });
}

/** Summaries as of `asOfMs` of the customers with at least one purchase (returns alone make no customer). */
export function btydSummaries(states: Iterable<CustomerState>, asOfMs: number): BtydSummaries {
  const buyers = [...states].filter(hasPurchase);
  const summaries: BtydSummaries = {
    customerIds: buyers.map((state) => state.customerId),
    x: new Float64Array(buyers.length),
    tx: new Float64Array(buyers.length),
    T: new Float64Array(buyers.length),
    m: new Float64Array(buyers.length),
  };
  buyers.forEach((state, i) => {
    const features = featuresOf(state, asOfMs);
    summaries.x[i] = features.x;
    summaries.tx[i] = features.tx;
    summaries.T[i] = features.T;
    summaries.m[i] = features.repeatMeanSpend;
  });
  return summaries;
}

/**
 * Fits BG/NBD and Gamma-Gamma on the calibration period (events on or before calibrationEnd,
 * as of the end of that day) and returns the versioned artifact.
 */
export function trainBtyd(events: readonly OrderEvent[], options: BtydTrainingOptions): BtydArtifact {
  const lastDay = parseIsoDay(options.calibrationEnd);
  const { states, applied } = statesUpTo(events, lastDay);
  const summaries = btydSummaries(states.values(), endOfDayMs(options.calibrationEnd));
  if (summaries.customerIds.length === 0) {
    throw new RangeError(`no customer has a purchase on or before ${options.calibrationEnd}`);
  }
  const bgnbd = fitBgnbd(summaries);
  const gammaGamma = fitGammaGamma(summaries);
  return btydArtifact({
    horizonDays: options.horizonDays,
    calibrationEnd: options.calibrationEnd,
    trainedOn: { customers: summaries.customerIds.length, events: applied },
    bgnbd: { ...bgnbd.params, logLikelihood: bgnbd.logLikelihood },
    gammaGamma: { ...gammaGamma.params, logLikelihood: gammaGamma.logLikelihood },
  });
}
