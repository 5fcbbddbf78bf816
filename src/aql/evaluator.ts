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
 * - arithmetic via TO_NUMBER, `x / 0` and `x % 0` give null with warning
 *   1562 (division by zero); an invalid pattern of `=~` / `!~` gives null /
 *   true with warning 1543;
 * - `[*]` on a non-array gives []; `[**]` (flatten = n) first flattens the
 *   input n levels (as ArangoDB does); then each element passes the inline
 *   FILTER, then LIMIT, then the projection `map` (inline RETURN or trailing
 *   path) with the element bound to `var` (and to CURRENT).
 */
import { ThemisError } from '../errors.js';
import type { AqlValue, ArrayCompareOp, Expr, Pos } from './ast.js';
import { collectionBindKey } from './analyze.js';
import {
  arangoLike,
  checkFunction,
  ENGINE_FUNCTIONS,
  flattenArray,
  FUNCTIONS,
  integerRange,
  strOf,
  type FnContext,
  type FunctionDef,
} from './functions/index.js';
import { regexArg } from './functions/regex.js';
import { WarningCodes } from './warnings.js';
import { loopWith, Pending, resolveVal, settle, STOP, andThen, type Val } from './governor.js';
import {
  type AqlObject,
  arithmetic,
  compare,
  equals,
  getAttribute,
  inArray,
  negate,
  numberOrNull,
  numberToString,
  setAttribute,
  toNumber,
  truthy,
} from './values.js';

/** Variables visible to an expression. `undefined` means "not defined"; AQL null is `null`. */
export interface Scope {
  get(name: string): AqlValue | undefined;
}

export interface EvalContext {
  /** bind_vars (`@name`). */
  bind: Readonly<Record<string, AqlValue>>;
  /**
   * Runs a `subquery` node for the variables of `scope` (the executor's).
   * Called only when evaluation reaches the node, so a subquery in an
   * untaken ternary branch or a short-circuited AND/OR operand never runs
   * (ArangoDB 3.12.1+). Usually a Pending (subqueries run asynchronously).
   */
  subquery?: (e: Extract<Expr, { type: 'subquery' }>, scope: Scope) => Val;
  fn: FnContext;
  /**
   * Implements ENGINE_FUNCTIONS (FULLTEXT, BM25, SIMILARITY, NEAR, DOCUMENT, COLLECTIONS, COLLECTION_COUNT).
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
export class ElementScope implements Scope {
  value: AqlValue = null;
  constructor(
    readonly name: string,
    readonly parent: Scope,
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

/**
 * Evaluates an expression synchronously, for callers that cannot await
 * (without a governor, or with one whose `canYield` is false, nothing
 * suspends).
 */
export function evaluate(e: Expr, scope: Scope, ctx: EvalContext): AqlValue {
  const v = evaluateVal(e, scope, ctx);
  if (v instanceof Pending) throw new TypeError('evaluate(): the expression suspended; use evaluateVal() where the governor may yield');
  return v;
}

/**
 * Evaluates an expression. Usually the value itself; a Pending when a
 * governed loop inside (a built-in over a big array, a range, an array
 * expansion) gave the event loop a turn and continues afterwards.
 */
export function evaluateVal(e: Expr, scope: Scope, ctx: EvalContext): Val {
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
      const o = evaluateVal(e.object, scope, ctx);
      if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
      if (o instanceof Pending) return attrLater(o, e.name);
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

    case 'index': {
      const o = evaluateVal(e.object, scope, ctx);
      if (o instanceof Pending) return new Pending(indexLater(e, o, scope, ctx));
      const i = evaluateVal(e.index, scope, ctx);
      if (i instanceof Pending) return new Pending(indexLater(e, o, scope, ctx, i));
      return evaluateIndex(o, i);
    }

    case 'call':
      return evaluateCall(e, scope, ctx);

    case 'unary': {
      const v = evaluateVal(e.arg, scope, ctx);
      if (v instanceof Pending) return unaryLater(e.op, v);
      return unary(e.op, v);
    }

    case 'ternary': {
      const c = evaluateVal(e.cond, scope, ctx);
      if (c instanceof Pending) return new Pending(ternaryLater(e, c, scope, ctx));
      return ternaryRest(e, c, scope, ctx);
    }

    case 'array': {
      const items = e.items;
      ctx.fn.gov?.charge(16 + 8 * items.length);
      const out = new Array<AqlValue>(items.length);
      for (let i = 0; i < items.length; i++) {
        const v = evaluateVal(items[i]!, scope, ctx);
        if (v instanceof Pending) return new Pending(listRest(items, scope, ctx, out, i, v));
        out[i] = v;
      }
      return out;
    }

    case 'object': {
      const out: AqlObject = {};
      const props = e.props;
      ctx.fn.gov?.charge(24 + 16 * props.length);
      for (let i = 0; i < props.length; i++) {
        const p = props[i]!;
        let k: string;
        if (typeof p.key === 'string') k = p.key;
        else {
          const kv = evaluateVal(p.key, scope, ctx);
          if (kv instanceof Pending) return new Pending(objectRest(e, scope, ctx, out, i, kv));
          k = strOf(kv, ctx.fn);
        }
        const v = evaluateVal(p.value, scope, ctx);
        if (v instanceof Pending) return new Pending(objectRest(e, scope, ctx, out, i, k, v));
        if (k === '__proto__') setAttribute(out, k, v);
        else out[k] = v;
      }
      return out;
    }

    case 'expand':
      return evaluateExpand(e, scope, ctx);

    case 'arrayCompare':
      return evaluateArrayCompare(e, scope, ctx);

    case 'subquery': {
      const run = ctx.subquery;
      if (run === undefined) {
        throw new ThemisError('INTERNAL', 'internal error: a subquery cannot run in this context', { details: at(e.pos) });
      }
      return run(e, scope);
    }

    case 'range': {
      const from = evaluateVal(e.from, scope, ctx);
      const to = evaluateVal(e.to, scope, ctx);
      if (from instanceof Pending || to instanceof Pending) return new Pending(rangeLater(from, to, ctx));
      return integerRange(Math.trunc(toNumber(from)), Math.trunc(toNumber(to)), ctx.fn.gov);
    }

    case 'name': {
      const v = scope.get(e.name);
      if (v !== undefined) return v;
      throw new ThemisError('VALIDATION_FAILED', `collection '${e.name}' cannot be used as a value here`, {
        details: { collection: e.name, ...at(e.pos) },
      });
    }

    case 'bindCollection':
      throw new ThemisError('VALIDATION_FAILED', `collection bind parameter @@${e.name} cannot be used as a value here`, {
        details: { bind: `@${e.name}`, ...at(e.pos) },
      });
  }
}

