import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThemisError } from '../../src/errors.js';
import {
  ARRAY_POSITION_GAP,
  Analyzer,
  DEFAULT_FULLTEXT_CONFIG,
  DEFAULT_HIGHLIGHT,
  MAX_PREFIX_EXPANSIONS,
  MemoryIndex,
  PostingList,
  bm25Idf,
  fieldTexts,
  parseFulltextQuery,
  queryTerms,
  type AnalyzedText,
  type FulltextConfig,
  type HighlightOptions,
  type QueryNode,
  type ScoredDoc,
} from '../../src/index/fulltext/index.js';
import { SearchScratch, searchMemory } from '../../src/index/fulltext/search.js';
import { makeSnippet } from '../../src/index/fulltext/snippet.js';
import { prng } from '../helpers/random.js';

const makeAnalyzer = (c: Partial<FulltextConfig> = {}) => new Analyzer({ ...DEFAULT_FULLTEXT_CONFIG, ...c });

const rng = prng;

// ---------------------------------------------------------------- PostingList

/** Every (doc, positions) of a posting list, in its order. */
const contents = (pl: PostingList): [number, number[]][] => Array.from({ length: pl.len }, (_, i) => [pl.docAt(i), [...pl.positions(i)]]);
const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

describe('PostingList', () => {
  it('keeps documents sorted whatever the insertion order; find is a binary search', () => {
    const pl = new PostingList(2);
    for (const d of [9, 1, 5, 3, 12, 0, 7]) pl.upsert(d, [d, d + 10]);
    expect(contents(pl)).toEqual([0, 1, 3, 5, 7, 9, 12].map((d) => [d, [d, d + 10]]));
    expect(pl.len).toBe(7);
    expect([0, 5, 12].map((d) => pl.find(d))).toEqual([0, 3, 6]);
    expect([-1, 2, 4, 13].map((d) => pl.find(d))).toEqual([-1, -1, -1, -1]);
    expect(new PostingList().find(0)).toBe(-1);
  });

  it('positions() returns the latest upsert after updates that shrink and grow', () => {
    const pl = new PostingList();
    pl.upsert(4, [1, 2, 3]);
    pl.upsert(8, [5]);
    pl.upsert(4, [7]);
    expect(contents(pl)).toEqual([
      [4, [7]],
      [8, [5]],
    ]);
    pl.upsert(4, range(100, 9));
    expect(contents(pl)).toEqual([
      [4, range(100, 9)],
      [8, [5]],
    ]);
    pl.upsert(8, [6, 9]);
    pl.upsert(4, [2, 3]);
    expect(contents(pl)).toEqual([
      [4, [2, 3]],
      [8, [6, 9]],
    ]);
    expect(pl.tfAt(pl.find(4))).toBe(2);
  });

  it('remove drops one document and reports whether it was there', () => {
    const pl = new PostingList();
    for (const d of [1, 2, 3]) pl.upsert(d, [d]);
    expect(pl.remove(2)).toBe(true);
    expect(pl.remove(2)).toBe(false);
    expect(pl.remove(99)).toBe(false);
    expect(contents(pl)).toEqual([
      [1, [1]],
      [3, [3]],
    ]);
    pl.upsert(2, [20, 21]);
    expect(contents(pl)).toEqual([
      [1, [1]],
      [2, [20, 21]],
      [3, [3]],
    ]);
  });

  it('compacts replaced and removed positions: the pool stays bounded and positions stay right', () => {
    const pl = new PostingList();
    for (let i = 0; i < 10_000; i++) pl.upsert(1, range(i, 10 + (i % 2)));
    expect(contents(pl)).toEqual([[1, range(9999, 11)]]);
    expect(pl.buf.length).toBeLessThan(200);

    const many = new PostingList();
    for (let d = 0; d < 100; d++) many.upsert(d, range(d, 10));
    for (let d = 0; d < 60; d++) many.remove(d);
    expect(many.poolLen).toBeLessThan(1000); // compacted at least once
    expect(contents(many)).toEqual(range(60, 40).map((d) => [d, range(d, 10)]));
  });

  it('seek(doc, from) is the first index at or after `from` whose document is at least `doc`', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 120 }),
        fc.integer({ min: -1, max: 302 }),
        fc.nat(130),
        (docs, doc, from0) => {
          const pl = new PostingList();
          for (const d of docs) pl.upsert(d, [0]);
          const from = Math.min(from0, pl.len);
          let lowerBound = 0;
          while (lowerBound < pl.len && pl.docAt(lowerBound) < doc) lowerBound++;
          expect(pl.seek(doc, from)).toBe(Math.max(from, lowerBound));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('matches a Map model under random upserts and removes (property)', () => {
    const positions = fc
      .uniqueArray(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 40 })
      .map((ps) => ps.sort((a, b) => a - b));
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('upsert' as const), doc: fc.integer({ min: 0, max: 40 }), ps: positions }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), doc: fc.integer({ min: 0, max: 40 }) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (ops, capacity) => {
        const pl = new PostingList(capacity);
        const model = new Map<number, number[]>();
        for (const o of ops) {
          if (o.kind === 'upsert') {
            pl.upsert(o.doc, o.ps);
            model.set(o.doc, o.ps);
          } else {
            expect(pl.remove(o.doc)).toBe(model.delete(o.doc));
          }
          expect(contents(pl)).toEqual([...model].sort((a, b) => a[0] - b[0]));
        }
        for (const d of model.keys()) expect(pl.docAt(pl.find(d))).toBe(d);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------- MemoryIndex

const termsOf = (o: Record<string, number[]>) => new Map(Object.entries(o));

describe('MemoryIndex', () => {
  it('put and delete keep N, Σdl, postings and df', () => {
    const m = new MemoryIndex();
    m.put('a', 3, termsOf({ x: [0, 2], y: [1] }));
    m.put('b', 2, termsOf({ x: [0], z: [1] }));
    expect([m.n, m.sumDl, m.postings, m.df('x'), m.df('y'), m.df('z'), m.df('nope')]).toEqual([2, 5, 4, 2, 1, 1, 0]);
    expect([m.docOf('a'), m.docOf('b'), m.docOf('c')]).toEqual([0, 1, undefined]);
    expect([m.docLen[0], m.docLen[1]]).toEqual([3, 2]);

    // replace a: y goes, z comes, x changes positions
    m.put('a', 4, termsOf({ x: [3], z: [0, 1, 2] }), ['x', 'y']);
    expect([m.n, m.sumDl, m.postings, m.df('x'), m.df('y'), m.df('z')]).toEqual([2, 6, 4, 2, 0, 2]);
    expect(m.terms.has('y')).toBe(false);
    const x = m.terms.get('x')!;
    expect(contents(x)).toEqual([
      [0, [3]],
      [1, [0]],
    ]);
    expect(contents(m.terms.get('z')!)).toEqual([
      [0, [0, 1, 2]],
      [1, [1]],
    ]);

    m.delete('b', ['x', 'z']);
    expect([m.n, m.sumDl, m.postings, m.df('x'), m.df('z')]).toEqual([1, 4, 2, 1, 1]);
    expect([m.docOf('b'), m.docKeys[1], m.docLen[1]]).toEqual([undefined, undefined, 0]);
    m.delete('b', ['x']); // deleting an absent key changes nothing
    expect([m.n, m.sumDl, m.postings]).toEqual([1, 4, 2]);
  });

  it('reuses the numbers of deleted documents', () => {
    const m = new MemoryIndex();
    for (const k of ['a', 'b', 'c']) m.put(k, 1, termsOf({ [k]: [0] }));
    m.delete('b', ['b']);
    m.put('d', 1, termsOf({ d: [0] }));
    expect(m.docOf('d')).toBe(1);
    expect(m.docKeys).toEqual(['a', 'd', 'c']);
    expect(m.docCapacity).toBe(3);
    m.put('e', 1, termsOf({ e: [0] }));
    expect([m.docOf('e'), m.docCapacity, m.n]).toEqual([3, 4, 4]);
  });

  it('grows past 1024 documents keeping every length', () => {
    const m = new MemoryIndex();
    for (let i = 0; i < 3000; i++) m.put(`k${i}`, (i % 7) + 1, termsOf({ t: [0] }));
    expect(m.n).toBe(3000);
    expect(m.sumDl).toBe(range(0, 3000).reduce((s, i) => s + (i % 7) + 1, 0));
    expect([0, 1023, 1024, 2999].map((i) => m.docLen[m.docOf(`k${i}`)!])).toEqual([1, 2, 3, 4]);
    expect(m.df('t')).toBe(3000);
  });

  it('loadDoc and loadPosting rebuild the same state as put', () => {
    const m = new MemoryIndex();
    const a = m.loadDoc('a', 2);
    const b = m.loadDoc('b', 1);
    m.loadPosting('x', a, [0]);
    m.loadPosting('x', b, [0]);
    m.loadPosting('y', a, [1]);
    expect([m.n, m.sumDl, m.postings, m.df('x'), m.df('y')]).toEqual([2, 3, 3, 2, 1]);
    expect(m.termsWithPrefix('', 10)).toEqual(['x', 'y']);
  });

  it('termsWithPrefix: sorted, without removed terms, stopping after max + 1', () => {
    const m = new MemoryIndex();
    m.put('a', 5, termsOf({ pear: [0], peach: [1], apple: [2], pea: [3], plum: [4] }));
    expect(m.termsWithPrefix('pe', 10)).toEqual(['pea', 'peach', 'pear']);
    expect(m.termsWithPrefix('p', 10)).toEqual(['pea', 'peach', 'pear', 'plum']);
    expect(m.termsWithPrefix('p', 2)).toEqual(['pea', 'peach', 'pear']);
    expect(m.termsWithPrefix('q', 10)).toEqual([]);
    expect(m.termsWithPrefix('', 100)).toEqual(['apple', 'pea', 'peach', 'pear', 'plum']);
    // terms added later are merged in; removed terms disappear; a re-added term appears once
    m.put('b', 2, termsOf({ pepper: [0], peach: [1] }));
    m.put('a', 2, termsOf({ pear: [0], apple: [1] }), ['pear', 'peach', 'apple', 'pea', 'plum']);
    expect(m.termsWithPrefix('p', 10)).toEqual(['peach', 'pear', 'pepper']);
    m.delete('b', ['pepper', 'peach']);
    expect(m.termsWithPrefix('p', 10)).toEqual(['pear']);
    m.put('c', 1, termsOf({ peach: [0] }));
    expect(m.termsWithPrefix('pe', 10)).toEqual(['peach', 'pear']);
  });
});

// ---------------------------------------------------------------- search

/** An analysed corpus kept both in a MemoryIndex and as plain maps (for the reference). */
class Corpus {
  readonly mem = new MemoryIndex();
  readonly docs = new Map<string, AnalyzedText>();
  private readonly scratch = new SearchScratch();
  constructor(readonly analyzer: Analyzer = makeAnalyzer()) {}

  put(key: string, value: unknown): this {
    const a = this.analyzer.analyze(fieldTexts(value));
    const old = this.docs.get(key);
    if (a.length === 0) return old ? this.delete(key) : this; // documents without tokens are not indexed
    this.mem.put(key, a.length, a.terms, old?.terms.keys());
    this.docs.set(key, a);
    return this;
  }

  delete(key: string): this {
    const old = this.docs.get(key);
    if (old) this.mem.delete(key, old.terms.keys());
    this.docs.delete(key);
    return this;
  }

  parse(q: string): QueryNode {
    return parseFulltextQuery(q, this.analyzer);
  }

  search(q: string | QueryNode, opts: { limit?: number; offset?: number; k1?: number; b?: number } = {}) {
    const { total, hits } = this.searchCounting(q, opts);
    return { total, hits };
  }

  /** search() plus the number of documents scored (block-max pruning skips some). */
  searchCounting(q: string | QueryNode, opts: { limit?: number; offset?: number; k1?: number; b?: number } = {}) {
    const node = typeof q === 'string' ? this.parse(q) : q;
    return searchMemory(
      this.mem,
      node,
      { limit: opts.limit ?? 1000, offset: opts.offset ?? 0, k1: opts.k1 ?? 1.2, b: opts.b ?? 0.75 },
      this.scratch,
    );
  }

  /** Key -> score of a search, for lookups. */
  scores(q: string, opts: { k1?: number; b?: number } = {}): Map<string, number> {
    return new Map(this.search(q, opts).hits.map((h) => [h.key, h.score]));
  }
}

/**
 * Reference BM25 straight from the formula over the analysed documents (not
 * the index): N = indexed documents, avgdl = their mean length,
 * idf = ln(1 + (N − n + 0.5)/(n + 0.5)), tf part = f(k1 + 1)/(f + k1(1 − b + b·dl/avgdl)).
 * Phrases: frequency = start positions where every term sits at its offset,
 * score = Σ idf(terms) · tfPart(frequency). Ranking: score descending, key ascending.
 */
function referenceBm25(docs: ReadonlyMap<string, AnalyzedText>, q: QueryNode, k1: number, b: number): ScoredDoc[] {
  const N = docs.size;
  const avgdl = [...docs.values()].reduce((s, d) => s + d.length, 0) / N;
  const df = (term: string) => [...docs.values()].filter((d) => d.terms.has(term)).length;
  const idf = (term: string) => Math.log(1 + (N - df(term) + 0.5) / (df(term) + 0.5));
  const tfPart = (f: number, dl: number) => (f * (k1 + 1)) / (f + k1 * (1 - b + (b * dl) / avgdl));
  const dictionary = [...new Set([...docs.values()].flatMap((d) => [...d.terms.keys()]))];

  const termScore = (term: string, d: AnalyzedText): number | null => {
    const f = d.terms.get(term)?.length ?? 0;
    return f === 0 ? null : idf(term) * tfPart(f, d.length);
  };
  /** Sum of the non-null scores, or null when all are null. */
  const sumOf = (xs: (number | null)[]): number | null => xs.reduce<number | null>((s, x) => (x === null ? s : (s ?? 0) + x), null);
  const score = (n: QueryNode, d: AnalyzedText): number | null => {
    switch (n.kind) {
      case 'term':
        return termScore(n.term, d);
      case 'prefix':
        return sumOf(dictionary.filter((t) => t.startsWith(n.prefix)).map((t) => termScore(t, d)));
      case 'phrase': {
        const starts = d.terms.get(n.terms[0]!.term) ?? [];
        const freq = starts.filter((p) => n.terms.every((t) => d.terms.get(t.term)?.includes(p + t.offset))).length;
        return freq === 0 ? null : n.terms.reduce((s, t) => s + idf(t.term), 0) * tfPart(freq, d.length);
      }
      case 'or':
        return sumOf(n.children.map((c) => score(c, d)));
      case 'and': {
        if (n.must.length === 0 || n.not.some((c) => score(c, d) !== null)) return null;
        const parts = n.must.map((c) => score(c, d));
        return parts.includes(null) ? null : parts.reduce<number>((s, x) => s + x!, 0);
      }
    }
  };
  const out: ScoredDoc[] = [];
  for (const [key, d] of docs) {
    const s = score(q, d);
    if (s !== null) out.push({ key, score: s });
  }
  return out.sort((x, y) => y.score - x.score || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/**
 * The search equals the reference: same total, same keys in the same order
 * (ties by key ascending), scores to 1e-6. Only documents whose reference
 * scores differ by less than 1e-9 may trade places: the index may sum the
 * same contributions in another order, and a last-bit difference is no tie.
 */
function expectMatchesReference(c: Corpus, q: string | QueryNode, k1 = 1.2, b = 0.75): ScoredDoc[] {
  const node = typeof q === 'string' ? c.parse(q) : q;
  const expected = referenceBm25(c.docs, node, k1, b);
  const got = c.search(node, { k1, b, limit: c.docs.size + 1 });
  const label = `${JSON.stringify(q)} k1=${k1} b=${b}`;
  expect(got.total, label).toBe(expected.length);
  expect(keysOf(got.hits).sort(), label).toEqual(keysOf(expected).sort());
  const ref = new Map(expected.map((h) => [h.key, h.score]));
  got.hits.forEach((h, i) => {
    const at = `${label} #${i} ${h.key}`;
    expect(Math.abs(h.score - ref.get(h.key)!), at).toBeLessThan(1e-6);
    if (h.key !== expected[i]!.key)
      expect(Math.abs(ref.get(h.key)! - expected[i]!.score), `${at} instead of ${expected[i]!.key}`).toBeLessThan(1e-9);
    const next = got.hits[i + 1];
    if (next && next.score === h.score) expect(h.key < next.key, `${at}: equal scores by key`).toBe(true);
    if (next) expect(next.score, at).toBeLessThanOrEqual(h.score);
  });
  return expected;
}

const keysOf = (hits: ScoredDoc[]) => hits.map((h) => h.key);

describe('searchMemory: BM25 scores', () => {
  it('bm25Idf and one score computed by hand', () => {
    expect(bm25Idf(10, 10)).toBeCloseTo(Math.log(1 + 0.5 / 10.5), 12);
    expect(bm25Idf(2, 1)).toBeCloseTo(Math.LN2, 12);
    // N = 2, avgdl = 1.5; "y" is in one document of length 2:
    // idf = ln 2, tf part = 2.2 / (1 + 1.2 · (0.25 + 0.75 · 2 / 1.5)) = 0.88
    const c = new Corpus().put('a', 'x y').put('b', 'x');
    const r = c.search('y');
    expect(r).toEqual({ total: 1, hits: [{ key: 'a', score: expect.closeTo(0.88 * Math.LN2, 12) }] });
  });

  const fox = () =>
    new Corpus()
      .put('d1', 'The quick brown fox jumps over the lazy dog')
      .put('d2', 'The lazy dog sleeps all day')
      .put('d3', 'dog lazy')
      .put('d4', 'Quick quick fox! A quick fox.')
      .put('d5', 'a lazy brown dog')
      .put('d6', 'lazy dog, lazy dog')
      .put('d7', ['the fox is lazy', 'dog house'])
      .put('d8', 'quiet quilt quit');

  it.each([
    ['fox'],
    ['quick fox'],
    ['quick AND fox AND brown'],
    ['fox OR dog'],
    ['quick OR lazy OR quilt'],
    ['dog -lazy'],
    ['dog -fox -sleeps'],
    ['(fox OR dog) -(quick OR day)'],
    ['"lazy dog"'],
    ['"lazy dog" OR fox'],
    ['qui*'],
    ['qui* -quick'],
    ['nothing'],
    ['fox nothing'],
    ['nothing OR fox'],
  ])('%j equals the reference BM25 for several k1/b', (q) => {
    const c = fox();
    for (const [k1, b] of [
      [1.2, 0.75],
      [2, 0.3],
      [0.5, 1],
      [0, 0],
      [10, 0],
    ] as const)
      expectMatchesReference(c, q, k1, b);
  });

  it('phrases need exact adjacency in the right order', () => {
    const c = fox();
    expect(keysOf(c.search('"lazy dog"').hits).sort()).toEqual(['d1', 'd2', 'd6']);
    expect(keysOf(c.search('"dog lazy"').hits).sort()).toEqual(['d3', 'd6']);
    expect(keysOf(c.search('lazy dog').hits).sort()).toEqual(['d1', 'd2', 'd3', 'd5', 'd6', 'd7']);
    // d7 has "lazy" and "dog" at the end of one array element and the start of the next
    expect(c.docs.get('d7')!.terms.get('dog')).toEqual([ARRAY_POSITION_GAP + 4]);
    expect(keysOf(c.search('"quick fox"').hits)).toEqual(['d4']);
  });

  it('a phrase scores Σ idf(terms) · tfPart(phrase frequency)', () => {
    const c = fox();
    const N = c.docs.size;
    const avgdl = [...c.docs.values()].reduce((s, d) => s + d.length, 0) / N;
    const idfSum = bm25Idf(N, c.mem.df('lazy')) + bm25Idf(N, c.mem.df('dog'));
    const tfPart = (f: number, dl: number) => (f * 2.2) / (f + 1.2 * (0.25 + (0.75 * dl) / avgdl));
    const s = c.scores('"lazy dog"');
    expect(s.get('d6')).toBeCloseTo(idfSum * tfPart(2, 4), 9); // "lazy dog, lazy dog": frequency 2
    expect(s.get('d2')).toBeCloseTo(idfSum * tfPart(1, 6), 9);
    // "quick fox" occurs twice in d4 (positions 1-2 and 4-5 of 6 tokens)
    const q = c.scores('"quick fox"').get('d4')!;
    expect(q).toBeCloseTo((bm25Idf(N, c.mem.df('quick')) + bm25Idf(N, c.mem.df('fox'))) * tfPart(2, 6), 9);
  });

  it('a prefix scores the sum of the expanded terms present in the document', () => {
    const c = fox().put('d9', 'quick quiet');
    const prefix = c.scores('qui*');
    expect([...prefix.keys()].sort()).toEqual(['d1', 'd4', 'd8', 'd9']);
    const sumOfTerms = (key: string) => ['quick', 'quiet', 'quilt', 'quit'].reduce((s, t) => s + (c.scores(t).get(key) ?? 0), 0);
    for (const [key, score] of prefix) expect(score, key).toBeCloseTo(sumOfTerms(key), 9);
    expect(prefix.get('d9')).toBeCloseTo(c.scores('quick').get('d9')! + c.scores('quiet').get('d9')!, 9);
  });

  it('exclusions remove documents and leave the other scores unchanged', () => {
    const c = fox();
    const all = c.scores('dog');
    const some = c.scores('dog -"lazy dog"');
    expect([...some.keys()].sort()).toEqual(['d3', 'd5', 'd7']);
    for (const [k, s] of some) expect(s).toBeCloseTo(all.get(k)!, 12);
    expect(c.search('-dog')).toEqual({ total: 0, hits: [] });
  });

  it('phrases with stopword gaps match any word in the gap, never reordered or adjacent words', () => {
    const c = new Corpus(makeAnalyzer({ stopwords_enabled: true }))
      .put('a', 'Bank of America')
      .put('b', 'bank in america')
      .put('c', 'bank america')
      .put('d', 'america of bank')
      .put('e', 'the bank of the america');
    expect(keysOf(c.search('"bank of america"').hits).sort()).toEqual(['a', 'b']);
    expectMatchesReference(c, '"bank of america"');
  });

  // With stemming the dictionary holds stems ("lazy" is indexed as "lazi", "connections" as
  // "connect"): a prefix also expands over the terms starting with its own stem.
  it('with stemming, word* finds the documents that contain the word', () => {
    const c = new Corpus(makeAnalyzer({ stemming_enabled: true })).put('d', 'network connections are lazy').put('e', 'runners run');
    for (const q of ['connections', 'conn*', 'lazy']) expect(c.search(q).total, q).toBe(1);
    for (const q of ['lazy*', 'connections*', 'connection*']) expect(c.search(q).total, q).toBe(1);
    expect(c.search('lazyness*').total).toBe(0); // neither the prefix nor its stem "lazy" starts a term
  });

  it('stopword-only and unknown-term queries match nothing; an empty index returns nothing', () => {
    const c = new Corpus(makeAnalyzer({ stopwords_enabled: true })).put('a', 'the fox');
    expect(c.search('the of')).toEqual({ total: 0, hits: [] });
    expect(c.search('zebra*')).toEqual({ total: 0, hits: [] });
    expect(new Corpus().search('fox')).toEqual({ total: 0, hits: [] });
  });

  it('updates and deletes change N, avgdl and df as the reference sees them', () => {
    const c = fox();
    c.put('d2', 'completely different words').delete('d6').put('d10', 'lazy lazy lazy dog').put('d3', '!!!');
    expect(c.docs.has('d3')).toBe(false);
    expect(c.mem.n).toBe(c.docs.size);
    for (const q of ['lazy', 'dog', '"lazy dog"', 'lazy OR words', 'la* OR d*']) expectMatchesReference(c, q);
  });

  it('one SearchScratch serves many searches: across index growth and generation wrap-around', () => {
    // OR queries: candidates come from several lists and are de-duplicated with the scratch's stamps
    const scratch = new SearchScratch();
    const small = new Corpus().put('a', 'fox').put('b', 'fox dog');
    const run = (c: Corpus, q: string) =>
      keysOf(searchMemory(c.mem, c.parse(q), { limit: 10_000, offset: 0, k1: 1.2, b: 0.75 }, scratch).hits);
    expect(run(small, 'fox OR cat')).toEqual(['a', 'b']); // generation 1 stamps a and b
    const big = new Corpus();
    for (let i = 0; i < 3000; i++) big.put(`k${String(i).padStart(4, '0')}`, i % 3 === 0 ? 'fox' : i % 3 === 1 ? 'dog' : 'cat');
    expect(run(big, 'fox OR dog')).toHaveLength(2000);
    // the next generation wraps to 1 again: stale stamps of generation 1 must not hide documents
    (scratch as unknown as { gen: number }).gen = 0xfffffffe;
    expect(run(small, 'fox OR cat')).toEqual(['a', 'b']);
    expect(run(small, 'fox OR dog')).toEqual(['b', 'a']);
  });

  it('refuses a prefix expanding to more than MAX_PREFIX_EXPANSIONS terms', () => {
    const m = new MemoryIndex();
    m.put('a', MAX_PREFIX_EXPANSIONS + 1, new Map(range(0, MAX_PREFIX_EXPANSIONS + 1).map((i) => [`p${i}`, [i]])));
    const run = (prefix: string) =>
      searchMemory(m, { kind: 'prefix', prefix }, { limit: 10, offset: 0, k1: 1.2, b: 0.75 }, new SearchScratch());
    let err: unknown;
    try {
      run('p');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ThemisError);
    expect([(err as ThemisError).code, (err as ThemisError).details?.field]).toEqual(['VALIDATION_FAILED', 'query']);
    expect(run('p1').total).toBe(1); // p1, p10..p19, p100.., p1000..: 1111 terms, one document
  });
});

// ---------------------------------------------------------------- generated corpora, paging, top-k

const VOCAB = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu'];

/** A few hundred documents over a small skewed vocabulary (many ties), inserted in random key order, with updates and deletes. */
function generatedCorpus(seed: number, size: number): Corpus {
  const r = rng(seed);
  const word = () => VOCAB[Math.floor(r() * r() * VOCAB.length)]!;
  const text = () => Array.from({ length: 1 + Math.floor(r() * 10) }, word).join(' ');
  const keys = new Set<string>();
  while (keys.size < size) keys.add(Math.floor(r() * 36 ** 5).toString(36));
  const c = new Corpus();
  const order = [...keys];
  for (const k of order) c.put(k, r() < 0.1 ? [text(), text()] : text());
  for (let i = 0; i < size / 10; i++) c.delete(order[Math.floor(r() * size)]!);
  for (let i = 0; i < size / 10; i++) c.put(order[Math.floor(r() * size)]!, text());
  for (let i = 0; i < size / 20; i++) c.put(`new${i}`, text());
  return c;
}

describe('searchMemory: generated corpus', () => {
  const c = generatedCorpus(42, 400);
  const queries = [
    'alpha',
    'nu',
    'alpha beta',
    'beta OR nu',
    'gamma -alpha',
    '"alpha beta"',
    '"beta alpha alpha"',
    'e*',
    'ka* OR "eta eta"',
    '(gamma OR delta) -(epsilon OR alpha) beta',
    'alpha zzz',
    'zzz OR mu',
  ];

  it.each(queries)('%j equals the reference BM25', (q) => {
    for (const [k1, b] of [
      [1.2, 0.75],
      [0.3, 0.1],
      [3, 1],
    ] as const)
      expectMatchesReference(c, q, k1, b);
  });

  it('holds many exact score ties, broken by key ascending', () => {
    const full = c.search('alpha').hits;
    let ties = 0;
    for (let i = 1; i < full.length; i++) {
      if (full[i]!.score === full[i - 1]!.score) {
        ties++;
        expect(full[i - 1]!.key < full[i]!.key).toBe(true);
      } else {
        expect(full[i]!.score).toBeLessThan(full[i - 1]!.score);
      }
    }
    expect(ties).toBeGreaterThan(20);
  });

  it.each(queries)('%j: pages and small limits agree with the full ranking; total ignores the limit', (q) => {
    const full = c.search(q, { limit: 1000 });
    expect(full.hits.length).toBe(Math.min(full.total, 1000));
    for (const limit of [0, 1, 3, 7, 50]) {
      for (const offset of [0, 1, 3, 10, full.total, full.total + 5]) {
        const page = c.search(q, { limit, offset });
        expect(page.total, `limit ${limit} offset ${offset}`).toBe(full.total);
        expect(page.hits, `limit ${limit} offset ${offset}`).toEqual(full.hits.slice(offset, offset + limit));
      }
    }
  });

  it('a different seed and size (fast-check) keeps top-k equal to the head of the full ranking', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 150, max: 400 }),
        fc.constantFrom(...queries),
        fc.integer({ min: 1, max: 12 }),
        (seed, size, q, k) => {
          const g = generatedCorpus(seed, size);
          const full = g.search(q, { limit: 1000 });
          const top = g.search(q, { limit: k });
          expect(top.total).toBe(full.total);
          expect(top.hits).toEqual(full.hits.slice(0, k));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('searchMemory: block-max pruning (top-k without scoring every match)', () => {
  // 3,000 documents: "common" in nearly all (tf 1-4, varied lengths), rarer words mixed in.
  const r = rng(7);
  const c = new Corpus();
  const filler = () => Array.from({ length: Math.floor(r() * 30) }, () => VOCAB[Math.floor(r() * VOCAB.length)]!);
  for (let i = 0; i < 3000; i++) {
    // like real text: mostly one occurrence, a few documents with several
    const words = [...filler(), ...Array.from({ length: 1 + Math.floor(r() ** 8 * 6) }, () => 'common')];
    if (r() < 0.3) words.push('rare', 'rare');
    c.put(`d${String(i).padStart(5, '0')}`, words.sort(() => r() - 0.5).join(' '));
  }
  const queries = ['common', 'common alpha', 'common -beta', '"common common"', 'rare common', 'alpha OR common'];

  it.each(queries)('%j: top 10 and total equal the head of the full ranking', (q) => {
    const full = c.search(q, { limit: 5000 });
    const top = c.search(q, { limit: 10 });
    expect(top.total).toBe(full.total);
    expect(top.hits).toEqual(full.hits.slice(0, 10));
  });

  it('a single term with thousands of matches scores only a fraction of them', () => {
    const top = c.searchCounting('common', { limit: 10 });
    expect(top.total).toBe(3000);
    expect(top.scored).toBeLessThan(top.total / 2);
    expect(c.searchCounting('common', { limit: 5000 }).scored).toBe(top.total); // no pruning when all are wanted
  });

  it('block bounds follow updates: a rewritten document can still reach the top', () => {
    const before = c.search('common', { limit: 10 });
    // the last document becomes the best possible match: many occurrences, shortest length
    c.put('d02999', 'common common common common common common common common');
    const after = c.search('common', { limit: 10 });
    expect(after.hits[0]!.key).toBe('d02999');
    expect(after.hits).toEqual(c.search('common', { limit: 5000 }).hits.slice(0, 10));
    c.delete('d02999');
    expect(c.search('common', { limit: 10 }).hits.map((h) => h.key)).not.toContain('d02999');
    expect(before.total).toBeGreaterThan(0);
  });
});

describe('searchMemory: random corpora and queries (property)', () => {
  const words = ['ant', 'bee', 'cat', 'cow', 'dog', 'eel'];
  const word = fc.constantFrom(...words);
  const leaf = fc.oneof(
    word,
    fc.array(word, { minLength: 2, maxLength: 3 }).map((ws) => `"${ws.join(' ')}"`),
    fc.constantFrom('a*', 'c*', 'co*', 'e*', 'x*'),
  );
  const clause = fc.record({ neg: fc.boolean(), alts: fc.array(leaf, { minLength: 1, maxLength: 3 }) });
  const query = fc
    .array(clause, { minLength: 1, maxLength: 3 })
    .map((cs) =>
      cs.map(({ neg, alts }) => (neg ? `-(${alts.join(' OR ')})` : alts.length > 1 ? `(${alts.join(' OR ')})` : alts[0]!)).join(' '),
    );
  const doc = fc.array(word, { minLength: 0, maxLength: 8 }).map((ws) => ws.join(' '));

  it('ranking, scores, total and pages equal the reference', () => {
    fc.assert(
      fc.property(
        fc.array(doc, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(39), { maxLength: 10 }),
        query,
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 10 }),
        (texts, deletes, q, k1, b, limit, offset) => {
          const c = new Corpus();
          texts.forEach((t, i) => {
            c.put(`k${(i * 7919) % 101}`, t);
          });
          for (const d of deletes) c.delete(`k${(d * 7919) % 101}`);
          const expected = expectMatchesReference(c, q, k1, b);
          const page = c.search(q, { k1, b, limit, offset });
          expect(page.total).toBe(expected.length);
          expect(keysOf(page.hits)).toEqual(keysOf(expected.slice(offset, offset + limit)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------- snippets

describe('makeSnippet', () => {
  const plain = makeAnalyzer();
  const snippet = (texts: string[], q: string, opts: Partial<HighlightOptions> = {}, a: Analyzer = plain) =>
    makeSnippet(a, texts, queryTerms(parseFulltextQuery(q, a)), { ...DEFAULT_HIGHLIGHT, ...opts });
  const GREEK =
    'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega';

  it('wraps every matched word in the tags and keeps the rest verbatim', () => {
    expect(snippet(['The quick brown fox'], 'fox quick')).toBe('The <em>quick</em> brown <em>fox</em>');
    expect(snippet(['The quick brown fox'], '"brown fox"', { pre_tag: '[', post_tag: ']' })).toBe('The quick [brown] [fox]');
    expect(snippet(['No match here'], 'zebra')).toBe('No match here');
    expect(snippet([], 'zebra')).toBe('');
    // excluded terms are not highlighted
    expect(snippet(['red fox, blue fox'], 'fox -red')).toBe('red <em>fox</em>, blue <em>fox</em>');
  });

  it('matches by analysed term (case, stemming, umlauts) and by prefix', () => {
    const en = makeAnalyzer({ stemming_enabled: true });
    expect(snippet(['He runs; she was RUNNING.'], 'run', {}, en)).toBe('He <em>runs</em>; she was <em>RUNNING</em>.');
    const de = makeAnalyzer({ language: 'de', normalize_umlauts: true });
    expect(snippet(['Herr Müller und Frau Mueller'], 'muller', {}, de)).toBe('Herr <em>Müller</em> und Frau <em>Mueller</em>');
    expect(snippet(['quick quiet cat quit'], 'qui*')).toBe('<em>quick</em> <em>quiet</em> cat <em>quit</em>');
  });

  it('the html encoder escapes the text but not the tags', () => {
    const text = 'a <b> & "c" \'d\' x';
    expect(snippet([text], 'x', { encoder: 'html' })).toBe('a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39; <em>x</em>');
    expect(snippet([text], 'b', { encoder: 'html' })).toBe('a &lt;<em>b</em>&gt; &amp; &quot;c&quot; &#39;d&#39; x');
    expect(snippet([text], 'b')).toBe('a <<em>b</em>> & "c" \'d\' x');
  });

  /** The snippet without tags and cut marks. */
  const bare = (s: string) => s.replace(/<\/?em>/g, '').replace(/^…|…$/g, '');

  it.each([
    ['sigma tau', 30],
    ['alpha', 30],
    ['omega', 30],
    ['lambda', 20],
    ['zebra', 25],
    ['beta psi', 40],
  ])('%j with fragment_size %i: cut at word boundaries, "…" marks cuts, about fragment_size long', (q, size) => {
    const s = snippet([GREEK], q, { fragment_size: size });
    const inner = bare(s);
    expect(inner.length).toBeLessThanOrEqual(size);
    expect(inner.length).toBeGreaterThan(size / 2);
    const start = GREEK.indexOf(inner);
    expect(start).toBeGreaterThanOrEqual(0);
    // whole words: the fragment starts and ends at word boundaries of the text
    expect(start === 0 || GREEK[start - 1] === ' ').toBe(true);
    expect(start + inner.length === GREEK.length || GREEK[start + inner.length] === ' ').toBe(true);
    expect(s.startsWith('…')).toBe(start > 0);
    expect(s.endsWith('…')).toBe(start + inner.length < GREEK.length);
    // the hits in range are highlighted
    for (const w of q.split(' ')) if (inner.split(' ').includes(w)) expect(s).toContain(`<em>${w}</em>`);
  });

  it('picks the fragment with the most distinct query terms, then the most hits', () => {
    const text = `apple ${'filler '.repeat(20)}banana cherry ${'filler '.repeat(20)}apple apple`;
    const s = snippet([text], 'apple banana cherry', { fragment_size: 30 });
    expect(s).toContain('<em>banana</em> <em>cherry</em>');
    expect(s).not.toContain('apple');
    // more distinct terms beat more hits of one term, wherever they are
    const distinct = snippet([`kiwi kiwi kiwi kiwi ${'filler '.repeat(20)}banana cherry`], 'kiwi banana cherry', { fragment_size: 25 });
    expect(distinct).toContain('<em>banana</em> <em>cherry</em>');
    expect(distinct).not.toContain('kiwi');
    const byCount = snippet([`kiwi ${'filler '.repeat(20)}kiwi kiwi kiwi`], 'kiwi', { fragment_size: 25 });
    expect(byCount.match(/<em>kiwi<\/em>/g)).toHaveLength(3);
    expect(byCount.startsWith('…')).toBe(true);
  });

  it('for arrays, highlights the best element; without hits, the start of the first element', () => {
    expect(snippet(['one fox', 'fox and dog', 'nothing'], 'fox dog')).toBe('<em>fox</em> and <em>dog</em>');
    expect(snippet(['first element', 'second fox'], 'zebra')).toBe('first element');
    expect(snippet([GREEK, 'x'], 'zebra', { fragment_size: 20 })).toBe('alpha beta gamma…');
  });

  // A window always holds its first hit, even one longer than fragment_size (this used to throw).
  it('a hit longer than fragment_size is still returned highlighted', () => {
    const w = 'donaudampfschifffahrtsgesellschaft';
    expect(snippet([`die ${w} fährt`], w, { fragment_size: 20 })).toContain(`<em>${w}</em>`);
  });

  it('a text shorter than fragment_size is returned whole; near the end the fragment uses the room before the hit', () => {
    expect(snippet(['short text here'], 'here', { fragment_size: 20 })).toBe('short text <em>here</em>');
    const long = `${'lorem ipsum dolor sit amet '.repeat(10)}final fox`;
    const s = snippet([long], 'fox', { fragment_size: 60 });
    expect(s.endsWith('<em>fox</em>')).toBe(true);
    expect(s.replace(/<\/?em>/g, '').length).toBeGreaterThan(50);
  });
});
