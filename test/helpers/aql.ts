import { expect } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
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

/**
 * Differential checks of a plan shortcut (index-only or columnar COLLECT):
 * `run` a query in process, and `agrees`: the normal plan's rows equal the
 * naive plan's, and the normal plan's `collect` step has (or has not) `flag`.
 */
export function planAgreement(db: () => Database, flag: 'index_only' | 'columnar') {
  const run = async (query: string, bind_vars: Record<string, AqlValue> = {}, txn?: string, naive = false) => {
    const r = await db().get(Aql).run({ query, bind_vars }, txn, { naive });
    if (!('entities' in r)) throw new Error('no entities');
    return { rows: r.entities, plan: r.plan };
  };
  const flagged = (plan: Record<string, unknown>) =>
    (plan.steps as ({ type: string } & Record<string, unknown>)[]).some((s) => s.type === 'collect' && s[flag] === true);
  const agrees = async (query: string, bind: Record<string, AqlValue> = {}, expectFlag: boolean | null = true, txn?: string) => {
    const fast = await run(query, bind, txn);
    const naive = await run(query, bind, txn, true);
    expect(fast.rows, query).toEqual(naive.rows);
    if (expectFlag !== null) expect(flagged(fast.plan), `${flag} for ${query}`).toBe(expectFlag);
    return fast.rows;
  };
  return { run, agrees };
}
