/**
 * HTTP range requests and conditional requests (RFC 9110 §13, §14), as pure
 * functions of header values: no sockets, no storage. A download route
 * computes its plan with `readPlan()` (or the pieces below) and answers
 * 304, 412, 416, 206 or 200 from it (docs/architecture.md, "Binary bodies").
 */

/** What a `Range` header asks of a representation of `size` bytes. */
export type RangeResult =
  /** No range to apply: no header, one to ignore (invalid syntax, another unit, ranges that do not merge into one), or an empty representation. Answer 200 with the whole body. */
  | { kind: 'none' }
  /** One range, `end` inclusive and within the representation. Answer 206 with `Content-Range: bytes start-end/size`. */
  | { kind: 'range'; start: number; end: number }
  /** Valid, but no range overlaps the representation. Answer 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

const NONE: RangeResult = Object.freeze({ kind: 'none' });
const UNSATISFIABLE: RangeResult = Object.freeze({ kind: 'unsatisfiable' });

/** Ranges a header may list before it is ignored as abusive (RFC 9110 §14.2, §17.15). */
const MAX_RANGES = 100;

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Parse a `Range` header against a representation of `size` bytes
 * (RFC 9110 §14.1.1, §14.2):
 *
 * - `bytes=a-b` (b clipped to size-1), `bytes=a-`, `bytes=-n` (the last n
 *   bytes; the whole body when n >= size); the unit is case-insensitive,
 *   whitespace around `=`, `,` and `-` is tolerated;
 * - an invalid header (bad syntax, `b < a`, any invalid range in a list) or
 *   another unit than `bytes` is ignored: `none`;
 * - no listed range overlaps the body (`a >= size`, `-0`): `unsatisfiable`;
 * - several ranges: the satisfiable ones are merged when they overlap or
 *   touch; one range left is served as such, else `none` (the whole body
 *   with 200, which the RFC allows; no multipart/byteranges);
 * - an empty representation (size 0) never has a range to serve: `none`
 *   (a client probing with `bytes=0-` gets the empty body with 200, as Go's
 *   net/http does, rather than a 416).
 */
export function parseRange(header: string, size: number): RangeResult {
  if (header === '') return NONE;
  const eq = header.indexOf('=');
  if (eq < 0) return NONE;
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return NONE;
  const specs = header.slice(eq + 1).split(',');
  if (specs.length > MAX_RANGES) return NONE;
  let start = -1;
  let end = -1;
  let count = 0;
  let satisfiable: { start: number; end: number }[] | undefined;
  let empty = true;
  for (const raw of specs) {
    const spec = raw.trim();
    // RFC 9110 §5.6.1: empty list elements are tolerated (`bytes=0-1, ,5-6`), but at least one is needed.
    if (spec === '') continue;
    empty = false;
    const dash = spec.indexOf('-');
    if (dash < 0) return NONE;
    const first = spec.slice(0, dash).trim();
    const last = spec.slice(dash + 1).trim();
    let s: number;
    let e: number;
    if (first === '') {
      // suffix-range: the last n bytes
      if (!isDigits(last)) return NONE;
      const n = Number(last);
      if (n === 0 || size === 0) continue;
      s = n >= size ? 0 : size - n;
      e = size - 1;
    } else {
      if (!isDigits(first)) return NONE;
      s = Number(first);
      if (last === '') {
        e = size - 1;
      } else {
        if (!isDigits(last)) return NONE;
        e = Number(last);
        if (e < s) return NONE;
        if (e > size - 1) e = size - 1;
      }
      if (s >= size) continue;
    }
    if (count === 0) {
      start = s;
      end = e;
    } else {
      (satisfiable ??= [{ start, end }]).push({ start: s, end: e });
    }
    count++;
  }
  if (empty) return NONE;
  if (size === 0) return NONE;
  if (count === 0) return UNSATISFIABLE;
  if (satisfiable === undefined) return { kind: 'range', start, end };
  // Several: merge those that overlap or touch; served only if one range is left.
  satisfiable.sort((a, b) => a.start - b.start);
  let cur = satisfiable[0]!;
  for (let i = 1; i < satisfiable.length; i++) {
    const r = satisfiable[i]!;
    if (r.start > cur.end + 1) return NONE;
    if (r.end > cur.end) cur = { start: cur.start, end: r.end };
  }
  return { kind: 'range', start: cur.start, end: cur.end };
}

/** `Content-Range` of a 206 (`bytes 0-99/1000`) or, without a range, of a 416 (`bytes *\/1000`). */
export function contentRange(size: number, range?: { start: number; end: number }): string {
  return range === undefined ? `bytes */${size}` : `bytes ${range.start}-${range.end}/${size}`;
}

/** An entity tag as sent in `ETag`: the opaque value quoted (a strong validator: a sha256 in hex, say). */
export function strongETag(opaque: string): string {
  return `"${opaque}"`;
}

interface ParsedTag {
  weak: boolean;
  /** The tag with its quotes (`"abc"`). */
  tag: string;
}

/**
 * The entity tags of an `If-Match`/`If-None-Match`/`If-Range` value; '*' as
 * its own element. Tolerant: an unquoted value is taken as a strong tag.
 */
