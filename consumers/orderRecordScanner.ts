import { parseEventTime } from '../models/time/eventTime.ts';
import { ORDER_BOUNDS, OrderEventSchema } from '../models/customer/orderEvent.ts';
import type { OrderFacts } from '../models/customer/orderFacts.ts';

/**
 * The consumer's fast path from a stream record's base64 data to the facts of an OrderEvent v1,
 * without JSON.parse: base64 is decoded into one reused buffer and the JSON is scanned in place,
 * validating the schema's rules as it goes and building only the strings the state record keeps
 * (order id, customer id, country). Line objects, product ids and the rest are checked, never
 * materialised.
 *
 * It is deliberately narrow: printable-ASCII strings without escapes, plain decimal numbers of at
 * most 15 digits, no unknown or repeated keys. Anything else, valid or not, returns null and the
 * caller takes the general path (JSON.parse, then zod), which decides every rejection and writes
 * every error message. So the scanner never rejects a record; it only accepts records the general
 * path accepts, with the same facts (a property test holds it to that).
 */
export function scanOrderRecord(base64: string): OrderFacts | null {
  return scanner.scan(base64);
}

/** Kinesis records are at most 1 MiB; anything larger is left to the general path. */
const MAX_SCRATCH_BYTES = 1_500_000;

// The schema's own datetime pattern, so this path cannot drift from zod's rule.
const OCCURRED_AT_PATTERN = (OrderEventSchema.shape.occurredAt as unknown as { _zod: { pattern: RegExp } })._zod.pattern;

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

// Keys seen, as bits, so a repeated key (which JSON.parse would resolve to its last value) falls back.
const TYPE = 1;
const ORDER_ID = 2;
const CUSTOMER_ID = 4;
const OCCURRED_AT = 8;
const CURRENCY = 16;
const COUNTRY = 32;
const LINES = 64;
const REQUIRED = TYPE | ORDER_ID | CUSTOMER_ID | OCCURRED_AT | LINES;

const PRODUCT_ID = 1;
const CATEGORY_ID = 2;
const QUANTITY = 4;
const UNIT_PRICE = 8;
const LINE_REQUIRED = PRODUCT_ID | QUANTITY | UNIT_PRICE;

const POWERS_OF_TEN = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Buffer's own slice method, which `toString('latin1', …)` calls after checking its arguments. */
type BufferWithSlices = Buffer & { latin1Slice(start: number, end: number): string };

/** One scanner per process: its buffer is reused by every record. */
class OrderRecordScanner {
  private bytes = Buffer.allocUnsafe(4096);
  private end = 0;
  private at = 0;
  /** Where the last string scanned sits in `bytes`: [textStart, textEnd). */
  private textStart = 0;
  private textEnd = 0;
  // Per event, filled while scanning and read once it is complete.
  private type: 'order' | 'return' = 'order';
  private orderId = '';
  private customerId = '';
  private country: string | undefined = undefined;
  private eventMs = 0;
  private cents = 0;
  private units = 0;

  scan(base64: string): OrderFacts | null {
    const room = (base64.length >>> 2) * 3 + 3;
    if (room > this.bytes.length) {
      if (room > MAX_SCRATCH_BYTES) return null;
      this.bytes = Buffer.allocUnsafe(Math.max(room, 2 * this.bytes.length));
    }
    this.end = this.bytes.write(base64, 'base64');
    this.at = 0;
    return this.scanEvent();
  }

  private scanEvent(): OrderFacts | null {
    this.skipSpace();
    if (this.at >= this.end || this.bytes[this.at] !== OPEN_BRACE) return null;
    this.at++;
    this.country = undefined;
    let seen = 0;
    for (;;) {
      this.skipSpace();
      if (!this.scanText()) return null;
      const key = this.keyOfEvent();
      if (key === 0 || (seen & key) !== 0) return null;
      seen |= key;
      this.skipSpace();
      if (this.at >= this.end || this.bytes[this.at] !== COLON) return null;
      this.at++;
      this.skipSpace();
      if (!this.scanEventValue(key)) return null;
      this.skipSpace();
      if (this.at >= this.end) return null;
      const next = this.bytes[this.at++];
      if (next === CLOSE_BRACE) break;
      if (next !== COMMA) return null;
    }
    this.skipSpace();
    if (this.at !== this.end || (seen & REQUIRED) !== REQUIRED) return null;
    return { type: this.type, orderId: this.orderId, customerId: this.customerId, eventMs: this.eventMs, cents: this.cents, units: this.units, country: this.country };
  }

