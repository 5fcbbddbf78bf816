import type { components } from '../api/types.js';
import type { AuditLevel } from '../config.js';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeAscending, type Engine, encodeAscending, keyspace, prefixUpperBound, seqCodec, WriteBatch } from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';
import { BucketIndex } from './bucket-index.js';
import type { AuditEntry, AuditRecord } from './entry.js';
import { migrateFormat1 } from './format-v1.js';
import {
  GENESIS,
  HASH_BYTES,
  KEY_EVERY,
  putSegments,
  recordHash,
  Segment,
  SegmentWriter,
  segmentKey,
  segmentKeyId,
} from './record-codec.js';

/**
 * The audit log (docs/audit.md). Storage, in the `audit` keyspace:
 *
 *   'S' firstId(8)                        -> a segment: consecutive binary records (record-codec.ts),
 *                                            each with its hash; one per flush or commit
 *   'I' field(1) len(2) value firstId(8)  -> ids (ascending, delta varints from firstId): one chunk per
 *                                            (field, value) and flush, for the equality filters but entityId
 *   'B' bucket(2) firstId(8)              -> entityId postings, hashed into buckets, written per 16,384
 *                                            entries (bucket-index.ts: one key per write would cost most)
 *   'M' 'anchor'                          -> the hash of the last entry retention deleted (32) and its id (8)
 *   'M' 'indexed'                         -> the last id whose index chunks are written
 *   'M' 'bucketed'                        -> the last id whose entityId posting is written
 *   'M' 'format'                          -> '3' (2: entityId under 'I' too; converted at open)
 *
 * A request's entry is encoded and given its id the moment it is recorded
 * (a write's: when its commit is queued), into a staging area
 * (SegmentWriter); what is staged is cut into segments (and hashed) when
 * the group committer forms a LevelDB batch that carries a tagged commit or
 * flush (Engine.onGroup). Groups are written in
 * order, so entries reach LevelDB in id order: a crash loses at most a
 * suffix — never a hole, never a broken link.
 *
 * - The entry of a write travels in the write's own LevelDB batch: the
 *   commit participant stages the entry and tags the commit, and the group
 *   hook cuts the staged entries into the batch that carries it — all but
 *   those of commits a split group left for later. One segment per group,
 *   not per commit. Its index chunks follow with the next flush
 *   (derived data: replayed from the segments after 'M indexed' and 'M bucketed' at open).
 * - Entries of other requests wait in the buffer at most `flushMs` (or ride
 *   along in the next commit's batch); the request path never waits for
 *   them. A query of the log first flushes, so it sees every request
 *   already answered.
 * - Time ranges need no index: timestamps never decrease with the id, so the
 *   ids of a period are found by binary search over the segments.
 */

const ks = keyspace('audit');
/** The group hook's name (Engine.onGroup). */
const GROUP_TAG = 'audit';
const S = 0x53; // 'S': segments (record-codec.ts, segmentKey)
const I = 0x49; // 'I'
const B = 0x42; // 'B': entityId buckets (bucket-index.ts)
const E_V1 = 0x45; // 'E': format 1 entries (migrated at open)
const ANCHOR = Buffer.from('Manchor', 'latin1');
const INDEXED = Buffer.from('Mindexed', 'latin1');
const BUCKETED = Buffer.from('Mbucketed', 'latin1');
const FORMAT = Buffer.from('Mformat', 'latin1');
const FORMAT_VERSION = '3';
/** entityId postings waiting in memory before they are written out. */
const BUCKET_DEFER = 16_384;

/** The indexed equality filters and their one-byte field tags. */
export const AUDIT_FILTERS = {
  user: 0x75, // u
  userId: 0x6b, // k
  action: 0x61, // a
  entityType: 0x74, // t
  entityId: 0x65, // e
  success: 0x73, // s
} as const;
export type AuditFilterField = keyof typeof AUDIT_FILTERS;

/** Index values are cut to this many bytes (a filter on a longer value still matches: the entry is checked too). */
const MAX_INDEX_VALUE = 256;
/** Entries (or bytes) waiting in the staging buffer before a flush is forced. */
const MAX_PENDING = 5_000;
const MAX_PENDING_BYTES = 4 << 20;
/** Segments kept for reads (pages, binary searches; their decoded blocks with them), and the entries they may hold. */
const SEGMENT_CACHE = 128;
const SEGMENT_CACHE_ENTRIES = 40_000;

export interface AuditQuery {
  /** Inclusive bounds, ms since the epoch. */
  startMs?: number;
  endMs?: number;
  /** Equality filters. */
  eq?: Partial<Record<AuditFilterField, string | boolean>>;
  page: number;
  pageSize: number;
}

/** A page of GET /api/audit (openapi.yaml `AuditPage`). */
export type AuditPage = components['schemas']['AuditPage'];
/** GET /api/audit/verify (openapi.yaml `AuditVerifyResult`): `checked` entries rehashed, the first broken one. */
export type VerifyResult = components['schemas']['AuditVerifyResult'];

