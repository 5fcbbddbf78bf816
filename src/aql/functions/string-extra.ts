/**
 * More AQL string functions, as ArangoDB 3.12 defines them: REPEAT,
 * TO_CHAR, SUBSTRING_BYTES, SOUNDEX, CRC32, FNV64, the IPv4 conversions,
 * the n-gram similarities and LEVENSHTEIN_MATCH (outside a SEARCH: a plain
 * edit-distance test).
 */
import { compare, truthy } from '../values.js';
import { WarningCodes } from '../warnings.js';
import { charge, int, invalidArg, strOf, warn } from './helpers.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The additional string functions, for index.ts to register. */
export const STRING_EXTRA_FUNCTIONS: FunctionTable = table;

/** ArangoDB's limit for REPEAT()'s output: 16 MB (of UTF-8). */
const REPEAT_MAX_BYTES = 16 * 1024 * 1024;

def('REPEAT', 2, 3, (a, ctx) => {
  const count = int(a[1]);
  if (count === 0) return '';
  // warning: ArangoDB 1542 (function argument type mismatch) for a negative count
  if (count < 0) return invalidArg(ctx, 'REPEAT');
  const value = strOf(a[0], ctx);
  const sep = a.length > 2 ? strOf(a[2], ctx) : '';
  const bytes = count * Buffer.byteLength(value, 'utf8') + (count - 1) * Buffer.byteLength(sep, 'utf8');
  // warning: ArangoDB 32 (resource limit): "Output string of AQL REPEAT function was limited to 16MB."
  if (bytes > REPEAT_MAX_BYTES) return warn(ctx, 'REPEAT', 'output string was limited to 16MB', WarningCodes.RESOURCE_LIMIT);
  charge(ctx, 16 + 2 * (count * (value.length + sep.length)));
  return sep === '' ? value.repeat(count) : value + (sep + value).repeat(count - 1);
});

def('TO_CHAR', 1, 1, (a, ctx) => {
  const v = a[0];
  // warning: ArangoDB 1542 (function argument type mismatch) for a non-number or a negative code point
  if (typeof v !== 'number') return invalidArg(ctx, 'TO_CHAR');
  const cp = Math.trunc(v);
  if (cp < 0 || cp > 0x10ffff || !Number.isFinite(cp)) return invalidArg(ctx, 'TO_CHAR');
  return String.fromCodePoint(cp);
});

/**
 * SUBSTRING_BYTES(value, offset, length, left, right): a substring by UTF-8
 * byte offsets, widened by `left`/`right` characters; null (with a warning)
 * when a bound falls inside a character's byte sequence.
 */
def('SUBSTRING_BYTES', 2, 5, (a, ctx) => {
  const value = a[0];
  // warning: ArangoDB 10 (bad parameter) for a non-string
  if (typeof value !== 'string') return warn(ctx, 'SUBSTRING_BYTES', 'invalid argument type', WarningCodes.BAD_PARAMETER);
  if (value === '') return '';
  const buf = Buffer.from(value, 'utf8');
  const strLen = buf.length;
  let length = strLen;
  let left = 0;
  let right = 0;
  if (a.length >= 5) right = int(a[4]);
  if (a.length >= 4) {
    left = int(a[3]);
    if (a.length === 4) right = left;
  }
  if (a.length >= 3) length = Math.max(0, int(a[2]));
  let offset = int(a[1]);
  offset = offset < 0 ? Math.max(0, strLen + offset) : Math.min(offset, strLen);
  const cont = (i: number): boolean => (buf[i]! & 0xc0) === 0x80;
  let lhs = offset;
  let rhs = lhs + Math.min(length, strLen - offset);
  // warning: ArangoDB 10 (bad parameter) when a bound is inside a character
  if ((lhs !== strLen && cont(lhs)) || (rhs !== strLen && cont(rhs)))
    return warn(ctx, 'SUBSTRING_BYTES', 'offset inside a character', WarningCodes.BAD_PARAMETER);
  // Widen to the left by `left` characters.
  for (let n = left; n > 0 && lhs !== 0; ) {
    lhs--;
    if (!cont(lhs)) n--;
  }
  // Widen to the right by `right` characters.
  for (let n = right; n > 0 && rhs !== strLen; ) {
    if (!cont(rhs)) n--;
    rhs++;
  }
  while (rhs !== strLen && cont(rhs)) rhs++;
  return buf.subarray(lhs, rhs).toString('utf8');
});

