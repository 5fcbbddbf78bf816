import fs from 'node:fs';
import path from 'node:path';
import { v4 as uuidv4 } from 'uuid';
import { ChangeLog, ChangeStream, toClientEntry, type ChangeEntry, type ChangeLogStats, type ChangeSink, type ChangeStreamOptions } from './cdc/index.js';
import { DEFAULTS, type Config } from './config.js';
import { EntityStore, normalizeBlob, parseEntityKey, type EntityKey, type PutResult } from './entities/index.js';
import { ThemisError } from './errors.js';
import { DEFAULT_HIGHLIGHT, DEFAULT_VECTOR_INDEX, IndexManager, VectorManager, type VectorIndex, VectorService, parseVectorIndexSpec, type FulltextIndex, type HighlightOptions, type IndexDef, type IndexSpec, type ReplayEntry, type VectorIndexDef } from './index/index.js';
import { AdjacencyIndex, MAX_DEPTH, graphDepth, graphDirection, graphEdgeTable, shortestPath, traverse, type Direction, type NeighborSource } from './graph/index.js';
import { MAX_CANDIDATES, fuse, parseFusion, type Fusion, type HybridHit } from './index/hybrid.js';
import type { Logger } from './log.js';
import { AqlService, type AqlRequest, type AqlResponse, type Catalogue, type TableCatalogue } from './aql/index.js';
import { Engine, entityKeyCodec, keyspace, publicFailure, type PublicStorageFailure, type Snapshot, type StorageFailure } from './storage/index.js';
import { executeQuery, normalizeQuery, type QueryResult } from './query/index.js';
import { ISOLATIONS, TransactionManager, type Isolation, type Transaction, type TransactionStats } from './txn/index.js';

export type DatabaseState = 'created' | 'opening' | 'recovering' | 'ready' | 'closing' | 'closed' | 'failed';

export interface DatabaseHooks {
  onGroupCommit?: (commits: number, ops: number, seconds: number) => void;
}

export type DatabaseConfig = Pick<Config, 'dataDir' | 'durability' | 'txnIdleTimeoutMs' | 'txnMaxOps' | 'txnMaxBytes' | 'cdcRetention' | 'cdcStreamMaxBlockedMs'> &
  Partial<Pick<Config, 'queryTimeoutMs' | 'queryMaxResults' | 'queryMaxIntermediate' | 'cursorTtlMs' | 'checkpointIntervalMs' | 'checkpointEveryChanges' | 'maxJsonDepth' | 'queryMaxMemory'>> & {
    /** After a full disk: free space (bytes) the data directory needs before writes resume (default 32 MiB: a memtable flush plus room to compact). */
    resumeFreeBytes?: number;
    /** How often a full disk is looked at again (default 2 s). */
    resumeCheckMs?: number;
  };

/** What /health reports: `degraded` is a full disk (reads work, writes resume by themselves), `unhealthy` needs a restart. */
export interface DatabaseHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  writes: 'enabled' | 'disabled';
  storage_failure?: PublicStorageFailure;
}

/** One operation of POST /transaction. */
export interface BatchOperation {
  op: 'put' | 'delete';
  key: string;
  blob?: unknown;
}

export const MAX_SEARCH_LIMIT = 10_000;
export const MAX_SEARCH_OFFSET = 100_000;

export interface FulltextSearchRequest {
  table?: unknown;
  column?: unknown;
  query?: unknown;
  limit?: unknown;
  offset?: unknown;
  snippets?: unknown;
  highlight?: unknown;
}

export interface FulltextSearchResponse {
  table: string;
  column: string;
  query: string;
  /** Hits returned (this page). */
  count: number;
  /** Documents matching the query. */
  total: number;
  offset: number;
  limit: number;
  hits: { key: string; score: number; snippet?: string }[];
  took_ms: number;
}

export interface HybridSearchRequest {
  table?: unknown;
  text?: unknown;
  vector?: unknown;
  k?: unknown;
  fusion?: unknown;
  weights?: unknown;
  rrf_k?: unknown;
  candidates?: unknown;
}

export interface HybridSearchResponse {
  table: string;
  fusion: Fusion;
  k: number;
  candidates: number;
  /** The vector index used. */
  index: string;
  count: number;
  results: { key: string; pk: string; score: number; text: HybridHit['text']; vector: HybridHit['vector'] }[];
  took_ms: number;
}

