import { ThemisError } from '../../errors.js';
import type { Analyzer } from './analyzer.js';

/**
 * A parsed fulltext query, already analysed with the index's analyzer:
 * terms are index terms (normalised, stemmed), phrase terms carry their
 * offset relative to the phrase's first term (stopwords leave gaps).
 */
export type QueryNode =
  | { kind: 'term'; term: string }
  /** `stem` (when stemming changes the prefix): index terms starting with it match too, so `connections*` finds "connect". */
  | { kind: 'prefix'; prefix: string; stem?: string }
  | { kind: 'phrase'; terms: { term: string; offset: number }[] }
  | { kind: 'or'; children: QueryNode[] }
  | { kind: 'and'; must: QueryNode[]; not: QueryNode[] };

export const MAX_QUERY_LENGTH = 4096;
const MAX_LEAVES = 1024;
const MAX_DEPTH = 32;

type Lexeme =
  | { t: 'word'; text: string; at: number }
  | { t: 'phrase'; text: string; at: number }
  | { t: 'or' | 'and' | 'not' | 'minus' | 'plus' | 'lparen' | 'rparen'; at: number };

function syntaxError(at: number, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', `invalid fulltext query at character ${at + 1}: ${message}`, {
    details: { field: 'query', position: at + 1 },
  });
}

