/**
 * Per-value entry counts of non-unique single-column indexes, kept in memory
 * and maintained by the commits: what an index-only `COLLECT g = v.a WITH
 * COUNT INTO n` over the whole index needs (aql/exec/index-collect.ts),
 * answered in O(distinct values) instead of a scan of every entry.
 *
 * An index's counts are made by a complete scan (SecondaryIndexes.valueRuns
 * over the whole index) and from then on every commit that changes the
 * index's entries adds its differences (+1 per entry added, -1 per entry
 * removed, by value) when its write has completed. The same reasoning as the
 * posting cache (posting-cache.ts), per index instead of per value:
 *
 * - A commit changing an index marks it *pending* in its write phase, with
 *   its differences; when the write has completed (`applied`) they are added
 *   and the index's *last change* is the engine's write epoch then; a failed
 *   write only clears the mark.
 * - The counts therefore always hold every completed write: they serve a
 *   snapshot (of write epoch `epoch`, which sees every write counted by then)
 *   when nothing is pending and the last change is no later than `epoch`.
 * - offer (after a complete scan at a snapshot): kept under the same
 *   condition — what was read is the current state.
 *
 * The counts hold every scalar entry, also those of documents whose
 * attribute is an array or object (their elements); a caller that must not
 * count those (valueRuns with a `skip` set) reads the index instead.
 * Memory: ~150 bytes per distinct value; at most MAX_VALUES_PER_INDEX
 * values per index and MAX_VALUES in all (beyond that an index is not kept,
 * or dropped when commits make it grow past the bound).
 */
import { CommitDiffs } from '../storage/epoch-cache.js';
import type { ScalarValue } from '../storage/index.js';

export const MAX_VALUES_PER_INDEX = 100_000;
export const MAX_VALUES = 300_000;

/** One index's counts: hex of the encoded value -> the value and its entry count. */
interface Counts {
  readonly byValue: Map<string, { value: ScalarValue; n: number }>;
  /** The hex keys in index order; undefined after a value appeared or went. */
  order: string[] | undefined;
  /** get's answer, kept until a commit changes a count (callers do not change it). */
  pairs: [ScalarValue, number][] | undefined;
}

/** One commit's differences to one index. */
interface Diff {
  id: number;
  /** The counts the differences were taken against (they apply to no later counts of the same index). */
  counts: Counts | undefined;
  /** hex of the encoded value -> the value and the change of its count. */
  deltas: Map<string, { value: ScalarValue; d: number }>;
}

export class ValueCounts {
  private readonly counts = new Map<number, Counts>();
  /** Pending commits and last changes per index (by its id). */
  private readonly diffs = new CommitDiffs<Diff>();
  private total = 0;
  hits = 0;
  misses = 0;

  /** Index `id`'s distinct values and counts in index order for a snapshot of `epoch`, if they are its state (read-only). */
  get(id: number, epoch: number): readonly (readonly [ScalarValue, number])[] | undefined {
    const c = this.counts.get(id);
    if (c === undefined || !this.diffs.marks.current(id, epoch)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (c.pairs !== undefined) return c.pairs;
    if (c.order === undefined) c.order = [...c.byValue.keys()].sort();
    const out: [ScalarValue, number][] = new Array(c.order.length);
    for (let i = 0; i < c.order.length; i++) {
      const e = c.byValue.get(c.order[i]!)!;
      out[i] = [e.value, e.n];
    }
    c.pairs = out;
    return out;
  }

  /** Whether index `id` has counts (its commits then compute their differences). */
  has(id: number): boolean {
    return this.counts.has(id);
  }

  /** Whether a complete scan of index `id` at a snapshot of `epoch` would be kept (cheap: callers collect hex keys only then). */
  wants(id: number, epoch: number): boolean {
    return !this.counts.has(id) && this.diffs.marks.current(id, epoch);
  }

  /** A complete scan of index `id` at a snapshot of `epoch` found `runs` (hex of the value, value, entries), in index order. */
  offer(id: number, runs: readonly [string, ScalarValue, number][], epoch: number): void {
    if (!this.wants(id, epoch) || runs.length > MAX_VALUES_PER_INDEX || this.total + runs.length > MAX_VALUES) return;
    const byValue = new Map<string, { value: ScalarValue; n: number }>();
    for (const [hex, value, n] of runs) byValue.set(hex, { value, n });
    this.counts.set(id, { byValue, order: runs.map((r) => r[0]), pairs: undefined });
    this.total += byValue.size;
  }

  /**
   * Write phase of commit `seq`: index `id`'s entries change by `deltas`
   * (hex of the encoded value -> value and count change). Called for every
   * commit that changes the index, kept or not.
   */
  writing(seq: number, id: number, deltas: Map<string, { value: ScalarValue; d: number }>): void {
    this.diffs.add(seq, { id, counts: this.counts.get(id), deltas });
  }

  /** Commit `seq` ended: written (its changes are in LevelDB as of `epoch`) or not. */
  ended(seq: number, written: boolean, epoch: number): void {
    for (const { id, counts, deltas } of this.diffs.end(seq, written, epoch))
      if (counts !== undefined && this.counts.get(id) === counts) this.apply(id, counts, deltas);
  }

  private apply(id: number, c: Counts, deltas: Diff['deltas']): void {
    c.pairs = undefined;
    for (const [hex, { value, d }] of deltas) {
      if (d === 0) continue;
      const e = c.byValue.get(hex);
      if (e === undefined) {
        if (d < 0) return this.drop(id); // cannot happen while the counts hold every completed write
        c.byValue.set(hex, { value, n: d });
        c.order = undefined;
        this.total++;
      } else if (e.n + d > 0) e.n += d;
      else {
        if (e.n + d < 0) return this.drop(id);
        c.byValue.delete(hex);
        c.order = undefined;
        this.total--;
      }
    }
    if (c.byValue.size > MAX_VALUES_PER_INDEX || this.total > MAX_VALUES) this.drop(id);
  }

  /** Forget index `id`'s counts (dropped, rebuilt, or grown past the bound). */
  drop(id: number): void {
    const c = this.counts.get(id);
    if (c === undefined) return;
    this.total -= c.byValue.size;
    this.counts.delete(id);
  }

  /** Indexes with counts, and their distinct values in all. */
  get size(): { indexes: number; values: number } {
    return { indexes: this.counts.size, values: this.total };
  }
}