/** The change log's entries of `table` after `fromSeq`, in order (GONE when no longer retained). */
async function* replayTable(log: ChangeLog, table: string, fromSeq: number): AsyncGenerator<ReplayEntry> {
  let from = fromSeq;
  while (from < log.lastSeq) {
    const r = await log.read({ fromSeq: from, limit: 1000, keyPrefix: `${table}:`, maxScan: 50_000 });
    yield* r.entries;
    if (r.nextSeq <= from) return;
    from = r.nextSeq;
  }
}

function highlightOptions(raw: unknown): HighlightOptions {
  if (raw === undefined) return DEFAULT_HIGHLIGHT;
  const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field: `highlight.${field}` } });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ThemisError('VALIDATION_FAILED', 'field "highlight" must be an object', { details: { field: 'highlight' } });
  const h = raw as Record<string, unknown>;
  const out = { ...DEFAULT_HIGHLIGHT };
  for (const f of ['pre_tag', 'post_tag'] as const) {
    if (h[f] === undefined) continue;
    if (typeof h[f] !== 'string' || h[f].length > 64) throw bad(f, `field "highlight.${f}" must be a string of at most 64 characters`);
    out[f] = h[f];
  }
  if (h.fragment_size !== undefined) {
    if (typeof h.fragment_size !== 'number' || !Number.isInteger(h.fragment_size) || h.fragment_size < 20 || h.fragment_size > 10_000) throw bad('fragment_size', 'field "highlight.fragment_size" must be an integer from 20 to 10000');
    out.fragment_size = h.fragment_size;
  }
  if (h.encoder !== undefined) {
    if (h.encoder !== 'none' && h.encoder !== 'html') throw bad('encoder', 'field "highlight.encoder" must be "none" or "html"');
    out.encoder = h.encoder;
  }
  return out;
}

/** Table for POST /entities without a key. */
export const DEFAULT_TABLE = 'entities';

/**
 * The database: owns the storage engine and wires every subsystem on top of
 * it (transactions, change log, entities). The server calls plain methods
 * here; nothing below knows about HTTP. Methods take raw client values
 * (keys, blobs, transaction ids) and validate them.
 */
export class Database {
  private engineRef: Engine | undefined;
  private txmRef: TransactionManager | undefined;
  private changeLogRef: ChangeLog | undefined;
  private entityStore: EntityStore | undefined;
  private graphRef: AdjacencyIndex | undefined;
  private indexesRef: IndexManager | undefined;
  private vectorsRef: VectorManager | undefined;
  /** The vector endpoints (POST /vector/*); see docs/vector.md. */
  readonly vector = new VectorService(
    () => this.vectors,
    () => this.txm,
  );
  private stateRef: DatabaseState = 'created';
  private aqlRef: AqlService | undefined;

  constructor(
    private readonly config: DatabaseConfig,
    private readonly log: Logger,
    private readonly hooks: DatabaseHooks = {},
  ) {}

  get state(): DatabaseState {
    return this.stateRef;
  }

  /** Storage open and recovery finished: data requests are served. */
  get ready(): boolean {
    return this.stateRef === 'ready';
  }

  get engine(): Engine {
    if (!this.engineRef) throw new ThemisError('UNAVAILABLE', 'storage is not open yet');
    return this.engineRef;
  }

  /** Open LevelDB and run recovery of derived state; `ready` afterwards. */
  async open(): Promise<void> {
    if (this.stateRef !== 'created') throw new TypeError(`cannot open a database in state ${this.stateRef}`);
    this.stateRef = 'opening';
    try {
      await this.openStorage();
    } catch (e) {
      this.stateRef = 'failed';
      throw e;
    }
  }