function lex(q: string): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      const end = q.indexOf('"', i + 1);
      if (end < 0) throw syntaxError(i, 'the phrase opened here has no closing quote (")');
      out.push({ t: 'phrase', text: q.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push({ t: c === '(' ? 'lparen' : 'rparen', at: i });
      i++;
      continue;
    }
    if ((c === '-' || c === '+') && i + 1 < q.length && !/\s/u.test(q[i + 1]!)) {
      out.push({ t: c === '-' ? 'minus' : 'plus', at: i });
      i++;
      continue;
    }
    let j = i;
    while (j < q.length && !/[\s"()]/u.test(q[j]!)) j++;
    const text = q.slice(i, j);
    if (text === 'OR' || text === '||') out.push({ t: 'or', at: i });
    else if (text === 'AND' || text === '&&') out.push({ t: 'and', at: i });
    else if (text === 'NOT') out.push({ t: 'not', at: i });
    else out.push({ t: 'word', text, at: i });
    i = j;
  }
  return out;
}

/**
 * Parse a query: terms are AND-ed by default (`AND` may be written), `OR`
 * between two items makes them alternatives (binds tighter than the implicit
 * AND: `a b OR c` = a AND (b OR c)), `"exact phrase"`, `-term` / `NOT term`
 * excludes, `term*` is a prefix, parentheses group. Syntax errors are
 * VALIDATION_FAILED with the 1-based character position.
 */
export function parseFulltextQuery(q: string, analyzer: Analyzer): QueryNode {
  if (q.length > MAX_QUERY_LENGTH)
    throw new ThemisError('VALIDATION_FAILED', `field "query" is longer than ${MAX_QUERY_LENGTH} characters`, {
      details: { field: 'query' },
    });
  const lx = lex(q);
  if (lx.length === 0) throw new ThemisError('VALIDATION_FAILED', 'field "query" is empty', { details: { field: 'query' } });
  let i = 0;
  let leaves = 0;

  const leaf = (at: number): void => {
    if (++leaves > MAX_LEAVES) throw syntaxError(at, `more than ${MAX_LEAVES} terms`);
  };

  // Returns null for an item that analyses to nothing (stopwords, punctuation).
  const primary = (depth: number): QueryNode | null => {
    const l = lx[i];
    if (!l) throw syntaxError(q.length, 'the query ends where a term was expected');
    if (l.t === 'lparen') {
      if (depth >= MAX_DEPTH) throw syntaxError(l.at, `parentheses nested deeper than ${MAX_DEPTH}`);
      i++;
      const inner = conjunction(depth + 1, true);
      const r = lx[i];
      if (!r || r.t !== 'rparen') throw syntaxError(l.at, 'the parenthesis opened here is not closed');
      i++;
      return inner;
    }
    if (l.t === 'phrase') {
      i++;
      leaf(l.at);
      return phrase(l.text);
    }
    if (l.t === 'word') {
      i++;
      leaf(l.at);
      if (l.text.endsWith('*')) return prefix(l.text, l.at);
      return phrase(l.text);
    }
    throw syntaxError(l.at, `unexpected ${describe(l)}; expected a term, a "phrase" or (`);
  };

  const prefix = (text: string, at: number): QueryNode => {
    const body = text.replace(/\*+$/, '');
    const toks = analyzer.tokens(body);
    if (toks.length === 0) throw syntaxError(at, `prefix "${text.slice(0, 40)}" has no letters or digits before *`);
    if (toks.length > 1 || toks[0]!.start !== 0 || toks[0]!.end !== body.length)
      throw syntaxError(at, `prefix "${text.slice(0, 40)}" must be a single word followed by *`);
    const surface = toks[0]!.surface;
    const stem = analyzer.stem(surface);
    return stem !== surface ? { kind: 'prefix', prefix: surface, stem } : { kind: 'prefix', prefix: surface };
  };

  // A word or quoted text: one term, or a phrase when it analyses to several terms.
  const phrase = (text: string): QueryNode | null => {
    const terms: { term: string; offset: number }[] = [];
    let first = -1;
    for (const tok of analyzer.tokens(text)) {
      if (tok.term === null) continue;
      if (first < 0) first = tok.pos;
      terms.push({ term: tok.term, offset: tok.pos - first });
    }
    if (terms.length === 0) return null;
    if (terms.length === 1) return { kind: 'term', term: terms[0]!.term };
    return { kind: 'phrase', terms };
  };

  // unary := ('-' | 'NOT') primary | '+'? primary ; returns [node, negated]
  const unary = (depth: number): [QueryNode | null, boolean, number] => {
    const l = lx[i]!;
    if (l.t === 'minus' || l.t === 'not') {
      i++;
      return [primary(depth), true, l.at];
    }
    if (l.t === 'plus') i++;
    return [primary(depth), false, l.at];
  };

  const disjunction = (depth: number): [QueryNode | null, boolean] => {
    const [first, neg, at] = unary(depth);
    const items: (QueryNode | null)[] = [first];
    let negated = neg;
    while (lx[i]?.t === 'or') {
      const orAt = lx[i]!.at;
      i++;
      if (!lx[i] || lx[i]!.t === 'rparen' || lx[i]!.t === 'or' || lx[i]!.t === 'and')
        throw syntaxError(orAt, 'OR needs a term on both sides');
      const [next, n2, at2] = unary(depth);
      if (negated || n2) throw syntaxError(negated ? at : at2, 'an exclusion (-term / NOT term) cannot be an OR alternative');
      items.push(next);
      negated = false;
    }
    const kept = items.filter((x): x is QueryNode => x !== null);
    if (kept.length === 0) return [null, negated];
    if (kept.length === 1) return [kept[0]!, negated];
    return [{ kind: 'or', children: kept.flatMap((k) => (k.kind === 'or' ? k.children : [k])) }, false];
  };

  const conjunction = (depth: number, inParens: boolean): QueryNode | null => {
    const must: QueryNode[] = [];
    const not: QueryNode[] = [];
    let seen = 0;
    while (i < lx.length) {
      const l = lx[i]!;
      if (l.t === 'rparen') {
        if (!inParens) throw syntaxError(l.at, 'unbalanced ): no parenthesis is open');
        break;
      }
      if (l.t === 'and') {
        if (seen === 0 || !lx[i + 1] || lx[i + 1]!.t === 'rparen' || lx[i + 1]!.t === 'and' || lx[i + 1]!.t === 'or')
          throw syntaxError(l.at, 'AND needs a term on both sides');
        i++;
        continue;
      }
      if (l.t === 'or') throw syntaxError(l.at, 'OR needs a term on both sides');
      const [node, negated] = disjunction(depth);
      seen++;
      if (node === null) continue;
      if (negated) not.push(node);
      else if (node.kind === 'and' && node.not.length === 0) must.push(...node.must);
      else must.push(node);
    }
    if (seen === 0) throw syntaxError(lx[i]?.at ?? q.length, inParens ? 'empty parentheses' : 'expected a term');
    if (must.length === 0 && not.length === 0) return null;
    if (must.length === 1 && not.length === 0) return must[0]!;
    return { kind: 'and', must, not };
  };

  const root = conjunction(0, false);
  if (i < lx.length) throw syntaxError(lx[i]!.at, `unexpected ${describe(lx[i]!)}`);
  // A query that analyses to nothing (only stopwords) matches no document.
  return root ?? { kind: 'and', must: [], not: [] };
}

function describe(l: Lexeme): string {
  switch (l.t) {
    case 'word':
    case 'phrase':
      return `"${l.text.slice(0, 40)}"`;
    case 'lparen':
      return '(';
    case 'rparen':
      return ')';
    case 'minus':
      return '-';
    case 'plus':
      return '+';
    default:
      return l.t.toUpperCase();
  }
}

/** Every term (and prefix) a query can match, for highlighting. */
export function queryTerms(
  n: QueryNode,
  out: { terms: Set<string>; prefixes: Set<string> } = { terms: new Set(), prefixes: new Set() },
): { terms: Set<string>; prefixes: Set<string> } {
  switch (n.kind) {
    case 'term':
      out.terms.add(n.term);
      break;
    case 'prefix':
      out.prefixes.add(n.prefix);
      if (n.stem !== undefined) out.prefixes.add(n.stem);
      break;
    case 'phrase':
      for (const t of n.terms) out.terms.add(t.term);
      break;
    case 'or':
      for (const c of n.children) queryTerms(c, out);
      break;
    case 'and':
      for (const c of n.must) queryTerms(c, out);
      break;
  }
  return out;
}
