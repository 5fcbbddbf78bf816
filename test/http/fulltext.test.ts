/**
 * Fulltext search (BM25) over HTTP, black-box against the built server.
 *
 * The scores are checked against a reference BM25 written here from the
 * formula (Lucene's): idf = ln(1 + (N − n + 0.5)/(n + 0.5)), term part =
 * f·(k1 + 1)/(f + k1·(1 − b + b·dl/avgdl)); N and avgdl over the documents
 * whose field has at least one indexed token. With the default config the
 * analyzer is just "lowercase, split on anything that is not a letter, mark
 * or digit", so the reference tokenizer is independent of src.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FulltextSearchResponse } from '../../src/search/index.js';
import { prng } from '../helpers/random.js';
import { call, expectError, expectStatus, ok, sleep, startServer, tempDir, type Body, type StartedServer } from '../helpers/server.js';

// ---------------------------------------------------------------- reference BM25

/** Reference query: term, phrase, prefix, OR (sum of the matching children), AND with exclusions. */
type RQ = { t: string } | { p: string[] } | { pre: string } | { or: RQ[] } | { and: RQ[]; not?: RQ[] };
const T = (t: string): RQ => ({ t });
const P = (...p: string[]): RQ => ({ p });
const Or = (...or: RQ[]): RQ => ({ or });
const And = (and: RQ[], not: RQ[] = []): RQ => ({ and, not });

const WORD = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu;

/** The texts a field value contributes: a string, a finite number as text, or an array of those. */
function refTexts(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' && Number.isFinite(v)) return [String(v)];
  if (Array.isArray(v)) return v.flatMap((e) => refTexts(typeof e === 'string' || typeof e === 'number' ? e : undefined));
  return [];
}

interface Ranked {
  key: string;
  score: number;
}

class Reference {
  /** key -> tokens per element of the field (null: a stopword, which keeps its position). */
  private readonly docs = new Map<string, (string | null)[][]>();
  constructor(
    readonly k1 = 1.2,
    readonly b = 0.75,
    private readonly stop: ReadonlySet<string> = new Set(),
  ) {}

  set(key: string, value: unknown): void {
    const els = refTexts(value).map((s) => (s.toLowerCase().match(WORD) ?? []).map((w) => (this.stop.has(w) ? null : w)));
    if (els.some((e) => e.some((w) => w !== null))) this.docs.set(key, els);
    else this.docs.delete(key);
  }

  delete(key: string): void {
    this.docs.delete(key);
  }

  private dl(key: string): number {
    return this.docs.get(key)!.reduce((s, e) => s + e.filter((w) => w !== null).length, 0);
  }

  get n(): number {
    return this.docs.size;
  }

  get avgdl(): number {
    let sum = 0;
    for (const k of this.docs.keys()) sum += this.dl(k);
    return this.n > 0 ? sum / this.n : 1;
  }

  terms(): Set<string> {
    const out = new Set<string>();
    for (const els of this.docs.values()) for (const e of els) for (const w of e) if (w !== null) out.add(w);
    return out;
  }

  /** Documents containing `term`, with its frequency. */
  private tf(term: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, els] of this.docs) {
      const f = els.reduce((s, e) => s + e.filter((w) => w === term).length, 0);
      if (f > 0) out.set(k, f);
    }
    return out;
  }

  private idf(df: number): number {
    return Math.log(1 + (this.n - df + 0.5) / (df + 0.5));
  }

  private tfPart(f: number, key: string): number {
    return (f * (this.k1 + 1)) / (f + this.k1 * (1 - this.b + (this.b * this.dl(key)) / this.avgdl));
  }

  stats(): { documents: number; terms: number; postings: number; avg_doc_length: number } {
    const terms = this.terms();
    let postings = 0;
    for (const t of terms) postings += this.tf(t).size;
    return { documents: this.n, terms: terms.size, postings, avg_doc_length: this.n > 0 ? this.avgdl : 0 };
  }

  /** Matching documents and their scores. */
  eval(q: RQ): Map<string, number> {
    if ('t' in q) {
      const tf = this.tf(q.t);
      const idf = this.idf(tf.size);
      return new Map([...tf].map(([k, f]) => [k, idf * this.tfPart(f, k)]));
    }
    if ('pre' in q) return this.eval({ or: [...this.terms()].filter((t) => t.startsWith(q.pre)).map(T) });
    if ('p' in q) {
      const tfs = q.p.map((t) => this.tf(t));
      if (tfs.some((m) => m.size === 0)) return new Map();
      const idfSum = tfs.reduce((s, m) => s + this.idf(m.size), 0);
      const out = new Map<string, number>();
      for (const [k, els] of this.docs) {
        let freq = 0;
        for (const e of els) for (let i = 0; i + q.p.length <= e.length; i++) if (q.p.every((t, j) => e[i + j] === t)) freq++;
        if (freq > 0) out.set(k, idfSum * this.tfPart(freq, k));
      }
      return out;
    }
    if ('or' in q) {
      const out = new Map<string, number>();
      for (const c of q.or) for (const [k, s] of this.eval(c)) out.set(k, (out.get(k) ?? 0) + s);
      return out;
    }
    if (q.and.length === 0) return new Map();
    const parts = q.and.map((c) => this.eval(c));
    const excluded = new Set((q.not ?? []).flatMap((c) => [...this.eval(c).keys()]));
    const out = new Map<string, number>();
    for (const k of parts[0]!.keys()) {
      if (excluded.has(k) || !parts.every((m) => m.has(k))) continue;
      out.set(
        k,
        parts.reduce((s, m) => s + m.get(k)!, 0),
      );
    }
    return out;
  }

  /** Best first; equal scores by key ascending. */
  rank(q: RQ): Ranked[] {
    return [...this.eval(q)]
      .map(([key, score]) => ({ key, score }))
      .sort((x, y) => (Math.abs(x.score - y.score) < 1e-9 ? (x.key < y.key ? -1 : x.key > y.key ? 1 : 0) : y.score - x.score));
  }
}

// ---------------------------------------------------------------- HTTP helpers

type SearchResponse = FulltextSearchResponse;
type Hit = SearchResponse['hits'][number];
interface FtStats {
  documents: number;
  terms: number;
  postings: number;
  avg_doc_length: number;
}

async function search(s: StartedServer, body: Record<string, unknown>, headers?: Record<string, string>): Promise<SearchResponse> {
  const r = await call(s, 'POST', '/search/fulltext', body, headers);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as unknown as SearchResponse;
}

const createFulltext = (s: StartedServer, table: string, column: string, config?: Record<string, unknown>) =>
  ok(call(s, 'POST', '/index/create', { table, column, type: 'fulltext', ...(config ? { config } : {}) }));

