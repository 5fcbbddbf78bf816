import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CacheOptions, CacheService } from '../../src/cache/index.js';
import type { Logger } from '../../src/log.js';
import { Engine } from '../../src/storage/index.js';
import { tempDir } from '../helpers/inproc.js';
import { prng } from '../helpers/random.js';

/**
 * Checkpoints of the semantic cache's HNSW graphs (docs/cache.md,
 * "Persistence and recovery"): a clean close then open restores the graph
 * without inserting; a checkpoint older than the entries (a crash after it)
 * is reconciled key by key against LevelDB; a corrupt one is ignored and the
 * graph rebuilt; searches answer as over a rebuilt graph.
 */

const DIM = 16;
const N = 400;

let dir: string;
let engine: Engine;
let clock: number;
const open: CacheService[] = [];
const T0 = Date.UTC(2025, 0, 1);

const rand = prng(7);
const vec = (): number[] => Array.from({ length: DIM }, () => rand() - 0.5);

async function openCache(opts: Partial<CacheOptions> = {}, checkpoints = true): Promise<CacheService> {
  const c = await CacheService.open(engine, {
    threshold: 0.5,
    defaultTtlSec: 0,
    maxEntries: 1_000_000,
    maxBytes: 1024 ** 3,
    now: () => clock,
    sweepMs: 0,
    checkpointMs: 0,
    ...(checkpoints ? { checkpointDir: `${dir}/cache` } : {}),
    ...opts,
  });
  open.push(c);
  return c;
}

async function closeCache(c: CacheService): Promise<void> {
  await c.close();
  open.splice(open.indexOf(c), 1);
}

/** Top-5 keys and scores of each query. */
async function answers(c: CacheService, queries: number[][]): Promise<[string, number][][]> {
  const out: [string, number][][] = [];
  for (const q of queries) {
    const r = await c.query({ embedding: q, top_k: 5, threshold: -1 });
    out.push(r.hits.map((h) => [h.key, Math.round(h.score * 1e6) / 1e6]));
  }
  return out;
}

/** The key nearest to `v` and its score. */
async function nearest(c: CacheService, v: number[]): Promise<{ key: string | undefined; score: number }> {
  const r = await c.query({ embedding: v, top_k: 1, threshold: -1 });
  return { key: r.hits[0]?.key, score: r.hits[0]?.score ?? -1 };
}

const embeddings = new Map<string, number[]>();

async function fill(c: CacheService, n: number, prefix = 'k'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const v = vec();
    embeddings.set(`${prefix}${i}`, v);
    clock++;
    await c.put({ key: `${prefix}${i}`, value: i, embedding: v });
  }
}

beforeEach(async () => {
  dir = tempDir('themis-cache-ckpt-');
  engine = await Engine.open(`${dir}/db`, { sync: false });
  clock = T0;
  embeddings.clear();
});

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const queries = Array.from({ length: 40 }, vec);

