import { compareCodeUnits } from '../models/customer/customerIds.ts';
import { InvalidCursorError } from './errors.ts';

/**
 * Paging over a sorted id list: a page starts after the last id of the previous one, which the
 * caller gets back as an opaque cursor. Ids are in UTF-16 code-unit order (compareCodeUnits),
 * the order the customer listing is sorted in.
 */

/** First index whose id sorts after `id`, in an id list sorted by compareCodeUnits. */
export function upperBound(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareCodeUnits(ids[mid], id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Cursors are opaque to callers: the last id of the page, base64url. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  // Only a customer id can be a cursor: 1..128 characters, no control characters (IdSchema).
  if (id.length === 0 || id.length > 128 || /[\u0000-\u001f\u007f]/.test(id) || encodeCursor(id) !== cursor) {
    throw new InvalidCursorError();
  }
  return id;
}
