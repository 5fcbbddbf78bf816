/**
 * What the AQL function families share: ArangoDB-style warnings for a bad
 * argument (the function returns null), argument coercion, and charging
 * the query's governor for what a function builds.
 */
import type { AqlValue } from '../ast.js';
import { loopWith, sizeOf, type Val } from '../governor.js';
import { toNumber, toStringValue } from '../values.js';
import { WarningCodes } from '../warnings.js';
import type { FnContext } from './registry.js';

/**
 * Records a warning `FN(): message` with ArangoDB's number `code` (by
 * default 1542, "invalid argument type in call to function") and returns
 * null, the function's result.
 */
export function warn(ctx: FnContext, fn: string, message: string, code: number = WarningCodes.INVALID_ARGUMENT_TYPE): null {
  ctx.warn?.(`${fn}(): ${message}`, code);
  return null;
}

export function invalidArg(ctx: FnContext, fn: string): null {
  return warn(ctx, fn, 'invalid argument type', WarningCodes.INVALID_ARGUMENT_TYPE);
}

export function str(v: AqlValue | undefined): string {
  return typeof v === 'string' ? v : toStringValue(v);
}

/**
 * TO_STRING of an argument: an array or object is measured (charged, and
 * refused when nested too deeply) before it is serialised to JSON.
 */
export function strOf(v: AqlValue | undefined, ctx: FnContext): string {
  if (typeof v === 'string') return v;
  const gov = ctx.gov;
  if (v !== null && typeof v === 'object' && gov !== undefined) gov.charge(sizeOf(v, gov.maxDepth, ctx.texts));
  return toStringValue(v);
}

export function charge(ctx: FnContext, bytes: number): void {
  ctx.gov?.charge(bytes);
}

/** A governed loop (see Governor.loop). */
export function loop(ctx: FnContext, n: number, body: (i: number) => unknown, done: () => Val, every?: number): Val {
  return loopWith(ctx.gov, n, body, done, every);
}

/** Bytes of a Set/Map entry keyed by a hash string. */
export function hashEntryBytes(h: string): number {
  return 40 + 2 * h.length;
}

export function num(v: AqlValue | undefined): number {
  return typeof v === 'number' ? v : toNumber(v);
}

export function int(v: AqlValue | undefined): number {
  return Math.trunc(num(v));
}
