import { EpochCache } from '../storage/epoch-cache.js';
import { keyspace, type Engine, type ScanOptions, type Snapshot, type WriteBatch } from '../storage/index.js';
import { decodeEntityText, decodeEntityValue, encodeEntityValue, entityKeyCodec } from './codec.js';
import type { EntityKey } from './entity-key.js';

const entityKs = keyspace('entity');

/** Commits of at most this many documents put their new texts into the document cache. */
const WRITE_THROUGH_MAX = 100;

/** A cached document: its stored text, and what a reader derived from it once (AQL's parsed document), shared by later reads. */
interface Cached {
  readonly text: string;
  derived: unknown;
}

/** One stored document: its `table:pk` key and JSON text. */
export type StoredRow = readonly [key: string, text: string];

export interface ScanRange {
  /** Only this table (default: every table). */
  table?: string;
  /** Resume after this key (exclusive); it must belong to `table` when one is given. */
  after?: EntityKey;
  /** Stop before this key (exclusive); it must belong to `table` when one is given. */
  before?: EntityKey;
  /** Descending key order (newest first for time-ordered keys such as UUID v7); `after`/`before` still bound the range, not the direction. */
  reverse?: boolean;
  snapshot?: Snapshot;
  /** Rows per chunk (one LevelDB nextv each). */
  size?: number;
}

/**
 * The documents as LevelDB holds them: the only code that reads and writes
 * entity values (the codec says how they are laid out). Reads come from the
 * latest state or a snapshot; writes are added to a commit's batch by the
 * transaction manager, never written on their own. Everything above — the
 * transaction manager's buffered view, indexes, AQL, backfills — reads
 * documents through here.
 *
 * Point reads go through a **document cache** of stored texts (filled by
 * point reads and by completed writes, not by scans; the oldest out first
 * unless read since when its memory is used up), exact
 * per snapshot (storage/epoch-cache.ts): the transaction manager marks a
 * commit's keys `writing` before LevelDB has the batch and `ended` after, so
 * a cached text serves only reads that see exactly its state.
 */
export class DocumentStore {
  /** Stored texts (and what was derived from them) by entity key; undefined when the cache is off (0 bytes). */
  private readonly cache: EpochCache<Cached> | undefined;

  constructor(
    private readonly engine: Engine,
    /** Memory for the document cache (bytes, estimated as 2 per character plus ~100 per entry); 0 turns it off. */
    cacheBytes = 0,
  ) {
    this.cache =
      cacheBytes > 0
        ? new EpochCache<Cached>({
            maxEntries: Math.max(1, Math.floor(cacheBytes / 128)),
            maxBytes: cacheBytes,
            bytesOf: (key, e) => 2 * (key.length + e.text.length) + 100,
            // No last change per document: the end of any write stands for all (see EpochCache).
            lastChanges: 0,
          })
        : undefined;
  }

  /** The document's JSON text (latest durable state, or as of `snapshot`). */
  read(k: EntityKey, snapshot?: Snapshot): string | undefined {
    const c = this.cache;
    if (c === undefined) return this.readStored(k, snapshot);
    // A read of the latest state sees every completed write: the epoch now.
    const epoch = snapshot?.epoch ?? this.engine.writeEpoch;
    const hit = c.get(k.key, epoch);
    if (hit !== undefined) return hit.text;
    const text = this.readStored(k, snapshot);
    if (text !== undefined) c.offer(k.key, { text, derived: undefined }, epoch);
    return text;
  }

  /**
   * The document as `derive` makes it from its text, shared: a cached
   * document read again keeps what was derived from it (until it changes or
   * leaves the cache), so later reads skip the derivation. Callers must
   * treat a shared result as immutable (AQL deep-freezes its parsed
   * documents). `derivedBytes` estimates the memory it holds, which counts
   * against the cache's budget. A read that misses the cache (the text read
   * from LevelDB, cached if it may be) gets `once(text)`, not kept: a
   * document read once costs no derived memory and no more than a plain
   * parse. Without the cache every read gets `once`.
   */
  readDerived<T>(
    k: EntityKey,
    snapshot: Snapshot | undefined,
    derive: (text: string) => T,
    derivedBytes: (text: string) => number,
    once: (text: string) => T,
  ): T | undefined {
    const c = this.cache;
    const epoch = snapshot?.epoch ?? this.engine.writeEpoch;
    const e = c?.get(k.key, epoch);
    if (e === undefined) {
      const text = this.readStored(k, snapshot);
      if (text === undefined) return undefined;
      c?.offer(k.key, { text, derived: undefined }, epoch);
      return once(text);
    }
    if (e.derived === undefined) {
      e.derived = derive(e.text);
      c!.grow(k.key, e, derivedBytes(e.text));
    }
    return e.derived as T;
  }

