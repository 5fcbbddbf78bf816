/**
 * AQL value semantics (pure): type order, comparison, equality, truthiness,
 * the implicit conversions (TO_NUMBER / TO_STRING / TO_BOOL rules),
 * arithmetic, LIKE and regular-expression matching, IN.
 *
 * Follows ArangoDB's documented semantics ("Type and value order",
 * "Type check and cast functions", arithmetic operators):
 *
 * - type order null < bool < number < string < array < object;
 * - strings compare by Unicode code point (the order of their UTF-8 bytes);
 * - arrays compare element by element; when one array runs out, its missing
 *   elements count as `null` (so `[1] == [1, null]`, `[] < [0]`);
 * - objects compare over the sorted union of both key sets; a key missing on
 *   one side counts as `null` there (so `{} == {a: null}`);
 * - `undefined` (a missing attribute) is `null`.
 *
 * Values are treated as immutable: nothing here mutates its inputs.
 *
 * Documents read from storage carry `_key` / `_id` as non-enumerable own
 * properties; everything here that enumerates an object's attributes
 * (comparison, hashing, JSON) uses all own property names so they count.
 */
import type { AqlValue } from './ast.js';
import { RE2JS } from 're2js';
import { ThemisError } from '../errors.js';

export type { AqlValue };

export type AqlObject = { [k: string]: AqlValue };
export type TypeName = 'null' | 'bool' | 'number' | 'string' | 'array' | 'object';

const hasOwn = Object.prototype.hasOwnProperty;

/** Rank in ArangoDB's type order: null 0, bool 1, number 2, string 3, array 4, object 5. */
export function typeRank(v: AqlValue | undefined): number {
  if (v === null || v === undefined) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return Array.isArray(v) ? 4 : 5;
  }
}

const TYPE_NAMES: readonly TypeName[] = ['null', 'bool', 'number', 'string', 'array', 'object'];

/** TYPENAME(): "null", "bool", "number", "string", "array" or "object". */
export function typeName(v: AqlValue | undefined): TypeName {
  return TYPE_NAMES[typeRank(v)]!;
}

export function isObject(v: AqlValue | undefined): v is AqlObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * All own attribute names of an object, including the non-enumerable
 * `_key` / `_id` of stored documents.
 */
export function attributeNames(o: AqlObject): string[] {
  return Object.getOwnPropertyNames(o);
}

/** Whether `o` has an own attribute `name` (enumerable or not). */
export function hasAttribute(o: AqlObject, name: string): boolean {
  return hasOwn.call(o, name);
}

/**
 * `o.name` with AQL semantics: an own attribute's value, else `null`
 * (never a prototype member such as `constructor` or `__proto__`).
 */
export function getAttribute(o: AqlObject, name: string): AqlValue {
  const v = o[name];
  if (v === undefined || typeof v === 'function') return null;
  if (name === '__proto__' && !hasOwn.call(o, name)) return null;
  return v;
}

/** Sets an attribute on a fresh plain object (safe for the key `__proto__`). */
export function setAttribute(o: AqlObject, name: string, v: AqlValue): void {
  if (name === '__proto__') Object.defineProperty(o, name, { value: v, enumerable: true, writable: true, configurable: true });
  else o[name] = v;
}

/** A plain copy of an object with every own attribute (hidden ones made enumerable). */
export function plainObject(o: AqlObject): AqlObject {
  const names = Object.getOwnPropertyNames(o);
  const out: AqlObject = {};
  for (let i = 0; i < names.length; i++) {
    const k = names[i]!;
    setAttribute(out, k, o[k] as AqlValue);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Comparison

/**
 * Compares two strings by Unicode code point (equivalently, by their UTF-8
 * bytes). JS `<` compares UTF-16 code units, which puts astral characters
 * (surrogate pairs, U+D800..U+DFFF units) before U+E000..U+FFFF; this fixes
 * that at the first differing unit.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Map surrogates above the rest of the BMP: code point order.
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** ArangoDB's total order over AQL values: -1, 0 or 1. */
export function compare(a: AqlValue | undefined, b: AqlValue | undefined): number {
  if (a === b) return 0;
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a === false ? -1 : 1;
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return compareStrings(a as string, b as string);
    case 4:
      return compareArrays(a as AqlValue[], b as AqlValue[]);
    default:
      return compareObjects(a as AqlObject, b as AqlObject);
  }
}

function compareArrays(a: AqlValue[], b: AqlValue[]): number {
  const n = a.length > b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    // Past the end of the shorter array, its elements count as null.
    const c = compare(i < a.length ? a[i] : null, i < b.length ? b[i] : null);
    if (c !== 0) return c;
  }
  return 0;
}