// Continuations after a sub-expression suspended. They live outside the hot functions on
// purpose: a closure in evaluateVal would make V8 allocate a context on every call.

function attributeOf(o: AqlValue, name: string): AqlValue {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
  return getAttribute(o, name);
}

function attrLater(o: Pending, name: string): Pending {
  return new Pending(o.promise.then((x) => attributeOf(x, name)));
}

async function indexLater(e: Extract<Expr, { type: 'index' }>, o: Val, scope: Scope, ctx: EvalContext, i?: Pending): Promise<AqlValue> {
  const ov = await resolveVal(o);
  const iv = i !== undefined ? await i.promise : await resolveVal(evaluateVal(e.index, scope, ctx));
  return evaluateIndex(ov, iv);
}

function unaryLater(op: '-' | '+' | 'NOT', v: Pending): Pending {
  return new Pending(v.promise.then((x) => unary(op, x)));
}

async function ternaryLater(e: Extract<Expr, { type: 'ternary' }>, c: Pending, scope: Scope, ctx: EvalContext): Promise<AqlValue> {
  return resolveVal(ternaryRest(e, await c.promise, scope, ctx));
}

async function rangeLater(from: Val, to: Val, ctx: EvalContext): Promise<AqlValue> {
  const f = await resolveVal(from);
  const t = await resolveVal(to);
  return resolveVal(integerRange(Math.trunc(toNumber(f)), Math.trunc(toNumber(t)), ctx.fn.gov));
}

function binaryLaterLeft(e: BinaryExpr, l: Pending, scope: Scope, ctx: EvalContext): Pending {
  return new Pending(l.promise.then((x) => settle(binaryRest(e, x, scope, ctx))));
}

function binaryLaterRight(op: BinaryExpr['op'], l: AqlValue, r: Pending, ctx: EvalContext): Pending {
  return new Pending(r.promise.then((x) => binaryOp(op, l, x, ctx)));
}

