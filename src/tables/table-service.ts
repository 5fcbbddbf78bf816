import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { assertRead, assertWrite, type Caller, INTERNAL, type TableAccess } from '../access.js';
import { type DocumentStore, type EntityKey, TABLE_NAME } from '../documents/index.js';
import type { EntityStore } from '../entities/entity-store.js';
import { ThemisError } from '../errors.js';
import { DEFAULT_VECTOR_INDEX, type IndexManager, type VectorManager } from '../index/index.js';
import type { Logger } from '../log.js';
import type { PiiService } from '../pii/index.js';
import type { RetentionService } from '../retention/index.js';
import type { TableJob, TableLedger, TableOperation } from './table-ledger.js';

/** Deletes per commit of a drop or truncate: bounded, so other commits interleave and no batch grows large. */
export const DELETE_BATCH = 1000;

/** A secondary (equality/range) index of a table, as the catalogue lists it. */
export interface TableIndex {
  name: string;
  columns: string[];
  type: 'equality' | 'range';
  unique: boolean;
  sparse: boolean;
  state: string;
  /** Index entries (exact: maintained by every commit). */
  entries: number;
}

/** A fulltext (BM25) index of a table. */
export interface TableFulltextIndex {
  name: string;
  column: string;
  state: string;
  /** Documents with at least one indexed token. */
  documents: number;
  terms: number;
  postings: number;
}

/** A vector (HNSW) index of a table. */
export interface TableVectorIndex {
  name: string;
  field: string;
  dimension: number | null;
  metric: string;
  state: string;
  vectors: number;
}

/** A drop or truncate in progress. */
export interface TableProgress {
  operation: TableOperation;
  /** Documents deleted since it began (exact, counted in the commits that delete them). */
  deleted: number;
  /** Documents left (exact). */
  remaining: number;
  started_at: string;
}

/** One table as GET /tables and GET /tables/{name} show it (openapi.yaml `TableInfo`). */
export interface TableInfo {
  name: string;
  /** Internal tables (name starting with `_`: `_content`, `_chunks`, `_llm_interactions`), written by their own APIs; they cannot be dropped or truncated here. */
  system: boolean;
  state: 'ready' | 'dropping' | 'truncating';
  /** Exact. */
  documents: number;
  /** Exact: UTF-8 bytes of the documents' stored JSON texts (keys, indexes and the change log not included). */
  bytes: number;
  /** Approximate: LevelDB's estimate of the table's documents on disk (compressed; data still in the memtable is not counted). */
  disk_bytes: number;
  indexes: TableIndex[];
  fulltext: TableFulltextIndex[];
  vector_indexes: TableVectorIndex[];
  policies: { pii: boolean; retention: boolean };
  progress: TableProgress | null;
}

/** What DELETE /tables/{name} and POST /tables/{name}/truncate answer (openapi.yaml `TableOperationResult`). */
export interface TableOperationResult {
  table: string;
  operation: TableOperation;
  state: 'running' | 'done';
  deleted: number;
  remaining: number;
  started_at: string;
  finished_at: string | null;
}

/** What the catalogue reads and writes through. */
export interface TableServiceDeps {
  ledger: TableLedger;
  documents: DocumentStore;
  entities: EntityStore;
  indexes: IndexManager;
  vectors: VectorManager;
  pii: PiiService;
  retention: RetentionService;
  log: Logger;
}

function badName(name: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', `"${name.slice(0, 80)}" is not a table name (1-128 of A-Z a-z 0-9 _ -)`, {
    details: { field: 'name' },
  });
}

function notFound(name: string): ThemisError {
  return new ThemisError(
    'TABLE_NOT_FOUND',
    `table ${name} does not exist (no document, index, vector index or policy names it); GET /tables lists the tables`,
    { details: { table: name } },
  );
}

/** Tables whose names start with `_` belong to a subsystem (content, LLM interactions). */
export function isSystemTable(name: string): boolean {
  return name.startsWith('_');
}

