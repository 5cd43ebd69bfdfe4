import { compareCodeUnits } from '../models/customer/customerIds.ts';

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

/**
 * The text a cursor names. Every base64url text is a cursor: a page may start after any text in
 * id order (as DynamoDB takes any ExclusiveStartKey, an item or not), so a cursor no page
 * produced is still a place in the listing, never an error the document cannot state. Bytes
 * that are not UTF-8 decode to U+FFFD, which is a place too.
 */
export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
