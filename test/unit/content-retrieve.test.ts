import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL } from '../../src/access.js';
import { CHUNK_TABLE, Content } from '../../src/content/index.js';
import type { Database } from '../../src/db.js';
import { Indexes } from '../../src/index/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';
import { prng } from '../helpers/random.js';

/**
 * POST /content/retrieve against brute-force references (issue 18): the
 * vector ranking against exact cosine distances over every chunk (also
 * under a metadata filter), the BM25 ranking against the fulltext index's
 * own unfiltered list filtered by hand, and the fused ranking against
 * reciprocal rank fusion of the two reference lists.
 */

const DIM = 8;
const CONTENTS = 40;
const PER = 15;
const WORDS = ['amber', 'basalt', 'cobalt', 'dune', 'ember', 'fjord', 'glacier', 'harbor', 'iris', 'jade', 'kelp', 'lagoon'];

interface Ref {
  key: string;
  content: string;
  team: string;
  vec: number[];
}

const cosine = (a: number[], b: number[]) => {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return 1 - d / Math.sqrt(na * nb);
};

describe('content retrieval against brute force', () => {
  let dir: string;
  let db: Database;
  const refs: Ref[] = [];
  const rnd = prng(424242);
  beforeAll(async () => {
    dir = tempDir('themis-retrieve-');
    db = await openDb(dir);
    for (let c = 0; c < CONTENTS; c++) {
      const id = `c${c}`;
      const team = `t${c % 4}`;
      const chunks = Array.from({ length: PER }, (_, i) => {
        const vec = Array.from({ length: DIM }, () => Math.round((rnd() * 2 - 1) * 1000) / 1000);
        const text = Array.from({ length: 6 }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ');
        refs.push({ key: `${CHUNK_TABLE}:${id}:${String(i).padStart(10, '0')}`, content: id, team, vec });
        return { seq_num: i, text, embedding: vec };
      });
      await db.get(Content).import({ content: { id, team }, chunks }, INTERNAL);
    }
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const keyOf = (r: { chunk: { content_id: string; seq_num: number } }) =>
    `${CHUNK_TABLE}:${r.chunk.content_id}:${String(r.chunk.seq_num).padStart(10, '0')}`;
  const exact = (q: number[], k: number, keep: (r: Ref) => boolean = () => true) =>
    refs
      .filter(keep)
      .map((r) => ({ key: r.key, d: cosine(q, r.vec) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, k)
      .map((x) => x.key);

  it('vector retrieval finds the exact nearest chunks (recall@10 >= 0.9 on average, distances true)', () => {
    let hits = 0;
    const queries = 30;
    for (let i = 0; i < queries; i++) {
      const q = Array.from({ length: DIM }, () => rnd() * 2 - 1);
      const r = db.get(Content).retrieve({ embedding: q, k: 10 }, INTERNAL.access);
      const got = r.results.map(keyOf);
      const want = new Set(exact(q, 10));
      hits += got.filter((k) => want.has(k)).length;
      for (const x of r.results) {
        const ref = refs.find((y) => y.key === keyOf(x))!;
        expect(x.vector!.distance).toBeCloseTo(cosine(q, ref.vec), 4);
      }
    }
    expect(hits / (queries * 10)).toBeGreaterThanOrEqual(0.9);
  });

  it('vector retrieval under a metadata filter matches brute force over the matching chunks only', () => {
    let hits = 0;
    const queries = 20;
    for (let i = 0; i < queries; i++) {
      const q = Array.from({ length: DIM }, () => rnd() * 2 - 1);
      const team = `t${i % 4}`;
      const r = db.get(Content).retrieve({ embedding: q, k: 10, filter: { team } }, INTERNAL.access);
      expect(r.results).toHaveLength(10);
      for (const x of r.results) expect((x.content as Record<string, unknown>).team).toBe(team);
      const want = new Set(exact(q, 10, (ref) => ref.team === team));
      hits += r.results.map(keyOf).filter((k) => want.has(k)).length;
    }
    expect(hits / (queries * 10)).toBeGreaterThanOrEqual(0.9);
  });

  it('BM25 retrieval is the fulltext ranking, filtered', () => {
    const ft = db.get(Indexes).fulltext(CHUNK_TABLE, 'text');
    for (const word of ['glacier', 'kelp', 'amber']) {
      const full = ft.search(word, { limit: 10_000, offset: 0 }).hits;
      const r = db.get(Content).retrieve({ query: word, k: 10 }, INTERNAL.access);
      expect(r.results.map(keyOf)).toEqual(full.slice(0, 10).map((h) => h.key));
      expect(r.results.map((x) => x.score)).toEqual(full.slice(0, 10).map((h) => h.score));
      const teamOf = new Map(refs.map((x) => [x.key, x.team]));
      const filtered = db.get(Content).retrieve({ query: word, k: 10, filter: { team: 't2' } }, INTERNAL.access);
      expect(filtered.results.map(keyOf)).toEqual(
        full
          .filter((h) => teamOf.get(h.key) === 't2')
          .slice(0, 10)
          .map((h) => h.key),
      );
    }
  });

  it('fused retrieval is reciprocal rank fusion of the two reference lists', () => {
    const ft = db.get(Indexes).fulltext(CHUNK_TABLE, 'text');
    for (let i = 0; i < 10; i++) {
      const q = Array.from({ length: DIM }, () => rnd() * 2 - 1);
      const word = WORDS[i]!;
      const text = ft.search(word, { limit: 100, offset: 0 }).hits.map((h) => h.key);
      const vec = exact(q, 100);
      const score = new Map<string, number>();
      for (const list of [text, vec]) {
        list.forEach((k, r) => {
          score.set(k, (score.get(k) ?? 0) + 1 / (60 + r + 1));
        });
      }
      const want = [...score].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
      const r = db.get(Content).retrieve({ query: word, embedding: q, k: 5 }, INTERNAL.access);
      // HNSW is approximate: the top fused scores agree within the ranks the vector list may differ in.
      const got = r.results.map((x) => [keyOf(x), x.score] as const);
      const overlap = got.filter(([k]) => want.some(([w]) => w === k)).length;
      expect(overlap).toBeGreaterThanOrEqual(4);
      expect(got[0]![1]).toBeCloseTo(want[0]![1], 3);
    }
  });

  it('window attaches the neighbouring chunks by seq_num, none beyond the ends', () => {
    const r = db.get(Content).retrieve({ query: 'amber', k: 20, window: 2, filter: { content_ids: ['c3'] } }, INTERNAL.access);
    expect(r.results.length).toBeGreaterThan(0);
    for (const x of r.results) {
      const s = x.chunk.seq_num;
      expect(x.context!.before!.map((c) => c.seq_num)).toEqual([s - 2, s - 1].filter((n) => n >= 0));
      expect(x.context!.after!.map((c) => c.seq_num)).toEqual([s + 1, s + 2].filter((n) => n < PER));
      for (const c of [...x.context!.before!, ...x.context!.after!]) expect(c.content_id).toBe('c3');
    }
  });
  it('filters on the metadata as the latest commit left it (re-import and delete change what matches)', async () => {
    const c = db.get(Content);
    const q = { query: WORDS.join(' OR '), k: 1000 };
    const ids = (team: string) => new Set(c.retrieve({ ...q, filter: { team } }, INTERNAL.access).results.map((x) => x.chunk.content_id));
    expect(ids('t1').has('c1')).toBe(true);
    // Warm: c1 is t1 in the retrieval's view; a re-import makes it t9.
    await c.import({ content: { id: 'c1', team: 't9' }, chunks: [{ seq_num: 0, text: `${WORDS[0]} again` }] }, INTERNAL);
    expect(ids('t1').has('c1')).toBe(false);
    expect([...ids('t9')]).toEqual(['c1']);
    await c.delete('c1', INTERNAL);
    expect(ids('t9').size).toBe(0);
  });
});
