/**
 * Nelder–Mead downhill simplex minimisation over unconstrained parameters (callers optimise
 * log-parameters for positive ones). Deterministic: the initial simplex is fixed by the start and
 * the step, and ties are broken by vertex order.
 */
export interface NelderMeadOptions {
  /** Size of the initial simplex along each axis (one number for all). Default 0.5. */
  initialStep?: number | readonly number[];
  /** Converged when every vertex is within this distance (per coordinate) of the best. Default 1e-8. */
  xTolerance?: number;
  /** ...and every vertex's value within this of the best. Default 1e-10. */
  fTolerance?: number;
  /** Default 200 × dimension. */
  maxIterations?: number;
}

export interface NelderMeadResult {
  x: number[];
  value: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
}

const REFLECTION = 1;
const EXPANSION = 2;
const CONTRACTION = 0.5;
const SHRINK = 0.5;

/** Minimises `objective` from `start`. A non-finite value counts as +Infinity, so the simplex backs away from it. */
export function minimizeNelderMead(
  objective: (x: Float64Array) => number,
  start: readonly number[],
  options: NelderMeadOptions = {},
): NelderMeadResult {
  const dimension = start.length;
  if (dimension === 0) throw new RangeError('minimizeNelderMead needs at least one parameter');
  const xTolerance = options.xTolerance ?? 1e-8;
  const fTolerance = options.fTolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 200 * dimension;
  let evaluations = 0;
  const evaluate = (point: Float64Array): number => {
    evaluations++;
    const value = objective(point);
    return Number.isFinite(value) ? value : Infinity;
  };

  const vertices = initialSimplex(start, options.initialStep ?? 0.5);
  const values = vertices.map(evaluate);
  const order = vertices.map((_, index) => index);
  const centroid = new Float64Array(dimension);
  const reflected = new Float64Array(dimension);
  const trial = new Float64Array(dimension);

  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    order.sort((p, q) => values[p] - values[q] || p - q);
    const best = order[0];
    const worst = order[dimension];
    if (hasConverged(vertices, values, order, xTolerance, fTolerance)) {
      converged = true;
      break;
    }
    iterations++;
    centroidWithout(vertices, worst, centroid);
    along(centroid, vertices[worst], -REFLECTION, reflected);
    const reflectedValue = evaluate(reflected);

    if (reflectedValue < values[best]) {
      along(centroid, vertices[worst], -EXPANSION, trial);
      const expandedValue = evaluate(trial);
      if (expandedValue < reflectedValue) replace(vertices, values, worst, trial, expandedValue);
      else replace(vertices, values, worst, reflected, reflectedValue);
      continue;
    }
    if (reflectedValue < values[order[dimension - 1]]) {
      replace(vertices, values, worst, reflected, reflectedValue);
      continue;
    }
    // Contract toward the better of the worst vertex and its reflection.
    const outside = reflectedValue < values[worst];
    along(centroid, outside ? reflected : vertices[worst], CONTRACTION, trial);
    const contractedValue = evaluate(trial);
    if (contractedValue < (outside ? reflectedValue : values[worst])) {
      replace(vertices, values, worst, trial, contractedValue);
      continue;
    }
    for (const index of order.slice(1)) {
      along(vertices[best], vertices[index], SHRINK, vertices[index]);
      values[index] = evaluate(vertices[index]);
    }
  }
  order.sort((p, q) => values[p] - values[q] || p - q);
  return { x: Array.from(vertices[order[0]]), value: values[order[0]], iterations, evaluations, converged };
}

function initialSimplex(start: readonly number[], step: number | readonly number[]): Float64Array[] {
  const vertices = [Float64Array.from(start)];
  for (let axis = 0; axis < start.length; axis++) {
    const vertex = Float64Array.from(start);
    vertex[axis] += typeof step === 'number' ? step : step[axis];
    vertices.push(vertex);
  }
  return vertices;
}

function hasConverged(vertices: Float64Array[], values: number[], order: number[], xTolerance: number, fTolerance: number): boolean {
  const best = order[0];
  for (let rank = 1; rank < order.length; rank++) {
    const index = order[rank];
    if (!(Math.abs(values[index] - values[best]) <= fTolerance)) return false;
    for (let axis = 0; axis < vertices[best].length; axis++) {
      if (Math.abs(vertices[index][axis] - vertices[best][axis]) > xTolerance) return false;
    }
  }
  return true;
}

function centroidWithout(vertices: Float64Array[], excluded: number, out: Float64Array): void {
  out.fill(0);
  for (let index = 0; index < vertices.length; index++) {
    if (index === excluded) continue;
    for (let axis = 0; axis < out.length; axis++) out[axis] += vertices[index][axis];
  }
  for (let axis = 0; axis < out.length; axis++) out[axis] /= vertices.length - 1;
}

/** out = from + factor × (toward − from). */
function along(from: Float64Array, toward: Float64Array, factor: number, out: Float64Array): void {
  for (let axis = 0; axis < out.length; axis++) out[axis] = from[axis] + factor * (toward[axis] - from[axis]);
}

function replace(vertices: Float64Array[], values: number[], index: number, point: Float64Array, value: number): void {
  vertices[index].set(point);
  values[index] = value;
}

export interface MultiStartResult {
  x: number[];
  value: number;
  /** The value each start ended at, in start order. */
  startValues: number[];
}

export interface MultiStartOptions {
  maxIterations?: number;
  /** Restarts from the best result (with a small simplex) while that still improves. Default 5. */
  maxRestarts?: number;
}

/**
 * Nelder–Mead from every start; the lowest value wins (the earlier start on a tie) and is then
 * restarted from its own result while that still improves, since a simplex that collapsed
 * along one axis can stall short of the minimum.
 */
export function minimizeFromStarts(
  objective: (x: Float64Array) => number,
  starts: readonly (readonly number[])[],
  options: MultiStartOptions = {},
): MultiStartResult {
  if (starts.length === 0) throw new RangeError('minimizeFromStarts needs at least one start');
  const runs = starts.map((start) => minimizeNelderMead(objective, start, { maxIterations: options.maxIterations }));
  let best = runs[0];
  for (const run of runs) if (run.value < best.value) best = run;
  for (let attempt = 0; attempt < (options.maxRestarts ?? 5); attempt++) {
    const restarted = minimizeNelderMead(objective, best.x, { initialStep: 0.05, maxIterations: options.maxIterations });
    const improved = restarted.value < best.value - 1e-12;
    if (restarted.value <= best.value) best = restarted;
    if (!improved) break;
  }
  return { x: best.x, value: best.value, startValues: runs.map((run) => run.value) };
}
