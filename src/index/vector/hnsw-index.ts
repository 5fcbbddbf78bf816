import { createRequire } from 'node:module';
import { ThemisError } from '../../errors.js';

// hnswlib-node is a CommonJS native addon (built by node-gyp at install).
const require = createRequire(import.meta.url);
type SpaceName = 'l2' | 'ip' | 'cosine';
interface NativeIndex {
  initIndex(o: { maxElements: number; m?: number; efConstruction?: number; randomSeed?: number; allowReplaceDeleted?: boolean }): void;
  readIndexSync(file: string, allowReplaceDeleted?: boolean): void;
  writeIndexSync(file: string): void;
  writeIndex(file: string): Promise<boolean>;
  resizeIndex(n: number): void;
  addPoint(p: number[] | Float32Array, label: number, replaceDeleted?: boolean): void;
  markDelete(label: number): void;
  searchKnn(q: number[] | Float32Array, k: number, filter?: (label: number) => boolean): { distances: number[]; neighbors: number[] };
  getPoint(label: number): number[];
  getMaxElements(): number;
  getCurrentCount(): number;
  setEf(ef: number): void;
  getEf(): number;
}
const { HierarchicalNSW } = require('hnswlib-node') as { HierarchicalNSW: new (space: SpaceName, dim: number) => NativeIndex };

export type VectorMetric = 'COSINE' | 'L2' | 'IP';
export const VECTOR_METRICS: readonly VectorMetric[] = ['COSINE', 'L2', 'IP'];
const SPACE: Record<VectorMetric, SpaceName> = { COSINE: 'cosine', L2: 'l2', IP: 'ip' };

export const MAX_DIMENSION = 65_536;
/** Smallest capacity of a graph (also the floor after a restore and for growth). */
const MIN_CAPACITY = 16;
export const MAX_K = 10_000;

export interface HnswOptions {
  dimension: number;
  metric: VectorMetric;
  /** Graph degree (hnswlib M). */
  M: number;
  efConstruction: number;
  efSearch: number;
  /** Initial capacity; the index grows (doubling) when full. */
  capacity?: number;
}

export const DEFAULT_HNSW = { metric: 'COSINE' as VectorMetric, M: 16, efConstruction: 200, efSearch: 64 };

export interface VectorHit {
  key: string;
  /** hnswlib's distance: COSINE 1 − cos, L2 squared Euclidean, IP 1 − dot. */
  distance: number;
}

/** Largest squared length a vector may have: distances (squared differences, dot products) then stay finite in float32. */
export const MAX_SQUARED_NORM = 1e37;

/**
 * A vector as hnswlib takes it: `dimension` finite numbers whose squared
 * length is at most MAX_SQUARED_NORM (hnswlib computes in float32), not all
 * zero for COSINE; otherwise a 400 naming the problem.
 */
export function checkVector(v: unknown, dimension: number, metric: VectorMetric, field = 'vector'): number[] {
  const bad = (message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });
  if (!Array.isArray(v)) throw bad(`field "${field}" must be an array of numbers`);
  if (v.length !== dimension) throw bad(`field "${field}" has ${v.length} dimensions; the index has ${dimension}`);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(`field "${field}" element ${i} is not a finite number`);
    norm += x * x;
  }
  if (!(norm <= MAX_SQUARED_NORM))
    throw bad(
      `field "${field}" is too long (squared length ${norm.toPrecision(3)}; at most 1e37, so that distances stay finite in float32)`,
    );
  if (metric === 'COSINE' && norm === 0) throw bad(`field "${field}" is the zero vector, which has no direction (metric COSINE)`);
  return v as number[];
}

/**
 * One HNSW graph (hnswlib) with entity keys as identities. A key's vector
 * lives under a numeric label; replacing or deleting it marks the label
 * deleted, and new points take over deleted slots (allowReplaceDeleted), so
 * churn does not grow the graph. Capacity doubles when full.
 *
 * Search with a filter runs the filter inside the graph walk (hnswlib's
 * filter callback). A walk can end with fewer than k hits when the filter
 * is selective; the search is then repeated with a wider beam, and as a last
 * resort answered exactly by brute force over the points that pass the
 * filter, so a filtered search returns k hits whenever k exist.
 */
