import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThemisError } from '../../src/errors.js';
import {
  Analyzer,
  DEFAULT_FULLTEXT_CONFIG,
  MAX_QUERY_LENGTH,
  parseFulltextQuery,
  queryTerms,
  type FulltextConfig,
  type QueryNode,
} from '../../src/index/fulltext/index.js';

const analyzer = (c: Partial<FulltextConfig> = {}) => new Analyzer({ ...DEFAULT_FULLTEXT_CONFIG, ...c });
const plain = analyzer();
const english = analyzer({ stemming_enabled: true, stopwords_enabled: true });

// Node builders, to keep the expectations short.
const t = (term: string): QueryNode => ({ kind: 'term', term });
const pre = (prefix: string): QueryNode => ({ kind: 'prefix', prefix });
const or = (...children: QueryNode[]): QueryNode => ({ kind: 'or', children });
const and = (must: QueryNode[], not: QueryNode[] = []): QueryNode => ({ kind: 'and', must, not });
/** A phrase from [term, offset] pairs. */
const ph = (...terms: [string, number][]): QueryNode => ({ kind: 'phrase', terms: terms.map(([term, offset]) => ({ term, offset })) });
const NOTHING = and([]);

const parse = (q: string, a: Analyzer = plain) => parseFulltextQuery(q, a);

/** [code, details.field, details.position] of the error parse(q) throws. */
function failure(q: string, a: Analyzer = plain): [string, unknown, unknown] {
  try {
    parse(q, a);
  } catch (e) {
    if (e instanceof ThemisError) return [e.code, e.details?.field, e.details?.position];
    return ['non-themis', String(e), undefined];
  }
  return ['no error', undefined, undefined];
}

describe('parseFulltextQuery: structure', () => {
  it('a single word is a term; words are AND-ed implicitly or with AND / &&', () => {
    expect(parse('Fox')).toEqual(t('fox'));
    expect(parse('quick fox')).toEqual(and([t('quick'), t('fox')]));
    expect(parse('quick AND fox')).toEqual(and([t('quick'), t('fox')]));
    expect(parse('quick && fox   brown')).toEqual(and([t('quick'), t('fox'), t('brown')]));
    // operators are case-sensitive: lowercase "and"/"or" are words
    expect(parse('cats or dogs')).toEqual(and([t('cats'), t('or'), t('dogs')]));
  });

  it('OR binds tighter than the implicit AND and flattens', () => {
    expect(parse('a b OR c')).toEqual(and([t('a'), or(t('b'), t('c'))]));
    expect(parse('a OR b c')).toEqual(and([or(t('a'), t('b')), t('c')]));
    expect(parse('a OR b OR c')).toEqual(or(t('a'), t('b'), t('c')));
    expect(parse('a || b')).toEqual(or(t('a'), t('b')));
    expect(parse('(a OR b) OR c')).toEqual(or(t('a'), t('b'), t('c')));
    expect(parse('a AND b OR c')).toEqual(and([t('a'), or(t('b'), t('c'))]));
  });

  it('quoted phrases carry offsets relative to their first term; stopwords leave gaps', () => {
    expect(parse('"Quick brown fox"')).toEqual(ph(['quick', 0], ['brown', 1], ['fox', 2]));
    expect(parse('"bank of america"', english)).toEqual(ph(['bank', 0], ['america', 2]));
    expect(parse('"the bank of the america"', english)).toEqual(ph(['bank', 0], ['america', 3]));
    expect(parse('"running dogs"', english)).toEqual(ph(['run', 0], ['dog', 1]));
    // a phrase of one term is a term; a phrase of stopwords is nothing
    expect(parse('"  fox! "')).toEqual(t('fox'));
    expect(parse('"the of"', english)).toEqual(NOTHING);
    expect(parse('"a" OR "b c"')).toEqual(or(t('a'), ph(['b', 0], ['c', 1])));
    // operators inside quotes are words
    expect(parse('"cats OR dogs"')).toEqual(ph(['cats', 0], ['or', 1], ['dogs', 2]));
  });

  it('a word that analyses to several tokens is a phrase', () => {
    expect(parse('e-mail')).toEqual(ph(['e', 0], ['mail', 1]));
    expect(parse('U.S.A.')).toEqual(ph(['u', 0], ['s', 1], ['a', 2]));
    expect(parse('wi-fi router')).toEqual(and([ph(['wi', 0], ['fi', 1]), t('router')]));
    expect(parse('a*b')).toEqual(ph(['a', 0], ['b', 1]));
  });

  it('-term and NOT term exclude; +term requires', () => {
    expect(parse('fox -dog')).toEqual(and([t('fox')], [t('dog')]));
    expect(parse('fox NOT dog')).toEqual(and([t('fox')], [t('dog')]));
    expect(parse('-dog fox')).toEqual(and([t('fox')], [t('dog')]));
    expect(parse('+fox -"lazy dog" -cat')).toEqual(and([t('fox')], [ph(['lazy', 0], ['dog', 1]), t('cat')]));
    expect(parse('+fox')).toEqual(t('fox'));
    expect(parse('-dog')).toEqual(and([], [t('dog')]));
    // a minus followed by a space is no operator (and analyses to nothing)
    expect(parse('fox - dog')).toEqual(and([t('fox'), t('dog')]));
    // a hyphen inside a word is no operator
    expect(parse('x-ray')).toEqual(ph(['x', 0], ['ray', 1]));
  });

  it('term* is a prefix of the normalised, unstemmed word (plus its stem when stemming changes it)', () => {
    expect(parse('Conn*')).toEqual(pre('conn'));
    expect(parse('Running*', english)).toEqual({ kind: 'prefix', prefix: 'running', stem: 'run' });
    expect(parse('the*', english)).toEqual(pre('the'));
    expect(parse('MÜLL*', analyzer({ language: 'de', normalize_umlauts: true }))).toEqual(pre('mull'));
    expect(parse('u\u0308ber*')).toEqual(pre('über'));
    expect(parse('foo**')).toEqual(pre('foo'));
    expect(parse('a b* -c*')).toEqual(and([t('a'), pre('b')], [pre('c')]));
    expect(parse('"foo*"')).toEqual(t('foo'));
  });

  it('parentheses group and nest; plain AND groups are flattened', () => {
    expect(parse('(a OR b) c')).toEqual(and([or(t('a'), t('b')), t('c')]));
    expect(parse('a (b c)')).toEqual(and([t('a'), t('b'), t('c')]));
    expect(parse('((a))')).toEqual(t('a'));
    expect(parse('a (b -c)')).toEqual(and([t('a'), and([t('b')], [t('c')])]));
    expect(parse('-(a OR b) c')).toEqual(and([t('c')], [or(t('a'), t('b'))]));
    expect(parse('a OR (b (c OR d))')).toEqual(or(t('a'), and([t('b'), or(t('c'), t('d'))])));
    expect(parse(`${'('.repeat(32)}x${')'.repeat(32)}`)).toEqual(t('x'));
  });

  it('stopwords disappear; a query of stopwords only matches nothing', () => {
    expect(parse('the fox', english)).toEqual(t('fox'));
    expect(parse('the OR fox', english)).toEqual(t('fox'));
    expect(parse('-the fox', english)).toEqual(t('fox'));
    expect(parse('the and of', english)).toEqual(NOTHING);
    expect(parse('(the) a*', english)).toEqual(pre('a'));
    expect(parse('!!! ...')).toEqual(NOTHING);
    // 4096 characters is allowed (one over-long word, skipped)
    expect(parse('x'.repeat(MAX_QUERY_LENGTH))).toEqual(NOTHING);
  });

  it('queryTerms lists the terms and prefixes a query can match (not the excluded ones)', () => {
    const q = queryTerms(parse('(a OR "b c") d* -e -f* +g'));
    expect([...q.terms].sort()).toEqual(['a', 'b', 'c', 'g']);
    expect([...q.prefixes]).toEqual(['d']);
  });
});

