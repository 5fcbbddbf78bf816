/**
 * POST /search/hybrid over HTTP: the fused list equals a fusion computed
 * here from the two lists the server answers separately (/search/fulltext
 * and /vector/search), for both fusion methods; bad input is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HybridSearchResponse } from '../../src/search/index.js';
import { prng } from '../helpers/random.js';
import { call, expectStatus, startServer, type Body, type StartedServer } from '../helpers/server.js';

const WORDS = ['vector', 'search', 'graph', 'index', 'query', 'fusion', 'rank', 'hybrid', 'text', 'model'];
const N = 300;
const DIM = 8;
let s: StartedServer;

beforeAll(async () => {
  s = await startServer();
  const rnd = prng(7);
  await expectStatus(await call(s, 'POST', '/index/create', { table: 'docs', column: 'body', type: 'fulltext' }), 200);
  await expectStatus(await call(s, 'POST', '/vector/index/create', { name: 'docs_vec', table: 'docs', field: 'emb', metric: 'L2' }), 201);
  const ops = Array.from({ length: N }, (_, i) => ({
    op: 'put',
    key: `docs:${i}`,
    blob: {
      body: Array.from({ length: 3 + Math.floor(rnd() * 8) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' '),
      emb: Array.from({ length: DIM }, () => Math.round(rnd() * 1000) / 100),
    },
  }));
  await expectStatus(await call(s, 'POST', '/transaction', { operations: ops }), 200);
}, 60_000);

afterAll(async () => {
  await s?.stop();
});

const Q = Array.from({ length: DIM }, (_, i) => i + 0.5);

/** Reference fusion over the lists the server gives for the parts. */
async function reference(
  query: string,
  k: number,
  candidates: number,
  fusion: 'rrf' | 'weighted',
  w: { text: number; vector: number },
  rrfK = 60,
): Promise<[string, number][]> {
  const t = (await call(s, 'POST', '/search/fulltext', { table: 'docs', column: 'body', query, limit: candidates, snippets: false })).body
    .hits as { key: string; score: number }[];
  const v = (await call(s, 'POST', '/vector/search', { index: 'docs_vec', vector: Q, k: candidates })).body.results as {
    pk: string;
    distance: number;
  }[];
  const score = new Map<string, number>();
  const add = (key: string, x: number) => score.set(key, (score.get(key) ?? 0) + x);
  if (fusion === 'rrf') {
    t.forEach((h, i) => {
      add(h.key, w.text / (rrfK + i + 1));
    });
    v.forEach((h, i) => {
      add(`docs:${h.pk}`, w.vector / (rrfK + i + 1));
    });
  } else {
    const [tl, th] = [Math.min(...t.map((h) => h.score)), Math.max(...t.map((h) => h.score))];
    const [vl, vh] = [Math.min(...v.map((h) => h.distance)), Math.max(...v.map((h) => h.distance))];
    t.forEach((h) => {
      add(h.key, w.text * (th === tl ? 1 : (h.score - tl) / (th - tl)));
    });
    v.forEach((h) => {
      add(`docs:${h.pk}`, w.vector * (vh === vl ? 1 : (vh - h.distance) / (vh - vl)));
    });
  }
  return [...score].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, k);
}