/** Atomic batch of puts (POST /transaction). */
const putAll = (s: StartedServer, docs: [string, unknown][]) =>
  ok(call(s, 'POST', '/transaction', { operations: docs.map(([key, blob]) => ({ op: 'put', key, blob })) }));

async function ftStats(s: StartedServer, table: string, column: string): Promise<FtStats> {
  const b = await ok(call(s, 'GET', '/index/stats'));
  const i = (b.indexes as { name: string; type: string; fulltext?: FtStats }[]).find(
    (x) => x.name === `${table}.${column}` && x.type === 'fulltext',
  );
  expect(i?.fulltext, `no fulltext index ${table}.${column}`).toBeDefined();
  return i!.fulltext!;
}

/** The server's complete answer equals the reference: same keys in the same order (ties by key), scores to 1e-6, total. */
async function expectReference(
  s: StartedServer,
  table: string,
  column: string,
  ref: Reference,
  queries: readonly (readonly [string, RQ])[],
): Promise<void> {
  for (const [query, rq] of queries) {
    const want = ref.rank(rq);
    const got = await search(s, { table, column, query, limit: 10_000, snippets: false });
    const msg = `query ${JSON.stringify(query)}`;
    expect(got.total, msg).toBe(want.length);
    expect(got.count, msg).toBe(want.length);
    // Same documents, same score sequence; documents whose scores differ only by float rounding
    // (sums of the same contributions in another order) may swap places.
    expect([...got.hits.map((h) => h.key)].sort(), msg).toEqual([...want.map((w) => w.key)].sort());
    got.hits.forEach((h, i) => {
      expect(Math.abs(h.score - want[i]!.score), `${msg} #${i} ${h.key}: ${h.score} vs ${want[i]!.key} ${want[i]!.score}`).toBeLessThan(
        1e-6,
      );
    });
    const byKey = new Map(want.map((w) => [w.key, w.score]));
    got.hits.forEach((h) => {
      expect(Math.abs(h.score - byKey.get(h.key)!), `${msg} ${h.key}`).toBeLessThan(1e-6);
    });
  }
  const st = await ftStats(s, table, column);
  const rs = ref.stats();
  expect({ ...st, avg_doc_length: Math.round(st.avg_doc_length * 1e9) }).toEqual({
    ...rs,
    avg_doc_length: Math.round(rs.avg_doc_length * 1e9),
  });
}

const VOCAB = [
  'alpha',
  'beta',
  'gamma',
  'delta',
  'echo',
  'fox',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
  'mike',
  'alps',
  'alpine',
];
/** A random field value: mostly sentences (repeated words likely), sometimes a number, an array, a non-text value or nothing. */
function randomBody(rnd: () => number): unknown {
  const sentence = () =>
    Array.from({ length: 1 + Math.floor(rnd() * 10) }, () => VOCAB[Math.floor(rnd() * VOCAB.length)]).join(rnd() < 0.5 ? ' ' : ', ');
  const x = rnd();
  if (x < 0.75) return sentence();
  if (x < 0.8) return Math.floor(rnd() * 100);
  if (x < 0.88) return [sentence(), 7, { no: 'text' }, sentence()];
  if (x < 0.94) return { nested: sentence() };
  return undefined;
}
const RANDOM_QUERIES: [string, RQ][] = [
  ['alpha', T('alpha')],
  ['fox golf', And([T('fox'), T('golf')])],
  ['beta OR kilo', Or(T('beta'), T('kilo'))],
  ['delta -echo', And([T('delta')], [T('echo')])],
  ['al*', { pre: 'al' }],
  ['"hotel india"', P('hotel', 'india')],
  ['alpha beta gamma', And([T('alpha'), T('beta'), T('gamma')])],
  ['(alpha OR beta) (gamma OR delta) -echo', And([Or(T('alpha'), T('beta')), Or(T('gamma'), T('delta'))], [T('echo')])],
  ['"fox fox"', P('fox', 'fox')],
  ['"alpha beta gamma"', P('alpha', 'beta', 'gamma')],
  ['lima OR mike OR fox* -kilo', And([Or(T('lima'), T('mike'), { pre: 'fox' })], [T('kilo')])],
];

/** Every document of `table` as stored (each blob carries its own key in `k`). */
async function storedDocs(s: StartedServer, table: string): Promise<Map<string, { k: string; body?: unknown }>> {
  const b = await ok(call(s, 'POST', '/query', { table, allow_full_scan: true }));
  const docs = (b.entities as string[]).map((t) => JSON.parse(t) as { k: string; body?: unknown });
  return new Map(docs.map((d) => [d.k, d]));
}

function referenceOf(docs: Map<string, { body?: unknown }>, k1?: number, b?: number): Reference {
  const ref = new Reference(k1, b);
  for (const [k, d] of docs) ref.set(k, d.body);
  return ref;
}

/**
 * Random writers on `table` until `stop()` is true: puts (new keys and
 * updates), deletes and 3-operation batches over a pool of keys. Errors
 * after `stop()` turned true (the server was killed) are ignored.
 */
async function writer(s: StartedServer, table: string, seed: number, pool: number, stop: () => boolean): Promise<number> {
  const rnd = prng(seed);
  const doc = (k: string) => ({ k, body: randomBody(rnd) });
  const key = () => `${table}:${Math.floor(rnd() * pool)}`;
  let done = 0;
  while (!stop()) {
    try {
      const x = rnd();
      if (x < 0.55) {
        const k = key();
        await ok(call(s, 'PUT', `/entities/${k}`, { blob: doc(k) }), 201);
      } else if (x < 0.75) {
        await ok(call(s, 'DELETE', `/entities/${key()}`));
      } else {
        const ops = [key(), key(), key()].map((k, i) =>
          i === 2 && rnd() < 0.5 ? { op: 'delete', key: k } : { op: 'put', key: k, blob: doc(k) },
        );
        await ok(call(s, 'POST', '/transaction', { operations: ops }));
      }
      done++;
    } catch (e) {
      if (stop()) return done;
      throw e;
    }
  }
  return done;
}

// ---------------------------------------------------------------- corpus

