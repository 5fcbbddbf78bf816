import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BRUTE_FORCE_MAX, type CacheOptions, CacheService } from '../../src/cache/index.js';
import { HnswIndex } from '../../src/index/vector/hnsw-index.js';
import { Engine } from '../../src/storage/index.js';
import { tempDir } from '../helpers/inproc.js';
import { prng } from '../helpers/random.js';

/**
 * How the semantic cache answers a filtered search (docs/cache.md, "How a
 * filtered search runs"): directly when the filter leaves few entries, by an
 * over-fetched unfiltered walk when it leaves many, by the filter inside the
 * walk otherwise. Each way is checked against an exact answer computed here,
 * with expired entries present, and while a graph checkpoint is being
 * written (puts and deletes meanwhile are answered at once).
 */

const DIM = 12;
const T0 = Date.UTC(2025, 0, 1);
const rand = prng(0x19);
const vec = (): number[] => Array.from({ length: DIM }, () => rand() - 0.5);
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const cos = (a: number[], b: number[]) => {
  const x = unit(a);
  const y = unit(b);
  return x.reduce((s, v, i) => s + v * y[i]!, 0);
};

interface Row {
  key: string;
  v: number[];
  meta: Record<string, string | number>;
  expiresAt: number;
}

let dir: string;
let engine: Engine;
let clock: number;
let cache: CacheService;
const rows = new Map<string, Row>();

async function open(opts: Partial<CacheOptions> = {}): Promise<CacheService> {
  return CacheService.open(engine, {
    threshold: 0.9,
    defaultTtlSec: 0,
    maxEntries: 1_000_000,
    maxBytes: 1024 ** 3,
    now: () => clock,
    sweepMs: 0,
    ...opts,
  });
}

async function put(key: string, meta: Row['meta'], ttlSec?: number, v = vec()): Promise<void> {
  await cache.put({ key, value: key, embedding: v, metadata: meta, ...(ttlSec ? { ttl_sec: ttlSec } : {}) });
  rows.set(key, { key, v, meta, expiresAt: ttlSec ? clock + ttlSec * 1000 : Number.POSITIVE_INFINITY });
}

/** The exact answer: live rows matching `filter`, by cosine similarity, best first. */
function exact(q: number[], k: number, filter: Record<string, string | number | (string | number)[]>): [string, number][] {
  return [...rows.values()]
    .filter((r) => r.expiresAt > clock)
    .filter((r) => Object.entries(filter).every(([f, w]) => (Array.isArray(w) ? w.includes(r.meta[f]!) : r.meta[f] === w)))
    .map((r): [string, number] => [r.key, cos(q, r.v)])
    .sort((a, b) => b[1] - a[1])
    .slice(0, k);
}

async function search(q: number[], k: number, filter?: Record<string, string | number | (string | number)[]>) {
  const r = await cache.query({ embedding: q, top_k: k, threshold: -1, ...(filter ? { filter } : {}) });
  return r.hits.map((h): [string, number] => [h.key, h.score]);
}

/** Same keys in the same order (ties aside), scores equal to float32 precision. */
function expectSame(got: [string, number][], want: [string, number][]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(got[i]![1]).toBeCloseTo(want[i]![1], 5);
    if (Math.abs(want[i]![1] - (want[i + 1]?.[1] ?? -9)) > 1e-5 && Math.abs(want[i]![1] - (want[i - 1]?.[1] ?? -9)) > 1e-5)
      expect(got[i]![0]).toBe(want[i]![0]);
  }
}

beforeEach(async () => {
  dir = tempDir('themis-cache-search-');
  engine = await Engine.open(`${dir}/db`, { sync: false });
  clock = T0;
  rows.clear();
  cache = await open();
});

