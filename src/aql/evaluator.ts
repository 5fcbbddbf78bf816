/**
 * The AQL expression evaluator: one `Expr` (see ast.ts) against a variable
 * scope, bind parameters and the function context. It runs once per row in
 * queries over large collections, so it is a single switch on `type` with no
 * per-call closures, and it reports errors by throwing ThemisError (never
 * uses exceptions for control flow).
 *
 * Semantics (ArangoDB):
 * - attribute / index access on a non-object (non-array) gives null;
 *   `array[i]` counts negative positions from the end; `object[k]` looks
 *   up `TO_STRING(k)`;
 * - `a AND b` is `a` when `a` is falsy, else `b`; `a OR b` is `a` when `a` is
 *   truthy, else `b` (short-circuit: the other side is not evaluated);
 * - arithmetic via TO_NUMBER, `x / 0` and `x % 0` give null;
 * - `[*]` on a non-array gives []; `[**]` (flatten = n) first flattens the
 *   input n levels (as ArangoDB does); then each element passes the inline
 *   FILTER, then LIMIT, then the projection `map` (inline RETURN or trailing
 *   path) with the element bound to `var` (and to CURRENT).
 */
import { ThemisError } from '../errors.js';
import type { AqlValue, Expr, Pos } from './ast.js';
import { collectionBindKey } from './analyze.js';
import { checkFunction, ENGINE_FUNCTIONS, flattenArray, FUNCTIONS, integerRange, type FnContext } from './functions.js';
import {
  type AqlObject,
  arithmetic,
  compare,
  equals,
  getAttribute,
  inArray,
  like,
  negate,
  numberOrNull,
  numberToString,
  regexMatch,
  setAttribute,
  toNumber,
  toStringValue,
  truthy,
} from './values.js';

/** Variables visible to an expression. `undefined` means "not defined"; AQL null is `null`. */
export interface Scope {
  get(name: string): AqlValue | undefined;
}

export interface EvalContext {
  /** bind_vars (`@name`). */
  bind: Readonly<Record<string, AqlValue>>;
  /** Results of `subquery` nodes for the current row, precomputed by the executor. */
  subqueries?: Map<Expr, AqlValue>;
  fn: FnContext;
  /**
   * Implements ENGINE_FUNCTIONS (FULLTEXT, BM25, SIMILARITY, NEAR, DOCUMENT).
   * Arguments are evaluated first, except that a bare identifier naming no
   * variable (`FULLTEXT(articles, ...)`) is passed as its name string, and
   * `@@coll` as its bind value; `expr` is the call node.
   */
  engineCall?: (name: string, args: AqlValue[], expr: Expr) => AqlValue;
}

/** A scope with no variables. */
export const EMPTY_SCOPE: Scope = { get: () => undefined };

/**
 * Variables layered over an outer scope. A layer holds its names and values
 * in two small parallel arrays (a linear scan over a few interned names is
 * faster than a Map); an executor can keep one layer per pipeline stage and
 * re-`set` it for each row instead of allocating.
 */
export class VarScope implements Scope {
  private readonly names: string[] = [];
  private readonly values: AqlValue[] = [];

  constructor(readonly parent: Scope = EMPTY_SCOPE) {}

  /** Binds (or re-binds) `name` in this layer. */
  set(name: string, value: AqlValue): this {
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === name) {
        this.values[i] = value;
        return this;
      }
    }
    names.push(name);
    this.values.push(value);
    return this;
  }

  get(name: string): AqlValue | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.values[i];
    return this.parent.get(name);
  }

  /** Whether `name` is bound in this layer itself. */
  has(name: string): boolean {
    return this.names.includes(name);
  }

  /** A new empty layer over this one. */
  child(): VarScope {
    return new VarScope(this);
  }
}

/** A scope holding `vars`, layered over `parent`. */
export function scopeOf(vars: Readonly<Record<string, AqlValue>>, parent: Scope = EMPTY_SCOPE): VarScope {
  const s = new VarScope(parent);
  for (const k of Object.keys(vars)) s.set(k, vars[k]!);
  return s;
}

/** The scope of one array-expansion element: the iteration variable (and CURRENT) over the outer scope. */
class ElementScope implements Scope {
  value: AqlValue = null;
  constructor(
    private readonly name: string,
    private readonly parent: Scope,
  ) {}
  get(n: string): AqlValue | undefined {
    return n === this.name || n === 'CURRENT' ? this.value : this.parent.get(n);
  }
}

const hasOwn = Object.prototype.hasOwnProperty;
const INTEGER_STRING = /^\s*[+-]?\d+\s*$/;

function at(pos: Pos | undefined): Record<string, unknown> {
  return pos ? { line: pos.line, column: pos.column } : {};
}

function str(v: AqlValue): string {
  return typeof v === 'string' ? v : toStringValue(v);
}

