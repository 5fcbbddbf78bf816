import { v4 as uuidv4 } from 'uuid';
import { assertRead, assertWrite, type Caller, INTERNAL } from '../access.js';
import { parseEntityKey, type EntityKey } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import type { CommitOrigin, CommitResult, DocumentValue, Transaction, TransactionManager } from '../txn/index.js';
import { normalizeBlob, type NormalizedBlob } from './blob.js';

export interface PutResult {
  key: string;
  blob_size: number;
  /** false when an existing entity was replaced. */
  created: boolean;
}

/** One operation of a batch (POST /transaction, vector batch inserts, deletes by filter). */
export type EntityOp = { op: 'put'; k: EntityKey; value: DocumentValue } | { op: 'delete'; k: EntityKey };

/** One operation of POST /transaction as the client sends it. */
export interface BatchOperation {
  op: 'put' | 'delete';
  key: string;
  blob?: unknown;
}

/** Table for POST /entities without a key. */
export const DEFAULT_TABLE = 'entities';

/**
 * Entities: documents addressed by `table:pk`, and the one way to write
 * them. Every write goes through the transaction manager: inside the
 * caller's transaction (buffered until its commit), or in an implicit
 * read-committed transaction of its own that is committed (durably) before
 * the call returns. HTTP routes, batches, AQL modifications and vector
 * inserts all write here.
 *
 * The `*Entity` methods take raw client values (keys, blobs, transaction
 * ids) and validate them, and check the caller's table access (403 for a
 * table it may not read or write; in-process callers pass none: full
 * access); the others take parsed ones.
 */
export class EntityStore {
  constructor(
    private readonly txm: TransactionManager,
    private readonly maxJsonDepth: number,
  ) {}

  /**
   * The transaction named by an X-Transaction-Id header ('' or undefined: none, an implicit
   * transaction); 403 when another principal began it.
   */
  joined(txnId: string | undefined, caller: Caller = INTERNAL): Transaction | undefined {
    return txnId === undefined || txnId === '' ? undefined : this.txm.get(txnId, caller.id);
  }

  // ------------------------------------------------------------------ client values

  /** The entity's JSON text; NOT_FOUND when absent. */
  getEntity(rawKey: string, txnId?: string, caller: Caller = INTERNAL): { key: string; blob: string } {
    const k = parseEntityKey(rawKey);
    assertRead(caller.access, k.table);
    const blob = this.read(k, this.joined(txnId, caller));
    if (blob === undefined) throw new ThemisError('NOT_FOUND', `entity ${k.key} not found`);
    return { key: k.key, blob };
  }

  putEntity(rawKey: string, blob: unknown, txnId?: string, caller: Caller = INTERNAL): Promise<PutResult> {
    const k = parseEntityKey(rawKey);
    assertWrite(caller.access, k.table);
    return this.put(k, this.blob(blob), this.joined(txnId, caller), false, caller.origin);
  }

  /** Create (CONFLICT if the key exists). Without a key, the key is `<table>:<uuid v4>`, table defaulting to `entities`. */
  createEntity(
    rawKey: string | undefined,
    table: string | undefined,
    blob: unknown,
    txnId?: string,
    caller: Caller = INTERNAL,
  ): Promise<PutResult> {
    const k = parseEntityKey(rawKey ?? `${table ?? DEFAULT_TABLE}:${uuidv4()}`);
    if (rawKey !== undefined && table !== undefined && table !== k.table) {
      throw new ThemisError('VALIDATION_FAILED', `field "table" ("${table}") does not match the table of key "${k.key}"`, {
        details: { field: 'table' },
      });
    }
    assertWrite(caller.access, k.table);
    return this.put(k, this.blob(blob), this.joined(txnId, caller), true, caller.origin);
  }

  async deleteEntity(rawKey: string, txnId?: string, caller: Caller = INTERNAL): Promise<{ key: string; deleted: boolean }> {
    const k = parseEntityKey(rawKey);
    assertWrite(caller.access, k.table);
    return { key: k.key, deleted: await this.delete(k, this.joined(txnId, caller), caller.origin) };
  }

