import type { AuditLevel } from '../config.js';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Engine, keyspace, seqCodec, WriteBatch } from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';
import { type AuditEntry, type AuditRecord, canonical, chainHash, GENESIS_HASH, parseStored, storedText, storedTimeMs } from './entry.js';

/**
 * The audit log (docs/audit.md). Storage, in the `audit` keyspace:
 *
 *   'E' id(8)                             -> the entry: its canonical JSON array + prevHash + hash
 *   'I' field(1) len(2) value firstId(8)  -> ids (8 bytes each, ascending): one chunk per (field, value)
 *                                            and flush, for the equality filters
 *   'M' 'anchor'                          -> the hash before the first retained entry (retention)
 *   'M' 'indexed'                         -> the last id whose index chunks are written
 *
 * Ids and the chain are assigned in one place, synchronously, at the moment
 * an entry's batch is handed to the group committer (which writes batches in
 * the order it got them): entries reach LevelDB in id order, so a crash
 * loses at most a suffix — never a hole, never a broken link.
 *
 * - The entry of a write travels in the write's own batch (the commit
 *   participant), so a committed write always has its entry. Its index
 *   chunks follow with the next flush (derived data: replayed from the
 *   entries after 'M indexed' at open).
 * - Entries of other requests wait in memory at most `flushMs` (or ride along
 *   in the next commit's batch); the request path never waits for them. A
 *   query of the log first flushes, so it sees every request already answered.
 * - Time ranges need no index: timestamps never decrease with the id, so the
 *   ids of a period are found by binary search over the (gap-free) ids.
 */

const ks = keyspace('audit');
const E = 0x45; // 'E'
const I = 0x49; // 'I'
const ANCHOR = Buffer.from('Manchor', 'latin1');
const INDEXED = Buffer.from('Mindexed', 'latin1');

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
/** Entries waiting in memory before a flush is forced. */
const MAX_PENDING = 5_000;

export interface AuditQuery {
  /** Inclusive bounds, ms since the epoch. */
  startMs?: number;
  endMs?: number;
  /** Equality filters. */
  eq?: Partial<Record<AuditFilterField, string | boolean>>;
  page: number;
  pageSize: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  totalCount: number;
  page: number;
  pageSize: number;
  hasMore: boolean;
}

export interface VerifyResult {
  ok: boolean;
  /** Entries whose hash was recomputed. */
  checked: number;
  first_id: number | null;
  last_id: number | null;
  /** The first entry whose stored hash, link to its predecessor or id sequence is wrong. */
  first_broken_id: number | null;
  reason: string | null;
}

export interface AuditLogOptions {
  level: AuditLevel;
  /** Longest an entry waits in memory before its batch is written. */
  flushMs: number;
  now?: () => number;
}

export class AuditLog {
  private lastId = 0;
  private lastHash = GENESIS_HASH;
  private lastMs = 0;
  private firstId = 1;
  /** Entries waiting to be written, with the time they were recorded. */
  private pending: [AuditRecord, number][] = [];
  /** Entries written (or on their way in a batch) whose index chunks are not: the next flush writes them. */
  private unindexed: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The latest batch handed to the committer (a flush resolves when it, and so every earlier one, is written). */
  private lastWrite: Promise<void> = Promise.resolve();
  /** A batch carrying entries failed: the in-memory chain is ahead of storage; nothing more is written until a restart. */
  private broken: Error | undefined;
  private closed = false;
  private readonly now: () => number;
  /** Entries written since start (metrics). */
  written = 0;

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    readonly opts: AuditLogOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get level(): AuditLevel {
    return this.opts.level;
  }

