/**
 * AQL tokens (chevrotain). Built once at module load; `aqlLexer.tokenize`
 * is reentrant.
 *
 * - Reserved keywords are case-insensitive (`/FOR/i` with `longer_alt:
 *   Identifier`, so `format` is an identifier). The contextual keywords
 *   COUNT, TO, OPTIONS, KEEP, ALL and NONE are tokens of their own but belong to the `Name`
 *   category, so they stay usable as variable, collection and function names
 *   (`COUNT(x)`, `LET to = 1`). Every keyword is an `AnyName`, which is what
 *   the parser accepts after `.` and as an object key (`doc.in`, `{for: 1}`).
 * - `BinaryOp` groups every binary operator token (`NOT IN`/`NOT LIKE` are
 *   `Not` + `In`/`Like`); `PrefixOp` the unary operators.
 * - Unterminated strings, quoted names and block comments lex as tokens of
 *   the "errors" group (they run to the end of the input), so parse.ts can
 *   report where they started.
 */
import { createToken, Lexer, type TokenType } from 'chevrotain';

// ---- categories ----------------------------------------------------------

/** Anything usable as an attribute name after `.` or as an object key: identifiers and every keyword. */
export const AnyName = createToken({ name: 'AnyName', pattern: Lexer.NA });
/** Identifiers (plain or quoted) and the contextual keywords: variable, collection and function names. */
export const Name = createToken({ name: 'Name', pattern: Lexer.NA, categories: [AnyName] });
export const BinaryOp = createToken({ name: 'BinaryOp', pattern: Lexer.NA });
export const PrefixOp = createToken({ name: 'PrefixOp', pattern: Lexer.NA });
/** Reserved keywords (not usable as plain variable names). */
export const Keyword = createToken({ name: 'Keyword', pattern: Lexer.NA, categories: [AnyName] });

