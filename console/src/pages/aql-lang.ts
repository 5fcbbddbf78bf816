import { StreamLanguage, type StringStream } from '@codemirror/language';

/**
 * AQL for CodeMirror 6: a small stream tokenizer (keywords, strings, numbers, comments, `@bind` and
 * `@@collection` parameters, function calls) used with `syntaxHighlighting(defaultHighlightStyle)`.
 */

export const AQL_KEYWORDS = [
  'FOR',
  'IN',
  'FILTER',
  'SORT',
  'LIMIT',
  'LET',
  'COLLECT',
  'INTO',
  'WITH',
  'COUNT',
  'AGGREGATE',
  'RETURN',
  'INSERT',
  'UPDATE',
  'REPLACE',
  'REMOVE',
  'UPSERT',
  'DISTINCT',
  'ASC',
  'DESC',
  'AND',
  'OR',
  'NOT',
  'LIKE',
  'NULL',
  'TRUE',
  'FALSE',
  'OUTBOUND',
  'INBOUND',
  'ANY',
  'ALL',
  'NONE',
  'AT',
  'LEAST',
  'GRAPH',
  'SHORTEST_PATH',
  'K_SHORTEST_PATHS',
  'K_PATHS',
  'ALL_SHORTEST_PATHS',
  'KEEP',
  'OPTIONS',
  'SEARCH',
  'PRUNE',
  'WINDOW',
  'TO',
  'NEW',
  'OLD',
  'CURRENT',
];

const KEYWORDS = new Set(AQL_KEYWORDS);
const ATOMS = new Set(['NULL', 'TRUE', 'FALSE']);

interface AqlState {
  /** Inside a block comment that continues on the next line. */
  comment: boolean;
}

function token(stream: StringStream, state: AqlState): string | null {
  if (state.comment) {
    if (stream.skipTo('*/')) {
      stream.match('*/');
      state.comment = false;
    } else stream.skipToEnd();
    return 'comment';
  }
  if (stream.eatSpace()) return null;
  if (stream.match('//')) {
    stream.skipToEnd();
    return 'comment';
  }
  if (stream.match('/*')) {
    state.comment = true;
    return token(stream, state) ?? 'comment';
  }
  const ch = stream.peek();
  if (ch === '"' || ch === "'") {
    stream.next();
    let escaped = false;
    for (;;) {
      const c = stream.next();
      if (c === undefined) break;
      if (c === ch && !escaped) break;
      escaped = !escaped && c === '\\';
    }
    return 'string';
  }
  if (ch === '`' || ch === '´') {
    stream.next();
    stream.skipTo(ch) ? stream.next() : stream.skipToEnd();
    return 'variableName';
  }
  if (stream.match(/^@@[A-Za-z_][\w]*/)) return 'variableName.special';
  if (stream.match(/^@[A-Za-z_0-9][\w]*/)) return 'variableName.special';
  if (stream.match(/^0[xX][0-9a-fA-F]+/) || stream.match(/^0[bB][01]+/) || stream.match(/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/))
    return 'number';
  if (stream.match(/^[A-Za-z_$][\w$]*(::[A-Za-z_][\w]*)*/)) {
    const word = stream.current();
    const upper = word.toUpperCase();
    if (ATOMS.has(upper)) return 'atom';
    if (KEYWORDS.has(upper)) return 'keyword';
    // a name followed by "(" is a function call
    if (/^\s*\(/.test(stream.string.slice(stream.pos))) return 'variableName.function';
    return 'variableName';
  }
  if (stream.match(/^(==|!=|<=|>=|=~|!~|&&|\|\||\.\.|[=<>!+\-*/%?:])/)) return 'operator';
  if (stream.match(/^[[\](){},.]/)) return 'punctuation';
  stream.next();
  return null;
}

export const aqlLanguage = StreamLanguage.define<AqlState>({
  name: 'aql',
  startState: () => ({ comment: false }),
  copyState: (s) => ({ ...s }),
  token,
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});
