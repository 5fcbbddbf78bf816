import { type Engine, type Keyspace, WriteBatch } from '../storage/index.js';

/**
 * The index of a field whose values are mostly unique — the audit log's
 * `entityId`: every write names a new key, so a chunk per (value, flush)
 * (how the other filters are indexed) costs one LevelDB key per write,
 * which LevelDB then carries through every compaction. Here postings wait
 * in memory (the audit log writes them out every 16,384 entries, and at
 * close) and are written out together, hashed into `BUCKETS` buckets: one
 * key per bucket and write-out, ~1,000 keys instead of ~16,384.
 *
 *   tag bucket(2) firstId(8) -> pairs: varint(n) value(n bytes, UTF-8, cut at maxValue)
 *                                      varint(count) ids (ascending delta varints from firstId)
 *
 * `firstId` is the chunk's smallest id; a value may have several pairs in a
 * chunk (postings are grouped by value in runs of 2,048 values). A lookup reads its value's bucket
 * (every chunk up to the highest id wanted; a bucket of a 1M-entry log holds
 * ~1,000 pairs, ~25 KB) plus what waits in memory. What waits is derived
 * data: after a crash it is rebuilt from the segments after the watermark
 * (the audit log's `'M bucketed'`), at most one write-out's worth.
 */

/** Buckets (bucketOf). Changing it, or bucketOf, changes the stored layout. */
export const BUCKETS = 1024;
/** Postings are grouped by value in maps of at most this many values (a small map stays cheap to add to). */
const RUN_VALUES = 2048;

export class BucketIndex {
  /** Postings waiting, grouped by value: full runs, then the one being added to. */
  private runs: Map<string, number[]>[] = [];
  private run = new Map<string, number[]>();
  private lastValue: string | undefined;
  private lastIds: number[] | undefined;
  /** Ids waiting in memory. */
  size = 0;

  constructor(
    private readonly engine: Engine,
    private readonly ks: Keyspace,
    private readonly tag: number,
    private readonly maxValue: number,
  ) {}

  /** Note `id` (ids arrive ascending) under `value`. */
  add(value: string, id: number): void {
    this.size++;
    if (value === this.lastValue) {
      this.lastIds!.push(id);
      return;
    }
    let ids = this.run.get(value);
    if (ids === undefined) {
      if (this.run.size >= RUN_VALUES) {
        this.runs.push(this.run);
        this.run = new Map();
      }
      ids = [];
      this.run.set(value, ids);
    }
    ids.push(id);
    this.lastValue = value;
    this.lastIds = ids;
  }