  /**
   * Load the chain's head (the last entry's id, hash and time) and the first
   * retained id, then index what a crash left unindexed (the entries after
   * 'M indexed').
   */
  async open(): Promise<void> {
    for await (const [k, v] of this.engine.scan(ks, { ...rangeOf(E), reverse: true, limit: 1 })) {
      const e = parseStored(v.toString('utf8'));
      this.lastId = seqCodec.decode(k.subarray(1));
      this.lastHash = e.hash;
      this.lastMs = Date.parse(e.entry.timestamp);
    }
    for await (const [k] of this.engine.scan(ks, { ...rangeOf(E), limit: 1 })) this.firstId = seqCodec.decode(k.subarray(1));
    if (this.lastId === 0) this.firstId = 1;
    const indexed = await this.engine.get(ks, INDEXED);
    const from = Math.max(this.firstId, indexed === undefined ? 1 : seqCodec.decode(indexed) + 1);
    if (from <= this.lastId) {
      for await (const chunk of this.engine.scanChunks(ks, { gte: entryKey(from), lte: entryKey(this.lastId) }, 1024, 1024))
        for (const [, v] of chunk) this.unindexed.push(parseStored(v.toString('utf8')).entry);
      await this.flush();
    }
  }

  /** The commit participant: a commit that serves a request carries that request's entry in its own batch. */
  readonly participant: CommitParticipant<AuditRecord> = {
    name: 'audit',
    prepare: (c) => (c.origin === undefined || this.opts.level === 'off' ? undefined : this.commitRecord(c)),
    write: (c, rec, batch) => {
      if (rec === undefined || this.broken || this.closed) return;
      // Entries still waiting go first (they are older), in the same batch.
      for (const [r, ms] of this.pending) this.assign(r, batch, ms);
      this.pending = [];
      c.origin!.recordedId = this.assign(rec, batch, this.now()).id;
      this.schedule(); // their index chunks
    },
    aborted: () => {
      this.broken ??= new Error('a commit carrying audit entries failed');
    },
  };

