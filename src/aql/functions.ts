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
import type { AqlValue } from './ast.js';
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
}

export type AqlFunction = (args: AqlValue[], ctx: FnContext) => AqlValue;

export interface FunctionDef {
  readonly minArgs: number;
  /** `Infinity` for variadic functions. */
  readonly maxArgs: number;
  readonly fn: AqlFunction;
}

/** Functions the planner/executor implement; the evaluator calls `EvalContext.engineCall` for them. */
export const ENGINE_FUNCTIONS: ReadonlySet<string> = new Set(['FULLTEXT', 'BM25', 'SIMILARITY', 'NEAR', 'DOCUMENT']);

const registry = new Map<string, FunctionDef>();

/** All built-in functions by upper-case name. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = registry;

function def(names: string | string[], minArgs: number, maxArgs: number, fn: AqlFunction): void {
  for (const name of Array.isArray(names) ? names : [names]) registry.set(name, { minArgs, maxArgs, fn });
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

/** Optimal-string-alignment (Damerau-Levenshtein) distance. */
export function editDistance(a: string, b: string): number {
  const ca = Array.from(a);
  const cb = Array.from(b);
  const n = ca.length;
  const m = cb.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = new Array<number>(m + 1);
  let cur = new Array<number>(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
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
  }
  return prev[m]!;
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

/** Calls a built-in function by name, checking that it exists and its argument count. */
export function callFunction(name: string, args: AqlValue[], ctx: FnContext): AqlValue {
  const d = registry.get(name);
  if (d === undefined) {
    checkFunction(name, args.length); // throws
    throw new ThemisError('INTERNAL', `function ${name}() must be evaluated by the query engine`);
  }
  if (args.length < d.minArgs || args.length > d.maxArgs) checkArity(name, d, args.length);
  return d.fn(args, ctx);
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

function uniqueValues(values: Iterable<AqlValue>): AqlValue[] {
  const seen = new Set<string>();
  const out: AqlValue[] = [];
  for (const v of values) {
    const k = hashKey(v);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

function keySet(values: readonly AqlValue[]): Set<string> {
  const s = new Set<string>();
  for (const v of values) s.add(hashKey(v));
  return s;
}

function isSystemAttribute(name: string): boolean {
  return name.charCodeAt(0) === 95; // '_'
}

/** Names from `KEEP(doc, "a", "b")` or `KEEP(doc, ["a", "b"])`. */
function attributeNameArgs(args: AqlValue[], from: number): string[] {
  if (args.length === from + 1 && Array.isArray(args[from])) return (args[from] as AqlValue[]).map(str);
  const out: string[] = [];
  for (let i = from; i < args.length; i++) {
    const a = args[i];
    if (Array.isArray(a)) for (const x of a) out.push(str(x));
    else out.push(str(a));
  }
  return out;
}

function numbersOf(ctx: FnContext, fn: string, v: AqlValue | undefined): number[] | null {
  if (!Array.isArray(v)) return invalidArg(ctx, fn);
  const out: number[] = [];
  for (const x of v) {
    if (x === null) continue;
    if (typeof x !== 'number') return invalidArg(ctx, fn);
    out.push(x);
  }
  return out;
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

def(['LENGTH', 'COUNT'], 1, 1, (a) => lengthOf(a[0]));
def('CHAR_LENGTH', 1, 1, (a) => {
  const v = a[0];
  if (v === null) return 0;
  return charLength(str(v));
});

def('CONCAT', 1, Infinity, (a) => {
  const items = a.length === 1 && Array.isArray(a[0]) ? (a[0] as AqlValue[]) : a;
  let s = '';
  for (const v of items) if (v !== null && v !== undefined) s += str(v);
  return s;
});

def('CONCAT_SEPARATOR', 2, Infinity, (a) => {
  const sep = str(a[0]);
  const items = a.length === 2 && Array.isArray(a[1]) ? (a[1] as AqlValue[]) : a.slice(1);
  const parts: string[] = [];
  for (const v of items) if (v !== null && v !== undefined) parts.push(str(v));
  return parts.join(sep);
});

def('LOWER', 1, 1, (a) => str(a[0]).toLowerCase());
def('UPPER', 1, 1, (a) => str(a[0]).toUpperCase());

def('SUBSTRING', 2, 3, (a) => {
  const s = str(a[0]);
  const len = charLength(s);
  let offset = int(a[1]);
  if (offset < 0) offset = Math.max(0, len + offset);
  if (offset >= len) return '';
  if (a.length < 3 || a[2] === null) return charSlice(s, offset);
  const n = int(a[2]);
  if (n <= 0) return '';
  return charSlice(s, offset, offset + n);
});

def('LEFT', 2, 2, (a) => {
  const n = int(a[1]);
  return n <= 0 ? '' : charSlice(str(a[0]), 0, n);
});

def('RIGHT', 2, 2, (a) => {
  const s = str(a[0]);
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

def('TRIM', 1, 2, (a) => {
  const s = str(a[0]);
  const opt = a[1];
  if (typeof opt === 'number') {
    const how = Math.trunc(opt);
    if (how === 1) return trim(s, DEFAULT_TRIM, true, false);
    if (how === 2) return trim(s, DEFAULT_TRIM, false, true);
    return trim(s, DEFAULT_TRIM, true, true);
  }
  return trim(s, typeof opt === 'string' ? opt : DEFAULT_TRIM, true, true);
});
def('LTRIM', 1, 2, (a) => trim(str(a[0]), typeof a[1] === 'string' ? a[1] : DEFAULT_TRIM, true, false));
def('RTRIM', 1, 2, (a) => trim(str(a[0]), typeof a[1] === 'string' ? a[1] : DEFAULT_TRIM, false, true));

def('CONTAINS', 2, 3, (a) => {
  const text = str(a[0]);
  const search = str(a[1]);
  const i = text.indexOf(search);
  if (truthy(a[2])) return i < 0 ? -1 : charIndex(text, i);
  return i >= 0;
});

def('STARTS_WITH', 2, 3, (a) => {
  const text = str(a[0]);
  if (Array.isArray(a[1])) {
    const min = a.length > 2 ? Math.max(1, int(a[2])) : 1;
    let n = 0;
    for (const p of a[1]) if (text.startsWith(str(p))) n++;
    return n >= min;
  }
  return text.startsWith(str(a[1]));
});

function findBounds(s: string, a: AqlValue[]): [number, number] {
  const len = charLength(s);
  const start = a.length > 2 && a[2] !== null ? Math.max(0, int(a[2])) : 0;
  const end = a.length > 3 && a[3] !== null ? Math.min(len, int(a[3]) + 1) : len;
  return [start, end];
}

def('FIND_FIRST', 2, 4, (a) => {
  const text = str(a[0]);
  const search = str(a[1]);
  const [start, end] = findBounds(text, a);
  if (search === '') return start;
  if (start >= end) return -1;
  const region = charSlice(text, start, end);
  const i = region.indexOf(search);
  return i < 0 ? -1 : start + charIndex(region, i);
});

def('FIND_LAST', 2, 4, (a) => {
  const text = str(a[0]);
  const search = str(a[1]);
  const [start, end] = findBounds(text, a);
  if (search === '') return end;
  if (start >= end) return -1;
  const region = charSlice(text, start, end);
  const i = region.lastIndexOf(search);
  return i < 0 ? -1 : start + charIndex(region, i);
});

def('SPLIT', 1, 3, (a, ctx) => {
  if (a.length === 1) return [a[0]!];
  const s = str(a[0]);
  let limit = -1;
  if (a.length > 2 && a[2] !== null) {
    limit = int(a[2]);
    if (limit < 0) return warn(ctx, 'SPLIT', 'limit must not be negative');
    if (limit === 0) return [];
  }
  const sep = a[1];
  let parts: string[];
  if (Array.isArray(sep)) {
    const seps = sep.map(str).filter((x) => x !== '');
    if (seps.length === 0) parts = chars(s);
    else parts = s.split(new RegExp(seps.map(escapeRegex).join('|'), 'u'));
  } else if (typeof sep === 'string') {
    parts = sep === '' ? chars(s) : s.split(sep);
  } else if (sep === null) {
    parts = [s];
  } else return invalidArg(ctx, 'SPLIT');
  return limit >= 0 && parts.length > limit ? parts.slice(0, limit) : parts;
});

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

def('REVERSE', 1, 1, (a) => {
  const v = a[0];
  if (Array.isArray(v)) return v.slice().reverse();
  const s = str(v);
  return SURROGATE.test(s) ? chars(s).reverse().join('') : s.split('').reverse().join('');
});

def('SUBSTITUTE', 2, 4, (a, ctx) => {
  const text = str(a[0]);
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

def('LIKE', 2, 3, (a) => like(str(a[0]), str(a[1]), truthy(a[2])));

def('REGEX_TEST', 2, 3, (a) => compileRegex(str(a[1]), truthy(a[2])).test(str(a[0])));

def('REGEX_MATCHES', 2, 3, (a) => {
  const m = compileRegex(str(a[1]), truthy(a[2])).exec(str(a[0]));
  if (m === null) return null;
  return Array.from(m, (x) => (x === undefined ? '' : x));
});

def('REGEX_SPLIT', 2, 4, (a, ctx) => {
  const text = str(a[0]);
  const re = compileRegex(str(a[1]), truthy(a[2]));
  let parts = text.split(re).map((x) => (x === undefined ? '' : x));
  if (a.length > 3 && a[3] !== null) {
    const limit = int(a[3]);
    if (limit < 0) return warn(ctx, 'REGEX_SPLIT', 'limit must not be negative');
    parts = parts.slice(0, limit);
  }
  return parts;
});

def('REGEX_REPLACE', 3, 4, (a) => {
  const re = compileRegex(str(a[1]), truthy(a[3]), true);
  return str(a[0]).replace(re, str(a[2]));
});

def('LEVENSHTEIN_DISTANCE', 2, 2, (a) => editDistance(str(a[0]), str(a[1])));

def('JSON_STRINGIFY', 1, 1, (a) => toJson(a[0]));
def('JSON_PARSE', 1, 1, (a, ctx) => {
  if (typeof a[0] !== 'string') return invalidArg(ctx, 'JSON_PARSE');
  try {
    return JSON.parse(a[0]) as AqlValue;
  } catch {
    return warn(ctx, 'JSON_PARSE', 'invalid JSON');
  }
});

function hashFn(algorithm: string): AqlFunction {
  return (a) => createHash(algorithm).update(str(a[0]), 'utf8').digest('hex');
}
def('MD5', 1, 1, hashFn('md5'));
def('SHA1', 1, 1, hashFn('sha1'));
def('SHA256', 1, 1, hashFn('sha256'));
def('SHA512', 1, 1, hashFn('sha512'));
def('TO_BASE64', 1, 1, (a) => Buffer.from(str(a[0]), 'utf8').toString('base64'));
def('TO_HEX', 1, 1, (a) => Buffer.from(str(a[0]), 'utf8').toString('hex'));
def('ENCODE_URI_COMPONENT', 1, 1, (a) => {
  try {
    return encodeURIComponent(str(a[0]));
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
  return (a) => numberOrNull(f(num(a[0])));
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
def('ATAN2', 2, 2, (a) => numberOrNull(Math.atan2(num(a[0]), num(a[1]))));
def('RADIANS', 1, 1, unaryMath((x) => (x * Math.PI) / 180));
def('DEGREES', 1, 1, unaryMath((x) => (x * 180) / Math.PI));
def('PI', 0, 0, () => Math.PI);
def('POW', 2, 2, (a) => numberOrNull(Math.pow(num(a[0]), num(a[1]))));
def('RAND', 0, 0, () => Math.random());

def('RANGE', 2, 3, (a, ctx) => {
  if (a.length < 3 || a[2] === null) {
    const from = int(a[0]);
    const to = int(a[1]);
    return integerRange(from, to);
  }
  const from = num(a[0]);
  const to = num(a[1]);
  const step = num(a[2]);
  if (step === 0 || (from < to && step < 0) || (from > to && step > 0)) return warn(ctx, 'RANGE', 'invalid step');
  if (Math.abs((to - from) / step) + 1 > MAX_RANGE) throw rangeTooLarge();
  const out: number[] = [];
  if (step > 0) for (let x = from; x <= to; x += step) out.push(x);
  else for (let x = from; x >= to; x += step) out.push(x);
  return out;
});

/** The most elements a range (operator `a..b` or RANGE()) may produce. */
export const MAX_RANGE = 10_000_000;

function rangeTooLarge(): ThemisError {
  return new ThemisError('VALIDATION_FAILED', `range too large: at most ${MAX_RANGE} elements`, { details: { max: MAX_RANGE } });
}

/** Integers from..to inclusive (descending when from > to); throws past MAX_RANGE elements. */
export function integerRange(from: number, to: number): number[] {
  const n = Math.abs(to - from) + 1;
  if (!(n <= MAX_RANGE)) throw rangeTooLarge();
  const out = new Array<number>(n);
  if (from <= to) for (let i = 0; i < n; i++) out[i] = from + i;
  else for (let i = 0; i < n; i++) out[i] = from - i;
  return out;
}

// Aggregates over arrays: null elements are ignored.

def('MIN', 1, 1, (a, ctx) => {
  const v = a[0];
  if (!Array.isArray(v)) return invalidArg(ctx, 'MIN');
  let best: AqlValue = null;
  for (const x of v) if (x !== null && (best === null || compare(x, best) < 0)) best = x;
  return best;
});

def('MAX', 1, 1, (a, ctx) => {
  const v = a[0];
  if (!Array.isArray(v)) return invalidArg(ctx, 'MAX');
  let best: AqlValue = null;
  for (const x of v) if (x !== null && (best === null || compare(x, best) > 0)) best = x;
  return best;
});

def('SUM', 1, 1, (a, ctx) => {
  const xs = numbersOf(ctx, 'SUM', a[0]);
  if (xs === null) return null;
  let s = 0;
  for (const x of xs) s += x;
  return numberOrNull(s);
});

def('PRODUCT', 1, 1, (a, ctx) => {
  const xs = numbersOf(ctx, 'PRODUCT', a[0]);
  if (xs === null) return null;
  let p = 1;
  for (const x of xs) p *= x;
  return numberOrNull(p);
});

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

def(['AVERAGE', 'AVG'], 1, 1, (a, ctx) => {
  const xs = numbersOf(ctx, 'AVERAGE', a[0]);
  if (xs === null || xs.length === 0) return null;
  return numberOrNull(mean(xs));
});

def('MEDIAN', 1, 1, (a, ctx) => {
  const xs = numbersOf(ctx, 'MEDIAN', a[0]);
  if (xs === null || xs.length === 0) return null;
  xs.sort((x, y) => x - y);
  const mid = xs.length >> 1;
  return numberOrNull(xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2);
});

function variance(xs: number[], sample: boolean): number | null {
  const n = xs.length;
  if (n === 0 || (sample && n < 2)) return null;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return numberOrNull(s / (sample ? n - 1 : n));
}

function varianceFn(name: string, sample: boolean, sqrt: boolean): AqlFunction {
  return (a, ctx) => {
    const xs = numbersOf(ctx, name, a[0]);
    if (xs === null) return null;
    const v = variance(xs, sample);
    return v === null ? null : sqrt ? numberOrNull(Math.sqrt(v)) : v;
  };
}
def(['VARIANCE_POPULATION', 'VARIANCE'], 1, 1, varianceFn('VARIANCE_POPULATION', false, false));
def('VARIANCE_SAMPLE', 1, 1, varianceFn('VARIANCE_SAMPLE', true, false));
def(['STDDEV_POPULATION', 'STDDEV'], 1, 1, varianceFn('STDDEV_POPULATION', false, true));
def('STDDEV_SAMPLE', 1, 1, varianceFn('STDDEV_SAMPLE', true, true));

def('PERCENTILE', 2, 3, (a, ctx) => {
  const xs = numbersOf(ctx, 'PERCENTILE', a[0]);
  if (xs === null || xs.length === 0) return null;
  const p = num(a[1]);
  if (!(p > 0 && p <= 100)) return warn(ctx, 'PERCENTILE', 'percentile must be greater than 0 and at most 100');
  const method = a.length > 2 && a[2] !== null ? str(a[2]) : 'rank';
  xs.sort((x, y) => x - y);
  if (method === 'rank') {
    const idx = Math.ceil((p / 100) * xs.length) - 1;
    return xs[Math.max(0, Math.min(xs.length - 1, idx))]!;
  }
  if (method === 'interpolation') {
    const pos = (p / 100) * (xs.length + 1) - 1;
    if (pos <= 0) return xs[0]!;
    if (pos >= xs.length - 1) return xs[xs.length - 1]!;
    const lo = Math.floor(pos);
    return numberOrNull(xs[lo]! + (pos - lo) * (xs[lo + 1]! - xs[lo]!));
  }
  return warn(ctx, 'PERCENTILE', "method must be 'rank' or 'interpolation'");
});

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
  for (let i = 0; i < arr.length; i++)
    if (equals(arr[i], needle)) {
      found = i;
      break;
    }
  return ret ? found : found >= 0;
});
registry.set('CONTAINS_ARRAY', registry.get('POSITION')!);

def(['COUNT_DISTINCT', 'COUNT_UNIQUE'], 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'COUNT_DISTINCT', a[0]);
  return arr === null ? null : keySet(arr).size;
});

def('UNIQUE', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'UNIQUE', a[0]);
  return arr === null ? null : uniqueValues(arr);
});

def('SORTED', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'SORTED', a[0]);
  return arr === null ? null : arr.slice().sort(compare);
});

def('SORTED_UNIQUE', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'SORTED_UNIQUE', a[0]);
  if (arr === null) return null;
  const sorted = arr.slice().sort(compare);
  const out: AqlValue[] = [];
  for (const x of sorted) if (out.length === 0 || compare(out[out.length - 1], x) !== 0) out.push(x);
  return out;
});

function arraysArgs(ctx: FnContext, fn: string, a: AqlValue[]): AqlValue[][] | null {
  for (const x of a) if (!Array.isArray(x)) return invalidArg(ctx, fn);
  return a as AqlValue[][];
}

def('UNION', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'UNION', a);
  return arrays === null ? null : ([] as AqlValue[]).concat(...arrays);
});

