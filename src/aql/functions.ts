/**
 * AQL built-in functions (ArangoDB semantics).
 *
 * `FUNCTIONS` maps upper-case names to `{ minArgs, maxArgs, fn }`. Functions
 * never mutate their arguments. Where ArangoDB answers a bad argument with
 * `null` plus a query warning, so do these (the warning goes to
 * `ctx.warn` when the caller supplies one); the few cases ArangoDB treats as
 * query errors throw a ThemisError VALIDATION_FAILED.
 *
 * Functions the planner/executor implement (FULLTEXT, BM25, SIMILARITY,
 * NEAR, DOCUMENT) are listed in `ENGINE_FUNCTIONS`: `checkFunction` accepts
 * them and the evaluator hands them to `EvalContext.engineCall`.
 *
 * Dates are ISO 8601 strings in UTC (`2026-11-23T03:00:00.000Z`) or numeric
 * millisecond timestamps; an optional IANA time zone argument is supported
 * where ArangoDB has one.
 */
import { createHash, randomUUID, randomBytes } from 'node:crypto';
import { ThemisError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from '../json-limits.js';
import type { AqlValue } from './ast.js';
import { BigMap, BigSet } from './big-collections.js';
import { depthError, type Governor, loopWith, Pending, sizeOf, sortWith, STOP, andThen, type Val } from './governor.js';
import {
  type AqlObject,
  compare,
  compareStrings,
  compileRegex,
  equals,
  getAttribute,
  hasAttribute,
  hashKey,
  inArray,
  isObject,
  like,
  numberOrNull,
  type Regex,
  numberToString,
  setAttribute,
  toArray,
  toJson,
  toNumber,
  toStringValue,
  truthy,
  typeName,
} from './values.js';

/** What every function may use from its surroundings. */
export interface FnContext {
  /** Current time in ms since the epoch (DATE_NOW; injectable for tests). */
  now: () => number;
  /** Receives ArangoDB-style warnings (bad argument → null result). */
  warn?: (message: string) => void;
  /** The query's resource governor (deadline, memory, nesting); absent outside a query. */
  gov?: Governor;
  /** Stored JSON texts of documents (a cheap size estimate for them). */
  texts?: WeakMap<object, string>;
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
export const ENGINE_FUNCTIONS: ReadonlySet<string> = new Set(['FULLTEXT', 'BM25', 'SIMILARITY', 'NEAR', 'DOCUMENT']);

const registry = new Map<string, FunctionDef>();

/** All built-in functions by upper-case name. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = registry;

function def(names: string | string[], minArgs: number, maxArgs: number, fn: AqlFunction, charges = false): void {
  for (const name of Array.isArray(names) ? names : [names]) registry.set(name, { minArgs, maxArgs, fn, charges });
}

// ---------------------------------------------------------------------------
// Name / arity checks

function plural(n: number): string {
  return n === 1 ? 'argument' : 'arguments';
}

function arityText(d: FunctionDef): string {
  if (d.maxArgs === Infinity) return `at least ${d.minArgs} ${plural(d.minArgs)}`;
  if (d.minArgs === d.maxArgs) return `${d.minArgs} ${plural(d.minArgs)}`;
  return `between ${d.minArgs} and ${d.maxArgs} arguments`;
}

/**
 * Optimal-string-alignment (Damerau-Levenshtein) distance, row by row: `step(i)`
 * fills row i (1..n), `result()` reads the distance after the last row. One
 * implementation for the plain call and for the governed one (which runs the
 * rows in slices).
 */
function editDistanceRows(a: string, b: string): { n: number; m: number; step: (i: number) => void; result: () => number } {
  const ca = Array.from(a);
  const cb = Array.from(b);
  const n = ca.length;
  const m = cb.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = new Array<number>(m + 1);
  let cur = new Array<number>(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  const step = (i: number): void => {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = ca[i - 1] === cb[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ca[i - 1] === cb[j - 2] && ca[i - 2] === cb[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
    }
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  };
  return { n, m, step, result: () => (n === 0 ? m : m === 0 ? n : prev[m]!) };
}

/** Optimal-string-alignment (Damerau-Levenshtein) distance. */
export function editDistance(a: string, b: string): number {
  const r = editDistanceRows(a, b);
  if (r.m > 0) for (let i = 1; i <= r.n; i++) r.step(i);
  return r.result();
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
  if (ENGINE_FUNCTIONS.has(upper)) return;
  const d = registry.get(upper);
  if (d === undefined) {
    const suggestion = suggestFunction(upper);
    throw new ThemisError(
      'VALIDATION_FAILED',
      `unknown function ${upper}()` + (suggestion ? ` (did you mean ${suggestion}()?)` : ''),
      { details: suggestion ? { function: upper, suggestion } : { function: upper } },
    );
  }
  checkArity(upper, d, argc);
}

function checkArity(name: string, d: FunctionDef, argc: number): void {
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

// ---------------------------------------------------------------------------
// Helpers

function warn(ctx: FnContext, fn: string, message: string): null {
  ctx.warn?.(`${fn}(): ${message}`);
  return null;
}

function invalidArg(ctx: FnContext, fn: string): null {
  return warn(ctx, fn, 'invalid argument type');
}

function str(v: AqlValue | undefined): string {
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

function charge(ctx: FnContext, bytes: number): void {
  ctx.gov?.charge(bytes);
}

/** A governed loop (see Governor.loop). */
function loop(ctx: FnContext, n: number, body: (i: number) => unknown, done: () => Val, every?: number): Val {
  return loopWith(ctx.gov, n, body, done, every);
}

/** Bytes of a Set/Map entry keyed by a hash string. */
function hashEntryBytes(h: string): number {
  return 40 + 2 * h.length;
}

function num(v: AqlValue | undefined): number {
  return typeof v === 'number' ? v : toNumber(v);
}

function int(v: AqlValue | undefined): number {
  return Math.trunc(num(v));
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Unicode characters (code points) of a string. */
function chars(s: string): string[] {
  return Array.from(s);
}

function charLength(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Substring by code point offsets [start, end). */
function charSlice(s: string, start: number, end?: number): string {
  if (!SURROGATE.test(s)) return s.slice(start, end);
  return chars(s).slice(start, end).join('');
}

/** Code point index of a UTF-16 index. */
function charIndex(s: string, utf16Index: number): number {
  if (utf16Index <= 0 || !SURROGATE.test(s)) return utf16Index;
  return charLength(s.slice(0, utf16Index));
}

/** The distinct values of an array, in first-seen order (governed: hashing millions of values takes a while). */
function uniqueValues(values: readonly AqlValue[], ctx: FnContext): Val {
  return distinctWhere(ctx, values, new BigSet(), () => true);
}

/** The hash keys of an array's values (governed); `then` receives the set. */
function keySet(values: readonly AqlValue[], ctx: FnContext, done: (s: BigSet) => Val): Val {
  const s = new BigSet();
  return loop(
    ctx,
    values.length,
    (i) => {
      const k = hashKey(values[i]!);
      if (!s.has(k)) {
        charge(ctx, hashEntryBytes(k));
        s.add(k);
      }
    },
    () => done(s),
  );
}

function isSystemAttribute(name: string): boolean {
  return name.charCodeAt(0) === 95; // '_'
}

/** Names from `KEEP(doc, "a", "b")` or `KEEP(doc, ["a", "b"])`. */
function attributeNameArgs(args: AqlValue[], from: number, ctx: FnContext): string[] {
  const out: string[] = [];
  const add = (x: AqlValue | undefined): void => {
    const n = strOf(x, ctx);
    charge(ctx, hashEntryBytes(n));
    out.push(n);
  };
  for (let i = from; i < args.length; i++) {
    const a = args[i];
    if (Array.isArray(a)) for (const x of a) add(x);
    else add(a);
  }
  return out;
}

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

// ---------------------------------------------------------------------------
// String functions

function lengthOf(v: AqlValue | undefined): number {
  if (v === null || v === undefined) return 0;
  switch (typeof v) {
    case 'string':
      return charLength(v);
    case 'number':
      return charLength(numberToString(v));
    case 'boolean':
      return v ? 1 : 0;
  }
  if (Array.isArray(v)) return v.length;
  return Object.getOwnPropertyNames(v).length;
}

def(['LENGTH', 'COUNT'], 1, 1, (a, ctx) => lengthOf(a[0]));
def('CHAR_LENGTH', 1, 1, (a, ctx) => {
  const v = a[0];
  if (v === null) return 0;
  return charLength(str(v));
});

def('CONCAT', 1, Infinity, (a, ctx) => joinStrings(a.length === 1 && Array.isArray(a[0]) ? (a[0] as AqlValue[]) : a, '', ctx), true);

def(
  'CONCAT_SEPARATOR',
  2,
  Infinity,
  (a, ctx) => joinStrings(a.length === 2 && Array.isArray(a[1]) ? (a[1] as AqlValue[]) : a.slice(1), strOf(a[0], ctx), ctx),
  true,
);

/**
 * The non-null items as strings, joined by `sep`. Built in chunks of 4,096
 * parts, each joined into one flat string: `s += part` over millions of
 * parts would build a rope of millions of string objects (five times the
 * text, and a long garbage-collection pause). The chunk's parts are charged
 * while it is built and released once it is joined; the result is charged
 * as it grows.
 */
function joinStrings(items: readonly AqlValue[], sep: string, ctx: FnContext): Val {
  const gov = ctx.gov;
  const CHUNK = 4096;
  const chunks: string[] = [];
  let parts: string[] = [];
  let size = 0;
  const mark = gov?.mark() ?? 0;
  const flush = (): void => {
    if (parts.length === 0) return;
    const joined = parts.join(sep);
    parts = [];
    size += joined.length + (chunks.length > 0 ? sep.length : 0);
    chunks.push(joined);
    if (gov !== undefined) {
      gov.reset(mark);
      gov.charge(16 + 2 * size + 8 * chunks.length);
    }
  };
  return loop(
    ctx,
    items.length,
    (i) => {
      const v = items[i];
      if (v === null || v === undefined) return;
      const t = strOf(v, ctx);
      charge(ctx, 24 + 2 * t.length);
      parts.push(t);
      if (parts.length >= CHUNK) flush();
    },
    () => {
      flush();
      return chunks.length === 1 ? chunks[0]! : chunks.join(sep);
    },
  );
}

def('LOWER', 1, 1, (a, ctx) => strOf(a[0], ctx).toLowerCase());
def('UPPER', 1, 1, (a, ctx) => strOf(a[0], ctx).toUpperCase());

def('SUBSTRING', 2, 3, (a, ctx) => {
  const s = strOf(a[0], ctx);
  const len = charLength(s);
  let offset = int(a[1]);
  if (offset < 0) offset = Math.max(0, len + offset);
  if (offset >= len) return '';
  if (a.length < 3 || a[2] === null) return charSlice(s, offset);
  const n = int(a[2]);
  if (n <= 0) return '';
  return charSlice(s, offset, offset + n);
});

def('LEFT', 2, 2, (a, ctx) => {
  const n = int(a[1]);
  return n <= 0 ? '' : charSlice(strOf(a[0], ctx), 0, n);
});

def('RIGHT', 2, 2, (a, ctx) => {
  const s = strOf(a[0], ctx);
  const n = int(a[1]);
  if (n <= 0) return '';
  const len = charLength(s);
  return n >= len ? s : charSlice(s, len - n);
});

const DEFAULT_TRIM = '\r\n \t';

function trim(s: string, set: string, left: boolean, right: boolean): string {
  if (set === DEFAULT_TRIM || !SURROGATE.test(s + set)) {
    let start = 0;
    let end = s.length;
    if (left) while (start < end && set.includes(s[start]!)) start++;
    if (right) while (end > start && set.includes(s[end - 1]!)) end--;
    return s.slice(start, end);
  }
  const cs = chars(s);
  const members = new Set(chars(set));
  let start = 0;
  let end = cs.length;
  if (left) while (start < end && members.has(cs[start]!)) start++;
  if (right) while (end > start && members.has(cs[end - 1]!)) end--;
  return cs.slice(start, end).join('');
}

def('TRIM', 1, 2, (a, ctx) => {
  const s = strOf(a[0], ctx);
  const opt = a[1];
  if (typeof opt === 'number') {
    const how = Math.trunc(opt);
    if (how === 1) return trim(s, DEFAULT_TRIM, true, false);
    if (how === 2) return trim(s, DEFAULT_TRIM, false, true);
    return trim(s, DEFAULT_TRIM, true, true);
  }
  return trim(s, typeof opt === 'string' ? opt : DEFAULT_TRIM, true, true);
});
def('LTRIM', 1, 2, (a, ctx) => trim(strOf(a[0], ctx), typeof a[1] === 'string' ? a[1] : DEFAULT_TRIM, true, false));
def('RTRIM', 1, 2, (a, ctx) => trim(strOf(a[0], ctx), typeof a[1] === 'string' ? a[1] : DEFAULT_TRIM, false, true));

def('CONTAINS', 2, 3, (a, ctx) => {
  const text = strOf(a[0], ctx);
  const search = strOf(a[1], ctx);
  const i = text.indexOf(search);
  if (truthy(a[2])) return i < 0 ? -1 : charIndex(text, i);
  return i >= 0;
});

def('STARTS_WITH', 2, 3, (a, ctx) => {
  const text = strOf(a[0], ctx);
  if (Array.isArray(a[1])) {
    const min = a.length > 2 ? Math.max(1, int(a[2])) : 1;
    let n = 0;
    for (const p of a[1]) if (text.startsWith(str(p))) n++;
    return n >= min;
  }
  return text.startsWith(strOf(a[1], ctx));
});

function findBounds(s: string, a: AqlValue[]): [number, number] {
  const len = charLength(s);
  const start = a.length > 2 && a[2] !== null ? Math.max(0, int(a[2])) : 0;
  const end = a.length > 3 && a[3] !== null ? Math.min(len, int(a[3]) + 1) : len;
  return [start, end];
}

def('FIND_FIRST', 2, 4, (a, ctx) => {
  const text = strOf(a[0], ctx);
  const search = strOf(a[1], ctx);
  const [start, end] = findBounds(text, a);
  if (search === '') return start;
  if (start >= end) return -1;
  const region = charSlice(text, start, end);
  const i = region.indexOf(search);
  return i < 0 ? -1 : start + charIndex(region, i);
});

def('FIND_LAST', 2, 4, (a, ctx) => {
  const text = strOf(a[0], ctx);
  const search = strOf(a[1], ctx);
  const [start, end] = findBounds(text, a);
  if (search === '') return end;
  if (start >= end) return -1;
  const region = charSlice(text, start, end);
  const i = region.lastIndexOf(search);
  return i < 0 ? -1 : start + charIndex(region, i);
});

def(
  'SPLIT',
  1,
  3,
  (a, ctx) => {
    if (a.length === 1) return [a[0]!];
    const s = strOf(a[0], ctx);
    let limit = -1;
    if (a.length > 2 && a[2] !== null) {
      limit = int(a[2]);
      if (limit < 0) return warn(ctx, 'SPLIT', 'limit must not be negative');
      if (limit === 0) return [];
    }
    const sep = a[1];
    const max = limit >= 0 ? limit : Infinity;
    if (typeof sep === 'string' && sep !== '') return splitString(s, sep, max, ctx);
    let parts: string[];
    if (Array.isArray(sep)) {
      const seps = sep.map((x) => strOf(x, ctx)).filter((x) => x !== '');
      charge(ctx, 32 * s.length); // at worst every character is a part
      if (seps.length === 0) parts = chars(s);
      else parts = s.split(new RegExp(seps.map(escapeRegex).join('|'), 'u'));
    } else if (typeof sep === 'string') {
      charge(ctx, 32 * s.length);
      parts = chars(s);
    } else if (sep === null) {
      parts = [s];
    } else return invalidArg(ctx, 'SPLIT');
    return parts.length > max ? parts.slice(0, max) : parts;
  },
  true,
);

/** `s` split at each `sep`, at most `max` parts, charged part by part (governed: a long text can have millions). */
function splitString(s: string, sep: string, max: number, ctx: FnContext): Val {
  const out: string[] = [];
  let from = 0;
  let done = false;
  return loop(
    ctx,
    Infinity,
    () => {
      if (done || out.length >= max) return STOP;
      const i = s.indexOf(sep, from);
      const part = i < 0 ? s.slice(from) : s.slice(from, i);
      charge(ctx, 40 + 2 * part.length);
      out.push(part);
      if (i < 0) done = true;
      else from = i + sep.length;
      return undefined;
    },
    () => out,
    64,
  );
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

def('REVERSE', 1, 1, (a, ctx) => {
  const v = a[0];
  if (Array.isArray(v)) return v.slice().reverse();
  const s = strOf(v, ctx);
  if (!SURROGATE.test(s)) return s.split('').reverse().join('');
  charge(ctx, 32 * s.length);
  return chars(s).reverse().join('');
});

def('SUBSTITUTE', 2, 4, (a, ctx) => {
  const text = strOf(a[0], ctx);
  const searches: string[] = [];
  const replacements: string[] = [];
  let limitArg: AqlValue | undefined;
  if (isObject(a[1])) {
    const m = a[1];
    for (const k of Object.getOwnPropertyNames(m)) {
      searches.push(k);
      replacements.push(str(m[k]));
    }
    limitArg = a[2];
    if (a.length > 3) return warn(ctx, 'SUBSTITUTE', 'too many arguments for the mapping form');
  } else {
    const s = a[1];
    const r = a.length > 2 ? a[2] : null;
    const list = Array.isArray(s) ? s.map(str) : [str(s)];
    for (let i = 0; i < list.length; i++) {
      searches.push(list[i]!);
      if (Array.isArray(r)) replacements.push(i < r.length ? str(r[i]) : '');
      else replacements.push(str(r));
    }
    limitArg = a[3];
  }
  let limit = Infinity;
  if (limitArg !== undefined && limitArg !== null) {
    limit = int(limitArg);
    if (limit <= 0) return text;
  }
  const map = new Map<string, string>();
  const alts: string[] = [];
  for (let i = 0; i < searches.length; i++) {
    const s = searches[i]!;
    if (s === '' || map.has(s)) continue;
    map.set(s, replacements[i]!);
    alts.push(escapeRegex(s));
  }
  if (alts.length === 0) return text;
  const re = new RegExp(alts.join('|'), 'gu');
  let count = 0;
  return text.replace(re, (m) => (count++ < limit ? map.get(m)! : m));
});

def('LIKE', 2, 3, (a, ctx) => like(strOf(a[0], ctx), strOf(a[1], ctx), truthy(a[2])));

def('REGEX_TEST', 2, 3, (a, ctx) => compileRegex(strOf(a[1], ctx), truthy(a[2])).test(strOf(a[0], ctx)));

def('REGEX_MATCHES', 2, 3, (a, ctx) => {
  const m = compileRegex(strOf(a[1], ctx), truthy(a[2])).exec(strOf(a[0], ctx));
  if (m === null) return null;
  return Array.from(m, (x: string | undefined | null) => (x === undefined || x === null ? '' : x));
});

def(
  'REGEX_SPLIT',
  2,
  4,
  (a, ctx) => {
    const text = strOf(a[0], ctx);
    const re = compileRegex(strOf(a[1], ctx), truthy(a[2]));
    let max = Infinity;
    if (a.length > 3 && a[3] !== null) {
      const limit = int(a[3]);
      if (limit < 0) return warn(ctx, 'REGEX_SPLIT', 'limit must not be negative');
      max = limit;
    }
    return regexSplit(text, re, max, ctx);
  },
  true,
);

def(
  'REGEX_REPLACE',
  3,
  4,
  (a, ctx) => regexReplace(strOf(a[0], ctx), compileRegex(strOf(a[1], ctx), truthy(a[3])), strOf(a[2], ctx), ctx),
  true,
);

/** The UTF-16 index after the character at `i` (a surrogate pair counts as one). */
function advance(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? i + 2 : i + 1;
}

/**
 * String.prototype.split's algorithm (captured groups are included, an
 * empty match where the last one ended is skipped) over RE2 matches, one
 * match per governed step.
 */
function regexSplit(text: string, re: Regex, max: number, ctx: FnContext): Val {
  const out: string[] = [];
  if (max === 0) return out;
  const size = text.length;
  if (size === 0) return re.matcher(text).find(0) ? out : [text];
  const m = re.matcher(text);
  const groups = re.groupCount();
  let p = 0;
  let q = 0;
  const push = (x: string): boolean => {
    charge(ctx, 40 + 2 * x.length);
    out.push(x);
    return out.length >= max;
  };
  return loop(
    ctx,
    Infinity,
    () => {
      if (q >= size || !m.find(q)) return STOP;
      const start = m.start();
      const e = m.end();
      if (start >= size) return STOP;
      if (e === p || e === start) {
        // an empty match: try again one character further
        q = advance(text, start);
        if (e !== p && start > p && e === start) {
          if (push(text.slice(p, start))) return STOP;
          for (let g = 1; g <= groups; g++) if (push(m.group(g) ?? '')) return STOP;
          p = e;
        }
        return undefined;
      }
      if (push(text.slice(p, start))) return STOP;
      for (let g = 1; g <= groups; g++) if (push(m.group(g) ?? '')) return STOP;
      p = e;
      q = p;
      return undefined;
    },
    () => {
      if (out.length < max) push(text.slice(p));
      return out;
    },
    16,
  );
}

/** A replacement template of String.prototype.replace: `$$`, `$&`, `` $` ``, `$'`, `$1`..`$99`, `$<name>`. */
type Piece = string | { group: number } | { named: string } | { before: true } | { after: true };

function parseReplacement(r: string, groups: number, hasNamed: boolean): Piece[] {
  const out: Piece[] = [];
  let lit = '';
  for (let i = 0; i < r.length; i++) {
    const c = r[i]!;
    if (c !== '$' || i + 1 >= r.length) {
      lit += c;
      continue;
    }
    const n = r[i + 1]!;
    let piece: Piece | undefined;
    let skip = 1;
    if (n === '$') piece = '$';
    else if (n === '&') piece = { group: 0 };
    else if (n === '`') piece = { before: true };
    else if (n === "'") piece = { after: true };
    else if (n >= '0' && n <= '9') {
      const two = r.length > i + 2 && r[i + 2]! >= '0' && r[i + 2]! <= '9' ? Number(n + r[i + 2]) : NaN;
      if (two >= 1 && two <= groups) {
        piece = { group: two };
        skip = 2;
      } else if (Number(n) >= 1 && Number(n) <= groups) piece = { group: Number(n) };
    } else if (n === '<' && hasNamed) {
      const close = r.indexOf('>', i + 2);
      if (close > 0) {
        piece = { named: r.slice(i + 2, close) };
        skip = close - i;
      }
    }
    if (piece === undefined) {
      lit += c;
      continue;
    }
    if (typeof piece === 'string') lit += piece;
    else {
      if (lit) out.push(lit);
      lit = '';
      out.push(piece);
    }
    i += skip;
  }
  if (lit) out.push(lit);
  return out;
}

/** text.replace(/re/g, replacement) over RE2 matches, one match per governed step, charged as it grows. */
function regexReplace(text: string, re: Regex, replacement: string, ctx: FnContext): Val {
  const named = re.namedGroups();
  const pieces = parseReplacement(replacement, re.groupCount(), Object.keys(named).length > 0);
  const m = re.matcher(text);
  const size = text.length;
  let out = '';
  let last = 0;
  let q = 0;
  charge(ctx, 2 * size);
  return loop(
    ctx,
    Infinity,
    () => {
      if (q > size || !m.find(q)) return STOP;
      const start = m.start();
      const end = m.end();
      let r = '';
      for (const p of pieces) {
        if (typeof p === 'string') r += p;
        else if ('group' in p) r += m.group(p.group) ?? '';
        else if ('named' in p) r += p.named in named ? (m.group(p.named) ?? '') : '';
        else if ('before' in p) r += text.slice(0, start);
        else r += text.slice(end);
      }
      charge(ctx, 2 * r.length);
      out += text.slice(last, start) + r;
      last = end;
      q = end === start ? (end < size ? advance(text, end) : size + 1) : end;
      return undefined;
    },
    () => out + text.slice(last),
    16,
  );
}

def('LEVENSHTEIN_DISTANCE', 2, 2, (a, ctx) => {
  const x = strOf(a[0], ctx);
  const y = strOf(a[1], ctx);
  // O(n·m): large inputs run row by row through the governor.
  if (ctx.gov === undefined || x.length * y.length < 1_000_000) return editDistance(x, y);
  return editDistanceGoverned(x, y, ctx);
});

function editDistanceGoverned(a: string, b: string, ctx: FnContext): Val {
  charge(ctx, 32 * (a.length + b.length) + 24 * (b.length + 1));
  const r = editDistanceRows(a, b);
  if (r.n === 0 || r.m === 0) return r.result();
  return loop(ctx, r.n, (k) => r.step(k + 1), r.result, Math.max(1, Math.floor(100_000 / r.m)));
}

def('JSON_STRINGIFY', 1, 1, (a, ctx) => {
  const v = a[0];
  const gov = ctx.gov;
  if (gov !== undefined && v !== null && typeof v === 'object') gov.charge(sizeOf(v, gov.maxDepth, ctx.texts));
  return toJson(v);
});
def(
  'JSON_PARSE',
  1,
  1,
  (a, ctx) => {
    const text = a[0];
    if (typeof text !== 'string') return invalidArg(ctx, 'JSON_PARSE');
    // Refuse deep input before building it: deep values would overflow the stack of every recursive consumer.
    // Without a governor (outside a query) the server's default applies.
    const limit = ctx.gov?.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
    if (exceedsJsonDepth(text, limit)) throw depthError(limit, 'the JSON_PARSE() input');
    // A parsed value takes roughly three times its text.
    charge(ctx, 64 + 6 * text.length);
    try {
      return JSON.parse(text) as AqlValue;
    } catch {
      return warn(ctx, 'JSON_PARSE', 'invalid JSON');
    }
  },
  true,
);

function hashFn(algorithm: string): AqlFunction {
  return (a, ctx) => createHash(algorithm).update(strOf(a[0], ctx), 'utf8').digest('hex');
}
def('MD5', 1, 1, hashFn('md5'));
def('SHA1', 1, 1, hashFn('sha1'));
def('SHA256', 1, 1, hashFn('sha256'));
def('SHA512', 1, 1, hashFn('sha512'));
def('TO_BASE64', 1, 1, (a, ctx) => {
  const s = strOf(a[0], ctx);
  charge(ctx, 8 * s.length); // UTF-8 bytes, then base64 text
  return Buffer.from(s, 'utf8').toString('base64');
});
def('TO_HEX', 1, 1, (a, ctx) => {
  const s = strOf(a[0], ctx);
  charge(ctx, 12 * s.length);
  return Buffer.from(s, 'utf8').toString('hex');
});
def('ENCODE_URI_COMPONENT', 1, 1, (a, ctx) => {
  const s = strOf(a[0], ctx);
  charge(ctx, 18 * s.length); // up to %XX%XX%XX per UTF-16 unit
  try {
    return encodeURIComponent(s);
  } catch {
    return null;
  }
});
def('UUID', 0, 0, () => randomUUID());

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
def('RANDOM_TOKEN', 1, 1, (a, ctx) => {
  const n = int(a[0]);
  if (n < 0 || n > 65536) return warn(ctx, 'RANDOM_TOKEN', 'length must be between 0 and 65536');
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += TOKEN_ALPHABET[bytes[i]! % TOKEN_ALPHABET.length];
  return s;
});

// ---------------------------------------------------------------------------
// Numeric functions

function unaryMath(f: (x: number) => number): AqlFunction {
  return (a, ctx) => numberOrNull(f(num(a[0])));
}

def('ABS', 1, 1, unaryMath(Math.abs));
def('CEIL', 1, 1, unaryMath(Math.ceil));
def('FLOOR', 1, 1, unaryMath(Math.floor));
def('ROUND', 1, 1, unaryMath(Math.round)); // half up: ROUND(-2.5) == -2 as in ArangoDB
def('SQRT', 1, 1, unaryMath(Math.sqrt));
def('EXP', 1, 1, unaryMath(Math.exp));
def('EXP2', 1, 1, unaryMath((x) => Math.pow(2, x)));
def('LOG', 1, 1, unaryMath((x) => (x <= 0 ? NaN : Math.log(x))));
def('LOG2', 1, 1, unaryMath((x) => (x <= 0 ? NaN : Math.log2(x))));
def('LOG10', 1, 1, unaryMath((x) => (x <= 0 ? NaN : Math.log10(x))));
def('SIN', 1, 1, unaryMath(Math.sin));
def('COS', 1, 1, unaryMath(Math.cos));
def('TAN', 1, 1, unaryMath(Math.tan));
def('ASIN', 1, 1, unaryMath(Math.asin));
def('ACOS', 1, 1, unaryMath(Math.acos));
def('ATAN', 1, 1, unaryMath(Math.atan));
def('ATAN2', 2, 2, (a, ctx) => numberOrNull(Math.atan2(num(a[0]), num(a[1]))));
def('RADIANS', 1, 1, unaryMath((x) => (x * Math.PI) / 180));
def('DEGREES', 1, 1, unaryMath((x) => (x * 180) / Math.PI));
def('PI', 0, 0, () => Math.PI);
def('POW', 2, 2, (a, ctx) => numberOrNull(Math.pow(num(a[0]), num(a[1]))));
def('RAND', 0, 0, () => Math.random());

def('RANGE', 2, 3, (a, ctx) => {
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
}, true);

/** The most elements a range (operator `a..b` or RANGE()) may produce. */
export const MAX_RANGE = 10_000_000;

function rangeTooLarge(): ThemisError {
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

// ---------------------------------------------------------------------------
// Array functions

function arrayArg(ctx: FnContext, fn: string, v: AqlValue | undefined): AqlValue[] | null {
  return Array.isArray(v) ? v : invalidArg(ctx, fn);
}

def('FIRST', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'FIRST', a[0]);
  return arr === null || arr.length === 0 ? null : arr[0]!;
});

def('LAST', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'LAST', a[0]);
  return arr === null || arr.length === 0 ? null : arr[arr.length - 1]!;
});

def('NTH', 2, 2, (a, ctx) => {
  const arr = arrayArg(ctx, 'NTH', a[0]);
  if (arr === null) return null;
  const i = int(a[1]);
  return i < 0 || i >= arr.length ? null : arr[i]!;
});

def('POSITION', 2, 3, (a, ctx) => {
  const ret = truthy(a[2]);
  const arr = a[0];
  if (!Array.isArray(arr)) {
    invalidArg(ctx, 'POSITION');
    return ret ? -1 : false;
  }
  const needle = a[1]!;
  let found = -1;
  return loop(
    ctx,
    arr.length,
    (i) => {
      if (!equals(arr[i], needle)) return undefined;
      found = i;
      return STOP;
    },
    () => (ret ? found : found >= 0),
    1024,
  );
});
registry.set('CONTAINS_ARRAY', registry.get('POSITION')!);

def(['COUNT_DISTINCT', 'COUNT_UNIQUE'], 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'COUNT_DISTINCT', a[0]);
  return arr === null ? null : keySet(arr, ctx, (s) => s.size);
}, true);

def('UNIQUE', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'UNIQUE', a[0]);
  return arr === null ? null : uniqueValues(arr, ctx);
}, true);

def('SORTED', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'SORTED', a[0]);
  if (arr === null) return null;
  charge(ctx, 16 + 8 * arr.length);
  return sortWith(ctx.gov, arr.slice(), compare) as Val;
}, true);