/** Evaluates an expression. */
export function evaluate(e: Expr, scope: Scope, ctx: EvalContext): AqlValue {
  switch (e.type) {
    case 'literal':
      return e.value;

    case 'var': {
      const v = scope.get(e.name);
      if (v === undefined) {
        throw new ThemisError('VALIDATION_FAILED', `unknown variable '${e.name}'`, { details: { variable: e.name, ...at(e.pos) } });
      }
      return v;
    }

    case 'attr': {
      const o = evaluate(e.object, scope, ctx);
      if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
      return getAttribute(o, e.name);
    }

    case 'binary':
      return evaluateBinary(e, scope, ctx);

    case 'bind': {
      const bind = ctx.bind;
      if (!hasOwn.call(bind, e.name)) {
        throw new ThemisError('VALIDATION_FAILED', `bind parameter @${e.name} is missing`, { details: { bind: e.name, ...at(e.pos) } });
      }
      const v = bind[e.name];
      return v === undefined ? null : v;
    }

    case 'index':
      return evaluateIndex(evaluate(e.object, scope, ctx), evaluate(e.index, scope, ctx));

    case 'call':
      return evaluateCall(e, scope, ctx);

    case 'unary': {
      const v = evaluate(e.arg, scope, ctx);
      switch (e.op) {
        case 'NOT':
          return !truthy(v);
        case '-':
          return negate(v);
        case '+':
          return typeof v === 'number' ? v : toNumber(v);
      }
      // exhaustive
      return null;
    }

    case 'ternary': {
      const c = evaluate(e.cond, scope, ctx);
      if (truthy(c)) return e.then === undefined ? c : evaluate(e.then, scope, ctx);
      return evaluate(e.else, scope, ctx);
    }

    case 'array': {
      const items = e.items;
      const out = new Array<AqlValue>(items.length);
      for (let i = 0; i < items.length; i++) out[i] = evaluate(items[i]!, scope, ctx);
      return out;
    }

    case 'object': {
      const out: AqlObject = {};
      const props = e.props;
      for (let i = 0; i < props.length; i++) {
        const p = props[i]!;
        const k = typeof p.key === 'string' ? p.key : str(evaluate(p.key, scope, ctx));
        const v = evaluate(p.value, scope, ctx);
        if (k === '__proto__') setAttribute(out, k, v);
        else out[k] = v;
      }
      return out;
    }

    case 'expand':
      return evaluateExpand(e, scope, ctx);

    case 'subquery': {
      const r = ctx.subqueries?.get(e);
      if (r === undefined) {
        throw new ThemisError('INTERNAL', 'internal error: subquery result was not computed before evaluating its expression', { details: at(e.pos) });
      }
      return r;
    }

    case 'range': {
      const from = Math.trunc(toNumber(evaluate(e.from, scope, ctx)));
      const to = Math.trunc(toNumber(evaluate(e.to, scope, ctx)));
      return integerRange(from, to);
    }

    case 'name': {
      const v = scope.get(e.name);
      if (v !== undefined) return v;
      throw new ThemisError('VALIDATION_FAILED', `collection '${e.name}' cannot be used as a value here`, { details: { collection: e.name, ...at(e.pos) } });
    }

    case 'bindCollection':
      throw new ThemisError('VALIDATION_FAILED', `collection bind parameter @@${e.name} cannot be used as a value here`, { details: { bind: `@${e.name}`, ...at(e.pos) } });
  }
}

/** `truthy(evaluate(e))`, for FILTER conditions. */
export function evaluateCondition(e: Expr, scope: Scope, ctx: EvalContext): boolean {
  return truthy(evaluate(e, scope, ctx));
}

type BinaryExpr = Extract<Expr, { type: 'binary' }>;
type CallExpr = Extract<Expr, { type: 'call' }>;
type ExpandExpr = Extract<Expr, { type: 'expand' }>;

function evaluateBinary(e: BinaryExpr, scope: Scope, ctx: EvalContext): AqlValue {
  const op = e.op;
  if (op === 'AND') {
    const l = evaluate(e.left, scope, ctx);
    return truthy(l) ? evaluate(e.right, scope, ctx) : l;
  }
  if (op === 'OR') {
    const l = evaluate(e.left, scope, ctx);
    return truthy(l) ? l : evaluate(e.right, scope, ctx);
  }
  const l = evaluate(e.left, scope, ctx);
  const r = evaluate(e.right, scope, ctx);
  switch (op) {
    case '==':
      return l === r || equals(l, r);
    case '!=':
      return !(l === r || equals(l, r));
    case '<':
      return typeof l === 'number' && typeof r === 'number' ? l < r : compare(l, r) < 0;
    case '<=':
      return typeof l === 'number' && typeof r === 'number' ? l <= r : compare(l, r) <= 0;
    case '>':
      return typeof l === 'number' && typeof r === 'number' ? l > r : compare(l, r) > 0;
    case '>=':
      return typeof l === 'number' && typeof r === 'number' ? l >= r : compare(l, r) >= 0;
    case '+':
      return typeof l === 'number' && typeof r === 'number' ? numberOrNull(l + r) : arithmetic('+', l, r);
    case '-':
      return typeof l === 'number' && typeof r === 'number' ? numberOrNull(l - r) : arithmetic('-', l, r);
    case '*':
      return typeof l === 'number' && typeof r === 'number' ? numberOrNull(l * r) : arithmetic('*', l, r);
    case '/':
      return arithmetic('/', l, r);
    case '%':
      return arithmetic('%', l, r);
    case 'IN':
      return inArray(l, r);
    case 'NOT IN':
      return !inArray(l, r);
    case 'LIKE':
      return like(str(l), str(r));
    case 'NOT LIKE':
      return !like(str(l), str(r));
    case '=~':
      return regexMatch(str(l), str(r));
    case '!~':
      return !regexMatch(str(l), str(r));
  }
  return null;
}

