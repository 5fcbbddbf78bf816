import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CacheOptions, CacheService } from '../../src/cache/index.js';
import { Engine, keyspace } from '../../src/storage/index.js';
import { tempDir } from '../helpers/inproc.js';

/**
 * The semantic cache against its storage, in process with a fake clock
 * (docs/cache.md): threshold, filters inside the search, TTL on read and in
 * the sweep, LRU order and eviction by count and bytes, hit-ratio windows
 * over a recorded sequence, reopening (entries, embeddings, LRU order).
 */

const ks = keyspace('cache');
/** A 4-d unit vector whose cosine similarity to [1, 0, 0, 0] is `s`. */
const at = (s: number) => [s, Math.sqrt(1 - s * s), 0, 0];
const E0 = [1, 0, 0, 0];

let dir: string;
let engine: Engine;
let clock: number;
let cache: CacheService;
const T0 = Date.UTC(2025, 0, 1);

async function open(opts: Partial<CacheOptions> = {}): Promise<CacheService> {
  return CacheService.open(engine, {
    threshold: 0.95,
    defaultTtlSec: 0,
    maxEntries: 1_000_000,
    maxBytes: 1024 ** 3,
    now: () => clock,
    sweepMs: 0,
    ...opts,
  });
}

async function storedKeys(): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of engine.scan(ks)) out.push(k.toString('utf8', 1));
  return out;
}

beforeEach(async () => {
  dir = tempDir('themis-cache-');
  engine = await Engine.open(`${dir}/db`, { sync: false });
  clock = T0;
  cache = await open();
});

