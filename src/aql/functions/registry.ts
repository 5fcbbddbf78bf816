/**
 * The registry of AQL built-in functions (ArangoDB semantics): definitions
 * by upper-case name, the plan-time name and arity check (with a "did you
 * mean" suggestion), and direct calls.
 *
 * Each family (string.ts, date.ts, ...) fills its own `FunctionTable`
 * through `functionTable()`; index.ts registers the families into
 * `FUNCTIONS` and is what the rest of AQL imports. Functions never mutate
 * their arguments. Where ArangoDB answers a bad argument with `null` plus a
 * query warning, so do these (the warning goes to `ctx.warn` when the
 * caller supplies one); the few cases ArangoDB treats as query errors throw
 * a ThemisError VALIDATION_FAILED.
 *
 * Functions the planner/executor implement (FULLTEXT, BM25, SIMILARITY,
 * NEAR, DOCUMENT, COLLECTIONS, COLLECTION_COUNT) are listed in `ENGINE_FUNCTIONS`: `checkFunction` accepts
 * them and the evaluator hands them to `EvalContext.engineCall`.
 */
import { ThemisError } from '../../errors.js';
import type { AqlValue } from '../ast.js';
import type { StoredTexts } from '../stored-texts.js';
import { type Governor, Pending, type Val } from '../governor.js';
import { editDistance } from './edit-distance.js';

/** What every function may use from its surroundings. */
export interface FnContext {
  /** Current time in ms since the epoch (DATE_NOW; injectable for tests). */
  now: () => number;
  /**
   * Receives ArangoDB-style warnings (bad argument → null result) with
   * ArangoDB's warning number (`WarningCodes` in ../warnings.ts).
   */
  warn?: (message: string, code: number) => void;
  /** The query's resource governor (deadline, memory, nesting); absent outside a query. */
  gov?: Governor;
  /** Stored JSON texts of documents (a cheap size estimate for them). */
  texts?: StoredTexts;
  /** The name the request authenticated as (CURRENT_USER(); null or absent without authentication). */
  user?: string | null;
  /** The database the query runs in (CURRENT_DATABASE(); ThemisTS has one, `_system` when absent). */
  database?: string;
}

/** A built-in: its value, or a Pending one when a governed loop inside gave the event loop a turn. */
export type AqlFunction = (args: AqlValue[], ctx: FnContext) => Val;

export interface FunctionDef {
  readonly minArgs: number;
  /** `Infinity` for variadic functions. */
  readonly maxArgs: number;
  readonly fn: AqlFunction;
  /** Charges the governor for what it builds while it builds it (else the evaluator charges the result's shallow size). */
  readonly charges?: boolean;
}

/** Functions the planner/executor implement; the evaluator calls `EvalContext.engineCall` for them. */
export const ENGINE_FUNCTIONS: ReadonlySet<string> = new Set([
  'FULLTEXT',
  'BM25',
  'SIMILARITY',
  'NEAR',
  'DOCUMENT',
  'COLLECTIONS',
  'COLLECTION_COUNT',
]);

/** Argument counts of the engine functions whose counts are fixed (checked at plan time; the others check their own). */
const ENGINE_ARITY: Readonly<Record<string, { readonly minArgs: number; readonly maxArgs: number }>> = {
  COLLECTIONS: { minArgs: 0, maxArgs: 0 },
  COLLECTION_COUNT: { minArgs: 1, maxArgs: 1 },
};

/** Defines a function under one or more upper-case names (aliases). */
export type Define = (names: string | string[], minArgs: number, maxArgs: number, fn: AqlFunction, charges?: boolean) => void;

/** One family's functions by upper-case name. */
export type FunctionTable = ReadonlyMap<string, FunctionDef>;

/** A family's table and the `def` that fills it. */
export function functionTable(): { table: FunctionTable; def: Define } {
  const table = new Map<string, FunctionDef>();
  const def: Define = (names, minArgs, maxArgs, fn, charges = false) => {
    for (const name of Array.isArray(names) ? names : [names]) {
      if (table.has(name)) throw new TypeError(`AQL function ${name}() is defined twice`);
      table.set(name, { minArgs, maxArgs, fn, charges });
    }
  };
  return { table, def };
}