afterEach(async () => {
  await cache.close();
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** 4,500 entries: tenant `big` 2/3 of them (above BRUTE_FORCE_MAX), `small` 1/30, the rest `mid`. */
async function fill(): Promise<void> {
  for (let i = 0; i < 4500; i++) {
    const tenant = i % 30 === 0 ? 'small' : i % 3 === 0 ? 'mid' : 'big';
    await put(`k${i}`, { tenant, lang: i % 2 === 0 ? 'de' : 'en', n: i % 7 });
  }
}

describe('filtered semantic search', () => {
  it('compares directly when the filter leaves at most BRUTE_FORCE_MAX entries, and finds the exact nearest', async () => {
    await fill();
    const count = (t: string) => [...rows.values()].filter((r) => r.meta.tenant === t).length;
    expect(count('small') + count('mid')).toBeLessThanOrEqual(BRUTE_FORCE_MAX);
    expect(count('big')).toBeGreaterThan(BRUTE_FORCE_MAX);
    const before = cache.searches.direct;
    for (let i = 0; i < 20; i++) {
      const q = vec();
      expectSame(await search(q, 5, { tenant: 'small' }), exact(q, 5, { tenant: 'small' }));
      expectSame(await search(q, 3, { tenant: ['small', 'mid'], n: 3 }), exact(q, 3, { tenant: ['small', 'mid'], n: 3 }));
    }
    expect(cache.searches.direct - before).toBe(40);
    expect(cache.searches.filtered_walk).toBe(0);
  });

  it('over-fetches an unfiltered walk when the filter leaves many, returning only matching entries', async () => {
    await fill();
    let agree = 0;
    for (let i = 0; i < 40; i++) {
      const q = vec();
      const got = await search(q, 3, { tenant: 'big' });
      const want = exact(q, 3, { tenant: 'big' });
      expect(got).toHaveLength(3);
      for (const [k] of got) expect(rows.get(k)!.meta.tenant).toBe('big');
      // The walk is approximate: nearly always the exact top hit.
      if (got[0]![0] === want[0]![0]) agree++;
    }
    expect(agree).toBeGreaterThanOrEqual(38);
    expect(cache.searches.overfetch).toBeGreaterThanOrEqual(38);
    expect(cache.searches.overfetch + cache.searches.filtered_walk).toBe(40);
  });

  it('falls back to the filter inside the walk when the over-fetch finds too few (fields that exclude each other), still exact', async () => {
    // a=1 and b=1 each match half of the entries, both together only three.
    for (let i = 0; i < 2100; i++) await put(`ya${i}`, { a: 1, b: 2 });
    for (let i = 0; i < 2100; i++) await put(`yb${i}`, { a: 2, b: 1 });
    for (let i = 0; i < 3; i++) await put(`x${i}`, { a: 1, b: 1 });
    for (let i = 0; i < 10; i++) {
      const q = vec();
      expectSame(await search(q, 5, { a: 1, b: 1 }), exact(q, 5, { a: 1, b: 1 }));
    }
    expect(cache.searches.filtered_walk).toBe(10);
    expect(cache.searches.direct).toBe(0);
  });

  it('never returns an expired entry, whichever way it searches, before the sweep has removed it', async () => {
    for (let i = 0; i < 2500; i++) await put(`e${i}`, { tenant: i % 2 ? 'a' : 'b' }, i % 3 === 0 ? 10 : undefined);
    clock += 11_000; // a third expired, none swept
    for (let i = 0; i < 15; i++) {
      const q = vec();
      for (const filter of [undefined, { tenant: 'a' }, { tenant: ['a', 'b'] }]) {
        const got = await search(q, 4, filter);
        expect(got).toHaveLength(4);
        for (const [k] of got) expect(rows.get(k)!.expiresAt).toBeGreaterThan(clock);
        expect(got[0]![0]).toBe(exact(q, 1, filter ?? {})[0]![0]);
      }
    }
  });
});

describe('searches while a graph checkpoint is being written', () => {
  it('answers puts, rewrites and deletes made during the write at once, and keeps them in the graph afterwards', async () => {
    await cache.close();
    cache = await open({ checkpointDir: `${dir}/cache`, checkpointMs: 0 });
    for (let i = 0; i < 300; i++) await put(`k${i}`, { t: i % 2 });
    // Hold hnswlib's write open until the test lets it finish.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const writing = new Promise<void>((r) => {
      started = r;
    });
    const original = HnswIndex.prototype.writeGraphAsync;
    const spy = vi.spyOn(HnswIndex.prototype, 'writeGraphAsync').mockImplementation(async function (this: HnswIndex, file: string) {
      const before = JSON.stringify(this.labels());
      started();
      await gate;
      // Nothing changed the graph while hnswlib was (as far as it knows) writing it.
      expect(JSON.stringify(this.labels())).toBe(before);
      return original.call(this, file);
    });
    try {
      const cp = cache.checkpoint();
      await writing;
      // During the write: a new key, a rewritten one (another embedding, another tenant), a deleted one.
      const vNew = vec();
      const vRe = vec();
      await put('new', { t: 0 }, undefined, vNew);
      await put('k1', { t: 0 }, undefined, vRe);
      rows.delete('k2');
      expect(await cache.delete('k2')).toBe(true);
      const check = async () => {
        expect((await search(vNew, 1))[0]![0]).toBe('new');
        expect((await search(vRe, 1, { t: 0 }))[0]![0]).toBe('k1');
        expect((await search(vRe, 1, { t: 0 }))[0]![1]).toBeCloseTo(1, 5);
        for (let i = 0; i < 10; i++) {
          const q = vec();
          const got = await search(q, 5);
          expect(got.map(([k]) => k)).not.toContain('k2');
          expectSame(got.slice(0, 1), exact(q, 1, {}));
        }
      };
      await check();
      release();
      await cp;
      // After the write the held keys are in the graph: a plain (unheld) search finds them.
      await check();
      const byDim = cache.stats().indexes.find((i) => i.dimension === DIM)!;
      expect(byDim.entries).toBe(300); // 300 + new − k2
    } finally {
      spy.mockRestore();
    }
    // The checkpoint was cut before the changes: the next open reconciles them.
    await cache.close();
    cache = await open({ checkpointDir: `${dir}/cache`, checkpointMs: 0 });
    expect(cache.loadStats.sources.get(DIM)).toBe('checkpoint');
    for (let i = 0; i < 10; i++) {
      const q = vec();
      expectSame((await search(q, 3)).slice(0, 1), exact(q, 1, {}));
    }
    expect((await search(rows.get('new')!.v, 1))[0]![0]).toBe('new');
  });
});