describe('parseFulltextQuery: errors', () => {
  const at = (position: number) => ['VALIDATION_FAILED', 'query', position];

  it.each([
    ['a "b c', 3, 'unterminated quote'],
    ['"', 1, 'lone quote'],
    ['(a b', 1, 'unclosed ('],
    ['a (b (c)', 3, 'unclosed outer ('],
    ['a b)', 4, 'unbalanced )'],
    [')', 1, 'lone )'],
    ['()', 2, 'empty parentheses'],
    ['a ( )', 5, 'blank parentheses'],
    ['OR a', 1, 'OR at the start'],
    ['a OR', 3, 'OR at the end'],
    ['a OR OR b', 3, 'OR OR'],
    ['(a OR) b', 4, 'OR before )'],
    ['AND a', 1, 'AND at the start'],
    ['a AND', 3, 'AND at the end'],
    ['a AND OR b', 3, 'AND OR'],
    ['-a OR b', 1, 'exclusion as first OR alternative'],
    ['a OR -b', 6, 'exclusion as second OR alternative'],
    ['a OR NOT b', 6, 'NOT as OR alternative'],
    ['*', 1, '* alone'],
    ['a ***', 3, 'stars alone'],
    ['fox -*', 6, 'excluded * alone'],
    ['e-mail*', 1, 'prefix of several tokens'],
    ['foo.*', 1, 'prefix with trailing punctuation'],
    ['--a', 2, 'double minus'],
    ['NOT', 4, 'NOT without a term'],
    ['a NOT', 6, 'trailing NOT'],
    [`${'('.repeat(33)}x${')'.repeat(33)}`, 33, 'nesting deeper than 32'],
  ])('%j fails at position %i (%s)', (q, position) => {
    expect(failure(q)).toEqual(at(position));
  });

  it('empty and blank queries and queries over MAX_QUERY_LENGTH fail on field "query"', () => {
    expect(MAX_QUERY_LENGTH).toBe(4096);
    for (const q of ['', '   ', '\t\n']) expect(failure(q)).toEqual(['VALIDATION_FAILED', 'query', undefined]);
    expect(failure('a '.repeat(2049))).toEqual(['VALIDATION_FAILED', 'query', undefined]);
    expect(failure('x'.repeat(MAX_QUERY_LENGTH + 1))).toEqual(['VALIDATION_FAILED', 'query', undefined]);
  });

  it('at most 1024 terms (stopwords and phrases count as one each)', () => {
    const words = (n: number) => Array(n).fill('a').join(' ');
    const ok = parse(words(1024));
    expect(ok.kind === 'and' && ok.must.length).toBe(1024);
    expect(failure(words(1025))).toEqual(at(1024 * 2 + 1));
    expect(failure(Array(1025).fill('of').join(' '), english)).toEqual(at(1024 * 3 + 1));
    expect(failure(`${words(1024)} "b c"`)).toEqual(at(1024 * 2 + 1));
    const phraseLast = parse(`${words(1023)} "b c d"`);
    expect(phraseLast.kind === 'and' && phraseLast.must.at(-1)).toEqual(ph(['b', 0], ['c', 1], ['d', 2]));
  });
});

