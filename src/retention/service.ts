import type { components } from '../api/types.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type DocumentStore, type EntityKey, parseEntityKey, TABLE_NAME } from '../documents/index.js';
import type { EntityOp, EntityStore } from '../entities/entity-store.js';
import { ThemisError } from '../errors.js';
import { valueAt } from '../index/extract.js';
import type { Logger } from '../log.js';
import { type Engine, keyspace, WriteBatch } from '../storage/index.js';
import { DAY_MS, type RetentionTarget } from './target.js';

const ks = keyspace('retention');
const POLICY = 'p/';
const RUNS = 'r/';
const HISTORY = 'h/';

/** A policy as stored (keyspace `retention`, `p/<collection>` -> this JSON). */
export interface PolicyRecord {
  collection: string;
  retention_days: number;
  /** Dotted path of the timestamp in a user table's documents; null for built-in targets. */
  timestamp_field: string | null;
  auto_deletion: boolean;
  created_at: string;
  updated_at: string;
}

/** The cleanups of one collection (`r/<collection>`); each run is also kept as `h/<time>/<collection>`. */
export interface RunRecord {
  last_cleanup: string;
  last_deleted: number;
  last_duration_ms: number;
  /** Records deleted by all cleanups so far. */
  records_deleted: number;
  runs: number;
}

/** What one cleanup did (POST /api/retention/{collection}/run, and each run of the job): openapi.yaml `RetentionCleanup`. */
export type CleanupResult = components['schemas']['RetentionCleanup'];

/** A policy in force as GET /api/retention lists it: openapi.yaml `RetentionPolicy`. */
export type PolicyView = components['schemas']['RetentionPolicy'];

/** GET /api/reports/retention: openapi.yaml `RetentionReport`. */
export type RetentionReport = components['schemas']['RetentionReport'];

/** PUT /api/retention/{collection}: openapi.yaml `RetentionPolicyRequest` (checked by its schema). */
export type PolicyInput = components['schemas']['RetentionPolicyRequest'];

export interface RetentionOptions {
  /** How often the job runs the policies with auto-deletion; undefined: never (THEMIS_RETENTION_INTERVAL_MS=off). */
  intervalMs: number | undefined;
  /** Most deletes per commit (THEMIS_RETENTION_BATCH). */
  batchSize: number;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * Retention policies (docs/retention.md): per user table or built-in target,
 * persisted in the `retention` keyspace; a background job that deletes
 * expired records of policies with auto-deletion through normal commits
 * (EntityStore.commitOps: indexes, graph and change feed stay consistent) in
 * batches of at most `batchSize`, yielding to the event loop between them;
 * and the figures of GET /api/reports/retention. One cleanup runs at a time.
 */
export class RetentionService {
  private readonly policies = new Map<string, PolicyRecord>();
  private readonly runs = new Map<string, RunRecord>();
  private readonly targets = new Map<string, RetentionTarget>();
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  /** The cleanup running now (cleanups are serialised), and the job's pass. */
  private tail: Promise<unknown> = Promise.resolve();
  private pass: Promise<void> | undefined;
  private readonly now: () => number;

  private constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly entities: EntityStore,
    private readonly log: Logger,
    readonly opts: RetentionOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  static async open(
    engine: Engine,
    documents: DocumentStore,
    entities: EntityStore,
    log: Logger,
    opts: RetentionOptions,
  ): Promise<RetentionService> {
    const s = new RetentionService(engine, documents, entities, log, opts);
    for await (const [k, v] of engine.scan(ks)) {
      const key = k.toString('utf8');
      if (key.startsWith(POLICY)) s.policies.set(key.slice(POLICY.length), JSON.parse(v.toString('utf8')) as PolicyRecord);
      else if (key.startsWith(RUNS)) s.runs.set(key.slice(RUNS.length), JSON.parse(v.toString('utf8')) as RunRecord);
    }
    return s;
  }

  // ------------------------------------------------------------------ registry

  /**
   * Make a built-in collection (audit log, LLM interactions, cache, PII vault) subject to retention.
   * Call it from the owning module's `open` (its module lists Retention in `after`); the name shadows a
   * user table of the same name. Returns a function that unregisters it.
   */
  registerTarget(target: RetentionTarget): () => void {
    if (!TABLE_NAME.test(target.name)) throw new TypeError(`retention target name "${target.name}" is not a valid collection name`);
    if (this.targets.has(target.name)) throw new TypeError(`retention target ${target.name} is registered already`);
    if (target.defaultDays !== undefined && !(target.defaultDays > 0)) throw new TypeError('defaultDays must be positive');
    this.targets.set(target.name, target);
    return () => {
      if (this.targets.get(target.name) === target) this.targets.delete(target.name);
    };
  }

