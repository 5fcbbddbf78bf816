/**
 * Resident indexes: an ordered in-memory copy of the entry keys of
 * non-unique secondary indexes, so an index scan — a range with `SORT ...
 * LIMIT`, an equality lookup the posting cache does not hold — reads no
 * LevelDB iterator (whose setup and thread-pool round trip cost ~100 µs of
 * CPU however few entries it reads; docs/architecture.md, "Read path").
 *
 * A copy holds exactly the LevelDB keys of the index's range (entries and
 * compound markers) as latin1 strings, in a B+ tree (`sorted-btree`), so
 * string order is byte order and a LevelDB range is a tree range. It is
 * made by a complete keys-only scan at a snapshot, started in the
 * background the first time a query scans the index, and from then on every
 * commit that changes the index's entries applies its differences when its
 * write has completed. The exactness rule is the value counts' (value-counts.ts),
 * per index:
 *
 * - A commit changing an index marks it *pending* in its write phase, with
 *   its differences; when the write has completed (`ended`) they are
 *   applied and the index's *last change* is the engine's write epoch then;
 *   a failed write only clears the mark.
 * - A copy serves a snapshot (of write epoch `epoch`) when nothing is
 *   pending and the last change is no later than `epoch`; a reader that
 *   stops between chunks checks that the copy was not changed meanwhile
 *   (`version`), else it reads the rest from LevelDB at its snapshot.
 * - A scan for a new copy is kept only if no commit changed the index since
 *   the scan's snapshot; otherwise it is tried again later (after ten times
 *   the scan's duration, at least a second), so an index under a steady
 *   write load is read from LevelDB.
 *
 * Memory: ~55 bytes per entry of a ~20-byte key (measured on V8; 100,000
 * entries ~5.5 MB); at most `maxEntries` entries in all copies
 * (THEMIS_RESIDENT_INDEX_ENTRIES, default 1,000,000: ~55 MB): an index
 * that does not fit is not kept, or dropped when commits make it grow past
 * the bound.
 */
import { createRequire } from 'node:module';
import type * as SortedBtree from 'sorted-btree';
import { CommitDiffs, ScanClaims } from '../storage/epoch-cache.js';

// A CommonJS module whose class is its `default` export (required as such: ESM interop differs between Node and vitest).
const BTree = (createRequire(import.meta.url)('sorted-btree') as typeof SortedBtree.default).default;
type Tree = InstanceType<typeof BTree<string, undefined>>;

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One index's copy; `version` counts the commits applied to it. */
export interface ResidentCopy {
  readonly tree: Tree;
  version: number;
}

/** A put (true) or delete of a LevelDB key (latin1), in the commit's batch order. */
export type KeyOp = readonly [put: boolean, key: string];

/** One commit's differences to one index. */
interface Diff {
  id: number;
  /** The copy the differences were taken against (they apply to no later copy of the same index). */
  copy: ResidentCopy | undefined;
  ops: readonly KeyOp[];
}

export class ResidentIndexes {
  private readonly copies = new Map<number, ResidentCopy>();
  private readonly diffs = new CommitDiffs<Diff>();
  private readonly scans = new ScanClaims<number>();
  private total = 0;
  hits = 0;
  misses = 0;
  builds = 0;

  /** `maxEntries`: the most entries all copies may hold (THEMIS_RESIDENT_INDEX_ENTRIES; 0: no copies are made). */
  constructor(readonly maxEntries: number) {}

  /** Index `id`'s copy for a snapshot of `epoch`, if it is that snapshot's state (read it, do not change it). */
  get(id: number, epoch: number): ResidentCopy | undefined {
    const c = this.copies.get(id);
    if (c === undefined || !this.diffs.marks.current(id, epoch)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return c;
  }

  /** Whether `copy` is still index `id`'s copy, unchanged since it was at `version`. */
  unchanged(id: number, copy: ResidentCopy, version: number): boolean {
    return this.copies.get(id) === copy && copy.version === version;
  }

  /** Whether index `id` has a copy (its commits then convert their differences). */
  has(id: number): boolean {
    return this.copies.has(id);
  }

  /**
   * Whether a scan for index `id`'s copy should start now (none kept, none
   * under way, not retrying yet): then a token for its `offer`, and the
   * scan counts as under way until `offer` or `abandon`.
   */
  claimBuild(id: number, now: number): number | undefined {
    if (this.maxEntries === 0 || this.copies.has(id)) return undefined;
    return this.scans.claim(id, now);
  }

  /**
   * The scan of index `id` (claimed with `token`) at a snapshot of `epoch`
   * read `keys` (latin1, in order) in `ms`: kept if that is still the
   * current state, the index was not dropped meanwhile, and it fits.
   */
  offer(id: number, token: number, keys: readonly string[], epoch: number, ms: number): boolean {
    if (
      this.copies.has(id) ||
      !this.scans.valid(id, token) ||
      !this.diffs.marks.current(id, epoch) ||
      this.total + keys.length > this.maxEntries
    ) {
      this.scans.refused(id, ms, Date.now());
      return false;
    }
    const tree = new BTree<string, undefined>(undefined, byteOrder);
    for (const k of keys) tree.set(k, undefined);
    this.copies.set(id, { tree, version: 0 });
    this.total += tree.size;
    this.scans.kept(id);
    this.builds++;
    return true;
  }

  /** The scan of index `id` failed (closed storage, a dropped index): another may start later. */
  abandon(id: number): void {
    this.scans.abandoned(id, Date.now());
  }

  /**
   * Write phase of commit `seq`: index `id`'s LevelDB keys change by `ops`
   * (in the batch's order; the caller makes them only when `has(id)`).
   * Called for every commit that changes a non-unique index, kept or not.
   */
  writing(seq: number, id: number, ops: readonly KeyOp[]): void {
    this.diffs.add(seq, { id, copy: this.copies.get(id), ops });
  }

  /** Commit `seq` ended: written (its changes are in LevelDB as of `epoch`) or not. */
  ended(seq: number, written: boolean, epoch: number): void {
    for (const { id, copy, ops } of this.diffs.end(seq, written, epoch)) {
      if (copy === undefined || this.copies.get(id) !== copy) continue;
      const tree = copy.tree;
      const before = tree.size;
      for (const [put, k] of ops) {
        if (put) tree.set(k, undefined);
        else tree.delete(k);
      }
      copy.version++;
      this.total += tree.size - before;
      if (this.total > this.maxEntries) this.drop(id);
    }
  }

  /** Forget index `id`'s copy (dropped, rebuilt, backfilled, or grown past the bound). */
  drop(id: number): void {
    this.scans.invalidate(id);
    const c = this.copies.get(id);
    if (c === undefined) return;
    this.copies.delete(id);
    this.total -= c.tree.size;
  }

  /** Entries in all copies. */
  get entries(): number {
    return this.total;
  }

  /** Indexes with a copy. */
  get indexes(): number {
    return this.copies.size;
  }
}