def('SORTED_UNIQUE', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'SORTED_UNIQUE', a[0]);
  if (arr === null) return null;
  charge(ctx, 16 + 16 * arr.length);
  return andThen(sortWith(ctx.gov, arr.slice(), compare) as Val, (sorted) => {
    const xs = sorted as AqlValue[];
    const out: AqlValue[] = [];
    return loop(
      ctx,
      xs.length,
      (i) => {
        const x = xs[i]!;
        if (out.length === 0 || compare(out[out.length - 1], x) !== 0) out.push(x);
      },
      () => out,
    );
  });
}, true);

function arraysArgs(ctx: FnContext, fn: string, a: AqlValue[]): AqlValue[][] | null {
  for (const x of a) if (!Array.isArray(x)) return invalidArg(ctx, fn);
  return a as AqlValue[][];
}

def('UNION', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'UNION', a);
  if (arrays === null) return null;
  let n = 0;
  for (const x of arrays) n += x.length;
  charge(ctx, 16 + 8 * n);
  return ([] as AqlValue[]).concat(...arrays);
}, true);

def('UNION_DISTINCT', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'UNION_DISTINCT', a);
  if (arrays === null) return null;
  let n = 0;
  for (const x of arrays) n += x.length;
  charge(ctx, 16 + 8 * n);
  return uniqueValues(([] as AqlValue[]).concat(...arrays), ctx);
}, true);

