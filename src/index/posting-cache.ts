import { EpochCache } from '../storage/epoch-cache.js';

/**
 * Small equality postings in memory: the entity keys of `{eq: value}` scans
 * of non-unique secondary indexes, so a repeated equality lookup needs no
 * LevelDB iterator (whose setup and thread-pool round trip cost more than
 * reading a few documents; docs/architecture.md, "Read path").
 *
 * Exact per snapshot (storage/epoch-cache.ts): a commit that changes a
 * value's postings marks the value pending in its write phase (before
 * LevelDB has it) and drops its entry, until the write has completed
 * (`applied`); an entry serves a snapshot only when the snapshot sees the
 * value's last change and nothing is pending. Memory: at most MAX_ENTRIES values of at most
 * MAX_KEYS keys each (~30 MB in the worst case of long keys; ~5 MB for
 * 10,000 values of ten 10-character keys).
 */
export const MAX_ENTRIES = 20_000;
export const MAX_KEYS = 64;

/** The names are the hex of an equality scan's start key (index prefix and value); the values its entity keys. */
export class PostingCache extends EpochCache<readonly string[]> {
  constructor() {
    super({ maxEntries: MAX_ENTRIES });
  }

  /** A complete scan of `value` at a snapshot of `epoch` read `keys`: kept if that is the current state and short. */
  override offer(value: string, keys: readonly string[], epoch: number): boolean {
    return keys.length <= MAX_KEYS && super.offer(value, keys, epoch);
  }
}
