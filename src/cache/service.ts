import type { components } from '../api/types.js';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { ThemisError } from '../errors.js';
import { CheckpointReader, CheckpointWriter, writeCheckpointFile } from '../index/checkpoint-io.js';
import type { BackupTarget } from '../kernel/index.js';
import { DEFAULT_HNSW, HnswIndex, checkVector } from '../index/vector/hnsw-index.js';
import type { Logger } from '../log.js';
import { HistogramSeries } from '../metrics.js';
import { type Engine, keyspace, WriteBatch } from '../storage/index.js';
import { type CacheRecord, decodeRecord, ENTRY_PREFIX, encodeRecord, entryKey, keyOfEntry, type Metadata } from './record.js';
import { type Filter, MetadataPostings, matches } from './postings.js';
import { dot, normalize, TopK } from './vectors.js';
import { ExpiryHeap, HitWindow } from './window.js';

const ks = keyspace('cache');

/** Buckets of the nearest neighbour's similarity histogram (themis_cache_similarity). */
export const SIMILARITY_BUCKETS = [0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 1];
/** Most deletes per commit of the expiry sweep, an invalidation or an eviction at start. */
const DELETE_BATCH = 1000;
export const MAX_TOP_K = 100;
/**
 * A filter matching at most this many entries is answered by comparing the
 * query with each of them (exact, ~1 µs per 384-d entry) instead of a graph
 * walk that would have to pass over the entries it excludes.
 */
export const BRUTE_FORCE_MAX = 2048;
/**
 * Largest over-fetch: a filter (or expiry) is applied to the nearest `k'`
 * entries of an unfiltered walk, where `k'` is three times k over the
 * filter's share of the entries (at least the beam width); beyond this
 * `k'` the walk runs with the filter inside it instead.
 */
export const OVERFETCH_MAX = 256;

export interface CacheOptions {
  /** Default similarity threshold of a semantic query (THEMIS_CACHE_THRESHOLD). */
  threshold: number;
  /** TTL of an entry put without `ttl_sec` (seconds; 0: none). */
  defaultTtlSec: number;
  maxEntries: number;
  /** Most bytes of keys, values, prompts, metadata and embeddings (the stored records). */
  maxBytes: number;
  /** The clock (epoch ms); tests pass a fake one. */
  now?: () => number;
  /** How often expired entries are removed in the background (ms; 0: never, tests call sweep()). */
  sweepMs?: number;
  /**
   * Directory of the HNSW graph checkpoints (`<dataDir>/cache`); none: every
   * start rebuilds the graphs from the stored embeddings.
   */
  checkpointDir?: string;
  /** How often changed graphs are checkpointed in the background (ms; 0: only at close). */
  checkpointMs?: number;
  log?: Logger;
}

/** Sidecar of a graph checkpoint: magic 'TCHK', format version. */
const CKPT_MAGIC = 0x4b484354;
const CKPT_VERSION = 1;

/** What the checkpoint says of one key: its graph label and the record it was taken from. */
interface CheckpointKey {
  label: number;
  writtenAt: number;
  crc: number;
}