/** Key sets of several arrays, one after another (governed), for `done`. */
function keySets(arrays: AqlValue[][], ctx: FnContext, done: (sets: BigSet[]) => Val): Val {
  const sets: BigSet[] = [];
  const next = (): Val => (sets.length === arrays.length ? done(sets) : keySet(arrays[sets.length]!, ctx, (s) => (sets.push(s), next())));
  return next();
}

/** The distinct values of `arr` (first occurrences, in order) whose key `keep` accepts; `seen` collects the keys taken (governed). */
function distinctWhere(ctx: FnContext, arr: readonly AqlValue[], seen: BigSet, keep: (k: string) => boolean): Val {
  const out: AqlValue[] = [];
  charge(ctx, 16 + 16 * arr.length); // built by push: its capacity can be twice its length
  return loop(
    ctx,
    arr.length,
    (i) => {
      const v = arr[i]!;
      const k = hashKey(v);
      if (seen.has(k) || !keep(k)) return;
      charge(ctx, hashEntryBytes(k));
      seen.add(k);
      out.push(v);
    },
    () => out,
  );
}

def('INTERSECTION', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'INTERSECTION', a);
  if (arrays === null) return null;
  return keySets(arrays.slice(1), ctx, (others) => distinctWhere(ctx, arrays[0]!, new BigSet(), (k) => others.every((s) => s.has(k))));
}, true);