function compareObjects(a: AqlObject, b: AqlObject): number {
  const ka = Object.getOwnPropertyNames(a);
  const kb = Object.getOwnPropertyNames(b);
  let keys: string[];
  if (kb.length === 0) keys = ka;
  else if (ka.length === 0) keys = kb;
  else {
    const seen = new Set(ka);
    keys = ka.slice();
    for (let i = 0; i < kb.length; i++) if (!seen.has(kb[i]!)) keys.push(kb[i]!);
  }
  keys.sort(compareStrings);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const c = compare(hasOwn.call(a, k) ? (a[k] as AqlValue) : null, hasOwn.call(b, k) ? (b[k] as AqlValue) : null);
    if (c !== 0) return c;
  }
  return 0;
}

/** `==`: same type and compare() == 0. */
export function equals(a: AqlValue | undefined, b: AqlValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  return compare(a, b) === 0;
}

/**
 * A string key such that `hashKey(a) === hashKey(b)` exactly when
 * `equals(a, b)`: for grouping, DISTINCT and set functions. Object keys are
 * sorted, null-valued attributes and trailing null array elements dropped
 * (they compare equal to absent ones).
 */
export function hashKey(v: AqlValue | undefined): string {
  // Top-level strings need no escaping: no other encoding starts with "s".
  return typeof v === 'string' ? `s${v}` : canonical(v);
}

function canonical(v: AqlValue | undefined): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return String(v); // -0 prints as "0", as it compares
    case 'string':
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    let end = v.length;
    while (end > 0 && (v[end - 1] === null || v[end - 1] === undefined)) end--;
    let s = '[';
    for (let i = 0; i < end; i++) {
      if (i > 0) s += ',';
      s += canonical(v[i]);
    }
    return `${s}]`;
  }
  const o = v as AqlObject;
  const names = Object.getOwnPropertyNames(o).sort();
  let s = '{';
  let first = true;
  for (let i = 0; i < names.length; i++) {
    const k = names[i]!;
    const x = o[k];
    if (x === null || x === undefined) continue;
    if (!first) s += ',';
    first = false;
    s += `${JSON.stringify(k)}:${canonical(x)}`;
  }
  return `${s}}`;
}

// ---------------------------------------------------------------------------
// Conversions

/** ArangoDB truthiness (TO_BOOL): false for null, false, 0 and ""; true otherwise (incl. [] and {}). */
export function truthy(v: AqlValue | undefined): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0 && !Number.isNaN(v);
    case 'string':
      return v.length > 0;
    default:
      return true;
  }
}

/** TO_BOOL(). */
export const toBool = truthy;

/** A decimal number with optional sign, fraction and exponent, surrounded by optional whitespace. */
const NUMERIC_STRING = /^[ \t\n\r\f\v]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\f\v]*$/;

/**
 * TO_NUMBER(): null/false → 0, true → 1, numeric strings → their value
 * (surrounding whitespace allowed; anything else → 0), [] → 0, [x] →
 * TO_NUMBER(x), longer arrays and objects → 0.
 */
export function toNumber(v: AqlValue | undefined): number {
  if (v === null || v === undefined) return 0;
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? v : 0;
    case 'boolean':
      return v ? 1 : 0;
    case 'string': {
      if (!NUMERIC_STRING.test(v)) return 0;
      const n = Number(v);
      return Number.isFinite(n) ? n : 0;
    }
  }
  if (Array.isArray(v)) return v.length === 1 ? toNumber(v[0]) : 0;
  return 0;
}

/** JSON text of a value, including the hidden `_key` / `_id` of stored documents. */
export function toJson(v: AqlValue | undefined): string {
  return JSON.stringify(v === undefined ? null : v, jsonReplacer);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as AqlObject;
    if (Object.getOwnPropertyNames(o).length !== Object.keys(o).length) return plainObject(o);
  }
  return value;
}

