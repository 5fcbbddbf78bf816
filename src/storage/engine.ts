import fs from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { ClassicLevel } from 'classic-level';
import { ThemisError } from '../errors.js';
import { GroupCommitter, type GroupCommitStats } from './group-commit.js';
import {
  describeStorageFailure,
  publicFailure,
  storageFailureError,
  type PublicStorageFailure,
  type StorageFailure,
} from './storage-failure.js';
import { type Keyspace, allKeyspaces, keyspace } from './keyspace.js';
import { WriteBatch, type BatchOp } from './write-batch.js';

type DB = ClassicLevel<Buffer, Buffer>;
type LevelSnapshot = ReturnType<DB['snapshot']>;

export interface EngineOptions {
  /** `true`: fsync every group (durability mode `sync`); `false`: OS-buffered (`relaxed`). */
  sync: boolean;
  /** LevelDB block cache (bytes). */
  cacheSize?: number;
  /** LevelDB memtable size (bytes). */
  writeBufferSize?: number;
  onGroupCommit?: (commits: number, ops: number, seconds: number) => void;
  /** Upper bound on the operations of one group commit (default 50,000; tests make groups split with a small one). */
  maxGroupOps?: number;
  /** The first failed write (disk full, I/O error): from then on every commit is refused. */
  onFailure?: (f: StorageFailure) => void;
}

export interface ScanOptions {
  gte?: Buffer;
  gt?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
  limit?: number;
  reverse?: boolean;
  snapshot?: Snapshot;
  /** Keys only: entries come with an empty value (LevelDB copies no value, and no value Buffer is made per entry). */
  keysOnly?: boolean;
}

const NO_VALUE = Buffer.alloc(0);

export interface EngineStats {
  status: string;
  durability: 'sync' | 'relaxed';
  bytes_written: number;
  bytes_read: number;
  reads: number;
  open_snapshots: number;
  /** Why writes are refused (null while they work). */
  write_failure: PublicStorageFailure | null;
  group_commit: GroupCommitStats & { queued: number; avg_commits_per_group: number };
}

/** On-disk format version of the key space. Bump on incompatible change. */
export const FORMAT_VERSION = 1;
const FORMAT_KEY = Buffer.from('format_version');

/**
 * The storage engine: one LevelDB, keyspaces, atomic batches through group
 * commit, explicit snapshots. Public methods check state and arguments, then
 * delegate to the private ones (the abstract-level split). Nothing here knows
 * about HTTP; failures are ThemisErrors (UNAVAILABLE when the store is not
 * open) or the LevelDB error as `cause`.
 */
/** A group hook (Engine.onGroup): given how many commits of the group carry its tag, the operations to add (or nothing). */
export type GroupHook = (tagged: number) => WriteBatch | undefined;

/** nextv stops filling a chunk once its entries exceed this many bytes (classic-level's highWaterMarkBytes). */
const HIGH_WATER_MARK_BYTES = 256 * 1024;

/** Bounds below and above every key of the store (keys start with a keyspace byte below 0xff). */
const RAW_FIRST = Buffer.of(0x00);
const RAW_LAST = Buffer.alloc(8, 0xff);

export class Engine {
  private readonly committer: GroupCommitter;
  private readonly snapshots = new Set<Snapshot>();
  private readonly groupHooks = new Map<string, GroupHook>();
  private bytesWritten = 0;
  private bytesRead = 0;
  /** LevelDB writes completed (writeEpoch). */
  private writes = 0;
  private reads = 0;
  private closing = false;
  private failureRef: StorageFailure | undefined;

  private constructor(
    private readonly db: DB,
    readonly location: string,
    private readonly opts: EngineOptions,
  ) {
    this.committer = new GroupCommitter((ops, sync) => this._write(ops, sync), {
      sync: opts.sync,
      ...(opts.onGroupCommit ? { onGroup: opts.onGroupCommit } : {}),
      beforeGroup: (tags) => this.runGroupHooks(tags),
      ...(opts.maxGroupOps !== undefined ? { maxGroupOps: opts.maxGroupOps } : {}),
    });
  }

