import type { DocumentStore } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Engine, WriteBatch, keyspace, prefixUpperBound } from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';

const ks = keyspace('tables');
/** `c` table -> {"documents": n, "bytes": b} (only tables holding documents). */
const COUNT = 0x63;
/** `j` table -> TableJob JSON (a drop or truncate that has not finished). */
const JOB = 0x6a;
/** `w` -> the change-log sequence number the counts reflect (decimal). */
const WATERMARK = Buffer.of(0x77);

/** Why counts are rebuilt when none were ever stored. */
const NEW = 'no counts stored';

/** Operations per batch when the counts are rebuilt. */
const REBUILD_BATCH_OPS = 10_000;

/** What a table holds, exactly: its documents and the UTF-8 bytes of their stored JSON texts. */
export interface TableCounts {
  readonly documents: number;
  readonly bytes: number;
}

export type TableOperation = 'drop' | 'truncate';

/** A drop or truncate in progress (stored until it finishes, so a restart resumes it). */
export interface TableJob {
  operation: TableOperation;
  started_at: string;
  /** Documents of the table deleted since the operation began (by it or by anyone else), counted in the commits that delete them. */
  deleted: number;
}

const ZERO: TableCounts = Object.freeze({ documents: 0, bytes: 0 });

function countKey(table: string): Buffer {
  return Buffer.concat([Buffer.of(COUNT), Buffer.from(table, 'latin1')]);
}

function jobKey(table: string): Buffer {
  return Buffer.concat([Buffer.of(JOB), Buffer.from(table, 'latin1')]);
}

