import { comparePositions, type CustomerState, type StreamPosition } from '../models/customer/customerState.ts';

/**
 * Alerts in flight: how the consumer publishes a save's new alerts without a second write.
 *
 * A batch saves each customer with the alerts it decided in `inFlight` (with the source and the
 * latest position of the customer's records), publishes them, and writes nothing more when the
 * bus takes them. The stored state keeps them until the customer's next save, so that a
 * redelivery of those records can tell whether they went out:
 * - records of the same source, all past that position, mean the invocation that saved them
 *   finished (the event source mapping hands a shard's next records over only then), and it
 *   finishes only once it has published them, put them back in the outbox as pending, or failed
 *   the customer's records: the alerts are done;
 * - otherwise (a redelivery, or records of another source) the source's delivered mark decides
 *   (StateStore.noteDelivered, written once a batch after every alert in flight is settled): at or
 *   past the position, done; if not, the saving invocation may have stopped between its save and
 *   its publish, and the alerts go back into the outbox, saved as pending, and are published again
 *   with their ids.
 * Alerts are only ever published after the save that decided them, so no alert is published for
 * a state that was not saved.
 */

/** Whether the records show the invocation that saved `state.inFlight` finished; undefined if they cannot tell. */
export function finishedBy(state: CustomerState, records: readonly { record: StreamPosition }[]): boolean | undefined {
  const inFlight = state.inFlight;
  if (inFlight === null) return true;
  let ofSource = false;
  for (const { record } of records) {
    if (record.source !== inFlight.source) continue;
    if (comparePositions(record.position, inFlight.position) <= 0) return undefined;
    ofSource = true;
  }
  return ofSource ? true : undefined;
}

/**
 * Drops the alerts in flight if they are known to be out, or puts them back in the outbox;
 * `delivered` is the source's delivered mark. True if they went back into the outbox.
 */
export function resolveInFlight(state: CustomerState, records: readonly { record: StreamPosition }[], delivered: ReadonlyMap<string, string | undefined>): boolean {
  const inFlight = state.inFlight;
  if (inFlight === null) return false;
  const finished = finishedBy(state, records);
  state.inFlight = null;
  if (finished) return false;
  const mark = delivered.get(inFlight.source);
  if (mark !== undefined && comparePositions(inFlight.position, mark) <= 0) return false;
  for (const alert of inFlight.alerts) state.outbox.push(alert);
  return true;
}

/**
 * Moves the alerts appended to the outbox since `carried` into flight, under the position of the
 * customer's latest record, when its records come from one source (a stream batch always does).
 * Otherwise they stay in the outbox, and are cleared after publishing with another write.
 */
export function sendInFlight(state: CustomerState, carried: number, records: readonly { record: StreamPosition }[]): boolean {
  if (state.outbox.length === carried || records.length === 0) return false;
  const source = records[0].record.source;
  let position = records[0].record.position;
  for (const { record } of records) {
    if (record.source !== source) return false;
    if (comparePositions(record.position, position) > 0) position = record.position;
  }
  state.inFlight = { source, position, alerts: state.outbox.slice(carried) };
  state.outbox.length = carried;
  return true;
}