def('UNION_DISTINCT', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'UNION_DISTINCT', a);
  return arrays === null ? null : uniqueValues(([] as AqlValue[]).concat(...arrays));
});

def('INTERSECTION', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'INTERSECTION', a);
  if (arrays === null) return null;
  const others = arrays.slice(1).map(keySet);
  const out: AqlValue[] = [];
  const seen = new Set<string>();
  for (const v of arrays[0]!) {
    const k = hashKey(v);
    if (seen.has(k)) continue;
    seen.add(k);
    if (others.every((s) => s.has(k))) out.push(v);
  }
  return out;
});

def('MINUS', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'MINUS', a);
  if (arrays === null) return null;
  const exclude = new Set<string>();
  for (const arr of arrays.slice(1)) for (const v of arr) exclude.add(hashKey(v));
  const out: AqlValue[] = [];
  for (const v of arrays[0]!) {
    const k = hashKey(v);
    if (exclude.has(k)) continue;
    exclude.add(k);
    out.push(v);
  }
  return out;
});

def('OUTERSECTION', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'OUTERSECTION', a);
  if (arrays === null) return null;
  const counts = new Map<string, { v: AqlValue; n: number }>();
  for (const arr of arrays)
    for (const v of arr) {
      const k = hashKey(v);
      const e = counts.get(k);
      if (e) e.n++;
      else counts.set(k, { v, n: 1 });
    }
  const out: AqlValue[] = [];
  for (const e of counts.values()) if (e.n === 1) out.push(e.v);
  return out;
});