export interface AuditLogOptions {
  level: AuditLevel;
  /** Longest an entry waits in memory before its batch is written. */
  flushMs: number;
  now?: () => number;
}

export class AuditLog {
  private lastId = 0;
  private lastMs = 0;
  private firstId = 1;
  /** The hash (and id) before the first retained entry: the genesis, or where retention cut. */
  private anchor: { hash: Buffer; id: number } = { hash: GENESIS, id: 0 };
  /** Encoded, hashed entries not yet cut into a segment; `stagedFrom` is the first one's id. */
  private writer = new SegmentWriter(GENESIS);
  private stagedFrom = 1;
  /**
   * One item per batch tagged for the group hook, in queue order: the id of
   * a commit's entry (staged when the commit was), or 0 for a flush.
   */
  private tagged: number[] = [];
  private taggedHead = 0;
  private unhook: (() => void) | undefined;
  /** Ids per (field, value) not yet in index chunks (the next flush writes them); `CHUNKED` order. */
  private groups: Map<string, number[]>[] = newGroups();
  /** Per field: the last value noted and its id list (a shortcut past the map). */
  private lastValue: (string | undefined)[] = [];
  private lastIds: (number[] | undefined)[] = [];
  private grouped = 0;
  /** entityId postings (bucket-index.ts) and the last id noted in them. */
  private readonly entities: BucketIndex;
  private bucketedThrough = 0;
  /** Recently read segments (immutable until retention rewrites the oldest). */
  private cache: Segment[] = [];
  private cached = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The latest batch handed to the committer (a flush resolves when it, and so every earlier one, is written). */
  private lastWrite: Promise<void> = Promise.resolve();
  /** A batch carrying entries failed: the in-memory chain is ahead of storage; nothing more is written until a restart. */
  private broken: Error | undefined;
  private closed = false;
  private readonly now: () => number;
  /** Entries handed to storage since start (metrics). */
  written = 0;

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    readonly opts: AuditLogOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.entities = new BucketIndex(engine, ks, B, MAX_INDEX_VALUE);
  }

  get level(): AuditLevel {
    return this.opts.level;
  }

  /**
   * Convert a format-1 log, load the chain's head (the last entry's id, hash
   * and time) and the first retained id, then index what a crash left
   * unindexed (the entries after 'M indexed').
   */
  async open(): Promise<void> {
    if (await this.hasKeys(E_V1)) await migrateFormat1(this.engine, this.log);
    const format = (await this.engine.get(ks, FORMAT))?.toString();
    if (format === '2') {
      // entityId chunks under 'I' become buckets: dropped here, rebuilt from the segments below.
      await this.engine.deleteRange(ks, rangeOf(I, AUDIT_FILTERS.entityId));
      await this.engine.deleteRange(ks, rangeOf(B));
      this.log.info('audit log: entityId index moves to buckets (format 3); rebuilding it from the entries');
    }
    if (format !== FORMAT_VERSION)
      await this.engine.commit(new WriteBatch().del(ks, BUCKETED).put(ks, FORMAT, Buffer.from(FORMAT_VERSION)));
    const a = await this.engine.get(ks, ANCHOR);
    if (a !== undefined && a.length === HASH_BYTES + 8)
      this.anchor = { hash: Buffer.from(a.subarray(0, HASH_BYTES)), id: readId(a, HASH_BYTES) };
    this.lastId = this.anchor.id;
    let lastHash = this.anchor.hash;
    for await (const [k, v] of this.engine.scan(ks, { ...rangeOf(S), reverse: true, limit: 1 })) {
      const seg = new Segment(segmentKeyId(k), v);
      this.lastId = seg.lastId;
      lastHash = Buffer.from(seg.lastHash);
      this.lastMs = seg.timeAt(seg.count - 1);
    }
    // Retention deletes up to the anchor; a segment it cut through stays whole (its entries refer to each other).
    this.firstId = this.anchor.id + 1;
    this.writer = new SegmentWriter(lastHash);
    this.stagedFrom = this.lastId + 1;
    this.unhook = this.engine.onGroup(GROUP_TAG, (n) => this.onGroup(n));
    const watermark = async (k: Buffer) => {
      const v = await this.engine.get(ks, k);
      return Math.max(this.firstId - 1, v === undefined ? 0 : seqCodec.decode(v));
    };
    const indexed = await watermark(INDEXED);
    this.bucketedThrough = await watermark(BUCKETED);
    const from = Math.min(indexed, this.bucketedThrough) + 1;
    if (from <= this.lastId) {
      const start = await this.segmentOf(from);
      for await (const chunk of this.engine.scanChunks(ks, { gte: segmentKey(start?.firstId ?? from), lt: Buffer.of(S + 1) }, 64, 64)) {
        for (const [k, v] of chunk) {
          const seg = new Segment(segmentKeyId(k), v);
          const all = seg.entries();
          for (let i = 0; i < all.length; i++) {
            const id = seg.firstId + i;
            if (id > indexed) this.groupChunked(id, all[i]!);
            if (id > this.bucketedThrough) this.noteEntity(id, all[i]!.entityId);
            if (this.entities.size >= BUCKET_DEFER) await this.engine.commit(this.writeOutEntities(new WriteBatch()));
          }
        }
      }
      await this.flush();
    }
  }

  private noteEntity(id: number, value: string | null): void {
    if (value !== null && value !== undefined) this.entities.add(value, id);
    this.bucketedThrough = id;
  }

  /** The entityId postings waiting in memory, as bucket chunks, with their watermark. */
  private writeOutEntities(batch: WriteBatch): WriteBatch {
    this.entities.writeOut(batch);
    return batch.put(ks, BUCKETED, seqCodec.encode(this.bucketedThrough));
  }

  private async hasKeys(tag: number): Promise<boolean> {
    for await (const _ of this.engine.scan(ks, { ...rangeOf(tag), limit: 1 })) return true;
    return false;
  }

  /** The commit participant: a commit that serves a request carries that request's entry in its own batch. */
  readonly participant: CommitParticipant<AuditRecord> = {
    name: 'audit',
    prepare: (c) => (c.origin === undefined || this.opts.level === 'off' ? undefined : this.commitRecord(c)),
    write: (c, rec, batch) => {
      if (rec === undefined || this.broken || this.closed) return;
      // Staged now (encoded off the group commit's critical path); written in the LevelDB batch that
      // carries this commit, by the group hook (onGroup), with the group's other entries.
      const id = this.append(rec);
      c.origin!.recordedId = id;
      this.tagged.push(id);
      batch.tag(GROUP_TAG);
      this.schedule(); // their index chunks
    },
    aborted: () => {
      this.broken ??= new Error('a commit carrying audit entries failed');
    },
  };

  private commitRecord(c: CommitInfo): AuditRecord {
    const o = c.origin!;
    const one = c.changes.length === 1 ? c.changes[0]! : undefined;
    let table: string = c.changes[0]!.table;
    for (const x of c.changes) if (x.table !== table) table = 'multiple';
    return {
      user: o.user,
      userId: o.userId,
      action: o.action,
      entityType: o.subject?.entityType ?? table,
      entityId: o.subject?.entityId ?? (one ? one.key : `transaction:${c.txnId}`),
      oldValue: null,
      newValue: null,
      success: true,
      statusCode: o.successStatus,
      ipAddress: o.ipAddress,
      sessionId: o.requestId,
      errorMessage: null,
      seq: c.changes[c.changes.length - 1]!.seq,
      method: o.method,
      route: o.route,
    };
  }

  /** Record a request's entry: encoded now, written within `flushMs` (or with the next commit), never waited for. */
  record(r: AuditRecord): void {
    if (this.opts.level === 'off' || this.broken || this.closed) return;
    this.append(r);
    if (this.writer.count >= MAX_PENDING || this.writer.bytes >= MAX_PENDING_BYTES) void this.flush().catch(() => undefined);
    else this.schedule();
  }

  /**
   * The group hook: a LevelDB batch is being formed that carries `n` tagged
   * batches (commits with an entry, flushes). The entries of those commits
   * are appended, and everything waiting is cut into one segment, written in
   * that batch — so a commit's entry is durable exactly when the commit is.
   */
  private onGroup(n: number): WriteBatch | undefined {
    if (this.taggedHead + n > this.tagged.length) {
      this.broken ??= new Error('audit entries and the batches carrying them are out of step');
      this.log.error('audit entries could not be placed; no more are written until a restart');
    }
    this.taggedHead = Math.min(this.taggedHead + n, this.tagged.length);
    // The first entry of a commit queued behind this group (a group split at maxGroupOps): it, and
    // what was staged after it, must wait for that commit's own batch.
    let later = 0;
    for (let i = this.taggedHead; i < this.tagged.length && later === 0; i++) later = this.tagged[i]!;
    if (this.taggedHead === this.tagged.length) {
      this.tagged = [];
      this.taggedHead = 0;
    } else if (this.taggedHead > 1024) {
      this.tagged = this.tagged.slice(this.taggedHead);
      this.taggedHead = 0;
    }
    if (this.broken || this.writer.count === 0) return undefined;
    const batch = new WriteBatch();
    this.cutInto(batch, later === 0 ? undefined : later);
    return batch;
  }

  /** Give `r` the next id and its time (never before the previous entry's), stage it, note its index values. */
  private append(r: AuditRecord): number {
    const id = ++this.lastId;
    const ms = Math.max(this.now(), this.lastMs);
    this.lastMs = ms;
    this.writer.append(ms, r);
    this.group(id, r);
    return id;
  }

  private group(id: number, r: AuditRecord): void {
    this.groupChunked(id, r);
    this.noteEntity(id, r.entityId);
  }

  /** Note `id` under its values of the chunked filters (CHUNKED order). */
  private groupChunked(id: number, r: AuditRecord): void {
    this.add(0, r.user, id);
    this.add(1, r.userId, id);
    this.add(2, r.action, id);
    this.add(3, r.entityType, id);
    this.add(4, r.success ? 'true' : 'false', id);
    this.grouped++;
  }

  /** Note `id` under field f's `value`; the previous entry's value of the field is remembered (values repeat). */
  private add(f: number, value: string | null, id: number): void {
    if (value === null || value === undefined) return;
    if (this.lastValue[f] === value) {
      this.lastIds[f]!.push(id);
      return;
    }
    const g = this.groups[f]!;
    let ids = g.get(value);
    if (ids === undefined) {
      ids = [];
      g.set(value, ids);
    }
    ids.push(id);
    this.lastValue[f] = value;
    this.lastIds[f] = ids;
  }

  /** Put the staged entries (those before id `before`, when given) into `batch` as segments of at most KEY_EVERY entries. */
  private cutInto(batch: WriteBatch, before?: number): void {
    const n = before === undefined ? this.writer.count : Math.min(this.writer.count, before - this.stagedFrom);
    if (n <= 0) return;
    this.written += n;
    const segments = n === this.writer.count ? this.writer.cutSegments() : this.writer.cutFirst(n);
    putSegments((k, v) => batch.put(ks, k, v), this.stagedFrom, segments);
    this.stagedFrom += n;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, this.opts.flushMs);
    this.timer.unref();
  }

  /**
   * Write what waits (entries and index chunks; with `everything`, the
   * entityId postings too); resolves once it (and every entry recorded
   * before) is durable.
   */
  flush(everything = false): Promise<void> {
    this.clearTimer();
    const waiting =
      this.writer.count > 0 || this.grouped > 0 || this.tagged.length > this.taggedHead || (everything && this.entities.size > 0);
    if (waiting && !this.broken) {
      // The entries go in through the group hook (with those of commits queued before); the index chunks here.
      const batch = new WriteBatch().tag(GROUP_TAG);
      this.tagged.push(0);
      this.index(batch, everything);
      this.lastWrite = this.engine.commit(batch).catch((e: unknown) => {
        this.broken ??= e instanceof Error ? e : new Error(String(e));
        this.log.error('audit entries could not be written; no more are written until a restart', { error: e });
        throw e;
      });
    }
    return this.lastWrite;
  }

  /** The index chunks of the grouped ids (all in segments handed over by now): one key per (field, value), and the watermark. */
  private index(batch: WriteBatch, everything = false): void {
    if (this.entities.size >= BUCKET_DEFER || (everything && this.entities.size > 0)) this.writeOutEntities(batch);
    if (this.grouped === 0) return;
    const groups = this.groups;
    this.groups = newGroups();
    this.lastValue = [];
    this.lastIds = [];
    this.grouped = 0;
    for (let f = 0; f < CHUNKED.length; f++) {
      // Values longer than MAX_INDEX_VALUE bytes share a chunk when their cut prefixes are equal (ids merged in order).
      const long = new Map<string, { prefix: Buffer; ids: number[] }>();
      for (const [value, ids] of groups[f]!) {
        if (ids.length === 1 && value.length <= MAX_INDEX_VALUE / 3) {
          putSingle(batch, CHUNKED[f]!, value, ids[0]!);
          continue;
        }
        const prefix = indexPrefix(CHUNKED[f]!, value);
        if (value.length > MAX_INDEX_VALUE / 3) {
          const k = prefix.toString('latin1');
          const g = long.get(k);
          if (g === undefined) long.set(k, { prefix, ids: [...ids] });
          else g.ids.push(...ids);
          continue;
        }
        putChunk(batch, prefix, ids);
      }
      for (const { prefix, ids } of long.values())
        putChunk(
          batch,
          prefix,
          ids.sort((x, y) => x - y),
        );
    }
    batch.put(ks, INDEXED, seqCodec.encode(this.lastId));
  }

  async close(): Promise<void> {
    try {
      await this.flush(true);
    } catch {
      // logged by flush
    }
    this.closed = true;
    this.unhook?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  // ------------------------------------------------------------------ reading

  /** The segment holding entry `id` (undefined when retention removed it). */
  private async segmentOf(id: number): Promise<Segment | undefined> {
    if (id < this.firstId) return undefined;
    for (const s of this.cache) if (s.firstId <= id && id <= s.lastId) return s;
    let found: Segment | undefined;
    for await (const [k, v] of this.engine.scan(ks, { gte: Buffer.of(S), lte: segmentKey(id), reverse: true, limit: 1 }))
      found = new Segment(segmentKeyId(k), v);
    if (found === undefined || found.lastId < id) return undefined;
    this.cache.push(found);
    this.cached += found.count;
    while (this.cache.length > 1 && (this.cache.length > SEGMENT_CACHE || this.cached > SEGMENT_CACHE_ENTRIES))
      this.cached -= this.cache.shift()!.count;
    return found;
  }

  /** Ids `lo..hi` (inclusive) of the entries in [startMs, endMs], by binary search on their times; undefined when none. */
  private async idRange(startMs?: number, endMs?: number): Promise<[number, number] | undefined> {
    if (this.lastId < this.firstId) return undefined;
    let lo = this.firstId;
    let hi = this.lastId;
    if (startMs !== undefined) lo = await this.firstIdAtOrAfter(startMs);
    if (endMs !== undefined && endMs < Number.MAX_SAFE_INTEGER) hi = (await this.firstIdAtOrAfter(endMs + 1)) - 1;
    return lo <= hi ? [lo, hi] : undefined;
  }

  /** The first id whose time is >= ms (lastId + 1 when none): a binary search over segments, then inside one. */
  private async firstIdAtOrAfter(ms: number): Promise<number> {
    let a = this.firstId;
    let b = this.lastId + 1;
    while (a < b) {
      const mid = a + Math.floor((b - a) / 2);
      const seg = await this.segmentOf(mid);
      if (seg === undefined) {
        a = mid + 1; // removed by retention meanwhile: older than anything left
        continue;
      }
      const lo = Math.max(seg.firstId, a);
      const hi = Math.min(seg.lastId, b - 1);
      if (seg.timeAt(hi - seg.firstId) < ms) a = hi + 1;
      else if (seg.timeAt(lo - seg.firstId) >= ms) b = lo;
      else {
        // time(lo) < ms <= time(hi): the answer is in (lo, hi].
        let x = lo + 1;
        let y = hi;
        while (x < y) {
          const m = x + Math.floor((y - x) / 2);
          if (seg.timeAt(m - seg.firstId) < ms) x = m + 1;
          else y = m;
        }
        return x;
      }
    }
    return a;
  }

  /** Ids of one equality filter within [lo, hi], newest first, in batches (one per index chunk). */
  private async *idsOf(f: AuditFilterField, value: string, lo: number, hi: number): AsyncGenerator<number[]> {
    if (f === 'entityId') {
      yield* this.entities.ids(value, lo, hi);
      return;
    }
    const prefix = indexPrefix(f, value);
    const opts = { gte: Buffer.concat([prefix, seqCodec.encode(0)]), lte: Buffer.concat([prefix, seqCodec.encode(hi)]), reverse: true };
    for await (const chunk of this.engine.scanChunks(ks, opts, 256, 8)) {
      for (const [k, v] of chunk) {
        const ids = decodeAscending(v, readId(k, k.length - 8));
        const batch: number[] = [];
        let older = false;
        for (let i = ids.length - 1; i >= 0; i--) {
          const id = ids[i]!;
          if (id > hi) continue;
          if (id < lo) {
            older = true; // chunks are in id order: everything after is older still
            break;
          }
          batch.push(id);
        }
        if (batch.length > 0) yield batch;
        if (older) return;
      }
    }
  }

  /** The ids matching every filter within [lo, hi], newest first, in batches. */
  private matching(filters: [AuditFilterField, string | boolean][], lo: number, hi: number): AsyncGenerator<number[]> {
    return intersect(filters.map(([f, v]) => this.idsOf(f, String(v), lo, hi)));
  }

  /** Entry `id` (undefined when retention removed it). */
  async entry(id: number): Promise<AuditEntry | undefined> {
    const seg = await this.segmentOf(id);
    return seg === undefined ? undefined : seg.entryAt(id - seg.firstId);
  }

  /**
   * A page of entries, newest first. The time range becomes an id range
   * (binary search), each equality filter an id stream from its index
   * chunks, and the streams are intersected; entries are read only for the
   * page. The count walks the matching ids (no entry is read for it).
   */
  async query(q: AuditQuery): Promise<AuditPage> {
    await this.flush();
    const out: AuditPage = { entries: [], totalCount: 0, page: q.page, pageSize: q.pageSize, hasMore: false };
    const range = await this.idRange(q.startMs, q.endMs);
    if (!range) return out;
    const [lo, hi] = range;
    const skip = (q.page - 1) * q.pageSize;
    const filters = filtersOf(q);
    const ids: number[] = [];
    if (filters.length === 0) {
      out.totalCount = hi - lo + 1;
      for (let id = hi - skip; id >= lo && ids.length < q.pageSize; id--) ids.push(id);
    } else {
      let n = 0;
      for await (const batch of this.matching(filters, lo, hi)) {
        if (ids.length < q.pageSize && n + batch.length > skip)
          ids.push(...batch.slice(Math.max(0, skip - n), Math.max(0, skip - n) + q.pageSize - ids.length));
        n += batch.length;
      }
      out.totalCount = n;
    }
    const found = await this.entriesById(ids);
    for (const id of ids) {
      const e = found.get(id);
      // Index values are cut at MAX_INDEX_VALUE bytes: check longer ones on the entry.
      if (e && filters.every(([f, v]) => String(e[f]) === String(v))) out.entries.push(e);
    }
    out.hasMore = skip + ids.length < out.totalCount;
    return out;
  }

  /**
   * The entries of `ids` (newest first, as a page lists them). Ids close
   * together are read with one scan over their segments (one thread-pool
   * round trip per chunk instead of one seek per segment); scattered ones
   * segment by segment.
   */
  private async entriesById(ids: number[]): Promise<Map<number, AuditEntry>> {
    const out = new Map<number, AuditEntry>();
    if (ids.length === 0) return out;
    const hi = Math.max(...ids);
    const lo = Math.max(Math.min(...ids), this.firstId);
    if ((hi - lo) / KEY_EVERY <= 4 * ids.length + 8) {
      const want = new Set(ids);
      for await (const chunk of this.engine.scanChunks(ks, { gte: Buffer.of(S), lte: segmentKey(hi), reverse: true }, 64, 16)) {
        let done = false;
        for (const [k, v] of chunk) {
          const seg = new Segment(segmentKeyId(k), v);
          for (let id = Math.max(seg.firstId, lo); id <= seg.lastId; id++) if (want.has(id)) out.set(id, seg.entryAt(id - seg.firstId));
          if (seg.firstId <= lo) done = true;
        }
        if (done) break;
      }
      return out;
    }
    for (const id of ids) {
      const e = await this.entry(id);
      if (e) out.set(id, e);
    }
    return out;
  }

  /** Every entry of the time range matching the filters, newest or oldest first, segment by segment (CSV export, reports). */
  async *entries(q: Omit<AuditQuery, 'page' | 'pageSize'>, newestFirst = true): AsyncGenerator<AuditEntry> {
    await this.flush();
    const range = await this.idRange(q.startMs, q.endMs);
    if (!range) return;
    const [lo, hi] = range;
    const filters = filtersOf(q);
    const match = (e: AuditEntry) => filters.every(([f, x]) => String(e[f]) === String(x));
    if (filters.length === 0 || !newestFirst) {
      const first = (await this.segmentOf(lo))?.firstId ?? lo;
      for await (const chunk of this.engine.scanChunks(ks, { gte: segmentKey(first), lte: segmentKey(hi), reverse: newestFirst }, 16, 4)) {
        for (const [k, v] of chunk) {
          const seg = new Segment(segmentKeyId(k), v);
          const all = seg.entries();
          const from = Math.max(lo, seg.firstId) - seg.firstId;
          const to = Math.min(hi, seg.lastId) - seg.firstId;
          if (newestFirst) {
            for (let i = to; i >= from; i--) if (match(all[i]!)) yield all[i]!;
          } else {
            for (let i = from; i <= to; i++) if (match(all[i]!)) yield all[i]!;
          }
        }
      }
      return;
    }
    for await (const batch of this.matching(filters, lo, hi)) {
      const found = await this.entriesById(batch);
      for (const id of batch) {
        const e = found.get(id);
        if (e && match(e)) yield e;
      }
    }
  }

  /**
   * Walk the chain from the first retained entry: each record's stored hash
   * must be the hash of its predecessor's hash and its own bytes, and ids
   * must follow each other from the anchor on. An entry altered, removed or
   * inserted in LevelDB breaks it at that entry.
   */
  async verify(): Promise<VerifyResult> {
    await this.flush();
    let prev = this.anchor.hash;
    let expected = this.anchor.id + 1;
    let checked = 0;
    let first: number | null = null;
    let last: number | null = null;
    const broken = (id: number, reason: string): VerifyResult => ({
      ok: false,
      checked,
      first_id: first,
      last_id: last,
      first_broken_id: id,
      reason,
    });
    // From the segment holding the first retained entry (retention may have cut through it).
    const start = (await this.segmentOf(this.firstId))?.firstId ?? this.firstId;
    for await (const chunk of this.engine.scanChunks(ks, { gte: segmentKey(start), lt: Buffer.of(S + 1) }, 64, 8)) {
      for (const [k, v] of chunk) {
        const keyId = segmentKeyId(k);
        let seg: Segment;
        try {
          seg = new Segment(keyId, v);
        } catch {
          return broken(keyId, 'the stored segment is not a valid sequence of entries');
        }
        let decoded = false;
        for (let i = 0; i < seg.count; i++) {
          if (keyId + i < this.firstId) continue;
          const id = seg.idAt(i);
          first ??= id;
          last = id;
          if (id !== expected)
            return broken(id, id > expected ? `entries ${expected}..${id - 1} are missing` : `entry ${id} appears twice`);
          if (id !== keyId + i) return broken(id, `the entry stored as id ${keyId + i} says id ${id}`);
          const hash = recordHash(prev, seg.framed(i));
          if (!seg.hashAt(i).equals(hash))
            return broken(
              id,
              checked === 0 && i === 0
                ? 'the entry does not match its hash or its link to the previous entry'
                : 'the entry does not match its hash (altered, removed or inserted)',
            );
          if (!decoded) {
            try {
              seg.entries();
              decoded = true;
            } catch {
              return broken(id, 'the stored entries are not valid entries');
            }
          }
          prev = hash;
          expected = id + 1;
          checked++;
        }
      }
    }
    return { ok: true, checked, first_id: first, last_id: last, first_broken_id: null, reason: null };
  }

  /**
   * Retention: delete up to `max` of the oldest entries older than `cutoffMs`
   * (with their ids in the index chunks), moving the chain's anchor to the
   * last deleted entry's hash so `verify` still checks the first retained one.
   */
  async deleteOlderThan(cutoffMs: number, max: number): Promise<number> {
    await this.flush(true); // the entityId postings too: dropThrough looks at stored chunks only
    if (this.broken) throw new ThemisError('UNAVAILABLE', 'the audit log cannot be written until a restart');
    const batch = new WriteBatch();
    let n = 0;
    // The hash of the last deleted entry: the chain recomputed from the anchor (what verify would compute).
    let anchor = this.anchor.hash;
    let lastDeleted = 0;
    const prefixes = new Map<string, Buffer>();
    const entityIds = new Set<string>();
    // From the segment holding the first retained entry (retention may have cut through it).
    const start = (await this.segmentOf(this.firstId))?.firstId ?? this.firstId;
    scan: for await (const chunk of this.engine.scanChunks(ks, { gte: segmentKey(start), lt: Buffer.of(S + 1) }, 16, 4)) {
      for (const [k, v] of chunk) {
        const seg = new Segment(segmentKeyId(k), v);
        const all = seg.entries();
        let i = Math.max(0, this.firstId - seg.firstId);
        for (; i < seg.count && n < max && seg.timeAt(i) < cutoffMs; i++, n++) {
          const e = all[i]!;
          for (const f of CHUNKED) {
            const x = e[f];
            if (x !== null && x !== undefined) prefixes.set(`${f}\u0000${String(x)}`, indexPrefix(f, String(x)));
          }
          if (e.entityId !== null) entityIds.add(e.entityId);
          anchor = recordHash(anchor, seg.framed(i));
          lastDeleted = seg.firstId + i;
        }
        // A segment goes when all of it is deleted; one cut through stays (its entries refer to each other), unread below the anchor.
        if (i === seg.count) batch.del(ks, k);
        if (i < seg.count) break scan;
      }
    }
    if (n === 0) return 0;
    // Index chunks: drop the deleted ids (a chunk left empty goes; queries never look below the first retained id anyway).
    for (const prefix of prefixes.values()) {
      for await (const [k, v] of this.engine.scan(ks, {
        gte: Buffer.concat([prefix, seqCodec.encode(0)]),
        lte: Buffer.concat([prefix, seqCodec.encode(lastDeleted)]),
      })) {
        const keep = decodeAscending(v, readId(k, k.length - 8)).filter((id) => id > lastDeleted);
        batch.del(ks, k);
        if (keep.length > 0) batch.put(ks, Buffer.concat([prefix, seqCodec.encode(keep[0]!)]), encodeAscending(keep, keep[0]));
      }
    }
    await this.entities.dropThrough(entityIds, lastDeleted, batch);
    const a = Buffer.allocUnsafe(HASH_BYTES + 8);
    anchor.copy(a, 0);
    writeId(a, HASH_BYTES, lastDeleted);
    batch.put(ks, ANCHOR, a);
    await this.engine.commit(batch);
    this.anchor = { hash: Buffer.from(anchor), id: lastDeleted };
    this.firstId = lastDeleted + 1;
    this.cache = [];
    this.cached = 0;
    return n;
  }

  /** Entries older than `cutoffMs` (retention report). */
  async countBefore(cutoffMs: number): Promise<number> {
    await this.flush();
    if (this.lastId < this.firstId) return 0;
    return (await this.firstIdAtOrAfter(cutoffMs)) - this.firstId;
  }

  /** Entries retained, the oldest entry's time (retention report). */
  async summary(): Promise<{ count: number; first_id: number; last_id: number; oldest_ms: number | null }> {
    await this.flush();
    const empty = this.lastId < this.firstId;
    const seg = empty ? undefined : await this.segmentOf(this.firstId);
    return {
      count: empty ? 0 : this.lastId - this.firstId + 1,
      first_id: this.firstId,
      last_id: this.lastId,
      oldest_ms: seg === undefined ? null : seg.timeAt(this.firstId - seg.firstId),
    };
  }

  /** Entries assigned (stored or on their way) and waiting. */
  stats(): { last_id: number; first_id: number; pending: number; written: number; level: AuditLevel; broken: boolean } {
    return {
      last_id: this.lastId,
      first_id: this.firstId,
      pending: this.writer.count,
      written: this.written,
      level: this.opts.level,
      broken: this.broken !== undefined,
    };
  }
}