const SOUNDEX_CODES: Record<string, string> = {
  b: '1',
  f: '1',
  p: '1',
  v: '1',
  c: '2',
  g: '2',
  j: '2',
  k: '2',
  q: '2',
  s: '2',
  x: '2',
  z: '2',
  d: '3',
  t: '3',
  l: '4',
  m: '5',
  n: '5',
  r: '6',
};

/** American Soundex: the first letter, then up to three digits (padded with 0). Non-letters are skipped. */
export function soundex(s: string): string {
  let i = 0;
  while (i < s.length && !/[a-zA-Z]/.test(s[i]!)) i++;
  if (i === s.length) return '';
  const first = s[i]!.toLowerCase();
  let out = first.toUpperCase();
  let previous = SOUNDEX_CODES[first] ?? '';
  for (i++; i < s.length && out.length < 4; i++) {
    const c = s[i]!.toLowerCase();
    if (c === 'h' || c === 'w') continue; // do not separate equal codes
    const code = SOUNDEX_CODES[c];
    if (code === undefined) {
      if ('aeiouy'.includes(c)) previous = ''; // vowels separate equal codes
      continue;
    }
    if (code !== previous) out += code;
    previous = code;
  }
  return out.padEnd(4, '0');
}

def('SOUNDEX', 1, 1, (a, ctx) => soundex(strOf(a[0], ctx)));

let crc32cTable: Uint32Array | undefined;

/** CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), initial value and final XOR 0xFFFFFFFF. */
export function crc32c(bytes: Uint8Array): number {
  if (crc32cTable === undefined) {
    crc32cTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crc32cTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = crc32cTable[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** FNV-1a, 64 bits. */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

// ArangoDB prints these hashes in upper-case hex without leading zeros (CRC32("foobar") is "D5F5C7F").
def('CRC32', 1, 1, (a, ctx) =>
  crc32c(Buffer.from(strOf(a[0], ctx), 'utf8'))
    .toString(16)
    .toUpperCase(),
);
def('FNV64', 1, 1, (a, ctx) =>
  fnv1a64(Buffer.from(strOf(a[0], ctx), 'utf8'))
    .toString(16)
    .toUpperCase(),
);

const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** The numeric value of a dotted IPv4 address (four decimal octets 0..255, no padding zeros), or null. */
export function ipv4ToNumber(s: string): number | null {
  const m = IPV4.exec(s);
  if (m === null) return null;
  let n = 0;
  for (let k = 1; k <= 4; k++) {
    const octet = Number(m[k]);
    if (octet > 255) return null;
    n = n * 256 + octet;
  }
  return n;
}

def('IPV4_TO_NUMBER', 1, 1, (a, ctx) => {
  const v = a[0];
  const n = typeof v === 'string' ? ipv4ToNumber(v) : null;
  // warning: ArangoDB 1542 (function argument type mismatch) for anything but an IPv4 address string
  return n === null ? invalidArg(ctx, 'IPV4_TO_NUMBER') : n;
});

def('IPV4_FROM_NUMBER', 1, 1, (a, ctx) => {
  const v = a[0];
  // warning: ArangoDB 1542 (function argument type mismatch) for a non-number or one outside 0..2^32-1
  if (typeof v !== 'number') return invalidArg(ctx, 'IPV4_FROM_NUMBER');
  const n = Math.trunc(v);
  if (!(n >= 0 && n <= 0xffffffff)) return invalidArg(ctx, 'IPV4_FROM_NUMBER');
  return `${Math.floor(n / 0x1000000)}.${Math.floor(n / 0x10000) % 256}.${Math.floor(n / 0x100) % 256}.${n % 256}`;
});

/**
 * ArangoSearch's n-gram similarity (iresearch `ngram_similarity`, Kondrak):
 * `search` (NGRAM_SIMILARITY) counts fully matching n-grams and divides by
 * the target's n-gram count; positional (NGRAM_POSITIONAL_SIMILARITY)
 * counts matching characters of n-grams and divides by the longer string's
 * count. Computed in single precision, as ArangoDB does.
 */
export function ngramSimilarity(target: number[], src: number[], n: number, search: boolean): number {
  const f = Math.fround;
  if (n === 0) return 0;
  if (!search && target.length > src.length) [target, src] = [src, target];
  if (target.length < n || src.length < n) {
    if (!search) {
      if (target.length === 0 && src.length === 0) return 1;
      let matched = 0;
      for (let i = 0; i < target.length; i++) if (target[i] === src[i]) matched++;
      return f(f(matched) / f(src.length));
    }
    if (target.length === src.length) return target.every((c, i) => c === src[i]) ? 1 : 0;
    return 0;
  }
  const tCount = target.length - n + 1;
  const sCount = src.length - n + 1;
  let d = 0; // the upper-left cell (not reset per row, as in iresearch)
  const cache = new Array<number>(sCount + 1).fill(0);
  for (let t = 0; t < tCount; t++) {
    for (let s = 0, idx = 1; s < sCount; s++, idx++) {
      let similarity = search ? 1 : 0;
      for (let k = 0; k < n; k++) {
        if (search) {
          if (target[t + k] !== src[s + k]) {
            similarity = 0;
            break;
          }
        } else if (target[t + k] === src[s + k]) similarity++;
      }
      if (!search) similarity = f(similarity / n);
      const tmp = cache[idx]!;
      cache[idx] = Math.max(cache[idx - 1]!, cache[idx]!, f(d + similarity));
      d = tmp;
    }
  }
  return f(cache[sCount]! / (search ? tCount : sCount));
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const c of s) out.push(c.codePointAt(0)!);
  return out;
}

function ngramFn(name: string, search: boolean): void {
  def(name, 3, 3, (a, ctx) => {
    const input = a[0];
    const target = a[1];
    const size = a[2];
    // warning: ArangoDB 1542 (function argument type mismatch) for non-strings or an n-gram size below 1
    if (typeof input !== 'string' || typeof target !== 'string' || typeof size !== 'number') return invalidArg(ctx, name);
    const n = Math.trunc(size);
    if (n < 1) return invalidArg(ctx, name);
    charge(ctx, 8 * (input.length + target.length));
    return ngramSimilarity(codePoints(target), codePoints(input), n, search);
  });
}
ngramFn('NGRAM_SIMILARITY', true);
ngramFn('NGRAM_POSITIONAL_SIMILARITY', false);

/** Edit distance over code points: Levenshtein, or with adjacent transpositions (optimal string alignment). */
export function damerauLevenshtein(x: number[], y: number[], transpositions: boolean): number {
  const n = x.length;
  const m = y.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (transpositions && i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

/**
 * LEVENSHTEIN_MATCH(value, target, distance, transpositions, maxTerms,
 * prefix) outside a SEARCH, as ArangoDB's function: whether the
 * Damerau-Levenshtein distance (plain Levenshtein with transpositions
 * false) of `value` and `target` is at most `distance` (a non-string is
 * ""). A distance above 3 with transpositions falls back to
 * LEVENSHTEIN_DISTANCE (of the stringified values); `maxTerms` and
 * `prefix` only matter inside a SEARCH and are ignored.
 */
def('LEVENSHTEIN_MATCH', 3, 6, (a, ctx) => {
  const dist = a[2];
  // warning: ArangoDB 1542 (function argument type mismatch) for a non-numeric distance or non-boolean transpositions
  if (typeof dist !== 'number') return invalidArg(ctx, 'LEVENSHTEIN_MATCH');
  if (a.length > 3 && typeof a[3] !== 'boolean') return invalidArg(ctx, 'LEVENSHTEIN_MATCH');
  const transpositions = a.length > 3 ? a[3] === true : true;
  const max = Math.trunc(dist);
  // warning: ArangoDB 1542 for a negative distance, or one above 4 without transpositions
  if (max < 0 || (!transpositions && max > 4)) return invalidArg(ctx, 'LEVENSHTEIN_MATCH');
  if (transpositions && max > 3) {
    const x = strOf(a[0], ctx);
    const y = strOf(a[1], ctx);
    charge(ctx, 8 * (x.length + y.length));
    return damerauLevenshtein(codePoints(x), codePoints(y), false) <= max;
  }
  const x = typeof a[0] === 'string' ? a[0] : '';
  const y = typeof a[1] === 'string' ? a[1] : '';
  charge(ctx, 8 * (x.length + y.length));
  return damerauLevenshtein(codePoints(x), codePoints(y), transpositions) <= max;
});

/** IN_RANGE(value, low, high, includeLow, includeHigh), by AQL's comparison order. */
def('IN_RANGE', 5, 5, (a, ctx) => {
  const includeLow = a[3];
  const includeHigh = a[4];
  // warning: ArangoDB 1542 (function argument type mismatch) for non-boolean include flags
  if (typeof includeLow !== 'boolean' || typeof includeHigh !== 'boolean') return invalidArg(ctx, 'IN_RANGE');
  const lo = compare(a[0], a[1]);
  const hi = compare(a[0], a[2]);
  return (includeLow ? lo >= 0 : lo > 0) && (includeHigh ? hi <= 0 : hi < 0);
});