/** CRC-32 of an embedding's float32 bytes (tells a rewrite with the same `w` but another vector). */
function vectorCrc(v: Float32Array): number {
  return zlib.crc32(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

type Schemas = components['schemas'];
export type CachePut = Schemas['CachePutRequest'];
export type CacheQuery = Schemas['CacheQueryRequest'];
export type CacheFilter = Schemas['CacheFilter'];

export interface CacheHit {
  key: string;
  value: unknown;
  score: number;
  metadata: Metadata;
  prompt?: string;
  expires_at: string | null;
}

export interface CacheQueryResult {
  hit: boolean;
  hits: CacheHit[];
  /** How the answer was found: `exact` (by key), `semantic`, or null on a miss. */
  match: 'exact' | 'semantic' | null;
  /** Similarity of the nearest entry the search saw (also below the threshold; null: no candidate, or an exact lookup). */
  nearest_score: number | null;
  threshold: number | null;
}

/** What the cache keeps in memory of an entry (the value stays in storage). */
interface Entry {
  /** Embedding dimension (0: none). */
  dim: number;
  /** The embedding scaled to length 1 (compared directly when a filter leaves few candidates). */
  vec: Float32Array | undefined;
  /**
   * The graph holds this entry's embedding. False while a put waits for the
   * graph's checkpoint write to end: the search then compares it directly.
   */
  inGraph: boolean;
  meta: Metadata | undefined;
  /** Epoch ms; +Infinity: never. */
  expiresAt: number;
  bytes: number;
  writtenAt: number;
  /** CRC-32 of the embedding (0: none); with writtenAt, what a graph checkpoint's entry is checked against. */
  crc: number;
}

const iso = (ms: number): string | null => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/**
 * The semantic cache (docs/cache.md): entries in the `cache` keyspace, their
 * embeddings in one HNSW graph per dimension, LRU order, expiry times and
 * metadata in memory (so the search's filter predicate needs no read).
 * Writes update memory at once and are durable when the call returns;
 * records of writes still being committed are answered from `pending`.
 */
export class CacheService {
  private readonly entries = new Map<string, Entry>();
  private readonly indexes = new Map<number, HnswIndex>();
  private readonly postings = new MetadataPostings();
  /**
   * Dimensions whose graph is being written to its checkpoint (on a libuv
   * thread, while searches go on): keys whose graph point must change wait
   * here and are applied when the write ends.
   */
  private readonly held = new Map<number, Set<string>>();
  /** Records of writes not yet committed (null: a delete). */
  private readonly pending = new Map<string, Buffer | null>();
  private readonly expiry = new ExpiryHeap();
  private readonly window = new HitWindow();
  readonly similarity = new HistogramSeries({}, SIMILARITY_BUCKETS);
  private readonly now: () => number;
  private bytes = 0;
  /** Entries with an expiry time (the search needs a predicate while there are any). */
  private expiring = 0;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private closed = false;
  /** Dimensions whose graph changed since its checkpoint (or that have none yet). */
  private readonly dirty = new Set<number>();
  /** Dimensions with a checkpoint on disk. */
  private readonly checkpointed = new Set<number>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointing: Promise<void> | undefined;
  /** How the last open got each dimension's graph, and how many points it (re)inserted or dropped (tests, logs). */
  readonly loadStats = {
    /** Dimension -> 'checkpoint' (restored and reconciled) or 'rebuild'. */
    sources: new Map<number, 'checkpoint' | 'rebuild'>(),
    /** Points kept from checkpoints as they were. */
    restored: 0,
    /** Points inserted: every point of a rebuilt graph, and keys new or rewritten since a checkpoint. */
    inserted: 0,
    /** Checkpoint points dropped: their key is gone or was rewritten. */
    dropped: 0,
  };
  readonly counters = { hits: 0, misses: 0, lookups: 0, evictions: 0, expired: 0, puts: 0 };
  /** Semantic searches by how they were answered (see nearest). */
  readonly searches = { graph: 0, direct: 0, overfetch: 0, filtered_walk: 0 };

  private constructor(
    private readonly engine: Engine,
    readonly opts: CacheOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Load every entry (LRU order: by last write), rebuild the HNSW graphs, drop what expired while down. */
  static async open(engine: Engine, opts: CacheOptions): Promise<CacheService> {
    const s = new CacheService(engine, opts);
    await s.load();
    const every = opts.sweepMs ?? 1000;
    if (every > 0) {
      s.timer = setInterval(() => void s.sweep().catch((e) => opts.log?.warn('cache expiry sweep failed', { error: String(e) })), every);
      s.timer.unref();
    }
    const cp = opts.checkpointMs ?? 0;
    if (opts.checkpointDir && cp > 0) {
      s.checkpointTimer = setInterval(
        () => void s.checkpoint().catch((e) => opts.log?.warn('cache checkpoint failed', { error: String(e) })),
        cp,
      );
      s.checkpointTimer.unref();
    }
    return s;
  }

  private async load(): Promise<void> {
    const now = this.now();
    const loaded: { key: string; rec: CacheRecord; bytes: number }[] = [];
    let expired = new WriteBatch();
    const prefix = Buffer.of(ENTRY_PREFIX);
    for await (const chunk of this.engine.scanChunks(ks, { gte: prefix, lt: Buffer.of(ENTRY_PREFIX + 1) })) {
      for (const [k, v] of chunk) {
        const key = keyOfEntry(k);
        const rec = decodeRecord(v);
        if (rec.expiresAt !== null && rec.expiresAt <= now) {
          expired.del(ks, k);
          this.counters.expired++;
          if (expired.length >= DELETE_BATCH) {
            await this.engine.commit(expired);
            expired = new WriteBatch();
          }
          continue;
        }
        loaded.push({ key, rec, bytes: Buffer.byteLength(key) + v.length });
      }
    }
    await this.engine.commit(expired);
    loaded.sort((a, b) => a.rec.writtenAt - b.rec.writtenAt);
    const perDim = new Map<number, number>();
    for (const l of loaded) if (l.rec.embedding) perDim.set(l.rec.embedding.length, (perDim.get(l.rec.embedding.length) ?? 0) + 1);
    const restored = new Map<number, Map<string, CheckpointKey>>();
    for (const dim of this.checkpointFiles()) {
      this.checkpointed.add(dim);
      if (!perDim.has(dim)) {
        this.dirty.add(dim); // no entries of this dimension left: the next checkpoint deletes its files
        continue;
      }
      const r = await this.readCheckpoint(dim);
      if (r) {
        this.indexes.set(dim, r.index);
        restored.set(dim, r.keys);
        this.loadStats.sources.set(dim, 'checkpoint');
      } else this.dirty.add(dim);
    }
    for (const [dim, n] of perDim) {
      if (this.indexes.has(dim)) continue;
      this.indexes.set(dim, new HnswIndex({ ...DEFAULT_HNSW, dimension: dim, capacity: n }));
      this.loadStats.sources.set(dim, 'rebuild');
      this.dirty.add(dim);
    }
    for (const { key, rec, bytes } of loaded) {
      const e: Entry = {
        dim: rec.embedding?.length ?? 0,
        vec: undefined,
        inGraph: rec.embedding !== undefined,
        meta: rec.metadata,
        expiresAt: rec.expiresAt ?? Number.POSITIVE_INFINITY,
        bytes,
        writtenAt: rec.writtenAt,
        // The CRC is of the embedding as stored; then the decoded copy (this entry's own) is scaled in place.
        crc: rec.embedding ? vectorCrc(rec.embedding) : 0,
      };
      if (rec.embedding) e.vec = normalize(rec.embedding);
      this.entries.set(key, e);
      this.postings.add(key, e.meta);
      this.bytes += bytes;
      if (rec.embedding) {
        const keys = restored.get(e.dim);
        const had = keys?.get(key);
        if (keys && had) keys.delete(key);
        if (had && had.writtenAt === e.writtenAt && had.crc === e.crc) this.loadStats.restored++;
        else {
          // New since the checkpoint or rewritten after it (upsert drops the old label); a rebuild inserts all.
          this.indexes.get(e.dim)!.upsert(key, Array.from(e.vec!));
          this.loadStats.inserted++;
          if (had) this.loadStats.dropped++;
          if (keys) this.dirty.add(e.dim);
        }
      }
      if (rec.expiresAt !== null) {
        this.expiring++;
        this.expiry.push(rec.expiresAt, key);
      }
    }
    // Checkpoint points whose key is gone (deleted, expired, evicted after the checkpoint was taken).
    for (const [dim, keys] of restored) {
      const idx = this.indexes.get(dim)!;
      for (const key of keys.keys()) {
        idx.remove(key);
        this.loadStats.dropped++;
        this.dirty.add(dim);
      }
    }
    // The limits may have been lowered since the entries were written.
    let batch = new WriteBatch();
    while (this.overLimit()) {
      this.evictOldest(batch);
      if (batch.length >= DELETE_BATCH) {
        await this.engine.commit(batch);
        batch = new WriteBatch();
      }
    }
    await this.engine.commit(batch);
    this.pending.clear();
  }

  // ------------------------------------------------------------------ writes

  async put(req: CachePut): Promise<{ success: true; key: string; expires_at: string | null }> {
    this.assertOpen();
    const now = this.now();
    let embedding: Float32Array | undefined;
    if (req.embedding !== undefined) embedding = Float32Array.from(checkVector(req.embedding, req.embedding.length, 'COSINE', 'embedding'));
    const ttl = req.ttl_sec ?? this.opts.defaultTtlSec;
    const expiresAt = ttl > 0 ? now + ttl * 1000 : Number.POSITIVE_INFINITY;
    const rec: CacheRecord = { value: req.value, expiresAt: Number.isFinite(expiresAt) ? expiresAt : null, writtenAt: now };
    if (req.prompt !== undefined) rec.prompt = req.prompt;
    if (req.metadata !== undefined) rec.metadata = req.metadata;
    if (embedding) rec.embedding = embedding;
    const record = encodeRecord(rec);
    const bytes = Buffer.byteLength(req.key) + record.length;
    if (bytes > this.opts.maxBytes)
      throw new ThemisError(
        'PAYLOAD_TOO_LARGE',
        `the entry takes ${bytes} bytes; the cache holds at most ${this.opts.maxBytes} (THEMIS_CACHE_MAX_BYTES)`,
        { details: { field: 'value' } },
      );
    const batch = new WriteBatch();
    this.drop(req.key);
    const e: Entry = {
      dim: embedding?.length ?? 0,
      vec: undefined,
      inGraph: false,
      meta: req.metadata,
      expiresAt,
      bytes,
      writtenAt: now,
      crc: embedding ? vectorCrc(embedding) : 0,
    };
    // After the record and the CRC took the embedding as given: the entry keeps it scaled to length 1.
    if (embedding) e.vec = normalize(embedding);
    this.entries.set(req.key, e);
    this.postings.add(req.key, e.meta);
    this.bytes += bytes;
    if (embedding) {
      if (!this.indexes.has(e.dim)) this.indexes.set(e.dim, new HnswIndex({ ...DEFAULT_HNSW, dimension: e.dim, capacity: 1024 }));
      this.place(req.key, e);
    }
    if (Number.isFinite(expiresAt)) {
      this.expiring++;
      this.expiry.push(expiresAt, req.key);
    }
    const k = entryKey(req.key);
    batch.put(ks, k, record);
    this.pending.set(req.key, record);
    while (this.overLimit()) this.evictOldest(batch);
    this.counters.puts++;
    await this.commit(batch);
    return { success: true, key: req.key, expires_at: iso(expiresAt) };
  }

  /** Remove one entry; false when there is none (an expired one counts as none). */
  async delete(key: string): Promise<boolean> {
    this.assertOpen();
    const e = this.entries.get(key);
    if (!e) return false;
    const live = e.expiresAt > this.now();
    const batch = new WriteBatch();
    this.remove(key, batch);
    await this.commit(batch);
    return live;
  }

  /** Remove every entry whose metadata matches `filter` (equality; an array: any of). */
  async invalidate(filter: CacheFilter): Promise<number> {
    this.assertOpen();
    const keys: string[] = [];
    const pool = this.postings.candidates(filter)?.keys() ?? this.entries.keys();
    for (const key of pool) if (matches(filter, this.entries.get(key)?.meta)) keys.push(key);
    await this.removeAll(keys);
    return keys.length;
  }

  /** Remove everything. */
  async clear(): Promise<number> {
    this.assertOpen();
    const n = this.entries.size;
    await this.removeAll([...this.entries.keys()]);
    return n;
  }

  /** Remove the entries that expired (in batches); the timer calls it, tests too. */
  sweep(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.sweeping ??= this.sweepNow().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepNow(): Promise<void> {
    for (;;) {
      const now = this.now();
      const batch = new WriteBatch();
      while (batch.length < DELETE_BATCH && this.expiry.peekTime() <= now) {
        const [at, key] = this.expiry.pop()!;
        const e = this.entries.get(key);
        if (!e || e.expiresAt !== at) continue;
        this.remove(key, batch);
        this.counters.expired++;
      }
      // Pairs of replaced entries pile up in the heap when keys are rewritten: rebuild it when mostly stale.
      if (this.expiry.size > 2 * this.expiring + 1024) {
        this.expiry.clear();
        for (const [key, e] of this.entries) if (Number.isFinite(e.expiresAt)) this.expiry.push(e.expiresAt, key);
      }
      if (batch.length === 0 || this.closed) return;
      await this.commit(batch);
    }
  }

  private async removeAll(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = new WriteBatch();
      for (const key of keys.slice(i, i + DELETE_BATCH)) if (this.entries.has(key)) this.remove(key, batch);
      await this.commit(batch);
    }
  }

  private overLimit(): boolean {
    return this.entries.size > this.opts.maxEntries || this.bytes > this.opts.maxBytes;
  }

  /** Evict the least recently used entry (the first of the Map). */
  private evictOldest(batch: WriteBatch): void {
    const oldest = this.entries.keys().next();
    if (oldest.done) return;
    this.remove(oldest.value, batch);
    this.counters.evictions++;
  }

  /** Forget `key` in memory and add its delete to `batch`. */
  private remove(key: string, batch: WriteBatch): void {
    this.drop(key);
    batch.del(ks, entryKey(key));
    this.pending.set(key, null);
  }

  /** Forget `key` in memory: entry, metadata postings, graph point, byte count. */
  private drop(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.postings.remove(key, old.meta);
    this.bytes -= old.bytes;
    if (Number.isFinite(old.expiresAt)) this.expiring--;
    if (old.dim > 0) {
      this.dirty.add(old.dim);
      const held = this.held.get(old.dim);
      if (held) held.add(key);
      else this.unplace(old.dim, key);
    }
  }

  /** Put the embedding of entry `e` (under `key`) into its dimension's graph, or hold it while the graph is being written. */
  private place(key: string, e: Entry): void {
    this.dirty.add(e.dim);
    const held = this.held.get(e.dim);
    if (held) {
      held.add(key);
      e.inGraph = false;
      return;
    }
    this.indexes.get(e.dim)!.upsert(key, Array.from(e.vec!)); // hnswlib-node takes plain arrays only
    e.inGraph = true;
  }

  private unplace(dim: number, key: string): void {
    const idx = this.indexes.get(dim)!;
    idx.remove(key);
    if (idx.size === 0) this.indexes.delete(dim);
  }

  /** The graph write of `dim` ended: bring its points in line with the entries of the keys changed meanwhile. */
  private release(dim: number): void {
    const keys = this.held.get(dim);
    this.held.delete(dim);
    if (!keys) return;
    for (const key of keys) {
      const e = this.entries.get(key);
      if (e?.dim === dim) {
        if (!e.inGraph) this.place(key, e);
      } else if (this.indexes.get(dim)?.has(key)) this.unplace(dim, key);
    }
  }

  /** Commit `batch`; afterwards the records it wrote are read from storage again (unless a later write is pending). */
  private async commit(batch: WriteBatch): Promise<void> {
    const mine: [string, Buffer | null | undefined][] = batch.ops.map((op) => {
      const key = keyOfEntry(ks.strip(op.key));
      return [key, this.pending.get(key)];
    });
    try {
      await this.engine.commit(batch);
    } finally {
      for (const [key, rec] of mine) if (rec !== undefined && this.pending.get(key) === rec) this.pending.delete(key);
    }
  }

  // ------------------------------------------------------------------ reads

  async query(req: CacheQuery): Promise<CacheQueryResult> {
    this.assertOpen();
    if (req.key === undefined && req.embedding === undefined)
      throw new ThemisError('VALIDATION_FAILED', 'a cache query needs "key" (exact lookup) or "embedding" (semantic lookup)', {
        details: { field: 'embedding' },
      });
    const now = this.now();
    let result: CacheQueryResult | undefined;
    if (req.key !== undefined) {
      const e = this.entries.get(req.key);
      const hit =
        e !== undefined && e.expiresAt > now && (req.filter === undefined || matches(req.filter, e.meta))
          ? await this.hitOf(req.key, 1)
          : undefined;
      if (hit) {
        this.touch(req.key);
        result = { hit: true, hits: [hit], match: 'exact', nearest_score: null, threshold: null };
      }
    }
    if (!result && req.embedding !== undefined) result = await this.semantic(req, now);
    result ??= { hit: false, hits: [], match: null, nearest_score: null, threshold: null };
    this.counters.lookups++;
    if (result.hit) this.counters.hits++;
    else this.counters.misses++;
    this.window.record(now, result.hit);
    return result;
  }

  private async semantic(req: CacheQuery, now: number): Promise<CacheQueryResult> {
    const q = checkVector(req.embedding, req.embedding!.length, 'COSINE', 'embedding');
    const threshold = req.threshold ?? this.opts.threshold;
    const topK = Math.min(req.top_k ?? 1, MAX_TOP_K);
    const miss: CacheQueryResult = { hit: false, hits: [], match: null, nearest_score: null, threshold };
    const found = this.nearest(q, topK, req.filter, now);
    if (found.length === 0) return miss;
    const nearest = found[0]!.score;
    this.similarity.observe(nearest);
    const hits: CacheHit[] = [];
    for (const f of found) {
      if (f.score < threshold) break;
      const h = await this.hitOf(f.key, f.score);
      if (h) hits.push(h);
    }
    for (const h of hits) this.touch(h.key);
    return { hit: hits.length > 0, hits, match: hits.length > 0 ? 'semantic' : null, nearest_score: nearest, threshold };
  }

  /**
   * The `k` live entries nearest to `q` that `filter` accepts, best first,
   * by cosine similarity. Three ways, by how much the filter leaves
   * (docs/cache.md): few candidates are compared directly; otherwise the
   * filter (and expiry) is applied to an over-fetched unfiltered walk,
   * which holds the k nearest accepted entries whenever k of them are among
   * it; else the walk runs with the filter inside it (hnswlib's callback,
   * ~1.5 µs per visited point).
   */
  nearest(query: readonly number[], k: number, filter: Filter | undefined, now: number): { key: string; score: number }[] {
    const dim = query.length;
    const idx = this.indexes.get(dim);
    if (!idx) return [];
    const q = normalize(Float32Array.from(query));
    const top = new TopK(k);
    const live = (e: Entry | undefined): e is Entry =>
      e !== undefined && e.dim === dim && e.expiresAt > now && (filter === undefined || matches(filter, e.meta));
    const candidates = filter && this.postings.candidates(filter);
    if (candidates && candidates.size <= BRUTE_FORCE_MAX) {
      this.searches.direct++;
      for (const key of candidates.keys()) {
        const e = this.entries.get(key);
        if (live(e)) top.offer(key, dot(q, e.vec!));
      }
      return top.result();
    }
    // Entries whose graph point waits for the end of a checkpoint write are compared directly.
    const held = this.held.get(dim);
    if (held)
      for (const key of held) {
        const e = this.entries.get(key);
        if (live(e) && !e.inGraph) top.offer(key, dot(q, e.vec!));
      }
    const accept = (key: string) => {
      const e = this.entries.get(key);
      return live(e) && e.inGraph;
    };
    const qa = query as number[];
    if (!filter && this.expiring === 0 && !held) {
      this.searches.graph++;
      for (const h of idx.search(qa, k)) top.offer(h.key, 1 - h.distance);
      return top.result();
    }
    // Fetching up to the beam width costs nothing more: the walk keeps that many candidates anyway.
    const share = candidates ? candidates.size / idx.size : 1;
    const fetch = Math.max(idx.efSearch, Math.ceil((3 * k) / share));
    if (fetch <= OVERFETCH_MAX) {
      const hits = idx.search(qa, fetch);
      let accepted = 0;
      for (const h of hits)
        if (accept(h.key)) {
          top.offer(h.key, 1 - h.distance);
          accepted++;
        }
      // Complete when k were accepted, or when the walk returned every point of the graph.
      if (accepted >= k || hits.length === idx.size) {
        this.searches.overfetch++;
        return top.result();
      }
    }
    this.searches.filtered_walk++;
    for (const h of idx.search(qa, k, accept)) top.offer(h.key, 1 - h.distance);
    return top.result();
  }

  private async hitOf(key: string, score: number): Promise<CacheHit | undefined> {
    const p = this.pending.get(key);
    const raw = p !== undefined ? p : await this.engine.get(ks, entryKey(key));
    if (!raw) return undefined;
    const rec = decodeRecord(raw, false);
    const h: CacheHit = {
      key,
      value: rec.value,
      score,
      metadata: rec.metadata ?? {},
      expires_at: rec.expiresAt === null ? null : iso(rec.expiresAt),
    };
    if (rec.prompt !== undefined) h.prompt = rec.prompt;
    return h;
  }

  /** A hit makes the entry the most recently used. */
  private touch(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.entries.set(key, e);
  }

  stats() {
    const now = this.now();
    return {
      entries: this.entries.size,
      hit_ratio_1m: this.window.ratio(now, 60),
      hit_ratio_1h: this.window.ratio(now, 3600),
      evictions_total: this.counters.evictions,
      bytes: this.bytes,
      expired_total: this.counters.expired,
      lookups_total: this.counters.lookups,
      hits_total: this.counters.hits,
      misses_total: this.counters.misses,
      puts_total: this.counters.puts,
      lookups_1m: this.window.totals(now, 60).lookups,
      lookups_1h: this.window.totals(now, 3600).lookups,
      max_entries: this.opts.maxEntries,
      max_bytes: this.opts.maxBytes,
      threshold: this.opts.threshold,
      default_ttl_sec: this.opts.defaultTtlSec,
      searches: { ...this.searches },
      indexes: [...this.indexes]
        .sort((a, b) => a[0] - b[0])
        .map(([dimension, idx]) => ({ dimension, entries: idx.size, capacity: idx.capacity })),
    };
  }

  /** The keys in LRU order, least recently used first (tests). */
  lruOrder(): string[] {
    return [...this.entries.keys()];
  }

  private assertOpen(): void {
    if (this.closed) throw new ThemisError('UNAVAILABLE', 'the cache is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    await this.sweeping;
    await this.checkpointing;
    try {
      await this.checkpointNow();
    } catch (e) {
      // Only time is lost: the next start rebuilds (or reconciles an older checkpoint).
      this.opts.log?.warn('cache checkpoint at close failed', { error: String(e) });
    }
  }

  /**
   * Online backup: each graph checkpoint as a matching pair. A checkpoint
   * removes the sidecar, then renames the new graph file into place, then
   * writes the new sidecar; so when the sidecar opened first is still the
   * file at its path once the graph file is open, the two belong together.
   * Otherwise a checkpoint ran in between: try again. The entries
   * themselves are in LevelDB (the backup's snapshot); at open the graphs
   * are reconciled with them, so a checkpoint older or newer than the
   * backup costs only re-inserting the points that differ.
   */
  async backup(b: BackupTarget): Promise<void> {
    if (!this.opts.checkpointDir) return;
    for (const dim of this.checkpointFiles().sort((x, y) => x - y)) {
      for (let attempt = 1; ; attempt++) {
        let meta: FileHandle;
        try {
          meta = await fs.promises.open(this.metaFile(dim), 'r');
        } catch {
          break; // no checkpoint of this dimension (any more)
        }
        let graph: FileHandle | undefined;
        try {
          graph = await fs.promises.open(this.graphFile(dim), 'r').catch(() => undefined);
          const atPath = await fs.promises.stat(this.metaFile(dim)).catch(() => undefined);
          if (graph !== undefined && atPath !== undefined && atPath.ino === (await meta.stat()).ino) {
            await b.copy(`cache/hnsw-${dim}.meta`, meta);
            await b.copy(`cache/hnsw-${dim}.bin`, graph);
            break;
          }
        } finally {
          await graph?.close();
          await meta.close();
        }
        if (attempt === 5) {
          b.omit(`cache/hnsw-${dim}.bin`, 'a graph checkpoint was being written at every try; the restored server rebuilds this graph');
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  // ------------------------------------------------------------------ graph checkpoints

  private graphFile(dim: number): string {
    return path.join(this.opts.checkpointDir!, `hnsw-${dim}.bin`);
  }

  private metaFile(dim: number): string {
    return path.join(this.opts.checkpointDir!, `hnsw-${dim}.meta`);
  }

  /** Dimensions with a sidecar in the checkpoint directory. */
  private checkpointFiles(): number[] {
    if (!this.opts.checkpointDir) return [];
    let names: string[];
    try {
      names = fs.readdirSync(this.opts.checkpointDir);
    } catch {
      return [];
    }
    const dims: number[] = [];
    for (const n of names) {
      const m = /^hnsw-(\d+)\.meta$/.exec(n);
      if (m) dims.push(Number(m[1]));
    }
    return dims;
  }

  /**
   * Write the graphs that changed since their checkpoint (the timer and close
   * call it; tests too). hnswlib writes a graph on a libuv thread (about a
   * second per 100,000 384-d points) while searches go on; puts and deletes
   * meanwhile change the entries at once and the graph when the write ends
   * (a search compares their embeddings directly until then). The label map,
   * each key's write time and embedding CRC are taken when the write starts;
   * then the sidecar is written, atomically, holding the graph file's size
   * and CRC. A crash between the two leaves a sidecar that does not match:
   * ignored.
   */
  checkpoint(): Promise<void> {
    if (this.closed) return this.checkpointing ?? Promise.resolve();
    this.checkpointing ??= this.checkpointNow().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async checkpointNow(): Promise<void> {
    if (!this.opts.checkpointDir) return;
    const dims = [...this.dirty];
    for (const dim of dims) {
      this.dirty.delete(dim);
      try {
        await this.writeCheckpoint(dim);
      } catch (e) {
        this.dirty.add(dim);
        throw e;
      }
    }
  }

  private async writeCheckpoint(dim: number): Promise<void> {
    const graph = this.graphFile(dim);
    const meta = this.metaFile(dim);
    // The sidecar goes first: once the graph file is replaced the old sidecar no longer matches it.
    await fs.promises.rm(meta, { force: true });
    const idx = this.indexes.get(dim);
    if (!idx) {
      // No entry of this dimension left.
      await fs.promises.rm(graph, { force: true });
      this.checkpointed.delete(dim);
      return;
    }
    const tmp = `${graph}.tmp`;
    // hnswlib fails silently when the directory is missing.
    fs.mkdirSync(this.opts.checkpointDir!, { recursive: true });
    // A consistent cut: the labels and each key's record identity are taken now, and the graph's points stay
    // as they are until hnswlib has written them (changes wait in `held`; searches go on meanwhile).
    const labels = idx.labels();
    const w = new CheckpointWriter(labels.length * 48 + 1024);
    w.u32(CKPT_MAGIC);
    w.u32(CKPT_VERSION);
    w.u32(dim);
    w.f64(idx.labelCounter);
    w.u32(labels.length);
    for (const [key, label] of labels) {
      const e = this.entries.get(key)!;
      w.str(key);
      w.f64(label);
      w.f64(e.writtenAt);
      w.u32(e.crc);
    }
    this.held.set(dim, new Set());
    try {
      await idx.writeGraphAsync(tmp);
    } finally {
      this.release(dim);
    }
    const { size, crc } = await fileCrc(tmp);
    w.f64(size);
    w.u32(crc);
    const h = await fs.promises.open(tmp, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.promises.rename(tmp, graph);
    await writeCheckpointFile(meta, w.done());
    this.checkpointed.add(dim);
  }

  /** The checkpoint of `dim` restored, with what it says of each key; undefined (and a warning) when unusable. */
  private async readCheckpoint(dim: number): Promise<{ index: HnswIndex; keys: Map<string, CheckpointKey> } | undefined> {
    try {
      const r = CheckpointReader.checked(await fs.promises.readFile(this.metaFile(dim)));
      if (r.u32() !== CKPT_MAGIC) throw new Error('not a cache graph checkpoint');
      const version = r.u32();
      if (version !== CKPT_VERSION) throw new Error(`checkpoint format version ${version}, expected ${CKPT_VERSION}`);
      const d = r.u32();
      if (d !== dim) throw new Error(`checkpoint has dimension ${d}, its file name ${dim}`);
      const counter = r.f64();
      const keys = new Map<string, CheckpointKey>();
      const labels: [string, number][] = [];
      for (let n = r.u32(); n > 0; n--) {
        const key = r.str();
        const label = r.f64();
        keys.set(key, { label, writtenAt: r.f64(), crc: r.u32() });
        labels.push([key, label]);
      }
      const size = r.f64();
      const crc = r.u32();
      if (!r.done) throw new Error('checkpoint has trailing bytes');
      const actual = await fileCrc(this.graphFile(dim));
      if (actual.size !== size || actual.crc !== crc) throw new Error('graph file does not match its sidecar (size or CRC)');
      const index = HnswIndex.restore({ ...DEFAULT_HNSW, dimension: dim }, this.graphFile(dim), labels, counter);
      return { index, keys };
    } catch (e) {
      this.opts.log?.warn('cache graph checkpoint unusable, rebuilding', {
        dimension: dim,
        reason: e instanceof Error ? e.message : String(e),
      });
      return undefined;
    }
  }
}

/** Size and CRC-32 of a file, read in chunks. */
async function fileCrc(file: string): Promise<{ size: number; crc: number }> {
  let crc = 0;
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    crc = zlib.crc32(chunk, crc);
    size += chunk.length;
  }
  return { size, crc };
}
