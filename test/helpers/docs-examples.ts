/**
 * Runnable docs (issue 20): the shell examples of README.md and docs/*.md, extracted with the
 * responses they document, and the rules a documented response is compared by. Pure functions;
 * test/http/docs-examples.test.ts runs the examples against a real server, and
 * test/unit/docs-examples.test.ts checks these rules. docs/testing.md ("Runnable docs") describes
 * the conventions for writers of docs.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The pages whose examples run: README.md and every docs/*.md, in this order. */
export function docPages(root: string): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** A value that stands for "anything" (`"..."`, `"…"` or a bare `...` as a value). */
export const ANY: unique symbol = Symbol('any value');
/** `...` / `…` as an array element: elided elements (see matchPattern). */
export const ELIDED: unique symbol = Symbol('elided elements');
/** A string that ends in `...` or `…`: the actual string must start with the rest. */
export class Prefix {
  constructor(readonly prefix: string) {}
}

export type Pattern = null | boolean | number | string | typeof ANY | typeof ELIDED | Prefix | Pattern[] | { [k: string]: Pattern };

export interface Expectation {
  /** 1-based line in the page where the response is documented. */
  line: number;
  /** The documented text, for messages. */
  source: string;
  /** Documented status (`# 404 NOT_FOUND`), or the `status_code` of a documented error body. */
  status?: number;
  /** Documented error code (`# 404 NOT_FOUND`). */
  code?: string;
  body?: Pattern;
  /** `"field": value, ...` without braces: each field must occur somewhere in the response. */
  fragment?: boolean;
}

export interface DocCommand {
  page: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** The command as written (continuation lines included, trailing comment removed). */
  text: string;
  expect: Expectation[];
}

export interface DocProblem {
  page: string;
  line: number;
  message: string;
}

export interface DocPage {
  page: string;
  commands: DocCommand[];
  /** Shell blocks marked `no-run`: opening-fence lines. */
  skipped: number[];
  /** Documentation errors found while extracting (unterminated quotes, unparsable responses). */
  problems: DocProblem[];
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);
/** The info-string word that keeps a shell block from running (```sh no-run). */
export const NO_RUN = 'no-run';

interface Block {
  lang: string;
  flags: string[];
  /** 1-based line of the opening fence. */
  fence: number;
  lines: string[];
  /** Index (0-based) of the line after the closing fence. */
  after: number;
}

function readBlocks(lines: string[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const fenceChar = open[2]![0]!;
    const fenceLen = open[2]!.length;
    const info = open[3]!.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    const close = new RegExp(`^\\s*\\${fenceChar}{${fenceLen},}\\s*$`);
    while (j < lines.length && !close.test(lines[j]!)) {
      const l = lines[j]!;
      // A block inside a list item is indented; strip up to the fence's indentation.
      const strip = Math.min(indent, l.length - l.trimStart().length);
      body.push(l.slice(strip));
      j++;
    }
    blocks.push({ lang: (info[0] ?? '').toLowerCase(), flags: info.slice(1), fence: i + 1, lines: body, after: j + 1 });
    i = j;
  }
  return blocks;
}

interface ShellItem {
  kind: 'cmd' | 'comment' | 'blank';
  text: string;
  line: number;
  /** A comment at the end of the command's last line. */
  trailing?: string;
}