def('MINUS', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'MINUS', a);
  if (arrays === null) return null;
  const rest: AqlValue[] = ([] as AqlValue[]).concat(...arrays.slice(1));
  charge(ctx, 16 + 8 * rest.length);
  // The excluded keys double as the seen set: a value of the first array is kept once, and only if not excluded.
  return keySet(rest, ctx, (exclude) => distinctWhere(ctx, arrays[0]!, exclude, () => true));
}, true);

def('OUTERSECTION', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'OUTERSECTION', a);
  if (arrays === null) return null;
  const all: AqlValue[] = ([] as AqlValue[]).concat(...arrays);
  charge(ctx, 16 + 8 * all.length);
  const counts = new BigMap<{ v: AqlValue; n: number }>();
  const order: { v: AqlValue; n: number }[] = []; // first-seen order (a BigMap iterates by shard)
  return loop(
    ctx,
    all.length,
    (i) => {
      const v = all[i]!;
      const k = hashKey(v);
      const e = counts.get(k);
      if (e) e.n++;
      else {
        charge(ctx, hashEntryBytes(k) + 40);
        const entry = { v, n: 1 };
        counts.set(k, entry);
        order.push(entry);
      }
    },
    () => {
      const out: AqlValue[] = [];
      for (const e of order) if (e.n === 1) out.push(e.v);
      return out;
    },
  );
}, true);

def('INTERLEAVE', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'INTERLEAVE', a);
  if (arrays === null) return null;
  const out: AqlValue[] = [];
  let max = 0;
  let n = 0;
  for (const x of arrays) {
    if (x.length > max) max = x.length;
    n += x.length;
  }
  charge(ctx, 16 + 8 * n);
  return loop(
    ctx,
    max,
    (i) => {
      for (const arr of arrays) if (i < arr.length) out.push(arr[i]!);
    },
    () => out,
  );
}, true);

