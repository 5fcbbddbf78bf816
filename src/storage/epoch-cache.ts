/**
 * A cache of values derived from LevelDB that is exact for every snapshot:
 * entries are filled by readers and dropped by writers, and every reader
 * reads through a snapshot (or the latest state), so an entry serves a read
 * only when the read sees exactly the state the entry holds.
 *
 * - A commit that changes a name marks it *pending* (before LevelDB has the
 *   write) and drops its entry; when the write has completed the name is no
 *   longer pending and its *last change* is the engine's write epoch then
 *   (Engine.writeEpoch); a failed write only clears the mark.
 * - A snapshot records the write epoch at its creation (Snapshot.epoch): it
 *   sees every write counted by then (maybe more); a read of the latest
 *   state uses the epoch now.
 * - get: no pending change, and the entry became current (its last change)
 *   no later than the read's epoch — the read sees that change, and no later
 *   change exists (it would have dropped the entry).
 * - offer (after a complete read at a snapshot): no pending change and the
 *   last change no later than the read's epoch — what was read is the
 *   current state.
 *
 * Last changes are remembered per name up to `lastChanges` names; beyond
 * that they are forgotten at once and `floor` (the epoch then) stands in for
 * every name not remembered. Entries are bounded by count and by an
 * estimate of their bytes; the oldest go first unless read since they were
 * last looked at (a second chance: a hit only sets a flag, no reordering).
 *
 * Users: the posting cache (index/posting-cache.ts) and the document cache
 * (documents/document-store.ts).
 */
export interface EpochCacheOptions<V> {
  maxEntries: number;
  /** Bound on the sum of `bytesOf` over the entries (default: none). */
  maxBytes?: number;
  bytesOf?: (name: string, value: V) => number;
  /**
   * Names whose last change is remembered (default 100,000). 0: none — every
   * write's end moves `floor`, so only reads at an epoch no older than the
   * last completed write fill the cache (reads of the latest state do), and
   * a write costs no bookkeeping per name beyond the pending mark.
   */
  lastChanges?: number;
}

/**
 * The pending marks and last changes by name that decide whether what was
 * read at an epoch is the current state (the rule above); shared by the
 * caches built on it (EpochCache, and per index or table through CommitDiffs:
 * index/value-counts.ts, index/resident.ts, columns/resident-columns.ts).
 */
export class ChangeMarks<K = string> {
  private readonly pending = new Map<K, number>();
  private readonly lastChange = new Map<K, number>();
  /** Names changed by each commit in flight (by an id of the commit, e.g. its last sequence number). */
  private readonly inFlight = new Map<number, K[]>();
  private floor = 0;

  /** `lastChanges`: see EpochCacheOptions. */
  constructor(private readonly lastChanges = 100_000) {}

  /** Commit `id` is about to write: these names change. */
  mark(id: number, names: readonly K[]): void {
    if (names.length === 0) return;
    for (const n of names) this.pending.set(n, (this.pending.get(n) ?? 0) + 1);
    const prev = this.inFlight.get(id);
    if (prev) prev.push(...names);
    else this.inFlight.set(id, [...names]);
  }

  /** Commit `id` ended: written (its changes are in LevelDB as of `epoch`) or not. */
  end(id: number, written: boolean, epoch: number): void {
    const names = this.inFlight.get(id);
    if (names === undefined) return;
    this.inFlight.delete(id);
    for (const n of names) {
      const left = this.pending.get(n)! - 1;
      if (left > 0) this.pending.set(n, left);
      else this.pending.delete(n);
      if (written && this.lastChanges > 0) this.lastChange.set(n, epoch);
    }
    if (written && this.lastChanges === 0) this.floor = epoch;
    else if (this.lastChange.size > this.lastChanges) {
      this.lastChange.clear();
      this.floor = epoch;
    }
  }

  isPending(name: K): boolean {
    return this.pending.has(name);
  }

  /** The epoch of `name`'s last completed change (or the floor standing in for it). */
  lastChangeOf(name: K): number {
    return this.lastChange.get(name) ?? this.floor;
  }

  /** Whether a read at `epoch` sees `name`'s current state: nothing pending, and its last change no later. */
  current(name: K, epoch: number): boolean {
    return !this.pending.has(name) && this.lastChangeOf(name) <= epoch;
  }
}

/**
 * Per-index (or per-table) state that commits change (index/value-counts.ts,
 * index/resident.ts, columns/resident-columns.ts): the ChangeMarks per id,
 * and each commit's differences held until it ends — handed back if it was
 * written, dropped if not.
 */
export class CommitDiffs<D extends { readonly id: K }, K = number> {
  readonly marks = new ChangeMarks<K>();
  /** Each commit in flight's differences (by its last sequence number). */
  private readonly inFlight = new Map<number, D[]>();

  /** Write phase of commit `seq`: `diff.id` changes by `diff`. */
  add(seq: number, diff: D): void {
    this.marks.mark(seq, [diff.id]);
    const prev = this.inFlight.get(seq);
    if (prev) prev.push(diff);
    else this.inFlight.set(seq, [diff]);
  }