  private readStored(k: EntityKey, snapshot?: Snapshot): string | undefined {
    const v = this.engine.getSync(entityKs, entityKeyCodec.encode(k), snapshot);
    return v === undefined ? undefined : decodeEntityValue(v);
  }

  /** Commit `id` (its last sequence number) is about to write the documents `keys`: cached texts of them go, reads go to LevelDB. */
  writing(id: number, keys: readonly string[]): void {
    this.cache?.writing(id, keys);
  }

  /**
   * Commit `id` ended: written (in LevelDB as of the engine's write epoch
   * now) or not. A written commit's new texts (`docs`, null for a delete)
   * are the current state unless another commit writing the same key is
   * still in flight: cached as if just read (a document is often read soon
   * after it was written).
   */
  ended<D extends { key: string; value: string | null }>(
    id: number,
    written: boolean,
    docs: readonly D[] = [],
    /** Whether this commit is still `d.key`'s latest writer (a later commit's text must not be replaced by this one's). */
    latest: (d: D) => boolean = () => true,
  ): void {
    const c = this.cache;
    if (c === undefined) return;
    const epoch = this.engine.writeEpoch;
    c.ended(id, written, epoch);
    // Small commits only: a bulk load should not push out what is being read.
    if (!written || docs.length > WRITE_THROUGH_MAX) return;
    for (const d of docs) if (d.value !== null && latest(d)) c.offer(d.key, { text: d.value, derived: undefined }, epoch);
  }

  /** The document cache's state (entries, estimated bytes, hits, misses); zeros when it is off. */
  get cacheStats(): { entries: number; bytes: number; hits: number; misses: number } {
    const c = this.cache;
    return c === undefined
      ? { entries: 0, bytes: 0, hits: 0, misses: 0 }
      : { entries: c.size, bytes: c.byteSize, hits: c.hits, misses: c.misses };
  }

  put(batch: WriteBatch, k: EntityKey, text: string): void {
    batch.put(entityKs, entityKeyCodec.encode(k), encodeEntityValue(text));
  }

  delete(batch: WriteBatch, k: EntityKey): void {
    batch.del(entityKs, entityKeyCodec.encode(k));
  }

  /** Documents in key order (or reverse key order), in chunks: one table's, or all of them. */
  async *scan(r: ScanRange = {}): AsyncGenerator<StoredRow[]> {
    const opts: ScanOptions = {};
    if (r.table !== undefined) {
      const range = entityKeyCodec.tableRange(r.table);
      opts.gte = range.gte;
      opts.lt = range.lt;
    }
    if (r.after) {
      delete opts.gte;
      opts.gt = entityKeyCodec.encode(r.after);
    }
    if (r.before) opts.lt = entityKeyCodec.encode(r.before);
    if (r.reverse) opts.reverse = true;
    if (r.snapshot) opts.snapshot = r.snapshot;
    // Keys and values come as text (cheaper than Buffers from the binding).
    for await (const chunk of this.engine.scanTextChunks(entityKs, opts, r.size ?? 1024, Math.min(r.size ?? 1024, 256))) {
      const rows: StoredRow[] = new Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const [k, v] = chunk[i]!;
        rows[i] = [entityKeyCodec.keyOfText(k, r.table), decodeEntityText(v)];
      }
      yield rows;
    }
  }

  /**
   * The names of the tables holding at least one document, in key order: one
   * one-entry seek per table (skips over each table's range), not a scan of the documents.
   */
  async tables(): Promise<string[]> {
    const out: string[] = [];
    let from: Buffer | undefined;
    for (;;) {
      let next: string | undefined;
      for await (const chunk of this.engine.scanChunks(entityKs, from ? { gte: from, limit: 1 } : { limit: 1 }, 1, 1)) {
        if (chunk.length > 0) next = entityKeyCodec.decode(chunk[0]![0]).table;
        break;
      }
      if (next === undefined) return out;
      out.push(next);
      from = entityKeyCodec.tableRange(next).lt;
    }
  }

  /** LevelDB's approximate size of a table in bytes (plan estimates). */
  tableBytes(table: string): Promise<number> {
    return this.engine.approximateRange(entityKs, entityKeyCodec.tableRange(table).gte);
  }
}
