/**
 * AQL aggregate and statistics functions over arrays: MIN, MAX, SUM,
 * PRODUCT, AVERAGE, MEDIAN, VARIANCE*, STDDEV* and PERCENTILE.
 */
import type { AqlValue } from '../ast.js';
import { andThen, sortWith, STOP, type Val } from '../governor.js';
import { compare, numberOrNull } from '../values.js';
import { charge, invalidArg, loop, num, strOf, warn } from './helpers.js';
import type { AqlFunction, FnContext } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The aggregate and statistics functions, for index.ts to register. */
export const STATISTICS_FUNCTIONS: FunctionTable = table;

/** The numbers of an array (nulls skipped) for `done`, or null (with a warning) when another type is in it. */
function numbersOf(ctx: FnContext, fn: string, v: AqlValue | undefined, done: (xs: number[]) => Val): Val {
  if (!Array.isArray(v)) return invalidArg(ctx, fn);
  const out: number[] = [];
  charge(ctx, 16 + 16 * v.length); // built by push: its capacity can be twice its length
  let bad = false;
  return loop(
    ctx,
    v.length,
    (i) => {
      const x = v[i];
      if (x === null) return undefined;
      if (typeof x !== 'number') {
        bad = true;
        return STOP;
      }
      out.push(x);
      return undefined;
    },
    () => (bad ? invalidArg(ctx, fn) : done(out)),
    4096,
  );
}

// Aggregates over arrays: null elements are ignored.

def('MIN', 1, 1, (a, ctx) => {
  const v = a[0];
  if (!Array.isArray(v)) return invalidArg(ctx, 'MIN');
  let best: AqlValue = null;
  return loop(
    ctx,
    v.length,
    (i) => {
      const x = v[i]!;
      if (x !== null && (best === null || compare(x, best) < 0)) best = x;
    },
    () => best,
  );
});

def('MAX', 1, 1, (a, ctx) => {
  const v = a[0];
  if (!Array.isArray(v)) return invalidArg(ctx, 'MAX');
  let best: AqlValue = null;
  return loop(
    ctx,
    v.length,
    (i) => {
      const x = v[i]!;
      if (x !== null && (best === null || compare(x, best) > 0)) best = x;
    },
    () => best,
  );
});

def('SUM', 1, 1, (a, ctx) =>
  numbersOf(ctx, 'SUM', a[0], (xs) => {
    let s = 0;
    for (const x of xs) s += x;
    return numberOrNull(s);
  }),
);

def('PRODUCT', 1, 1, (a, ctx) =>
  numbersOf(ctx, 'PRODUCT', a[0], (xs) => {
    let p = 1;
    for (const x of xs) p *= x;
    return numberOrNull(p);
  }),
);

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

def(['AVERAGE', 'AVG'], 1, 1, (a, ctx) => numbersOf(ctx, 'AVERAGE', a[0], (xs) => (xs.length === 0 ? null : numberOrNull(mean(xs)))));

def('MEDIAN', 1, 1, (a, ctx) =>
  numbersOf(ctx, 'MEDIAN', a[0], (xs) => {
    if (xs.length === 0) return null;
    return andThen(sortWith(ctx.gov, xs, (x, y) => x - y) as Val, () => {
      const mid = xs.length >> 1;
      return numberOrNull(xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2);
    });
  }),
);

function variance(xs: number[], sample: boolean): number | null {
  const n = xs.length;
  if (n === 0 || (sample && n < 2)) return null;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return numberOrNull(s / (sample ? n - 1 : n));
}

function varianceFn(name: string, sample: boolean, sqrt: boolean): AqlFunction {
  return (a, ctx) =>
    numbersOf(ctx, name, a[0], (xs) => {
      const v = variance(xs, sample);
      return v === null ? null : sqrt ? numberOrNull(Math.sqrt(v)) : v;
    });
}
def(['VARIANCE_POPULATION', 'VARIANCE'], 1, 1, varianceFn('VARIANCE_POPULATION', false, false));
def('VARIANCE_SAMPLE', 1, 1, varianceFn('VARIANCE_SAMPLE', true, false));
def(['STDDEV_POPULATION', 'STDDEV'], 1, 1, varianceFn('STDDEV_POPULATION', false, true));
def('STDDEV_SAMPLE', 1, 1, varianceFn('STDDEV_SAMPLE', true, true));

def('PERCENTILE', 2, 3, (a, ctx) =>
  numbersOf(ctx, 'PERCENTILE', a[0], (xs) => {
    if (xs.length === 0) return null;
    const p = num(a[1]);
    if (!(p > 0 && p <= 100)) return warn(ctx, 'PERCENTILE', 'percentile must be greater than 0 and at most 100');
    const method = a.length > 2 && a[2] !== null ? strOf(a[2], ctx) : 'rank';
    if (method !== 'rank' && method !== 'interpolation') return warn(ctx, 'PERCENTILE', "method must be 'rank' or 'interpolation'");
    return andThen(sortWith(ctx.gov, xs, (x, y) => x - y) as Val, () => {
      if (method === 'rank') {
        const idx = Math.ceil((p / 100) * xs.length) - 1;
        return xs[Math.max(0, Math.min(xs.length - 1, idx))]!;
      }
      const pos = (p / 100) * (xs.length + 1) - 1;
      if (pos <= 0) return xs[0]!;
      if (pos >= xs.length - 1) return xs[xs.length - 1]!;
      const lo = Math.floor(pos);
      return numberOrNull(xs[lo]! + (pos - lo) * (xs[lo + 1]! - xs[lo]!));
    });
  }),
);