def('INTERLEAVE', 2, Infinity, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'INTERLEAVE', a);
  if (arrays === null) return null;
  const out: AqlValue[] = [];
  const max = Math.max(...arrays.map((x) => x.length));
  for (let i = 0; i < max; i++) for (const arr of arrays) if (i < arr.length) out.push(arr[i]!);
  return out;
});

def('JACCARD', 2, 2, (a, ctx) => {
  const arrays = arraysArgs(ctx, 'JACCARD', a);
  if (arrays === null) return null;
  const x = keySet(arrays[0]!);
  const y = keySet(arrays[1]!);
  if (x.size === 0 && y.size === 0) return 1;
  let inter = 0;
  for (const k of x) if (y.has(k)) inter++;
  return inter / (x.size + y.size - inter);
});

function flatten(arr: AqlValue[], depth: number, out: AqlValue[]): AqlValue[] {
  for (const v of arr) {
    if (Array.isArray(v) && depth > 0) flatten(v, depth - 1, out);
    else out.push(v);
  }
  return out;
}

/** Flattens nested arrays `depth` levels (for FLATTEN() and `[**]`). */
export function flattenArray(arr: AqlValue[], depth: number): AqlValue[] {
  return flatten(arr, depth, []);
}

def('FLATTEN', 1, 2, (a, ctx) => {
  const arr = arrayArg(ctx, 'FLATTEN', a[0]);
  if (arr === null) return null;
  const depth = a.length > 1 && a[1] !== null ? int(a[1]) : 1;
  return flatten(arr, Math.max(0, depth), []);
});

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
  if (first === null) return unique ? uniqueValues(values) : values.slice();
  const arr = arrayArg(ctx, 'APPEND', first);
  if (arr === null) return null;
  if (!unique) return arr.concat(values);
  return uniqueValues(arr.concat(values));
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
  const remove = keySet(a[1]);
  return arr.filter((v) => !remove.has(hashKey(v)));
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