export class HnswIndex {
  private native: NativeIndex;
  private readonly labelOf = new Map<string, number>();
  private readonly keyOf = new Map<number, string>();
  private nextLabel = 0;
  private deleted = 0;
  private ef: number;

  constructor(readonly opts: HnswOptions) {
    this.native = new HierarchicalNSW(SPACE[opts.metric], opts.dimension);
    this.native.initIndex({
      maxElements: Math.max(MIN_CAPACITY, opts.capacity ?? 1024),
      m: opts.M,
      efConstruction: opts.efConstruction,
      randomSeed: 100,
      allowReplaceDeleted: true,
    });
    this.ef = opts.efSearch;
    this.native.setEf(this.ef);
  }

  get size(): number {
    return this.labelOf.size;
  }

  /** Slots in use, deleted ones included. */
  get capacityUsed(): number {
    return this.native.getCurrentCount();
  }

  keyMap(): ReadonlyMap<string, number> {
    return this.labelOf;
  }

  get capacity(): number {
    return this.native.getMaxElements();
  }

  get efSearch(): number {
    return this.ef;
  }

  set efSearch(ef: number) {
    this.ef = ef;
    this.native.setEf(ef);
  }

  has(key: string): boolean {
    return this.labelOf.has(key);
  }

  /** Add or replace the vector of `key` (checked by the caller with checkVector). */
  upsert(key: string, vector: readonly number[]): void {
    const old = this.labelOf.get(key);
    if (old !== undefined) this.dropLabel(key, old);
    // A deleted slot is reused when one exists; otherwise the graph needs room for one more point.
    if (this.deleted === 0 && this.native.getCurrentCount() >= this.native.getMaxElements()) this.grow();
    const label = this.nextLabel++;
    this.native.addPoint(vector as number[], label, this.deleted > 0);
    if (this.deleted > 0) this.deleted--;
    this.labelOf.set(key, label);
    this.keyOf.set(label, key);
  }

  /**
   * Double the capacity (at least MIN_CAPACITY). Never resize to 0: hnswlib's
   * resizeIndex reallocs its base layer, and realloc(p, 0) frees p and
   * returns NULL, which hnswlib reports as out of memory while keeping the
   * freed pointer — its destructor then frees it again (issue 13: the
   * `double free` after a kill -9 restart, when an empty graph restored from
   * a checkpoint had capacity 0).
   */
  private grow(): void {
    this.native.resizeIndex(Math.max(MIN_CAPACITY, this.native.getMaxElements() * 2));
  }

  remove(key: string): boolean {
    const label = this.labelOf.get(key);
    if (label === undefined) return false;
    this.dropLabel(key, label);
    return true;
  }

  private dropLabel(key: string, label: number): void {
    this.native.markDelete(label);
    this.deleted++;
    this.labelOf.delete(key);
    this.keyOf.delete(label);
  }

  /** The stored vector of `key` (normalised for COSINE, as hnswlib keeps it), or undefined. */
  vectorOf(key: string): number[] | undefined {
    const label = this.labelOf.get(key);
    return label === undefined ? undefined : this.native.getPoint(label);
  }

  /** The k nearest keys, nearest first; with `filter`, only keys it accepts (k of them whenever k exist). */
  search(vector: readonly number[], k: number, filter?: (key: string) => boolean, efSearch?: number): VectorHit[] {
    const want = Math.min(k, this.size);
    if (want === 0) return [];
    const q = vector as number[];
    const base = efSearch ?? this.ef;
    // A beam as wide as the graph would visit every reachable point anyway: answer exactly instead. Churn
    // (points replaced in deleted slots) can leave a point that no link leads to — hnswlib's repair after a
    // replacement is local — and then even a beam over the whole graph misses it; the exact answer cannot.
    if (Math.max(base, k) >= this.native.getCurrentCount()) return this.exact(q, want, filter ?? (() => true));
    if (!filter) return this.walk(q, want, Math.max(base, want));
    const byLabel = (label: number) => {
      const key = this.keyOf.get(label);
      return key !== undefined && filter(key);
    };
    const count = this.native.getCurrentCount();
    for (let ef = Math.max(base, k); ; ef *= 4) {
      const hits = this.walk(q, want, Math.min(ef, count), byLabel);
      if (hits.length >= want) return hits;
      if (ef >= count || ef >= 16 * Math.max(base, k)) break;
    }
    return this.exact(q, want, filter);
  }