function unary(op: '-' | '+' | 'NOT', v: AqlValue): AqlValue {
  switch (op) {
    case 'NOT':
      return !truthy(v);
    case '-':
      return negate(v);
    case '+':
      return typeof v === 'number' ? v : toNumber(v);
  }
}

function ternaryRest(e: Extract<Expr, { type: 'ternary' }>, c: AqlValue, scope: Scope, ctx: EvalContext): Val {
  if (truthy(c)) return e.then === undefined ? c : evaluateVal(e.then, scope, ctx);
  return evaluateVal(e.else, scope, ctx);
}

/** The rest of an array literal (or argument list) once item `i` suspended. */
async function listRest(
  items: readonly Expr[],
  scope: Scope,
  ctx: EvalContext,
  out: AqlValue[],
  i: number,
  first: Pending,
): Promise<AqlValue[]> {
  out[i] = await first.promise;
  for (let k = i + 1; k < items.length; k++) out[k] = await resolveVal(evaluateVal(items[k]!, scope, ctx));
  return out;
}

/** The rest of an object literal once property `i` suspended (its key, or its value after key `k`). */
async function objectRest(
  e: Extract<Expr, { type: 'object' }>,
  scope: Scope,
  ctx: EvalContext,
  out: AqlObject,
  i: number,
  k: Pending | string,
  v?: Pending,
): Promise<AqlValue> {
  const props = e.props;
  for (let n = i; n < props.length; n++) {
    const p = props[n]!;
    let key: string;
    if (n === i && typeof k === 'string') key = k;
    else if (n === i) key = strOf(await (k as Pending).promise, ctx.fn);
    else key = typeof p.key === 'string' ? p.key : strOf(await resolveVal(evaluateVal(p.key, scope, ctx)), ctx.fn);
    const value = n === i && v !== undefined ? await v.promise : await resolveVal(evaluateVal(p.value, scope, ctx));
    if (key === '__proto__') setAttribute(out, key, value);
    else out[key] = value;
  }
  return out;
}

/** `truthy(evaluate(e))`, for FILTER conditions. */
export function evaluateCondition(e: Expr, scope: Scope, ctx: EvalContext): boolean {
  return truthy(evaluate(e, scope, ctx));
}

type BinaryExpr = Extract<Expr, { type: 'binary' }>;
type CallExpr = Extract<Expr, { type: 'call' }>;
type ExpandExpr = Extract<Expr, { type: 'expand' }>;

function evaluateBinary(e: BinaryExpr, scope: Scope, ctx: EvalContext): Val {
  const l = evaluateVal(e.left, scope, ctx);
  if (l instanceof Pending) return binaryLaterLeft(e, l, scope, ctx);
  const op = e.op;
  if (op === 'AND') return truthy(l) ? evaluateVal(e.right, scope, ctx) : l;
  if (op === 'OR') return truthy(l) ? l : evaluateVal(e.right, scope, ctx);
  const r = evaluateVal(e.right, scope, ctx);
  if (r instanceof Pending) return binaryLaterRight(op, l, r, ctx);
  // The common operators inline (one call per node on the fast path), the rest in binaryOp.
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
    default:
      return binaryOp(op, l, r, ctx);
  }
}

/** A binary expression once its left side is known (after it suspended). */
function binaryRest(e: BinaryExpr, l: AqlValue, scope: Scope, ctx: EvalContext): Val {
  const op = e.op;
  if (op === 'AND') return truthy(l) ? evaluateVal(e.right, scope, ctx) : l;
  if (op === 'OR') return truthy(l) ? l : evaluateVal(e.right, scope, ctx);
  const r = evaluateVal(e.right, scope, ctx);
  if (r instanceof Pending) return binaryLaterRight(op, l, r, ctx);
  return binaryOp(op, l, r, ctx);
}