/** Split a shell block into commands and comment lines, the way bash would read it. */
export function splitShell(lines: string[], firstLine: number): { items: ShellItem[]; problems: { line: number; message: string }[] } {
  const items: ShellItem[] = [];
  const problems: { line: number; message: string }[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '') {
      items.push({ kind: 'blank', text: '', line: firstLine + i });
      i++;
      continue;
    }
    if (trimmed.startsWith('#')) {
      items.push({ kind: 'comment', text: trimmed.replace(/^#\s?/, ''), line: firstLine + i });
      i++;
      continue;
    }
    const start = i;
    const parts: string[] = [];
    let state: 'n' | 'sq' | 'dq' = 'n';
    let depth = 0;
    let trailing: string | undefined;
    const heredocs: { delim: string; strip: boolean }[] = [];
    for (;;) {
      const l = lines[i]!;
      let code = l;
      let continued = false;
      for (let j = 0; j < l.length; j++) {
        const c = l[j]!;
        if (state === 'sq') {
          if (c === "'") state = 'n';
          continue;
        }
        if (state === 'dq') {
          if (c === '\\') j++;
          else if (c === '"') state = 'n';
          continue;
        }
        if (c === '\\') {
          if (j === l.length - 1) continued = true;
          j++;
        } else if (c === "'") state = 'sq';
        else if (c === '"') state = 'dq';
        else if (c === '(') depth++;
        else if (c === ')') depth = Math.max(0, depth - 1);
        else if (c === '#' && (j === 0 || /\s/.test(l[j - 1]!))) {
          trailing = l.slice(j + 1).trim();
          code = l.slice(0, j).trimEnd();
          break;
        } else if (c === '<' && l[j + 1] === '<' && l[j + 2] !== '<') {
          const m = /^<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/.exec(l.slice(j));
          if (m) {
            heredocs.push({ delim: m[3]!, strip: m[1] === '-' });
            j += m[0].length - 1;
          }
        }
      }
      parts.push(code);
      i++;
      // Heredoc bodies follow the line that opened them.
      while (heredocs.length > 0 && state === 'n') {
        const h = heredocs.shift()!;
        while (i < lines.length) {
          const body = lines[i]!;
          parts.push(body);
          i++;
          if ((h.strip ? body.replace(/^\t+/, '') : body) === h.delim) break;
        }
      }
      const open = state !== 'n' || depth > 0 || continued || /(\||&&|\|\|)\s*$/.test(code);
      if (!open || trailing !== undefined) break;
      if (i >= lines.length) {
        problems.push({
          line: firstLine + start,
          message: `the command does not end within its block (${state === 'sq' ? "unterminated '" : state === 'dq' ? 'unterminated "' : depth > 0 ? 'unclosed (' : 'line continuation at the end'})`,
        });
        break;
      }
    }
    items.push({ kind: 'cmd', text: parts.join('\n'), line: firstLine + start, ...(trailing !== undefined ? { trailing } : {}) });
  }
  return { items, problems };
}

class PatternSyntaxError extends Error {}

/** A JSON parser for documented responses: JSON plus `...`/`…` for elided parts. */
class PatternParser {
  pos = 0;
  constructor(readonly text: string) {}

  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  ellipsis(): boolean {
    this.ws();
    if (this.text.startsWith('...', this.pos)) {
      this.pos += 3;
      return true;
    }
    if (this.text.startsWith('…', this.pos)) {
      this.pos += 1;
      return true;
    }
    return false;
  }

  fail(what: string): never {
    throw new PatternSyntaxError(`${what} at character ${this.pos + 1}: ${JSON.stringify(this.text.slice(this.pos, this.pos + 30))}`);
  }

  string(): string {
    this.ws();
    if (this.text[this.pos] !== '"') this.fail('expected a string');
    let j = this.pos + 1;
    while (j < this.text.length && this.text[j] !== '"') {
      if (this.text[j] === '\\') j++;
      if (this.text[j] === '\n') this.fail('line break in a string');
      j++;
    }
    if (j >= this.text.length) this.fail('unterminated string');
    const raw = this.text.slice(this.pos, j + 1);
    this.pos = j + 1;
    try {
      return JSON.parse(raw) as string;
    } catch {
      this.fail('invalid string');
    }
  }

  value(): Pattern {
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') {
      const s = this.string();
      if (s === '...' || s === '…') return ANY;
      if (s.endsWith('...')) return new Prefix(s.slice(0, -3));
      if (s.endsWith('…')) return new Prefix(s.slice(0, -1));
      return s;
    }
    if (this.ellipsis()) return ANY;
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos));
    if (m) {
      this.pos += m[0].length;
      return Number(m[0]);
    }
    this.fail('expected a JSON value');
  }

  members(into: Record<string, Pattern>, end: string | undefined): void {
    for (;;) {
      this.ws();
      if (end !== undefined && this.text[this.pos] === end) return;
      if (!this.ellipsis()) {
        const k = this.string();
        this.ws();
        if (this.text[this.pos] !== ':') this.fail('expected ":"');
        this.pos++;
        into[k] = this.value();
      }
      this.ws();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (end === undefined || this.text[this.pos] === end) return;
      this.fail(`expected "," or "${end}"`);
    }
  }

  object(): Pattern {
    this.pos++; // {
    const o: Record<string, Pattern> = {};
    this.members(o, '}');
    this.pos++;
    return o;
  }

  array(): Pattern {
    this.pos++; // [
    const a: Pattern[] = [];
    for (;;) {
      this.ws();
      if (this.text[this.pos] === ']') break;
      a.push(this.ellipsis() ? ELIDED : this.value());
      this.ws();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (this.text[this.pos] === ']') break;
      this.fail('expected "," or "]"');
    }
    this.pos++;
    return a;
  }
}