  static async open(location: string, opts: EngineOptions): Promise<Engine> {
    await fs.mkdir(location, { recursive: true });
    const db: DB = new ClassicLevel<Buffer, Buffer>(location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing: true,
      cacheSize: opts.cacheSize ?? 64 * 1024 * 1024,
      writeBufferSize: opts.writeBufferSize ?? 16 * 1024 * 1024,
    });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause;
      const detail = cause?.message ?? (e as Error).message;
      if (/lock/i.test(detail)) {
        throw new ThemisError('UNAVAILABLE', `data directory ${location} is in use by another process`, { cause: e });
      }
      if (describeStorageFailure(detail).kind === 'disk_full') {
        // Opening writes: LevelDB turns its log into a table and starts a new log.
        throw new ThemisError(
          'INSUFFICIENT_STORAGE',
          `cannot open LevelDB at ${location}: the disk is full (${detail}); free space and start again`,
          { cause: e },
        );
      }
      throw new ThemisError('UNAVAILABLE', `cannot open LevelDB at ${location}: ${detail}`, { cause: e });
    }
    const engine = new Engine(db, location, opts);
    await engine.checkFormat();
    return engine;
  }

  get isOpen(): boolean {
    return this.db.status === 'open' && !this.closing;
  }

  // ------------------------------------------------------------- reads

  /** Point read of the latest committed value (or as of `snapshot`). */
  async get(ks: Keyspace, innerKey: Uint8Array, snapshot?: Snapshot): Promise<Buffer | undefined> {
    this.assertOpen();
    if (snapshot) snapshot.assertOpen();
    const k = ks.key(innerKey);
    return this.countRead(snapshot ? await this.db.get(k, { snapshot: snapshot.handle }) : await this.db.get(k));
  }

  /**
   * Synchronous point read on the event loop. LevelDB serves it from the
   * memtable or block cache in microseconds; it saves the thread-pool round
   * trip that dominates small reads. Use for single-key lookups only.
   */
  getSync(ks: Keyspace, innerKey: Uint8Array, snapshot?: Snapshot): Buffer | undefined {
    this.assertOpen();
    if (snapshot) snapshot.assertOpen();
    const k = ks.key(innerKey);
    return this.countRead(snapshot ? this.db.getSync(k, snapshot.readOptions) : this.db.getSync(k));
  }

  /**
   * Ordered scan of full keys in [range]; yields [innerKey, value]. Reads
   * start with small chunks that grow to 256 entries: a caller that stops
   * after a few entries (LIMIT, first match) does not pay for a full chunk.
   */
  async *scan(ks: Keyspace, opts: ScanOptions = {}): AsyncGenerator<[Buffer, Buffer]> {
    for await (const chunk of this.scanChunks(ks, opts, 256, 32)) for (const e of chunk) yield e;
  }

  /**
   * The same scan in chunks of up to `size` entries (one LevelDB nextv each):
   * for bulk loads, where a generator step per entry would cost more than the entry.
   */
  async *scanChunks(ks: Keyspace, opts: ScanOptions = {}, size = 1024, firstSize = size): AsyncGenerator<[Buffer, Buffer][]> {
    yield* this.chunks(this.iteratorFor(ks, opts), size, firstSize, 1, (k: Buffer, v: Buffer | undefined) => [ks.strip(k), v ?? NO_VALUE]);
  }

  /**
   * scanChunks for a keyspace whose keys and values are UTF-8 text (the
   * documents': table, 0x00, pk; a format byte, JSON): entries as strings,
   * keys without the keyspace byte. The binding makes a string per key and
   * value instead of a Buffer, which costs less than half as much per entry.
   * (bytes_read then counts characters: exact for ASCII, an estimate otherwise.)
   */
  async *scanTextChunks(ks: Keyspace, opts: ScanOptions = {}, size = 1024, firstSize = size): AsyncGenerator<[string, string][]> {
    // A UTF-16 unit is at most 3 UTF-8 bytes: the bound on what LevelDB counted against its byte limit.
    yield* this.chunks(this.iteratorFor(ks, opts, 'utf8'), size, firstSize, 3, (k: string, v: string | undefined) => [k.slice(1), v ?? '']);
  }

  /**
   * An iterator's entries in chunks of `firstSize`, then growing ×4 up to
   * `size` (one LevelDB nextv each), each entry made by `entry`; the
   * iterator is closed when the consumer stops. `bytesPerUnit`: the most
   * bytes one unit of an entry's length stands for (1 for Buffers; 3 for
   * strings, whose length counts UTF-16 units).
   */
  private async *chunks<K extends Buffer | string, V extends Buffer | string>(
    it: { nextv(n: number): Promise<unknown>; close(): Promise<void> },
    size: number,
    firstSize: number,
    bytesPerUnit: number,
    entry: (k: K, v: V | undefined) => [K, V],
  ): AsyncGenerator<[K, V][]> {
    let n = Math.min(firstSize, size);
    try {
      for (; ; n = Math.min(n * 4, size)) {
        const entries = (await it.nextv(n)) as [K, V | undefined][];
        if (entries.length === 0) break;
        const out: [K, V][] = new Array(entries.length);
        let units = 0;
        for (let i = 0; i < entries.length; i++) {
          const [k, v] = entries[i]!;
          units += k.length + (v?.length ?? 0);
          const e = entry(k, v);
          this.reads++;
          this.bytesRead += e[1].length;
          out[i] = e;
        }
        yield out;
        // Fewer entries than asked for, and certainly not past the byte limit (where LevelDB also stops a read):
        // the range is exhausted (saves the thread-pool round trip of asking again).
        if (entries.length < n && units * bytesPerUnit <= HIGH_WATER_MARK_BYTES) break;
      }
    } finally {
      // Closing needs no wait: nothing else uses the iterator, and closing the database closes it.
      it.close().catch(() => undefined);
    }
  }

  /** A LevelDB iterator over `opts` within keyspace `ks` (entries as Buffers, or as strings for 'utf8'). */
  private iteratorFor(ks: Keyspace, opts: ScanOptions, encoding: 'buffer' | 'utf8' = 'buffer') {
    this.assertOpen();
    const bounds = { ...ks.range() };
    const o: Record<string, unknown> = { reverse: opts.reverse ?? false };
    if (opts.gte || opts.gt) delete (bounds as Partial<typeof bounds>).gte;
    if (opts.lt || opts.lte) delete (bounds as Partial<typeof bounds>).lt;
    Object.assign(o, bounds);
    if (opts.gte) o.gte = ks.key(opts.gte);
    if (opts.gt) o.gt = ks.key(opts.gt);
    if (opts.lt) o.lt = ks.key(opts.lt);
    if (opts.lte) o.lte = ks.key(opts.lte);
    if (opts.limit !== undefined) o.limit = opts.limit;
    if (opts.keysOnly) o.values = false;
    if (opts.snapshot) {
      opts.snapshot.assertOpen();
      o.snapshot = opts.snapshot.handle;
    }
    if (encoding === 'utf8') {
      // The range's bounds are then read as UTF-8 text too: bytes that are not would silently become U+FFFD.
      for (const b of ['gt', 'gte', 'lt', 'lte'] as const) {
        const x = o[b] as Buffer | undefined;
        if (x !== undefined && !isUtf8(x)) throw new TypeError(`a text scan's ${b} bound is not UTF-8`);
      }
      o.keyEncoding = 'utf8';
      o.valueEncoding = 'utf8';
    }
    o.highWaterMarkBytes = HIGH_WATER_MARK_BYTES;
    return this.db.iterator(o);
  }

  // ------------------------------------------------------------- writes

  /**
   * Delete every key of `ks` in [gte, lt), a chunk of keys per commit (not
   * atomic as a whole: for derived data that is rebuilt, or redone after a
   * crash).
   */
  async deleteRange(ks: Keyspace, range: { gte: Buffer; lt: Buffer }): Promise<void> {
    for await (const chunk of this.scanChunks(ks, range, 4096, 4096)) {
      const batch = new WriteBatch();
      for (const [k] of chunk) batch.del(ks, k);
      await this.commit(batch);
    }
  }

  /**
   * Compact the keys of `ks` in [gte, lt) (keys inside the keyspace, as for
   * scan; the whole keyspace without a range): LevelDB flushes the memtable
   * and rewrites the table files overlapping the range, dropping overwritten
   * and deleted versions (those a live snapshot still sees are kept) and
   * removing the old files.
   */
  async compact(ks: Keyspace, range?: { gte: Buffer; lt: Buffer }): Promise<void> {
    this.assertOpen();
    const r = range ? { gte: ks.key(range.gte), lt: ks.key(range.lt) } : ks.range();
    await this.db.compactRange(r.gte, r.lt);
  }

  /**
   * Compact every key in [gte, lt) of the whole store (full LevelDB keys;
   * either bound open: from the first or to the last key). The same as
   * `compact`, across keyspaces (POST /admin/compact).
   */
  async compactRaw(gte?: Buffer, lt?: Buffer): Promise<void> {
    this.assertOpen();
    await this.db.compactRange(gte ?? RAW_FIRST, lt ?? RAW_LAST);
  }

  /**
   * Every key and value of the store as of `snapshot`, in key order and in
   * chunks (one LevelDB nextv each, about 256 KiB): full LevelDB keys, every
   * keyspace, nothing stripped. For an online backup, which must copy what it
   * does not know as well.
   */
  async *dump(snapshot: Snapshot, size = 1024): AsyncGenerator<[Buffer, Buffer][]> {
    this.assertOpen();
    snapshot.assertOpen();
    const o: Record<string, unknown> = { snapshot: snapshot.handle, highWaterMarkBytes: HIGH_WATER_MARK_BYTES };
    const it = this.db.iterator(o);
    try {
      for (;;) {
        snapshot.assertOpen();
        const entries = await it.nextv(size);
        if (entries.length === 0) break;
        for (const [, v] of entries) this.countRead(v);
        yield entries as [Buffer, Buffer][];
      }
    } finally {
      it.close().catch(() => undefined);
    }
  }

  /**
   * Apply a batch atomically. Resolves once the batch is durable under the
   * configured mode (fsynced in `sync` mode); concurrent commits share one
   * LevelDB write (group commit).
   */
  async commit(batch: WriteBatch): Promise<void> {
    this.assertOpen();
    if (batch.length === 0 && batch.tags === undefined) return;
    // _write hands operations to LevelDB unchecked: refuse a malformed batch whole, here.
    for (const op of batch.ops) {
      if (!Buffer.isBuffer(op.key) || (op.type === 'put' ? !Buffer.isBuffer(op.value) : op.type !== 'del')) {
        throw new TypeError('malformed batch operation: keys and values must be Buffers, type put or del');
      }
    }
    if (this.failureRef) throw storageFailureError(this.failureRef);
    this.bytesWritten += batch.byteLength;
    try {
      await this.committer.commit(batch.ops, batch.tags);
    } catch (e) {
      // The first failure is recorded; the group committer fails everything queued behind it and refuses
      // later commits, so no later batch can land after a failed one (sequence numbers stay gap-free).
      const first = this.failureRef === undefined;
      this.failureRef ??= describeStorageFailure(e);
      if (first) this.opts.onFailure?.(this.failureRef);
      throw storageFailureError(this.failureRef, first, e);
    }
  }

  /**
   * Register the group hook `name`: when the group committer forms a LevelDB
   * batch that carries commits tagged `name` (WriteBatch.tag), `hook` is
   * called with their number, synchronously and in the order groups are
   * written, and what it returns is written in that same batch — atomically
   * with those commits. One hook per name (a later registration replaces
   * it); the returned function removes it.
   */
  onGroup(name: string, hook: GroupHook): () => void {
    this.groupHooks.set(name, hook);
    return () => {
      if (this.groupHooks.get(name) === hook) this.groupHooks.delete(name);
    };
  }

  private runGroupHooks(tags: ReadonlyMap<string, number>): BatchOp[] | undefined {
    let out: BatchOp[] | undefined;
    for (const [name, n] of tags) {
      const b = this.groupHooks.get(name)?.(n);
      if (b === undefined || b.length === 0) continue;
      this.bytesWritten += b.byteLength;
      out = out === undefined ? b.ops : out.concat(b.ops);
    }
    return out;
  }

  /** The write failure that stopped writes (undefined while writes work). */
  get failure(): StorageFailure | undefined {
    return this.failureRef;
  }

  /**
   * Write a (group-commit) batch. Our operations are already in LevelDB's
   * encoded form ({type, key: Buffer, value: Buffer}, built and checked by
   * WriteBatch), so they go to classic-level's `_batch`, the implementation
   * method abstract-level defines for stores, skipping abstract-level's
   * public `batch()`, which clones and re-encodes every operation: that
   * copy was a third of the main thread's time under durable write load.
   * Nothing here uses abstract-level's hooks or write events.
   */
  private _write(ops: BatchOp[], sync: boolean): Promise<void> {
    const direct = (this.db as unknown as { _batch?: (ops: BatchOp[], o: { sync: boolean }) => Promise<void> })._batch;
    const written = typeof direct === 'function' ? direct.call(this.db, ops, { sync }) : this.db.batch(ops as never, { sync });
    // Counted before anything waiting on the write runs (commit participants' `applied` among them).
    return written.then(() => {
      this.writes++;
    });
  }

  /**
   * LevelDB writes completed so far, as the main thread knows them. A
   * snapshot records it at creation (Snapshot.epoch): it sees at least the
   * writes counted by then (a write LevelDB finished whose completion has
   * not reached JavaScript yet may be visible too). Caches of derived
   * reads (the equality posting cache) compare it with when an entry last
   * changed.
   */
  get writeEpoch(): number {
    return this.writes;
  }

  // ------------------------------------------------------------- snapshots

  /** An explicit, consistent point-in-time view. Must be closed. */
  snapshot(): Snapshot {
    this.assertOpen();
    const s = new Snapshot(this.db.snapshot(), (x) => this.snapshots.delete(x), this.writes);
    this.snapshots.add(s);
    return s;
  }

  // ------------------------------------------------------------- introspection

  /** LevelDB property (`leveldb.stats`, `leveldb.sstables`, `leveldb.num-files-at-level0`, ...). */
  property(name: string): string {
    this.assertOpen();
    return this.db.getProperty(name);
  }

  async approximateSize(ks?: Keyspace): Promise<number> {
    this.assertOpen();
    if (ks) {
      const r = ks.range();
      return this.db.approximateSize(r.gte, r.lt);
    }
    return this.db.approximateSize(RAW_FIRST, RAW_LAST);
  }

  /** Approximate on-disk size of the full keys in [gte, lt) (either bound open). */
  async approximateRawSize(gte?: Buffer, lt?: Buffer): Promise<number> {
    this.assertOpen();
    return this.db.approximateSize(gte ?? RAW_FIRST, lt ?? RAW_LAST);
  }

  /** Approximate on-disk size of the keys in `ks` starting with `innerPrefix`. */
  async approximateRange(ks: Keyspace, innerPrefix: Uint8Array): Promise<number> {
    this.assertOpen();
    const r = ks.range(innerPrefix);
    return this.db.approximateSize(r.gte, r.lt);
  }

  async keyspaceSizes(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const ks of allKeyspaces()) {
      const n = await this.approximateSize(ks);
      if (n > 0) out[ks.name] = n;
    }
    return out;
  }

  stats(): EngineStats {
    const gc = this.committer.stats;
    return {
      status: this.isOpen ? 'open' : this.db.status,
      durability: this.opts.sync ? 'sync' : 'relaxed',
      bytes_written: this.bytesWritten,
      bytes_read: this.bytesRead,
      reads: this.reads,
      open_snapshots: this.snapshots.size,
      write_failure: this.failureRef ? publicFailure(this.failureRef) : null,
      group_commit: {
        ...gc,
        queued: this.committer.queued,
        avg_commits_per_group: gc.groups === 0 ? 0 : Math.round((gc.commits / gc.groups) * 100) / 100,
      },
    };
  }

  /** Probe that the store answers reads (for /health). */
  healthy(): boolean {
    if (!this.isOpen) return false;
    try {
      this.db.getSync(keyspace('meta').key(FORMAT_KEY));
      return true;
    } catch {
      return false;
    }
  }

  /** Wait for queued commits, release snapshots, close LevelDB. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.committer.idle();
    for (const s of [...this.snapshots]) s.close();
    await this.db.close();
  }

  // ------------------------------------------------------------- internals

  private assertOpen(): void {
    if (!this.isOpen) throw new ThemisError('UNAVAILABLE', 'storage is not open');
  }

  private countRead(v: Buffer | undefined): Buffer | undefined {
    this.reads++;
    if (v !== undefined) this.bytesRead += v.length;
    return v;
  }

  private async checkFormat(): Promise<void> {
    const meta = keyspace('meta');
    const raw = this.db.getSync(meta.key(FORMAT_KEY));
    if (raw === undefined) {
      const b = new WriteBatch().put(meta, FORMAT_KEY, Buffer.from(String(FORMAT_VERSION)));
      await this._write(b.ops, true);
      return;
    }
    const v = Number(raw.toString());
    if (v > FORMAT_VERSION) {
      await this.db.close();
      throw new ThemisError('UNAVAILABLE', `data directory has format ${v}, this server understands up to ${FORMAT_VERSION}`);
    }
  }
}

/** A LevelDB snapshot. Reads through it see the store as of its creation. */
export class Snapshot {
  private closed = false;
  /** Options for point reads at this snapshot, built once (with the encodings given, abstract-level does not clone them per read). */
  readonly readOptions: { snapshot: LevelSnapshot; keyEncoding: 'buffer'; valueEncoding: 'buffer' };
  constructor(
    readonly handle: LevelSnapshot,
    private readonly onClose: (s: Snapshot) => void,
    /** Engine.writeEpoch when it was taken: it sees at least that many completed writes. */
    readonly epoch: number,
  ) {
    this.readOptions = { snapshot: handle, keyEncoding: 'buffer', valueEncoding: 'buffer' };
  }

  assertOpen(): void {
    if (this.closed) throw new TypeError('snapshot is closed');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    void this.handle.close();
  }
}