// ---- skipped -------------------------------------------------------------

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n\f\v\u00a0\ufeff\u2028\u2029]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const LineComment = createToken({ name: 'LineComment', pattern: /\/\/[^\n\r]*/, group: Lexer.SKIPPED });
export const BlockComment = createToken({ name: 'BlockComment', pattern: /\/\*[\s\S]*?\*\//, group: Lexer.SKIPPED, line_breaks: true });

// ---- error tokens (group "errors") ------------------------------------------

export const UnterminatedComment = createToken({ name: 'UnterminatedComment', pattern: /\/\*[\s\S]*/, group: 'errors', line_breaks: true });
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /["'][\s\S]*/, group: 'errors', line_breaks: true });
export const UnterminatedQuotedName = createToken({
  name: 'UnterminatedQuotedName',
  pattern: /[`´][\s\S]*/,
  group: 'errors',
  line_breaks: true,
});

// ---- literals --------------------------------------------------------------

/** `"..."` or `'...'` with backslash escapes; may span lines. */
export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\]|\\[\s\S])*"|'(?:[^'\\]|\\[\s\S])*'/,
  line_breaks: true,
  start_chars_hint: ['"', "'"],
});
/** Integers, decimals, exponents, hex (`0x1F`) and binary (`0b101`). */
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /0[xX][0-9a-fA-F]+|0[bB][01]+|(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/,
});
export const BindCollection = createToken({
  name: 'BindCollection',
  pattern: /@@(?:_+[a-zA-Z0-9]+[a-zA-Z0-9_]*|[a-zA-Z0-9][a-zA-Z0-9_]*)/,
});
export const BindParam = createToken({ name: 'BindParam', pattern: /@(?:_+[a-zA-Z0-9]+[a-zA-Z0-9_]*|[a-zA-Z0-9][a-zA-Z0-9_]*)/ });

// ---- names -----------------------------------------------------------------

export const Identifier = createToken({ name: 'Identifier', pattern: /[a-zA-Z_$][a-zA-Z0-9_$]*/, categories: [Name] });
/** `` `my-name` `` or `´my-name´` (backslash escapes). */
export const QuotedName = createToken({
  name: 'QuotedName',
  pattern: /`(?:[^`\\]|\\[\s\S])*`|´(?:[^´\\]|\\[\s\S])*´/,
  categories: [Name],
  line_breaks: true,
  start_chars_hint: ['`', '´'],
});

const contextual = (word: string): TokenType =>
  createToken({
    name: word.charAt(0) + word.slice(1).toLowerCase(),
    label: word,
    pattern: new RegExp(word, 'i'),
    longer_alt: Identifier,
    categories: [Name],
  });
export const Count = contextual('COUNT');
export const To = contextual('TO');
export const Options = contextual('OPTIONS');
/** `COLLECT ... INTO g KEEP a, b`. */
export const Keep = contextual('KEEP');
/** `FOR v IN ... OUTBOUND start edges PRUNE [var =] condition` (a graph traversal's stop condition). */
export const Prune = contextual('PRUNE');
/** Quantifiers of array comparisons and of `[? ...]` (ANY is a reserved keyword). */
export const All = contextual('ALL');
export const None = contextual('NONE');
/** `AT LEAST` (one token, as in ArangoDB): the quantifier `AT LEAST (n)`. */
export const AtLeast = createToken({
  name: 'AtLeast',
  label: 'AT LEAST',
  pattern: /AT[ \t\r\n\f\v]+LEAST(?![a-zA-Z0-9_$])/i,
  line_breaks: true,
  start_chars_hint: ['A', 'a'],
});

const keyword = (word: string, categories: TokenType[] = []): TokenType =>
  createToken({
    name: word
      .split('_')
      .map((w) => w.charAt(0) + w.slice(1).toLowerCase())
      .join(''),
    label: word,
    pattern: new RegExp(word, 'i'),
    longer_alt: Identifier,
    categories: [Keyword, ...categories],
  });

export const For = keyword('FOR');
export const Let = keyword('LET');
export const Filter = keyword('FILTER');
export const Return = keyword('RETURN');
export const Collect = keyword('COLLECT');
export const Sort = keyword('SORT');
export const Limit = keyword('LIMIT');
export const Distinct = keyword('DISTINCT');
export const Aggregate = keyword('AGGREGATE');
/** `WINDOW { preceding, following } AGGREGATE ...` / `WINDOW value WITH { ... } AGGREGATE ...` (reserved, as in ArangoDB). */
export const Window = keyword('WINDOW');
export const Asc = keyword('ASC');
export const Desc = keyword('DESC');
export const Not = keyword('NOT', [PrefixOp]);
export const And = keyword('AND', [BinaryOp]);
export const Or = keyword('OR', [BinaryOp]);
export const In = keyword('IN', [BinaryOp]);
export const Into = keyword('INTO');
export const With = keyword('WITH');
export const Remove = keyword('REMOVE');
export const Insert = keyword('INSERT');
export const Update = keyword('UPDATE');
export const Replace = keyword('REPLACE');
export const Upsert = keyword('UPSERT');
export const ShortestPath = keyword('SHORTEST_PATH');
export const KShortestPaths = keyword('K_SHORTEST_PATHS');
export const KPaths = keyword('K_PATHS');
export const AllShortestPaths = keyword('ALL_SHORTEST_PATHS');
export const Outbound = keyword('OUTBOUND');
export const Inbound = keyword('INBOUND');
export const Any = keyword('ANY');
export const Like = keyword('LIKE', [BinaryOp]);
export const Null = keyword('NULL');
export const True = keyword('TRUE');
export const False = keyword('FALSE');

// ---- operators and punctuation ----------------------------------------------

const punct = (name: string, text: string, categories: TokenType[] = []): TokenType =>
  createToken({
    name,
    label: `"${text}"`,
    pattern: text.length === 1 ? text : new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')),
    categories,
  });

export const Eq = punct('Eq', '==', [BinaryOp]);
export const Ne = punct('Ne', '!=', [BinaryOp]);
export const Le = punct('Le', '<=', [BinaryOp]);
export const Ge = punct('Ge', '>=', [BinaryOp]);
export const Lt = punct('Lt', '<', [BinaryOp]);
export const Gt = punct('Gt', '>', [BinaryOp]);
export const RegexMatch = punct('RegexMatch', '=~', [BinaryOp]);
export const RegexNonMatch = punct('RegexNonMatch', '!~', [BinaryOp]);
export const Assign = punct('Assign', '=');
export const Bang = punct('Bang', '!', [PrefixOp]);
export const AndAnd = punct('AndAnd', '&&', [BinaryOp]);
export const OrOr = punct('OrOr', '||', [BinaryOp]);
export const Range = punct('Range', '..', [BinaryOp]);
export const Dot = punct('Dot', '.');
export const Scope = punct('Scope', '::');
export const Colon = punct('Colon', ':');
export const Question = punct('Question', '?');
export const Plus = punct('Plus', '+', [BinaryOp, PrefixOp]);
export const Minus = punct('Minus', '-', [BinaryOp, PrefixOp]);
export const Star = punct('Star', '*', [BinaryOp]);
export const Slash = punct('Slash', '/', [BinaryOp]);
export const Percent = punct('Percent', '%', [BinaryOp]);
export const LParen = punct('LParen', '(');
export const RParen = punct('RParen', ')');
export const LBracket = punct('LBracket', '[');
export const RBracket = punct('RBracket', ']');
export const LBrace = punct('LBrace', '{');
export const RBrace = punct('RBrace', '}');
export const Comma = punct('Comma', ',');

/** Reserved keywords, longest first (so `IN` never shadows `INTO`/`INSERT`/`INBOUND`). */
export const reservedKeywords: TokenType[] = [
  For,
  Let,
  Filter,
  Return,
  Collect,
  Sort,
  Limit,
  Distinct,
  Aggregate,
  Window,
  Asc,
  Desc,
  Not,
  And,
  Or,
  In,
  Into,
  With,
  Remove,
  Insert,
  Update,
  Replace,
  Upsert,
  ShortestPath,
  KShortestPaths,
  KPaths,
  AllShortestPaths,
  Outbound,
  Inbound,
  Any,
  Like,
  Null,
  True,
  False,
].sort((a, b) => String(b.LABEL).length - String(a.LABEL).length);

export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  UnterminatedComment,
  StringLiteral,
  UnterminatedString,
  QuotedName,
  UnterminatedQuotedName,
  BindCollection,
  BindParam,
  NumberLiteral,
  ...reservedKeywords,
  AtLeast,
  Options,
  Count,
  To,
  Keep,
  Prune,
  All,
  None,
  Identifier,
  Eq,
  Ne,
  Le,
  Ge,
  RegexMatch,
  RegexNonMatch,
  AndAnd,
  OrOr,
  Range,
  Scope,
  Lt,
  Gt,
  Assign,
  Bang,
  Dot,
  Colon,
  Question,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  // categories (no pattern) last
  AnyName,
  Name,
  Keyword,
  BinaryOp,
  PrefixOp,
];

/** Lines end at \n, \r\n or \r (as in ArangoDB; U+2028/U+2029 are whitespace but do not start a line). */
export const aqlLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: true });