def('JACCARD', 2, 2, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'JACCARD', a);
  if (arrays === null) return null;
  return keySets(arrays, ctx, ([x, y]) => {
    if (x!.size === 0 && y!.size === 0) return 1;
    let inter = 0;
    for (const k of x!) if (y!.has(k)) inter++;
    return inter / (x!.size + y!.size - inter);
  });
}, true);

/**
 * Flattens nested arrays `depth` levels (for FLATTEN() and `[**]`):
 * iteratively (any nesting is safe), charged and governed element by
 * element.
 */
export function flattenArray(arr: AqlValue[], depth: number, gov?: Governor): Val {
  const out: AqlValue[] = [];
  // A stack of [array, next index, remaining depth].
  const stack: [AqlValue[], number, number][] = [[arr, 0, depth]];
  return loopWith(
    gov,
    Infinity,
    () => {
      const top = stack[stack.length - 1];
      if (top === undefined) return STOP;
      const [a, i, d] = top;
      if (i >= a.length) {
        stack.pop();
        return undefined;
      }
      top[1] = i + 1;
      const v = a[i]!;
      if (Array.isArray(v) && d > 0) stack.push([v, 0, d - 1]);
      else {
        gov?.charge(8);
        out.push(v);
      }
      return undefined;
    },
    () => out,
    1024,
  );
}

def('FLATTEN', 1, 2, (a, ctx) => {
  const arr = arrayArg(ctx, 'FLATTEN', a[0]);
  if (arr === null) return null;
  const depth = a.length > 1 && a[1] !== null ? int(a[1]) : 1;
  return flattenArray(arr, Math.max(0, depth), ctx.gov);
}, true);

def('PUSH', 2, 3, (a, ctx) => {
  const v = a[1]!;
  if (a[0] === null) return [v];
  const arr = arrayArg(ctx, 'PUSH', a[0]);
  if (arr === null) return null;
  if (truthy(a[2]) && inArray(v, arr)) return arr.slice();
  return [...arr, v];
});

def('UNSHIFT', 2, 3, (a, ctx) => {
  const v = a[1]!;
  if (a[0] === null) return [v];
  const arr = arrayArg(ctx, 'UNSHIFT', a[0]);
  if (arr === null) return null;
  if (truthy(a[2]) && inArray(v, arr)) return arr.slice();
  return [v, ...arr];
});

def('APPEND', 2, 3, (a, ctx) => {
  const first = a[0];
  const second = a[1];
  const unique = truthy(a[2]);
  const values = second === null ? [] : Array.isArray(second) ? second : [second!];
  if (first === null) return unique ? uniqueValues(values, ctx) : values.slice();
  const arr = arrayArg(ctx, 'APPEND', first);
  if (arr === null) return null;
  if (!unique) return arr.concat(values);
  return uniqueValues(arr.concat(values), ctx);
});

def('POP', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'POP', a[0]);
  return arr === null ? null : arr.slice(0, -1);
});

def('SHIFT', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'SHIFT', a[0]);
  return arr === null ? null : arr.slice(1);
});

def('SLICE', 2, 3, (a, ctx) => {
  const arr = arrayArg(ctx, 'SLICE', a[0]);
  if (arr === null) return null;
  const len = arr.length;
  let start = int(a[1]);
  if (start < 0) start = Math.max(0, len + start);
  let end = len;
  if (a.length > 2 && a[2] !== null) {
    const n = int(a[2]);
    end = n < 0 ? len + n : start + n;
  }
  if (end <= start) return [];
  return arr.slice(start, end);
});

def('REMOVE_VALUE', 2, 3, (a, ctx) => {
  const arr = arrayArg(ctx, 'REMOVE_VALUE', a[0]);
  if (arr === null) return null;
  let limit = a.length > 2 && a[2] !== null ? int(a[2]) : Infinity;
  const out: AqlValue[] = [];
  for (const v of arr) {
    if (limit > 0 && equals(v, a[1])) {
      limit--;
      continue;
    }
    out.push(v);
  }
  return out;
});

def('REMOVE_VALUES', 2, 2, (a, ctx) => {
  const arr = arrayArg(ctx, 'REMOVE_VALUES', a[0]);
  if (arr === null) return null;
  if (!Array.isArray(a[1])) return arr.slice();
  return keySet(a[1], ctx, (remove) => {
    const out: AqlValue[] = [];
    return loop(
      ctx,
      arr.length,
      (i) => {
        const v = arr[i]!;
        if (!remove.has(hashKey(v))) out.push(v);
      },
      () => out,
    );
  });
});

def('REMOVE_NTH', 2, 2, (a, ctx) => {
  const arr = arrayArg(ctx, 'REMOVE_NTH', a[0]);
  if (arr === null) return null;
  let i = int(a[1]);
  if (i < 0) i += arr.length;
  if (i < 0 || i >= arr.length) return arr.slice();
  return [...arr.slice(0, i), ...arr.slice(i + 1)];
});

def('REPLACE_NTH', 3, 4, (a, ctx) => {
  const arr = arrayArg(ctx, 'REPLACE_NTH', a[0]);
  if (arr === null) return null;
  let i = int(a[1]);
  if (i < 0) i = Math.max(0, arr.length + i);
  const out = arr.slice();
  if (i < arr.length) {
    out[i] = a[2]!;
    return out;
  }
  if (i > arr.length) {
    if (a.length < 4) throw new ThemisError('VALIDATION_FAILED', 'REPLACE_NTH(): position is beyond the end of the array and no padding value was given');
    if (i - arr.length > MAX_RANGE) throw rangeTooLarge();
    charge(ctx, 8 * (i - arr.length));
    while (out.length < i) out.push(a[3]!);
  }
  out.push(a[2]!);
  return out;
});

// ---------------------------------------------------------------------------
// Document / object functions

function objectArg(ctx: FnContext, fn: string, v: AqlValue | undefined): AqlObject | null {
  return isObject(v) ? v : invalidArg(ctx, fn);
}

def('HAS', 2, 2, (a, ctx) => {
  const o = a[0];
  return isObject(o) ? hasAttribute(o, strOf(a[1], ctx)) : false;
});

def(['ATTRIBUTES', 'KEYS'], 1, 3, (a, ctx) => {
  const o = objectArg(ctx, 'ATTRIBUTES', a[0]);
  if (o === null) return null;
  let names = Object.getOwnPropertyNames(o);
  if (truthy(a[1])) names = names.filter((n) => !isSystemAttribute(n));
  if (truthy(a[2])) names.sort(compareStrings);
  return names;
});

def('VALUES', 1, 2, (a, ctx) => {
  const o = objectArg(ctx, 'VALUES', a[0]);
  if (o === null) return null;
  const skip = truthy(a[1]);
  const out: AqlValue[] = [];
  for (const n of Object.getOwnPropertyNames(o)) if (!skip || !isSystemAttribute(n)) out.push(o[n] as AqlValue);
  return out;
});

def('ENTRIES', 1, 1, (a, ctx) => {
  const o = objectArg(ctx, 'ENTRIES', a[0]);
  if (o === null) return null;
  const names = Object.getOwnPropertyNames(o);
  charge(ctx, 16 + 56 * names.length);
  return names.map((n) => [n, o[n] as AqlValue]);
});

def('KEEP', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'KEEP', a[0]);
  if (o === null) return null;
  const keep = new Set(attributeNameArgs(a, 1, ctx));
  const out: AqlObject = {};
  for (const n of Object.getOwnPropertyNames(o)) if (keep.has(n)) setAttribute(out, n, o[n] as AqlValue);
  return out;
});

def('UNSET', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'UNSET', a[0]);
  if (o === null) return null;
  const drop = new Set(attributeNameArgs(a, 1, ctx));
  const out: AqlObject = {};
  for (const n of Object.getOwnPropertyNames(o)) if (!drop.has(n)) setAttribute(out, n, o[n] as AqlValue);
  return out;
});

function keepRecursive(v: AqlValue, names: Set<string>, keep: boolean): AqlValue {
  if (Array.isArray(v)) return v.map((x) => keepRecursive(x, names, keep));
  if (!isObject(v)) return v;
  const out: AqlObject = {};
  for (const n of Object.getOwnPropertyNames(v))
    if (names.has(n) === keep) setAttribute(out, n, keepRecursive(v[n] as AqlValue, names, keep));
  return out;
}

def('KEEP_RECURSIVE', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'KEEP_RECURSIVE', a[0]);
  if (o !== null && ctx.gov !== undefined) ctx.gov.charge(sizeOf(o, ctx.gov.maxDepth, ctx.texts));
  return o === null ? null : keepRecursive(o, new Set(attributeNameArgs(a, 1, ctx)), true);
});

def('UNSET_RECURSIVE', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'UNSET_RECURSIVE', a[0]);
  if (o !== null && ctx.gov !== undefined) ctx.gov.charge(sizeOf(o, ctx.gov.maxDepth, ctx.texts));
  return o === null ? null : keepRecursive(o, new Set(attributeNameArgs(a, 1, ctx)), false);
});

function mergeInto(out: AqlObject, o: AqlObject, recursive: boolean): void {
  for (const n of Object.getOwnPropertyNames(o)) {
    const v = o[n] as AqlValue;
    if (recursive && isObject(v) && hasAttribute(out, n) && isObject(out[n])) {
      const inner: AqlObject = {};
      mergeInto(inner, out[n] as AqlObject, false);
      mergeInto(inner, v, true);
      setAttribute(out, n, inner);
    } else setAttribute(out, n, v);
  }
}