def('HAS', 2, 2, (a) => {
  const o = a[0];
  return isObject(o) ? hasAttribute(o, str(a[1])) : false;
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
  return Object.getOwnPropertyNames(o).map((n) => [n, o[n] as AqlValue]);
});

def('KEEP', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'KEEP', a[0]);
  if (o === null) return null;
  const keep = new Set(attributeNameArgs(a, 1));
  const out: AqlObject = {};
  for (const n of Object.getOwnPropertyNames(o)) if (keep.has(n)) setAttribute(out, n, o[n] as AqlValue);
  return out;
});

def('UNSET', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'UNSET', a[0]);
  if (o === null) return null;
  const drop = new Set(attributeNameArgs(a, 1));
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
  return o === null ? null : keepRecursive(o, new Set(attributeNameArgs(a, 1)), true);
});

def('UNSET_RECURSIVE', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'UNSET_RECURSIVE', a[0]);
  return o === null ? null : keepRecursive(o, new Set(attributeNameArgs(a, 1)), false);
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
    for (const d of docs) {
      if (!isObject(d)) return invalidArg(ctx, name);
      mergeInto(out, d, recursive);
    }
    return out;
  };
}
def('MERGE', 1, Infinity, mergeFn('MERGE', false));
def('MERGE_RECURSIVE', 1, Infinity, mergeFn('MERGE_RECURSIVE', true));