function binaryOp(op: BinaryExpr['op'], l: AqlValue, r: AqlValue, ctx: EvalContext): AqlValue {
  switch (op) {
    case '==':
      return l === r || equals(l, r);
    case '!=':
      return !(l === r || equals(l, r));
    case '<':
      return compare(l, r) < 0;
    case '<=':
      return compare(l, r) <= 0;
    case '>':
      return compare(l, r) > 0;
    case '>=':
      return compare(l, r) >= 0;
    case '+':
    case '-':
    case '*':
      return arithmetic(op, l, r);
    case '/':
    case '%':
      // ArangoDB: null with warning 1562 (division by zero).
      if ((typeof r === 'number' ? r : toNumber(r)) === 0) {
        ctx.fn.warn?.('division by zero', WarningCodes.DIVISION_BY_ZERO);
        return null;
      }
      return arithmetic(op, l, r);
    case 'IN':
      return inArray(l, r);
    case 'NOT IN':
      return !inArray(l, r);
    case 'LIKE':
      return arangoLike(strOf(l, ctx.fn), strOf(r, ctx.fn));
    case 'NOT LIKE':
      return !arangoLike(strOf(l, ctx.fn), strOf(r, ctx.fn));
    // ArangoDB evaluates `a =~ b` as REGEX_TEST(a, b) and `a !~ b` as NOT REGEX_TEST(a, b): an invalid
    // pattern gives null (`!~`: NOT null, true) with warning 1543 (invalid regex value).
    case '=~': {
      const re = regexArg(ctx.fn, 'REGEX_TEST', strOf(r, ctx.fn), false);
      return re === null ? null : re.test(strOf(l, ctx.fn));
    }
    case '!~': {
      const re = regexArg(ctx.fn, 'REGEX_TEST', strOf(r, ctx.fn), false);
      return re === null ? true : !re.test(strOf(l, ctx.fn));
    }
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

function evaluateCall(e: CallExpr, scope: Scope, ctx: EvalContext): Val {
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
  // LENGTH(coll) / COUNT(coll) with a collection (a bare name that is no variable, or @@bind): its document count.
  if (n === 1 && (name === 'LENGTH' || name === 'COUNT')) {
    const a = argExprs[0]!;
    if (((a.type === 'var' || a.type === 'name') && scope.get(a.name) === undefined) || a.type === 'bindCollection')
      return evaluateEngineCall('COLLECTION_COUNT', e, scope, ctx);
  }
  const args = new Array<AqlValue>(n);
  for (let i = 0; i < n; i++) {
    const v = evaluateVal(argExprs[i]!, scope, ctx);
    if (v instanceof Pending) return callLater(d, argExprs, scope, ctx, args, i, v);
    args[i] = v;
  }
  return invoke(d, args, ctx.fn);
}

function callLater(
  d: FunctionDef,
  argExprs: readonly Expr[],
  scope: Scope,
  ctx: EvalContext,
  args: AqlValue[],
  i: number,
  v: Pending,
): Pending {
  return new Pending(listRest(argExprs, scope, ctx, args, i, v).then((a) => settle(invoke(d, a, ctx.fn))));
}

/**
 * Calls a built-in. Functions that build large values charge the governor
 * themselves while they build (`charges`); for the others the result's
 * shallow size (a string's length, an array's slots) is charged here.
 */
function invoke(d: FunctionDef, args: AqlValue[], fn: FnContext): Val {
  const r = d.fn(args, fn);
  const gov = fn.gov;
  if (gov !== undefined && d.charges !== true) {
    if (typeof r === 'string') gov.charge(16 + 2 * r.length);
    else if (Array.isArray(r)) gov.charge(16 + 8 * r.length);
  }
  return r;
}

function evaluateEngineCall(name: string, e: CallExpr, scope: Scope, ctx: EvalContext): Val {
  const call = ctx.engineCall;
  if (call === undefined) {
    throw new ThemisError('VALIDATION_FAILED', `function ${name}() is not available in this context`, {
      details: { function: name, ...at(e.pos) },
    });
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
        throw new ThemisError('VALIDATION_FAILED', `bind parameter @@${a.name} is missing`, {
          details: { bind: `@${a.name}`, ...at(a.pos) },
        });
      }
      args[i] = ctx.bind[key] ?? null;
    } else {
      const v = evaluateVal(a, scope, ctx);
      if (v instanceof Pending) return new Pending(engineCallLater(name, e, scope, ctx, args, i, v));
      args[i] = v;
    }
  }
  return call(name, args, e);
}

