import type { WriteBatch } from '../storage/index.js';

export type Isolation = 'read_committed' | 'snapshot';
export const ISOLATIONS: readonly Isolation[] = ['read_committed', 'snapshot'];

/** One committed mutation of an entity, as the change log and indexes see it. */
export interface Change {
  /** Gap-free, strictly increasing across restarts; contiguous within a transaction. */
  readonly seq: number;
  readonly key: string;
  readonly table: string;
  readonly pk: string;
  readonly op: 'put' | 'delete';
  /** New JSON text (null for delete). */
  readonly value: string | null;
  /** Previous JSON text (null if the entity did not exist). */
  readonly prev: string | null;
}

export interface CommitInfo {
  readonly txnId: string;
  /** Commit time, ISO 8601. */
  readonly ts: string;
  readonly changes: readonly Change[];
}

/**
 * Runs synchronously while a commit is being built, after validation, and
 * adds its own operations (index entries, change-log entries) to the same
 * batch, so they become durable atomically with the data. A hook may refuse
 * the commit by throwing (a ThemisError, e.g. CONFLICT for a unique index):
 * nothing is written and the transaction is aborted.
 */
export type CommitHook = (info: CommitInfo, batch: WriteBatch) => void;

/** Runs after a commit's batch is durable (wake change-feed waiters, update in-memory indexes). */
export type AppliedListener = (info: CommitInfo) => void;

const parsedDocs = new WeakMap<Change, { prev: unknown; next: unknown }>();

/**
 * A change's previous and new documents, parsed once per change however many
 * hooks read them (secondary, fulltext and vector indexes). Shared: read-only.
 */
export function changeDocs(c: Change): { prev: unknown; next: unknown } {
  let d = parsedDocs.get(c);
  if (!d) {
    d = { prev: c.prev === null ? undefined : JSON.parse(c.prev), next: c.value === null ? undefined : JSON.parse(c.value) };
    parsedDocs.set(c, d);
  }
  return d;
}