/** String form of a number: JS-like (integers without ".0", "2e-7" for tiny values); never "-0". */
export function numberToString(n: number): string {
  if (n === 0) return '0';
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * TO_STRING(): null → "", booleans → "true"/"false", numbers → their
 * string form, arrays and objects → JSON without whitespace.
 */
export function toStringValue(v: AqlValue | undefined): string {
  if (v === null || v === undefined) return '';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return numberToString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return toJson(v);
  }
}

/** TO_ARRAY(): null → [], arrays as is, objects → their attribute values, anything else → [value]. */
export function toArray(v: AqlValue | undefined): AqlValue[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'object') {
    const names = Object.getOwnPropertyNames(v);
    const out = new Array<AqlValue>(names.length);
    for (let i = 0; i < names.length; i++) out[i] = v[names[i]!] as AqlValue;
    return out;
  }
  return [v];
}

// ---------------------------------------------------------------------------
// Arithmetic

/** A finite number, or null (ArangoDB turns NaN and ±Infinity results into null). */
export function numberOrNull(n: number): number | null {
  if (Number.isFinite(n)) return n === 0 ? 0 : n;
  return null;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';

/**
 * AQL arithmetic: both operands go through TO_NUMBER; division or modulo by
 * zero and non-finite results give null. (`+` never concatenates strings.)
 */
export function arithmetic(op: ArithmeticOp, a: AqlValue | undefined, b: AqlValue | undefined): number | null {
  const x = typeof a === 'number' ? a : toNumber(a);
  const y = typeof b === 'number' ? b : toNumber(b);
  let r: number;
  switch (op) {
    case '+':
      r = x + y;
      break;
    case '-':
      r = x - y;
      break;
    case '*':
      r = x * y;
      break;
    case '/':
      if (y === 0) return null;
      r = x / y;
      break;
    case '%':
      if (y === 0) return null;
      r = x % y;
      break;
  }
  return numberOrNull(r);
}

/** Unary minus: -TO_NUMBER(v). */
export function negate(v: AqlValue | undefined): number {
  const n = typeof v === 'number' ? v : toNumber(v);
  return n === 0 ? 0 : -n;
}

// ---------------------------------------------------------------------------
// IN

/** `needle IN haystack`: false unless haystack is an array holding an element equal to needle. */
export function inArray(needle: AqlValue | undefined, haystack: AqlValue | undefined): boolean {
  if (!Array.isArray(haystack)) return false;
  if (needle === undefined) needle = null;
  if (needle === null || typeof needle !== 'object') {
    // Primitive: SameValueZero is AQL equality for primitives (0 == -0).
    if (needle !== null) return haystack.includes(needle);
    for (let i = 0; i < haystack.length; i++) if (haystack[i] === null || haystack[i] === undefined) return true;
    return false;
  }
  for (let i = 0; i < haystack.length; i++) if (equals(needle, haystack[i])) return true;
  return false;
}

// ---------------------------------------------------------------------------
// LIKE and regular expressions

/**
 * A small least-recently-used cache. A hit only stamps the entry (no Map
 * re-insertion); eviction, which is rare, scans for the stalest entry.
 */
class LruCache<V> {
  private readonly map = new Map<string, { value: V; used: number }>();
  private tick = 0;
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    e.used = ++this.tick;
    return e.value;
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.capacity && !this.map.has(key)) {
      let oldestKey: string | undefined;
      let oldest = Infinity;
      for (const [k, e] of this.map) {
        if (e.used < oldest) {
          oldest = e.used;
          oldestKey = k;
        }
      }
      if (oldestKey !== undefined) this.map.delete(oldestKey);
    }
    this.map.set(key, { value, used: ++this.tick });
  }
  get size(): number {
    return this.map.size;
  }
}

/**
 * A compiled LIKE pattern. Plain shapes avoid any matching engine; a
 * pattern of literals and `%` is matched segment by segment (each segment
 * at its leftmost occurrence, which is optimal for `%`-only patterns: linear
 * with indexOf); patterns with `_` or case-insensitive ones go to RE2,
 * which is linear in the text too. No backtracking anywhere: the old
 * `%a%a%a...%b` blow-up cannot happen.
 */
