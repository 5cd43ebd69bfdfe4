/**
 * Event times as UTC milliseconds, as `Date.parse` reads them, with a fast path for the two
 * shapes producers write almost exclusively: `YYYY-MM-DDTHH:MM:SSZ` and `YYYY-MM-DDTHH:MM:SS.sssZ`.
 * Every other string (offsets, other fraction lengths, anything malformed) goes to `Date.parse`,
 * so the result is always Date.parse's; the fast path only skips its general ISO/legacy parser.
 *
 * The fast path does no calendar validation of its own (month 02 day 31 would roll over rather
 * than be rejected): callers pass strings the OrderEvent schema has already accepted, whose
 * `occurredAt` pattern admits real calendar dates only. To stay safe for any caller, it still
 * falls back to Date.parse for a day beyond 28 (Date.parse decides those month-end edge cases).
 */
export function parseEventTime(text: string): number {
  const length = text.length;
  if ((length !== 20 && length !== 24) || text.charCodeAt(length - 1) !== 90 /* Z */) return Date.parse(text);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return Date.parse(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  let millis = 0;
  if (length === 24) {
    if (text.charCodeAt(19) !== 46 /* . */) return Date.parse(text);
    millis = digits(text, 20, 3);
  }
  if (
    year < 0 || month < 1 || month > 12 || day < 1 || day > 28 ||
    hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || millis < 0
  ) {
    return Date.parse(text);
  }
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1_000 + millis;
}

/** The decimal number in text[at, at + count), or -1 if any of those is not an ASCII digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), year >= 0. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
