/**
 * AQL bit functions (ArangoDB 3.12): numbers as bitsets of up to 32
 * members. Inputs must be numbers 0..2^32-1 (fractions are cut off; bit
 * counts and shifts 0..32, bit positions 0..31); anything else is null
 * with a warning.
 */
import type { AqlValue } from '../ast.js';
import { invalidArg } from './helpers.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The bit functions, for index.ts to register. */
export const BIT_FUNCTIONS: FunctionTable = table;

const MAX = 0xffffffff;

/** A number >= 0 truncated to an integer in lo..hi (ArangoDB converts with getNumber<uint64_t>), or undefined. */
function intIn(v: AqlValue | undefined, lo: number, hi: number): number | undefined {
  if (typeof v !== 'number' || !(v >= 0)) return undefined;
  const n = Math.trunc(v);
  return n >= lo && n <= hi ? n : undefined;
}

function mask(bits: number): number {
  return bits >= 32 ? MAX : 2 ** bits - 1;
}

/** `x & y` etc. on unsigned 32-bit values. */
function combine(op: 'and' | 'or' | 'xor', x: number, y: number): number {
  switch (op) {
    case 'and':
      return (x & y) >>> 0;
    case 'or':
      return (x | y) >>> 0;
    case 'xor':
      return (x ^ y) >>> 0;
  }
}

function bitCombine(name: string, op: 'and' | 'or' | 'xor'): void {
  def(name, 1, 2, (a, ctx) => {
    // warning: ArangoDB 1542 (function argument type mismatch) for every bad input below
    if (a.length === 2) {
      const x = intIn(a[0], 0, MAX);
      const y = intIn(a[1], 0, MAX);
      return x === undefined || y === undefined ? invalidArg(ctx, name) : combine(op, x, y);
    }
    const arr = a[0];
    if (!Array.isArray(arr)) return invalidArg(ctx, name);
    let result: number | undefined;
    for (const v of arr) {
      if (v === null) continue;
      const x = intIn(v, 0, MAX);
      if (x === undefined) return invalidArg(ctx, name);
      result = result === undefined ? x : combine(op, result, x);
    }
    return result ?? null;
  });
}
bitCombine('BIT_AND', 'and');
bitCombine('BIT_OR', 'or');
bitCombine('BIT_XOR', 'xor');

def('BIT_NEGATE', 2, 2, (a, ctx) => {
  const x = intIn(a[0], 0, MAX);
  const bits = intIn(a[1], 0, 32);
  // warning: ArangoDB 1542
  if (x === undefined || bits === undefined) return invalidArg(ctx, 'BIT_NEGATE');
  return (~x & mask(bits)) >>> 0;
});

def('BIT_TEST', 2, 2, (a, ctx) => {
  const x = intIn(a[0], 0, MAX);
  const i = intIn(a[1], 0, 31);
  // warning: ArangoDB 1542
  if (x === undefined || i === undefined) return invalidArg(ctx, 'BIT_TEST');
  return ((x >>> i) & 1) === 1;
});

def('BIT_POPCOUNT', 1, 1, (a, ctx) => {
  let x = intIn(a[0], 0, MAX);
  // warning: ArangoDB 1542
  if (x === undefined) return invalidArg(ctx, 'BIT_POPCOUNT');
  let n = 0;
  while (x !== 0) {
    n += x & 1;
    x >>>= 1;
  }
  return n;
});

function shiftFn(name: string, left: boolean): void {
  def(name, 3, 3, (a, ctx) => {
    const x = intIn(a[0], 0, MAX);
    const shift = intIn(a[1], 0, 32);
    const bits = intIn(a[2], 0, 32);
    // warning: ArangoDB 1542
    if (x === undefined || shift === undefined || bits === undefined) return invalidArg(ctx, name);
    const shifted = left ? x * 2 ** shift : Math.floor(x / 2 ** shift);
    return shifted % 2 ** bits;
  });
}
shiftFn('BIT_SHIFT_LEFT', true);
shiftFn('BIT_SHIFT_RIGHT', false);

def('BIT_CONSTRUCT', 1, 1, (a, ctx) => {
  const arr = a[0];
  // warning: ArangoDB 1542
  if (!Array.isArray(arr)) return invalidArg(ctx, 'BIT_CONSTRUCT');
  let result = 0;
  for (const v of arr) {
    const p = intIn(v, 0, 31);
    if (p === undefined) return invalidArg(ctx, 'BIT_CONSTRUCT');
    result = (result | (1 << p)) >>> 0;
  }
  return result;
});

def('BIT_DECONSTRUCT', 1, 1, (a, ctx) => {
  const x = intIn(a[0], 0, MAX);
  // warning: ArangoDB 1542
  if (x === undefined) return invalidArg(ctx, 'BIT_DECONSTRUCT');
  const out: number[] = [];
  for (let i = 0; i < 32; i++) if ((x >>> i) & 1) out.push(i);
  return out;
});

def('BIT_TO_STRING', 2, 2, (a, ctx) => {
  const x = intIn(a[0], 0, MAX);
  const bits = intIn(a[1], 0, 32);
  // warning: ArangoDB 1542
  if (x === undefined || bits === undefined) return invalidArg(ctx, 'BIT_TO_STRING');
  let s = '';
  for (let i = bits - 1; i >= 0; i--) s += (x >>> i) & 1 ? '1' : '0';
  return s;
});

def('BIT_FROM_STRING', 1, 1, (a, ctx) => {
  const s = a[0];
  // warning: ArangoDB 1542 for anything but a string of at most 32 '0'/'1' characters
  if (typeof s !== 'string' || s.length > 32 || !/^[01]*$/.test(s)) return invalidArg(ctx, 'BIT_FROM_STRING');
  return s === '' ? 0 : Number.parseInt(s, 2);
});