type LikeMatcher =
  | { kind: 'exact'; s: string }
  | { kind: 'prefix'; s: string }
  | { kind: 'suffix'; s: string }
  | { kind: 'contains'; s: string }
  | { kind: 'any' }
  | { kind: 'segments'; first: string; middle: string[]; last: string }
  | { kind: 're2'; re: Regex };

/**
 * Parses a LIKE pattern into literal segments separated by wildcards.
 * `\%`, `\_` and `\\` are literals; a backslash before any other character
 * is dropped; a trailing lone backslash is a literal backslash.
 */
function compileLike(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const parts: string[] = []; // literal, then wildcard tokens '%' / '_' as separate entries marked below
  const kinds: number[] = []; // 0 literal, 1 '%', 2 '_'
  let lit = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i + 1 < pattern.length) {
        lit += pattern[i + 1]!;
        i++;
      } else lit += '\\';
    } else if (c === '%' || c === '_') {
      if (lit) {
        parts.push(lit);
        kinds.push(0);
        lit = '';
      }
      // collapse runs of '%'
      if (c === '%' && kinds.length > 0 && kinds[kinds.length - 1] === 1) continue;
      parts.push(c);
      kinds.push(c === '%' ? 1 : 2);
    } else lit += c;
  }
  if (lit) {
    parts.push(lit);
    kinds.push(0);
  }
  if (!caseInsensitive && !kinds.includes(2)) {
    const n = kinds.length;
    if (n === 0) return { kind: 'exact', s: '' };
    if (n === 1) return kinds[0] === 0 ? { kind: 'exact', s: parts[0]! } : { kind: 'any' };
    if (n === 2 && kinds[0] === 0 && kinds[1] === 1) return { kind: 'prefix', s: parts[0]! };
    if (n === 2 && kinds[0] === 1 && kinds[1] === 0) return { kind: 'suffix', s: parts[1]! };
    if (n === 3 && kinds[0] === 1 && kinds[1] === 0 && kinds[2] === 1) return { kind: 'contains', s: parts[1]! };
    // literal (%) literal (%) ... : anchored first and last segments, the ones between in order.
    const segs: string[] = [''];
    for (let i = 0; i < n; i++) {
      if (kinds[i] === 1) segs.push('');
      else segs[segs.length - 1] += parts[i]!;
    }
    return { kind: 'segments', first: segs[0]!, middle: segs.slice(1, -1).filter((x) => x !== ''), last: segs[segs.length - 1]! };
  }
  let src = '';
  for (let i = 0; i < parts.length; i++) {
    const k = kinds[i]!;
    src += k === 0 ? RE2JS.quote(parts[i]!) : k === 1 ? '.*' : '.';
  }
  return { kind: 're2', re: RE2JS.compile(src, RE2JS.DOTALL | (caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0)) };
}

function likeSegments(text: string, first: string, middle: string[], last: string): boolean {
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let from = first.length;
  const end = text.length - last.length;
  for (const seg of middle) {
    const i = text.indexOf(seg, from);
    if (i < 0 || i + seg.length > end) return false;
    from = i + seg.length;
  }
  return true;
}

const CACHE_SIZE = 512;
const likeCaches = [new LruCache<LikeMatcher>(CACHE_SIZE), new LruCache<LikeMatcher>(CACHE_SIZE)] as const;

/**
 * `text LIKE pattern`: `%` matches any sequence (including none), `_` exactly
 * one character; `\%`, `\_`, `\\` are literals. The whole text must match.
 * Linear in the text (see LikeMatcher).
 */
export function like(text: string, pattern: string, caseInsensitive = false): boolean {
  const cache = likeCaches[caseInsensitive ? 1 : 0];
  let m = cache.get(pattern);
  if (m === undefined) {
    m = compileLike(pattern, caseInsensitive);
    cache.set(pattern, m);
  }
  return matchLike(text, m);
}

const arangoLikeCaches = [new LruCache<LikeMatcher>(CACHE_SIZE), new LruCache<LikeMatcher>(CACHE_SIZE)] as const;