function tagRange(tag: number): { gte: Buffer; lt: Buffer } {
  const p = Buffer.of(tag);
  return { gte: p, lt: prefixUpperBound(p) };
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

/** One commit's net change to a table. */
interface Delta {
  documents: number;
  bytes: number;
  /** Deletes of existing documents (a running job's progress). */
  deletes: number;
}

interface LedgerPlan {
  deltas: Map<string, Delta>;
  /** Filled by write: the absolute counts this commit stored (applied copies them to the durable view). */
  written: Map<string, TableCounts>;
  /** Filled by write: the deletes counted into running jobs (aborted takes them back), and their new totals (applied shows them). */
  jobDeletes: Map<string, number>;
  jobTotals: Map<string, number>;
  lastSeq: number;
}

/**
 * The per-table figures of the catalogue, exact and crash-consistent:
 * every commit's participant adds the new absolute document count and byte
 * size of each table it changes to the commit's own batch (keyspace
 * `tables`), with a watermark (the commit's last sequence number). So after
 * a kill -9 the counts are those of the documents that are durable, without
 * a replay; a data directory whose watermark is not the change log's last
 * sequence number (counts never kept, or commits made by a database opened
 * without this module) is counted again from the documents at open.
 *
 * It also holds the running drops and truncates: while one runs, a commit
 * that puts a document into its table is refused (409), and the deletes
 * commits make there are counted into its progress in the same batch.
 *
 * Two views of the counts: `latest` (what the commits queued so far leave
 * behind; the next commit's absolute values build on it, in sequence order)
 * and `durable` (what reached LevelDB; what readers see).
 */
export class TableLedger {
  private readonly latest = new Map<string, TableCounts>();
  private readonly durable = new Map<string, TableCounts>();
  private readonly jobs = new Map<string, TableJob>();
  /**
   * Each job's `deleted` as of the durable commits (a job's own `deleted` runs ahead by the commits
   * queued): what progress shows, so that `deleted + remaining` is what the table held.
   */
  private readonly deletedDurable = new Map<string, number>();

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly log: Logger,
  ) {}

  /** Load the counts (or count the documents again when the watermark is not `lastSeq`) and the unfinished jobs. */
  async open(lastSeq: number): Promise<void> {
    for await (const [k, v] of this.engine.scan(ks, tagRange(JOB))) {
      const job = JSON.parse(v.toString('utf8')) as TableJob;
      this.jobs.set(k.toString('latin1', 1), job);
      this.deletedDurable.set(k.toString('latin1', 1), job.deleted);
    }
    const wm = this.engine.getSync(ks, WATERMARK);
    const stored = wm === undefined ? undefined : Number(wm.toString('latin1'));
    if (stored === lastSeq) {
      for await (const [k, v] of this.engine.scan(ks, tagRange(COUNT))) {
        const c = JSON.parse(v.toString('utf8')) as TableCounts;
        this.latest.set(k.toString('latin1', 1), c);
        this.durable.set(k.toString('latin1', 1), c);
      }
      return;
    }
    await this.rebuild(lastSeq, stored === undefined ? NEW : `counts at seq ${stored}, change log at ${lastSeq}`);
  }

  /**
   * Count every table's documents from the documents themselves. Runs at
   * open, before anything commits; a crash midway leaves the old watermark
   * (not `lastSeq`), so the next open counts again.
   */
  private async rebuild(lastSeq: number, reason: string): Promise<void> {
    const started = Date.now();
    const counts = new Map<string, { documents: number; bytes: number }>();
    let total = 0;
    for await (const rows of this.documents.scan()) {
      for (const [key, text] of rows) {
        const table = key.slice(0, key.indexOf(':'));
        let c = counts.get(table);
        if (!c) counts.set(table, (c = { documents: 0, bytes: 0 }));
        c.documents++;
        c.bytes += Buffer.byteLength(text, 'utf8');
        total++;
      }
    }
    let batch = new WriteBatch();
    const flush = async () => {
      if (batch.length === 0) return;
      await this.engine.commit(batch);
      batch = new WriteBatch();
    };
    for await (const [k] of this.engine.scan(ks, tagRange(COUNT))) {
      batch.del(ks, k);
      if (batch.length >= REBUILD_BATCH_OPS) await flush();
    }
    for (const [t, c] of counts) {
      batch.put(ks, countKey(t), json(c));
      if (batch.length >= REBUILD_BATCH_OPS) await flush();
    }
    batch.put(ks, WATERMARK, Buffer.from(String(lastSeq), 'latin1'));
    await flush();
    this.latest.clear();
    this.durable.clear();
    for (const [t, c] of counts) {
      this.latest.set(t, c);
      this.durable.set(t, c);
    }
    // A new data directory has nothing to count: no line for it.
    if (total > 0 || reason !== NEW)
      this.log.info('table counts rebuilt from the documents', { reason, tables: counts.size, documents: total, ms: Date.now() - started });
  }

  // ------------------------------------------------------------------ reads

  /** The table's durable counts (zero for a table without documents). */
  counts(table: string): TableCounts {
    return this.durable.get(table) ?? ZERO;
  }

  /** Tables holding at least one durable document. */
  tablesWithDocuments(): IterableIterator<string> {
    return this.durable.keys();
  }

  job(table: string): Readonly<TableJob> | undefined {
    return this.jobs.get(table);
  }

  /** The documents of `table` a running job has seen deleted, in durable commits. */
  deletedByJob(table: string): number {
    return this.deletedDurable.get(table) ?? 0;
  }

  jobTables(): IterableIterator<string> {
    return this.jobs.keys();
  }

  // ------------------------------------------------------------------ jobs

  /**
   * Record a drop or truncate of `table` (or turn a running truncate into a
   * drop). From the moment this is called, commits putting documents into
   * the table are refused; the record is durable when it resolves.
   */
  async startJob(table: string, operation: TableOperation, now = new Date()): Promise<TableJob> {
    const prev = this.jobs.get(table);
    const job: TableJob = prev ? { ...prev, operation } : { operation, started_at: now.toISOString(), deleted: 0 };
    this.jobs.set(table, job);
    if (!prev) this.deletedDurable.set(table, 0);
    try {
      await this.engine.commit(new WriteBatch().put(ks, jobKey(table), json(job)));
    } catch (e) {
      if (prev) this.jobs.set(table, prev);
      else {
        this.jobs.delete(table);
        this.deletedDurable.delete(table);
      }
      throw e;
    }
    return job;
  }

  /**
   * `job` of `table` finished: writes to the table are accepted again. False
   * (nothing changed) when another job replaced it meanwhile (a truncate
   * turned into a drop), which then still has to run.
   */
  async endJob(table: string, job: Readonly<TableJob>): Promise<boolean> {
    if (this.jobs.get(table) !== job) return false;
    await this.engine.commit(new WriteBatch().del(ks, jobKey(table)));
    if (this.jobs.get(table) !== job) return false;
    this.jobs.delete(table);
    this.deletedDurable.delete(table);
    return true;
  }

  // ------------------------------------------------------------------ commit participant

  /** Counts (and job progress) into every commit's batch; puts into a table being dropped or truncated are refused in prepare. */
  readonly participant: CommitParticipant<LedgerPlan> = {
    name: 'tables',
    prepare: (info) => this.prepare(info),
    write: (_info, plan, batch) => plan && this.write(plan, batch),
    applied: (_info, plan) => plan && this.applied(plan),
    aborted: (_info, plan) => plan && this.aborted(plan),
  };

  private prepare(info: CommitInfo): LedgerPlan {
    const deltas = new Map<string, Delta>();
    const jobs = this.jobs.size > 0 ? this.jobs : undefined;
    for (const c of info.changes) {
      if (jobs !== undefined && c.op === 'put') {
        const job = jobs.get(c.table);
        if (job) {
          const doing = job.operation === 'drop' ? 'dropped' : 'truncated';
          throw new ThemisError(
            'CONFLICT',
            `table ${c.table} is being ${doing} (started ${job.started_at}); writes to it are refused until that finishes (GET /tables/${c.table} shows the progress)`,
            { details: { table: c.table, operation: job.operation }, retryAfterMs: 1000 },
          );
        }
      }
      let d = deltas.get(c.table);
      if (!d) deltas.set(c.table, (d = { documents: 0, bytes: 0, deletes: 0 }));
      if (c.value !== null) {
        d.documents++;
        d.bytes += Buffer.byteLength(c.value, 'utf8');
      }
      if (c.prev !== null) {
        d.documents--;
        d.bytes -= Buffer.byteLength(c.prev, 'utf8');
        if (c.value === null) d.deletes++;
      }
    }
    return { deltas, written: new Map(), jobDeletes: new Map(), jobTotals: new Map(), lastSeq: info.changes[info.changes.length - 1]!.seq };
  }

  private write(plan: LedgerPlan, batch: WriteBatch): void {
    for (const [t, d] of plan.deltas) {
      if (d.deletes > 0) {
        const job = this.jobs.get(t);
        if (job) {
          job.deleted += d.deletes;
          plan.jobDeletes.set(t, d.deletes);
          plan.jobTotals.set(t, job.deleted);
          batch.put(ks, jobKey(t), json(job));
        }
      }
      if (d.documents === 0 && d.bytes === 0) continue;
      const cur = this.latest.get(t) ?? ZERO;
      const next = { documents: cur.documents + d.documents, bytes: cur.bytes + d.bytes };
      if (next.documents <= 0) {
        this.latest.delete(t);
        batch.del(ks, countKey(t));
        plan.written.set(t, ZERO);
      } else {
        this.latest.set(t, next);
        batch.put(ks, countKey(t), json(next));
        plan.written.set(t, next);
      }
    }
    batch.put(ks, WATERMARK, Buffer.from(String(plan.lastSeq), 'latin1'));
  }

  /** Durable, in sequence order: the counts this commit stored are what readers see now. */
  private applied(plan: LedgerPlan): void {
    for (const [t, n] of plan.jobTotals) if (this.jobs.has(t)) this.deletedDurable.set(t, n);
    for (const [t, c] of plan.written) {
      if (c.documents === 0) this.durable.delete(t);
      else this.durable.set(t, c);
    }
  }

  /** The batch failed (writes stop until a restart): take the commit's changes back out of the latest view. */
  private aborted(plan: LedgerPlan): void {
    for (const [t, n] of plan.jobDeletes) {
      const job = this.jobs.get(t);
      if (job) job.deleted -= n;
    }
    for (const [t, d] of plan.deltas) {
      if (!plan.written.has(t)) continue;
      const cur = this.latest.get(t) ?? ZERO;
      const back = { documents: cur.documents - d.documents, bytes: cur.bytes - d.bytes };
      if (back.documents <= 0) this.latest.delete(t);
      else this.latest.set(t, back);
    }
  }
}