  /** Open LevelDB, recover the change log and every derived structure, then serve (`ready`). */
  private async openStorage(): Promise<void> {
    const started = Date.now();
    const location = path.join(this.config.dataDir, 'db');
    const engine = await Engine.open(location, {
      sync: this.config.durability === 'sync',
      ...(this.hooks.onGroupCommit ? { onGroupCommit: this.hooks.onGroupCommit } : {}),
      onFailure: (f) => this.onStorageFailure(f),
    });
    this.engineRef = engine;
    this.stateRef = 'recovering';
    const changeLog = new ChangeLog(engine, this.config.cdcRetention, this.log);
    await changeLog.open();
    this.changeLogRef = changeLog;
    const graph = new AdjacencyIndex(engine, this.log);
    await graph.open();
    this.graphRef = graph;
    this.txmRef = new TransactionManager(engine, {
      lastSeq: changeLog.lastSeq,
      idleTimeoutMs: this.config.txnIdleTimeoutMs,
      maxOps: this.config.txnMaxOps,
      maxBytes: this.config.txnMaxBytes,
      // Hooks before the last one that may refuse a commit must have no side effects: the index hook may refuse
      // (unique violation), so it runs after the vector drafts (which may refuse: bad vectors) and before they are applied.
      hooks: [changeLog.hook, graph.hook, (info) => vectors.draftHook(info), (info, batch) => indexes.hook(info, batch), (info, batch) => vectors.applyHook(info, batch)],
      listeners: [changeLog.onApplied, (info) => indexes.onApplied(info), (info) => vectors.onApplied(info)],
      log: this.log,
    });
    const txm = this.txmRef;
    const indexes = new IndexManager(
      engine,
      (key) => txm.latest(parseEntityKey(key)),
      this.log,
      { appliedSeq: () => txm.appliedSeq, hasPending: (key) => txm.hasPending(key) },
      { dir: path.join(this.config.dataDir, 'fulltext'), lastSeq: () => changeLog.lastSeq, replay: (table, fromSeq) => replayTable(changeLog, table, fromSeq), ...this.checkpointPolicy() },
    );
    await indexes.open();
    this.indexesRef = indexes;
    const clock = { appliedSeq: () => txm.appliedSeq, hasPending: (key: string) => txm.hasPending(key) };
    const vectors = new VectorManager(engine, (key) => txm.latest(parseEntityKey(key)), this.log, clock, {
      dir: path.join(this.config.dataDir, 'vector'),
      lastSeq: () => changeLog.lastSeq,
      replay: (table, fromSeq) => replayTable(changeLog, table, fromSeq),
      ...this.checkpointPolicy(),
    });
    await vectors.open();
    this.vectorsRef = vectors;
    this.entityStore = new EntityStore(this.txmRef);
    this.stateRef = 'ready';
    this.log.info('storage ready', { location, durability: this.config.durability, last_seq: changeLog.lastSeq, recovery_ms: Date.now() - started });
  }

  /** When fulltext and vector indexes are checkpointed: periodically, and by change-log growth (bounded replay after a crash). */
  private checkpointPolicy(): { everyMs: number; everyChanges: number } {
    return {
      everyMs: this.config.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
      everyChanges: this.config.checkpointEveryChanges ?? DEFAULTS.checkpointEveryChanges,
    };
  }

  /** Shutdown begins: long-polls answer now instead of holding the drain up to their timeout. */
  prepareShutdown(): void {
    this.changeLogRef?.releaseWaiters();
  }

  async close(): Promise<void> {
    if (this.stateRef === 'closed' || this.stateRef === 'closing') return;
    this.stateRef = 'closing';
    this.stopResumeWatch();
    await this.closeStorage();
    this.stateRef = 'closed';
  }

  /** Close every component and LevelDB (checkpoints of derived indexes are written on the way). */
  private async closeStorage(): Promise<void> {
    await this.aqlRef?.close();
    this.aqlRef = undefined;
    for (const s of [...this.streams]) s.end();
    this.txmRef?.close();
    await this.indexesRef?.close();
    await this.vectorsRef?.close();
    await this.changeLogRef?.close();
    await this.engineRef?.close();
  }

  // ------------------------------------------------------------- storage failures

  private resumeTimer: NodeJS.Timeout | undefined;

  /**
   * The first failed write. A full disk is watched: once the data
   * directory has room again, LevelDB is reopened (LevelDB keeps refusing
   * writes after a failed background write until it is reopened) and the
   * derived state is recovered as after a restart; writes then resume. Any
   * other I/O error stays until a restart (see storage-failure.ts).
   */
  private onStorageFailure(f: StorageFailure): void {
    this.log.error('storage write failed; writes are refused', { kind: f.kind, error: f.message, resumes: f.kind === 'disk_full' ? 'when space is freed' : 'after a restart' });
    if (f.kind !== 'disk_full' || this.resumeTimer) return;
    this.resumeTimer = setInterval(() => void this.tryResume(), this.config.resumeCheckMs ?? 2_000);
    this.resumeTimer.unref();
  }