  private commitRecord(c: CommitInfo): AuditRecord {
    const o = c.origin!;
    const tables = new Set(c.changes.map((x) => x.table));
    const one = c.changes.length === 1 ? c.changes[0]! : undefined;
    return {
      user: o.user,
      userId: o.userId,
      action: o.action,
      entityType: tables.size === 1 ? [...tables][0]! : 'multiple',
      entityId: one ? one.key : `transaction:${c.txnId}`,
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

  /** Record a request's entry: written within `flushMs` (or with the next commit), never waited for. The log keeps (and completes) `r`. */
  record(r: AuditRecord): void {
    if (this.opts.level === 'off' || this.broken || this.closed) return;
    this.pending.push([r, this.now()]);
    if (this.pending.length >= MAX_PENDING) void this.flush().catch(() => undefined);
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, this.opts.flushMs);
    this.timer.unref();
  }

  /** Write what waits (entries and index chunks); resolves once it (and every entry assigned before) is durable. */
  flush(): Promise<void> {
    this.clearTimer();
    if ((this.pending.length > 0 || this.unindexed.length > 0) && !this.broken) {
      const batch = new WriteBatch();
      for (const [r, ms] of this.pending) this.assign(r, batch, ms);
      this.pending = [];
      this.index(batch);
      this.lastWrite = this.engine.commit(batch).catch((e: unknown) => {
        this.broken ??= e instanceof Error ? e : new Error(String(e));
        this.log.error('audit entries could not be written; no more are written until a restart', { error: e });
        throw e;
      });
    }
    return this.lastWrite;
  }

  /** The index chunks of the unindexed entries: one key per (field, value) holding their ids, and the watermark. */
  private index(batch: WriteBatch): void {
    const list = this.unindexed;
    if (list.length === 0) return;
    this.unindexed = [];
    // One map per field, keyed by the value's text: no key string is built per entry.
    const groups = FILTER_FIELDS.map(() => new Map<string, number[]>());
    for (const e of list) {
      for (let f = 0; f < FILTER_FIELDS.length; f++) {
        const v = e[FILTER_FIELDS[f]!];
        if (v === null || v === undefined) continue;
        const text = typeof v === 'string' ? v : String(v);
        const g = groups[f]!;
        const ids = g.get(text);
        if (ids) ids.push(e.id);
        else g.set(text, [e.id]);
      }
    }
    for (let f = 0; f < FILTER_FIELDS.length; f++) {
      for (const [value, ids] of groups[f]!) {
        const prefix = indexPrefix(FILTER_FIELDS[f]!, value);
        const key = Buffer.allocUnsafe(prefix.length + 8);
        prefix.copy(key, 0);
        writeId(key, prefix.length, ids[0]!);
        const packed = Buffer.allocUnsafe(ids.length * 8);
        for (let i = 0; i < ids.length; i++) writeId(packed, i * 8, ids[i]!);
        batch.put(ks, key, packed);
      }
    }
    batch.put(ks, INDEXED, seqCodec.encode(list[list.length - 1]!.id));
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } catch {
      // logged by flush
    }
    this.closed = true;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Give `r` the next id, its time (never before the previous entry's) and its link in the chain; add it to `batch`. */
  private assign(r: AuditRecord, batch: WriteBatch, at: number): AuditEntry {
    const id = ++this.lastId;
    const ms = Math.max(at, this.lastMs);
    this.lastMs = ms;
    // The record becomes the entry: id and time are added to it, not copied (the log owns what record() got).
    const e = r as AuditEntry;
    e.id = id;
    e.timestamp = new Date(ms).toISOString();
    const text = canonical(e);
    const prevHash = this.lastHash;
    const hash = chainHash(prevHash, text);
    this.lastHash = hash;
    batch.put(ks, entryKey(id), Buffer.from(storedText(text, prevHash, hash), 'utf8'));
    this.unindexed.push(e);
    this.written++;
    return e;
  }

  // ------------------------------------------------------------------ reading

  /** The time (ms) of entry `id` (ids in [firstId, lastId] all exist). */
  private timeOf(id: number): number {
    const v = this.engine.getSync(ks, entryKey(id));
    return v === undefined ? Number.NaN : storedTimeMs(v.toString('utf8'));
  }

  /** Ids `lo..hi` (inclusive) of the entries in [startMs, endMs], by binary search on their times; undefined when none. */
  private idRange(startMs?: number, endMs?: number): [number, number] | undefined {
    if (this.lastId < this.firstId) return undefined;
    let lo = this.firstId;
    let hi = this.lastId;
    if (startMs !== undefined) lo = this.firstIdAtOrAfter(startMs);
    if (endMs !== undefined) hi = endMs >= Number.MAX_SAFE_INTEGER ? hi : this.firstIdAtOrAfter(endMs + 1) - 1;
    return lo <= hi ? [lo, hi] : undefined;
  }

  /** The first id whose time is >= ms (lastId + 1 when none). */
  private firstIdAtOrAfter(ms: number): number {
    let a = this.firstId;
    let b = this.lastId + 1;
    while (a < b) {
      const mid = a + Math.floor((b - a) / 2);
      const t = this.timeOf(mid);
      if (Number.isNaN(t) || t < ms) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  /** Ids of one equality filter within [lo, hi], newest first, from its index chunks. */
  private async *idsOf(f: AuditFilterField, value: string, lo: number, hi: number): AsyncGenerator<number> {
    const prefix = indexPrefix(f, value);
    const opts = { gte: Buffer.concat([prefix, seqCodec.encode(0)]), lte: Buffer.concat([prefix, seqCodec.encode(hi)]), reverse: true };
    for await (const chunk of this.engine.scanChunks(ks, opts, 256, 8)) {
      for (const [, v] of chunk) {
        for (let i = v.length - 8; i >= 0; i -= 8) {
          const id = readId(v, i);
          if (id > hi) continue;
          if (id < lo) return; // chunks are in id order: everything after is older still
          yield id;
        }
      }
    }
  }

  /** Entry `id` (undefined when retention removed it). */
  entry(id: number): AuditEntry | undefined {
    const v = this.engine.getSync(ks, entryKey(id));
    return v === undefined ? undefined : parseStored(v.toString('utf8')).entry;
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
    const range = this.idRange(q.startMs, q.endMs);
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
      for await (const id of intersect(filters.map(([f, v]) => this.idsOf(f, String(v), lo, hi)))) {
        if (n >= skip && ids.length < q.pageSize) ids.push(id);
        n++;
      }
      out.totalCount = n;
    }
    for (const id of ids) {
      const e = this.entry(id);
      // Index values are cut at MAX_INDEX_VALUE bytes: check longer ones on the entry.
      if (e && filters.every(([f, v]) => String(e[f]) === String(v))) out.entries.push(e);
    }
    out.hasMore = skip + ids.length < out.totalCount;
    return out;
  }

  /** Every entry of the time range matching the filters, newest or oldest first, in chunks (CSV export, reports). */
  async *entries(q: Omit<AuditQuery, 'page' | 'pageSize'>, newestFirst = true): AsyncGenerator<AuditEntry> {
    await this.flush();
    const range = this.idRange(q.startMs, q.endMs);
    if (!range) return;
    const [lo, hi] = range;
    const filters = filtersOf(q);
    if (filters.length === 0 || !newestFirst) {
      for await (const chunk of this.engine.scanChunks(ks, { gte: entryKey(lo), lte: entryKey(hi), reverse: newestFirst }, 512, 64)) {
        for (const [, v] of chunk) {
          const e = parseStored(v.toString('utf8')).entry;
          if (filters.every(([f, x]) => String(e[f]) === String(x))) yield e;
        }
      }
      return;
    }
    for await (const id of intersect(filters.map(([f, v]) => this.idsOf(f, String(v), lo, hi)))) {
      const e = this.entry(id);
      if (e && filters.every(([f, v]) => String(e[f]) === String(v))) yield e;
    }
  }

  /**
   * Walk the chain from the first retained entry: each entry's stored hash
   * must be the hash of its content and its predecessor's hash, and ids must
   * follow each other. An entry altered, removed or inserted in LevelDB
   * breaks it at that entry.
   */
  async verify(): Promise<VerifyResult> {
    await this.flush();
    const anchorBuf = await this.engine.get(ks, ANCHOR);
    let prev = anchorBuf === undefined ? GENESIS_HASH : anchorBuf.toString('utf8');
    let expected: number | undefined;
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
    for await (const chunk of this.engine.scanChunks(ks, rangeOf(E), 1024, 64)) {
      for (const [k, v] of chunk) {
        const keyId = seqCodec.decode(k.subarray(1));
        let e: ReturnType<typeof parseStored>;
        try {
          e = parseStored(v.toString('utf8'));
        } catch {
          return broken(keyId, 'the stored entry is not a valid entry');
        }
        first ??= keyId;
        last = keyId;
        if (e.entry.id !== keyId) return broken(keyId, `the entry stored under id ${keyId} says id ${e.entry.id}`);
        if (expected !== undefined && keyId !== expected) return broken(keyId, `entries ${expected}..${keyId - 1} are missing`);
        if (e.prevHash !== prev) return broken(keyId, 'the link to the previous entry does not match its hash');
        if (chainHash(prev, e.canonical) !== e.hash) return broken(keyId, 'the entry does not match its hash (altered)');
        prev = e.hash;
        expected = keyId + 1;
        checked++;
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
    await this.flush();
    if (this.broken) throw new ThemisError('UNAVAILABLE', 'the audit log cannot be written until a restart');
    const batch = new WriteBatch();
    let n = 0;
    let anchor: string | undefined;
    let lastDeleted = 0;
    const prefixes = new Map<string, Buffer>();
    for await (const [k, v] of this.engine.scan(ks, { ...rangeOf(E), limit: max })) {
      const e = parseStored(v.toString('utf8'));
      if (Date.parse(e.entry.timestamp) >= cutoffMs) break;
      batch.del(ks, k);
      for (const f of FILTER_FIELDS) {
        const x = e.entry[f];
        if (x !== null && x !== undefined) prefixes.set(`${f}\u0000${String(x)}`, indexPrefix(f, String(x)));
      }
      anchor = e.hash;
      lastDeleted = e.entry.id;
      n++;
    }
    if (n === 0) return 0;
    // Index chunks: drop the deleted ids (a chunk left empty goes; queries never look below the first retained id anyway).
    for (const prefix of prefixes.values()) {
      for await (const [k, v] of this.engine.scan(ks, {
        gte: Buffer.concat([prefix, seqCodec.encode(0)]),
        lte: Buffer.concat([prefix, seqCodec.encode(lastDeleted)]),
      })) {
        const keep: number[] = [];
        for (let i = 0; i < v.length; i += 8) {
          const id = readId(v, i);
          if (id > lastDeleted) keep.push(id);
        }
        batch.del(ks, k);
        if (keep.length > 0) {
          const packed = Buffer.allocUnsafe(keep.length * 8);
          for (let i = 0; i < keep.length; i++) writeId(packed, i * 8, keep[i]!);
          batch.put(ks, Buffer.concat([prefix, seqCodec.encode(keep[0]!)]), packed);
        }
      }
    }
    batch.put(ks, ANCHOR, Buffer.from(anchor!, 'utf8'));
    await this.engine.commit(batch);
    this.firstId = lastDeleted + 1;
    return n;
  }

  /** Entries older than `cutoffMs` (retention report). */
  async countBefore(cutoffMs: number): Promise<number> {
    await this.flush();
    if (this.lastId < this.firstId) return 0;
    return this.firstIdAtOrAfter(cutoffMs) - this.firstId;
  }

  /** Entries retained, the oldest entry's time (retention report). */
  async summary(): Promise<{ count: number; first_id: number; last_id: number; oldest_ms: number | null }> {
    await this.flush();
    const empty = this.lastId < this.firstId;
    return {
      count: empty ? 0 : this.lastId - this.firstId + 1,
      first_id: this.firstId,
      last_id: this.lastId,
      oldest_ms: empty ? null : this.timeOf(this.firstId),
    };
  }

  /** Entries assigned (stored or on their way) and waiting. */
  stats(): { last_id: number; first_id: number; pending: number; written: number; level: AuditLevel; broken: boolean } {
    return {
      last_id: this.lastId,
      first_id: this.firstId,
      pending: this.pending.length,
      written: this.written,
      level: this.opts.level,
      broken: this.broken !== undefined,
    };
  }
}

const FILTER_FIELDS = Object.keys(AUDIT_FILTERS) as AuditFilterField[];

function filtersOf(q: Pick<AuditQuery, 'eq'>): [AuditFilterField, string | boolean][] {
  return Object.entries(q.eq ?? {}).filter(([, v]) => v !== undefined) as [AuditFilterField, string | boolean][];
}

function entryKey(id: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = E;
  writeId(b, 1, id);
  return b;
}

function writeId(b: Buffer, at: number, id: number): void {
  b.writeUInt32BE(Math.floor(id / 2 ** 32), at);
  b.writeUInt32BE(id >>> 0, at + 4);
}

function readId(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
}

function rangeOf(tag: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.of(tag), lt: Buffer.of(tag + 1) };
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

/** The ids present in every stream (each strictly decreasing), newest first. */
async function* intersect(streams: AsyncGenerator<number>[]): AsyncGenerator<number> {
  if (streams.length === 1) {
    yield* streams[0]!;
    return;
  }
  try {
    const heads: number[] = [];
    for (const s of streams) {
      const r = await s.next();
      if (r.done) return;
      heads.push(r.value);
    }
    for (;;) {
      const target = Math.min(...heads);
      let all = true;
      for (let i = 0; i < streams.length; i++) {
        while (heads[i]! > target) {
          const r = await streams[i]!.next();
          if (r.done) return;
          heads[i] = r.value;
        }
        if (heads[i] !== target) all = false;
      }
      if (!all) continue;
      yield target;
      for (let i = 0; i < streams.length; i++) {
        const r = await streams[i]!.next();
        if (r.done) return;
        heads[i] = r.value;
      }
    }
  } finally {
    for (const s of streams) await s.return(undefined);
  }
}
