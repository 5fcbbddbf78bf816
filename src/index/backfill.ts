import type { DocumentStore, EntityKey } from '../documents/index.js';

/** How a backfill tells whether a scanned value may be stale: commits applied or queued since the scan began. */
export interface CommitClock {
  /** Highest sequence number applied to LevelDB. */
  appliedSeq(): number;
  /** A commit touching `key` is queued but not applied yet. */
  hasPending(key: string): boolean;
}

/** What the index's commit hook would replace for `key`: the latest value including commits in flight (null: absent). */
export type LatestValue = (key: string) => string | null;

/**
 * Scan a table in batches for an index backfill. Each batch's values are
 * current as of the step that queues it: a scanned value is re-read with
 * `latest` when a commit was applied since the scan began or one is queued
 * for the key, and `queue` is called synchronously right after, so no
 * commit can be queued between reading a value and queueing what derives
 * from it (the index's own commit hook covers every later commit). `queue`
 * returns the batch's write; at most one is in flight while the next batch
 * is scanned. `alive` is checked before each batch (throw to stop).
 */
export async function backfillTable(
  documents: DocumentStore,
  table: string,
  batchSize: number,
  clock: CommitClock | undefined,
  latest: LatestValue,
  alive: () => void,
  queue: (rows: [string, string][]) => Promise<void>,
): Promise<void> {
  let after: EntityKey | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  for (;;) {
    alive();
    const rows: (readonly [string, string])[] = [];
    const since = clock?.appliedSeq();
    for await (const chunk of documents.scan({ table, ...(after ? { after } : {}), size: batchSize })) {
      rows.push(...chunk);
      if (rows.length >= batchSize) break;
    }
    if (rows.length === 0) return inFlight;
    const lastKey = rows[rows.length - 1]![0];
    after = { key: lastKey, table, pk: lastKey.slice(table.length + 1) };
    await inFlight;
    // From here until the batch is queued everything is synchronous.
    const stale = clock === undefined || clock.appliedSeq() !== since;
    const current: [string, string][] = [];
    for (const [key, scanned] of rows) {
      const text = stale || clock!.hasPending(key) ? latest(key) : scanned;
      if (text !== null) current.push([key, text]);
    }
    inFlight = queue(current);
    if (rows.length < batchSize) return inFlight;
  }
}