/**
 * LIKE with ArangoDB's reading of the pattern (see likePattern): the LIKE()
 * function and the LIKE / NOT LIKE operators. The pattern is rewritten once,
 * when it is compiled, not per row.
 */
export function arangoLike(text: string, pattern: string, caseInsensitive = false): boolean {
  const cache = arangoLikeCaches[caseInsensitive ? 1 : 0];
  let m = cache.get(pattern);
  if (m === undefined) {
    m = compileLike(likePattern(pattern), caseInsensitive);
    cache.set(pattern, m);
  }
  return matchLike(text, m);
}

/**
 * Rewrites an ArangoDB LIKE pattern into one `like()` reads the same
 * way. ArangoDB (AqlFunctionsInternalCache::buildLikePattern): `\\` is a
 * literal backslash, `\%` and `\_` literal wildcards, a backslash before
 * a character that is special in a regular expression (`.*?+[(){}^$|`)
 * is dropped, a backslash before any other character stays a literal
 * backslash (`\a` matches "\a"), and a trailing lone backslash is
 * dropped. The result only uses the escapes both readings agree on.
 */
export function likePattern(pattern: string): string {
  if (!pattern.includes('\\')) return pattern;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= pattern.length) break; // trailing lone backslash: dropped
    const next = pattern[++i]!;
    if (next === '\\' || next === '%' || next === '_') out += `\\${next}`;
    else if ('?+[(){}^$|.*'.includes(next)) out += next;
    else out += `\\\\${next}`; // a literal backslash, then the character
  }
  return out;
}

function matchLike(text: string, m: LikeMatcher): boolean {
  switch (m.kind) {
    case 'exact':
      return text === m.s;
    case 'prefix':
      return text.startsWith(m.s);
    case 'suffix':
      return text.endsWith(m.s);
    case 'contains':
      return text.includes(m.s);
    case 'any':
      return true;
    case 'segments':
      return likeSegments(text, m.first, m.middle, m.last);
    case 're2':
      return m.re.testExact(text);
  }
}

/** A compiled regular expression (RE2: linear-time matching, no backtracking). */
export type Regex = RE2JS;

/** Compiled regexes: [case-sensitive, case-insensitive]. */
const regexCaches = [new LruCache<Regex>(CACHE_SIZE), new LruCache<Regex>(CACHE_SIZE)] as const;

/** A pattern as error messages show it (patterns may be megabytes long). */
function shown(pattern: string): string {
  return pattern.length <= 200 ? pattern : `${pattern.slice(0, 200)}...`;
}

/**
 * Compiles (and caches) an AQL regular expression. The syntax is RE2's
 * (docs/aql.md, "Regular expressions"): matching takes linear time in the
 * text, whatever the pattern. JavaScript-style spellings RE2 spells
 * differently (`\uXXXX`, `(?<name>...)`) are translated first.
 * Backreferences, lookahead and lookbehind are refused with
 * VALIDATION_FAILED naming the pattern, as is any other invalid pattern.
 */
export function compileRegex(pattern: string, caseInsensitive = false): Regex {
  const cache = regexCaches[caseInsensitive ? 1 : 0];
  let re = cache.get(pattern);
  if (re !== undefined) return re;
  const flags = caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0;
  try {
    re = RE2JS.compile(pattern, flags);
  } catch (err) {
    let translated: string | undefined;
    try {
      translated = RE2JS.translateRegExp(pattern);
    } catch {
      translated = undefined;
    }
    try {
      if (translated === undefined || translated === pattern) throw err;
      re = RE2JS.compile(translated, flags);
    } catch {
      const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
      const unsupported = /\\[1-9]|\(\?[=!<]/.test(pattern)
        ? ' (backreferences, lookahead and lookbehind are not supported: ThemisTS matches regular expressions with RE2 in linear time)'
        : '';
      throw new ThemisError('VALIDATION_FAILED', `invalid regular expression '${shown(pattern)}': ${reason}${unsupported}`, {
        details: { pattern: shown(pattern) },
      });
    }
  }
  cache.set(pattern, re);
  return re;
}

/** `text =~ pattern`: whether the regular expression matches anywhere in text. */
export function regexMatch(text: string, pattern: string, caseInsensitive = false): boolean {
  return compileRegex(pattern, caseInsensitive).test(text);
}