/** An engine call's remaining arguments after argument `i` suspended (engine calls are rare and cheap). */
async function engineCallLater(
  name: string,
  e: CallExpr,
  scope: Scope,
  ctx: EvalContext,
  args: AqlValue[],
  i: number,
  v: Pending,
): Promise<AqlValue> {
  const argExprs = e.args;
  args[i] = await v.promise;
  for (let k = i + 1; k < argExprs.length; k++) {
    const b = argExprs[k]!;
    if ((b.type === 'var' || b.type === 'name') && scope.get(b.name) === undefined) args[k] = b.name;
    else args[k] = await resolveVal(evaluateVal(b, scope, ctx));
  }
  return ctx.engineCall!(name, args, e);
}

function evaluateExpand(e: ExpandExpr, scope: Scope, ctx: EvalContext): Val {
  const a = evaluateVal(e.array, scope, ctx);
  if (a instanceof Pending) return andThen(a, (x) => expandArray(e, x, scope, ctx));
  return expandArray(e, a, scope, ctx);
}

function expandArray(e: ExpandExpr, input: AqlValue, scope: Scope, ctx: EvalContext): Val {
  // `[*]` of a non-array is []; the question-mark form `[?]` of one is false.
  if (!Array.isArray(input)) return e.quantifier === undefined ? [] : false;
  const gov = ctx.fn.gov;
  if (e.flatten > 0) {
    const flat = flattenArray(input, e.flatten, gov);
    if (flat instanceof Pending) return andThen(flat, (x) => expandElements(e, x as AqlValue[], scope, ctx));
    return expandElements(e, flat as AqlValue[], scope, ctx);
  }
  return expandElements(e, input, scope, ctx);
}

function expandElements(e: ExpandExpr, arr: AqlValue[], scope: Scope, ctx: EvalContext): Val {
  if (e.quantifier !== undefined) return quantified(e, arr, scope, ctx);
  const filter = e.filter;
  const map = e.map;
  const limit = e.limit;
  if (filter === undefined && map === undefined && limit === undefined) return arr;
  if (limit !== undefined) {
    const o = evaluateVal(limit.offset, scope, ctx);
    const c = evaluateVal(limit.count, scope, ctx);
    if (o instanceof Pending || c instanceof Pending) return andThen(o, (ov) => andThen(c, (cv) => expandLoop(e, arr, scope, ctx, ov, cv)));
    return expandLoop(e, arr, scope, ctx, o, c);
  }
  return expandLoop(e, arr, scope, ctx, 0, Infinity);
}

/** A quantifier count (AT LEAST (n), an exact count, a range bound): an integer, negative ones 0 (as ArangoDB). */
function countOf(v: AqlValue): number {
  const n = Math.trunc(toNumber(v));
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * `array[? quantifier FILTER cond]`: whether the number of elements passing
 * the filter is within the quantifier's bounds (ArangoDB: ANY 1..max(1, n),
 * ALL n..max(n, 1), NONE 0..0, AT LEAST (k) k..max(k, n), a number exactly,
 * a range inclusively, none given: at least one).
 */
function quantified(e: ExpandExpr, arr: AqlValue[], scope: Scope, ctx: EvalContext): Val {
  const q = e.quantifier!;
  const n = arr.length;
  switch (q.kind) {
    case 'default':
      return countMatches(e, arr, ctx, scope, 1, Infinity);
    case 'any':
      return countMatches(e, arr, ctx, scope, 1, Math.max(1, n));
    case 'all':
      return countMatches(e, arr, ctx, scope, n, Math.max(n, 1));
    case 'none':
      return countMatches(e, arr, ctx, scope, 0, 0);
    case 'atLeast':
      return andThen(evaluateVal(q.count, scope, ctx), (c) => {
        const k = countOf(c);
        return countMatches(e, arr, ctx, scope, k, Math.max(k, n));
      });
    case 'exact':
      return andThen(evaluateVal(q.count, scope, ctx), (c) => countMatches(e, arr, ctx, scope, countOf(c), countOf(c)));
    case 'range':
      return andThen(evaluateVal(q.min, scope, ctx), (a) =>
        andThen(evaluateVal(q.max, scope, ctx), (b) => countMatches(e, arr, ctx, scope, countOf(a), countOf(b))),
      );
  }
}

