import type { EntityKey } from '../documents/index.js';
import type { WriteBatch } from '../storage/index.js';
import type { BufferedWrite, CommitOrigin, Transaction } from './transaction.js';

export type { CommitOrigin } from './transaction.js';

export type { Isolation } from './transaction.js';

/** A document about to be written: its JSON text and, when the writer has it, the parsed value (read-only from here on). */
export interface DocumentValue {
  readonly text: string;
  readonly doc?: unknown;
}

/**
 * One committed mutation of an entity, as the change log and indexes see it.
 * The documents are parsed at most once per commit, however many
 * participants read them (`doc`, `prevDoc`); treat them as read-only.
 */
export class Change {
  private nextDoc: unknown;
  private prevParsed: unknown;
  private parsed = 0;

  constructor(
    /** Gap-free, strictly increasing across restarts; contiguous within a transaction. */
    readonly seq: number,
    readonly key: string,
    readonly table: string,
    readonly pk: string,
    readonly op: 'put' | 'delete',
    /** New JSON text (null for delete). */
    readonly value: string | null,
    /** Previous JSON text (null if the entity did not exist). */
    readonly prev: string | null,
    /** The new document already parsed by the writer, if it was. */
    doc?: unknown,
  ) {
    if (doc !== undefined) {
      this.nextDoc = doc;
      this.parsed = 1;
    }
  }

  /** The new document (undefined for a delete). */
  get doc(): unknown {
    if ((this.parsed & 1) === 0) {
      this.nextDoc = this.value === null ? undefined : JSON.parse(this.value);
      this.parsed |= 1;
    }
    return this.nextDoc;
  }

  /** The previous document (undefined if the entity did not exist). */
  get prevDoc(): unknown {
    if ((this.parsed & 2) === 0) {
      this.prevParsed = this.prev === null ? undefined : JSON.parse(this.prev);
      this.parsed |= 2;
    }
    return this.prevParsed;
  }
}

export interface CommitInfo {
  readonly txnId: string;
  /** Commit time, ISO 8601. */
  readonly ts: string;
  readonly changes: readonly Change[];
  /** The request this commit serves (the audit log), if any. */
  readonly origin?: CommitOrigin | undefined;
}

/**
 * Something derived from the documents that a commit must keep consistent
 * (the change log, indexes, the graph; later audit and vault entries). The
 * transaction manager runs every participant through three phases for every
 * commit that changes something:
 *
 * 1. `prepare` — pure: look at the changes, return a plan (or undefined when
 *    there is nothing to do), or refuse the commit by throwing a ThemisError.
 *    Every participant prepares before anything is written, so a refusal by
 *    any of them leaves no trace anywhere.
 * 2. `write` — add operations to the commit's one batch and reserve what
 *    must be reserved in memory (unique claims, tickets). Never throws.
 * 3. `applied` — the batch is durable; runs in sequence order. Or
 *    `aborted` — the batch failed after `write`: release the reservations.
 *
 * Order inside a phase does not matter for correctness.
 */
export interface CommitParticipant<P = unknown> {
  readonly name: string;
  /**
   * Work for this participant's `prepare` done before an implicit
   * transaction's commit, off the commit's synchronous path (e.g. on a
   * worker thread): `undefined` when there is none, else a promise the
   * commit awaits (it must not reject; whatever it computes is only a hint
   * that `prepare` may use).
   */
  precommit?(writes: ReadonlyMap<string, BufferedWrite>): Promise<void> | undefined;
  prepare?(commit: CommitInfo): P | undefined;
  write?(commit: CommitInfo, plan: P | undefined, batch: WriteBatch): void;
  applied?(commit: CommitInfo, plan: P | undefined): void;
  aborted?(commit: CommitInfo, plan: P | undefined): void;
}

/**
 * A stage a put passes before it is buffered in a transaction: it may
 * rewrite the document (the value returned is what is stored, indexed and
 * logged) or refuse the write with a ThemisError. Transforms run in
 * registration order.
 */
export interface WriteTransform {
  readonly name: string;
  put(k: EntityKey, value: DocumentValue, txn: Transaction): DocumentValue;
}
