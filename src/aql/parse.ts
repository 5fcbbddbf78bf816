/**
 * AQL text → AST (ast.ts). The lexer, parser and AST builder are built once
 * at module load and reused for every call (the parser is reset per input),
 * so a parse allocates little beyond the tokens, the CST and the AST.
 *
 * Every failure is a positioned AqlSyntaxError (tryParseAql) or a
 * ThemisError VALIDATION_FAILED (400) with details { field: 'query', line,
 * column, offset, token } (parseAql): lexical errors (unterminated strings,
 * stray characters), syntax errors (with what was expected instead) and
 * structural ones (RETURN not last, unknown aggregate functions, ...).
 * Limits: MAX_QUERY_LENGTH characters, MAX_NESTING levels of nesting and
 * MAX_AST_DEPTH levels of AST; nothing recurses without bound.
 */
import { EOF, type IRecognitionException, type IToken } from 'chevrotain';
import { ThemisError } from '../errors.js';
import type { AqlSyntaxError, Pos, Query } from './ast.js';
import { AqlBuildError, astBuilder, checkAstDepth, clip, MAX_AST_DEPTH } from './ast-builder.js';
import * as T from './lexer.js';
import { aqlParser, MAX_NESTING, NestingError } from './parser.js';

export { MAX_NESTING } from './parser.js';
export { MAX_AST_DEPTH } from './ast-builder.js';
export const MAX_QUERY_LENGTH = 100_000;

/** Line/column (1-based) of an offset, counting line ends (\n, \r\n, \r) as the lexer does. */
function posAt(text: string, offset: number): Pos {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      col = 1;
    } else if (c !== 13) col++;
  }
  return { line, column: col, offset };
}

const posOfToken = (t: IToken): Pos => ({ line: t.startLine ?? 1, column: t.startColumn ?? 1, offset: t.startOffset });

function syntaxError(detail: string, pos: Pos, token: string, atEnd = false): { error: AqlSyntaxError } {
  const message = atEnd
    ? `unexpected end of query: ${detail}`
    : `AQL syntax error at line ${pos.line}, column ${pos.column}${token ? ` (near "${token}")` : ''}: ${detail}`;
  return { error: { message, line: pos.line, column: pos.column, offset: pos.offset, token } };
}

const nestingDetail = `the query is nested too deeply (at most ${MAX_NESTING} levels of parentheses or arrays; fewer for objects, function calls, subqueries and traversals)`;

/** AQL words ThemisTS does not implement: an error at one of them says so. */
const UNSUPPORTED = new Set(['SEARCH', 'GRAPH']);

const KEYWORDS = [...T.reservedKeywords.map((t) => String(t.LABEL)), 'COUNT', 'TO', 'OPTIONS', 'PRUNE'];

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** " (did you mean SORT?)" when an identifier looks like a keyword the message mentions. */
function didYouMean(word: string, detail: string): string {
  const up = word.toUpperCase();
  if (up.length < 2) return '';
  for (const k of KEYWORDS) {
    if (k === up || !detail.includes(k)) continue;
    if (editDistance(up, k) <= (k.length >= 5 ? 2 : 1)) return ` (did you mean ${k}?)`;
  }
  return '';
}

const OPENERS = new Map<unknown, string>([
  [T.LParen, ')'],
  [T.LBracket, ']'],
  [T.LBrace, '}'],
]);
const CLOSERS = new Set<unknown>([T.RParen, T.RBracket, T.RBrace]);

/** The innermost bracket left open before tokens[end]. */
function unclosedOpener(tokens: IToken[], end: number): IToken | undefined {
  const stack: IToken[] = [];
  for (let i = 0; i < end; i++) {
    const tt = tokens[i]!.tokenType;
    if (OPENERS.has(tt)) stack.push(tokens[i]!);
    else if (CLOSERS.has(tt)) stack.pop();
  }
  return stack[stack.length - 1];
}

