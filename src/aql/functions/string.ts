/**
 * AQL string functions. Strings are measured and cut in Unicode characters
 * (code points), not UTF-16 units. LENGTH/COUNT also count array elements
 * and attributes; JSON_STRINGIFY and JSON_PARSE convert between values and
 * JSON text.
 */
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from '../../json-limits.js';
import type { AqlValue } from '../ast.js';
import { depthError, sizeOf, STOP, type Val } from '../governor.js';
import { arangoLike, isObject, likePattern, numberToString, toJson, truthy } from '../values.js';
import { editDistance, editDistanceRows } from './edit-distance.js';
import { charge, int, invalidArg, loop, str, strOf, warn } from './helpers.js';
import type { FnContext } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The string functions, for index.ts to register. */
export const STRING_FUNCTIONS: FunctionTable = table;

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

/**
 * CONTAINS(text, search, returnIndex): as ArangoDB, an empty search string
 * (null included: it converts to "") is never found (false, or -1).
 */
def('CONTAINS', 2, 3, (a, ctx) => {
  const text = strOf(a[0], ctx);
  const search = strOf(a[1], ctx);
  const i = search === '' ? -1 : text.indexOf(search);
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

export { arangoLike, likePattern };

def('LIKE', 2, 3, (a, ctx) => arangoLike(strOf(a[0], ctx), strOf(a[1], ctx), truthy(a[2])));

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
