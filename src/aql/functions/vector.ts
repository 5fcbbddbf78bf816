/**
 * AQL vector and scoring functions (ArangoDB 3.9+): COSINE_SIMILARITY,
 * L1_DISTANCE, L2_DISTANCE (vector against vector, or a matrix of rows
 * against a vector) and the decay functions DECAY_GAUSS, DECAY_EXP,
 * DECAY_LINEAR.
 */
import type { AqlValue } from '../ast.js';
import { numberOrNull } from '../values.js';
import { WarningCodes } from '../warnings.js';
import { charge, invalidArg, loop, warn } from './helpers.js';
import type { FnContext } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The vector and decay functions, for index.ts to register. */
export const VECTOR_FUNCTIONS: FunctionTable = table;

type Metric = (x: readonly number[], y: readonly number[]) => number | null;

/** One distance of two equally long numeric vectors, or null with a warning. */
function vectorDistance(ctx: FnContext, name: string, x: AqlValue[], y: AqlValue[], metric: Metric): number | null {
  // warning: ArangoDB 1542 (function argument type mismatch) for unequal lengths or non-numbers
  if (x.length !== y.length) return invalidArg(ctx, name);
  for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number' || typeof y[i] !== 'number') return invalidArg(ctx, name);
  return metric(x as number[], y as number[]);
}

function distanceFn(name: string, metric: (ctx: FnContext) => Metric): void {
  def(
    name,
    2,
    2,
    (a, ctx) => {
      const x = a[0];
      const y = a[1];
      // warning: ArangoDB 1542 for non-arrays or empty arrays
      if (!Array.isArray(x) || !Array.isArray(y) || x.length === 0 || y.length === 0) return invalidArg(ctx, name);
      const m = metric(ctx);
      if (!Array.isArray(x[0]) && !Array.isArray(y[0])) return vectorDistance(ctx, name, x, y, m);
      // One side is a matrix: a distance per row.
      const [matrix, vector] = Array.isArray(x[0]) ? [x, y] : [y, x];
      charge(ctx, 16 + 8 * matrix.length);
      const out: number[] = [];
      let bad = false;
      return loop(
        ctx,
        matrix.length,
        (i) => {
          if (bad) return;
          const row = matrix[i];
          if (!Array.isArray(row)) {
            bad = true;
            invalidArg(ctx, name);
            return;
          }
          const d = vectorDistance(ctx, name, row, vector, m);
          if (d === null) bad = true;
          else out.push(d);
        },
        () => (bad ? null : out),
      );
    },
    true,
  );
}

distanceFn('COSINE_SIMILARITY', (ctx) => (x, y) => {
  let dot = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i]! * y[i]!;
    xx += x[i]! * x[i]!;
    yy += y[i]! * y[i]!;
  }
  const denominator = Math.sqrt(xx) * Math.sqrt(yy);
  // warning: ArangoDB 1561 (invalid arithmetic value) for a zero vector
  if (denominator === 0) return warn(ctx, 'COSINE_SIMILARITY', 'invalid arithmetic value', WarningCodes.INVALID_ARITHMETIC_VALUE);
  return numberOrNull(Math.min(1, Math.max(-1, dot / denominator)));
});

distanceFn('L1_DISTANCE', () => (x, y) => {
  let d = 0;
  for (let i = 0; i < x.length; i++) d += Math.abs(x[i]! - y[i]!);
  return numberOrNull(d);
});

distanceFn('L2_DISTANCE', () => (x, y) => {
  let d = 0;
  for (let i = 0; i < x.length; i++) d += (x[i]! - y[i]!) ** 2;
  return numberOrNull(Math.sqrt(d));
});

type DecayFactory = (origin: number, scale: number, offset: number, decay: number) => (x: number) => number;

function decayFn(name: string, factory: DecayFactory): void {
  def(name, 5, 5, (a, ctx) => {
    const [value, origin, scale, offset, decay] = a;
    // warning: ArangoDB 1542 (function argument type mismatch) for non-numbers
    if (
      (typeof value !== 'number' && !Array.isArray(value)) ||
      typeof origin !== 'number' ||
      typeof scale !== 'number' ||
      typeof offset !== 'number' ||
      typeof decay !== 'number'
    )
      return invalidArg(ctx, name);
    // warning: ArangoDB 1504 (number out of range)
    if (scale <= 0 || offset < 0 || decay <= 0 || decay >= 1)
      return warn(ctx, name, 'number out of range', WarningCodes.NUMBER_OUT_OF_RANGE);
    const f = factory(origin, scale, offset, decay);
    if (typeof value === 'number') return numberOrNull(f(value));
    const out: AqlValue[] = [];
    for (const v of value) {
      // warning: ArangoDB 1542
      if (typeof v !== 'number') return invalidArg(ctx, name);
      out.push(numberOrNull(f(v)));
    }
    return out;
  });
}

decayFn('DECAY_GAUSS', (origin, scale, offset, decay) => {
  const sigmaSqr = -(scale * scale) / (2 * Math.log(decay));
  return (x) => {
    const d = Math.max(0, Math.abs(x - origin) - offset);
    return Math.exp(-(d * d) / (2 * sigmaSqr));
  };
});

decayFn('DECAY_EXP', (origin, scale, offset, decay) => {
  const lambda = Math.log(decay) / scale;
  return (x) => Math.exp(lambda * Math.max(0, Math.abs(x - origin) - offset));
});

decayFn('DECAY_LINEAR', (origin, scale, offset, decay) => {
  const s = scale / (1 - decay);
  return (x) => {
    const d = Math.max(0, Math.abs(x - origin) - offset);
    return Math.max((s - d) / s, 0);
  };
});
