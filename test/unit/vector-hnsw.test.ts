/**
 * The HNSW core of vector search (hnswlib-node): recall against brute force
 * for each metric, filtered search that returns k hits whenever k exist,
 * replacement and deletion reusing slots, growth, validation, and a graph
 * written and restored.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ThemisError } from '../../src/errors.js';
import { DEFAULT_HNSW, HnswIndex, checkVector, type VectorMetric } from '../../src/index/vector/hnsw-index.js';
import { prng } from '../helpers/random.js';

const DIM = 64;

/** `n` vectors around `clusters` random centres (Gaussian-ish noise), deterministic. */
function clustered(seed: number, n: number, clusters = 50): number[][] {
  const r = prng(seed);
  const gauss = () => (r() + r() + r() + r() - 2) * 0.5;
  const centres = Array.from({ length: clusters }, () => Array.from({ length: DIM }, () => r() * 2 - 1));
  return Array.from({ length: n }, (_, i) => centres[i % clusters]!.map((c) => c + gauss() * 0.3));
}

/** hnswlib's distances: L2 squared, IP 1 − dot, COSINE 1 − cos. */
function distance(metric: VectorMetric, a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let l2 = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    l2 += (a[i]! - b[i]!) ** 2;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return metric === 'L2' ? l2 : metric === 'IP' ? 1 - dot : 1 - dot / Math.sqrt(na * nb);
}

function exact(
  metric: VectorMetric,
  data: readonly number[][],
  q: readonly number[],
  k: number,
  accept: (i: number) => boolean = () => true,
): number[] {
  return data
    .map((v, i) => [i, distance(metric, v, q)] as const)
    .filter(([i]) => accept(i))
    .sort((a, b) => a[1] - b[1])
    .slice(0, k)
    .map(([i]) => i);
}

const build = (metric: VectorMetric, data: readonly number[][], capacity?: number) => {
  const h = new HnswIndex({ dimension: DIM, ...DEFAULT_HNSW, metric, ...(capacity !== undefined ? { capacity } : {}) });
  data.forEach((v, i) => {
    h.upsert(`v:${i}`, v);
  });
  return h;
};
const idx = (key: string) => Number(key.slice(2));

