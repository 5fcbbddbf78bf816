import { ThemisError } from '../errors.js';
import type { DocumentStore, EntityKey } from '../documents/index.js';
import type { Logger } from '../log.js';
import { type Engine, WriteBatch, storageFailureError } from '../storage/index.js';
import { Transaction, type BufferedWrite } from './transaction.js';
import { Change, type CommitInfo, type CommitParticipant, type DocumentValue, type Isolation, type WriteTransform } from './types.js';

export interface TransactionManagerOptions {
  /** Highest sequence number in the durable change log (recovered at start). */
  lastSeq: number;
  idleTimeoutMs: number;
  maxOps: number;
  maxBytes: number;
  log: Logger;
}

export interface CommitResult extends CommitInfo {
  /** Sequence number of the transaction's last change (or the current one if it changed nothing). */
  readonly lastSeq: number;
}

export interface TransactionStats {
  total_begun: number;
  total_committed: number;
  total_aborted: number;
  active_count: number;
  avg_duration_ms: number;
  max_duration_ms: number;
  success_rate: number;
  rolled_back: number;
  conflicts: number;
  timed_out: number;
  implicit_committed: number;
  /** Single-request writes refused with 409 (a create of an existing key). */
  implicit_conflicts: number;
  conflict_tracking_keys: number;
}

/** UTF-8 size of a buffered write (key + document), for THEMIS_TXN_MAX_BYTES. */
function writeBytes(w: BufferedWrite): number {
  return Buffer.byteLength(w.k.key, 'utf8') + (w.value === null ? 0 : Buffer.byteLength(w.value, 'utf8'));
}

/** How many finished transaction ids are remembered for clear error messages. */
const RECENT_FINISHED = 10_000;
/** Conflict tracking is pruned once it holds this many keys. */
const PRUNE_THRESHOLD = 4096;

/**
 * MVCC over LevelDB. Every write of every request goes through here: an
 * implicit transaction per request, or an explicit one joined with
 * X-Transaction-Id.
 *
 * - Writes are buffered in the transaction and applied at commit as one
 *   batch through group commit, together with what the commit participants add
 *   (change-log entries, later index entries): all or nothing, also across
 *   crashes.
 * - Commit validation, sequence-number assignment and queueing of the batch
 *   happen synchronously on the event loop, so they are atomic with respect
 *   to other commits, and batches reach LevelDB in sequence order.
 * - Snapshot isolation: reads come from a LevelDB snapshot taken at begin,
 *   plus the transaction's own writes; first committer wins: commit fails
 *   with CONFLICT if another transaction committed a write to one of its
 *   keys after it began. This prevents lost updates; write skew (two
 *   transactions reading overlapping data and writing disjoint keys) is
 *   allowed, as in every snapshot-isolation database.
 * - read_committed: reads see the latest durable data; no conflict check
 *   (last committer wins).
 *
 * Conflict tracking keeps, per key, the sequence number of its last
 * committed write, and only for writes newer than the oldest active
 * snapshot: older entries cannot conflict with anyone and are pruned.
 */
export class TransactionManager {
  private readonly active = new Map<string, Transaction>();
  private readonly recentFinished = new Map<string, string>();
  /** key -> sequence number of the last committed (or committing) write. */
  private readonly lastWrite = new Map<string, number>();
  /** Writes queued in group commit but not yet durable: key -> last one. Reads of `prev` and create checks see them. */
  private readonly pending = new Map<string, { seq: number; value: string | null }>();
  private nextSeq: number;
  private appliedSeqRef: number;
  private idCounter: number;
  private broken: Error | undefined;
  private pruneAt = PRUNE_THRESHOLD;
  private readonly sweeper: NodeJS.Timeout;
  private readonly counters = {
    begun: 0,
    committed: 0,
    rolledBack: 0,
    conflicts: 0,
    timedOut: 0,
    failed: 0,
    implicitCommitted: 0,
    implicitConflicts: 0,
    durationSum: 0,
    durationMax: 0,
    finished: 0,
  };

