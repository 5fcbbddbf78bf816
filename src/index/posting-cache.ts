/**
 * Small equality postings in memory: the entity keys of `{eq: value}` scans
 * of non-unique secondary indexes, so a repeated equality lookup needs no
 * LevelDB iterator (whose setup and thread-pool round trip cost more than
 * reading a few documents; docs/architecture.md, "Read path").
 *
 * Entries are filled by readers and dropped by writers, and every reader
 * reads through a snapshot, so an entry serves a snapshot only when the
 * snapshot sees exactly the state the entry holds:
 *
 * - A commit that changes a value's postings marks the value *pending* in
 *   its write phase (before LevelDB has it) and drops its entry; when the
 *   write has completed (`applied`) the value is no longer pending and its
 *   *last change* is the engine's write epoch then; a failed write only
 *   clears the mark.
 * - A snapshot records the write epoch at its creation: it sees every write
 *   counted by then (maybe more).
 * - get: no pending change, and the entry became current (its last change)
 *   no later than the snapshot's epoch — the snapshot sees that change, and
 *   no later change exists (it would have dropped the entry).
 * - offer (after a complete scan at a snapshot): no pending change and the
 *   last change no later than the snapshot's epoch — what was read is the
 *   current state.
 *
 * Last changes are remembered per value up to LAST_CHANGES values; beyond
 * that they are forgotten at once and `floor` (the epoch then) stands in for
 * every value not remembered. Memory: at most MAX_ENTRIES values of at most
 * MAX_KEYS keys each (~30 MB in the worst case of long keys; ~5 MB for
 * 10,000 values of ten 10-character keys).
 */
export const MAX_ENTRIES = 20_000;
export const MAX_KEYS = 64;
const LAST_CHANGES = 100_000;

export class PostingCache {
  private readonly entries = new Map<string, { keys: readonly string[]; from: number }>();
  private readonly pending = new Map<string, number>();
  private readonly lastChange = new Map<string, number>();
  /** Values changed by each commit in flight (by its last sequence number). */
  private readonly inFlight = new Map<number, string[]>();
  private floor = 0;
  hits = 0;
  misses = 0;

  /** The cached keys of `value` (hex of the scan's start key) for a snapshot of `epoch`, if they are its state. */
  get(value: string, epoch: number): readonly string[] | undefined {
    const e = this.entries.get(value);
    if (e === undefined || e.from > epoch || this.pending.has(value)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e.keys;
  }

  /** A complete scan of `value` at a snapshot of `epoch` read `keys`: kept if that is the current state. */
  offer(value: string, keys: readonly string[], epoch: number): void {
    if (keys.length > MAX_KEYS || this.pending.has(value)) return;
    const from = this.lastChange.get(value) ?? this.floor;
    if (from > epoch) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(value, { keys, from });
  }

  /** Write phase of commit `seq`: these values' postings change. */
  writing(seq: number, values: readonly string[]): void {
    if (values.length === 0) return;
    for (const v of values) {
      this.pending.set(v, (this.pending.get(v) ?? 0) + 1);
      this.entries.delete(v);
    }
    const prev = this.inFlight.get(seq);
    if (prev) prev.push(...values);
    else this.inFlight.set(seq, [...values]);
  }

  /** Commit `seq` ended: written (its changes are in LevelDB as of `epoch`) or not. */
  ended(seq: number, written: boolean, epoch: number): void {
    const values = this.inFlight.get(seq);
    if (values === undefined) return;
    this.inFlight.delete(seq);
    for (const v of values) {
      const n = this.pending.get(v)! - 1;
      if (n > 0) this.pending.set(v, n);
      else this.pending.delete(v);
      if (written) this.lastChange.set(v, epoch);
    }
    if (this.lastChange.size > LAST_CHANGES) {
      this.lastChange.clear();
      this.floor = epoch;
    }
  }

  /** Forget every entry (an index dropped: its id's entries must not outlive it). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