  targetNames(): string[] {
    return [...this.targets.keys()];
  }

  // ------------------------------------------------------------------ policies

  /** The policies in force: set ones, built-in defaults and configured ones, by collection name. */
  list(): PolicyView[] {
    const out: PolicyView[] = [];
    const names = new Set([...this.policies.keys(), ...this.targets.keys()]);
    for (const name of [...names].sort()) {
      const v = this.view(name);
      if (v) out.push(v);
    }
    return out;
  }

  private view(name: string): PolicyView | undefined {
    const t = this.targets.get(name);
    const p = this.policies.get(name);
    let base: Omit<PolicyView, 'last_cleanup' | 'last_cleanup_deleted' | 'last_cleanup_duration_ms' | 'records_deleted'>;
    if (t?.fixedPolicy) {
      const f = t.fixedPolicy();
      if (!f) return undefined;
      base = { ...builtin(name, 'config'), retention_days: f.retentionDays, auto_deletion: f.autoDeletion };
    } else if (p) {
      base = {
        collection: name,
        kind: t ? 'builtin' : 'table',
        source: 'policy',
        retention_days: p.retention_days,
        timestamp_field: t ? null : p.timestamp_field,
        auto_deletion: p.auto_deletion,
        created_at: p.created_at,
        updated_at: p.updated_at,
      };
    } else if (t?.defaultDays !== undefined) {
      base = { ...builtin(name, 'default'), retention_days: t.defaultDays, auto_deletion: t.defaultAutoDeletion ?? false };
    } else return undefined;
    const r = this.runs.get(name);
    return {
      ...base,
      last_cleanup: r?.last_cleanup ?? null,
      last_cleanup_deleted: r?.last_deleted ?? null,
      last_cleanup_duration_ms: r?.last_duration_ms ?? null,
      records_deleted: r?.records_deleted ?? 0,
    };
  }

  /** PUT /api/retention/{collection}: create or replace the policy. */
  async put(collection: string, input: PolicyInput): Promise<PolicyView> {
    checkName(collection);
    const t = this.targets.get(collection);
    if (t?.fixedPolicy) throw readOnly(collection);
    if (t && input.timestamp_field !== undefined)
      throw invalid('timestamp_field', `${collection} is a built-in collection with its own timestamps: leave out timestamp_field`);
    if (!t && input.timestamp_field === undefined)
      throw invalid(
        'timestamp_field',
        `timestamp_field is required for the user table ${collection} (the field holding each document's time)`,
      );
    const at = new Date(this.now()).toISOString();
    const prev = this.policies.get(collection);
    const rec: PolicyRecord = {
      collection,
      retention_days: input.retention_days,
      timestamp_field: t ? null : input.timestamp_field!,
      auto_deletion: input.auto_deletion,
      created_at: prev?.created_at ?? at,
      updated_at: at,
    };
    await this.engine.commit(new WriteBatch().put(ks, keyOf(POLICY, collection), Buffer.from(JSON.stringify(rec), 'utf8')));
    this.policies.set(collection, rec);
    return this.view(collection)!;
  }

  /** DELETE /api/retention/{collection}: a built-in target falls back to its default; NOT_FOUND without a set policy. */
  async remove(collection: string): Promise<{ collection: string; deleted: true }> {
    checkName(collection);
    if (this.targets.get(collection)?.fixedPolicy) throw readOnly(collection);
    if (!this.policies.has(collection))
      throw new ThemisError('NOT_FOUND', `no retention policy for ${collection}`, { details: { collection } });
    await this.engine.commit(new WriteBatch().del(ks, keyOf(POLICY, collection)));
    this.policies.delete(collection);
    return { collection, deleted: true };
  }

  // ------------------------------------------------------------------ cleanup

  /** POST /api/retention/{collection}/run: one cleanup of the policy now (also without auto-deletion). */
  run(collection: string): Promise<CleanupResult> {
    checkName(collection);
    if (this.targets.get(collection)?.fixedPolicy) throw readOnly(collection);
    const v = this.view(collection);
    if (!v) throw new ThemisError('NOT_FOUND', `no retention policy for ${collection}`, { details: { collection } });
    return this.serial(() => this.cleanup(v));
  }