/** A query node as parseFulltextQuery promises it: analysed terms, phrases of ≥ 2 terms at increasing offsets from 0, flat ORs. */
function wellFormed(n: QueryNode): boolean {
  switch (n.kind) {
    case 'term':
      return n.term.length > 0;
    case 'prefix':
      return n.prefix.length > 0;
    case 'phrase':
      return (
        n.terms.length >= 2 &&
        n.terms[0]!.offset === 0 &&
        n.terms.every((x, i) => x.term.length > 0 && (i === 0 || x.offset > n.terms[i - 1]!.offset))
      );
    case 'or':
      return n.children.length >= 2 && n.children.every((c) => c.kind !== 'or' && wellFormed(c));
    case 'and':
      return [...n.must, ...n.not].every(wellFormed);
  }
}

describe('parseFulltextQuery: property', () => {
  const numRuns = process.env.THEMIS_SLOW ? 100_000 : 2000;
  const piece = fc.constantFrom(
    '"',
    '(',
    ')',
    '-',
    '+',
    '*',
    ' ',
    ' ',
    'OR',
    'AND',
    'NOT',
    '||',
    '&&',
    'fox',
    'the',
    'Müller',
    'e-mail',
    'a',
    '\u0308',
    '.',
    '\t',
  );
  const query = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.array(piece, { maxLength: 40 }).map((ps) => ps.join('')),
    fc.array(piece, { maxLength: 40 }).map((ps) => ps.join(' ')),
  );

  it('returns a well-formed node or throws VALIDATION_FAILED on "query" (never anything else), quickly', () => {
    let slowest = 0;
    fc.assert(
      fc.property(query, fc.constantFrom(plain, english), (q, a) => {
        let node: QueryNode | undefined;
        let err: unknown;
        const attempt = () => {
          const t0 = performance.now();
          node = undefined;
          err = undefined;
          try {
            node = parseFulltextQuery(q, a);
          } catch (e) {
            err = e;
          }
          return performance.now() - t0;
        };
        // a slow run is timed again: a GC pause or a busy machine does not repeat, a pathological input does
        let ms = attempt();
        for (let i = 0; i < 3 && ms > 50; i++) ms = Math.min(ms, attempt());
        if (node) {
          expect(wellFormed(node), JSON.stringify(node)).toBe(true);
        } else {
          expect(err).toBeInstanceOf(ThemisError);
          const { code, details } = err as ThemisError;
          expect([code, details?.field]).toEqual(['VALIDATION_FAILED', 'query']);
          const p = details?.position;
          if (p !== undefined)
            expect(
              Number.isInteger(p) && (p as number) >= 1 && (p as number) <= q.length + 1,
              `position ${String(p)} of ${JSON.stringify(q)}`,
            ).toBe(true);
        }
        slowest = Math.max(slowest, ms);
      }),
      { numRuns },
    );
    expect(slowest).toBeLessThan(250);
  });

  it('worst-case inputs of maximal length parse or fail fast', () => {
    for (const q of [
      '('.repeat(MAX_QUERY_LENGTH),
      '"'.repeat(MAX_QUERY_LENGTH - 1),
      '-'.repeat(MAX_QUERY_LENGTH),
      `${'a OR '.repeat(819)}a`,
      '(a '.repeat(1365),
      'ab'.repeat(2048),
    ]) {
      // best of up to three runs (see above); each takes a few ms here
      let ms = Infinity;
      for (let i = 0; i < 3 && ms >= 100; i++) {
        const t0 = performance.now();
        const code = failure(q)[0];
        expect(['no error', 'VALIDATION_FAILED']).toContain(code);
        ms = Math.min(ms, performance.now() - t0);
      }
      expect(ms, q.slice(0, 20)).toBeLessThan(500);
    }
  });

  it('space-separated plain words parse to the AND of their terms in order', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { minLength: 2, maxLength: 20 }), (ws) => {
        expect(parse(ws.join(' '))).toEqual(and(ws.map(t)));
      }),
      { numRuns: 200 },
    );
  });
});
