import { createHash, randomBytes } from 'node:crypto';
import { comparePositions, type CustomerState, type StreamPosition } from '../models/customer/customerState.ts';

/**
 * Alerts in flight: how the consumer publishes a save's new alerts without a second write.
 *
 * A batch saves each customer with the alerts it decided in `inFlight` (with the source and the
 * latest position of the customer's records, and the invocation's id), publishes them, and writes
 * nothing more for the customer when the bus takes them. The stored state keeps them until the
 * customer's next save, so that a redelivery of those records can tell whether they went out:
 * - records of the same source, all past that position, mean the invocation that saved them
 *   finished (the event source mapping hands a shard's next records over only then), and it
 *   finishes only once it has published them, put them back in the outbox as pending, or failed
 *   the customer's records: the alerts are done;
 * - otherwise (a redelivery, or records of another source) the saving invocation's receipt
 *   decides (StateStore.noteSettled, written once by an invocation after every alert it put in
 *   flight is settled, and only if none of its records failed): there, done; if not, that
 *   invocation may have stopped between its save and its publish, and the alerts go back into
 *   the outbox, saved as pending, and are published again with their ids.
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

/** An id for one sweep run: 72 random bits, 12 characters in the stored state. */
export function newInvocationId(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * A consumer invocation's id: 72 bits of a hash of its valid records' sources and positions, so a batch
 * delivered again as it was gets the same id and the stored states do not depend on how often it
 * came. Safe because a receipt under it is written only by an invocation over exactly those
 * records, which resolves every state an earlier one over them left in flight before writing it;
 * a retry split in halves, or another batch of the shard, has other records and another id.
 */
export function batchInvocationId(records: readonly StreamPosition[]): string {
  const hash = createHash('sha256');
  for (const { source, position } of records) hash.update(`${source}\u0000${position}\n`);
  return hash.digest('base64url').slice(0, 12);
}

/**
 * Drops the alerts in flight if they are known to be out, or puts them back in the outbox;
 * `settled` holds the receipts read for this batch (an invocation absent from it counts as
 * unsettled). True if they went back into the outbox.
 */
export function resolveInFlight(state: CustomerState, records: readonly { record: StreamPosition }[], settled: ReadonlySet<string>): boolean {
  const inFlight = state.inFlight;
  if (inFlight === null) return false;
  const finished = finishedBy(state, records);
  state.inFlight = null;
  if (finished || settled.has(inFlight.invocation)) return false;
  for (const alert of inFlight.alerts) state.outbox.push(alert);
  return true;
}

/**
 * Moves the alerts appended to the outbox since `carried` into flight, under the position of the
 * customer's latest record, when its records come from one source (a stream batch always does).
 * Otherwise they stay in the outbox, and are cleared after publishing with another write.
 */
export function sendInFlight(state: CustomerState, carried: number, records: readonly { record: StreamPosition }[], invocation: string): boolean {
  if (state.outbox.length === carried || records.length === 0) return false;
  const source = records[0].record.source;
  let position = records[0].record.position;
  for (const { record } of records) {
    if (record.source !== source) return false;
    if (comparePositions(record.position, position) > 0) position = record.position;
  }
  return moveIntoFlight(state, carried, { source, position }, invocation);
}

/** The source a sweep's alerts in flight name: no stream record has it, so only the sweep run's receipt settles them. */
export const SWEEP_SOURCE = 'sweep';

/**
 * The sweep's counterpart of sendInFlight: the alerts a sweep run decided go into flight unless
 * the state holds others already (those stay, and the new ones take the outbox and its clearing
 * write). With no records to redeliver, a sweep run stopped before its publish leaves them to the
 * customer's next batch, which finds no receipt and publishes them, as an outbox left uncleared was
 * before.
 */
export function sendSweptInFlight(state: CustomerState, carried: number, invocation: string): boolean {
  if (state.outbox.length === carried || state.inFlight !== null) return false;
  return moveIntoFlight(state, carried, { source: SWEEP_SOURCE, position: '0' }, invocation);
}

function moveIntoFlight(state: CustomerState, carried: number, from: StreamPosition, invocation: string): boolean {
  state.inFlight = { source: from.source, position: from.position, invocation, alerts: state.outbox.slice(carried) };
  state.outbox.length = carried;
  return true;
}