function recognitionError(e: IRecognitionException, tokens: IToken[], text: string): { error: AqlSyntaxError } {
  const tok = e.token;
  const atEnd = tok.tokenType === EOF;
  const idx = atEnd ? tokens.length : tokens.indexOf(tok);
  let detail = e.message;
  const opener = unclosedOpener(tokens, idx < 0 ? tokens.length : idx);
  if (opener && tokens[idx - 1] === opener && detail.startsWith('expected ","')) {
    // nothing inside the brackets yet: a comma is not what is missing
    const close = OPENERS.get(opener.tokenType)!;
    detail = `expected ${close === '}' ? 'an attribute name' : 'an expression'} or "${close}"`;
  }
  if (opener) {
    const close = OPENERS.get(opener.tokenType)!;
    if (detail.includes(`"${close}"`))
      detail += ` (to close "${opener.image}" from line ${opener.startLine}, column ${opener.startColumn})`;
  }
  if (!atEnd) {
    const up = tok.image.toUpperCase();
    const prev = idx > 0 ? tokens[idx - 1] : undefined;
    if (prev && prev.tokenType === T.Identifier && prev.image.toUpperCase() === 'GRAPH')
      detail = 'named graphs (GRAPH) are not supported: traverse an edge collection instead';
    else if (tok.tokenType === T.Identifier && UNSUPPORTED.has(up)) detail = `${up} is not supported by ThemisTS AQL`;
    else if (tok.tokenType === T.Identifier) detail += didYouMean(tok.image, detail);
  }
  return syntaxError(detail, atEnd ? posAt(text, text.length) : posOfToken(tok), atEnd ? '' : clip(tok.image), atEnd);
}

const LEXER_ERROR_NAMES: Record<string, string> = {
  UnterminatedString: 'string',
  UnterminatedQuotedName: 'quoted name',
  UnterminatedComment: 'comment',
};

const STRAY_HINTS: Record<string, string> = {
  '@': ': "@" starts a bind parameter (@name, or @@name for a collection)',
  '&': ' (did you mean &&?)',
  '|': ' (did you mean ||?)',
  ';': ' (AQL has no statement separator)',
};

/** Parses AQL; errors are returned as data. */
export function tryParseAql(text: string): { query: Query } | { error: AqlSyntaxError } {
  if (typeof text !== 'string') return syntaxError('the query must be a string', { line: 1, column: 1, offset: 0 }, '');
  if (text.length > MAX_QUERY_LENGTH) {
    return syntaxError(`the query is ${text.length} characters long; the limit is ${MAX_QUERY_LENGTH}`, posAt(text, MAX_QUERY_LENGTH), '');
  }
  const lexed = T.aqlLexer.tokenize(text);
  const bad = lexed.groups.errors?.[0];
  const stray = lexed.errors[0];
  if (stray && (!bad || stray.offset < bad.startOffset)) {
    const ch = String.fromCodePoint(text.codePointAt(stray.offset) ?? 63);
    const pos = { line: stray.line ?? 1, column: stray.column ?? 1, offset: stray.offset };
    return syntaxError(`unexpected character "${ch}"${STRAY_HINTS[ch] ?? ''}`, pos, ch);
  }
  if (bad) {
    const what = LEXER_ERROR_NAMES[bad.tokenType.name] ?? 'token';
    const pos = posOfToken(bad);
    const r = syntaxError('', pos, clip(bad.image, 20));
    r.error.message = `unterminated ${what} starting at line ${pos.line}, column ${pos.column}`;
    return r;
  }
  const tokens = lexed.tokens;
  if (tokens.length === 0) {
    const r = syntaxError('', posAt(text, text.length), '');
    r.error.message = 'the query is empty: expected an AQL query such as FOR doc IN collection RETURN doc';
    return r;
  }

  aqlParser.input = tokens;
  aqlParser.resetState();
  let cst: ReturnType<typeof aqlParser.query>;
  try {
    cst = aqlParser.query();
  } catch (e) {
    if (e instanceof NestingError)
      return syntaxError(nestingDetail, posOfToken(e.token), e.token.tokenType === EOF ? '' : clip(e.token.image));
    if (e instanceof RangeError) return syntaxError(nestingDetail, { line: 1, column: 1, offset: 0 }, '');
    throw e;
  }
  const perr = aqlParser.errors[0];
  if (perr) return recognitionError(perr, tokens, text);

  try {
    const query = astBuilder.build(cst);
    if (tokens.length >= MAX_AST_DEPTH) checkAstDepth(query);
    return { query };
  } catch (e) {
    if (e instanceof AqlBuildError) return syntaxError(e.detail, e.atEnd ? posAt(text, text.length) : e.pos, e.token, e.atEnd);
    if (e instanceof RangeError) return syntaxError(nestingDetail, { line: 1, column: 1, offset: 0 }, '');
    throw e;
  }
}

/** Parses AQL; throws ThemisError VALIDATION_FAILED (400) with details { field: 'query', line, column, offset, token }. */
export function parseAql(text: string): Query {
  const r = tryParseAql(text);
  if ('error' in r) {
    const { message, line, column, offset, token } = r.error;
    throw new ThemisError('VALIDATION_FAILED', message, { details: { field: 'query', line, column, offset, token } });
  }
  return r.query;
}