function countMatches(e: ExpandExpr, arr: AqlValue[], ctx: EvalContext, scope: Scope, min: number, max: number): Val {
  const filter = e.filter;
  if (filter === undefined) return arr.length >= min && arr.length <= max;
  const el = new ElementScope(e.var, scope);
  let taken = 0;
  const take = (c: AqlValue): null => {
    if (truthy(c)) taken++;
    return null;
  };
  return loopWith(
    ctx.fn.gov,
    arr.length,
    (i) => {
      if (taken > max) return STOP;
      el.value = arr[i]!;
      const c = evaluateVal(filter, el, ctx);
      if (c instanceof Pending) return andThen(c, take);
      take(c);
      return undefined;
    },
    () => taken >= min && taken <= max,
    64,
  );
}

type ArrayCompareExpr = Extract<Expr, { type: 'arrayCompare' }>;

/** `left ALL|ANY|NONE|AT LEAST (n) op right` (both sides are evaluated first, as in ArangoDB). */
function evaluateArrayCompare(e: ArrayCompareExpr, scope: Scope, ctx: EvalContext): Val {
  return andThen(evaluateVal(e.left, scope, ctx), (l) =>
    andThen(evaluateVal(e.right, scope, ctx), (r) => {
      // the left side must be an array, and the right one too for IN / NOT IN: otherwise false
      if (!Array.isArray(l) || ((e.op === 'IN' || e.op === 'NOT IN') && !Array.isArray(r))) return false;
      const q = e.quantifier;
      if (q.kind !== 'atLeast') return arrayCompare(e.op, q.kind, 0, l, r);
      return andThen(evaluateVal(q.count, scope, ctx), (c) => arrayCompare(e.op, q.kind, countOf(c), l, r));
    }),
  );
}

function arrayCompare(op: ArrayCompareOp, kind: 'any' | 'all' | 'none' | 'atLeast', atLeast: number, l: AqlValue[], r: AqlValue): boolean {
  const n = l.length;
  // ArangoDB: [] ALL / NONE ... is true, [] ANY ... false
  if (n === 0) return kind === 'all' || kind === 'none' || (kind === 'atLeast' && atLeast === 0);
  let matches = 0;
  for (let i = 0; i < n; i++) {
    if (elementMatches(op, l[i]!, r)) {
      matches++;
      if (kind === 'any' || (kind === 'atLeast' && matches >= atLeast)) return true;
      if (kind === 'none') return false;
    } else if (kind === 'all') return false;
  }
  return kind === 'all' || kind === 'none' || (kind === 'atLeast' && matches >= atLeast);
}

function elementMatches(op: ArrayCompareOp, x: AqlValue, r: AqlValue): boolean {
  switch (op) {
    case '==':
      return x === r || equals(x, r);
    case '!=':
      return !(x === r || equals(x, r));
    case '<':
      return compare(x, r) < 0;
    case '<=':
      return compare(x, r) <= 0;
    case '>':
      return compare(x, r) > 0;
    case '>=':
      return compare(x, r) >= 0;
    case 'IN':
      return inArray(x, r);
    case 'NOT IN':
      return !inArray(x, r);
  }
}

function expandLoop(e: ExpandExpr, arr: AqlValue[], scope: Scope, ctx: EvalContext, offsetV: AqlValue, countV: AqlValue): Val {
  const filter = e.filter;
  const map = e.map;
  const offset = Math.max(0, Math.trunc(toNumber(offsetV)));
  const count = countV === Infinity ? Infinity : Math.max(0, Math.trunc(toNumber(countV)));
  const el = new ElementScope(e.var, scope);
  const out: AqlValue[] = [];
  ctx.fn.gov?.charge(16 + 8 * Math.min(arr.length, count));
  let skipped = 0;
  const keep = (item: AqlValue, cond: AqlValue): Val | undefined => {
    if (!truthy(cond)) return undefined;
    if (skipped < offset) {
      skipped++;
      return undefined;
    }
    if (map === undefined) {
      out.push(item);
      return undefined;
    }
    const m = evaluateVal(map, el, ctx);
    if (m instanceof Pending) return andThen(m, (x) => (out.push(x), null));
    out.push(m);
    return undefined;
  };
  return loopWith(
    ctx.fn.gov,
    arr.length,
    (i) => {
      if (out.length >= count) return STOP;
      const item = arr[i]!;
      el.value = item;
      if (filter === undefined) return keep(item, true);
      const c = evaluateVal(filter, el, ctx);
      if (c instanceof Pending) return andThen(c, (x) => keep(item, x) ?? null);
      return keep(item, c);
    },
    () => out,
    64,
  );
}