function mergeFn(name: string, recursive: boolean): AqlFunction {
  return (a, ctx) => {
    const docs = a.length === 1 && Array.isArray(a[0]) ? (a[0] as AqlValue[]) : a;
    const out: AqlObject = {};
    let bad = false;
    return loop(
      ctx,
      docs.length,
      (i) => {
        const d = docs[i];
        if (!isObject(d)) {
          bad = true;
          return STOP;
        }
        const gov = ctx.gov;
        // Recursive merges copy nested objects; plain ones add one slot per attribute.
        if (gov !== undefined) gov.charge(recursive ? sizeOf(d, gov.maxDepth, ctx.texts) : 16 * Object.getOwnPropertyNames(d).length);
        mergeInto(out, d, recursive);
        return undefined;
      },
      () => (bad ? invalidArg(ctx, name) : out),
      64,
    );
  };
}
def('MERGE', 1, Infinity, mergeFn('MERGE', false));
def('MERGE_RECURSIVE', 1, Infinity, mergeFn('MERGE_RECURSIVE', true));

def('ZIP', 2, 2, (a, ctx) => {
  const keys = a[0];
  const values = a[1];
  if (!Array.isArray(keys) || !Array.isArray(values) || keys.length !== values.length) return invalidArg(ctx, 'ZIP');
  charge(ctx, 24 + 48 * keys.length);
  const out: AqlObject = {};
  for (let i = 0; i < keys.length; i++) {
    const k = str(keys[i]);
    if (!hasAttribute(out, k)) setAttribute(out, k, values[i]!);
  }
  return out;
});

def('TRANSLATE', 2, 3, (a, ctx) => {
  const lookup = objectArg(ctx, 'TRANSLATE', a[1]);
  if (lookup === null) return null;
  const k = strOf(a[0], ctx);
  if (hasAttribute(lookup, k)) return lookup[k] as AqlValue;
  return a.length > 2 ? a[2]! : a[0]!;
});

def('VALUE', 2, 2, (a, ctx) => {
  const path = a[1];
  if (!isObject(a[0]) || !Array.isArray(path)) return invalidArg(ctx, 'VALUE');
  let cur: AqlValue = a[0];
  for (const p of path) {
    if (typeof p === 'number' && Array.isArray(cur)) {
      const i: number = Math.trunc(p) < 0 ? cur.length + Math.trunc(p) : Math.trunc(p);
      cur = i >= 0 && i < cur.length ? cur[i]! : null;
    } else if (typeof p === 'string' && isObject(cur)) cur = getAttribute(cur, p);
    else return null;
  }
  return cur;
});

function matchesExample(doc: AqlObject, example: AqlObject): boolean {
  for (const k of Object.getOwnPropertyNames(example)) {
    if (!equals(getAttribute(doc, k), example[k] as AqlValue)) return false;
  }
  return true;
}

def('MATCHES', 2, 3, (a, ctx) => {
  const doc = a[0];
  const ret = truthy(a[2]);
  const examples = Array.isArray(a[1]) ? a[1] : [a[1]!];
  if (!isObject(doc)) return ret ? -1 : false;
  if (examples.length === 0) return invalidArg(ctx, 'MATCHES');
  for (let i = 0; i < examples.length; i++) {
    const ex = examples[i];
    if (!isObject(ex)) return invalidArg(ctx, 'MATCHES');
    if (matchesExample(doc, ex)) return ret ? i : true;
  }
  return ret ? -1 : false;
});

/** Where a document id splits: ThemisTS ids are `table:pk`; ArangoDB's `collection/key` is accepted too (whichever comes first). */
function idSeparator(id: string): number {
  const colon = id.indexOf(':');
  const slash = id.indexOf('/');
  return colon < 0 ? slash : slash < 0 ? colon : Math.min(colon, slash);
}

function documentId(fn: string, v: AqlValue | undefined): [string, string] {
  let id: AqlValue | undefined = v;
  if (isObject(v)) id = getAttribute(v, '_id');
  if (typeof id === 'string') {
    const sep = idSeparator(id);
    if (sep > 0 && sep < id.length - 1) return [id.slice(0, sep), id.slice(sep + 1)];
  }
  throw new ThemisError('VALIDATION_FAILED', `${fn}(): expects a document identifier ('collection:key', or ArangoDB's 'collection/key') or a document with an _id`);
}

def('PARSE_IDENTIFIER', 1, 1, (a, ctx) => {
  const [collection, key] = documentId('PARSE_IDENTIFIER', a[0]);
  return { collection, key };
});
def('PARSE_COLLECTION', 1, 1, (a, ctx) => documentId('PARSE_COLLECTION', a[0])[0]);
def('PARSE_KEY', 1, 1, (a, ctx) => documentId('PARSE_KEY', a[0])[1]);
def('IS_SAME_COLLECTION', 2, 2, (a, ctx) => {
  const v = a[1];
  const id = isObject(v) ? getAttribute(v, '_id') : v;
  if (typeof id !== 'string') return invalidArg(ctx, 'IS_SAME_COLLECTION');
  const sep = idSeparator(id);
  return (sep < 0 ? id : id.slice(0, sep)) === strOf(a[0], ctx);
});

// ---------------------------------------------------------------------------
// Type checks and casts