  /** One pass of the job: every policy with auto-deletion, one after the other. */
  async runDue(): Promise<CleanupResult[]> {
    const out: CleanupResult[] = [];
    for (const v of this.list()) {
      if (this.closing) break;
      if (!v.auto_deletion || v.source === 'config') continue;
      try {
        out.push(await this.serial(() => this.cleanup(v)));
      } catch (e) {
        if (this.closing) break;
        this.log.warn('retention cleanup failed', { collection: v.collection, error: (e as Error).message });
      }
    }
    return out;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.tail.then(f, f);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private async cleanup(v: PolicyView): Promise<CleanupResult> {
    const started = this.now();
    const cutoffMs = started - v.retention_days * DAY_MS;
    const t = this.targets.get(v.collection);
    const r = t ? await this.cleanTarget(t, cutoffMs) : await this.cleanTable(v.collection, v.timestamp_field!.split('.'), cutoffMs);
    const result: CleanupResult = {
      collection: v.collection,
      cutoff: new Date(cutoffMs).toISOString(),
      ...r,
      started_at: new Date(started).toISOString(),
      duration_ms: Math.max(0, this.now() - started),
    };
    await this.record(result);
    return result;
  }

  private async cleanTarget(t: RetentionTarget, cutoffMs: number): Promise<{ deleted: number; without_timestamp: null; batches: number }> {
    if (!t.deleteExpired) throw readOnly(t.name);
    let deleted = 0;
    let batches = 0;
    for (;;) {
      const n = await t.deleteExpired(cutoffMs, this.opts.batchSize);
      deleted += n;
      if (n > 0) batches++;
      if (n < this.opts.batchSize || this.closing) break;
      await yieldToLoop();
    }
    return { deleted, without_timestamp: null, batches };
  }

  /**
   * Scan the table in chunks (one LevelDB read per 1000 documents, each parsed: O(documents) per cleanup),
   * collect expired keys, and delete them in commits of at most `batchSize`, each key read again just before
   * its commit so a document whose timestamp was renewed meanwhile is kept.
   */
  private async cleanTable(
    table: string,
    path: string[],
    cutoffMs: number,
  ): Promise<{ deleted: number; without_timestamp: number; batches: number }> {
    let deleted = 0;
    let batches = 0;
    let withoutTs = 0;
    let pending: EntityKey[] = [];
    const flush = async () => {
      const ops: EntityOp[] = [];
      for (const k of pending) {
        const text = this.entities.read(k);
        const ts = text === undefined ? undefined : timestampOf(text, path);
        if (ts !== undefined && ts < cutoffMs) ops.push({ op: 'delete', k });
      }
      pending = [];
      if (ops.length === 0) return;
      const { result } = await this.entities.commitOps(ops);
      deleted += result.changes.length;
      batches++;
      await yieldToLoop();
    };
    scan: for await (const rows of this.documents.scan({ table, size: 1000 })) {
      for (const [key, text] of rows) {
        const ts = timestampOf(text, path);
        if (ts === undefined) withoutTs++;
        else if (ts < cutoffMs) {
          pending.push(parseEntityKey(key));
          if (pending.length >= this.opts.batchSize) {
            await flush();
            if (this.closing) break scan;
          }
        }
      }
      if (this.closing) break;
      await yieldToLoop();
    }
    if (!this.closing) await flush();
    return { deleted, without_timestamp: withoutTs, batches };
  }

  private async record(r: CleanupResult): Promise<void> {
    const prev = this.runs.get(r.collection);
    const at = new Date(Date.parse(r.started_at) + r.duration_ms).toISOString();
    const rec: RunRecord = {
      last_cleanup: at,
      last_deleted: r.deleted,
      last_duration_ms: r.duration_ms,
      records_deleted: (prev?.records_deleted ?? 0) + r.deleted,
      runs: (prev?.runs ?? 0) + 1,
    };
    const b = new WriteBatch()
      .put(ks, keyOf(RUNS, r.collection), Buffer.from(JSON.stringify(rec), 'utf8'))
      .put(
        ks,
        keyOf(HISTORY, `${String(Date.parse(at)).padStart(16, '0')}/${r.collection}`),
        Buffer.from(JSON.stringify({ collection: r.collection, at, deleted: r.deleted, duration_ms: r.duration_ms }), 'utf8'),
      );
    await this.engine.commit(b);
    this.runs.set(r.collection, rec);
  }

  /** Records deleted by cleanups that finished in [startMs, endMs] (the compliance report's `records_deleted_in_period`). */
  async deletedBetween(startMs: number, endMs: number): Promise<number> {
    let n = 0;
    const gte = keyOf(HISTORY, `${String(Math.max(0, startMs)).padStart(16, '0')}/`);
    const lt = keyOf(HISTORY, `${String(endMs + 1).padStart(16, '0')}/`);
    for await (const [, v] of this.engine.scan(ks, { gte, lt })) n += (JSON.parse(v.toString('utf8')) as { deleted: number }).deleted;
    return n;
  }

  // ------------------------------------------------------------------ report

  /** GET /api/reports/retention. Without stats the per-policy figures and total_expired_records are null (no scans). */
  async report(includeStats: boolean): Promise<RetentionReport> {
    const now = this.now();
    const views = this.list();
    const policies: RetentionReport['policies'] = [];
    let totalExpired = 0;
    for (const v of views) {
      const row = {
        collection: v.collection,
        retention_days: v.retention_days,
        auto_deletion_enabled: v.auto_deletion,
        last_cleanup: v.last_cleanup,
        records_total: null as number | null,
        records_expired: null as number | null,
        oldest_record_age_days: null as number | null,
      };
      if (includeStats) {
        const s = await this.stats(v, now - v.retention_days * DAY_MS);
        row.records_total = s.total;
        row.records_expired = s.expired;
        row.oldest_record_age_days = s.oldestMs === undefined ? null : Math.floor((now - s.oldestMs) / DAY_MS);
        totalExpired += s.expired;
      }
      policies.push(row);
    }
    const tables = await this.documents.tables();
    const collections = new Set([...tables, ...this.targets.keys()]);
    const cleanups = views.map((v) => v.last_cleanup).filter((x): x is string => x !== null);
    return {
      policies,
      summary: {
        total_collections: collections.size,
        collections_with_policy: views.length,
        total_expired_records: includeStats ? totalExpired : null,
        // The change feed prunes itself; the others need the job.
        auto_deletion_active: views.some((v) => v.auto_deletion && (v.source === 'config' || this.opts.intervalMs !== undefined)),
        last_global_cleanup: cleanups.sort().at(-1) ?? null,
      },
    };
  }

  /** Counts of one collection: a user table is scanned once (documents without a valid timestamp count in total only). */
  async stats(
    v: PolicyView,
    cutoffMs: number,
  ): Promise<{ total: number; expired: number; oldestMs: number | undefined; withoutTimestamp: number }> {
    const t = this.targets.get(v.collection);
    if (t) {
      const [total, expired, oldestMs] = await Promise.all([t.count(), t.expiredCount(cutoffMs), t.oldestMs()]);
      return { total, expired, oldestMs, withoutTimestamp: 0 };
    }
    const path = v.timestamp_field!.split('.');
    let total = 0;
    let expired = 0;
    let withoutTimestamp = 0;
    let oldestMs: number | undefined;
    for await (const rows of this.documents.scan({ table: v.collection, size: 1000 })) {
      for (const [, text] of rows) {
        total++;
        const ts = timestampOf(text, path);
        if (ts === undefined) {
          withoutTimestamp++;
          continue;
        }
        if (ts < cutoffMs) expired++;
        if (oldestMs === undefined || ts < oldestMs) oldestMs = ts;
      }
      await yieldToLoop();
    }
    return { total, expired, oldestMs, withoutTimestamp };
  }

  // ------------------------------------------------------------------ job

  /** Start the background job (every `intervalMs`; the first pass one interval after start). */
  start(): void {
    const every = this.opts.intervalMs;
    if (every === undefined || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pass = this.runDue()
        .then(() => undefined)
        .catch((e: unknown) => this.log.warn('retention job failed', { error: (e as Error).message }))
        .finally(() => {
          this.pass = undefined;
          this.start();
        });
    }, every);
    this.timer.unref();
  }