  private scanEventValue(key: number): boolean {
    if (key === LINES) return this.scanLines();
    if (!this.scanText()) return false;
    const length = this.textEnd - this.textStart;
    switch (key) {
      case TYPE:
        if (this.textIs('order')) this.type = 'order';
        else if (this.textIs('return')) this.type = 'return';
        else return false;
        return true;
      case ORDER_ID:
        if (length < 1 || length > ORDER_BOUNDS.idLength) return false;
        this.orderId = this.text();
        return true;
      case CUSTOMER_ID:
        // Printable ASCII only reaches here, so the schema's "no control characters" rule holds.
        if (length < 1 || length > ORDER_BOUNDS.idLength) return false;
        this.customerId = this.text();
        return true;
      case OCCURRED_AT:
        return this.scanOccurredAt();
      case CURRENCY:
        return length === 3;
      case COUNTRY:
        if (length < 1 || length > 64) return false;
        this.country = this.text();
        return true;
      default:
        return false;
    }
  }

  /** `lines`: 1..ORDER_BOUNDS.linesPerEvent line objects, summed into this.cents and this.units as eventCents/eventUnits do. */
  private scanLines(): boolean {
    if (this.at >= this.end || this.bytes[this.at] !== OPEN_BRACKET) return false;
    this.at++;
    this.cents = 0;
    this.units = 0;
    let count = 0;
    for (;;) {
      this.skipSpace();
      if (!this.scanLine()) return false;
      count++;
      this.skipSpace();
      if (this.at >= this.end) return false;
      const next = this.bytes[this.at++];
      if (next === CLOSE_BRACKET) break;
      if (next !== COMMA) return false;
    }
    // Out of bounds: the general path writes the error message.
    return count <= ORDER_BOUNDS.linesPerEvent && this.cents <= ORDER_BOUNDS.eventCents;
  }

  private scanLine(): boolean {
    if (this.at >= this.end || this.bytes[this.at] !== OPEN_BRACE) return false;
    this.at++;
    let seen = 0;
    let quantity = 0;
    let unitPrice = 0;
    for (;;) {
      this.skipSpace();
      if (!this.scanText()) return false;
      const key = this.keyOfLine();
      if (key === 0 || (seen & key) !== 0) return false;
      seen |= key;
      this.skipSpace();
      if (this.at >= this.end || this.bytes[this.at] !== COLON) return false;
      this.at++;
      this.skipSpace();
      if (key === QUANTITY || key === UNIT_PRICE) {
        const value = this.scanNumber();
        if (!(value >= 0)) return false;
        if (key === QUANTITY) {
          if (value > ORDER_BOUNDS.quantity) return false;
          quantity = value;
        } else {
          if (value > ORDER_BOUNDS.unitPrice) return false;
          unitPrice = value;
        }
      } else {
        if (!this.scanText()) return false;
        const length = this.textEnd - this.textStart;
        if (length < 1 || length > ORDER_BOUNDS.idLength) return false;
      }
      this.skipSpace();
      if (this.at >= this.end) return false;
      const next = this.bytes[this.at++];
      if (next === CLOSE_BRACE) break;
      if (next !== COMMA) return false;
    }
    if ((seen & LINE_REQUIRED) !== LINE_REQUIRED || !(quantity > 0)) return false;
    this.cents += Math.round(quantity * unitPrice * 100);
    this.units += quantity;
    return true;
  }

  /** A JSON string of printable ASCII without escapes; sets [this.textStart, this.textEnd). False otherwise. */
  private scanText(): boolean {
    // Locals in the loop: the fields are read once, not per byte.
    const bytes = this.bytes;
    const end = this.end;
    let at = this.at;
    if (at >= end || bytes[at] !== QUOTE) return false;
    const start = ++at;
    while (at < end) {
      const byte = bytes[at];
      if (byte === QUOTE) {
        this.textStart = start;
        this.textEnd = at;
        this.at = at + 1;
        return true;
      }
      if (byte < 0x20 || byte > 0x7e || byte === BACKSLASH) return false;
      at++;
    }
    return false;
  }

  /** The last string scanned; printable ASCII, so Latin-1 reads it as UTF-8 would. */
  private text(): string {
    return (this.bytes as BufferWithSlices).latin1Slice(this.textStart, this.textEnd);
  }

  private textIs(expected: string): boolean {
    const start = this.textStart;
    if (this.textEnd - start !== expected.length) return false;
    const bytes = this.bytes;
    for (let i = 0; i < expected.length; i++) if (bytes[start + i] !== expected.charCodeAt(i)) return false;
    return true;
  }

