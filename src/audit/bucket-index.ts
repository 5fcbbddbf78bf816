import { type Engine, type Keyspace, readVarint, seqCodec, type WriteBatch, writeAscii, writeVarint } from '../storage/index.js';

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
 * `firstId` is the chunk's smallest id; a value has one pair per chunk. A
 * lookup reads its value's bucket (every chunk up to the highest id wanted;
 * a bucket of a 1M-entry log holds ~1,000 pairs, ~25 KB) plus what waits in
 * memory. What waits is derived data: after a crash it is rebuilt from the
 * segments after the watermark (the audit log's `'M bucketed'`), at most one
 * write-out's worth.
 */

/** Buckets (bucketOf). Changing it, or bucketOf, changes the stored layout. */
export const BUCKETS = 1024;

export class BucketIndex {
  /**
   * Postings waiting, in id order: parallel arrays of value and id. Not a
   * map: nearly every value is new, and a map costs a hash and an insert
   * per write to save nothing; equal values are merged at write-out.
   */
  private values: string[] = [];
  private idList: number[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly ks: Keyspace,
    private readonly tag: number,
    private readonly maxValue: number,
  ) {}

  /** Ids waiting in memory. */
  get size(): number {
    return this.idList.length;
  }

  /** Note `id` (ids arrive ascending) under `value`. */
  add(value: string, id: number): void {
    this.values.push(value);
    this.idList.push(id);
  }

  /** Put what waits into `batch` as bucket chunks, and forget it. */
  writeOut(batch: WriteBatch): void {
    const n = this.values.length;
    if (n === 0) return;
    const values = this.values;
    const ids = this.idList;
    // A counting sort by bucket keeps id order inside each bucket: a chunk's first posting has its smallest id.
    const bucket = new Uint16Array(n);
    const start = new Uint32Array(BUCKETS + 1);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const b = bucketOf(values[i]!);
      bucket[i] = b;
      start[b + 1]!++;
      bytes += pairBound(values[i]!.length, this.maxValue, 1);
    }
    for (let b = 0; b < BUCKETS; b++) start[b + 1]! += start[b]!;
    const order = new Uint32Array(n);
    const fill = start.slice(0, BUCKETS);
    for (let i = 0; i < n; i++) order[fill[bucket[i]!]!++] = i;
    // All chunks in one buffer (the batch copies what it is given).
    const out = Buffer.allocUnsafe(bytes);
    let o = 0;
    for (let b = 0; b < BUCKETS; b++) {
      if (start[b] === start[b + 1]) continue;
      const from = o;
      const first = ids[order[start[b]!]!]!;
      // One pair per value, its ids ascending.
      const pairs = new Map<string, number[]>();
      for (let k = start[b]!; k < start[b + 1]!; k++) {
        const i = order[k]!;
        const g = pairs.get(values[i]!);
        if (g === undefined) pairs.set(values[i]!, [ids[i]!]);
        else g.push(ids[i]!);
      }
      for (const [value, x] of pairs) o = this.writePair(out, o, value, x, first);
      batch.put(this.ks, this.key(b, first), out.subarray(from, o));
    }
    this.values = [];
    this.idList = [];
  }

  /** The ids noted under `value` within [lo, hi], newest first, in batches. */
  async *ids(value: string, lo: number, hi: number): AsyncGenerator<number[]> {
    const want = this.cut(value);
    const found: number[] = [];
    const take = (id: number) => {
      if (id >= lo && id <= hi) found.push(id);
    };
    // What waits in memory: the value itself, or (a value longer than the cut) every value with the same cut.
    const long = want.length >= this.maxValue;
    for (let i = 0; i < this.values.length; i++) {
      const v = this.values[i]!;
      if (long ? v.length >= want.length / 3 && this.cut(v).equals(want) : v === value) take(this.idList[i]!);
    }
    const b = bucketOf(value);
    for await (const chunk of this.engine.scanChunks(this.ks, { gte: this.key(b, 0), lte: this.key(b, hi) }, 64, 16))
      for (const [k, v] of chunk) forEachPair(v, firstIdOf(k), (bytes, ids) => bytes.equals(want) && ids.forEach(take));
    // What waits (newest) came first, then the chunks oldest first: sort once.
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
        let bytes = 0;
        forEachPair(v, firstIdOf(k), (value, ids) => {
          const keep = ids.filter((id) => id > lastDeleted);
          if (keep.length === 0) return;
          pairs.push([Buffer.from(value), keep]);
          first = Math.min(first, keep[0]!);
          bytes += pairBound(value.length, this.maxValue, keep.length);
        });
        batch.del(this.ks, k);
        if (pairs.length === 0) continue;
        const out = Buffer.allocUnsafe(bytes);
        let o = 0;
        for (const [value, ids] of pairs) o = this.writePair(out, o, value, ids, first);
        batch.put(this.ks, this.key(b, first), out.subarray(0, o));
      }
    }
  }

  private key(bucket: number, id: number): Buffer {
    return Buffer.concat([Buffer.of(this.tag, bucket >> 8, bucket & 0xff), seqCodec.encode(id)]);
  }

  /** The indexed bytes of a value: its UTF-8, cut at maxValue bytes. */
  private cut(value: string): Buffer {
    const v = Buffer.from(value, 'utf8');
    return v.length > this.maxValue ? v.subarray(0, this.maxValue) : v;
  }

  /**
   * A pair at `o`: varint(n) and the n indexed bytes of `value` (a string:
   * ASCII, nearly every key, copied without a native call; else cut), then
   * the count and the ids as deltas from `base`. At most pairBound bytes.
   */
  private writePair(out: Buffer, o: number, value: string | Buffer, ids: readonly number[], base: number): number {
    const ascii = typeof value === 'string' && value.length < 0x80 ? writeAscii(out, o + 1, value) : -1;
    if (ascii >= 0) {
      out[o] = value.length;
      o = ascii;
    } else {
      const v = typeof value === 'string' ? this.cut(value) : value;
      o = writeVarint(out, o, v.length);
      o += v.copy(out, o);
    }
    o = writeVarint(out, o, ids.length);
    let prev = base;
    for (const id of ids) {
      o = writeVarint(out, o, id - prev);
      prev = id;
    }
    return o;
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

/** The most bytes a pair of a value of `length` UTF-16 units (cut at maxValue bytes) with `ids` ids takes. */
function pairBound(length: number, maxValue: number, ids: number): number {
  return 2 + Math.min(3 * length, maxValue) + 8 + 8 * ids;
}

/** Call `fn` with each pair of a chunk (the value's bytes are a view of `b`). Throws on bytes that are not pairs. */
function forEachPair(b: Buffer, base: number, fn: (value: Buffer, ids: number[]) => unknown): void {
  const at = { o: 0 };
  while (at.o < b.length) {
    const n = readVarint(b, at);
    if (at.o + n > b.length) throw new TypeError('truncated audit index chunk');
    const value = b.subarray(at.o, at.o + n);
    at.o += n;
    const count = readVarint(b, at);
    const ids: number[] = new Array(count);
    let prev = base;
    for (let i = 0; i < count; i++) {
      prev += readVarint(b, at);
      ids[i] = prev;
    }
    fn(value, ids);
  }
}

/** The first id in a chunk's key (its last 8 bytes). */
function firstIdOf(key: Buffer): number {
  return seqCodec.decode(key.subarray(key.length - 8));
}