describe('HnswIndex', () => {
  // queries come from the same clusters as the data (not inserted)
  const all = clustered(1, 10_100);
  const data = all.slice(0, 10_000);
  const queries = all.slice(10_000);

  it.each(['COSINE', 'L2', 'IP'] as const)('recall@10 ≥ 0.95 at default settings (%s, 10,000 clustered vectors)', (metric) => {
    const h = build(metric, data);
    let found = 0;
    for (const q of queries) {
      const truth = new Set(exact(metric, data, q, 10));
      const got = h.search(q, 10);
      expect(got).toHaveLength(10);
      for (let i = 1; i < got.length; i++) expect(got[i]!.distance).toBeGreaterThanOrEqual(got[i - 1]!.distance);
      found += got.filter((g) => truth.has(idx(g.key))).length;
    }
    expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.95);
  });

  it('a filtered search returns exactly k hits that pass the filter whenever k exist (broad and selective filters)', () => {
    const h = build('L2', data.slice(0, 5000));
    for (const [name, accept] of [
      ['every 5th', (i: number) => i % 5 === 0],
      ['1 in 400', (i: number) => i % 400 === 7],
      ['12 keys', (i: number) => i < 12],
    ] as const) {
      for (const q of queries.slice(0, 10)) {
        const got = h.search(q, 10, (key) => accept(idx(key)));
        expect(got, name).toHaveLength(10);
        expect(
          got.every((g) => accept(idx(g.key))),
          name,
        ).toBe(true);
        const truth = new Set(exact('L2', data.slice(0, 5000), q, 10, accept));
        expect(got.filter((g) => truth.has(idx(g.key))).length, name).toBeGreaterThanOrEqual(9);
      }
    }
    // fewer than k pass: all of them
    expect(
      h
        .search(queries[0]!, 10, (key) => idx(key) < 3)
        .map((g) => idx(g.key))
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  it('replacing and deleting keys reuses slots; deleted keys are never returned', () => {
    const h = build('L2', data.slice(0, 1000), 1000);
    expect(h.capacity).toBe(1000);
    for (let i = 0; i < 500; i++) expect(h.remove(`v:${i}`)).toBe(true);
    expect(h.remove('v:0')).toBe(false);
    for (let i = 0; i < 500; i++) h.upsert(`w:${i}`, data[5000 + i]!);
    for (let i = 500; i < 600; i++) h.upsert(`v:${i}`, data[6000 + i]!); // replacements
    expect(h.capacity).toBe(1000);
    expect(h.size).toBe(1000);
    for (const q of queries.slice(0, 20)) {
      for (const g of h.search(q, 50)) expect(g.key.startsWith('w:') || idx(g.key) >= 500).toBe(true);
    }
    // a replaced key is found at its new place
    const hit = h.search(data[6550]!, 1)[0]!;
    expect(hit.key).toBe('v:550');
    expect(hit.distance).toBeCloseTo(0, 5);
  });

  it('grows past its capacity (doubling) without losing points', () => {
    const h = build('COSINE', data.slice(0, 2000), 16);
    expect(h.capacity).toBeGreaterThanOrEqual(2000);
    expect(h.size).toBe(2000);
    expect(h.search(data[1234]!, 1)[0]!.key).toBe('v:1234');
  });

  it('k larger than the index returns every point; an empty index returns nothing', () => {
    const h = build('IP', data.slice(0, 7));
    expect(h.search(queries[0]!, 100)).toHaveLength(7);
    expect(new HnswIndex({ dimension: DIM, ...DEFAULT_HNSW }).search(queries[0]!, 5)).toEqual([]);
  });

  it('checkVector refuses wrong dimensions, non-numbers, NaN/Infinity and the zero vector under COSINE', () => {
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return e instanceof ThemisError ? `${e.code} ${e.message}` : String(e);
      }
    };
    expect(code(() => checkVector([1, 2, 3], 3, 'L2'))).toBe('ok');
    expect(code(() => checkVector([1, 2], 3, 'L2'))).toMatch(/VALIDATION_FAILED .*2 dimensions; the index has 3/);
    expect(code(() => checkVector('x', 3, 'L2'))).toMatch(/VALIDATION_FAILED/);
    expect(code(() => checkVector([1, Number.NaN, 3], 3, 'L2'))).toMatch(/element 1 is not a finite number/);
    expect(code(() => checkVector([1, Number.POSITIVE_INFINITY, 3], 3, 'L2'))).toMatch(/element 1/);
    expect(code(() => checkVector([1, '2', 3], 3, 'L2'))).toMatch(/element 1/);
    expect(code(() => checkVector([0, 0, 0], 3, 'COSINE'))).toMatch(/zero vector/);
    expect(code(() => checkVector([0, 0, 0], 3, 'L2'))).toBe('ok');
  });

  it('a graph written and restored with its key map answers the same', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-hnsw-'));
    try {
      const h = build('COSINE', data.slice(0, 3000));
      for (let i = 0; i < 300; i++) h.remove(`v:${i}`);
      const file = path.join(dir, 'g.bin');
      h.writeGraph(file);
      const back = HnswIndex.restore(h.opts, file, h.labels());
      expect(back.size).toBe(2700);
      for (const q of queries.slice(0, 20)) expect(back.search(q, 10)).toEqual(h.search(q, 10));
      back.upsert('new', data[9000]!); // deleted slots are reused after the restore too
      expect(back.capacity).toBe(h.capacity);
      expect(back.search(data[9000]!, 1)[0]!.key).toBe('new');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Issue 13, bug 1: hnswlib restores an empty graph with capacity 0; doubling 0 called resizeIndex(0), whose
  // realloc(p, 0) freed the base layer while hnswlib kept the pointer ("Not enough memory: resizeIndex failed"),
  // and the graph's destructor later aborted the process with a double free.
  it('an empty graph restored from a checkpoint takes points (capacity 0 after hnswlib loadIndex is never doubled)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-hnsw-'));
    try {
      const file = path.join(dir, 'empty.bin');
      const empty = new HnswIndex({ ...DEFAULT_HNSW, metric: 'L2', dimension: 8, capacity: 1024 });
      empty.writeGraph(file);
      const back = HnswIndex.restore(empty.opts, file, []);
      expect(back.capacity).toBeGreaterThanOrEqual(16);
      const pts = data.slice(0, 40).map((v) => v.slice(0, 8));
      pts.forEach((v, i) => {
        back.upsert(`p:${i}`, v);
      });
      expect(back.size).toBe(40);
      expect(back.capacity).toBeGreaterThanOrEqual(40);
      expect(back.search(pts[7]!, 1)[0]!.key).toBe('p:7');
      // The same graph restored twice more (the checkpoint of an empty index is written at every start).
      back.writeGraph(file);
      expect(HnswIndex.restore(empty.opts, file, back.labels(), back.labelCounter).search(pts[3]!, 1)[0]!.key).toBe('p:3');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Issue 13 (found by the kill-cycle soak): hnswlib's in-place replacement repairs links locally, and heavy churn
  // can leave a point no link leads to; a search then misses it even with a beam over the whole graph.
  it('after heavy churn every point is found by its own vector when the beam covers the graph (exact answer)', () => {
    const r = prng(0x13c4);
    const h = new HnswIndex({ ...DEFAULT_HNSW, metric: 'L2', dimension: 8, capacity: 1024 });
    const live = new Map<string, number[]>();
    let missed = 0;
    for (let round = 0; round < 120; round++) {
      for (let op = 0; op < 300; op++) {
        const key = `c:${Math.floor(r() * 240)}`;
        if (r() < 0.4) {
          h.remove(key);
          live.delete(key);
        } else {
          const v = Array.from({ length: 8 }, () => Math.round(r() * 1000) / 1000);
          h.upsert(key, v);
          live.set(key, v);
        }
      }
      for (const [key, v] of live) {
        const hits = h.search(v, 3, undefined, 1000);
        if (!hits.some((x) => x.key === key) && !(hits[0]!.distance < 1e-9)) missed++;
      }
    }
    expect(h.size).toBe(live.size);
    expect(missed).toBe(0);
  });
});