  private stopResumeWatch(): void {
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  private resuming = false;

  private async tryResume(): Promise<void> {
    if (this.resuming || (this.stateRef !== 'ready' && this.stateRef !== 'failed')) return;
    const need = this.config.resumeFreeBytes ?? 32 * 1024 * 1024;
    let free: number;
    try {
      const st = await fs.promises.statfs(this.config.dataDir);
      free = st.bavail * st.bsize;
    } catch {
      return;
    }
    if (free < need || !(await this.probeWrite())) return;
    this.resuming = true;
    const started = Date.now();
    try {
      this.log.warn('disk has room again; reopening storage to resume writes', { free_bytes: free });
      // Requests meanwhile get 503 "database is starting" (Retry-After); open transactions, cursors and
      // change-feed streams end (streams resume with Last-Event-ID), as they would at a restart.
      this.stateRef = 'recovering';
      this.changeLogRef?.releaseWaiters();
      await this.closeStorage();
      await this.openStorage();
      this.stopResumeWatch();
      this.log.info('writes resumed', { ms: Date.now() - started });
    } catch (e) {
      // Still no room (or another failure while reopening): nothing is served until the next attempt succeeds.
      this.stateRef = 'failed';
      this.log.error('reopening storage failed; trying again', { error: e });
    } finally {
      this.resuming = false;
    }
  }

  /** Whether a file can be written and fsynced in the data directory now (statfs alone misses quotas and races). */
  private async probeWrite(): Promise<boolean> {
    const file = path.join(this.config.dataDir, '.write-probe');
    try {
      const fh = await fs.promises.open(file, 'w', 0o600);
      try {
        await fh.write(Buffer.alloc(1024 * 1024));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return true;
    } catch {
      return false;
    } finally {
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
    }
  }

  /** Liveness of storage: open, answering reads, and writes not disabled by an I/O failure (a full disk is `degraded`). */
  healthy(): boolean {
    return this.health().status !== 'unhealthy';
  }

  health(): DatabaseHealth {
    const e = this.engineRef;
    if (e === undefined || !e.healthy()) return { status: 'unhealthy', writes: 'disabled' };
    const f = e.failure;
    if (f) return { status: f.kind === 'disk_full' ? 'degraded' : 'unhealthy', writes: 'disabled', storage_failure: publicFailure(f) };
    if (this.txmRef && !this.txmRef.healthy) return { status: 'unhealthy', writes: 'disabled' };
    return { status: 'healthy', writes: 'enabled' };
  }

  private get txm(): TransactionManager {
    this.assertReady();
    return this.txmRef!;
  }

  private get changeLog(): ChangeLog {
    this.assertReady();
    return this.changeLogRef!;
  }

  private get entities(): EntityStore {
    this.assertReady();
    return this.entityStore!;
  }

  private get graph(): AdjacencyIndex {
    this.assertReady();
    return this.graphRef!;
  }

  private assertReady(): void {
    if (this.stateRef !== 'ready') {
      throw new ThemisError('UNAVAILABLE', this.stateRef === 'closing' || this.stateRef === 'closed' ? 'server is shutting down' : 'database is starting, retry shortly');
    }
  }

  // ------------------------------------------------------------- transactions

  beginTransaction(isolation: unknown = 'read_committed'): { transaction_id: string; isolation: Isolation; status: 'begun' } {
    if (typeof isolation !== 'string' || !(ISOLATIONS as readonly string[]).includes(isolation)) {
      throw new ThemisError('VALIDATION_FAILED', `field "isolation" must be one of ${ISOLATIONS.join(', ')}`, { details: { field: 'isolation' } });
    }
    const t = this.txm.begin(isolation as Isolation);
    return { transaction_id: t.id, isolation: t.isolation, status: 'begun' };
  }

  async commitTransaction(id: unknown): Promise<{ transaction_id: string; status: 'committed'; changes: number; last_seq: number }> {
    const txm = this.txm;
    const t = txm.get(id);
    const r = await txm.commit(t);
    return { transaction_id: t.id, status: 'committed', changes: r.changes.length, last_seq: r.lastSeq };
  }

  rollbackTransaction(id: unknown): { transaction_id: string; status: 'rolled_back' } {
    const txm = this.txm;
    const t = txm.get(id);
    txm.rollback(t);
    return { transaction_id: t.id, status: 'rolled_back' };
  }

  transactionStats(): TransactionStats {
    return this.txm.stats();
  }

  /** The transaction named by an X-Transaction-Id header ('' = none: an implicit transaction). */
  private joined(txnId: string | undefined): Transaction | undefined {
    return txnId === undefined || txnId === '' ? undefined : this.txm.get(txnId);
  }

  /**
   * POST /transaction: all operations in one atomic commit. Every operation
   * is validated before anything is buffered; any invalid one fails the
   * whole request with nothing applied.
   */
  async applyBatch(ops: BatchOperation[]): Promise<{ transaction_id: string; status: 'committed'; operations: number; changes: number; last_seq: number; results: { key: string; op: string; created?: boolean; existed?: boolean }[] }> {
    const parsed = ops.map((o, i) => {
      try {
        const k = parseEntityKey(o.key);
        if (o.op === 'put') {
          if (o.blob === undefined) throw new ThemisError('VALIDATION_FAILED', 'missing required field "blob"');
          return { k, op: 'put' as const, blob: normalizeBlob(o.blob, this.config.maxJsonDepth) };
        }
        return { k, op: 'delete' as const };
      } catch (e) {
        if (e instanceof ThemisError) throw new ThemisError(e.code, `operations[${i}]: ${e.message}`, { details: { field: `operations.${i}`, ...(e.details ?? {}) } });
        throw e;
      }
    });
    const txm = this.txm;
    const t = txm.begin('read_committed', true);
    // An implicit transaction holds no resources: if buffering fails (size limits), it is simply dropped.
    for (const p of parsed) {
      if (p.op === 'put') txm.put(t, p.k, p.blob.text);
      else txm.delete(t, p.k);
    }
    const r = await txm.commit(t);
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
    return { transaction_id: t.id, status: 'committed', operations: parsed.length, changes: r.changes.length, last_seq: r.lastSeq, results };
  }

  // ------------------------------------------------------------- entities

  /** The entity's JSON text; NOT_FOUND when absent. */
  getEntity(rawKey: string, txnId?: string): { key: string; blob: string } {
    const k = parseEntityKey(rawKey);
    const blob = this.entities.get(k, this.joined(txnId));
    if (blob === undefined) throw new ThemisError('NOT_FOUND', `entity ${k.key} not found`);
    return { key: k.key, blob };
  }

  putEntity(rawKey: string, blob: unknown, txnId?: string): Promise<PutResult> {
    const k = parseEntityKey(rawKey);
    const b = normalizeBlob(blob, this.config.maxJsonDepth);
    return this.entities.put(k, b, this.joined(txnId));
  }

  /**
   * Create (CONFLICT if the key exists). Without a key, the key is
   * `<table>:<uuid v4>`, table defaulting to `entities`.
   */
  createEntity(rawKey: string | undefined, table: string | undefined, blob: unknown, txnId?: string): Promise<PutResult> {
    const k: EntityKey = parseEntityKey(rawKey ?? `${table ?? DEFAULT_TABLE}:${uuidv4()}`);
    if (rawKey !== undefined && table !== undefined && table !== k.table) {
      throw new ThemisError('VALIDATION_FAILED', `field "table" ("${table}") does not match the table of key "${k.key}"`, { details: { field: 'table' } });
    }
    return this.entities.create(k, normalizeBlob(blob, this.config.maxJsonDepth), this.joined(txnId));
  }

  async deleteEntity(rawKey: string, txnId?: string): Promise<{ key: string; deleted: boolean }> {
    const k = parseEntityKey(rawKey);
    return { key: k.key, deleted: await this.entities.delete(k, this.joined(txnId)) };
  }

  // ------------------------------------------------------------- indexes

  private get indexes(): IndexManager {
    this.assertReady();
    return this.indexesRef!;
  }

  private get vectors(): VectorManager {
    this.assertReady();
    return this.vectorsRef!;
  }

  createVectorIndex(body: Record<string, unknown>): Promise<VectorIndexDef> {
    return this.vectors.create(parseVectorIndexSpec(body));
  }

  dropVectorIndex(name: string): Promise<VectorIndexDef> {
    return this.vectors.drop(name);
  }

  listVectorIndexes(): ReturnType<VectorManager['list']> {
    return this.vectors.list();
  }

  /** The ready vector index `name` (the engine API for the semantic cache, content chunks and AQL). */
  vectorIndex(name: string = DEFAULT_VECTOR_INDEX.name): VectorIndex {
    return this.vectors.get(name);
  }

  /** Write a checkpoint of every ready vector index now (also done periodically and at shutdown). */
  checkpointVectors(): Promise<void> {
    return this.vectors.checkpointAll(true);
  }

  createIndex(spec: IndexSpec): Promise<IndexDef> {
    return this.indexes.create(spec);
  }

  dropIndex(spec: IndexSpec): Promise<IndexDef> {
    return this.indexes.drop(spec);
  }

  indexStats(): ReturnType<IndexManager['stats']> {
    return this.indexes.stats();
  }

  /**
   * POST /query: equality and range predicates over secondary indexes (see
   * docs/query.md). With X-Transaction-Id the query reads the transaction's
   * view: its snapshot (snapshot isolation) and its own buffered writes.
   */
  query(body: unknown, txnId?: string): Promise<QueryResult> {
    const q = normalizeQuery(body);
    const t = this.joined(txnId);
    return executeQuery(this.engine, this.indexes, q, t);
  }

  /** Write a checkpoint of every ready fulltext index now (also done periodically and at shutdown). */
  checkpointFulltext(): Promise<void> {
    return this.indexes.checkpointAll(true);
  }

  /** The ready fulltext index on table.column (the engine API AQL's FULLTEXT()/BM25() build on). */
  fulltextIndex(table: string, column: string): FulltextIndex {
    return this.indexes.fulltext(table, column);
  }

  /**
   * POST /search/fulltext: BM25 top-k over a fulltext index, in the latest
   * committed state (see docs/fulltext.md). Snippets are cut from the
   * documents as stored now.
   */
  searchFulltext(o: FulltextSearchRequest): FulltextSearchResponse {
    const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });
    if (typeof o.table !== 'string') throw bad('table', 'missing required field "table"');
    if (typeof o.column !== 'string') throw bad('column', 'missing required field "column"');
    if (typeof o.query !== 'string') throw bad('query', 'field "query" must be a string');
    const int = (v: unknown, field: string, dflt: number, lo: number, hi: number): number => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(field, `field "${field}" must be an integer from ${lo} to ${hi}`);
      return v;
    };
    const limit = int(o.limit, 'limit', 10, 1, MAX_SEARCH_LIMIT);
    const offset = int(o.offset, 'offset', 0, 0, MAX_SEARCH_OFFSET);
    if (o.snippets !== undefined && typeof o.snippets !== 'boolean') throw bad('snippets', 'field "snippets" must be a boolean');
    const hl = highlightOptions(o.highlight);
    const started = process.hrtime.bigint();
    const ft = this.indexes.fulltext(o.table, o.column);
    const r = ft.search(o.query, { limit, offset });
    const txm = this.txm;
    const hits = r.hits.map((h) => {
      if (o.snippets === false) return { key: h.key, score: h.score };
      const text = txm.readLatest(parseEntityKey(h.key));
      return { key: h.key, score: h.score, snippet: text === undefined ? '' : ft.snippet(JSON.parse(text), r.query, hl) };
    });
    return { table: o.table, column: o.column, query: o.query, count: hits.length, total: r.total, offset, limit, hits, took_ms: Number(process.hrtime.bigint() - started) / 1e6 };
  }

  /**
   * POST /search/hybrid: a BM25 list from the fulltext index on
   * table.column and a k-NN list from the vector index on the table, fused
   * by reciprocal rank (default) or weighted normalised scores (see
   * docs/vector.md). Both lists read the latest committed state.
   */
  searchHybrid(o: HybridSearchRequest): HybridSearchResponse {
    const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });
    if (typeof o.table !== 'string') throw bad('table', 'missing required field "table"');
    const text = o.text as Record<string, unknown> | undefined;
    const vec = o.vector as Record<string, unknown> | undefined;
    if (text === null || typeof text !== 'object' || typeof text.column !== 'string' || typeof text.query !== 'string') throw bad('text', 'field "text" must be an object {column, query}');
    if (vec === null || typeof vec !== 'object' || vec.vector === undefined) throw bad('vector', 'field "vector" must be an object {vector, field?, index?}');
    const fusion = parseFusion(o);
    const c = o.candidates ?? Math.max(100, fusion.k);
    if (typeof c !== 'number' || !Number.isInteger(c) || c < fusion.k || c > MAX_CANDIDATES) throw bad('candidates', `field "candidates" must be an integer from k to ${MAX_CANDIDATES}`);
    const started = process.hrtime.bigint();
    const ft = this.indexes.fulltext(o.table, text.column);
    const ix = this.vector.resolve({ index: vec.index, table: o.table, vector_field: vec.field });
    const vectorHits = ix.search(vec.vector, c);
    const textHits = ft.search(text.query, { limit: c, offset: 0 }).hits;
    const prefix = o.table.length + 1;
    const results = fuse(textHits, vectorHits, fusion).map((h) => ({ key: h.key, pk: h.key.slice(prefix), score: h.score, text: h.text, vector: h.vector }));
    return { table: o.table, fusion: fusion.fusion, k: fusion.k, candidates: c, index: ix.def.name, count: results.length, results, took_ms: Number(process.hrtime.bigint() - started) / 1e6 };
  }

  // ------------------------------------------------------------- AQL

  private get aql(): AqlService {
    this.assertReady();
    this.aqlRef ??= new AqlService(
      () => this.aqlDeps(),
      {
        timeoutMs: this.config.queryTimeoutMs ?? DEFAULTS.queryTimeoutMs,
        maxResults: this.config.queryMaxResults ?? DEFAULTS.queryMaxResults,
        maxIntermediate: this.config.queryMaxIntermediate ?? DEFAULTS.queryMaxIntermediate,
        cursorTtlMs: this.config.cursorTtlMs ?? DEFAULTS.cursorTtlMs,
        maxMemory: this.config.queryMaxMemory ?? DEFAULTS.queryMaxMemory,
        // Values an AQL query builds or parses (JSON_PARSE) nest no deeper than the request bodies they came from may.
        maxDepth: this.config.maxJsonDepth ?? DEFAULTS.maxJsonDepth,
      },
      this.log,
    );
    return this.aqlRef;
  }

  /** What the AQL executor reads through (one snapshot per query; fulltext, vector and graph from their latest state). */
  private aqlDeps() {
    const indexes = this.indexes;
    const vectors = this.vectors;
    const graph = this.graph;
    const engine = this.engine;
    return {
      engine,
      txm: this.txm,
      scanKeys: (id: number, r: Parameters<IndexManager['scanKeys']>[1], snap: Snapshot) => indexes.scanKeys(id, r, snap),
      fulltext: (table: string, column: string, query: string, limit: number) => indexes.fulltext(table, column).search(query, { limit, offset: 0 }).hits,
      vector: (index: string, vector: unknown, k: number, filter?: (key: string) => boolean) => vectors.get(index).search(vector, k, filter),
      neighbors: (vertex: string, direction: Direction, edgeTable: string) => graph.neighbors(vertex, direction, edgeTable),
      catalogue: async (tables: string[]): Promise<Catalogue> => {
        const cats = new Map<string, TableCatalogue>();
        for (const t of tables) {
          const bytes = await this.tableBytes(t);
          cats.set(t, {
            indexes: indexes.readyDefs(t).map((d) => ({ id: d.id, columns: d.columns, type: d.type, unique: d.unique, sparse: d.sparse })),
            fulltext: indexes.fulltextColumns(t),
            vector: vectors.onTable(t).filter((x) => x.def.state === 'ready').map((x) => ({ name: x.def.name, field: x.def.field, metric: x.def.metric })),
            rows: Math.round(bytes / 200),
          });
        }
        return (table: string) => cats.get(table) ?? { indexes: [], fulltext: [], vector: [], rows: 0 };
      },
    };
  }

  /** LevelDB's approximate size of a table, cached for a few seconds (plan estimates only). */
  private readonly tableSizes = new Map<string, { bytes: number; at: number }>();
  private async tableBytes(table: string): Promise<number> {
    const c = this.tableSizes.get(table);
    if (c && Date.now() - c.at < 5_000) return c.bytes;
    const bytes = await this.engine.approximateRange(keyspace('entity'), entityKeyCodec.tableRange(table).gte);
    if (this.tableSizes.size > 10_000) this.tableSizes.clear();
    this.tableSizes.set(table, { bytes, at: Date.now() });
    return bytes;
  }

  /** POST /query/aql (see docs/aql.md); with X-Transaction-Id it reads and writes in that transaction. */
  runAql(body: AqlRequest, txnId?: string, internal: { naive?: boolean } = {}, canWrite = true): Promise<AqlResponse> {
    return this.aql.run(body, this.joined(txnId), internal, canWrite);
  }

  // ------------------------------------------------------------- graph

  /**
   * POST /graph/traverse: BFS over edge entities (`_from`/`_to`) in the latest
   * committed state. The start vertex need not exist as an entity.
   */
  async traverseGraph(o: { start_vertex: unknown; max_depth: unknown; direction?: unknown; edge_table?: unknown }): Promise<{ start_vertex: string; max_depth: number; direction: Direction; visited_count: number; visited: string[] }> {
    const start = parseEntityKey(o.start_vertex).key;
    const maxDepth = graphDepth(o.max_depth, 'max_depth');
    const direction = graphDirection(o.direction);
    const edgeTable = graphEdgeTable(o.edge_table);
    const visited = await traverse(this.neighborSource(), { start, maxDepth, direction, ...(edgeTable !== undefined ? { edgeTable } : {}) });
    return { start_vertex: start, max_depth: maxDepth, direction, visited_count: visited.length, visited };
  }

  /** POST /graph/shortest_path: fewest hops from `from` to `to`; NOT_FOUND when unreachable within max_depth (default 10). */
  async shortestGraphPath(o: { from: unknown; to: unknown; direction?: unknown; max_depth?: unknown; edge_table?: unknown }): Promise<{ from: string; to: string; direction: Direction; found: true; length: number; path: string[]; edges: string[] }> {
    const from = parseEntityKey(o.from).key;
    const to = parseEntityKey(o.to).key;
    const maxDepth = o.max_depth === undefined ? MAX_DEPTH : graphDepth(o.max_depth, 'max_depth');
    const direction = graphDirection(o.direction);
    const edgeTable = graphEdgeTable(o.edge_table);
    const r = await shortestPath(this.neighborSource(), { from, to, maxDepth, direction, ...(edgeTable !== undefined ? { edgeTable } : {}) });
    if (!r) throw new ThemisError('NOT_FOUND', `no path from ${from} to ${to} within ${maxDepth} hops (direction ${direction})`);
    return { from, to, direction, found: true, length: r.edges.length, path: r.path, edges: r.edges };
  }

  private neighborSource(): NeighborSource {
    const g = this.graph;
    return (v, d, t) => g.neighbors(v, d, t);
  }

  // ------------------------------------------------------------- change feed

  /** GET /changefeed: entries after fromSeq, waiting up to longPollMs for a matching one when there is none. */
  async readChanges(o: { fromSeq: number; limit: number; keyPrefix: string; longPollMs: number; onCancel?: (cancel: () => void) => void }): Promise<{ from_seq: number; next_seq: number; last_seq: number; entries: ChangeEntry[] }> {
    const log = this.changeLog;
    const deadline = Date.now() + o.longPollMs;
    let from = o.fromSeq;
    for (;;) {
      const r = await log.read({ fromSeq: from, limit: o.limit, keyPrefix: o.keyPrefix });
      const left = deadline - Date.now();
      if (r.entries.length > 0 || left <= 0 || log.isDraining) {
        return { from_seq: o.fromSeq, next_seq: r.nextSeq, last_seq: log.lastSeq, entries: r.entries.map(toClientEntry) };
      }
      from = r.nextSeq;
      await log.waitFor(from, o.keyPrefix, left, o.onCancel);
    }
  }

  /** GONE (410) if entries after `fromSeq` are no longer retained; otherwise nothing. */
  async checkChangeRange(fromSeq: number): Promise<void> {
    await this.changeLog.read({ fromSeq, limit: 1, maxScan: 1 });
  }

  /** A stream following the change log into `sink` (SSE, WebSocket); call start(). */
  openChangeStream(sink: ChangeSink, opts: ChangeStreamOptions): ChangeStream {
    const s = new ChangeStream(this.changeLog, sink, { maxBlockedMs: this.config.cdcStreamMaxBlockedMs, ...opts }, () => this.streams.delete(s));
    this.streams.add(s);
    return s;
  }

  /** Open change streams: ended when storage is reopened (they follow one change log). */
  private readonly streams = new Set<ChangeStream>();

  changeLogStats(): ChangeLogStats {
    return this.changeLog.stats();
  }
}