describe('POST /search/hybrid', () => {
  it('rrf (default) equals the reference fusion of the two lists', async () => {
    const r = await call(s, 'POST', '/search/hybrid', {
      table: 'docs',
      text: { column: 'body', query: 'vector OR graph' },
      vector: { field: 'emb', vector: Q },
      k: 15,
      candidates: 50,
    });
    await expectStatus(r, 200);
    const body = r.body as unknown as HybridSearchResponse;
    expect(body).toMatchObject({ table: 'docs', fusion: 'rrf', k: 15, candidates: 50, index: 'docs_vec', count: 15 });
    const ref = await reference('vector OR graph', 15, 50, 'rrf', { text: 1, vector: 1 });
    expect(body.results.map((h) => h.key)).toEqual(ref.map(([k]) => k));
    body.results.forEach((h, i) => {
      expect(h.score).toBeCloseTo(ref[i]![1], 12);
    });
    // every result says where it came from
    for (const h of body.results) {
      expect(h.pk).toBe(h.key.slice('docs:'.length));
      expect(h.text !== null || h.vector !== null).toBe(true);
    }
  });

  it('weighted fusion with custom weights equals the reference', async () => {
    const r = await call(s, 'POST', '/search/hybrid', {
      table: 'docs',
      text: { column: 'body', query: 'fusion rank' },
      vector: { index: 'docs_vec', vector: Q },
      k: 10,
      fusion: 'weighted',
      weights: { text: 0.3, vector: 0.7 },
      candidates: 40,
    });
    await expectStatus(r, 200);
    const body = r.body as unknown as HybridSearchResponse;
    const ref = await reference('fusion rank', 10, 40, 'weighted', { text: 0.3, vector: 0.7 });
    expect(body.results.map((h) => h.key)).toEqual(ref.map(([k]) => k));
    body.results.forEach((h, i) => {
      expect(h.score).toBeCloseTo(ref[i]![1], 9);
    });
  });

  it('/metrics exposes the size of each vector index', async () => {
    const stats = (await call(s, 'GET', '/vector/index/stats?index=docs_vec')).body;
    const text = await (await s.req('GET', '/metrics')).text();
    expect(text).toContain(`themis_vector_index_vectors{index="docs_vec"} ${stats.vectorCount as number}`);
    expect(text).toContain('themis_vector_index_vectors{index="vector_index"} 0');
    expect(text).toMatch(/^themis_vector_index_capacity\{index="docs_vec"\} \d+$/m);
  });

  it('follows writes: a deleted document leaves both lists', async () => {
    const first = (
      await call(s, 'POST', '/search/hybrid', { table: 'docs', text: { column: 'body', query: 'hybrid' }, vector: { vector: Q }, k: 1 })
    ).body as unknown as HybridSearchResponse;
    const top = first.results[0]!.key;
    await expectStatus(await call(s, 'DELETE', `/entities/${encodeURIComponent(top)}`), 200);
    const after = (
      await call(s, 'POST', '/search/hybrid', { table: 'docs', text: { column: 'body', query: 'hybrid' }, vector: { vector: Q }, k: 50 })
    ).body as unknown as HybridSearchResponse;
    expect(after.results.map((h) => h.key)).not.toContain(top);
  });

  it('bad input is a 400 naming the field; missing indexes are named', async () => {
    const base: Body = { table: 'docs', text: { column: 'body', query: 'vector' }, vector: { vector: Q } };
    const cases: [Body, string][] = [
      [{ ...base, fusion: 'max' }, 'fusion'],
      [{ ...base, k: 0 }, 'k'],
      [{ ...base, k: 1001 }, 'k'],
      [{ ...base, k: 1.5 }, 'k'],
      [{ ...base, rrf_k: -1 }, 'rrf_k'],
      [{ ...base, weights: { text: -1 } }, 'weights.text'],
      [{ ...base, weights: [] }, 'weights'],
      [{ ...base, k: 20, candidates: 10 }, 'candidates'],
      [{ ...base, weights: { text: 0, vector: 0 } }, 'weights'],
      [{ ...base, vector: { vector: [1, 2] } }, 'vector'],
      [{ ...base, text: { column: 'body', query: '"unclosed' } }, ''],
      [{ ...base, text: { column: 'title', query: 'x' } }, 'column'],
      [{ ...base, vector: { vector: Q, field: 'other' } }, 'index'],
      [{ table: 'docs', text: { column: 'body', query: 'x' } }, 'vector'],
    ];
    for (const [body, field] of cases) {
      const r = await call(s, 'POST', '/search/hybrid', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toBe(true);
      expect(r.body.status_code).toBe(400);
      if (field) expect(String(r.body.field ?? ''), JSON.stringify(body)).toContain(field);
    }
  });
});
