/**
 * AQL numeric functions: arithmetic and trigonometry (a result that is not
 * a finite number is null), RAND, and RANGE with the integer range the
 * `a..b` operator shares.
 */
import { ThemisError } from '../../errors.js';
import { type Governor, loopWith, STOP, type Val } from '../governor.js';
import { numberOrNull } from '../values.js';
import { charge, int, loop, num, warn } from './helpers.js';
import type { AqlFunction } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The numeric functions, for index.ts to register. */
export const NUMERIC_FUNCTIONS: FunctionTable = table;

function unaryMath(f: (x: number) => number): AqlFunction {
  return (a, ctx) => numberOrNull(f(num(a[0])));
}

def('ABS', 1, 1, unaryMath(Math.abs));
def('CEIL', 1, 1, unaryMath(Math.ceil));
def('FLOOR', 1, 1, unaryMath(Math.floor));
def('ROUND', 1, 1, unaryMath(Math.round)); // half up: ROUND(-2.5) == -2 as in ArangoDB
def('SQRT', 1, 1, unaryMath(Math.sqrt));
def('EXP', 1, 1, unaryMath(Math.exp));
def(
  'EXP2',
  1,
  1,
  unaryMath((x) => 2 ** x),
);
def(
  'LOG',
  1,
  1,
  unaryMath((x) => (x <= 0 ? NaN : Math.log(x))),
);
def(
  'LOG2',
  1,
  1,
  unaryMath((x) => (x <= 0 ? NaN : Math.log2(x))),
);
def(
  'LOG10',
  1,
  1,
  unaryMath((x) => (x <= 0 ? NaN : Math.log10(x))),
);
def('SIN', 1, 1, unaryMath(Math.sin));
def('COS', 1, 1, unaryMath(Math.cos));
def('TAN', 1, 1, unaryMath(Math.tan));
def('ASIN', 1, 1, unaryMath(Math.asin));
def('ACOS', 1, 1, unaryMath(Math.acos));
def('ATAN', 1, 1, unaryMath(Math.atan));
def('ATAN2', 2, 2, (a, ctx) => numberOrNull(Math.atan2(num(a[0]), num(a[1]))));
def(
  'RADIANS',
  1,
  1,
  unaryMath((x) => (x * Math.PI) / 180),
);
def(
  'DEGREES',
  1,
  1,
  unaryMath((x) => (x * 180) / Math.PI),
);
def('PI', 0, 0, () => Math.PI);
def('POW', 2, 2, (a, ctx) => numberOrNull(num(a[0]) ** num(a[1])));
def(['RAND', 'RANDOM'], 0, 0, () => Math.random());

def(
  'RANGE',
  2,
  3,
  (a, ctx) => {
    if (a.length < 3 || a[2] === null) {
      const from = int(a[0]);
      const to = int(a[1]);
      return integerRange(from, to, ctx.gov);
    }
    const from = num(a[0]);
    const to = num(a[1]);
    const step = num(a[2]);
    if (step === 0 || (from < to && step < 0) || (from > to && step > 0)) return warn(ctx, 'RANGE', 'invalid step');
    if (Math.abs((to - from) / step) + 1 > MAX_RANGE) throw rangeTooLarge();
    const n = Math.floor(Math.abs((to - from) / step)) + 1;
    charge(ctx, 16 + 8 * n);
    const out: number[] = [];
    let x = from;
    return loop(
      ctx,
      n + 1,
      () => {
        if (step > 0 ? x > to : x < to) return STOP;
        out.push(x);
        x += step;
        return undefined;
      },
      () => out,
      65536,
    );
  },
  true,
);

/** The most elements a range (operator `a..b` or RANGE()) may produce. */
export const MAX_RANGE = 10_000_000;

export function rangeTooLarge(): ThemisError {
  return new ThemisError('VALIDATION_FAILED', `range too large: at most ${MAX_RANGE} elements`, { details: { max: MAX_RANGE } });
}

/**
 * Integers from..to inclusive (descending when from > to); throws past
 * MAX_RANGE elements. Charged before it is allocated, filled in governed
 * chunks.
 */
export function integerRange(from: number, to: number, gov?: Governor): Val {
  const n = Math.abs(to - from) + 1;
  if (!(n <= MAX_RANGE)) throw rangeTooLarge();
  gov?.charge(16 + 8 * n);
  const out = new Array<number>(n);
  const up = from <= to;
  const CHUNK = 65536;
  return loopWith(
    gov,
    Math.ceil(n / CHUNK),
    (c) => {
      const end = Math.min(n, (c + 1) * CHUNK);
      if (up) for (let i = c * CHUNK; i < end; i++) out[i] = from + i;
      else for (let i = c * CHUNK; i < end; i++) out[i] = from - i;
    },
    () => out,
    1,
  );
}
