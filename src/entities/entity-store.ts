import type { Transaction, TransactionManager } from '../txn/index.js';
import type { EntityKey } from './entity-key.js';
import type { NormalizedBlob } from './blob.js';

export interface PutResult {
  key: string;
  blob_size: number;
  /** false when an existing entity was replaced. */
  created: boolean;
}

/**
 * Entities: documents addressed by `table:pk`. Every write goes through the
 * transaction manager: inside the caller's transaction (buffered until its
 * commit), or in an implicit read-committed transaction of its own that is
 * committed (durably) before the call returns.
 */
export class EntityStore {
  constructor(private readonly txm: TransactionManager) {}

  /** The JSON text as the transaction sees it, or the latest committed text. */
  get(k: EntityKey, txn?: Transaction): string | undefined {
    return txn ? this.txm.read(txn, k) : this.txm.readLatest(k);
  }

  /** Upsert. */
  async put(k: EntityKey, blob: NormalizedBlob, txn?: Transaction): Promise<PutResult> {
    return this.write(k, blob, false, txn);
  }

  /** Create; CONFLICT when the key exists (checked again at commit, so concurrent creates cannot both win). */
  async create(k: EntityKey, blob: NormalizedBlob, txn?: Transaction): Promise<PutResult> {
    return this.write(k, blob, true, txn);
  }

  /** Delete; resolves to whether the entity existed. */
  async delete(k: EntityKey, txn?: Transaction): Promise<boolean> {
    if (txn) return this.txm.delete(txn, k).existed;
    const t = this.txm.begin('read_committed', true);
    this.txm.delete(t, k);
    const r = await this.txm.commit(t);
    return r.changes.length > 0;
  }

  private async write(k: EntityKey, blob: NormalizedBlob, mustNotExist: boolean, txn?: Transaction): Promise<PutResult> {
    if (txn) {
      const { created } = this.txm.put(txn, k, blob.text, mustNotExist);
      return { key: k.key, blob_size: blob.size, created: created === true };
    }
    const t = this.txm.begin('read_committed', true);
    this.txm.put(t, k, blob.text, mustNotExist);
    const r = await this.txm.commit(t);
    // `prev` is the value the commit replaced, including writes still in flight: exact under concurrency.
    return { key: k.key, blob_size: blob.size, created: r.changes[0]!.prev === null };
  }
}