/** The filters indexed in chunks per (field, value) and flush (entityId: in buckets, bucket-index.ts). */
const CHUNKED: readonly AuditFilterField[] = ['user', 'userId', 'action', 'entityType', 'success'];

const newGroups = (): Map<string, number[]>[] => CHUNKED.map(() => new Map<string, number[]>());

function putChunk(batch: WriteBatch, prefix: Buffer, ids: number[]): void {
  const key = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(key, 0);
  writeId(key, prefix.length, ids[0]!);
  batch.put(ks, key, ids.length === 1 ? ONE_ID : encodeAscending(ids, ids[0]));
}

/** The chunk of a value seen once in a flush (the entity ids of writes, mostly): built in one allocation. */
function putSingle(batch: WriteBatch, f: AuditFilterField, value: string, id: number): void {
  const n = Buffer.byteLength(value, 'utf8');
  if (n > MAX_INDEX_VALUE) {
    putChunk(batch, indexPrefix(f, value), [id]);
    return;
  }
  const key = Buffer.allocUnsafe(4 + n + 8);
  key[0] = I;
  key[1] = AUDIT_FILTERS[f];
  key.writeUInt16BE(n, 2);
  key.write(value, 4, n, 'utf8');
  writeId(key, 4 + n, id);
  batch.put(ks, key, ONE_ID);
}

