import { z } from 'zod';
import type { ListingPosition } from './services/customerStateReader.ts';

/**
 * Cursors: a page starts after the place the previous one ended, which the caller gets back as
 * opaque base64url text. Named ids page by the last id; the listing by a store position.
 */

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

/**
 * Listing cursors name a place in the store's listing: its bucket and the last id listed there,
 * as base64url JSON `{"b":bucket,"a":id}`, checked on the way in with zod. A cursor that is not
 * such JSON (a caller's own text) is read as a place too, in bucket 0 after that text: a forged
 * cursor can move a page, never widen it (the store reads at most `limit` keys from any place).
 */
const ListingCursorSchema = z.strictObject({ b: z.number().int().min(0).max(1_000_000), a: z.string().max(300) });

export function encodeListingCursor(position: ListingPosition): string {
  return Buffer.from(JSON.stringify({ b: position.bucket, a: position.afterId }), 'utf8').toString('base64url');
}

export function decodeListingCursor(cursor: string): ListingPosition {
  const text = decodeCursor(cursor);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { bucket: 0, afterId: text };
  }
  const parsed = ListingCursorSchema.safeParse(json);
  return parsed.success ? { bucket: parsed.data.b, afterId: parsed.data.a } : { bucket: 0, afterId: text };
}