  private keyOfEvent(): number {
    switch (this.textEnd - this.textStart) {
      case 4:
        return this.textIs('type') ? TYPE : 0;
      case 5:
        return this.textIs('lines') ? LINES : 0;
      case 7:
        return this.textIs('orderId') ? ORDER_ID : this.textIs('country') ? COUNTRY : 0;
      case 8:
        return this.textIs('currency') ? CURRENCY : 0;
      case 10:
        return this.textIs('customerId') ? CUSTOMER_ID : this.textIs('occurredAt') ? OCCURRED_AT : 0;
      default:
        return 0;
    }
  }

  private keyOfLine(): number {
    switch (this.textEnd - this.textStart) {
      case 8:
        return this.textIs('quantity') ? QUANTITY : 0;
      case 9:
        return this.textIs('productId') ? PRODUCT_ID : this.textIs('unitPrice') ? UNIT_PRICE : 0;
      case 10:
        return this.textIs('categoryId') ? CATEGORY_ID : 0;
      default:
        return 0;
    }
  }

  /**
   * A non-negative JSON number without exponent and with at most 15 digits, or NaN. Its value is
   * digits / 10^fraction: both exact doubles, so the one division rounds correctly, exactly as
   * JSON.parse reads the same text (Clinger's fast path).
   */
  private scanNumber(): number {
    const bytes = this.bytes;
    const end = this.end;
    const start = this.at;
    let at = start;
    let mantissa = 0;
    let digits = 0;
    let fraction = 0;
    let byte = at < end ? bytes[at] : 0;
    if (byte === 48 /* 0 */) {
      byte = ++at < end ? bytes[at] : 0;
      digits = 1;
    } else {
      while (byte >= 48 && byte <= 57) {
        mantissa = mantissa * 10 + (byte - 48);
        digits++;
        byte = ++at < end ? bytes[at] : 0;
      }
      if (digits === 0) return Number.NaN;
    }
    if (byte === 46 /* . */) {
      byte = ++at < end ? bytes[at] : 0;
      while (byte >= 48 && byte <= 57) {
        mantissa = mantissa * 10 + (byte - 48);
        fraction++;
        byte = ++at < end ? bytes[at] : 0;
      }
      if (fraction === 0) return Number.NaN;
    }
    this.at = at;
    // Too many digits for an exact mantissa, an exponent, or a digit after a leading zero:
    // left to the general path.
    if (digits + fraction > 15 || byte === 101 || byte === 69 || (byte >= 48 && byte <= 57)) return Number.NaN;
    return fraction === 0 ? mantissa : mantissa / POWERS_OF_TEN[fraction];
  }

  /**
   * `YYYY-MM-DDTHH:MM:SS[.sss]Z` with a day up to 28 (valid in every month, so the schema's pattern
   * accepts it) is read in place; any other text is checked against the schema's own pattern.
   */
  private scanOccurredAt(): boolean {
    const length = this.textEnd - this.textStart;
    const s = this.textStart;
    if ((length === 20 || length === 24) && this.bytes[this.textEnd - 1] === 90 /* Z */) {
      const year = this.digitsAt(s, 4);
      const month = this.digitsAt(s + 5, 2);
      const day = this.digitsAt(s + 8, 2);
      const hour = this.digitsAt(s + 11, 2);
      const minute = this.digitsAt(s + 14, 2);
      const second = this.digitsAt(s + 17, 2);
      const millis = length === 24 && this.bytes[s + 19] === 46 ? this.digitsAt(s + 20, 3) : length === 20 ? 0 : -1;
      if (
        this.bytes[s + 4] === 45 && this.bytes[s + 7] === 45 && this.bytes[s + 10] === 84 && this.bytes[s + 13] === 58 && this.bytes[s + 16] === 58 &&
        year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= 28 &&
        hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59 && millis >= 0
      ) {
        this.eventMs = Date.UTC(year, month - 1, day, hour, minute, second, millis);
        // Date.UTC maps years 0..99 to 1900..1999; such times go through the general reading.
        if (year >= 100) return true;
      }
    }
    const text = this.text();
    if (!OCCURRED_AT_PATTERN.test(text)) return false;
    this.eventMs = parseEventTime(text);
    return true;
  }

  private digitsAt(from: number, count: number): number {
    let value = 0;
    for (let i = from; i < from + count; i++) {
      const digit = this.bytes[i] - 48;
      if (digit < 0 || digit > 9) return -1;
      value = value * 10 + digit;
    }
    return value;
  }

  private skipSpace(): void {
    const bytes = this.bytes;
    let at = this.at;
    // Compact JSON, the usual case, has no space at all.
    if (at < this.end && bytes[at] > 32) return;
    while (at < this.end) {
      const byte = bytes[at];
      if (byte !== 32 && byte !== 10 && byte !== 13 && byte !== 9) break;
      at++;
    }
    this.at = at;
  }
}

const scanner = new OrderRecordScanner();