def('ZIP', 2, 2, (a, ctx) => {
  const keys = a[0];
  const values = a[1];
  if (!Array.isArray(keys) || !Array.isArray(values) || keys.length !== values.length) return invalidArg(ctx, 'ZIP');
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
  const k = str(a[0]);
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

def('PARSE_IDENTIFIER', 1, 1, (a) => {
  const [collection, key] = documentId('PARSE_IDENTIFIER', a[0]);
  return { collection, key };
});
def('PARSE_COLLECTION', 1, 1, (a) => documentId('PARSE_COLLECTION', a[0])[0]);
def('PARSE_KEY', 1, 1, (a) => documentId('PARSE_KEY', a[0])[1]);
def('IS_SAME_COLLECTION', 2, 2, (a, ctx) => {
  const v = a[1];
  const id = isObject(v) ? getAttribute(v, '_id') : v;
  if (typeof id !== 'string') return invalidArg(ctx, 'IS_SAME_COLLECTION');
  const sep = idSeparator(id);
  return (sep < 0 ? id : id.slice(0, sep)) === str(a[0]);
});

// ---------------------------------------------------------------------------
// Type checks and casts

def('TO_NUMBER', 1, 1, (a) => toNumber(a[0]));
def('TO_STRING', 1, 1, (a) => toStringValue(a[0]));
def('TO_BOOL', 1, 1, (a) => truthy(a[0]));
def(['TO_ARRAY', 'TO_LIST'], 1, 1, (a) => toArray(a[0]));
def('IS_NULL', 1, 1, (a) => a[0] === null || a[0] === undefined);
def('IS_BOOL', 1, 1, (a) => typeof a[0] === 'boolean');
def('IS_NUMBER', 1, 1, (a) => typeof a[0] === 'number');
def('IS_STRING', 1, 1, (a) => typeof a[0] === 'string');
def(['IS_ARRAY', 'IS_LIST'], 1, 1, (a) => Array.isArray(a[0]));
def(['IS_OBJECT', 'IS_DOCUMENT'], 1, 1, (a) => isObject(a[0]));
def('IS_DATESTRING', 1, 1, (a) => typeof a[0] === 'string' && DATE_STRING.test(a[0]));
def('IS_KEY', 1, 1, (a) => typeof a[0] === 'string' && /^[a-zA-Z0-9_\-:.@()+,=;$!*'%]{1,254}$/.test(a[0]));
def('TYPENAME', 1, 1, (a) => typeName(a[0]));

// ---------------------------------------------------------------------------
// Miscellaneous

def(['NOT_NULL', 'COALESCE'], 1, Infinity, (a) => {
  for (const v of a) if (v !== null && v !== undefined) return v;
  return null;
});
def('FIRST_LIST', 1, Infinity, (a) => {
  for (const v of a) if (Array.isArray(v)) return v;
  return null;
});
def('FIRST_DOCUMENT', 1, Infinity, (a) => {
  for (const v of a) if (isObject(v)) return v;
  return null;
});
def('ASSERT', 2, 2, (a) => {
  if (!truthy(a[0])) throw new ThemisError('VALIDATION_FAILED', `assertion failed: ${str(a[1])}`);
  return true;
});
def('WARN', 2, 2, (a, ctx) => {
  if (truthy(a[0])) return true;
  ctx.warn?.(str(a[1]));
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
  return formatDate(ms, toLocal(ms, tz), str(a[1]));
});