  /**
   * POST /transaction: all operations in one atomic commit. Every operation
   * is validated before anything is buffered; any invalid one fails the
   * whole request with nothing applied, as does an operation on a table the
   * caller may not write (403).
   */
  async applyBatch(
    ops: readonly BatchOperation[],
    caller: Caller = INTERNAL,
  ): Promise<{
    transaction_id: string;
    status: 'committed';
    operations: number;
    changes: number;
    last_seq: number;
    results: { key: string; op: string; created?: boolean; existed?: boolean }[];
  }> {
    const parsed = ops.map((o, i): EntityOp => {
      try {
        const k = parseEntityKey(o.key);
        assertWrite(caller.access, k.table);
        if (o.op === 'delete') return { op: 'delete', k };
        if (o.blob === undefined) throw new ThemisError('VALIDATION_FAILED', 'missing required field "blob"');
        return { op: 'put', k, value: this.blob(o.blob) };
      } catch (e) {
        if (e instanceof ThemisError)
          throw new ThemisError(e.code, `operations[${i}]: ${e.message}`, { details: { field: `operations.${i}`, ...(e.details ?? {}) } });
        throw e;
      }
    });
    const { txnId, result: r } = await this.commitOps(parsed, false, caller.origin);
    // Per-operation outcomes in the batch's own order, starting from what the
    // commit replaced (exact under concurrency): a key exists before the batch
    // iff its change has a previous value.
    const exists = new Map<string, boolean>();
    for (const c of r.changes) exists.set(c.key, c.prev !== null);
    const results = parsed.map((p) => {
      const before = exists.get(p.k.key) ?? false;
      exists.set(p.k.key, p.op === 'put');
      return p.op === 'put' ? { key: p.k.key, op: 'put', created: !before } : { key: p.k.key, op: 'delete', existed: before };
    });
    return {
      transaction_id: txnId,
      status: 'committed',
      operations: parsed.length,
      changes: r.changes.length,
      last_seq: r.lastSeq,
      results,
    };
  }

  private blob(blob: unknown): NormalizedBlob {
    return normalizeBlob(blob, this.maxJsonDepth);
  }

  // ------------------------------------------------------------------ parsed values

  /** The JSON text as the transaction sees it, or the latest committed text. */
  read(k: EntityKey, txn?: Transaction): string | undefined {
    return txn ? this.txm.read(txn, k) : this.txm.readLatest(k);
  }

  /** Upsert (create: CONFLICT when the key exists, checked again at commit so concurrent creates cannot both win). */
  async put(
    k: EntityKey,
    value: DocumentValue & { size?: number },
    txn?: Transaction,
    create = false,
    origin?: CommitOrigin,
  ): Promise<PutResult> {
    const size = value.size ?? Buffer.byteLength(value.text, 'utf8');
    if (txn) {
      const { created } = this.txm.put(txn, k, value, create);
      return { key: k.key, blob_size: size, created: created === true };
    }
    const { result } = await this.commitOps([{ op: 'put', k, value }], create, origin);
    // `prev` is the value the commit replaced, including writes still in flight: exact under concurrency.
    return { key: k.key, blob_size: size, created: result.changes[0]!.prev === null };
  }

  /** Delete; resolves to whether the entity existed. */
  async delete(k: EntityKey, txn?: Transaction, origin?: CommitOrigin): Promise<boolean> {
    if (txn) return this.txm.delete(txn, k).existed;
    const { result } = await this.commitOps([{ op: 'delete', k }], false, origin);
    return result.changes.length > 0;
  }

  /** Buffer a put in `txn` (AQL modifications); returns whether the key is new as the transaction sees it. */
  putIn(txn: Transaction, k: EntityKey, value: DocumentValue, create = false): { created: boolean | undefined } {
    return this.txm.put(txn, k, value, create);
  }

  /** Buffer a delete in `txn`; returns whether the key existed as the transaction sees it. */
  deleteIn(txn: Transaction, k: EntityKey): { existed: boolean } {
    return this.txm.delete(txn, k);
  }

  /** `ops` in one implicit transaction, committed durably: all or nothing. `origin`: the request it serves (its audit entry). */
  async commitOps(ops: readonly EntityOp[], create = false, origin?: CommitOrigin): Promise<{ txnId: string; result: CommitResult }> {
    const t = this.txm.begin('read_committed', true);
    t.origin = origin;
    // An implicit transaction holds no resources: if buffering fails (size limits), it is simply dropped.
    for (const o of ops) {
      if (o.op === 'put') this.txm.put(t, o.k, o.value, create);
      else this.txm.delete(t, o.k);
    }
    return { txnId: t.id, result: await this.txm.commit(t) };
  }
}