  /** Commit `seq` ended: written (as of `epoch`) or not; the differences to apply (none unless written). */
  end(seq: number, written: boolean, epoch: number): readonly D[] {
    this.marks.end(seq, written, epoch);
    const diffs = this.inFlight.get(seq);
    if (diffs === undefined) return [];
    this.inFlight.delete(seq);
    return written ? diffs : [];
  }
}

/**
 * The scans that make in-memory copies (index/resident.ts,
 * columns/resident-columns.ts), per id: at most one under way, none again
 * until a wait after one whose result was not kept, and a token per scan
 * that a drop of the copy invalidates (a scan begun before a drop is never
 * kept).
 */
export class ScanClaims<K> {
  /** Ids with a scan under way. */
  private readonly building = new Set<K>();
  /** Earliest time (ms) of the next scan of an id whose last one was not kept. */
  private readonly retryAt = new Map<K, number>();
  /** Bumped by `invalidate`: scans started before cannot be kept. */
  private readonly generation = new Map<K, number>();

  /** A scan of `id` may start at `now` (none under way, not waiting): its token; under way until kept, refused or abandoned. */
  claim(id: K, now: number): number | undefined {
    if (this.building.has(id) || (this.retryAt.get(id) ?? 0) > now) return undefined;
    this.building.add(id);
    return this.generation.get(id) ?? 0;
  }

  /** Whether a scan claimed with `token` may still be kept (no `invalidate` since). */
  valid(id: K, token: number): boolean {
    return (this.generation.get(id) ?? 0) === token;
  }

  /** The scan's result was kept. */
  kept(id: K): void {
    this.building.delete(id);
    this.retryAt.delete(id);
  }

  /** The scan (of `ms`) finished at `now` but was not kept: the next waits ten times as long, at least a second. */
  refused(id: K, ms: number, now: number): void {
    this.building.delete(id);
    this.retryAt.set(id, now + Math.max(1000, 10 * ms));
  }

  /** The scan did not finish (an error, a stopped query): another may start a second after `now`. */
  abandoned(id: K, now: number): void {
    this.building.delete(id);
    this.retryAt.set(id, now + 1000);
  }

  /** The copy of `id` is dropped: scans under way cannot be kept. */
  invalidate(id: K): void {
    this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
  }
}

export class EpochCache<V> {
  private readonly entries = new Map<string, { value: V; from: number; bytes: number; used: boolean }>();
  private readonly marks: ChangeMarks;
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly opts: EpochCacheOptions<V>) {
    this.marks = new ChangeMarks(opts.lastChanges);
  }

  /** The cached value of `name` for a read at `epoch`, if it is that read's state. */
  get(name: string, epoch: number): V | undefined {
    const e = this.entries.get(name);
    if (e === undefined || e.from > epoch || this.marks.isPending(name)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    e.used = true;
    return e.value;
  }

  /** A complete read of `name` at `epoch` found `value`: kept if that is the current state (then true). */
  offer(name: string, value: V, epoch: number): boolean {
    if (!this.marks.current(name, epoch)) return false;
    const from = this.marks.lastChangeOf(name);
    const bytes = this.opts.bytesOf?.(name, value) ?? 0;
    const old = this.entries.get(name);
    if (old !== undefined) {
      this.bytes -= old.bytes;
      this.entries.delete(name);
    }
    this.entries.set(name, { value, from, bytes, used: false });
    this.bytes += bytes;
    this.evict(name);
    return true;
  }

  /**
   * The entry of `name` (if it still holds `value`) now holds `bytes` more
   * (something was derived from it and kept with it); the budget is
   * enforced again.
   */
  grow(name: string, value: V, bytes: number): void {
    const e = this.entries.get(name);
    if (e === undefined || e.value !== value) return;
    e.bytes += bytes;
    this.bytes += bytes;
    this.evict(name);
  }

  /** Drop entries until the bounds hold again (`keep`, the entry just added or grown, goes last). */
  private evict(keep: string): void {
    const maxBytes = this.opts.maxBytes ?? Number.POSITIVE_INFINITY;
    // The oldest goes, unless it was read since it was last looked at: then it moves to the end, unflagged.
    // Every entry is moved at most once per pass, so this ends.
    let moved = 0;
    while (this.entries.size > this.opts.maxEntries || this.bytes > maxBytes) {
      const [first, e] = this.entries.entries().next().value!;
      this.entries.delete(first);
      if (e.used && first !== keep && moved++ < this.entries.size) {
        e.used = false;
        this.entries.set(first, e);
        continue;
      }
      this.bytes -= e.bytes;
    }
  }

  /** Commit `id` is about to write: these names change. */
  writing(id: number, names: readonly string[]): void {
    this.marks.mark(id, names);
    for (const n of names) {
      const e = this.entries.get(n);
      if (e !== undefined) {
        this.bytes -= e.bytes;
        this.entries.delete(n);
      }
    }
  }

  /** Commit `id` ended: written (its changes are in LevelDB as of `epoch`) or not. */
  ended(id: number, written: boolean, epoch: number): void {
    this.marks.end(id, written, epoch);
  }

  /** Forget every entry. */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entries' estimated bytes. */
  get byteSize(): number {
    return this.bytes;
  }
}