/** The packed ids of a chunk holding only its first id (a delta of 0). */
const ONE_ID = Buffer.of(0);

function filtersOf(q: Pick<AuditQuery, 'eq'>): [AuditFilterField, string | boolean][] {
  return Object.entries(q.eq ?? {}).filter(([, v]) => v !== undefined) as [AuditFilterField, string | boolean][];
}

function writeId(b: Buffer, at: number, id: number): void {
  b.writeUInt32BE(Math.floor(id / 2 ** 32), at);
  b.writeUInt32BE(id >>> 0, at + 4);
}

function readId(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
}

/** The keys starting with `tags` (bytes). */
function rangeOf(...tags: number[]): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.of(...tags), lt: prefixUpperBound(Buffer.of(...tags)) };
}

/** 'I' field len(2) value: a unique prefix per (field, value). */
function indexPrefix(f: AuditFilterField, value: string): Buffer {
  const tag = AUDIT_FILTERS[f];
  let v = Buffer.from(value, 'utf8');
  if (v.length > MAX_INDEX_VALUE) v = v.subarray(0, MAX_INDEX_VALUE);
  const head = Buffer.allocUnsafe(4);
  head[0] = I;
  head[1] = tag;
  head.writeUInt16BE(v.length, 2);
  return Buffer.concat([head, v]);
}