/** `object[index]`: array positions (negative from the end, numeric strings allowed) or attribute names. */
export function evaluateIndex(o: AqlValue, idx: AqlValue): AqlValue {
  if (o === null || typeof o !== 'object') return null;
  if (Array.isArray(o)) {
    let i: number;
    if (typeof idx === 'number') i = Math.trunc(idx);
    else if (typeof idx === 'string' && INTEGER_STRING.test(idx)) i = Number(idx);
    else return null;
    if (i < 0) i += o.length;
    return i >= 0 && i < o.length ? o[i]! : null;
  }
  if (typeof idx === 'string') return getAttribute(o, idx);
  if (typeof idx === 'number') return getAttribute(o, numberToString(idx));
  return null;
}

function evaluateCall(e: CallExpr, scope: Scope, ctx: EvalContext): AqlValue {
  let name = e.name;
  let d = FUNCTIONS.get(name);
  if (d === undefined) {
    name = name.toUpperCase();
    d = FUNCTIONS.get(name);
  }
  const argExprs = e.args;
  const n = argExprs.length;
  if (d === undefined) {
    if (ENGINE_FUNCTIONS.has(name)) return evaluateEngineCall(name, e, scope, ctx);
    checkFunction(name, n); // throws: unknown function
    throw new ThemisError('INTERNAL', `function ${name}() has no implementation`);
  }
  if (n < d.minArgs || n > d.maxArgs) checkFunction(name, n); // throws: argument count
  const args = new Array<AqlValue>(n);
  for (let i = 0; i < n; i++) args[i] = evaluate(argExprs[i]!, scope, ctx);
  return d.fn(args, ctx.fn);
}

function evaluateEngineCall(name: string, e: CallExpr, scope: Scope, ctx: EvalContext): AqlValue {
  const call = ctx.engineCall;
  if (call === undefined) {
    throw new ThemisError('VALIDATION_FAILED', `function ${name}() is not available in this context`, { details: { function: name, ...at(e.pos) } });
  }
  const argExprs = e.args;
  const args = new Array<AqlValue>(argExprs.length);
  for (let i = 0; i < argExprs.length; i++) {
    const a = argExprs[i]!;
    if ((a.type === 'var' || a.type === 'name') && scope.get(a.name) === undefined) args[i] = a.name;
    else if (a.type === 'bindCollection') {
      // bind_vars hold collection parameters under "@name" (or "name").
      const key = collectionBindKey(ctx.bind, a.name);
      if (key === undefined) {
        throw new ThemisError('VALIDATION_FAILED', `bind parameter @@${a.name} is missing`, { details: { bind: '@' + a.name, ...at(a.pos) } });
      }
      args[i] = ctx.bind[key] ?? null;
    } else args[i] = evaluate(a, scope, ctx);
  }
  return call(name, args, e);
}

function evaluateExpand(e: ExpandExpr, scope: Scope, ctx: EvalContext): AqlValue {
  let arr = evaluate(e.array, scope, ctx);
  if (!Array.isArray(arr)) return [];
  if (e.flatten > 0) arr = flattenArray(arr, e.flatten);
  const filter = e.filter;
  const map = e.map;
  const limit = e.limit;
  if (filter === undefined && map === undefined && limit === undefined) return arr;
  let offset = 0;
  let count = Infinity;
  if (limit !== undefined) {
    offset = Math.max(0, Math.trunc(toNumber(evaluate(limit.offset, scope, ctx))));
    count = Math.max(0, Math.trunc(toNumber(evaluate(limit.count, scope, ctx))));
  }
  const el = new ElementScope(e.var, scope);
  const out: AqlValue[] = [];
  let skipped = 0;
  for (let i = 0; i < arr.length && out.length < count; i++) {
    const item = arr[i]!;
    el.value = item;
    if (filter !== undefined && !truthy(evaluate(filter, el, ctx))) continue;
    if (skipped < offset) {
      skipped++;
      continue;
    }
    out.push(map === undefined ? item : evaluate(map, el, ctx));
  }
  return out;
}