/** Parse documented JSON (with `...`/`…`); `rest` is the text after the value. */
export function parsePattern(text: string): { value: Pattern; rest: string } {
  const p = new PatternParser(text);
  const value = p.value();
  return { value, rest: text.slice(p.pos) };
}

/** Parse consecutive documented JSON values (a ```json block after a shell block). */
export function parsePatterns(text: string): Pattern[] {
  const p = new PatternParser(text);
  const out: Pattern[] = [];
  for (;;) {
    p.ws();
    if (p.pos >= text.length) return out;
    out.push(p.value());
  }
}

/**
 * Read a comment after a command as a documented response, or `undefined` when it is prose. It is
 * a response when it starts with a status (`404`, `404 NOT_FOUND`, optionally followed by a
 * body), with `{` or `[` (a JSON value), or with `"field":` (a fragment: fields of the
 * response). Text after the value is commentary. Throws when it looks like a response but does
 * not parse.
 */
export function parseExpectation(text: string, line: number): Expectation | undefined {
  let t = text.trim();
  const e: Expectation = { line, source: t };
  const st = /^([1-5]\d\d)(?:\s+([A-Z][A-Z0-9_]+))?(?=$|[\s,;:(])/.exec(t);
  if (st) {
    e.status = Number(st[1]);
    if (st[2] !== undefined) e.code = st[2];
    t = t.slice(st[0].length).trim();
  }
  if (t.startsWith('{') || t.startsWith('[')) {
    e.body = parsePattern(t).value;
  } else if (/^"[^"\\]*(?:\\.[^"\\]*)*"\s*:/.test(t)) {
    const p = new PatternParser(t);
    const o: Record<string, Pattern> = {};
    p.members(o, undefined);
    e.body = o;
    e.fragment = true;
  } else if (!st) return undefined;
  if (e.status === undefined && isErrorBody(e.body)) e.status = (e.body as { status_code: number }).status_code;
  return e;
}

function isErrorBody(p: Pattern | undefined): boolean {
  return (
    typeof p === 'object' &&
    p !== null &&
    !Array.isArray(p) &&
    !(p instanceof Prefix) &&
    p.error === true &&
    typeof p.status_code === 'number'
  );
}

/** What an example may run: curl (piped into jq if need be), variable assignments, echo, printf, sleep. */
const ALLOWED_COMMANDS = new Set(['curl', 'jq', 'echo', 'printf', 'sleep', 'export']);

/**
 * Why a command may not run in a test, or undefined: its first word (after `NAME=value`
 * assignments) must be one of ALLOWED_COMMANDS, or the command only assigns variables
 * (`TX=$(curl ... | jq .transaction_id)`). Anything else (npm, node, docker, rm) is never run.
 */
export function disallowedCommand(text: string): string | undefined {
  let t = text.trimStart();
  for (;;) {
    const m = /^[A-Za-z_][A-Za-z0-9_]*=/.exec(t);
    if (!m) break;
    // Skip the assigned word: quotes, $( ... ) and escapes until unquoted whitespace.
    let j = m[0].length;
    let depth = 0;
    let q: string | undefined;
    for (; j < t.length; j++) {
      const c = t[j]!;
      if (q) {
        if (c === '\\' && q === '"') j++;
        else if (c === q) q = undefined;
      } else if (c === '\\') j++;
      else if (c === "'" || c === '"') q = c;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (/\s/.test(c) && depth === 0) break;
    }
    t = t.slice(j).trimStart();
  }
  if (t === '' || t.startsWith('#')) return undefined;
  const word = /^[^\s;|&]+/.exec(t)?.[0] ?? t;
  return ALLOWED_COMMANDS.has(word) ? undefined : word;
}

/** Extract a page's runnable commands and their documented responses. */
export function extractPage(root: string, page: string): DocPage {
  const lines = fs.readFileSync(path.join(root, page), 'utf8').split('\n');
  const blocks = readBlocks(lines);
  const out: DocPage = { page, commands: [], skipped: [], problems: [] };
  for (let b = 0; b < blocks.length; b++) {
    const block = blocks[b]!;
    if (!SHELL_LANGS.has(block.lang)) continue;
    if (block.flags.includes(NO_RUN)) {
      out.skipped.push(block.fence);
      continue;
    }
    const { items, problems } = splitShell(block.lines, block.fence + 1);
    for (const p of problems) out.problems.push({ page, ...p });
    const commands: DocCommand[] = [];
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      if (item.kind !== 'cmd') continue;
      const cmd: DocCommand = { page, line: item.line, text: item.text, expect: [] };
      commands.push(cmd);
      try {
        let e = item.trailing !== undefined ? parseExpectation(item.trailing, item.line + item.text.split('\n').length - 1) : undefined;
        if (!e) {
          // Comment lines right below the command (a response may span several).
          const comments: ShellItem[] = [];
          for (let n = k + 1; n < items.length && items[n]!.kind === 'comment'; n++) comments.push(items[n]!);
          if (comments.length > 0) e = parseExpectation(comments.map((c) => c.text).join('\n'), comments[0]!.line);
        }
        if (e) cmd.expect.push(e);
      } catch (err) {
        out.problems.push({ page, line: item.line, message: `documented response does not parse: ${(err as Error).message}` });
      }
    }
    // A ```json block right after the shell block holds responses: one per command, or one for the last.
    let n = block.after;
    while (n < lines.length && lines[n]!.trim() === '') n++;
    const next = blocks[b + 1];
    if (next && next.fence === n + 1 && next.lang === 'json' && commands.length > 0) {
      try {
        const values = parsePatterns(next.lines.join('\n'));
        const targets = values.length === commands.length ? commands : values.length === 1 ? [commands.at(-1)!] : undefined;
        if (!targets)
          out.problems.push({
            page,
            line: next.fence,
            message: `the json block holds ${values.length} responses for the ${commands.length} commands of the block above (give one per command, or one for the last)`,
          });
        else
          values.forEach((v, i) => {
            const e: Expectation = { line: next.fence + 1, source: JSON.stringify(v) ?? String(v), body: v };
            if (isErrorBody(v)) e.status = (v as { status_code: number }).status_code;
            targets[i]!.expect.push(e);
          });
      } catch (err) {
        out.problems.push({ page, line: next.fence, message: `json block does not parse: ${(err as Error).message}` });
      }
    }
    out.commands.push(...commands);
  }
  return out;
}

// ---------------------------------------------------------------- matching

/**
 * Fields whose values differ from run to run: only their presence (and JSON type) is checked.
 * Exact names, and suffixes `_at` (times), `_ms` (durations).
 */
const MASKED_NAMES = new Set([
  'id',
  'uuid',
  'keyId',
  'key_id',
  'secret',
  'etag',
  'request_id',
  'transaction_id',
  'txn_id',
  'ts',
  'timestamp',
  'time',
  'date',
  'uptime_seconds',
  'next_cursor',
  'cursor',
  'disk_bytes',
  'approximate_size_bytes',
]);

export function isMaskedName(name: string): boolean {
  return MASKED_NAMES.has(name) || /_at$/.test(name) || /_ms$/.test(name);
}

/**
 * Shapes of generated values inside strings: a documented string containing one matches any
 * actual string of the same shape there (a UUID, an ISO 8601 time, a backup id's compact time,
 * a generated API key secret, a 16-digit transaction id).
 */
const SHAPES: RegExp[] = [
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/,
  /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/,
  /\d{8}T\d{6}Z-[0-9a-f]{4,}/,
  /tsk_[A-Za-z0-9_-]{16,}/,
  /(?<!\d)\d{16}(?!\d)/,
];

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The regular expression a documented string with generated parts stands for, or undefined. */
export function shapeRegex(documented: string): RegExp | undefined {
  const all = new RegExp(SHAPES.map((r) => r.source).join('|'), 'g');
  let found = false;
  let re = '';
  let last = 0;
  for (const m of documented.matchAll(all)) {
    found = true;
    re += escapeRe(documented.slice(last, m.index));
    const shape = SHAPES.find((s) => new RegExp(`^(?:${s.source})$`).test(m[0]))!;
    re += `(?:${shape.source})`;
    last = m.index! + m[0].length;
  }
  if (!found) return undefined;
  return new RegExp(`^${re}${escapeRe(documented.slice(last))}$`);
}

/** Equal, or equal but for generated parts of the shapes above. */
function sameString(p: string, a: string): boolean {
  return a === p || shapeRegex(p)?.test(a) === true;
}

/** An absolute file-system path (a backup's `path`, a data directory). */
const ABS_PATH = /^\/[^\s]*[^/\s]$/;

const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
};

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Prefix ? 'string' : typeof v;
}

