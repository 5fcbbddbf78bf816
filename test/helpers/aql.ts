import type { AqlValue } from '../../src/aql/ast.js';
import { ThemisError } from '../../src/errors.js';

/** The ThemisError `f` throws (fails the test when it throws something else or nothing). */
export function thrown(f: () => unknown): ThemisError {
  try {
    f();
  } catch (e) {
    if (e instanceof ThemisError) return e;
    throw e;
  }
  throw new Error('expected a ThemisError');
}

/** A document as read from storage: `_key` / `_id` as non-enumerable own properties. */
export function storedDoc(key: string, body: Record<string, AqlValue>): Record<string, AqlValue> {
  const d = { ...body };
  Object.defineProperty(d, '_key', { value: key, enumerable: false });
  Object.defineProperty(d, '_id', { value: `users/${key}`, enumerable: false });
  return d;
}

/** A deep copy without `pos` (most AST expectations ignore positions). */
export function strip<T>(v: T): T {
  if (Array.isArray(v)) return v.map(strip) as T;
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'pos') o[k] = strip(x);
    return o as T;
  }
  return v;
}