const registry = new Map<string, FunctionDef>();

/** All built-in functions by upper-case name (index.ts registers the families). */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = registry;

/**
 * Adds a family's functions to FUNCTIONS. A name that is already there (from
 * another family, or an engine function) is a programmer error: which
 * definition won would depend on the order of registration.
 */
export function registerFunctions(table: FunctionTable): void {
  for (const [name, d] of table) {
    if (registry.has(name) || ENGINE_FUNCTIONS.has(name)) throw new TypeError(`AQL function ${name}() is defined twice`);
    registry.set(name, d);
  }
}

// ---------------------------------------------------------------------------
// Name / arity checks

function plural(n: number): string {
  return n === 1 ? 'argument' : 'arguments';
}

function arityText(d: Pick<FunctionDef, 'minArgs' | 'maxArgs'>): string {
  if (d.maxArgs === Infinity) return `at least ${d.minArgs} ${plural(d.minArgs)}`;
  if (d.minArgs === d.maxArgs) return `${d.minArgs} ${plural(d.minArgs)}`;
  return `between ${d.minArgs} and ${d.maxArgs} arguments`;
}

/** The closest known function name, if one is close enough to be a likely typo. */
export function suggestFunction(name: string): string | undefined {
  const upper = name.toUpperCase();
  let best: string | undefined;
  let bestD = Infinity;
  const consider = (candidate: string): void => {
    const d = editDistance(upper, candidate);
    if (d < bestD || (d === bestD && best !== undefined && candidate < best)) {
      bestD = d;
      best = candidate;
    }
  };
  for (const k of registry.keys()) consider(k);
  for (const k of ENGINE_FUNCTIONS) consider(k);
  const limit = Math.max(1, Math.min(3, Math.floor(upper.length / 3)));
  return bestD <= limit ? best : undefined;
}

/**
 * Plan-time check of a call: throws VALIDATION_FAILED for an unknown
 * function (`unknown function FOO()`, with a "did you mean" suggestion when
 * one is close) or a wrong argument count. Engine functions are accepted
 * with any argument count (their implementer checks those).
 */
export function checkFunction(name: string, argc: number): void {
  const upper = name.toUpperCase();
  if (ENGINE_FUNCTIONS.has(upper)) {
    const a = ENGINE_ARITY[upper];
    if (a !== undefined) checkArity(upper, a, argc);
    return;
  }
  const d = registry.get(upper);
  if (d === undefined) {
    const suggestion = suggestFunction(upper);
    throw new ThemisError('VALIDATION_FAILED', `unknown function ${upper}()${suggestion ? ` (did you mean ${suggestion}()?)` : ''}`, {
      details: suggestion ? { function: upper, suggestion } : { function: upper },
    });
  }
  checkArity(upper, d, argc);
}

function checkArity(name: string, d: Pick<FunctionDef, 'minArgs' | 'maxArgs'>, argc: number): void {
  if (argc < d.minArgs || argc > d.maxArgs) {
    throw new ThemisError('VALIDATION_FAILED', `function ${name}() expects ${arityText(d)}, got ${argc}`, {
      details: { function: name, minArgs: d.minArgs, maxArgs: d.maxArgs === Infinity ? null : d.maxArgs, got: argc },
    });
  }
}

/** Calls a built-in function by name, checking that it exists and its argument count (synchronously: without a yielding governor). */
export function callFunction(name: string, args: AqlValue[], ctx: FnContext): AqlValue {
  const d = registry.get(name);
  if (d === undefined) {
    checkFunction(name, args.length); // throws
    throw new ThemisError('INTERNAL', `function ${name}() must be evaluated by the query engine`);
  }
  if (args.length < d.minArgs || args.length > d.maxArgs) checkArity(name, d, args.length);
  const r = d.fn(args, ctx);
  if (r instanceof Pending) throw new TypeError(`${name}() suspended; call it through the evaluator`);
  return r;
}