/**
 * The table catalogue (docs/operations.md, "Table management"). Tables have
 * no definition of their own: one exists while it holds a document, or an
 * index, a vector index or a PII or retention policy names it, or a drop or
 * truncate of it is under way. Counts come from the TableLedger (exact,
 * maintained by every commit); indexes and policies from their modules.
 *
 * Drop and truncate delete the documents through ordinary commits of at
 * most DELETE_BATCH deletes, yielding to the event loop between them, so
 * every derived structure (secondary and fulltext entries, vector graphs,
 * graph adjacency, the change feed: one `delete` entry per document) stays
 * consistent and the server keeps serving. A drop first drops the table's
 * index definitions (their entries go by range, not per document) and at
 * the end its PII and retention policies. Both are recorded in the ledger
 * before they start and resume after a restart.
 */
export class TableService {
  /** The job runner of each table with a running drop or truncate. */
  private readonly running = new Map<string, Promise<TableOperationResult>>();
  private closing = false;

  constructor(private readonly d: TableServiceDeps) {}

  // ------------------------------------------------------------------ catalogue

  /** Whether `table` exists: documents, a running job, an index or vector index, or a PII or retention policy. */
  exists(table: string): boolean {
    const d = this.d;
    if (d.ledger.counts(table).documents > 0 || d.ledger.job(table) !== undefined) return true;
    if (d.vectors.onTable(table).length > 0) return true;
    if (d.indexes.list().some((x) => x.table === table)) return true;
    return this.hasPiiPolicy(table) || this.hasRetentionPolicy(table);
  }

  /** Documents in `table` (exact, latest durable state; 0 for a table that does not exist). */
  count(table: string): number {
    return this.d.ledger.counts(table).documents;
  }

  /** Every existing table's name, sorted. */
  names(): string[] {
    const d = this.d;
    const out = new Set<string>(d.ledger.tablesWithDocuments());
    for (const t of d.ledger.jobTables()) out.add(t);
    for (const x of d.indexes.list()) out.add(x.table);
    for (const x of d.vectors.list()) out.add(x.table as string);
    for (const p of d.pii.policies.list()) out.add(p.table);
    for (const p of d.retention.list()) if (p.kind === 'table') out.add(p.collection);
    return [...out].sort();
  }

  /** GET /tables: the tables `access` may read. */
  async list(access: TableAccess): Promise<TableInfo[]> {
    const out: TableInfo[] = [];
    for (const name of this.names()) if (access.readsAll || access.canRead(name)) out.push(await this.describe(name));
    return out;
  }

  /** GET /tables/{name}: 403 for a table the caller may not read (whether or not it exists), 404 when it does not exist. */
  async info(name: string, caller: Caller = INTERNAL): Promise<TableInfo> {
    this.checkName(name);
    assertRead(caller.access, name);
    if (!this.exists(name)) throw notFound(name);
    return this.describe(name);
  }

  private async describe(name: string): Promise<TableInfo> {
    const d = this.d;
    // LevelDB's estimate first: everything exact below is read in one synchronous step (one state of the ledger).
    const diskBytes = await d.documents.tableBytes(name);
    const counts = d.ledger.counts(name);
    const defs = d.indexes.list().filter((x) => x.table === name);
    const job = d.ledger.job(name);
    return {
      name,
      system: isSystemTable(name),
      state: job === undefined ? 'ready' : job.operation === 'drop' ? 'dropping' : 'truncating',
      documents: counts.documents,
      bytes: counts.bytes,
      disk_bytes: diskBytes,
      indexes: defs
        .filter((x) => x.type !== 'fulltext')
        .map((x) => ({
          name: x.name,
          columns: x.columns,
          type: x.type as 'equality' | 'range',
          unique: x.unique,
          sparse: x.sparse,
          state: x.state,
          entries: x.entries,
        })),
      fulltext: defs
        .filter((x) => x.type === 'fulltext')
        .map((x) => ({
          name: x.name,
          column: x.columns[0]!,
          state: x.state,
          documents: x.fulltext?.documents ?? 0,
          terms: x.fulltext?.terms ?? 0,
          postings: x.fulltext?.postings ?? 0,
        })),
      vector_indexes: d.vectors.onTable(name).map((ix) => ({
        name: ix.def.name,
        field: ix.def.field,
        dimension: ix.def.dimension,
        metric: ix.def.metric,
        state: ix.def.state,
        vectors: ix.size,
      })),
      policies: { pii: this.hasPiiPolicy(name), retention: this.hasRetentionPolicy(name) },
      progress: job === undefined ? null : this.progress(name, job),
    };
  }