  private walk(q: number[], k: number, ef: number, filter?: (label: number) => boolean): VectorHit[] {
    const beam = Math.max(ef, k);
    // The native ef is the index's except during a walk with another beam (restored at once).
    if (beam !== this.ef) this.native.setEf(beam);
    try {
      const r = this.native.searchKnn(q, Math.min(k, this.native.getMaxElements()), filter);
      const out: VectorHit[] = new Array(r.neighbors.length);
      let n = 0;
      for (let i = 0; i < r.neighbors.length; i++) {
        const key = this.keyOf.get(r.neighbors[i]!);
        if (key !== undefined) out[n++] = { key, distance: r.distances[i]! };
      }
      out.length = n;
      return out;
    } finally {
      if (beam !== this.ef) this.native.setEf(this.ef);
    }
  }

  /** Exact k nearest among the keys `filter` accepts, with hnswlib's distance of the metric. */
  private exact(q: readonly number[], k: number, filter: (key: string) => boolean): VectorHit[] {
    let query = q;
    if (this.opts.metric === 'COSINE') {
      const n = Math.sqrt(q.reduce((s, x) => s + x * x, 0));
      query = q.map((x) => x / n);
    }
    const hits: VectorHit[] = [];
    for (const [key, label] of this.labelOf) {
      if (!filter(key)) continue;
      const p = this.native.getPoint(label);
      let d = 0;
      if (this.opts.metric === 'L2') for (let i = 0; i < p.length; i++) d += (p[i]! - query[i]!) ** 2;
      else {
        let dot = 0;
        for (let i = 0; i < p.length; i++) dot += p[i]! * query[i]!;
        d = 1 - dot;
      }
      hits.push({ key, distance: d });
    }
    return hits.sort((a, b) => a.distance - b.distance || (a.key < b.key ? -1 : 1)).slice(0, k);
  }

  /** Write the graph (hnswlib's format) to `file`; the key/label map goes with it (see save in the vector manager). */
  writeGraph(file: string): void {
    this.native.writeIndexSync(file);
  }

  /**
   * writeGraph on a libuv thread. The caller must not change the graph
   * (upsert, remove) until the promise settles; searches may go on (hnswlib
   * only reads the graph while writing it).
   */
  async writeGraphAsync(file: string): Promise<void> {
    await this.native.writeIndex(file);
  }

  labels(): [string, number][] {
    return [...this.labelOf];
  }

  /** The next label to hand out: above every label ever used (deleted slots still carry theirs). */
  get labelCounter(): number {
    return this.nextLabel;
  }

  /** Restore a graph written by writeGraph with its key/label map and label counter. */
  static restore(opts: HnswOptions, file: string, labels: readonly [string, number][], labelCounter = 0): HnswIndex {
    const h = new HnswIndex({ ...opts, capacity: MIN_CAPACITY });
    // A fresh native object: hnswlib-node's readIndexSync deletes the object's current index before loading
    // and keeps the dangling pointer when the load throws, so it must never be called on an initialised one.
    h.native = new HierarchicalNSW(SPACE[opts.metric], opts.dimension);
    h.native.readIndexSync(file, true);
    // hnswlib's loadIndex keeps the saved capacity only when the file holds points: an empty graph comes back
    // with capacity 0. Give it room now rather than leave growth to find the 0 (see grow()).
    if (h.native.getMaxElements() < MIN_CAPACITY) h.native.resizeIndex(Math.max(MIN_CAPACITY, h.native.getCurrentCount()));
    h.native.setEf(h.ef);
    for (const [key, label] of labels) {
      h.labelOf.set(key, label);
      h.keyOf.set(label, key);
      if (label >= h.nextLabel) h.nextLabel = label + 1;
    }
    h.nextLabel = Math.max(h.nextLabel, labelCounter);
    h.deleted = h.native.getCurrentCount() - labels.length;
    if (h.deleted < 0) throw new Error('vector checkpoint lists more keys than its graph holds');
    return h;
  }
}
