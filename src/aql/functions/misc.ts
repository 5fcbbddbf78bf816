/**
 * Miscellaneous AQL functions: NOT_NULL/COALESCE, FIRST_LIST,
 * FIRST_DOCUMENT, ASSERT and WARN.
 */
import { ThemisError } from '../../errors.js';
import { isObject, truthy } from '../values.js';
import { strOf } from './helpers.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The miscellaneous functions, for index.ts to register. */
export const MISC_FUNCTIONS: FunctionTable = table;

def(['NOT_NULL', 'COALESCE'], 1, Infinity, (a, ctx) => {
  for (const v of a) if (v !== null && v !== undefined) return v;
  return null;
});
def('FIRST_LIST', 1, Infinity, (a, ctx) => {
  for (const v of a) if (Array.isArray(v)) return v;
  return null;
});
def('FIRST_DOCUMENT', 1, Infinity, (a, ctx) => {
  for (const v of a) if (isObject(v)) return v;
  return null;
});
def('ASSERT', 2, 2, (a, ctx) => {
  if (!truthy(a[0])) throw new ThemisError('VALIDATION_FAILED', `assertion failed: ${strOf(a[1], ctx)}`);
  return true;
});
def('WARN', 2, 2, (a, ctx) => {
  if (truthy(a[0])) return true;
  ctx.warn?.(strOf(a[1], ctx));
  return false;
});