  private progress(name: string, job: Readonly<TableJob>): TableProgress {
    return { operation: job.operation, deleted: this.d.ledger.deletedByJob(name), remaining: this.count(name), started_at: job.started_at };
  }

  private hasPiiPolicy(table: string): boolean {
    return this.d.pii.policies.list().some((p) => p.table === table);
  }

  private hasRetentionPolicy(table: string): boolean {
    return this.d.retention.list().some((p) => p.kind === 'table' && p.collection === table);
  }

  private checkName(name: string): void {
    if (!TABLE_NAME.test(name)) throw badName(name);
  }

  // ------------------------------------------------------------------ drop / truncate

  /**
   * DELETE /tables/{name}: remove the documents, the index, fulltext and
   * vector index definitions (the default vector index `vector_index` of
   * `vectors` stays, emptied), and the PII and retention policies. A drop
   * requested during a truncate turns it into a drop. Answers at once
   * (`running`) or, with `wait`, when it is done.
   */
  drop(name: string, caller: Caller = INTERNAL, wait = false): Promise<TableOperationResult> {
    return this.start(name, 'drop', caller, wait);
  }

  /** POST /tables/{name}/truncate: remove the documents, keep the definitions and policies. 409 while the table is being dropped. */
  truncate(name: string, caller: Caller = INTERNAL, wait = false): Promise<TableOperationResult> {
    return this.start(name, 'truncate', caller, wait);
  }

  private async start(name: string, operation: TableOperation, caller: Caller, wait: boolean): Promise<TableOperationResult> {
    this.checkName(name);
    assertWrite(caller.access, name);
    if (!this.exists(name)) throw notFound(name);
    if (isSystemTable(name)) {
      throw new ThemisError(
        'BAD_REQUEST',
        `${name} is a system table, written only through its own API (content: DELETE /content/{id}; LLM interactions: DELETE /llm/interaction/{id} and retention); it cannot be dropped or truncated`,
        { details: { table: name } },
      );
    }
    if (this.closing) throw new ThemisError('UNAVAILABLE', 'the server is shutting down');
    const job = this.d.ledger.job(name);
    if (job?.operation === 'drop' && operation === 'truncate') {
      throw new ThemisError('CONFLICT', `table ${name} is being dropped; it cannot be truncated`, {
        details: { table: name, operation: 'drop' },
      });
    }
    if (job === undefined || job.operation !== operation) {
      await this.d.ledger.startJob(name, operation);
      this.d.log.info(`table ${operation} started`, { table: name, documents: this.count(name) });
    }
    const run = this.ensureRunning(name);
    if (wait) return run;
    return this.status(name, operation);
  }

  /** The answer for a job that goes on in the background. */
  private status(name: string, operation: TableOperation): TableOperationResult {
    const job = this.d.ledger.job(name);
    return {
      table: name,
      operation: job?.operation ?? operation,
      state: 'running',
      deleted: this.d.ledger.deletedByJob(name),
      remaining: this.count(name),
      started_at: job?.started_at ?? new Date().toISOString(),
      finished_at: null,
    };
  }

  /** Resume the drops and truncates a restart interrupted (called once the module is open). */
  resume(): void {
    for (const t of [...this.d.ledger.jobTables()]) {
      this.d.log.info('resuming an interrupted table operation', { table: t, operation: this.d.ledger.job(t)?.operation });
      void this.ensureRunning(t).catch(() => undefined);
    }
  }