afterEach(async () => {
  await cache.close();
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('cache lookups', () => {
  it('hits by key exactly and by embedding only at or above the threshold, with the cosine similarity as score', async () => {
    await cache.put({ key: 'q1', value: { answer: 42 }, embedding: E0, metadata: { model: 'm' }, prompt: 'what?' });
    const exact = await cache.query({ key: 'q1' });
    expect(exact).toMatchObject({
      hit: true,
      match: 'exact',
      hits: [{ key: 'q1', value: { answer: 42 }, score: 1, metadata: { model: 'm' }, prompt: 'what?' }],
    });
    expect((await cache.query({ key: 'nope' })).hit).toBe(false);

    const near = await cache.query({ embedding: at(0.96) });
    expect(near.hit).toBe(true);
    expect(near.hits[0]!.score).toBeCloseTo(0.96, 4);
    const far = await cache.query({ embedding: at(0.94) });
    expect(far).toMatchObject({ hit: false, hits: [], threshold: 0.95 });
    expect(far.nearest_score).toBeCloseTo(0.94, 4);
    const lowered = await cache.query({ embedding: at(0.94), threshold: 0.9 });
    expect(lowered.hits.map((h) => h.key)).toEqual(['q1']);
    // Another dimension has no entries: a miss, not an error.
    expect((await cache.query({ embedding: [1, 0, 0] })).hit).toBe(false);
    // A key miss with an embedding falls back to the semantic lookup.
    expect((await cache.query({ key: 'nope', embedding: at(0.99) })).match).toBe('semantic');
  });

  it('orders hits by score and returns only those at or above the threshold', async () => {
    for (const s of [0.999, 0.97, 0.96, 0.5]) await cache.put({ key: `s${s}`, value: s, embedding: at(s) });
    const r = await cache.query({ embedding: E0, top_k: 10 });
    expect(r.hits.map((h) => h.key)).toEqual(['s0.999', 's0.97', 's0.96']);
    expect(r.hits.map((h) => Math.round(h.score * 1000) / 1000)).toEqual([0.999, 0.97, 0.96]);
  });

  it('applies the filter inside the search: another tenant never appears, even much closer, and k matching come back', async () => {
    for (let i = 0; i < 300; i++) await cache.put({ key: `b${i}`, value: i, embedding: at(0.9999 - i * 1e-6), metadata: { tenant: 'b' } });
    for (let i = 0; i < 3; i++)
      await cache.put({ key: `a${i}`, value: i, embedding: at(0.96 + i * 0.001), metadata: { tenant: 'a', model: 'x' } });
    const r = await cache.query({ embedding: E0, top_k: 3, filter: { tenant: 'a' } });
    expect(r.hits.map((h) => h.key)).toEqual(['a2', 'a1', 'a0']);
    expect((await cache.query({ embedding: E0, top_k: 3, filter: { tenant: 'a', model: 'y' } })).hit).toBe(false);
    expect((await cache.query({ embedding: E0, top_k: 2, filter: { tenant: ['c', 'a'] } })).hits).toHaveLength(2);
    // An exact lookup respects the filter too.
    expect((await cache.query({ key: 'b0', filter: { tenant: 'a' } })).hit).toBe(false);
  });

  it('replacing a key replaces its embedding', async () => {
    await cache.put({ key: 'k', value: 1, embedding: E0 });
    await cache.put({ key: 'k', value: 2, embedding: [0, 0, 1, 0] });
    expect((await cache.query({ embedding: E0 })).hit).toBe(false);
    expect((await cache.query({ embedding: [0, 0, 1, 0] })).hits).toMatchObject([{ key: 'k', value: 2 }]);
    expect(cache.stats().indexes).toEqual([{ dimension: 4, entries: 1, capacity: expect.any(Number) }]);
    // Replaced by one without an embedding: gone from the graph.
    await cache.put({ key: 'k', value: 3 });
    expect(cache.stats().indexes).toEqual([]);
    expect((await cache.query({ key: 'k' })).hits[0]!.value).toBe(3);
  });

  it('refuses a zero embedding naming the field', async () => {
    await expect(cache.put({ key: 'z', value: 1, embedding: [0, 0] })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'embedding' },
    });
    await expect(cache.query({})).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('TTL', () => {
  it('never returns an expired entry and removes it in the sweep', async () => {
    const r = await cache.put({ key: 't', value: 1, embedding: E0, ttl_sec: 10 });
    expect(r.expires_at).toBe(new Date(T0 + 10_000).toISOString());
    await cache.put({ key: 'forever', value: 2, embedding: at(0.5) });
    clock = T0 + 9_999;
    expect((await cache.query({ key: 't' })).hit).toBe(true);
    expect((await cache.query({ embedding: E0 })).hits.map((h) => h.key)).toEqual(['t']);
    clock = T0 + 10_000;
    expect((await cache.query({ key: 't' })).hit).toBe(false);
    // Checked inside the search: the expired nearest entry is skipped, the next one found.
    const s = await cache.query({ embedding: E0, threshold: 0 });
    expect(s.hits.map((h) => h.key)).toEqual(['forever']);
    expect(cache.stats()).toMatchObject({ entries: 2, expired_total: 0 });
    await cache.sweep();
    expect(cache.stats()).toMatchObject({ entries: 1, expired_total: 1 });
    expect(await storedKeys()).toEqual(['forever']);
  });

  it('uses the default TTL when ttl_sec is absent, and removes entries that expired while closed', async () => {
    await cache.close();
    cache = await open({ defaultTtlSec: 60 });
    expect((await cache.put({ key: 'd', value: 1 })).expires_at).toBe(new Date(T0 + 60_000).toISOString());
    await cache.put({ key: 'long', value: 1, ttl_sec: 3600 });
    await cache.close();
    clock = T0 + 61_000;
    cache = await open();
    expect(cache.stats()).toMatchObject({ entries: 1, expired_total: 1 });
    expect(await storedKeys()).toEqual(['long']);
  });

  it('the sweep removes many expired entries in batches', async () => {
    for (let i = 0; i < 2500; i++) await cache.put({ key: `x${i}`, value: i, ttl_sec: 1 + (i % 5) });
    clock = T0 + 3_000;
    await cache.sweep();
    expect(cache.stats()).toMatchObject({ entries: 1000, expired_total: 1500 });
    clock = T0 + 10_000;
    await cache.sweep();
    expect(cache.stats().entries).toBe(0);
    expect(await storedKeys()).toEqual([]);
  });
});

describe('LRU eviction', () => {
  it('evicts the least recently used beyond max entries (a hit or a put makes an entry recent)', async () => {
    await cache.close();
    cache = await open({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) {
      await cache.put({ key: k, value: k, embedding: E0 });
      clock += 1000;
    }
    await cache.query({ key: 'a' }); // a is recent: b is the oldest
    await cache.put({ key: 'd', value: 'd' });
    expect(cache.lruOrder()).toEqual(['c', 'a', 'd']);
    expect(cache.stats()).toMatchObject({ entries: 3, evictions_total: 1 });
    await cache.query({ embedding: E0, top_k: 3, threshold: 0 }); // c and a: recent in score order
    await cache.put({ key: 'c', value: 'c2' }); // rewriting makes c the most recent
    await cache.put({ key: 'e', value: 'e' });
    expect(cache.lruOrder()).toEqual(['a', 'c', 'e']);
    expect(cache.stats().evictions_total).toBe(2);
    expect(await storedKeys()).toEqual(['a', 'c', 'e']);
  });

  it('evicts beyond max bytes, counting key, value, metadata and embedding', async () => {
    await cache.put({ key: 'probe', value: 'x'.repeat(100) });
    const one = cache.stats().bytes;
    expect(one).toBeGreaterThan(105);
    await cache.put({ key: 'probe2', value: 'x'.repeat(100), embedding: E0 });
    expect(cache.stats().bytes - one).toBe(one + 1 + 16);
    await cache.close();
    cache = await open({ maxBytes: 2 * one + 10 });
    // Reopened under a smaller limit: the oldest entry goes at once.
    expect(cache.stats()).toMatchObject({ entries: 1, evictions_total: 1 });
    expect(cache.lruOrder()).toEqual(['probe2']);
    for (const k of ['k1', 'k2', 'k3']) await cache.put({ key: k, value: 'x'.repeat(102) }); // one - 1 bytes each
    expect(cache.lruOrder()).toEqual(['k2', 'k3']);
    expect(cache.stats()).toMatchObject({ bytes: 2 * one - 2, evictions_total: 3 });
    await expect(cache.put({ key: 'huge', value: 'x'.repeat(10_000) })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('statistics', () => {
  it('hit ratios over the last minute and hour follow a recorded sequence of lookups', async () => {
    await cache.put({ key: 'h', value: 1, embedding: E0 });
    const lookup = (hit: boolean) => cache.query(hit ? { key: 'h' } : { embedding: at(0.5) });
    for (const hit of [true, true, true, false]) await lookup(hit);
    clock = T0 + 30_000;
    for (const hit of [false, false]) await lookup(hit);
    expect(cache.stats()).toMatchObject({ hit_ratio_1m: 3 / 6, hit_ratio_1h: 3 / 6, lookups_total: 6, hits_total: 3, misses_total: 3 });
    clock = T0 + 85_000; // the first second's lookups left the minute
    await lookup(true);
    expect(cache.stats()).toMatchObject({ hit_ratio_1m: 1 / 3, hit_ratio_1h: 4 / 7, lookups_1m: 3, lookups_1h: 7 });
    clock = T0 + 3_600_000 + 30_000; // only the last lookup is within the hour
    expect(cache.stats()).toMatchObject({ hit_ratio_1m: 0, hit_ratio_1h: 1, lookups_1h: 1 });
    // The similarity histogram saw every semantic lookup (3 misses at 0.5), not the exact ones.
    expect(cache.similarity.count).toBe(3);
    expect(cache.similarity.sum).toBeCloseTo(1.5, 4);
  });
});

describe('invalidate, delete, clear, reopen', () => {
  it('invalidates by metadata, deletes one, clears all; storage follows', async () => {
    await cache.put({ key: 'a', value: 1, metadata: { model: 'x' }, embedding: E0 });
    await cache.put({ key: 'b', value: 1, metadata: { model: 'y' } });
    await cache.put({ key: 'c', value: 1, metadata: { model: 'x', tenant: 't' } });
    expect(await cache.invalidate({ model: 'x' })).toBe(2);
    expect(await storedKeys()).toEqual(['b']);
    expect(cache.stats().indexes).toEqual([]);
    expect(await cache.delete('b')).toBe(true);
    expect(await cache.delete('b')).toBe(false);
    await cache.put({ key: 'd', value: 1 });
    expect(await cache.clear()).toBe(1);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(await storedKeys()).toEqual([]);
  });

  it('after reopening: entries, values and embeddings searchable, LRU order by last write', async () => {
    for (let i = 0; i < 50; i++) {
      clock = T0 + (49 - i) * 1000; // written in reverse key order
      await cache.put({ key: `k${String(i).padStart(2, '0')}`, value: { i }, embedding: [1, i, 0.5, -i], metadata: { n: i } });
    }
    const before = cache.stats();
    await cache.close();
    cache = await open();
    expect(cache.stats()).toMatchObject({ entries: 50, bytes: before.bytes });
    expect(cache.lruOrder()[0]).toBe('k49');
    expect(cache.lruOrder()[49]).toBe('k00');
    const r = await cache.query({ embedding: [1, 7, 0.5, -7] });
    expect(r.hits).toMatchObject([{ key: 'k07', value: { i: 7 }, metadata: { n: 7 } }]);
    expect(r.hits[0]!.score).toBeCloseTo(1, 5);
  });

  it('concurrent puts and queries of the same keys see the latest write', async () => {
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      ops.push(cache.put({ key: `c${i % 20}`, value: i, embedding: [1, i % 20, 1, 1] }));
      ops.push(cache.query({ key: `c${i % 20}` }));
    }
    await Promise.all(ops);
    expect(cache.stats().entries).toBe(20);
    for (let k = 0; k < 20; k++) expect((await cache.query({ key: `c${k}` })).hits[0]!.value).toBe(180 + k);
    expect(cache.stats().indexes[0]!.entries).toBe(20);
  });
});
