/**
 * AQL regular expression functions (REGEX_TEST, REGEX_MATCHES, REGEX_SPLIT,
 * REGEX_REPLACE) over RE2 (values.ts compileRegex: linear time, no
 * catastrophic backtracking); splitting and replacing run one match per
 * governed step.
 */
import { ThemisError } from '../../errors.js';
import { STOP, type Val } from '../governor.js';
import { compileRegex, type Regex, truthy } from '../values.js';
import { WarningCodes } from '../warnings.js';
import { charge, int, loop, strOf, warn } from './helpers.js';
import type { FnContext } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The regular expression functions, for index.ts to register. */
export const REGEX_FUNCTIONS: FunctionTable = table;

/**
 * The compiled pattern, or null with ArangoDB's warning 1543 (invalid regex
 * value) for one that does not compile (the function's result is then null).
 */
export function regexArg(ctx: FnContext, fn: string, pattern: string, caseInsensitive: boolean): Regex | null {
  try {
    return compileRegex(pattern, caseInsensitive);
  } catch (e) {
    if (!(e instanceof ThemisError)) throw e;
    return warn(ctx, fn, `invalid regex value: ${e.message.replace(/^invalid regular expression /, '')}`, WarningCodes.INVALID_REGEX);
  }
}

def('REGEX_TEST', 2, 3, (a, ctx) => regexArg(ctx, 'REGEX_TEST', strOf(a[1], ctx), truthy(a[2]))?.test(strOf(a[0], ctx)) ?? null);

def('REGEX_MATCHES', 2, 3, (a, ctx) => {
  const re = regexArg(ctx, 'REGEX_MATCHES', strOf(a[1], ctx), truthy(a[2]));
  if (re === null) return null;
  const m = re.exec(strOf(a[0], ctx));
  if (m === null) return null;
  return Array.from(m, (x: string | undefined | null) => (x === undefined || x === null ? '' : x));
});

def(
  'REGEX_SPLIT',
  2,
  4,
  (a, ctx) => {
    const text = strOf(a[0], ctx);
    const re = regexArg(ctx, 'REGEX_SPLIT', strOf(a[1], ctx), truthy(a[2]));
    if (re === null) return null;
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
  (a, ctx) => {
    const re = regexArg(ctx, 'REGEX_REPLACE', strOf(a[1], ctx), truthy(a[3]));
    return re === null ? null : regexReplace(strOf(a[0], ctx), re, strOf(a[2], ctx), ctx);
  },
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
