import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Body, call, expectError, ok, type StartedServer, sleep, startServer } from '../helpers/server.js';

/**
 * The semantic cache over HTTP (issue 19, docs/cache.md), black-box: exact
 * and semantic hits and misses around the threshold (vectors with known
 * cosine similarities), filters never leaking another tenant's entry,
 * TTL, LRU eviction with small limits, stats and /metrics, restart
 * persistence, concurrent puts and queries, invalidate/delete/clear, 400s
 * naming the field.
 */

/** A 4-d unit vector whose cosine similarity to [1, 0, 0, 0] is `s`. */
const at = (s: number) => [s, Math.sqrt(1 - s * s), 0, 0];
const E0 = [1, 0, 0, 0];
type Hit = { key: string; value: unknown; score: number; metadata: Record<string, unknown> };
const hitsOf = (b: Body) => b.hits as Hit[];

describe('semantic cache over HTTP', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('puts and answers exact and semantic lookups around the threshold', async () => {
    const put = await ok(
      call(s, 'POST', '/cache/put', {
        key: 'rag:q1',
        value: { answer: 'yes' },
        embedding: E0,
        prompt: 'Is it?',
        metadata: { model: 'gpt-4o' },
      }),
    );
    expect(put).toEqual({ success: true, key: 'rag:q1', expires_at: null });
    const exact = await ok(call(s, 'POST', '/cache/query', { key: 'rag:q1', top_k: 1 }));
    expect(exact).toMatchObject({
      hit: true,
      hits: [{ key: 'rag:q1', value: { answer: 'yes' }, score: 1, metadata: { model: 'gpt-4o' } }],
    });
    expect(await ok(call(s, 'POST', '/cache/query', { key: 'rag:nope' }))).toMatchObject({ hit: false, hits: [] });

    const hit = await ok(call(s, 'POST', '/cache/query', { embedding: at(0.951), prompt: 'Is it really?' }));
    expect(hit.hit).toBe(true);
    expect(hitsOf(hit)[0]!.score).toBeCloseTo(0.951, 4);
    const miss = await ok(call(s, 'POST', '/cache/query', { embedding: at(0.949) }));
    expect(miss).toMatchObject({ hit: false, hits: [], threshold: 0.95 });
    expect(miss.nearest_score as number).toBeCloseTo(0.949, 4);
    expect((await ok(call(s, 'POST', '/cache/query', { embedding: at(0.949), threshold: 0.94 }))).hit).toBe(true);
  });

  it('never returns another tenant’s entry, even a much closer one', async () => {
    for (let i = 0; i < 40; i++)
      await ok(
        call(s, 'POST', '/cache/put', {
          key: `t:b:${i}`,
          value: i,
          embedding: at(0.9999 - i * 1e-5),
          metadata: { tenant: 'b', model: 'm' },
        }),
      );
    await ok(call(s, 'POST', '/cache/put', { key: 't:a:0', value: 'mine', embedding: at(0.97), metadata: { tenant: 'a', model: 'm' } }));
    const r = await ok(call(s, 'POST', '/cache/query', { embedding: E0, top_k: 5, filter: { tenant: 'a', model: 'm' } }));
    expect(hitsOf(r).map((h) => h.key)).toEqual(['t:a:0']);
    const none = await ok(call(s, 'POST', '/cache/query', { embedding: E0, top_k: 5, filter: { tenant: 'c' } }));
    expect(none).toMatchObject({ hit: false, hits: [] });
    const b = await ok(call(s, 'POST', '/cache/query', { embedding: E0, top_k: 5, filter: { tenant: 'b' } }));
    expect(hitsOf(b).map((h) => h.key)).toEqual(['t:b:0', 't:b:1', 't:b:2', 't:b:3', 't:b:4']);
    expect(await ok(call(s, 'POST', '/cache/invalidate', { filter: { tenant: 'b' } }))).toEqual({ success: true, deleted: 40 });
    expect((await ok(call(s, 'POST', '/cache/query', { key: 't:b:0' }))).hit).toBe(false);
  });

  it('expires entries after ttl_sec', async () => {
    const r = await ok(call(s, 'POST', '/cache/put', { key: 'ttl', value: 1, embedding: [0, 0, 0, 1], ttl_sec: 0.6 }));
    expect(Date.parse(r.expires_at as string) - Date.now()).toBeGreaterThan(0);
    expect((await ok(call(s, 'POST', '/cache/query', { key: 'ttl' }))).hit).toBe(true);
    await sleep(700);
    expect((await ok(call(s, 'POST', '/cache/query', { key: 'ttl' }))).hit).toBe(false);
    expect((await ok(call(s, 'POST', '/cache/query', { embedding: [0, 0, 0, 1] }))).hit).toBe(false);
    // The background sweep (every second) removes it.
    let stats: Body = {};
    for (let i = 0; i < 40 && stats.expired_total !== 1; i++) {
      await sleep(100);
      stats = await ok(call(s, 'GET', '/cache/stats'));
    }
    expect(stats.expired_total).toBe(1);
    expectError(await call(s, 'DELETE', '/cache/ttl'), 404, 'NOT_FOUND');
  });

  it('deletes one entry (404 for an unknown key) and clears everything', async () => {
    await ok(call(s, 'POST', '/cache/put', { key: 'with/slash', value: 1 }));
    expect(await ok(call(s, 'DELETE', `/cache/${encodeURIComponent('with/slash')}`))).toEqual({
      success: true,
      key: 'with/slash',
      deleted: true,
    });
    expectError(await call(s, 'DELETE', `/cache/${encodeURIComponent('with/slash')}`), 404, 'NOT_FOUND');
    await ok(call(s, 'POST', '/cache/put', { key: 'x', value: null }));
    expect((await ok(call(s, 'POST', '/cache/query', { key: 'x' }))).hits).toMatchObject([{ key: 'x', value: null }]);
    const cleared = await ok(call(s, 'POST', '/cache/clear'));
    expect(cleared.deleted as number).toBeGreaterThan(0);
    expect(await ok(call(s, 'GET', '/cache/stats'))).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('refuses invalid bodies naming the field', async () => {
    expectError(await call(s, 'POST', '/cache/put', { value: 1 }), 400, 'VALIDATION_FAILED', 'key');
    expectError(await call(s, 'POST', '/cache/put', { key: 'k' }), 400, 'VALIDATION_FAILED', 'value');
    expectError(await call(s, 'POST', '/cache/put', { key: '', value: 1 }), 400, 'VALIDATION_FAILED', 'key');
    expectError(await call(s, 'POST', '/cache/put', { key: 'k'.repeat(1025), value: 1 }), 400, 'VALIDATION_FAILED', 'key');
    expectError(await call(s, 'POST', '/cache/put', { key: 'k', value: 1, embedding: [] }), 400, 'VALIDATION_FAILED', 'embedding');
    expectError(await call(s, 'POST', '/cache/put', { key: 'k', value: 1, embedding: [1, 'a'] }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/cache/put', { key: 'k', value: 1, embedding: [0, 0] }), 400, 'VALIDATION_FAILED', 'embedding');
    expectError(await call(s, 'POST', '/cache/put', { key: 'k', value: 1, ttl_sec: 0 }), 400, 'VALIDATION_FAILED', 'ttl_sec');
    expectError(await call(s, 'POST', '/cache/put', { key: 'k', value: 1, metadata: { nested: { a: 1 } } }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/cache/query', {}), 400, 'VALIDATION_FAILED', 'embedding');
    expectError(await call(s, 'POST', '/cache/query', { embedding: E0, top_k: 101 }), 400, 'VALIDATION_FAILED', 'top_k');
    expectError(await call(s, 'POST', '/cache/query', { embedding: E0, threshold: 2 }), 400, 'VALIDATION_FAILED', 'threshold');
    expectError(await call(s, 'POST', '/cache/invalidate', { filter: {} }), 400, 'VALIDATION_FAILED');
  });

  it('counts hits and misses in stats and /metrics, with the similarity histogram', async () => {
    const before = await ok(call(s, 'GET', '/cache/stats'));
    await ok(call(s, 'POST', '/cache/put', { key: 'm', value: 1, embedding: E0 }));
    await ok(call(s, 'POST', '/cache/query', { embedding: at(0.99) }));
    await ok(call(s, 'POST', '/cache/query', { embedding: at(0.5) }));
    await ok(call(s, 'POST', '/cache/query', { key: 'm' }));
    const after = await ok(call(s, 'GET', '/cache/stats'));
    expect((after.hits_total as number) - (before.hits_total as number)).toBe(2);
    expect((after.misses_total as number) - (before.misses_total as number)).toBe(1);
    expect((after.lookups_total as number) - (before.lookups_total as number)).toBe(3);
    expect(after.hit_ratio_1m as number).toBeGreaterThan(0);
    expect(after.indexes).toEqual([{ dimension: 4, entries: 1, capacity: expect.any(Number) }]);
    const metrics = await (await s.req('GET', '/metrics')).text();
    expect(metrics).toMatch(new RegExp(`themis_cache_hits_total ${after.hits_total}\\b`));
    expect(metrics).toMatch(new RegExp(`themis_cache_misses_total ${after.misses_total}\\b`));
    expect(metrics).toMatch(/themis_cache_similarity_bucket\{le="0.5"\} [1-9]/);
    const count = /themis_cache_similarity_count (\d+)/.exec(metrics);
    expect(Number(count?.[1])).toBeGreaterThanOrEqual(2);
    // Searches per way: the two semantic lookups above had no filter and no TTL (a plain graph walk).
    const searches = after.searches as Record<string, number>;
    expect(searches.graph! - (before.searches as Record<string, number>).graph!).toBe(2);
    for (const path of ['graph', 'direct', 'overfetch', 'filtered_walk'])
      expect(metrics).toMatch(new RegExp(`themis_cache_searches_total\\{path="${path}"\\} ${searches[path]}\\b`));
  });

  it('answers concurrent puts and queries consistently', async () => {
    const ops: Promise<{ status: number; body: Body }>[] = [];
    for (let i = 0; i < 100; i++) {
      ops.push(call(s, 'POST', '/cache/put', { key: `c${i % 10}`, value: i, embedding: [1, i % 10, 2, 3] }));
      ops.push(call(s, 'POST', '/cache/query', { embedding: [1, i % 10, 2, 3] }));
    }
    for (const r of await Promise.all(ops)) expect(r.status, JSON.stringify(r.body)).toBe(200);
    for (let k = 0; k < 10; k++) {
      const r = await ok(call(s, 'POST', '/cache/query', { embedding: [1, k, 2, 3] }));
      expect(hitsOf(r)[0]).toMatchObject({ key: `c${k}`, value: 90 + k });
    }
  });
});

describe('semantic cache limits and restarts', () => {
  it('evicts the least recently used entries beyond THEMIS_CACHE_MAX_ENTRIES, and keeps entries across a restart', async () => {
    const env = { THEMIS_CACHE_MAX_ENTRIES: '3', THEMIS_CACHE_THRESHOLD: '0.9' };
    let s = await startServer({ env });
    const dataDir = s.dataDir;
    try {
      for (const [i, k] of ['a', 'b', 'c'].entries())
        await ok(call(s, 'POST', '/cache/put', { key: k, value: k, embedding: [1, i, 0, 0] }));
      await ok(call(s, 'POST', '/cache/query', { key: 'a' }));
      await ok(call(s, 'POST', '/cache/put', { key: 'd', value: 'd', embedding: [1, 3, 0, 0] }));
      expect((await ok(call(s, 'POST', '/cache/query', { key: 'b' }))).hit).toBe(false);
      expect(await ok(call(s, 'GET', '/cache/stats'))).toMatchObject({ entries: 3, evictions_total: 1, max_entries: 3, threshold: 0.9 });
      await s.stop();
      s = await startServer({ env, dataDir });
      expect(await ok(call(s, 'GET', '/cache/stats'))).toMatchObject({ entries: 3, evictions_total: 0 });
      for (const [k, i] of [
        ['a', 0],
        ['c', 2],
        ['d', 3],
      ] as const) {
        const r = await ok(call(s, 'POST', '/cache/query', { embedding: [1, i, 0, 0] }));
        expect(hitsOf(r)).toMatchObject([{ key: k, value: k }]);
        expect(hitsOf(r)[0]!.score).toBeCloseTo(1, 5);
      }
    } finally {
      await s.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('evicts beyond THEMIS_CACHE_MAX_BYTES and refuses an entry larger than the limit', async () => {
    const s = await startServer({ env: { THEMIS_CACHE_MAX_BYTES: '2048' } });
    try {
      for (let i = 0; i < 10; i++) await ok(call(s, 'POST', '/cache/put', { key: `k${i}`, value: 'x'.repeat(400) }));
      const st = await ok(call(s, 'GET', '/cache/stats'));
      expect(st.bytes as number).toBeLessThanOrEqual(2048);
      expect(st.entries).toBe(4);
      expect(st.evictions_total).toBe(6);
      expect((await ok(call(s, 'POST', '/cache/query', { key: 'k9' }))).hit).toBe(true);
      expect((await ok(call(s, 'POST', '/cache/query', { key: 'k5' }))).hit).toBe(false);
      expectError(await call(s, 'POST', '/cache/put', { key: 'big', value: 'x'.repeat(3000) }), 413, 'PAYLOAD_TOO_LARGE');
    } finally {
      await s.stop();
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});