const CORPUS = [
  'The quick brown fox jumps over the lazy dog',
  'A quick brown dog outpaces a quick fox',
  'The lazy cat sleeps all day long',
  'Foxes and dogs are not the same animal',
  'The fox fox fox hunts at night',
  'Dog days of summer are hot and lazy',
  'My cat chases the red fox around the garden',
  'Brown bread with butter for breakfast',
  'Quick thinking saved the day',
  'The dog barked at the mail carrier',
  'A lazy afternoon by the river with a book',
  'Cats and dogs living together, mass hysteria!',
  'The quick quick quick test of speed',
  'Nothing about animals in this sentence at all',
  'The brown dog and the brown cat are friends',
  'Foxglove is a flowering plant, not a fox',
  'Quilting is a quiet hobby for quick hands',
  'The old dog learns new tricks slowly',
  'Red fox, grey fox, arctic fox: three species',
  'The cat sat on the mat',
  'Running dogs need lots of water',
  'Über den Wolken muss die Freiheit grenzenlos sein',
  'Café crème and a croissant; 42 euros in Paris',
  'dog',
  'The lazy dog, the lazy dog, the lazy dog again',
  'A quiz about quick foxes and quiet cats',
  'Brown is a colour; fox is an animal; dog is a friend',
  'Sleeping dogs lie, lazy foxes rest',
  'The end of the quick brown fox story',
  'dog',
];
const corpusKey = (table: string, i: number) => `${table}:${String(i + 1).padStart(2, '0')}`;
const corpusDocs = (table: string): [string, { body: string }][] => CORPUS.map((body, i) => [corpusKey(table, i), { body }]);

const QUERIES: [string, RQ][] = [
  ['fox', T('fox')],
  ['FOX', T('fox')],
  ['dog', T('dog')],
  ['quick fox', And([T('quick'), T('fox')])],
  ['quick AND brown', And([T('quick'), T('brown')])],
  ['fox OR cat', Or(T('fox'), T('cat'))],
  ['dog -lazy', And([T('dog')], [T('lazy')])],
  ['NOT lazy dog', And([T('dog')], [T('lazy')])],
  ['brown (dog OR cat)', And([T('brown'), Or(T('dog'), T('cat'))])],
  ['quick dog OR cat', And([T('quick'), Or(T('dog'), T('cat'))])],
  ['"lazy dog"', P('lazy', 'dog')],
  ['qu*', { pre: 'qu' }],
  ['über', T('über')],
  ['42', T('42')],
  ['zebra', T('zebra')],
];

// ---------------------------------------------------------------- tests on one shared server