describe('cache graph checkpoints', () => {
  it('a clean close writes the checkpoint and the next open restores it without inserting, answering as a rebuild does', async () => {
    const a = await openCache();
    await fill(a, N);
    const before = await answers(a, queries);
    await closeCache(a);
    expect(fs.existsSync(`${dir}/cache/hnsw-${DIM}.bin`)).toBe(true);
    expect(fs.existsSync(`${dir}/cache/hnsw-${DIM}.meta`)).toBe(true);

    const b = await openCache();
    expect(b.loadStats.sources.get(DIM)).toBe('checkpoint');
    expect(b.loadStats).toMatchObject({ restored: N, inserted: 0, dropped: 0 });
    expect(b.stats().indexes).toEqual([{ dimension: DIM, entries: N, capacity: expect.any(Number) }]);
    const restored = await answers(b, queries);
    expect(restored).toEqual(before);
    for (const [key, v] of [...embeddings].slice(0, 50)) expect((await nearest(b, v)).key).toBe(key);
    await closeCache(b);

    const rebuilt = await openCache({}, false);
    expect(rebuilt.loadStats.sources.get(DIM)).toBe('rebuild');
    expect(rebuilt.loadStats.inserted).toBe(N);
    expect(await answers(rebuilt, queries)).toEqual(restored);
  });

  it('a checkpoint older than the entries (a crash after it) is reconciled: new keys found, rewritten ones at their new embedding, deleted ones gone', async () => {
    const a = await openCache();
    await fill(a, N);
    await closeCache(a); // checkpoint of N entries

    // Writes after the checkpoint, none checkpointed (as if the server crashed).
    const b = await openCache({}, false);
    await fill(b, 30, 'new');
    const rewritten = new Map<string, number[]>();
    for (let i = 0; i < 40; i++) {
      const key = `k${i}`;
      const v = vec();
      rewritten.set(key, embeddings.get(key)!);
      embeddings.set(key, v);
      // Half at a later write time, half in the same millisecond (only the embedding's CRC differs).
      if (i % 2 === 0) clock++;
      await b.put({ key, value: `again ${i}`, embedding: v });
    }
    const deleted = new Map<string, number[]>();
    for (let i = 100; i < 130; i++) {
      deleted.set(`k${i}`, embeddings.get(`k${i}`)!);
      embeddings.delete(`k${i}`);
      expect(await b.delete(`k${i}`)).toBe(true);
    }
    await closeCache(b);
    expect(fs.existsSync(`${dir}/cache/hnsw-${DIM}.meta`)).toBe(true);

    const c = await openCache();
    expect(c.loadStats.sources.get(DIM)).toBe('checkpoint');
    expect(c.loadStats).toMatchObject({ restored: N - 40 - 30, inserted: 30 + 40, dropped: 40 + 30 });
    expect(c.stats().entries).toBe(embeddings.size);
    expect(c.stats().indexes[0]!.entries).toBe(embeddings.size);
    for (const [key, v] of embeddings) {
      const n = await nearest(c, v);
      expect(n.key).toBe(key);
      expect(n.score).toBeCloseTo(1, 5);
    }
    for (const [key, old] of rewritten) {
      const r = await c.query({ embedding: old, top_k: 5, threshold: -1 });
      expect(r.hits.find((h) => h.key === key && h.score > 0.99999)).toBeUndefined();
      expect((await c.query({ key })).hits[0]!.value).toMatch(/^again/);
    }
    for (const [key, old] of deleted) {
      const r = await c.query({ embedding: old, top_k: 10, threshold: -1 });
      expect(r.hits.map((h) => h.key)).not.toContain(key);
    }
    // The same answers as a graph rebuilt from the entries.
    const got = await answers(c, queries);
    await closeCache(c);
    const rebuilt = await openCache({}, false);
    expect(rebuilt.loadStats.sources.get(DIM)).toBe('rebuild');
    const want = await answers(rebuilt, queries);
    // Approximate graphs of different histories: compare the top hit exactly, the rest as sets mostly equal.
    expect(got.map((a) => a[0])).toEqual(want.map((a) => a[0]));
    let same = 0;
    for (let i = 0; i < got.length; i++) same += got[i]!.filter(([k]) => want[i]!.some(([w]) => w === k)).length;
    expect(same).toBeGreaterThanOrEqual(Math.floor(0.95 * 5 * queries.length));
  });

  it('a corrupt graph file or sidecar is ignored (warned) and the graph rebuilt with the same results', async () => {
    const a = await openCache();
    await fill(a, N);
    const before = await answers(a, queries);
    await closeCache(a);

    const bin = `${dir}/cache/hnsw-${DIM}.bin`;
    const data = fs.readFileSync(bin);
    data[data.length >> 1]! ^= 0xff;
    fs.writeFileSync(bin, data);
    const warn = vi.fn();
    const log = { warn, info: vi.fn(), error: vi.fn(), debug: vi.fn() } as unknown as Logger;
    const b = await openCache({ log });
    expect(b.loadStats.sources.get(DIM)).toBe('rebuild');
    expect(b.loadStats.inserted).toBe(N);
    expect(warn).toHaveBeenCalledWith('cache graph checkpoint unusable, rebuilding', expect.objectContaining({ dimension: DIM }));
    expect(await answers(b, queries)).toEqual(before);
    await closeCache(b); // writes a good checkpoint again

    const c = await openCache();
    expect(c.loadStats.sources.get(DIM)).toBe('checkpoint');
    await closeCache(c);

    // A sidecar of another format version.
    const meta = `${dir}/cache/hnsw-${DIM}.meta`;
    const m = fs.readFileSync(meta);
    m.writeUInt32LE(99, 4);
    fs.writeFileSync(meta, m);
    const d = await openCache({ log });
    expect(d.loadStats.sources.get(DIM)).toBe('rebuild');
    expect(await answers(d, queries)).toEqual(before);
  });

  it('clearing the cache removes the checkpoint at the next close', async () => {
    const a = await openCache();
    await fill(a, 50);
    await a.checkpoint();
    expect(fs.existsSync(`${dir}/cache/hnsw-${DIM}.meta`)).toBe(true);
    await a.clear();
    await closeCache(a);
    expect(fs.existsSync(`${dir}/cache/hnsw-${DIM}.meta`)).toBe(false);
    const b = await openCache();
    expect(b.stats().entries).toBe(0);
    expect(b.loadStats.sources.size).toBe(0);
  });
});