  /** Stop the running jobs after their current batch (shutdown, or storage reopening); they resume at the next open. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.running.values()]);
  }

  private ensureRunning(table: string): Promise<TableOperationResult> {
    let p = this.running.get(table);
    if (!p) {
      p = this.runJob(table).finally(() => this.running.delete(table));
      this.running.set(table, p);
      // A background job's failure is logged by runJob; an unawaited rejection must not end the process.
      p.catch(() => undefined);
    }
    return p;
  }

  /** Run the table's job to its end, retrying (with backoff) after failures such as a full disk; stops when closing. */
  private async runJob(table: string): Promise<TableOperationResult> {
    let delay = 250;
    for (;;) {
      const job = this.d.ledger.job(table);
      if (job === undefined) throw new ThemisError('INTERNAL', `no operation is recorded for table ${table}`);
      if (this.closing) throw new ThemisError('UNAVAILABLE', 'the server is shutting down; the operation resumes at the next start');
      try {
        const result = await this.work(table, job);
        if (result) return result;
        // Another operation was recorded meanwhile (a truncate turned into a drop): run that one.
        delay = 250;
      } catch (e) {
        if (this.closing) throw new ThemisError('UNAVAILABLE', 'the server is shutting down; the operation resumes at the next start');
        this.d.log.warn('table operation failed; retrying', { table, operation: job.operation, error: e, retry_ms: delay });
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /** One run of `job`; undefined when a newer job replaced it before it could end. */
  private async work(table: string, job: Readonly<TableJob>): Promise<TableOperationResult | undefined> {
    const started = Date.now();
    if (job.operation === 'drop') await this.dropDefinitions(table);
    await this.deleteDocuments(table);
    if (job.operation === 'drop') {
      // Definitions made while the documents went (an index created meanwhile) go too, then the policies.
      await this.dropDefinitions(table);
      await this.dropPolicies(table);
    }
    const deleted = this.d.ledger.deletedByJob(table);
    if (!(await this.d.ledger.endJob(table, job))) return undefined;
    const finished = new Date();
    this.d.log.info(`table ${job.operation} finished`, { table, deleted, ms: Date.now() - started });
    return {
      table,
      operation: job.operation,
      state: 'done',
      deleted,
      remaining: this.count(table),
      started_at: job.started_at,
      finished_at: finished.toISOString(),
    };
  }

  /**
   * Delete the table's documents, DELETE_BATCH per commit, walking the
   * table's keys forward (so no batch rescans the deleted ones). Puts into
   * the table are refused from the job's start, and the job's record was
   * committed after every commit queued before it, so one pass finds every
   * document; the ledger's count confirms it (else another pass).
   */
  private async deleteDocuments(table: string): Promise<void> {
    for (;;) {
      let after: EntityKey | undefined;
      for (;;) {
        if (this.closing) throw new ThemisError('UNAVAILABLE', 'the server is shutting down');
        const keys: EntityKey[] = [];
        for await (const rows of this.d.documents.scan({ table, ...(after ? { after } : {}), size: DELETE_BATCH })) {
          for (const [key] of rows) keys.push({ key, table, pk: key.slice(table.length + 1) });
          if (keys.length >= DELETE_BATCH) break;
        }
        if (keys.length === 0) break;
        after = keys[keys.length - 1];
        await this.d.entities.commitOps(keys.map((k) => ({ op: 'delete' as const, k })));
        await yieldToLoop();
      }
      if (this.count(table) === 0) return;
    }
  }

  /** Drop the table's secondary, fulltext and vector index definitions (not the default vector index). */
  private async dropDefinitions(table: string): Promise<void> {
    const d = this.d;
    for (const x of d.indexes.list().filter((i) => i.table === table)) {
      await gone(d.indexes.drop({ table, columns: x.columns, type: x.type }));
    }
    for (const ix of [...d.vectors.onTable(table)]) {
      if (ix.def.name === DEFAULT_VECTOR_INDEX.name) continue;
      await gone(d.vectors.drop(ix.def.name));
    }
  }

  private async dropPolicies(table: string): Promise<void> {
    if (this.hasPiiPolicy(table)) await gone(this.d.pii.policies.remove(table));
    if (this.hasRetentionPolicy(table)) await gone(this.d.retention.remove(table));
  }
}

/** Await `p`, taking "it is gone already" (dropped concurrently) as done. */
async function gone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ThemisError && (e.code === 'INDEX_NOT_FOUND' || e.code === 'NOT_FOUND')) return;
    throw e;
  }
}