describe('fulltext search over HTTP', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  describe('BM25 equals the reference implementation', () => {
    const ref = new Reference();
    const put = async (key: string, blob: Record<string, unknown>) => {
      await ok(call(s, 'PUT', `/entities/${key}`, { blob }), 201);
      ref.set(key, blob.body);
    };

    it('after the initial inserts (ties ordered by key)', async () => {
      await createFulltext(s, 'bm', 'body');
      for (const [k, blob] of corpusDocs('bm')) await put(k, blob);
      await put('bm:40', { body: '!!! --- ...' }); // no token: not a BM25 document
      expect(ref.n).toBe(30);
      await expectReference(s, 'bm', 'body', ref, QUERIES);
      // bm:24 and bm:30 are both "dog": an exact tie, ordered by key
      const dogs = (await search(s, { table: 'bm', column: 'body', query: 'dog', limit: 2 })).hits;
      expect(dogs.map((h) => h.key)).toEqual(['bm:24', 'bm:30']);
      expect(dogs[0]!.score).toBe(dogs[1]!.score);
    });

    it('after updates that change lengths and term frequencies', async () => {
      await put('bm:05', { body: 'fox' });
      await put('bm:13', { body: 'A much longer text about a quick fox, a quick dog and a very quick cat running' });
      await put('bm:24', { body: 'dog dog dog cat' });
      await put('bm:02', { body: 'lazy dog' });
      await put('bm:40', { body: 'Now the placeholder has words: lazy fox' });
      await expectReference(s, 'bm', 'body', ref, QUERIES);
    });

    it('after deletes', async () => {
      for (const k of ['bm:01', 'bm:07', 'bm:30']) {
        expect((await ok(call(s, 'DELETE', `/entities/${k}`))).deleted).toBe(true);
        ref.delete(k);
      }
      await expectReference(s, 'bm', 'body', ref, QUERIES);
    });

    it('after documents lose the field, get a non-text value, a number or an array', async () => {
      await put('bm:10', { other: 'the dog is gone' });
      await put('bm:11', { body: { nested: 'lazy fox' } });
      await put('bm:12', { body: true });
      await put('bm:25', { body: null });
      await put('bm:28', { body: 42 });
      // phrases do not match across array elements: "fox lazy" is not a phrase here
      await put('bm:29', { body: ['quick fox', 7, { x: 'dog' }, 'lazy dog fox'] });
      await expectReference(s, 'bm', 'body', ref, [...QUERIES, ['"fox lazy"', P('fox', 'lazy')], ['7', T('7')]]);
      const across = await search(s, { table: 'bm', column: 'body', query: '"fox lazy"' });
      expect(across.hits.map((h) => h.key)).not.toContain('bm:29');
    });

    it('an index created after the data exists (backfill) and custom k1/b', async () => {
      const docs = corpusDocs('bf').map(([k, d], i): [string, Record<string, unknown>] => [
        k,
        { ...d, alt: i % 3 === 0 ? { no: 1 } : `${d.body} ${d.body.split(' ')[0]}` },
      ]);
      await putAll(s, docs);
      await createFulltext(s, 'bf', 'body');
      await createFulltext(s, 'bf', 'alt', { k1: 2, b: 0.3 });
      const refBody = new Reference();
      const refAlt = new Reference(2, 0.3);
      for (const [k, d] of docs) {
        refBody.set(k, d.body);
        refAlt.set(k, d.alt);
      }
      await expectReference(s, 'bf', 'body', refBody, QUERIES);
      await expectReference(s, 'bf', 'alt', refAlt, QUERIES);
      // extremes of the parameters: k1 = 0 (tf ignored) and b = 1 (full length normalisation)
      await createFulltext(s, 'bf', 'x0', { k1: 0, b: 0 });
      await createFulltext(s, 'bf', 'x1', { k1: 0.5, b: 1 });
      await expectReference(s, 'bf', 'x0', new Reference(0, 0), [['fox', T('fox')]]); // no document has x0 yet: an empty index
      await putAll(
        s,
        docs.map(([k, d]) => [k, { ...d, x0: d.body, x1: d.body }]),
      );
      const r0 = new Reference(0, 0);
      const r1 = new Reference(0.5, 1);
      for (const [k, d] of docs) {
        r0.set(k, d.body);
        r1.set(k, d.body);
      }
      await expectReference(s, 'bf', 'x0', r0, QUERIES);
      await expectReference(s, 'bf', 'x1', r1, QUERIES);
    });
  });

  describe('query semantics', () => {
    const phraseRef = new Reference();
    beforeAll(async () => {
      await createFulltext(s, 'ph', 'body');
      const docs: [string, { body: unknown }][] = [
        ['ph:1', { body: 'New York City is big' }],
        ['ph:2', { body: 'york new is not new york' }],
        ['ph:3', { body: ['new', 'york'] }],
        ['ph:4', { body: 'The New Yorker magazine' }],
        ['ph:5', { body: 'New-York, new york; NEW YORK!' }],
      ];
      await putAll(s, docs);
      for (const [k, d] of docs) phraseRef.set(k, d.body);
    });

    it('phrases match consecutive positions only (not across array elements); exclusion removes; OR adds', async () => {
      const keys = async (query: string) => (await search(s, { table: 'ph', column: 'body', query })).hits.map((h) => h.key).sort();
      expect(await keys('"new york"')).toEqual(['ph:1', 'ph:2', 'ph:5']);
      expect(await keys('"york new"')).toEqual(['ph:2', 'ph:5']);
      expect(await keys('new york')).toEqual(['ph:1', 'ph:2', 'ph:3', 'ph:5']);
      expect(await keys('new-york')).toEqual(['ph:1', 'ph:2', 'ph:5']); // one word analysing to two terms is a phrase
      expect(await keys('"new york" -city')).toEqual(['ph:2', 'ph:5']);
      expect(await keys('york -"new york"')).toEqual(['ph:3']);
      expect(await keys('city OR yorker')).toEqual(['ph:1', 'ph:4']);
      expect(await keys('city || magazine')).toEqual(['ph:1', 'ph:4']);
      expect(await keys('yor*')).toEqual(['ph:1', 'ph:2', 'ph:3', 'ph:4', 'ph:5']);
      expect(await keys('yorke*')).toEqual(['ph:4']);
      expect(await keys('Yorker*')).toEqual(['ph:4']);
      expect(await keys('+city')).toEqual(['ph:1']);
      expect(await keys('-city')).toEqual([]); // only an exclusion: nothing to match
      // and the scores (phrase frequency, Σ idf of its terms) equal the reference
      await expectReference(s, 'ph', 'body', phraseRef, [
        ['"new york"', P('new', 'york')],
        ['"york new"', P('york', 'new')],
        ['"new york" -city', And([P('new', 'york')], [T('city')])],
        ['york -"new york"', And([T('york')], [P('new', 'york')])],
        ['yor*', { pre: 'yor' }],
        ['new OR york OR city', Or(T('new'), T('york'), T('city'))],
        ['(new OR city) york', And([Or(T('new'), T('city')), T('york')])],
      ]);
    });

    it('snippets: <em> around the matches, custom tags, html encoder, fragment size, snippets: false', async () => {
      const long = `${'Lorem ipsum dolor sit amet. '.repeat(12)}Here the Fox meets the hound & the <b>cat</b>. ${'Consectetur adipiscing elit. '.repeat(12)}`;
      await putAll(s, [
        ['sn:1', { body: 'The quick brown fox jumps over the lazy dog' }],
        ['sn:2', { body: long }],
        ['sn:3', { body: ['nothing here', 'but a fox <b>here</b> & there'] }],
      ]);
      await createFulltext(s, 'sn', 'body');
      const one = await search(s, { table: 'sn', column: 'body', query: 'fox dog', limit: 5 });
      expect(one.hits.map((h) => h.key)).toEqual(['sn:1']);
      expect(one.hits[0]!.snippet).toBe('The quick brown <em>fox</em> jumps over the lazy <em>dog</em>');

      const tags = await search(s, { table: 'sn', column: 'body', query: 'quick OR lazy', highlight: { pre_tag: '[[', post_tag: ']]' } });
      expect(tags.hits[0]!.snippet).toBe('The [[quick]] brown fox jumps over the [[lazy]] dog');

      const raw = await search(s, { table: 'sn', column: 'body', query: 'fox', limit: 10 });
      const byKey = new Map(raw.hits.map((h) => [h.key, h.snippet!]));
      expect(byKey.get('sn:3')).toBe('but a <em>fox</em> <b>here</b> & there'); // the array element holding the match
      const html = await search(s, { table: 'sn', column: 'body', query: 'fox', highlight: { encoder: 'html' } });
      expect(new Map(html.hits.map((h) => [h.key, h.snippet!])).get('sn:3')).toBe('but a <em>fox</em> &lt;b&gt;here&lt;/b&gt; &amp; there');

      // a long document: a fragment of about fragment_size characters around the match, cuts marked with …
      const frag = await search(s, { table: 'sn', column: 'body', query: 'hound', highlight: { fragment_size: 60 } });
      expect(frag.hits.map((h) => h.key)).toEqual(['sn:2']);
      const sn = frag.hits[0]!.snippet!;
      expect(sn).toContain('<em>hound</em>');
      expect(sn.startsWith('…') && sn.endsWith('…'), sn).toBe(true);
      expect(sn.replace(/<\/?em>/g, '').length).toBeLessThanOrEqual(60 + 2);
      expect(long).toContain(sn.replace(/<\/?em>/g, '').slice(1, -1));
      const dflt = (await search(s, { table: 'sn', column: 'body', query: 'hound' })).hits[0]!.snippet!;
      expect(dflt.replace(/<\/?em>/g, '').length).toBeGreaterThan(100); // default 160
      expect(dflt.replace(/<\/?em>/g, '').length).toBeLessThanOrEqual(162);

      const none = await search(s, { table: 'sn', column: 'body', query: 'fox', snippets: false });
      expect(none.hits.length).toBe(3);
      for (const h of none.hits) expect(Object.keys(h).sort()).toEqual(['key', 'score']);
    });

    it('paging: limit/offset slice one ranking; count is the page, total all matches', async () => {
      const all = await search(s, { table: 'bm', column: 'body', query: 'the OR dog OR fox', limit: 100, snippets: false });
      expect(all.total).toBeGreaterThan(12);
      expect(all.count).toBe(all.total);
      const pages: Hit[] = [];
      for (let offset = 0; offset < all.total + 5; offset += 5) {
        const p = await search(s, { table: 'bm', column: 'body', query: 'the OR dog OR fox', limit: 5, offset, snippets: false });
        expect(p).toMatchObject({
          table: 'bm',
          column: 'body',
          query: 'the OR dog OR fox',
          limit: 5,
          offset,
          total: all.total,
          count: p.hits.length,
        });
        expect(p.count).toBe(Math.max(0, Math.min(5, all.total - offset)));
        expect(typeof p.took_ms).toBe('number');
        pages.push(...p.hits);
      }
      expect(pages).toEqual(all.hits);
      const dflt = await search(s, { table: 'bm', column: 'body', query: 'the OR dog OR fox' });
      expect(dflt.limit).toBe(10);
      expect(dflt.offset).toBe(0);
      expect(dflt.count).toBe(10);
      expect(dflt.hits.map((h) => h.key)).toEqual(all.hits.slice(0, 10).map((h) => h.key));
      const far = await search(s, { table: 'bm', column: 'body', query: 'dog', offset: 100_000, limit: 10_000 });
      expect(far.count).toBe(0);
      expect(far.hits).toEqual([]);
      expect(far.total).toBeGreaterThan(0);
    });
  });

  describe('analyzer configurations', () => {
    it('en with stemming and stopwords: "running" finds runs/run; stopwords are not indexed nor counted', async () => {
      await createFulltext(s, 'en', 'body', { language: 'en', stemming_enabled: true, stopwords_enabled: true });
      await putAll(s, [
        ['en:1', { body: 'She runs every morning' }],
        ['en:2', { body: 'I run fast' }],
        ['en:3', { body: 'The running of the bulls' }],
        ['en:4', { body: 'Walking is healthy' }],
        ['en:5', { body: 'the and of' }], // stopwords only: not a document
      ]);
      const keys = async (query: string) => (await search(s, { table: 'en', column: 'body', query })).hits.map((h) => h.key).sort();
      expect(await keys('running')).toEqual(['en:1', 'en:2', 'en:3']);
      expect(await keys('RUNS')).toEqual(['en:1', 'en:2', 'en:3']);
      expect(await keys('run*')).toEqual(['en:1', 'en:2', 'en:3']);
      expect(await keys('walked')).toEqual(['en:4']);
      expect(await keys('bulls')).toEqual(['en:3']);
      expect(await keys('"running of the bulls"')).toEqual(['en:3']); // stopwords keep their positions
      expect(await keys('"running bulls"')).toEqual([]);
      const only = await search(s, { table: 'en', column: 'body', query: 'the of' });
      expect(only.total).toBe(0);
      expect(only.hits).toEqual([]);
      expect((await ftStats(s, 'en', 'body')).documents).toBe(4);
      // stopwords do not count in dl: "I run fast" -> [run, fast] (I is a stopword), "She runs every morning" -> 3 terms
      const st = await ftStats(s, 'en', 'body');
      expect(st.avg_doc_length).toBeCloseTo((3 + 2 + 2 + 2) / 4, 9);
      const snip = (await search(s, { table: 'en', column: 'body', query: 'running' })).hits.find((h) => h.key === 'en:1')!.snippet;
      expect(snip).toBe('She <em>runs</em> every morning');
    });

    it('en with stemming: prefixes match the stemmed terms; a whole word with * also matches via its stem', async () => {
      await createFulltext(s, 'enp', 'body', { language: 'en', stemming_enabled: true });
      await putAll(s, [
        ['enp:1', { body: 'The running of the bulls' }],
        ['enp:2', { body: 'Happiness is a warm puppy' }],
      ]);
      const keys = async (query: string) => (await search(s, { table: 'enp', column: 'body', query })).hits.map((h) => h.key);
      expect(await keys('run*')).toEqual(['enp:1']);
      expect(await keys('running*')).toEqual(['enp:1']); // "running" stems to "run"
      expect(await keys('bulls*')).toEqual(['enp:1']);
      expect(await keys('happi*')).toEqual(['enp:2']);
      expect(await keys('happiness*')).toEqual(['enp:2']);
      // documented limitation (docs/fulltext.md, Prefixes): a prefix longer than the stem that is not itself a word
      expect(await keys('runn*')).toEqual([]);
      expect(await keys('happin*')).toEqual([]);
      const snip = (await search(s, { table: 'enp', column: 'body', query: 'running*' })).hits[0]!.snippet;
      expect(snip).toBe('The <em>running</em> of the bulls');
    });

    it('de with normalize_umlauts: "Mueller" finds "Müller", "strasse" finds "Straße"; without it they do not', async () => {
      const docs: [string, { body: string }][] = [
        ['de:1', { body: 'Familie Müller wohnt hier' }],
        ['de:2', { body: 'Die Straße ist lang' }],
        ['de:3', { body: 'Der Mueller und die Strasse' }],
        ['de:4', { body: 'Nichts davon' }],
      ];
      await createFulltext(s, 'de', 'body', { language: 'de', normalize_umlauts: true, stemming_enabled: true, stopwords_enabled: true });
      // A plain index over the same text: `language` alone would turn the stemmer (which folds ß) and stopwords on.
      await createFulltext(s, 'de', 'raw', { language: 'de', stemming_enabled: false, stopwords_enabled: false });
      await putAll(
        s,
        docs.map(([k, d]) => [k, { ...d, raw: d.body }]),
      );
      const keys = async (column: string, query: string) => (await search(s, { table: 'de', column, query })).hits.map((h) => h.key).sort();
      expect(await keys('body', 'Mueller')).toEqual(['de:1', 'de:3']);
      expect(await keys('body', 'MÜLLER')).toEqual(['de:1', 'de:3']);
      expect(await keys('body', 'strasse')).toEqual(['de:2', 'de:3']);
      expect(await keys('body', 'Straße')).toEqual(['de:2', 'de:3']);
      expect(await keys('body', 'die')).toEqual([]); // a German stopword
      expect(await keys('raw', 'Mueller')).toEqual(['de:3']);
      expect(await keys('raw', 'strasse')).toEqual(['de:3']);
      expect(await keys('raw', 'straße')).toEqual(['de:2']);
      expect((await search(s, { table: 'de', column: 'body', query: 'mueller' })).hits.find((h) => h.key === 'de:1')!.snippet).toBe(
        'Familie <em>Müller</em> wohnt hier',
      );
    });

    it("language alone (the contract's example) turns on the stemmer and stopwords: en", async () => {
      const created = await createFulltext(s, 'lang_en', 'body', { language: 'en' });
      expect(created.config).toEqual({
        language: 'en',
        stemming_enabled: true,
        stopwords_enabled: true,
        stopwords: [],
        normalize_umlauts: false,
        k1: 1.2,
        b: 0.75,
      });
      await putAll(s, [
        ['lang_en:1', { body: 'She runs every morning' }],
        ['lang_en:2', { body: 'I run fast' }],
        ['lang_en:3', { body: 'The running of the bulls' }],
        ['lang_en:4', { body: 'Walking is healthy' }],
        ['lang_en:5', { body: 'the and of' }], // stopwords only: not a document
      ]);
      const keys = async (query: string) => (await search(s, { table: 'lang_en', column: 'body', query })).hits.map((h) => h.key).sort();
      expect(await keys('running')).toEqual(['lang_en:1', 'lang_en:2', 'lang_en:3']);
      expect(await keys('runs')).toEqual(['lang_en:1', 'lang_en:2', 'lang_en:3']);
      expect(await keys('walked')).toEqual(['lang_en:4']);
      expect(await keys('the')).toEqual([]); // a stopword: neither indexed nor searched
      expect(await keys('the bulls')).toEqual(['lang_en:3']); // the stopword is dropped from the query, not required
      expect((await ftStats(s, 'lang_en', 'body')).documents).toBe(4);
    });

    it('language alone turns on the stemmer and stopwords: de; an explicit false still turns either off', async () => {
      const created = await createFulltext(s, 'lang_de', 'body', { language: 'de' });
      expect(created.config).toMatchObject({ language: 'de', stemming_enabled: true, stopwords_enabled: true, normalize_umlauts: false });
      const noStem = await createFulltext(s, 'lang_de', 'nostem', { language: 'de', stemming_enabled: false });
      expect(noStem.config).toMatchObject({ language: 'de', stemming_enabled: false, stopwords_enabled: true });
      const noStop = await createFulltext(s, 'lang_de', 'nostop', { language: 'de', stopwords_enabled: false });
      expect(noStop.config).toMatchObject({ language: 'de', stemming_enabled: true, stopwords_enabled: false });
      const none = await createFulltext(s, 'lang_de', 'none', { language: 'none' });
      expect(none.config).toMatchObject({ language: 'none', stemming_enabled: false, stopwords_enabled: false });
      const text = (t: string) => ({ body: t, nostem: t, nostop: t, none: t });
      await putAll(s, [
        ['lang_de:1', text('Die Häuser sind alt')],
        ['lang_de:2', text('Ein Haus am See')],
        ['lang_de:3', text('Die Kinder und das Buch')],
      ]);
      const keys = async (column: string, query: string) =>
        (await search(s, { table: 'lang_de', column, query })).hits.map((h) => h.key).sort();
      expect(await keys('body', 'Haus')).toEqual(['lang_de:1', 'lang_de:2']); // Häuser, Haus -> haus
      expect(await keys('body', 'häuser')).toEqual(['lang_de:1', 'lang_de:2']);
      expect(await keys('body', 'Kind')).toEqual(['lang_de:3']);
      expect(await keys('body', 'die')).toEqual([]); // a German stopword
      expect(await keys('body', 'die Kinder')).toEqual(['lang_de:3']);
      expect(await keys('nostem', 'Haus')).toEqual(['lang_de:2']);
      expect(await keys('nostem', 'die')).toEqual([]);
      expect(await keys('nostop', 'Haus')).toEqual(['lang_de:1', 'lang_de:2']);
      expect(await keys('nostop', 'die')).toEqual(['lang_de:1', 'lang_de:3']);
      expect(await keys('none', 'Haus')).toEqual(['lang_de:2']);
      expect(await keys('none', 'die')).toEqual(['lang_de:1', 'lang_de:3']);
    });

    it('custom stopwords (language none): removed from documents, queries and lengths', async () => {
      await createFulltext(s, 'cs', 'body', { language: 'none', stopwords_enabled: true, stopwords: ['acme', 'Inc'] });
      const docs: [string, { body: string }][] = [
        ['cs:1', { body: 'Acme widgets for everyone' }],
        ['cs:2', { body: 'Widgets by Foo Inc' }],
        ['cs:3', { body: 'acme inc' }],
        ['cs:4', { body: 'More widgets, more gadgets, more everything' }],
      ];
      await putAll(s, docs);
      const ref = new Reference(1.2, 0.75, new Set(['acme', 'inc']));
      for (const [k, d] of docs) ref.set(k, d.body);
      expect((await search(s, { table: 'cs', column: 'body', query: 'acme' })).total).toBe(0);
      expect((await search(s, { table: 'cs', column: 'body', query: 'INC' })).total).toBe(0);
      await expectReference(s, 'cs', 'body', ref, [
        ['widgets', T('widgets')],
        ['widgets OR more', Or(T('widgets'), T('more'))],
        ['foo', T('foo')],
      ]);
      expect((await ftStats(s, 'cs', 'body')).documents).toBe(3);
    });
  });

  describe('bad input', () => {
    const bad = (body: unknown, headers?: Record<string, string>) => call(s, 'POST', '/search/fulltext', body, headers);
    const base = { table: 'bm', column: 'body' };

    it('missing or wrong fields are 400 VALIDATION_FAILED naming the field', async () => {
      expectError(await bad({ column: 'body', query: 'fox' }), 400, 'VALIDATION_FAILED', 'table');
      expectError(await bad({ table: 'bm', query: 'fox' }), 400, 'VALIDATION_FAILED', 'column');
      expectError(await bad({ table: 'bm', column: 'body' }), 400, 'VALIDATION_FAILED', 'query');
      expectError(await bad({ ...base, query: 5 }), 400, 'VALIDATION_FAILED', 'query');
      expectError(await bad({ ...base, query: '' }), 400, 'VALIDATION_FAILED', 'query');
      expectError(await bad({ ...base, query: '   ' }), 400, 'VALIDATION_FAILED', 'query');
      for (const limit of [0, 10_001, 1.5, -1, '5'])
        expectError(await bad({ ...base, query: 'fox', limit }), 400, 'VALIDATION_FAILED', 'limit');
      for (const offset of [-1, 100_001, 0.5])
        expectError(await bad({ ...base, query: 'fox', offset }), 400, 'VALIDATION_FAILED', 'offset');
      expectError(await bad({ ...base, query: 'fox', snippets: 'yes' }), 400, 'VALIDATION_FAILED', 'snippets');
      expectError(await bad({ ...base, query: 'x'.repeat(4097) }), 400, 'VALIDATION_FAILED', 'query');
      const malformed = await bad('{"table": "bm",');
      await expectStatus(malformed, 400);
      expect(malformed.body).toMatchObject({ error: true, status_code: 400, message: expect.any(String) });
    });

    it('syntax errors name the 1-based position', async () => {
      const cases: [string, number][] = [
        ['fox "lazy', 5],
        ['(fox dog', 1],
        ['fox dog)', 8],
        ['fox ()', 6],
        ['OR fox', 1],
        ['fox OR', 5],
        ['fox AND', 5],
        ['fox OR -dog', 8],
        ['"fox" -"', 8],
      ];
      for (const [query, pos] of cases) {
        const r = await bad({ ...base, query });
        expectError(r, 400, 'VALIDATION_FAILED', 'query');
        expect(r.body.message, query).toContain(`at character ${pos}`);
        expect(r.body.position, query).toBe(pos);
      }
    });

    it('no fulltext index on table.column: 400 INDEX_NOT_FOUND telling how to create one', async () => {
      for (const [table, column] of [
        ['bm', 'title'],
        ['nosuchtable', 'body'],
      ]) {
        const r = await bad({ table, column, query: 'fox' });
        expectError(r, 400, 'INDEX_NOT_FOUND', 'column');
        expect(r.body.message).toContain(`no fulltext index on ${table}.${column}`);
        expect(r.body.message).toContain(`POST /index/create {"table": "${table}", "column": "${column}", "type": "fulltext"}`);
      }
      // an equality index on the column is not a fulltext index
      await ok(call(s, 'POST', '/index/create', { table: 'bm', column: 'title' }));
      expectError(await bad({ table: 'bm', column: 'title', query: 'fox' }), 400, 'INDEX_NOT_FOUND', 'column');
    });

    it('highlight options out of range are 400 naming highlight.<field>', async () => {
      for (const fragment_size of [19, 10_001, 50.5, '100']) {
        expectError(
          await bad({ ...base, query: 'fox', highlight: { fragment_size } }),
          400,
          'VALIDATION_FAILED',
          'highlight.fragment_size',
        );
      }
      expectError(await bad({ ...base, query: 'fox', highlight: { encoder: 'xml' } }), 400, 'VALIDATION_FAILED', 'highlight.encoder');
      expectError(
        await bad({ ...base, query: 'fox', highlight: { pre_tag: 'x'.repeat(65) } }),
        400,
        'VALIDATION_FAILED',
        'highlight.pre_tag',
      );
      expectError(await bad({ ...base, query: 'fox', highlight: 'bold' }), 400, 'VALIDATION_FAILED', 'highlight');
      // the bounds themselves are fine
      for (const fragment_size of [20, 10_000]) await expectStatus(await bad({ ...base, query: 'fox', highlight: { fragment_size } }), 200);
    });

    it('401 without a key; the server keeps serving after all of the above', async () => {
      const r = await bad({ ...base, query: 'fox' }, { authorization: '' });
      expectError(r, 401, 'UNAUTHORIZED');
      const wrong = await bad({ ...base, query: 'fox' }, { authorization: 'Bearer not-a-key-0123456789' });
      await expectStatus(wrong, 401);
      const fine = await search(s, { ...base, query: 'fox' });
      expect(fine.total).toBeGreaterThan(0);
      await expectStatus(await call(s, 'GET', '/health/ready'), 200);
    });
  });

  describe('transactions', () => {
    const ref = new Reference();
    const q: [string, RQ][] = [
      ['apple', T('apple')],
      ['banana', T('banana')],
      ['durian', T('durian')],
      ['kiwi', T('kiwi')],
      ['apple OR banana OR kiwi', Or(T('apple'), T('banana'), T('kiwi'))],
    ];
    const begin = async (isolation = 'read_committed') =>
      String((await ok(call(s, 'POST', '/transaction/begin', { isolation }))).transaction_id);
    const snapshot = async () =>
      Promise.all(
        q.map(([query]) =>
          search(s, { table: 'tx', column: 'body', query, limit: 100, snippets: false }).then(({ took_ms: _, ...rest }) => rest),
        ),
      );

    beforeAll(async () => {
      await createFulltext(s, 'tx', 'body');
      const docs: [string, { body: string }][] = [
        ['tx:1', { body: 'apple banana' }],
        ['tx:2', { body: 'banana cherry banana' }],
      ];
      await putAll(s, docs);
      for (const [k, d] of docs) ref.set(k, d.body);
    });

    it('writes of an open transaction are invisible to search; visible after commit', async () => {
      for (const isolation of ['read_committed', 'snapshot']) {
        const id = await begin(isolation);
        const h = { 'x-transaction-id': id };
        const body3 = `apple pie ${isolation}`;
        await ok(call(s, 'PUT', '/entities/tx:3', { blob: { body: body3 } }, h), 201);
        await ok(call(s, 'PUT', '/entities/tx:1', { blob: { body: 'durian' } }, h), 201);
        await ok(call(s, 'DELETE', '/entities/tx:2', undefined, h));
        await expectReference(s, 'tx', 'body', ref, q);
        // also when the search request carries the transaction's header: search reads committed state
        expect((await search(s, { table: 'tx', column: 'body', query: 'durian' }, h)).total).toBe(0);
        await ok(call(s, 'POST', '/transaction/commit', { transaction_id: Number(id) }));
        ref.set('tx:3', body3);
        ref.set('tx:1', 'durian');
        ref.delete('tx:2');
        await expectReference(s, 'tx', 'body', ref, q);
        expect((await search(s, { table: 'tx', column: 'body', query: 'durian' })).hits.map((x) => x.key)).toEqual(['tx:1']);
        // restore for the second round
        await putAll(s, [
          ['tx:1', { body: 'apple banana' }],
          ['tx:2', { body: 'banana cherry banana' }],
        ]);
        ref.set('tx:1', 'apple banana');
        ref.set('tx:2', 'banana cherry banana');
      }
    });

    it('rolled back writes never become visible', async () => {
      const before = await snapshot();
      const id = await begin();
      const h = { 'x-transaction-id': id };
      await ok(call(s, 'PUT', '/entities/tx:9', { blob: { body: 'kiwi kiwi durian' } }, h), 201);
      await ok(call(s, 'PUT', '/entities/tx:1', { blob: { body: 'kiwi' } }, h), 201);
      await ok(call(s, 'DELETE', '/entities/tx:2', undefined, h));
      await ok(call(s, 'POST', '/transaction/rollback', { transaction_id: Number(id) }));
      expect(await snapshot()).toEqual(before);
      await expectReference(s, 'tx', 'body', ref, q);
    });

    it('a commit refused by a unique index leaves the fulltext index unchanged', async () => {
      await ok(call(s, 'POST', '/index/create', { table: 'tx', column: 'email', unique: true, sparse: true }));
      await ok(call(s, 'PUT', '/entities/tx:u1', { blob: { body: 'kiwi apple', email: 'a@x' } }), 201);
      ref.set('tx:u1', 'kiwi apple');
      const before = await snapshot();
      const statsBefore = await ftStats(s, 'tx', 'body');

      const id = await begin();
      const h = { 'x-transaction-id': id };
      await ok(call(s, 'PUT', '/entities/tx:1', { blob: { body: 'kiwi kiwi kiwi' } }, h), 201);
      await ok(call(s, 'DELETE', '/entities/tx:2', undefined, h));
      await ok(call(s, 'PUT', '/entities/tx:u2', { blob: { body: 'kiwi durian', email: 'a@x' } }, h), 201);
      const c = await call(s, 'POST', '/transaction/commit', { transaction_id: Number(id) });
      expectError(c, 409, 'CONFLICT');
      expect(c.body.status).toBe('aborted');

      const batch = await call(s, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'tx:1', blob: { body: 'durian' } },
          { op: 'put', key: 'tx:u3', blob: { body: 'kiwi', email: 'a@x' } },
        ],
      });
      expectError(batch, 409, 'CONFLICT');
      expectError(await call(s, 'PUT', '/entities/tx:u4', { blob: { body: 'kiwi', email: 'a@x' } }), 409, 'CONFLICT');

      expect(await snapshot()).toEqual(before);
      expect(await ftStats(s, 'tx', 'body')).toEqual(statsBefore);
      await expectReference(s, 'tx', 'body', ref, q);
      // and the index still follows later commits
      await ok(call(s, 'PUT', '/entities/tx:u2', { blob: { body: 'kiwi durian', email: 'b@x' } }), 201);
      ref.set('tx:u2', 'kiwi durian');
      await expectReference(s, 'tx', 'body', ref, q);
    });
  });

  // Regression: IndexManager.create used to save the index definition before registering the index
  // with the commit hook; a document created by a commit whose hook ran during that await was missed
  // by both the hook and the backfill (found by this test and the in-process one in
  // test/unit/fulltext-index-lifecycle.test.ts; fixed in ce6bbbb).
  it('an index created while concurrent writes run (backfill racing commits) equals the reference on the stored documents', async () => {
    // Random writers run throughout; with the create request a staggered burst of creates of new keys is
    // sent, so that commits are queued while the index definition is being written (against the old code
    // one round lost documents ~75% of the time; five rounds make that near certain).
    for (let round = 1; round <= 5; round++) {
      const table = `race${round}`;
      const rnd = prng(round);
      await putAll(
        s,
        Array.from({ length: 300 }, (_, i): [string, unknown] => [`${table}:${i}`, { k: `${table}:${i}`, body: randomBody(rnd) }]),
      );
      let stop = false;
      const writers = Array.from({ length: 6 }, (_, w) => writer(s, table, 100 * round + w, 600, () => stop));
      await sleep(50);
      const burst = Array.from({ length: 40 }, async (_, i) => {
        const k = `${table}:burst${i}`;
        await sleep(i * 0.5);
        await ok(call(s, 'PUT', `/entities/${k}`, { blob: { k, body: `burst alpha ${i}` } }), 201);
      });
      await Promise.all([createFulltext(s, table, 'body'), ...burst]);
      await sleep(100);
      stop = true;
      expect((await Promise.all(writers)).reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
      await expectReference(s, table, 'body', referenceOf(await storedDocs(s, table)), [...RANDOM_QUERIES, ['burst', T('burst')]]);
    }
  });

  it('drop: search answers 400 afterwards; re-create works and equals the reference', async () => {
    await createFulltext(s, 'dr', 'body');
    await putAll(s, corpusDocs('dr'));
    const ref = new Reference();
    for (const [k, d] of corpusDocs('dr')) ref.set(k, d.body);
    await expectReference(s, 'dr', 'body', ref, QUERIES.slice(0, 4));
    const d = await ok(call(s, 'POST', '/index/drop', { table: 'dr', column: 'body', type: 'fulltext' }));
    expect(d).toMatchObject({ success: true, name: 'dr.body', type: 'fulltext' });
    const after = await call(s, 'POST', '/search/fulltext', { table: 'dr', column: 'body', query: 'fox' });
    expectError(after, 400, 'INDEX_NOT_FOUND', 'column');
    expect((await ok(call(s, 'GET', '/index/stats'))).indexes).not.toContainEqual(expect.objectContaining({ name: 'dr.body' }));
    // writes while there is no index, then re-create (backfill) with another config
    await ok(call(s, 'PUT', '/entities/dr:99', { blob: { body: 'fox fox fox' } }), 201);
    ref.set('dr:99', 'fox fox fox');
    await ok(call(s, 'DELETE', '/entities/dr:01'));
    ref.delete('dr:01');
    await createFulltext(s, 'dr', 'body');
    await expectReference(s, 'dr', 'body', ref, QUERIES);
  });
});

