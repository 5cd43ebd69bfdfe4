/**
 * The orderings of customer ids (and other ids) the code base uses, in one place. They differ,
 * and each is needed where it is used:
 *
 * - compareCodePoints: Unicode code-point order, the same as UTF-8 byte order, which is how SQL
 *   engines (DuckDB, Athena/Trino) sort and MAX() VARCHARs. Anything that must agree with the
 *   lake's SQL uses it.
 * - compareCodeUnits: UTF-16 code-unit order, what JavaScript's `<` and a bare `.sort()` give.
 *   It differs from code-point order only when a character above U+FFFF (an astral character,
 *   stored as a surrogate pair 0xD800–0xDFFF) meets one in U+E000–U+FFFF: code units put the
 *   astral one first, code points put it last. The API's customer listing pages in this order.
 * - compareCustomerIds: the protocols' order, numeric when both ids are integers ("9" < "10"),
 *   else code units; evaluation reports and panels list customers in it.
 */

/** Orders strings by Unicode code point, as SQL engines sort VARCHAR (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Orders strings by UTF-16 code unit: JavaScript's `<`, and the default `Array.prototype.sort`. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares customer ids as the protocols order them: numerically when both are integers
 * ("9" < "10"), otherwise as strings (code units).
 */
export function compareCustomerIds(a: string, b: string): number {
  const integer = /^\d+$/;
  if (integer.test(a) && integer.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
  }
  return compareCodeUnits(a, b);
}
