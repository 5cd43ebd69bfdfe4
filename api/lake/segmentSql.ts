import type { SegmentModelNumbers } from './lakeQueries.ts';
import type { SqlFragments } from '../engines/queryEngine.ts';

/**
 * The generated parts of segment_summary.sql and segment_members.sql: a fitted segment model as
 * SQL arithmetic, so the lake engine assigns every customer to its nearest centroid and only
 * sizes and means (or a bounded page of members) come back.
 */

/** Customers segment_sample.sql fetches to fit on (its LIMIT). */
export const SEGMENT_SAMPLE_SIZE = 5000;

/** A finite number as a DOUBLE literal both engines read alike (exponent form: Trino reads `1.5` as DECIMAL). */
export function doubleLiteral(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  return value.toExponential();
}

/** {{scaled}}, {{distances}} and {{nearest}} for a model. */
export function segmentFragments(model: SegmentModelNumbers): SqlFragments {
  const columns = ['recency', 'frequency', 'monetary'];
  const z = ['zr', 'zf', 'zm'];
  // log1p(max(0, v)), standardised: the model's logRfm and standardise.
  const scaled = columns
    .map((column, j) => `(ln(1e0 + greatest(${column}, 0e0)) - ${doubleLiteral(model.mean[j])}) / ${doubleLiteral(model.std[j])} AS ${z[j]}`)
    .join(', ');
  const distances = model.centroids
    .map((centroid, c) => `${z.map((name, j) => `(${name} - ${doubleLiteral(centroid[j])}) * (${name} - ${doubleLiteral(centroid[j])})`).join(' + ')} AS d${c}`)
    .join(', ');
  return { scaled, distances, nearest: nearestCase(model.centroids.length) };
}

/** The first segment of least distance: c wins when it is below every earlier one and not above any later one. */
function nearestCase(k: number): string {
  const whens: string[] = [];
  for (let c = 0; c < k - 1; c++) {
    const conditions: string[] = [];
    for (let j = 0; j < k; j++) if (j !== c) conditions.push(j < c ? `d${c} < d${j}` : `d${c} <= d${j}`);
    whens.push(`WHEN ${conditions.join(' AND ')} THEN ${c}`);
  }
  return `CASE ${whens.join(' ')} ELSE ${k - 1} END`;
}