def('TO_NUMBER', 1, 1, (a, ctx) => toNumber(a[0]));
def('TO_STRING', 1, 1, (a, ctx) => strOf(a[0], ctx));
def('TO_BOOL', 1, 1, (a, ctx) => truthy(a[0]));
def(['TO_ARRAY', 'TO_LIST'], 1, 1, (a, ctx) => toArray(a[0]));
def('IS_NULL', 1, 1, (a, ctx) => a[0] === null || a[0] === undefined);
def('IS_BOOL', 1, 1, (a, ctx) => typeof a[0] === 'boolean');
def('IS_NUMBER', 1, 1, (a, ctx) => typeof a[0] === 'number');
def('IS_STRING', 1, 1, (a, ctx) => typeof a[0] === 'string');
def(['IS_ARRAY', 'IS_LIST'], 1, 1, (a, ctx) => Array.isArray(a[0]));
def(['IS_OBJECT', 'IS_DOCUMENT'], 1, 1, (a, ctx) => isObject(a[0]));
def('IS_DATESTRING', 1, 1, (a, ctx) => typeof a[0] === 'string' && DATE_STRING.test(a[0]));
def('IS_KEY', 1, 1, (a, ctx) => typeof a[0] === 'string' && /^[a-zA-Z0-9_\-:.@()+,=;$!*'%]{1,254}$/.test(a[0]));
def('TYPENAME', 1, 1, (a, ctx) => typeName(a[0]));

// ---------------------------------------------------------------------------
// Miscellaneous

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

// ---------------------------------------------------------------------------
// Date functions

const DAY_MS = 86_400_000;
/** Valid timestamps: 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. */
const MIN_DATE_MS = -62_167_219_200_000;
const MAX_DATE_MS = 253_402_300_799_999;

const UNIT_MS = {
  y: 31_556_952_000, // 365.2425 days
  m: 2_629_746_000, // 1/12 year
  w: 604_800_000,
  d: DAY_MS,
  h: 3_600_000,
  i: 60_000,
  s: 1_000,
  f: 1,
} as const;

type DateUnit = keyof typeof UNIT_MS;

const UNIT_NAMES: Record<string, DateUnit> = {
  y: 'y', year: 'y', years: 'y',
  m: 'm', month: 'm', months: 'm',
  w: 'w', week: 'w', weeks: 'w',
  d: 'd', day: 'd', days: 'd',
  h: 'h', hour: 'h', hours: 'h',
  i: 'i', minute: 'i', minutes: 'i',
  s: 's', second: 's', seconds: 's',
  f: 'f', millisecond: 'f', milliseconds: 'f',
};

function parseUnit(v: AqlValue | undefined): DateUnit | undefined {
  return typeof v === 'string' ? UNIT_NAMES[v.toLowerCase()] : undefined;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12; day may overflow). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

interface Civil {
  y: number;
  m: number;
  d: number;
  h: number;
  i: number;
  s: number;
  f: number;
  /** 0 = Sunday .. 6 = Saturday */
  dow: number;
}

function civil(ms: number): Civil {
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  let z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const i = Math.floor(rest / 60_000);
  rest -= i * 60_000;
  const s = Math.floor(rest / 1000);
  const f = rest - s * 1000;
  z = ((days % 7) + 7 + 4) % 7; // 1970-01-01 was a Thursday
  return { y, m, d, h, i, s, f, dow: z };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

function civilToMs(y: number, m: number, d: number, h = 0, i = 0, s = 0, f = 0): number {
  return daysFromCivil(y, m, d) * DAY_MS + h * 3_600_000 + i * 60_000 + s * 1000 + f;
}

function validMs(ms: number): boolean {
  return ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
}

/** ISO 8601 in UTC with milliseconds, or null outside the valid range. */
function isoString(ms: number): string | null {
  return validMs(ms) ? new Date(ms).toISOString() : null;
}

/** Date strings ArangoDB accepts: YYYY[-MM[-DD[(T| )HH:MM[:SS[.fff]]]]][Z|±HH[:]MM]. */
const DATE_STRING = /^(\d{1,4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?)?([zZ]|[+-]\d{2}(?::?\d{2})?)?$/;

function parseDateString(s: string): number | null {
  const m = DATE_STRING.exec(s);
  if (m === null) return null;
  const y = Number(m[1]);
  const mo = m[2] !== undefined ? Number(m[2]) : 1;
  const d = m[3] !== undefined ? Number(m[3]) : 1;
  const h = m[4] !== undefined ? Number(m[4]) : 0;
  const i = m[5] !== undefined ? Number(m[5]) : 0;
  const sec = m[6] !== undefined ? Number(m[6]) : 0;
  const f = m[7] !== undefined ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || i > 59 || sec > 59) return null;
  let ms = civilToMs(y, mo, d, h, i, sec, f);
  const tz = m[8];
  if (tz !== undefined && tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  return validMs(ms) ? ms : null;
}

/** A date argument (ms timestamp or ISO 8601 string) as ms, or null (with a warning). */
function dateArg(ctx: FnContext, fn: string, v: AqlValue | undefined): number | null {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && validMs(v)) return Math.trunc(v);
  } else if (typeof v === 'string') {
    const ms = parseDateString(v);
    if (ms !== null) return ms;
  }
  return warn(ctx, fn, 'invalid date value');
}

// Time zones (IANA names through Intl). Offsets are local minus UTC, in ms.

const tzFormatters = new Map<string, Intl.DateTimeFormat>();
const UTC_NAMES = new Set(['UTC', 'ETC/UTC', 'Z', 'GMT', 'ETC/GMT', 'UCT', 'ZULU', 'UNIVERSAL', 'ETC/UNIVERSAL', 'ETC/ZULU']);

/** Validates a time zone argument: undefined for UTC (or absent/null), else the zone name. */
function tzArg(fn: string, v: AqlValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ThemisError('VALIDATION_FAILED', `${fn}(): time zone must be a string`);
  if (UTC_NAMES.has(v.toUpperCase())) return undefined;
  if (!tzFormatters.has(v)) {
    let f: Intl.DateTimeFormat;
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: v,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch {
      throw new ThemisError('VALIDATION_FAILED', `${fn}(): unknown time zone '${v}'`, { details: { timezone: v } });
    }
    tzFormatters.set(v, f);
  }
  return v;
}

function tzOffset(ms: number, tz: string | undefined): number {
  if (tz === undefined) return 0;
  const f = tzFormatters.get(tz)!;
  let y = 0;
  let mo = 1;
  let d = 1;
  let h = 0;
  let i = 0;
  let s = 0;
  let bc = false;
  for (const p of f.formatToParts(new Date(ms))) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        i = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  if (bc) y = 1 - y;
  const wall = civilToMs(y, mo, d, h, i, s, 0);
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

function toLocal(ms: number, tz: string | undefined): number {
  return tz === undefined ? ms : ms + tzOffset(ms, tz);
}

function fromLocal(local: number, tz: string | undefined): number {
  if (tz === undefined) return local;
  const guess = local - tzOffset(local, tz);
  return local - tzOffset(guess, tz);
}

/** Date components of a date argument in an optional time zone, or null. */
function partsArg(ctx: FnContext, fn: string, a: AqlValue[], tzIndex: number): Civil | null {
  const ms = dateArg(ctx, fn, a[0]);
  if (ms === null) return null;
  return civil(toLocal(ms, a.length > tzIndex ? tzArg(fn, a[tzIndex]) : undefined));
}

function dayOfYear(c: Civil): number {
  return daysFromCivil(c.y, c.m, c.d) - daysFromCivil(c.y, 1, 1) + 1;
}

function isoWeek(c: Civil): { week: number; year: number } {
  const days = daysFromCivil(c.y, c.m, c.d);
  const isoDow = c.dow === 0 ? 7 : c.dow;
  const thursday = civil((days + 4 - isoDow) * DAY_MS);
  return { week: Math.floor((dayOfYear(thursday) - 1) / 7) + 1, year: thursday.y };
}

def('DATE_NOW', 0, 0, (_a, ctx) => ctx.now());

/** DATE_TIMESTAMP/DATE_ISO8601 argument(s) as ms, or null. */
function dateFromArgs(ctx: FnContext, fn: string, a: AqlValue[]): number | null {
  if (a.length === 1) return dateArg(ctx, fn, a[0]);
  const parts: number[] = [];
  for (let k = 0; k < 7; k++) {
    if (k >= a.length) {
      parts.push(k < 3 ? 1 : 0);
      continue;
    }
    const v = a[k];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < 0) return warn(ctx, fn, 'invalid date component');
    parts.push(Math.trunc(n));
  }
  const [y, mo, d, h, i, s, f] = parts as [number, number, number, number, number, number, number];
  // Overflowing components carry into the larger ones (month 13 = January of the next year).
  const months = y * 12 + (mo - 1);
  const ms = daysFromCivil(Math.floor(months / 12), (months % 12) + 1, 1) * DAY_MS + (d - 1) * DAY_MS + h * 3_600_000 + i * 60_000 + s * 1000 + f;
  return validMs(ms) ? ms : warn(ctx, fn, 'date out of range');
}

def('DATE_TIMESTAMP', 1, 7, (a, ctx) => dateFromArgs(ctx, 'DATE_TIMESTAMP', a));
def('DATE_ISO8601', 1, 7, (a, ctx) => {
  const ms = dateFromArgs(ctx, 'DATE_ISO8601', a);
  return ms === null ? null : isoString(ms);
});

function componentFn(name: string, pick: (c: Civil) => AqlValue, withTz = true): void {
  def(name, 1, withTz ? 2 : 1, (a, ctx) => {
    const c = partsArg(ctx, name, a, 1);
    return c === null ? null : pick(c);
  });
}
componentFn('DATE_DAYOFWEEK', (c) => c.dow);
componentFn('DATE_YEAR', (c) => c.y);
componentFn('DATE_MONTH', (c) => c.m);
componentFn('DATE_DAY', (c) => c.d);
componentFn('DATE_HOUR', (c) => c.h);
componentFn('DATE_MINUTE', (c) => c.i);
componentFn('DATE_SECOND', (c) => c.s, false);
componentFn('DATE_MILLISECOND', (c) => c.f, false);
componentFn('DATE_DAYOFYEAR', dayOfYear);
componentFn('DATE_ISOWEEK', (c) => isoWeek(c).week);
componentFn('DATE_ISOWEEKYEAR', (c) => isoWeek(c));
componentFn('DATE_LEAPYEAR', (c) => isLeap(c.y));
componentFn('DATE_QUARTER', (c) => Math.floor((c.m - 1) / 3) + 1);
componentFn('DATE_DAYS_IN_MONTH', (c) => daysInMonth(c.y, c.m));

/** Adds `amount` units to a local (wall-clock) timestamp; months and years by the calendar. */
function addUnits(local: number, amount: number, unit: DateUnit): number {
  if (unit === 'y' || unit === 'm') {
    const n = Math.trunc(amount) * (unit === 'y' ? 12 : 1);
    const c = civil(local);
    const months = c.y * 12 + (c.m - 1) + n;
    const y = Math.floor(months / 12);
    const m = months - y * 12 + 1;
    // Day overflow carries into the next month (Jan 31 + 1 month = Mar 3 in 2023).
    return civilToMs(y, m, 1) + (c.d - 1) * DAY_MS + (local - civilToMs(c.y, c.m, c.d));
  }
  return local + Math.round(amount * UNIT_MS[unit]);
}

const ISO_DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,3}))?S)?)?$/;

function dateAddFn(name: string, sign: 1 | -1): AqlFunction {
  return (a, ctx) => {
    const ms = dateArg(ctx, name, a[0]);
    if (ms === null) return null;
    const amountArg = a[1];
    let steps: [number, DateUnit][];
    let tzIndex: number;
    const duration = typeof amountArg === 'string' ? ISO_DURATION.exec(amountArg) : null;
    if (duration !== null && amountArg !== 'P' && !(amountArg as string).endsWith('T')) {
      const units: DateUnit[] = ['y', 'm', 'w', 'd', 'h', 'i', 's'];
      steps = [];
      for (let k = 0; k < units.length; k++) if (duration[k + 1] !== undefined) steps.push([Number(duration[k + 1]), units[k]!]);
      if (duration[8] !== undefined) steps.push([Number(duration[8].padEnd(3, '0')), 'f']);
      tzIndex = 2;
    } else {
      if (a.length < 3) return warn(ctx, name, 'expects a unit or an ISO 8601 duration');
      let amount = amountArg;
      let unitArg = a[2];
      // Legacy argument order DATE_ADD(date, "month", 1).
      if (parseUnit(amount) !== undefined && parseUnit(unitArg) === undefined && typeof unitArg === 'number') {
        [amount, unitArg] = [unitArg, amount];
      }
      const unit = parseUnit(unitArg);
      if (unit === undefined) return warn(ctx, name, 'invalid unit');
      const n = typeof amount === 'number' ? amount : typeof amount === 'string' && amount.trim() !== '' ? Number(amount) : NaN;
      if (!Number.isFinite(n)) return warn(ctx, name, 'invalid amount');
      steps = [[n, unit]];
      tzIndex = 3;
    }
    const tz = a.length > tzIndex ? tzArg(name, a[tzIndex]) : undefined;
    let local = toLocal(ms, tz);
    for (const [n, unit] of steps) local = addUnits(local, sign * n, unit);
    const out = fromLocal(local, tz);
    return validMs(out) ? isoString(out) : warn(ctx, name, 'date out of range');
  };
}
def('DATE_ADD', 2, 4, dateAddFn('DATE_ADD', 1));
def(['DATE_SUBTRACT', 'DATE_SUB'], 2, 4, dateAddFn('DATE_SUBTRACT', -1));