function parseTags(header: string): (ParsedTag | '*')[] {
  const out: (ParsedTag | '*')[] = [];
  let i = 0;
  const n = header.length;
  while (i < n) {
    const c = header.charCodeAt(i);
    if (c === 32 || c === 9 || c === 44 /* , */) {
      i++;
      continue;
    }
    let weak = false;
    if ((c === 87 /* W */ || c === 119) /* w */ && header.charCodeAt(i + 1) === 47 /* / */) {
      weak = true;
      i += 2;
    }
    if (header.charCodeAt(i) === 34 /* " */) {
      const close = header.indexOf('"', i + 1);
      if (close < 0) {
        out.push({ weak, tag: `${header.slice(i)}"` });
        break;
      }
      out.push({ weak, tag: header.slice(i, close + 1) });
      i = close + 1;
    } else {
      let j = header.indexOf(',', i);
      if (j < 0) j = n;
      const v = header.slice(i, j).trim();
      if (v === '*' && !weak) out.push('*');
      else if (v !== '') out.push({ weak, tag: `"${v}"` });
      i = j;
    }
  }
  return out;
}

/** The opaque part of an ETag as given to the helpers: quoted (`"abc"`) or not (`abc`), `W/` for a weak one. */
function normalise(etag: string): ParsedTag {
  const weak = etag.startsWith('W/') || etag.startsWith('w/');
  const t = weak ? etag.slice(2) : etag;
  return { weak, tag: t.startsWith('"') && t.endsWith('"') && t.length >= 2 ? t : `"${t}"` };
}

/**
 * `If-None-Match` (RFC 9110 §13.1.2): true when it matches the current
 * representation (weak comparison; `*` matches any), so a GET or HEAD is
 * answered 304 Not Modified. False for an absent header. `etag` is the
 * current ETag as sent (quoted or not).
 */
export function ifNoneMatchHits(header: string, etag: string): boolean {
  if (header === '') return false;
  const cur = normalise(etag).tag;
  for (const t of parseTags(header)) if (t === '*' || t.tag === cur) return true;
  return false;
}

/**
 * `If-Match` (RFC 9110 §13.1.1): true when the request may proceed: no
 * header, `*` with a current representation, or a listed tag that strongly
 * matches `etag` (a weak tag never does). `etag` undefined: there is no
 * current representation. False means 412 Precondition Failed.
 */
export function ifMatchPasses(header: string, etag: string | undefined): boolean {
  if (header === '') return true;
  const tags = parseTags(header);
  if (etag === undefined) return false;
  const cur = normalise(etag);
  for (const t of tags) {
    if (t === '*') return true;
    if (!t.weak && !cur.weak && t.tag === cur.tag) return true;
  }
  return false;
}

/**
 * `If-Range` (RFC 9110 §13.1.5): true when the `Range` header may be applied:
 * no `If-Range`, an entity tag that strongly matches `etag`, or an HTTP date
 * equal to `lastModified` (when given). False: ignore `Range` and send the
 * whole body with 200 (the client's partial copy is stale).
 */
export function ifRangeAllows(header: string, etag: string, lastModified?: string): boolean {
  const h = header.trim();
  if (h === '') return true;
  if (h.startsWith('"') || h.startsWith('W/') || h.startsWith('w/')) {
    const t = parseTags(h);
    if (t.length !== 1 || t[0] === '*') return false;
    const cur = normalise(etag);
    return !t[0]!.weak && !cur.weak && t[0]!.tag === cur.tag;
  }
  if (lastModified === undefined) return false;
  const a = Date.parse(h);
  const b = Date.parse(lastModified);
  return Number.isFinite(a) && a === b;
}

/** How to answer a read of a representation (`readPlan`). */
export type ReadPlan =
  /** 412 Precondition Failed (`If-Match` failed). */
  | { kind: 'precondition_failed' }
  /** 304 Not Modified (`If-None-Match` matched): send ETag (and Cache-Control...) but no body. */
  | { kind: 'not_modified' }
  /** 200 with the whole body. */
  | { kind: 'full' }
  /** 206 with bytes start..end (inclusive) and `Content-Range: bytes start-end/size`. */
  | { kind: 'range'; start: number; end: number }
  /** 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

/**
 * The conditional headers and `Range` of a GET or HEAD, in the order of
 * RFC 9110 §13.2.2: `If-Match` (412), `If-None-Match` (304), then `Range`
 * unless `If-Range` says the client's copy is stale. HEAD ignores `Range`
 * (only GET defines it, §14.2). `etag` is the current ETag as sent.
 */
export function readPlan(
  req: { readonly method: string; header(name: string): string },
  size: number,
  etag: string,
  lastModified?: string,
): ReadPlan {
  if (!ifMatchPasses(req.header('if-match'), etag)) return { kind: 'precondition_failed' };
  if (ifNoneMatchHits(req.header('if-none-match'), etag)) return { kind: 'not_modified' };
  if (req.method !== 'GET') return { kind: 'full' };
  const range = req.header('range');
  if (range === '' || !ifRangeAllows(req.header('if-range'), etag, lastModified)) return { kind: 'full' };
  const r = parseRange(range, size);
  if (r.kind === 'none') return { kind: 'full' };
  return r;
}