/** Numbers: integers exactly, fractions to a relative 1e-6 (floating-point scores and distances). */
function sameNumber(p: number, a: number): boolean {
  if (p === a) return true;
  if (Number.isInteger(p)) return false;
  return Math.abs(p - a) <= 1e-6 * Math.max(Math.abs(p), Math.abs(a));
}

/**
 * Compare an actual JSON value with a documented pattern; the first difference as
 * `path: what`, or undefined when it matches. Objects: every documented field must be present
 * and match (more fields are fine); masked field names only need to be present with the same
 * JSON type. Arrays: element by element and of the same length, unless elided: `[a, b, …]` is a
 * prefix, `[…, z]` a suffix, `[a, …, z]` both, and several `…` match their parts in order.
 */
export function matchPattern(p: Pattern, a: unknown, at = '$'): string | undefined {
  if (p === ANY) return a === undefined ? `${at}: missing` : undefined;
  if (p instanceof Prefix)
    return typeof a === 'string' && a.startsWith(p.prefix)
      ? undefined
      : `${at}: expected a string starting with ${show(p.prefix)}, got ${show(a)}`;
  if (Array.isArray(p)) {
    if (!Array.isArray(a)) return `${at}: expected an array, got ${show(a)}`;
    return matchArray(p, a, at);
  }
  if (p !== null && typeof p === 'object') {
    if (typeOf(a) !== 'object') return `${at}: expected an object, got ${show(a)}`;
    const o = a as Record<string, unknown>;
    for (const [k, v] of Object.entries(p)) {
      const sub = `${at}.${k}`;
      if (!(k in o)) return `${sub}: missing (documented ${show(v)})`;
      if (isMaskedName(k)) {
        if (v !== null && v !== ANY && o[k] !== null && typeOf(v) !== typeOf(o[k]))
          return `${sub}: expected a ${typeOf(v)} (value masked), got ${show(o[k])}`;
        continue;
      }
      const r = matchPattern(v, o[k], sub);
      if (r) return r;
    }
    return undefined;
  }
  if (typeof p === 'number') return typeof a === 'number' && sameNumber(p, a) ? undefined : `${at}: expected ${show(p)}, got ${show(a)}`;
  if (typeof p === 'string') {
    if (typeof a === 'string') {
      if (sameString(p, a)) return undefined;
      // File-system paths depend on where the server keeps its data: the last component decides.
      if (ABS_PATH.test(p) && ABS_PATH.test(a) && sameString(p.slice(p.lastIndexOf('/')), a.slice(a.lastIndexOf('/')))) return undefined;
    }
    return `${at}: expected ${show(p)}, got ${show(a)}`;
  }
  return p === a ? undefined : `${at}: expected ${show(p)}, got ${show(a)}`;
}