function truncLocal(local: number, unit: DateUnit): number {
  const c = civil(local);
  switch (unit) {
    case 'y':
      return civilToMs(c.y, 1, 1);
    case 'm':
      return civilToMs(c.y, c.m, 1);
    case 'w':
      return civilToMs(c.y, c.m, c.d) - ((c.dow + 6) % 7) * DAY_MS; // back to Monday
    case 'd':
      return civilToMs(c.y, c.m, c.d);
    case 'h':
      return civilToMs(c.y, c.m, c.d, c.h);
    case 'i':
      return civilToMs(c.y, c.m, c.d, c.h, c.i);
    case 's':
      return civilToMs(c.y, c.m, c.d, c.h, c.i, c.s);
    case 'f':
      return local;
  }
}

def('DATE_TRUNC', 2, 3, (a, ctx) => {
  const ms = dateArg(ctx, 'DATE_TRUNC', a[0]);
  if (ms === null) return null;
  const unit = parseUnit(a[1]);
  if (unit === undefined || unit === 'w') return warn(ctx, 'DATE_TRUNC', 'invalid unit');
  const tz = tzArg('DATE_TRUNC', a[2]);
  return isoString(fromLocal(truncLocal(toLocal(ms, tz), unit), tz));
});

def('DATE_ROUND', 3, 4, (a, ctx) => {
  const ms = dateArg(ctx, 'DATE_ROUND', a[0]);
  if (ms === null) return null;
  const amount = num(a[1]);
  const unit = parseUnit(a[2]);
  if (unit === undefined || unit === 'y' || unit === 'm' || unit === 'w') return warn(ctx, 'DATE_ROUND', 'invalid unit');
  if (!(amount >= 1) || !Number.isInteger(amount)) return warn(ctx, 'DATE_ROUND', 'amount must be a positive integer');
  const tz = tzArg('DATE_ROUND', a[3]);
  const bucket = amount * UNIT_MS[unit];
  const local = toLocal(ms, tz);
  return isoString(fromLocal(Math.floor(local / bucket) * bucket, tz));
});

def('DATE_DIFF', 3, 6, (a, ctx) => {
  const d1 = dateArg(ctx, 'DATE_DIFF', a[0]);
  const d2 = dateArg(ctx, 'DATE_DIFF', a[1]);
  if (d1 === null || d2 === null) return null;
  const unit = parseUnit(a[2]);
  if (unit === undefined) return warn(ctx, 'DATE_DIFF', 'invalid unit');
  // DATE_DIFF(d1, d2, unit, asFloat, tz1, tz2); a string in the asFloat
  // position is taken as tz1 (the form ArangoDB's own examples use).
  const tzAt = typeof a[3] === 'string' ? 3 : 4;
  const asFloat = tzAt === 4 && truthy(a[3]);
  const tz1 = tzArg('DATE_DIFF', a[tzAt]);
  const tz2 = a.length > tzAt + 1 && a[tzAt + 1] !== null ? tzArg('DATE_DIFF', a[tzAt + 1]) : tz1;
  const diff = (toLocal(d2, tz2) - toLocal(d1, tz1)) / UNIT_MS[unit];
  if (asFloat) return diff;
  const r = Math.sign(diff) * Math.round(Math.abs(diff)); // std::round: half away from zero
  return r === 0 ? 0 : r;
});

const COMPARE_UNITS: Exclude<DateUnit, 'w'>[] = ['y', 'm', 'd', 'h', 'i', 's', 'f'];
def('DATE_COMPARE', 3, 6, (a, ctx) => {
  const d1 = dateArg(ctx, 'DATE_COMPARE', a[0]);
  const d2 = dateArg(ctx, 'DATE_COMPARE', a[1]);
  if (d1 === null || d2 === null) return null;
  const start = parseUnit(a[2]);
  const end = a.length > 3 && a[3] !== null ? parseUnit(a[3]) : start;
  if (start === undefined || end === undefined || start === 'w' || end === 'w') return warn(ctx, 'DATE_COMPARE', 'invalid unit');
  const from = COMPARE_UNITS.indexOf(start);
  const to = COMPARE_UNITS.indexOf(end);
  if (to < from) throw new ThemisError('VALIDATION_FAILED', 'DATE_COMPARE(): unitRangeEnd must not come before unitRangeStart');
  const tz1 = tzArg('DATE_COMPARE', a[4]);
  const tz2 = a.length > 5 && a[5] !== null ? tzArg('DATE_COMPARE', a[5]) : tz1;
  const c1 = civil(toLocal(d1, tz1));
  const c2 = civil(toLocal(d2, tz2));
  for (let k = from; k <= to; k++) {
    const u = COMPARE_UNITS[k]!;
    if (c1[u] !== c2[u]) return false;
  }
  return true;
});

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? '-' + s : s;
}

/** DATE_FORMAT placeholders, longest first. */
const FORMAT_TOKENS = ['yyyyyy', 'yyyy', 'yy', 'y', 'mmmm', 'mmm', 'mm', 'm', 'dd', 'd', 'hh', 'h', 'ii', 'i', 'ss', 's', 'fff', 'f', 'xxx', 'x', 'kk', 'k', 'wwww', 'www', 'w', 't', 'z', 'l', 'q', 'a', '&', '%'];

function formatDate(ms: number, local: number, format: string): string {
  const c = civil(local);
  let out = '';
  for (let p = 0; p < format.length; p++) {
    const ch = format[p]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const rest = format.slice(p + 1).toLowerCase();
    const token = FORMAT_TOKENS.find((t) => rest.startsWith(t));
    if (token === undefined) continue; // a lone '%' is dropped
    p += token.length;
    switch (token) {
      case 'yyyyyy':
        out += (c.y < 0 ? '-' : '+') + pad(Math.abs(c.y), 6);
        break;
      case 'yyyy':
        out += c.y >= 0 && c.y <= 9999 ? pad(c.y, 4) : (c.y < 0 ? '-' : '+') + pad(Math.abs(c.y), 6);
        break;
      case 'yy':
        out += pad(c.y % 100, 2);
        break;
      case 'y':
        out += String(c.y);
        break;
      case 'mmmm':
        out += MONTH_NAMES[c.m - 1]!;
        break;
      case 'mmm':
        out += MONTH_NAMES[c.m - 1]!.slice(0, 3);
        break;
      case 'mm':
        out += pad(c.m, 2);
        break;
      case 'm':
        out += String(c.m);
        break;
      case 'dd':
        out += pad(c.d, 2);
        break;
      case 'd':
        out += String(c.d);
        break;
      case 'hh':
        out += pad(c.h, 2);
        break;
      case 'h':
        out += String(c.h);
        break;
      case 'ii':
        out += pad(c.i, 2);
        break;
      case 'i':
        out += String(c.i);
        break;
      case 'ss':
        out += pad(c.s, 2);
        break;
      case 's':
        out += String(c.s);
        break;
      case 'fff':
        out += pad(c.f, 3);
        break;
      case 'f':
        out += String(c.f);
        break;
      case 'xxx':
        out += pad(dayOfYear(c), 3);
        break;
      case 'x':
        out += String(dayOfYear(c));
        break;
      case 'kk':
        out += pad(isoWeek(c).week, 2);
        break;
      case 'k':
        out += String(isoWeek(c).week);
        break;
      case 'wwww':
        out += DAY_NAMES[c.dow]!;
        break;
      case 'www':
        out += DAY_NAMES[c.dow]!.slice(0, 3);
        break;
      case 'w':
        out += String(c.dow);
        break;
      case 't':
        out += String(ms);
        break;
      case 'z':
        out += isoString(ms) ?? '';
        break;
      case 'l':
        out += isLeap(c.y) ? '1' : '0';
        break;
      case 'q':
        out += String(Math.floor((c.m - 1) / 3) + 1);
        break;
      case 'a':
        out += String(daysInMonth(c.y, c.m));
        break;
      case '&':
        break;
      case '%':
        out += '%';
        break;
    }
  }
  return out;
}

def('DATE_FORMAT', 2, 3, (a, ctx) => {
  const ms = dateArg(ctx, 'DATE_FORMAT', a[0]);
  if (ms === null) return null;
  const tz = tzArg('DATE_FORMAT', a[2]);
  const format = strOf(a[1], ctx);
  charge(ctx, 24 * format.length); // a placeholder expands to at most ~12 times its length
  return formatDate(ms, toLocal(ms, tz), format);
});