// ---------------------------------------------------------------- persistence (own servers)

describe('fulltext persistence', () => {
  const dataDir = tempDir();
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const ref = new Reference();
  let first: { query: string; total: number; hits: Hit[] }[] = [];
  const everything = async (s: StartedServer) =>
    Promise.all(
      QUERIES.map(async ([query]) =>
        (({ total, hits }) => ({ query, total, hits }))(await search(s, { table: 'ps', column: 'body', query, limit: 100 })),
      ),
    );

  it('graceful restart: same results and scores', async () => {
    const a = await startServer({ dataDir });
    try {
      await createFulltext(a, 'ps', 'body');
      await putAll(a, corpusDocs('ps'));
      await ok(call(a, 'PUT', '/entities/ps:05', { blob: { body: 'fox only' } }), 201);
      await ok(call(a, 'DELETE', '/entities/ps:07'));
      for (const [k, d] of corpusDocs('ps')) ref.set(k, d.body);
      ref.set('ps:05', 'fox only');
      ref.delete('ps:07');
      await expectReference(a, 'ps', 'body', ref, QUERIES);
      first = await everything(a);
    } finally {
      expect(await a.stop()).toBe(0);
    }
    const b = await startServer({ dataDir });
    try {
      expect(await everything(b)).toEqual(first);
      await expectReference(b, 'ps', 'body', ref, QUERIES);
    } finally {
      await b.stop();
    }
  });

  it('kill -9 during concurrent puts/updates/deletes: after restart the index equals the reference on the stored documents', async () => {
    const a = await startServer({ dataDir });
    let dead = false;
    let writes = 0;
    try {
      await createFulltext(a, 'kc', 'body');
      const writers = Array.from({ length: 12 }, (_, w) => writer(a, 'kc', 1000 + w, 80, () => dead));
      await sleep(1_200);
      dead = true;
      await a.kill();
      writes = (await Promise.all(writers)).reduce((x, y) => x + y, 0);
    } finally {
      await a.kill();
    }
    expect(writes).toBeGreaterThan(50);
    const b = await startServer({ dataDir });
    try {
      const docs = await storedDocs(b, 'kc');
      expect(docs.size).toBeGreaterThan(10);
      const kref = referenceOf(docs);
      expect(kref.n).toBeGreaterThan(5);
      await expectReference(b, 'kc', 'body', kref, RANDOM_QUERIES);
      expect((await ftStats(b, 'kc', 'body')).documents).toBe(
        [...docs.values()].filter((d) => refTexts(d.body).some((t) => /[\p{L}\p{N}]/u.test(t))).length,
      );
      // the earlier table survived the crash too
      expect(await everything(b)).toEqual(first);
      // and the index keeps working after the recovery
      await ok(call(b, 'PUT', '/entities/kc:new', { blob: { k: 'kc:new', body: 'alpha alpha zulu' } }), 201);
      kref.set('kc:new', 'alpha alpha zulu');
      await expectReference(b, 'kc', 'body', kref, [...RANDOM_QUERIES, ['zulu', T('zulu')]]);
    } finally {
      await b.stop();
    }
  });
});