function matchArray(p: Pattern[], a: unknown[], at: string): string | undefined {
  const segments: Pattern[][] = [[]];
  for (const e of p) {
    if (e === ELIDED) segments.push([]);
    else segments.at(-1)!.push(e);
  }
  if (segments.length === 1) {
    if (p.length !== a.length) return `${at}: expected ${p.length} elements, got ${a.length}: ${show(a)}`;
    for (let i = 0; i < p.length; i++) {
      const r = matchPattern(p[i]!, a[i], `${at}[${i}]`);
      if (r) return r;
    }
    return undefined;
  }
  const first = segments[0]!;
  const last = segments.at(-1)!;
  if (a.length < first.length + last.length)
    return `${at}: expected at least ${first.length + last.length} elements, got ${a.length}: ${show(a)}`;
  for (let i = 0; i < first.length; i++) {
    const r = matchPattern(first[i]!, a[i], `${at}[${i}]`);
    if (r) return r;
  }
  const tailStart = a.length - last.length;
  for (let i = 0; i < last.length; i++) {
    const r = matchPattern(last[i]!, a[tailStart + i], `${at}[${tailStart + i}]`);
    if (r) return r;
  }
  // Middle segments: in order, each contiguous, between the prefix and the suffix.
  let pos = first.length;
  for (const seg of segments.slice(1, -1)) {
    let found = -1;
    for (let s = pos; s + seg.length <= tailStart; s++) {
      if (seg.every((e, i) => matchPattern(e, a[s + i]) === undefined)) {
        found = s;
        break;
      }
    }
    if (found < 0) return `${at}: no run of elements matches ${show(seg)} (in order, between the documented prefix and suffix)`;
    pos = found + seg.length;
  }
  return undefined;
}

/** All objects in a JSON value, outermost first. */
function objectsIn(v: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(v)) for (const e of v) objectsIn(e, out);
  else if (v !== null && typeof v === 'object') {
    out.push(v as Record<string, unknown>);
    for (const e of Object.values(v)) objectsIn(e, out);
  }
  return out;
}

/**
 * A fragment (`"entities":[...]`, `"snippet":"..."`): each documented field must occur in the
 * response: at the top level, or else in some nested object.
 */
export function matchFragment(p: Record<string, Pattern>, a: unknown): string | undefined {
  const objects = objectsIn(a);
  for (const [k, v] of Object.entries(p)) {
    const holders = objects.filter((o) => k in o);
    if (holders.length === 0) return `$: no field "${k}" anywhere in the response`;
    const results = holders.map((o) => matchPattern(v, o[k], `…${k}`));
    if (results.some((r) => r === undefined)) continue;
    return results[0];
  }
  return undefined;
}