  /** Put what waits into `batch` as bucket chunks, and forget it. */
  writeOut(batch: WriteBatch): void {
    if (this.size === 0) return;
    const values: string[][] = [];
    const postings: number[][][] = [];
    let bytes = 0;
    for (const run of [...this.runs, this.run])
      for (const [value, ids] of run) {
        const b = bucketOf(value);
        if (values[b] === undefined) {
          values[b] = [];
          postings[b] = [];
        }
        values[b]!.push(value);
        postings[b]!.push(ids);
        bytes += 2 + Math.min(3 * value.length, this.maxValue) + 10 + 8 * ids.length;
      }
    // All chunks in one buffer (the batch copies what it is given).
    const out = Buffer.allocUnsafe(bytes);
    let o = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const vs = values[b];
      if (vs === undefined) continue;
      const ps = postings[b]!;
      let first = Number.POSITIVE_INFINITY;
      for (const ids of ps) if (ids[0]! < first) first = ids[0]!;
      const start = o;
      for (let i = 0; i < vs.length; i++) {
        o = this.putValue(out, o, vs[i]!);
        const ids = ps[i]!;
        o = putVarint(out, o, ids.length);
        let prev = first;
        for (const id of ids) {
          o = putVarint(out, o, id - prev);
          prev = id;
        }
      }
      batch.put(this.ks, this.key(b, first), out.subarray(start, o));
    }
    this.runs = [];
    this.run = new Map();
    this.lastValue = undefined;
    this.lastIds = undefined;
    this.size = 0;
  }

  /** The ids noted under `value` within [lo, hi], newest first, in batches. */
  async *ids(value: string, lo: number, hi: number): AsyncGenerator<number[]> {
    const want = this.cut(value);
    const found: number[] = [];
    const take = (ids: readonly number[]) => {
      for (const id of ids) if (id >= lo && id <= hi) found.push(id);
    };
    // What waits in memory: the value itself, or (a value longer than the cut) every value with the same cut.
    for (const run of [...this.runs, this.run]) {
      if (want.length < this.maxValue) take(run.get(value) ?? []);
      else for (const [v, ids] of run) if (this.cut(v).equals(want)) take(ids);
    }
    const b = bucketOf(value);
    for await (const chunk of this.engine.scanChunks(this.ks, { gte: this.key(b, 0), lte: this.key(b, hi) }, 64, 16))
      for (const [k, v] of chunk) forEachPair(v, readId(k, k.length - 8), (bytes, ids) => bytes.equals(want) && take(ids));
    // A value's postings are spread over runs and write-outs, whose id ranges overlap: sort once.
    found.sort((x, y) => y - x);
    for (let i = 0; i < found.length; i += 4096) yield found.slice(i, i + 4096);
  }

  /**
   * Retention: remove the ids up to `lastDeleted` from the stored chunks of
   * the buckets of `values` (call writeOut first: what waits is not looked at).
   */
  async dropThrough(values: Iterable<string>, lastDeleted: number, batch: WriteBatch): Promise<void> {
    const buckets = new Set<number>();
    for (const v of values) buckets.add(bucketOf(v));
    for (const b of buckets) {
      for await (const [k, v] of this.engine.scan(this.ks, { gte: this.key(b, 0), lte: this.key(b, lastDeleted) })) {
        const pairs: [Buffer, number[]][] = [];
        let first = Number.POSITIVE_INFINITY;
        forEachPair(v, readId(k, k.length - 8), (bytes, ids) => {
          const keep = ids.filter((id) => id > lastDeleted);
          if (keep.length === 0) return;
          pairs.push([Buffer.from(bytes), keep]);
          first = Math.min(first, keep[0]!);
        });
        batch.del(this.ks, k);
        if (pairs.length > 0) batch.put(this.ks, this.key(b, first), encodePairs(pairs, first));
      }
    }
  }

  /** Delete every stored chunk (the index is rebuilt from the segments). */
  async clear(): Promise<void> {
    const range = { gte: Buffer.of(this.tag), lt: Buffer.of(this.tag + 1) };
    for await (const chunk of this.engine.scanChunks(this.ks, range, 4096, 4096)) {
      const batch = new WriteBatch();
      for (const [k] of chunk) batch.del(this.ks, k);
      await this.engine.commit(batch);
    }
  }

  private key(bucket: number, id: number): Buffer {
    const k = Buffer.allocUnsafe(11);
    k[0] = this.tag;
    k.writeUInt16BE(bucket, 1);
    k.writeUInt32BE(Math.floor(id / 2 ** 32), 3);
    k.writeUInt32BE(id >>> 0, 7);
    return k;
  }

  /** The indexed bytes of a value: its UTF-8, cut at maxValue bytes. */
  private cut(value: string): Buffer {
    const v = Buffer.from(value, 'utf8');
    return v.length > this.maxValue ? v.subarray(0, this.maxValue) : v;
  }

  /** varint(n) and the n indexed bytes of `value` at `o`; ASCII (nearly every key) copied without a native call. */
  private putValue(out: Buffer, o: number, value: string): number {
    const n = value.length;
    if (n < 0x80) {
      let k = 0;
      for (; k < n; k++) {
        const c = value.charCodeAt(k);
        if (c > 0x7f) break;
        out[o + 1 + k] = c;
      }
      if (k === n) {
        out[o] = n;
        return o + 1 + n;
      }
    }
    const v = this.cut(value);
    o = putVarint(out, o, v.length);
    return o + v.copy(out, o);
  }
}

/**
 * A value's bucket: FNV-1a (32 bits) over its first 64 UTF-16 code units,
 * modulo BUCKETS. 64 code units are at most 192 UTF-8 bytes, so values
 * whose indexed (cut) bytes are equal share a bucket.
 */
export function bucketOf(value: string): number {
  let h = 0x811c9dc5;
  const n = Math.min(value.length, 64);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

function putVarint(out: Buffer, o: number, x: number): number {
  while (x >= 0x80) {
    out[o++] = (x % 0x80) | 0x80;
    x = Math.floor(x / 0x80);
  }
  out[o] = x;
  return o + 1;
}

function encodePairs(pairs: [Buffer, number[]][], base: number): Buffer {
  let size = 0;
  for (const [v, ids] of pairs) size += 10 + v.length + 10 + 8 * ids.length;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const [v, ids] of pairs) {
    o = putVarint(out, o, v.length);
    o += v.copy(out, o);
    o = putVarint(out, o, ids.length);
    let prev = base;
    for (const id of ids) {
      o = putVarint(out, o, id - prev);
      prev = id;
    }
  }
  return Buffer.from(out.subarray(0, o));
}

/** Call `fn` with each pair of a chunk (the value's bytes are a view of `b`). Throws on bytes that are not pairs. */
function forEachPair(b: Buffer, base: number, fn: (value: Buffer, ids: number[]) => unknown): void {
  let o = 0;
  const varint = (): number => {
    let x = 0;
    let mul = 1;
    for (;;) {
      if (o >= b.length) throw new TypeError('truncated audit index chunk');
      const c = b[o++]!;
      x += (c & 0x7f) * mul;
      if (c < 0x80) return x;
      mul *= 0x80;
    }
  };
  while (o < b.length) {
    const n = varint();
    if (o + n > b.length) throw new TypeError('truncated audit index chunk');
    const value = b.subarray(o, o + n);
    o += n;
    const count = varint();
    const ids: number[] = new Array(count);
    let prev = base;
    for (let i = 0; i < count; i++) {
      prev += varint();
      ids[i] = prev;
    }
    fn(value, ids);
  }
}

function readId(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
}