  /** Stop the job: no new pass; a running cleanup stops after its current batch. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
    await this.tail;
  }

  get policyCount(): number {
    return this.list().length;
  }
}

/** ISO 8601 dates and date-times (`2025-01-31`, `2025-01-31T10:00:00Z`, `…T10:00:00.123+02:00`). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** The time of a timestamp value: an ISO 8601 string or epoch milliseconds; undefined for anything else. */
export function timestampMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || !ISO_8601.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

function timestampOf(text: string, path: readonly string[]): number | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  return timestampMs(valueAt(doc, path));
}

function builtin(collection: string, source: 'config' | 'default') {
  return { collection, kind: 'builtin', source, timestamp_field: null, created_at: null, updated_at: null } as const;
}

function keyOf(prefix: string, name: string): Buffer {
  return Buffer.from(prefix + name, 'utf8');
}

function checkName(collection: string): void {
  if (!TABLE_NAME.test(collection))
    throw invalid('collection', `"${collection.slice(0, 80)}" is not a collection name (1-128 of A-Z a-z 0-9 _ -)`);
}

function invalid(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

function readOnly(collection: string): ThemisError {
  return invalid('collection', `the retention of ${collection} is set by configuration (e.g. THEMIS_CDC_RETENTION), not by this API`);
}
