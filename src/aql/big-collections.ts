/**
 * Set and Map of string keys that never stall the event loop when they grow
 * to millions of entries. A native Set or Map rehashes all of its entries
 * at once when it doubles: one `add` at 4 million entries takes about
 * 300 ms, during which no other request is served. These start as one
 * native collection (small ones cost what a Set or Map costs) and, past
 * 32,768 entries, split into 64 shards chosen by a hash of the key, so no
 * single rehash copies more than a shard. Iteration order is by shard, not
 * by insertion: callers that need first-seen order keep their own list.
 */
const SPLIT_AT = 1 << 15;
const SHARDS = 64;

/** Shard of a key: a hash of its length and last eight UTF-16 units (where numbers and ids vary). */
function shardOf(k: string): number {
  const n = k.length;
  let h = n;
  for (let i = n > 8 ? n - 8 : 0; i < n; i++) h = (Math.imul(h, 31) + k.charCodeAt(i)) | 0;
  return (h ^ (h >>> 7)) & (SHARDS - 1);
}

export class BigSet implements Iterable<string> {
  private one: Set<string> | undefined = new Set();
  private shards: Set<string>[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  has(k: string): boolean {
    return this.one !== undefined ? this.one.has(k) : this.shards[shardOf(k)]!.has(k);
  }

  add(k: string): this {
    const s = this.one ?? this.shards[shardOf(k)]!;
    const before = s.size;
    s.add(k);
    if (s.size !== before && ++this.n >= SPLIT_AT && this.one !== undefined) this.split();
    return this;
  }

  private split(): void {
    this.shards = Array.from({ length: SHARDS }, () => new Set<string>());
    for (const k of this.one!) this.shards[shardOf(k)]!.add(k);
    this.one = undefined;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    if (this.one !== undefined) yield* this.one;
    else for (const s of this.shards) yield* s;
  }
}

export class BigMap<V> {
  private one: Map<string, V> | undefined = new Map();
  private shards: Map<string, V>[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(k: string): V | undefined {
    return this.one !== undefined ? this.one.get(k) : this.shards[shardOf(k)]!.get(k);
  }

  has(k: string): boolean {
    return this.one !== undefined ? this.one.has(k) : this.shards[shardOf(k)]!.has(k);
  }

  set(k: string, v: V): this {
    const m = this.one ?? this.shards[shardOf(k)]!;
    const before = m.size;
    m.set(k, v);
    if (m.size !== before && ++this.n >= SPLIT_AT && this.one !== undefined) this.split();
    return this;
  }

  private split(): void {
    this.shards = Array.from({ length: SHARDS }, () => new Map<string, V>());
    for (const [k, v] of this.one!) this.shards[shardOf(k)]!.set(k, v);
    this.one = undefined;
  }

  *values(): IterableIterator<V> {
    if (this.one !== undefined) yield* this.one.values();
    else for (const m of this.shards) yield* m.values();
  }
}
