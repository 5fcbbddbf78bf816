import { ThemisError } from './errors.js';

/**
 * How deeply JSON input may nest: request bodies, and documents sent as a
 * JSON string inside a body (`blob`), which are parsed a second time.
 *
 * Why a limit at all: V8's JSON.parse is iterative and takes any depth, but
 * almost everything after it recurses once per level (JSON.stringify, ajv,
 * index extraction, the AQL evaluator, structural comparison), so a
 * 10,000-level document overflowed the stack deep inside a write, or inside
 * an async continuation where the request was never answered (issue 13).
 * Refusing the input once, where it enters, keeps every later stage safe.
 * 256 levels is far beyond real documents (MongoDB allows 100, PostgreSQL's
 * jsonb parser refuses when its stack runs low).
 */
export const DEFAULT_MAX_JSON_DEPTH = 256;
/** Highest configurable depth: every recursive stage above stays well within Node's default stack at this depth (tested). */
export const MAX_JSON_DEPTH_CEILING = 1024;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True if JSON text nests objects/arrays deeper than `limit`. One iterative
 * pass without allocation; brackets inside strings do not count. It does not
 * validate: malformed text is the parser's business afterwards. Works on
 * UTF-8 bytes (every byte of a multi-byte sequence is >= 0x80, so it can never
 * look like a bracket or quote) and on strings alike.
 */
export function exceedsJsonDepth(text: Uint8Array | string, limit: number): boolean {
  // Each level needs at least one character: short input cannot be too deep (the common case costs nothing).
  if (text.length <= limit) return false;
  // A string is scanned as UTF-8 (one copy; a document string is about to be parsed and stored anyway):
  // one scanner instead of a second copy of it for UTF-16 code units.
  return bytesExceeds(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, limit);
}

function bytesExceeds(b: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0, n = b.length; i < n; i++) {
    const c = b[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** The error for input nested deeper than `limit` (400 JSON_TOO_DEEP, `max_depth` in the body). */
export function jsonTooDeep(what: string, limit: number): ThemisError {
  return new ThemisError(
    'JSON_TOO_DEEP',
    `${what} nests deeper than the limit of ${limit} levels of objects and arrays (THEMIS_MAX_JSON_DEPTH)`,
    {
      details: { max_depth: limit },
    },
  );
}

/**
 * JSON.parse's error without the piece of input V8 quotes in it (`Unexpected
 * token 'm', ..."{"email": max@exampl"... is not valid JSON`): error messages
 * reach logs and the audit log, and the input may hold personal data or
 * secrets. What is left still says what went wrong, and usually where.
 */
export function jsonSyntaxMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/,?\s*(?:\.\.\.)?"[\s\S]*"(?:\.\.\.)?\s+is not valid JSON/, ' (not valid JSON)').slice(0, 200);
}
