import type { AuditLevel } from '../config.js';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Engine, keyspace, seqCodec, WriteBatch } from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';
import { type AuditEntry, type AuditRecord, chainHash, GENESIS_HASH, publicEntry, type StoredEntry } from './entry.js';

/**
 * The audit log (docs/audit.md). Storage, in the `audit` keyspace:
 *
 *   'E' id(8)                      -> the stored entry (JSON, with prevHash and hash)
 *   'I' field(1) len(2) value id(8) -> ''   equality filters (user, user id, action, entity type, entity id, success)
 *   'T' ms(8) id(8)                -> ''   time -> ids
 *   'M' 'anchor'                   -> the hash before the first retained entry (retention cuts the chain's head)
 *
 * Ids and the chain are assigned in one place, synchronously, at the moment
 * an entry's batch is handed to the group committer (which writes batches in
 * the order it got them): entries reach LevelDB in id order, so a crash
 * loses at most a suffix — never a hole, never a broken link.
 *
 * - The entry of a write travels in the write's own batch (the commit
 *   participant), so a committed write always has its entry.
 * - Entries of other requests wait in memory at most `flushMs` (or ride along
 *   in the next commit's batch); the request path never waits for them. A
 *   query of the log first flushes, so it sees every request already answered.
 */

const ks = keyspace('audit');
const E = 0x45; // 'E'
const I = 0x49; // 'I'
const T = 0x54; // 'T'
const ANCHOR = Buffer.from('Manchor', 'latin1');

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

  /** Load the chain's head: the last entry's id, hash and time, and the first retained id. */
  async open(): Promise<void> {
    for await (const [, v] of this.engine.scan(ks, { ...rangeOf(E), reverse: true, limit: 1 })) {
      const e = JSON.parse(v.toString('utf8')) as StoredEntry;
      this.lastId = e.id;
      this.lastHash = e.hash;
      this.lastMs = Date.parse(e.timestamp);
    }
    for await (const [k] of this.engine.scan(ks, { ...rangeOf(E), limit: 1 })) this.firstId = seqCodec.decode(k.subarray(1));
    if (this.lastId === 0) this.firstId = 1;
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
      this.clearTimer();
      c.origin!.recordedId = this.assign(rec, batch, this.now()).id;
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

  /** Record a request's entry: written within `flushMs` (or with the next commit), never waited for. */
  record(r: AuditRecord): void {
    if (this.opts.level === 'off' || this.broken || this.closed) return;
    this.pending.push([r, this.now()]);
    if (this.pending.length >= MAX_PENDING) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Write what waits; resolves once it (and every entry assigned before) is durable. */
  flush(): Promise<void> {
    this.clearTimer();
    if (this.pending.length > 0 && !this.broken) {
      const batch = new WriteBatch();
      for (const [r, ms] of this.pending) this.assign(r, batch, ms);
      this.pending = [];
      this.lastWrite = this.engine.commit(batch).catch((e: unknown) => {
        this.broken ??= e instanceof Error ? e : new Error(String(e));
        this.log.error('audit entries could not be written; no more are written until a restart', { error: e });
        throw e;
      });
    }
    return this.lastWrite;
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

  /** Give `r` the next id, its time (never before the previous entry's) and its link in the chain; add it and its index keys to `batch`. */
  private assign(r: AuditRecord, batch: WriteBatch, at: number): StoredEntry {
    const id = ++this.lastId;
    const ms = Math.max(at, this.lastMs);
    this.lastMs = ms;
    const e: AuditEntry = { id, timestamp: new Date(ms).toISOString(), ...r };
    const prevHash = this.lastHash;
    const hash = chainHash(prevHash, e);
    this.lastHash = hash;
    const stored: StoredEntry = { ...publicEntry(e), prevHash, hash };
    const idKey = seqCodec.encode(id);
    batch.put(ks, Buffer.concat([Buffer.of(E), idKey]), Buffer.from(JSON.stringify(stored), 'utf8'));
    batch.put(ks, Buffer.concat([Buffer.of(T), seqCodec.encode(ms), idKey]), EMPTY);
    for (const f of Object.keys(AUDIT_FILTERS) as AuditFilterField[]) {
      const v = e[f];
      if (v === null || v === undefined) continue;
      batch.put(ks, Buffer.concat([indexPrefix(f, String(v)), idKey]), EMPTY);
    }
    this.written++;
    return stored;
  }

  // ------------------------------------------------------------------ reading

  /** Ids `lo..hi` (inclusive) of the entries in [startMs, endMs]; undefined when none. */
  private async idRange(startMs?: number, endMs?: number): Promise<[number, number] | undefined> {
    if (this.lastId < this.firstId) return undefined;
    let lo = this.firstId;
    let hi = this.lastId;
    if (startMs !== undefined) {
      let found: number | undefined;
      for await (const [k] of this.engine.scan(ks, {
        gte: Buffer.concat([Buffer.of(T), seqCodec.encode(Math.max(0, startMs))]),
        lt: Buffer.of(T + 1),
        limit: 1,
      }))
        found = seqCodec.decode(k.subarray(9, 17));
      if (found === undefined) return undefined;
      lo = Math.max(lo, found);
    }
    if (endMs !== undefined) {
      if (endMs < 0) return undefined;
      let found: number | undefined;
      for await (const [k] of this.engine.scan(ks, {
        gte: Buffer.of(T),
        lt: Buffer.concat([Buffer.of(T), seqCodec.encode(Math.min(Number.MAX_SAFE_INTEGER, endMs + 1))]),
        reverse: true,
        limit: 1,
      }))
        found = seqCodec.decode(k.subarray(9, 17));
      if (found === undefined) return undefined;
      hi = Math.min(hi, found);
    }
    return lo <= hi ? [lo, hi] : undefined;
  }

  /** Ids of one equality filter within [lo, hi], newest first, from its index. */
  private async *idsOf(f: AuditFilterField, value: string, lo: number, hi: number): AsyncGenerator<number> {
    const prefix = indexPrefix(f, value);
    const gte = Buffer.concat([prefix, seqCodec.encode(lo)]);
    const lte = Buffer.concat([prefix, seqCodec.encode(hi)]);
    for await (const chunk of this.engine.scanChunks(ks, { gte, lte, reverse: true }, 1024, 64))
      for (const [k] of chunk) yield seqCodec.decode(k.subarray(k.length - 8));
  }

  /** The stored entry `id` (undefined when retention removed it). */
  entry(id: number): StoredEntry | undefined {
    const v = this.engine.getSync(ks, Buffer.concat([Buffer.of(E), seqCodec.encode(id)]));
    return v === undefined ? undefined : (JSON.parse(v.toString('utf8')) as StoredEntry);
  }

  /**
   * A page of entries, newest first. The time range becomes an id range (the
   * time index), each equality filter an id stream from its index, and the
   * streams are intersected; entries are read only for the page. The count
   * walks the index keys of the matches (no entry is read for it).
   */
  async query(q: AuditQuery): Promise<AuditPage> {
    await this.flush();
    const out: AuditPage = { entries: [], totalCount: 0, page: q.page, pageSize: q.pageSize, hasMore: false };
    const range = await this.idRange(q.startMs, q.endMs);
    if (!range) return out;
    const [lo, hi] = range;
    const skip = (q.page - 1) * q.pageSize;
    const filters = Object.entries(q.eq ?? {}).filter(([, v]) => v !== undefined) as [AuditFilterField, string | boolean][];
    const ids: number[] = [];
    if (filters.length === 0) {
      out.totalCount = hi - lo + 1;
      for (let id = hi - skip; id >= lo && ids.length < q.pageSize; id--) ids.push(id);
    } else {
      const streams = filters.map(([f, v]) => this.idsOf(f, String(v), lo, hi));
      let n = 0;
      for await (const id of intersect(streams)) {
        if (n >= skip && ids.length < q.pageSize) ids.push(id);
        n++;
      }
      out.totalCount = n;
    }
    for (const id of ids) {
      const e = this.entry(id);
      // Index values are cut at MAX_INDEX_VALUE bytes: check longer ones on the entry.
      if (e && filters.every(([f, v]) => String(e[f]) === String(v))) out.entries.push(publicEntry(e));
    }
    out.hasMore = skip + ids.length < out.totalCount;
    return out;
  }

  /** Every entry of the time range matching the filters, oldest or newest first, in chunks (CSV export, reports). */
  async *entries(q: Omit<AuditQuery, 'page' | 'pageSize'>, newestFirst = true): AsyncGenerator<AuditEntry> {
    await this.flush();
    const range = await this.idRange(q.startMs, q.endMs);
    if (!range) return;
    const [lo, hi] = range;
    const filters = Object.entries(q.eq ?? {}).filter(([, v]) => v !== undefined) as [AuditFilterField, string | boolean][];
    if (filters.length === 0 || !newestFirst) {
      const opts = {
        gte: Buffer.concat([Buffer.of(E), seqCodec.encode(lo)]),
        lte: Buffer.concat([Buffer.of(E), seqCodec.encode(hi)]),
        reverse: newestFirst,
      };
      for await (const chunk of this.engine.scanChunks(ks, opts, 512, 64)) {
        for (const [, v] of chunk) {
          const e = JSON.parse(v.toString('utf8')) as StoredEntry;
          if (filters.every(([f, x]) => String(e[f]) === String(x))) yield publicEntry(e);
        }
      }
      return;
    }
    for await (const id of intersect(filters.map(([f, v]) => this.idsOf(f, String(v), lo, hi)))) {
      const e = this.entry(id);
      if (e && filters.every(([f, v]) => String(e[f]) === String(v))) yield publicEntry(e);
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
        let e: StoredEntry;
        try {
          e = JSON.parse(v.toString('utf8')) as StoredEntry;
        } catch {
          return broken(keyId, 'the stored entry is not valid JSON');
        }
        first ??= keyId;
        last = keyId;
        if (e.id !== keyId) return broken(keyId, `the entry stored under id ${keyId} says id ${e.id}`);
        if (expected !== undefined && keyId !== expected) return broken(keyId, `entries ${expected}..${keyId - 1} are missing`);
        if (e.prevHash !== prev) return broken(keyId, 'the link to the previous entry does not match its hash');
        if (chainHash(prev, e) !== e.hash) return broken(keyId, 'the entry does not match its hash (altered)');
        prev = e.hash;
        expected = keyId + 1;
        checked++;
      }
    }
    return { ok: true, checked, first_id: first, last_id: last, first_broken_id: null, reason: null };
  }

  /**
   * Retention: delete up to `max` of the oldest entries older than `cutoffMs`
   * (with their index keys), moving the chain's anchor to the last deleted
   * entry's hash so `verify` still checks the first retained one.
   */
  async deleteOlderThan(cutoffMs: number, max: number): Promise<number> {
    await this.flush();
    if (this.broken) throw new ThemisError('UNAVAILABLE', 'the audit log cannot be written until a restart');
    const batch = new WriteBatch();
    let n = 0;
    let anchor: string | undefined;
    let lastDeleted = 0;
    for await (const [k, v] of this.engine.scan(ks, { ...rangeOf(E), limit: max })) {
      const e = JSON.parse(v.toString('utf8')) as StoredEntry;
      if (Date.parse(e.timestamp) >= cutoffMs) break;
      const idKey = k.subarray(1);
      batch.del(ks, k);
      batch.del(ks, Buffer.concat([Buffer.of(T), seqCodec.encode(Date.parse(e.timestamp)), idKey]));
      for (const f of Object.keys(AUDIT_FILTERS) as AuditFilterField[]) {
        const x = e[f];
        if (x !== null && x !== undefined) batch.del(ks, Buffer.concat([indexPrefix(f, String(x)), idKey]));
      }
      anchor = e.hash;
      lastDeleted = e.id;
      n++;
    }
    if (n === 0) return 0;
    batch.put(ks, ANCHOR, Buffer.from(anchor!, 'utf8'));
    await this.engine.commit(batch);
    this.firstId = lastDeleted + 1;
    return n;
  }

  /** Entries older than `cutoffMs` (retention report). */
  async countBefore(cutoffMs: number): Promise<number> {
    await this.flush();
    if (this.lastId < this.firstId) return 0;
    for await (const [k] of this.engine.scan(ks, {
      gte: Buffer.concat([Buffer.of(T), seqCodec.encode(Math.max(0, cutoffMs))]),
      lt: Buffer.of(T + 1),
      limit: 1,
    }))
      return Math.max(0, seqCodec.decode(k.subarray(9, 17)) - this.firstId);
    return this.lastId - this.firstId + 1;
  }

  /** Entries retained, the oldest entry's time (retention report). */
  async summary(): Promise<{ count: number; first_id: number; last_id: number; oldest_ms: number | null }> {
    await this.flush();
    let oldest: number | null = null;
    for await (const [, v] of this.engine.scan(ks, { ...rangeOf(E), limit: 1 }))
      oldest = Date.parse((JSON.parse(v.toString('utf8')) as StoredEntry).timestamp);
    return { count: Math.max(0, this.lastId - this.firstId + 1), first_id: this.firstId, last_id: this.lastId, oldest_ms: oldest };
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

const EMPTY = Buffer.alloc(0);

function rangeOf(tag: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.of(tag), lt: Buffer.of(tag + 1) };
}

/** 'I' field len(2) value: a unique prefix per (field, value). */
function indexPrefix(f: AuditFilterField, value: string): Buffer {
  let v = Buffer.from(value, 'utf8');
  if (v.length > MAX_INDEX_VALUE) v = v.subarray(0, MAX_INDEX_VALUE);
  const head = Buffer.allocUnsafe(4);
  head[0] = I;
  head[1] = AUDIT_FILTERS[f];
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