  private readonly participants: CommitParticipant[] = [];
  /** Participants with work to do before an implicit transaction's commit (CommitParticipant.precommit). */
  private readonly precommits: CommitParticipant[] = [];
  private readonly transforms: WriteTransform[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly opts: TransactionManagerOptions,
  ) {
    this.nextSeq = opts.lastSeq + 1;
    this.appliedSeqRef = opts.lastSeq;
    // Ids stay unique across restarts without persisting a counter: start from the clock in microseconds.
    this.idCounter = Date.now() * 1000;
    const every = Math.max(50, Math.min(1000, Math.floor(opts.idleTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.rollbackIdle(), every);
    this.sweeper.unref();
  }

  /** Highest sequence number whose batch is durable. */
  get appliedSeq(): number {
    return this.appliedSeqRef;
  }

  get healthy(): boolean {
    return this.broken === undefined;
  }

  // ------------------------------------------------------------------ extension points

  /** Run `p` through the commit phases of every commit from now on (see CommitParticipant). */
  addParticipant(p: CommitParticipant): void {
    this.participants.push(p as CommitParticipant<unknown>);
    if (p.precommit) this.precommits.push(p);
  }

  /** Pass every put through `t` before it is buffered (see WriteTransform). */
  addTransform(t: WriteTransform): void {
    this.transforms.push(t);
  }

  // ------------------------------------------------------------------ lifecycle

  begin(isolation: Isolation, implicit = false): Transaction {
    this.assertUsable();
    const id = String(++this.idCounter);
    const snap = isolation === 'snapshot' ? this.engine.snapshot() : undefined;
    const txn = new Transaction(id, isolation, this.appliedSeqRef, snap, implicit);
    if (!implicit) {
      this.active.set(id, txn);
      this.counters.begun++;
    }
    return txn;
  }

  /**
   * The active explicit transaction with this id (TRANSACTION_NOT_ACTIVE otherwise). With `owner` (a
   * principal id), a transaction another principal began is 403: it could otherwise read through it,
   * add to it, commit or roll it back.
   */
  get(id: unknown, owner?: string): Transaction {
    const key = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : typeof id === 'string' ? id.trim() : undefined;
    if (key === undefined || key === '')
      throw new ThemisError('TRANSACTION_NOT_ACTIVE', 'transaction_id must be an integer (or its decimal string)');
    const txn = this.active.get(key);
    if (!txn) {
      const how = this.recentFinished.get(key);
      throw new ThemisError('TRANSACTION_NOT_ACTIVE', how ? `transaction ${key} is already ${how}` : `transaction ${key} not found`, {
        details: { transaction_id: /^\d{1,16}$/.test(key) ? Number(key) : key, ...(how ? { status: how.split(' ')[0] } : {}) },
      });
    }
    if (owner !== undefined && txn.owner !== undefined && txn.owner !== owner)
      throw new ThemisError('FORBIDDEN', `transaction ${key} belongs to another principal`, { details: { field: 'transaction_id' } });
    txn.lastActivity = Date.now();
    return txn;
  }

  rollback(txn: Transaction, reason: 'rolled_back' | 'timed out' = 'rolled_back'): void {
    if (txn.state !== 'active') throw new ThemisError('TRANSACTION_NOT_ACTIVE', `transaction ${txn.id} is ${txn.state}`);
    if (reason === 'timed out') this.counters.timedOut++;
    else this.counters.rolledBack++;
    this.finish(txn, 'rolled_back', reason === 'timed out' ? 'rolled_back (idle timeout)' : 'rolled_back');
  }

  // ------------------------------------------------------------------ reads and buffered writes

  /** The entity's JSON text as this transaction sees it. */
  read(txn: Transaction, k: EntityKey): string | undefined {
    const w = txn.writes.get(k.key);
    if (w) return w.value ?? undefined;
    return this.documents.read(k, txn.snapshot);
  }

  /** The latest committed (durable) text, outside any transaction. */
  readLatest(k: EntityKey): string | undefined {
    return this.documents.read(k);
  }

  /**
   * Buffer a put; returns whether the key is new as this transaction sees
   * it. For an implicit transaction's first write of a key that is left to
   * the commit (`created` undefined): the commit checks creates and reports
   * the replaced value exactly, so reading now would be wasted work on the
   * hottest path. The write transforms see the document (its JSON text, or
   * text and parsed value) first.
   */
  put(txn: Transaction, k: EntityKey, document: DocumentValue | string, mustNotExist = false): { created: boolean | undefined } {
    this.assertActive(txn);
    let value = typeof document === 'string' ? { text: document } : document;
    for (const t of this.transforms) value = t.put(k, value, txn);
    if (txn.implicit && !txn.writes.has(k.key)) {
      this.buffer(txn, { k, op: 'put', value: value.text, doc: value.doc, mustNotExist });
      return { created: undefined };
    }
    const exists = this.read(txn, k) !== undefined;
    if (mustNotExist && exists) throw new ThemisError('CONFLICT', `entity ${k.key} already exists; use PUT /entities/{key} to replace it`);
    // A create after this transaction's own delete of the key replaces it: the delete already
    // established non-existence (and snapshot isolation catches concurrent writers).
    const earlier = txn.writes.get(k.key);
    const create = earlier === undefined ? mustNotExist : earlier.mustNotExist;
    this.buffer(txn, { k, op: 'put', value: value.text, doc: value.doc, mustNotExist: create });
    return { created: !exists };
  }

  /** Buffer a delete; returns whether the key existed as this transaction sees it. */
  delete(txn: Transaction, k: EntityKey): { existed: boolean } {
    this.assertActive(txn);
    const existed = this.read(txn, k) !== undefined;
    this.buffer(txn, { k, op: 'delete', value: null, mustNotExist: false });
    return { existed };
  }

  private buffer(txn: Transaction, w: BufferedWrite): void {
    const prev = txn.writes.get(w.k.key);
    const bytes = txn.bytes - (prev ? writeBytes(prev) : 0) + writeBytes(w);
    if (!prev && txn.writes.size >= this.opts.maxOps) {
      throw new ThemisError(
        'PAYLOAD_TOO_LARGE',
        `${txn.implicit ? 'the request' : `transaction ${txn.id}`} would exceed ${this.opts.maxOps} operations (THEMIS_TXN_MAX_OPS)${txn.implicit ? '' : '; commit or roll back'}`,
      );
    }
    if (bytes > this.opts.maxBytes) {
      throw new ThemisError(
        'PAYLOAD_TOO_LARGE',
        `${txn.implicit ? 'the request' : `transaction ${txn.id}`} would exceed ${this.opts.maxBytes} bytes (THEMIS_TXN_MAX_BYTES)${txn.implicit ? '' : '; commit or roll back'}`,
      );
    }
    // Delete + re-insert keeps first-write order meaningful only per key; Map order is first insertion.
    txn.writes.set(w.k.key, w);
    txn.version++;
    txn.bytes = bytes;
    txn.lastActivity = Date.now();
  }

  // ------------------------------------------------------------------ commit

  /**
   * Validate, assign sequence numbers and queue the batch (synchronously),
   * then wait until it is durable. CONFLICT (409) when snapshot isolation
   * finds a newer committed write to one of its keys, or a create finds its
   * key taken; nothing is applied then.
   */
  async commit(txn: Transaction): Promise<CommitResult> {
    this.assertActive(txn);
    this.assertUsable();
    // An implicit transaction is this request's alone: nothing can join it while its precommit work runs.
    if (txn.implicit && this.precommits.length > 0) {
      const waits: Promise<void>[] = [];
      for (const p of this.precommits) {
        const w = p.precommit!(txn.writes);
        if (w) waits.push(w);
      }
      if (waits.length > 0) {
        await Promise.all(waits);
        this.assertActive(txn);
        this.assertUsable();
      }
    }
    const conflict = this.validate(txn);
    if (conflict) {
      if (txn.implicit) this.counters.implicitConflicts++;
      else this.counters.conflicts++;
      this.finish(txn, 'aborted', 'aborted');
      throw new ThemisError('CONFLICT', conflict, txn.implicit ? {} : { details: { transaction_id: Number(txn.id), status: 'aborted' } });
    }
    txn.state = 'committing';
    const ts = new Date().toISOString();
    const changes: Change[] = [];
    const batch = new WriteBatch();
    for (const w of txn.writes.values()) {
      const prev = this.latest(w.k);
      if (w.op === 'delete' && prev === null) continue; // deleting nothing changes nothing
      if (w.op === 'put') this.documents.put(batch, w.k, w.value!);
      else this.documents.delete(batch, w.k);
      changes.push(new Change(this.nextSeq++, w.k.key, w.k.table, w.k.pk, w.op, w.value, prev, w.doc));
    }
    const info: CommitInfo = { txnId: txn.id, ts, changes, origin: txn.origin };
    if (changes.length === 0) {
      this.finishCommitted(txn);
      return { ...info, lastSeq: this.appliedSeqRef };
    }
    const plans = this.prepare(txn, info);
    this.write(txn, info, plans, batch);
    for (const c of changes) {
      this.lastWrite.set(c.key, c.seq);
      this.pending.set(c.key, { seq: c.seq, value: c.value });
    }
    const lastSeq = changes[changes.length - 1]!.seq;
    // From here until the write has ended, reads of these documents go to LevelDB (the document cache's rule).
    this.documents.writing(
      lastSeq,
      changes.map((c) => c.key),
    );
    try {
      await this.engine.commit(batch);
    } catch (e) {
      this.documents.ended(lastSeq, false);
      // Sequence numbers were handed out and later commits may be queued
      // behind this one: continuing would leave a gap in the change log.
      // LevelDB itself refuses writes after a failed write, so stop here;
      // a restart recovers from the durable state.
      this.broken = e instanceof Error ? e : new Error(String(e));
      this.opts.log.error('commit failed; refusing further writes', { error: e, txn_id: txn.id, storage: this.engine.failure?.kind });
      for (const c of changes) if (this.pending.get(c.key)?.seq === c.seq) this.pending.delete(c.key);
      this.each('aborted', info, plans, this.participants.length);
      if (!txn.implicit) this.counters.failed++;
      this.finish(txn, 'aborted', 'aborted (storage failure)');
      // The engine's error says what failed (507 disk full, 503 I/O error); anything else is a 500.
      if (e instanceof ThemisError) throw e;
      throw new ThemisError('INTERNAL', 'commit failed in storage; it was not acknowledged', { cause: e });
    }
    this.documents.ended(lastSeq, true, changes, (c) => this.lastWrite.get(c.key) === c.seq);
    for (const c of changes) if (this.pending.get(c.key)?.seq === c.seq) this.pending.delete(c.key);
    if (lastSeq > this.appliedSeqRef) this.appliedSeqRef = lastSeq;
    this.finishCommitted(txn);
    this.each('applied', info, plans, this.participants.length);
    if (this.lastWrite.size > this.pruneAt) this.prune();
    return { ...info, lastSeq };
  }

  /**
   * Phase 1: every participant prepares (pure). A refusal aborts the
   * transaction; nothing was written or reserved, and the sequence numbers
   * go back (everything so far was synchronous), so there is no gap.
   */
  private prepare(txn: Transaction, info: CommitInfo): unknown[] {
    const parts = this.participants;
    const plans = new Array<unknown>(parts.length);
    try {
      for (let i = 0; i < parts.length; i++) plans[i] = parts[i]!.prepare?.(info);
    } catch (e) {
      this.nextSeq = info.changes[0]!.seq;
      if (txn.implicit) this.counters.implicitConflicts++;
      else this.counters.conflicts++;
      this.finish(txn, 'aborted', 'aborted');
      if (e instanceof ThemisError && !txn.implicit) {
        throw new ThemisError(e.code, e.message, { details: { ...(e.details ?? {}), transaction_id: Number(txn.id), status: 'aborted' } });
      }
      throw e;
    }
    return plans;
  }

  /** Phase 2: every participant adds its operations to the batch. A throw here is a bug: what was reserved is released and writes stop. */
  private write(txn: Transaction, info: CommitInfo, plans: unknown[], batch: WriteBatch): void {
    const parts = this.participants;
    let i = 0;
    try {
      for (; i < parts.length; i++) parts[i]!.write?.(info, plans[i], batch);
    } catch (e) {
      // Those that wrote, and the one that threw midway, release what they reserved.
      this.each('aborted', info, plans, i + 1);
      if (!txn.implicit) this.counters.failed++;
      this.finish(txn, 'aborted', 'aborted (commit failed)');
      this.broken = e instanceof Error ? e : new Error(String(e));
      this.opts.log.error('commit participant failed while writing; refusing further writes', { participant: parts[i]!.name, error: e });
      throw new ThemisError('INTERNAL', 'commit failed; it was not applied', { cause: e });
    }
  }

  /** Phase 3 (applied or aborted) for the first `n` participants; one participant's failure does not stop the others. */
  private each(phase: 'applied' | 'aborted', info: CommitInfo, plans: unknown[], n: number): void {
    const parts = this.participants;
    for (let i = 0; i < n; i++) {
      try {
        parts[i]![phase]?.(info, plans[i]);
      } catch (e) {
        this.opts.log.error(`commit participant failed in ${phase}`, { participant: parts[i]!.name, error: e });
      }
    }
  }

  /** A conflict message, or undefined if the transaction may commit. */
  private validate(txn: Transaction): string | undefined {
    for (const w of txn.writes.values()) {
      if (txn.isolation === 'snapshot') {
        const last = this.lastWrite.get(w.k.key);
        if (last !== undefined && last > txn.beginSeq) {
          return `write conflict on ${w.k.key}: another transaction committed it after transaction ${txn.id} began (first committer wins); retry the transaction`;
        }
      }
      if (w.mustNotExist && w.op === 'put' && this.latest(w.k) !== null) {
        return `entity ${w.k.key} already exists; use PUT /entities/{key} to replace it`;
      }
    }
    return undefined;
  }

  /** A commit writing `key` is queued but not yet durable. */
  hasPending(key: string): boolean {
    return this.pending.has(key);
  }

  /** Latest value including writes queued but not yet durable (what the next commit will replace). */
  latest(k: EntityKey): string | null {
    const p = this.pending.get(k.key);
    if (p) return p.value;
    return this.documents.read(k) ?? null;
  }

  // ------------------------------------------------------------------ bookkeeping

  private finishCommitted(txn: Transaction): void {
    if (txn.implicit) {
      this.counters.implicitCommitted++;
      txn.state = 'committed';
      txn.snapshot?.close();
      return;
    }
    this.counters.committed++;
    this.finish(txn, 'committed', 'committed');
  }

  private finish(txn: Transaction, state: 'committed' | 'rolled_back' | 'aborted', how: string): void {
    txn.state = state;
    if (txn.snapshot) {
      txn.snapshot.close();
      // It may have held conflict tracking back: let the next commit prune.
      this.pruneAt = PRUNE_THRESHOLD;
    }
    txn.writes.clear();
    txn.version++;
    if (txn.implicit) return;
    this.active.delete(txn.id);
    const d = Date.now() - txn.startedAt;
    this.counters.finished++;
    this.counters.durationSum += d;
    if (d > this.counters.durationMax) this.counters.durationMax = d;
    if (this.recentFinished.size >= RECENT_FINISHED) this.recentFinished.delete(this.recentFinished.keys().next().value!);
    this.recentFinished.set(txn.id, how);
  }

  /** Drop conflict-tracking entries no active or future snapshot can conflict with. */
  prune(): void {
    let bound = this.appliedSeqRef;
    for (const t of this.active.values()) if (t.isolation === 'snapshot' && t.beginSeq < bound) bound = t.beginSeq;
    for (const [k, seq] of this.lastWrite) if (seq <= bound) this.lastWrite.delete(k);
    // While an old snapshot holds entries back, prune again only after the map doubled: amortised O(1) per commit.
    this.pruneAt = Math.max(PRUNE_THRESHOLD, 2 * this.lastWrite.size);
  }

  private rollbackIdle(now = Date.now()): void {
    for (const t of this.active.values()) {
      if (t.state === 'active' && now - t.lastActivity > this.opts.idleTimeoutMs) {
        this.opts.log.info('transaction rolled back after idle timeout', { txn_id: t.id, idle_ms: now - t.lastActivity });
        this.rollback(t, 'timed out');
      }
    }
  }

  private assertActive(txn: Transaction): void {
    if (txn.state !== 'active') throw new ThemisError('TRANSACTION_NOT_ACTIVE', `transaction ${txn.id} is ${txn.state}`);
  }

  private assertUsable(): void {
    const f = this.engine.failure;
    if (f) throw storageFailureError(f);
    if (this.broken)
      throw new ThemisError('UNAVAILABLE', `writes are disabled after a storage failure (${this.broken.message}); restart the server`);
  }

  stats(): TransactionStats {
    const c = this.counters;
    const aborted = c.rolledBack + c.conflicts + c.timedOut + c.failed;
    return {
      total_begun: c.begun,
      total_committed: c.committed,
      total_aborted: aborted,
      active_count: this.active.size,
      avg_duration_ms: c.finished === 0 ? 0 : Math.round((c.durationSum / c.finished) * 100) / 100,
      max_duration_ms: c.durationMax,
      success_rate: c.committed + aborted === 0 ? 1 : Math.round((c.committed / (c.committed + aborted)) * 10_000) / 10_000,
      rolled_back: c.rolledBack,
      conflicts: c.conflicts,
      timed_out: c.timedOut,
      implicit_committed: c.implicitCommitted,
      implicit_conflicts: c.implicitConflicts,
      conflict_tracking_keys: this.lastWrite.size,
    };
  }

  /** Stop the idle sweeper and roll back what is still active (shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    for (const t of [...this.active.values()]) if (t.state === 'active') this.rollback(t);
  }
}