/**
 * The ids present in every stream (each strictly decreasing, in batches),
 * newest first, in batches: a merge that moves through arrays and awaits
 * only for a stream's next batch.
 */
async function* intersect(streams: AsyncGenerator<number[]>[]): AsyncGenerator<number[]> {
  if (streams.length === 1) {
    yield* streams[0]!;
    return;
  }
  const cur = streams.map(() => ({ b: [] as number[], i: 0 }));
  /** Make stream k's head available; false when it is exhausted. */
  const fill = async (k: number): Promise<boolean> => {
    const c = cur[k]!;
    while (c.i >= c.b.length) {
      const r = await streams[k]!.next();
      if (r.done) return false;
      c.b = r.value;
      c.i = 0;
    }
    return true;
  };
  let out: number[] = [];
  try {
    for (let k = 0; k < streams.length; k++) if (!(await fill(k))) return;
    merge: for (;;) {
      let target = Number.POSITIVE_INFINITY;
      for (const c of cur) target = Math.min(target, c.b[c.i]!);
      let all = true;
      for (let k = 0; k < cur.length; k++) {
        const c = cur[k]!;
        while (c.b[c.i]! > target) {
          c.i++;
          if (c.i >= c.b.length && !(await fill(k))) break merge;
        }
        if (c.b[c.i] !== target) all = false;
      }
      if (!all) continue;
      out.push(target);
      if (out.length >= 1024) {
        yield out;
        out = [];
      }
      for (let k = 0; k < cur.length; k++) {
        cur[k]!.i++;
        if (!(await fill(k))) break merge;
      }
    }
    if (out.length > 0) yield out;
  } finally {
    for (const s of streams) await s.return(undefined);
  }
}
