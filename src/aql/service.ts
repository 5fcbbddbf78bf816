import { assertRead, assertWrite, type Caller, INTERNAL, type TableAccess } from '../access.js';
import crypto from 'node:crypto';
import { ThemisError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../json-limits.js';
import type { Logger } from '../log.js';
import type { Snapshot } from '../storage/index.js';
import type { Transaction } from '../txn/index.js';
import { collectionBindKey, edgeTablesOf, queryExprs, subqueriesOf } from './analyze.js';
import type { AqlValue, Expr, Query } from './ast.js';
import { Executor, IndexOrderUnusable, type ExecDeps, type ValueChunks } from './exec/index.js';
import { checkDepth, depthError, memoryError } from './governor.js';
import { parseAql } from './parse.js';
import { planQuery, type Catalogue, type Plan, type TableCatalogue } from './planner.js';
import { DEFAULT_MAX_WARNING_COUNT, MAX_WARNING_COUNT_LIMIT, type QueryWarning, QueryWarnings } from './warnings.js';

export interface AqlLimits {
  timeoutMs: number;
  maxResults: number;
  maxIntermediate: number;
  cursorTtlMs: number;
  /** Most estimated bytes one query may hold at once (THEMIS_QUERY_MAX_MEMORY); unlimited when absent. */
  maxMemory?: number;
  /** Deepest nesting of arrays and objects in a value: bind parameters, JSON_PARSE, documents written (default 256). */
  maxDepth?: number;
  /** Open cursors at most (each holds a snapshot). */
  maxCursors?: number;
  /** The default of a request's `fail_on_warning` (THEMIS_QUERY_FAIL_ON_WARNING; false when absent). */
  failOnWarning?: boolean;
}

export interface AqlRequest {
  query?: unknown;
  bind_vars?: unknown;
  bindVars?: unknown;
  optimize?: unknown;
  allow_full_scan?: unknown;
  explain?: unknown;
  use_cursor?: unknown;
  cursor?: unknown;
  batch_size?: unknown;
  timeout_ms?: unknown;
  fail_on_warning?: unknown;
  max_warning_count?: unknown;
}

/** ArangoDB's `extra` of a cursor answer: the query's warnings (at most `max_warning_count` listed, all counted). */
export interface AqlExtra {
  warnings: QueryWarning[];
  warnings_total: number;
}

export type AqlResponse =
  | { table: string | null; count: number; entities: AqlValue[]; plan: Record<string, unknown>; query: string; extra: AqlExtra }
  | { table: string | null; plan: Record<string, unknown>; query: string; explain: true; extra: AqlExtra }
  | {
      items: AqlValue[];
      batch_size: number;
      has_more: boolean;
      next_cursor: string | null;
      count: number;
      plan: Record<string, unknown>;
      extra: AqlExtra;
    };

interface OpenCursor {
  it: ValueChunks;
  /** The request transaction the cursor reads (it ends with it). */
  txn: Transaction | undefined;
  ex: Executor;
  /** The query's warnings; each page carries those raised while it was read. */
  warnings: QueryWarnings;
  timeoutMs: number;
  /** Rows read ahead (to know whether more follow). */
  pending: AqlValue[];
  snapshot: Snapshot;
  /** The cursor's own snapshot (closed with it); a transaction's snapshot stays open. */
  ownSnapshot: boolean;
  batchSize: number;
  plan: Record<string, unknown>;
  expires: number;
  /** The principal that opened it (`Caller.id`). */
  owner: string | undefined;
  busy: boolean;
}

/** Parsed queries kept for reuse (bind parameters make one text serve many requests). */
const PARSE_CACHE = 500;

/**
 * What V8 throws when a value outgrows it, as the error catalogue's answer:
 * the governor's estimates should refuse such work first, these are the
 * backstop (nothing half-done escapes as a 500, and the server lives on).
 */
function engineLimit(e: unknown, maxMemory: number, maxDepth: number): unknown {
  if (!(e instanceof RangeError)) return e;
  if (/call stack/i.test(e.message)) return depthError(maxDepth);
  if (/Invalid (string|array|typed array) length|allocation failed|out of memory/i.test(e.message)) return memoryError(maxMemory);
  return e;
}

function bad(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

/** Collection names a query may read (FOR ... IN name, @@binds, edge collections), subqueries included: for the catalogue. */
function collectionsOf(q: Query, bind: Record<string, AqlValue>, out = new Set<string>()): Set<string> {
  const visit = (e: Expr | string) => {
    if (typeof e === 'string') out.add(e);
    else if (e.type === 'name') out.add(e.name);
    else if (e.type === 'bindCollection') {
      const key = collectionBindKey(bind, e.name);
      const v = key === undefined ? undefined : bind[key];
      if (typeof v === 'string') out.add(v);
    }
  };
  for (const c of q.with ?? []) visit(c);
  for (const op of q.ops) {
    if (op.type === 'for') visit(op.in);
    if (op.type === 'traversal' || op.type === 'shortestPath' || op.type === 'paths') for (const t of edgeTablesOf(op)) visit(t);
  }
  for (const e of queryExprs(q)) for (const sq of subqueriesOf(e)) collectionsOf(sq.query, bind, out);
  return out;
}

/**
 * The catalogue as this request may see it: a collection the caller may not
 * read counts as existing (the access check after planning answers 403, never
 * whether it exists), and so does one its transaction has put documents into.
 */
function existence(base: Catalogue, access: TableAccess, txn: Transaction | undefined): Catalogue {
  const seen = new Map<string, TableCatalogue>();
  return (table) => {
    let c = seen.get(table);
    if (c !== undefined) return c;
    c = base(table);
    if (c.exists === false && (!(access.readsAll || access.canRead(table)) || (txn !== undefined && putsInto(txn, table))))
      c = { ...c, exists: true };
    seen.set(table, c);
    return c;
  };
}

function putsInto(txn: Transaction, table: string): boolean {
  for (const w of txn.writes.values()) if (w.op === 'put' && w.k.table === table) return true;
  return false;
}

/**
 * POST /query/aql: parse, plan, execute; results as the contract's
 * `{table, count, entities, plan, query}` (documents as their stored JSON
 * text, other values as JSON values), or a cursor over one snapshot; every
 * answer carries `extra` with the query's warnings (warnings.ts).
 */
export class AqlService {
  private readonly cursors = new Map<string, OpenCursor>();
  /** Parsed queries by text (the AST is never modified after parsing), most recently used last. */
  private readonly parsed = new Map<string, Query>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly deps: () => ExecDeps & { catalogue: (tables: string[]) => Promise<Catalogue> },
    private readonly limits: AqlLimits,
    private readonly log: Logger,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(limits.cursorTtlMs, 5_000));
    this.sweeper.unref();
  }

  /** Close every open cursor (shutdown). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const [id, c] of this.cursors) await this.drop(id, c);
  }

  get openCursors(): number {
    return this.cursors.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, c] of this.cursors) if (!c.busy && c.expires < now) void this.drop(id, c);
  }

  private async drop(id: string, c: OpenCursor): Promise<void> {
    this.cursors.delete(id);
    try {
      await c.it.return(undefined);
    } catch {
      // a failed generator has nothing left to release but its snapshot
    }
    if (c.ownSnapshot) c.snapshot.close();
  }

  private get maxDepth(): number {
    return this.limits.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  }

  /** `internal.naive`: run the reference plan (differential tests; not reachable over HTTP). */
  async run(body: AqlRequest, txn?: Transaction, internal: { naive?: boolean } = {}, caller: Caller = INTERNAL): Promise<AqlResponse> {
    try {
      return await this.runQuery(body, txn, internal, caller);
    } catch (e) {
      throw engineLimit(e, this.limits.maxMemory ?? Infinity, this.maxDepth);
    }
  }

  private async runQuery(
    body: AqlRequest,
    txn: Transaction | undefined,
    internal: { naive?: boolean },
    caller: Caller,
  ): Promise<AqlResponse> {
    if (body.cursor !== undefined && body.cursor !== null) return this.next(body.cursor, caller);
    if (txn && txn.state !== 'active') throw new ThemisError('TRANSACTION_NOT_ACTIVE', `transaction ${txn.id} is ${txn.state}`);
    if (typeof body.query !== 'string' || body.query.trim() === '')
      throw bad('query', 'missing required field "query" (an AQL query string)');
    const bindRaw = body.bind_vars ?? body.bindVars ?? {};
    if (bindRaw === null || typeof bindRaw !== 'object' || Array.isArray(bindRaw))
      throw bad('bind_vars', 'field "bind_vars" must be an object of parameter names and values');
    const bind = bindRaw as Record<string, AqlValue>;
    // Bind values arrive from the request body, already parsed: refuse deep ones before anything recurses over them.
    for (const k of Object.keys(bind)) {
      try {
        checkDepth(bind[k], this.maxDepth, `bind parameter @${k}`);
      } catch (e) {
        throw Object.assign(e as Error, { details: { ...(e as { details?: object }).details, field: 'bind_vars', parameter: k } });
      }
    }
    for (const f of ['optimize', 'allow_full_scan', 'explain', 'use_cursor', 'fail_on_warning'] as const)
      if (body[f] !== undefined && typeof body[f] !== 'boolean') throw bad(f, `field "${f}" must be a boolean`);
    const timeout = body.timeout_ms === undefined ? this.limits.timeoutMs : body.timeout_ms;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > this.limits.timeoutMs)
      throw bad('timeout_ms', `field "timeout_ms" must be an integer from 1 to ${this.limits.timeoutMs} (THEMIS_QUERY_TIMEOUT_MS)`);
    const useCursor = body.use_cursor === true;
    const batchSize = body.batch_size === undefined ? 100 : body.batch_size;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
      throw bad('batch_size', 'field "batch_size" must be an integer from 1 to 10000');
    const maxWarnings = body.max_warning_count === undefined ? DEFAULT_MAX_WARNING_COUNT : body.max_warning_count;
    if (typeof maxWarnings !== 'number' || !Number.isInteger(maxWarnings) || maxWarnings < 0 || maxWarnings > MAX_WARNING_COUNT_LIMIT)
      throw bad('max_warning_count', `field "max_warning_count" must be an integer from 0 to ${MAX_WARNING_COUNT_LIMIT}`);
    const failOnWarning = body.fail_on_warning === undefined ? this.limits.failOnWarning === true : body.fail_on_warning === true;

    const started = Date.now();
    const q = this.parse(body.query);
    const deps = this.deps();
    const cat = existence(await deps.catalogue([...collectionsOf(q, bind)]), caller.access, txn);
    // A cursor can re-plan only before its first page: a top-level SORT fails (if at all) before
    // its first row, a subquery's on any row, so subqueries of a cursor do not use index order.
    const planOpts = {
      allowFullScan: body.allow_full_scan !== false || internal.naive === true,
      bindVars: bind,
      ...(internal.naive ? { naive: true } : {}),
      ...(useCursor ? { topIndexOrderOnly: true } : {}),
    };
    let plan = planQuery(q, cat, planOpts);
    // A query that writes never relies on index order: the re-plan below would run its
    // modifications again (in an explicit transaction, the first attempt's writes stay buffered).
    if (plan.writes.length > 0 && !internal.naive) plan = planQuery(q, cat, { ...planOpts, noIndexOrder: true });
    // Every collection the query reads or writes, subqueries included, before anything runs (403, nothing applied).
    const access = caller.access;
    for (const t of plan.reads) assertRead(access, t);
    for (const t of plan.writes) assertWrite(access, t);
    if (body.explain === true)
      return { table: plan.table, plan: plan.explain, query: body.query, explain: true, extra: { warnings: [], warnings_total: 0 } };
    if (plan.writes.length > 0 && useCursor) throw bad('use_cursor', 'a query that modifies data cannot use a cursor');
    // A modifying query without a request transaction writes into an implicit snapshot-isolation
    // transaction whose snapshot the query reads: a concurrent write to a document it changes
    // makes the commit fail with 409 instead of being overwritten.
    const writeTxn = plan.writes.length > 0 && !txn ? deps.transactions.begin('snapshot', true) : undefined;
    if (writeTxn) writeTxn.origin = caller.origin;
    const opts = {
      bindVars: bind,
      deadline: started + timeout,
      maxIntermediate: this.limits.maxIntermediate,
      maxDepth: this.maxDepth,
      ...(this.limits.maxMemory !== undefined ? { maxMemory: this.limits.maxMemory } : {}),
      ...(txn ? { txn } : {}),
      ...(writeTxn ? { writeTxn } : {}),
      ...(access.readsAll ? {} : { access }),
      user: caller.name ?? null,
      database: '_system',
    };
    const snapshot = txn?.snapshot ?? writeTxn?.snapshot ?? deps.engine.snapshot();
    const ownSnapshot = txn?.snapshot === undefined && writeTxn === undefined;
    // In a request transaction, a modifying query that fails leaves nothing of its own behind.
    const saved = txn && plan.writes.length > 0 ? { writes: new Map(txn.writes), bytes: txn.bytes } : undefined;
    // A SORT that relies on index order re-plans without it if the index cannot deliver the order.
    // Each attempt collects its own warnings (a re-plan runs the query again from the start).
    // What the first `take` asks for: a cursor's first page and one more (is there more?), else all.
    const want = useCursor ? batchSize + 1 : this.limits.maxResults + 1;
    const attempt = (p: Plan) => {
      const warnings = new QueryWarnings(maxWarnings, failOnWarning);
      const ex = new Executor(deps, snapshot, { ...opts, warnings }, p.subPlans);
      return { ex, it: this.output(ex, p, want), warnings };
    };
    if (useCursor) {
      if (this.cursors.size >= (this.limits.maxCursors ?? 1000)) {
        if (ownSnapshot) snapshot.close();
        throw new ThemisError('UNAVAILABLE', 'too many open cursors; read them to the end or let them expire', { retryAfterMs: 1000 });
      }
      let first: AqlValue[];
      let it: ValueChunks;
      let ex: Executor;
      let warnings: QueryWarnings;
      try {
        ({ it, ex, warnings } = attempt(plan));
        first = await take(it, batchSize + 1, ex);
      } catch (e) {
        if (!(e instanceof IndexOrderUnusable)) {
          if (ownSnapshot) snapshot.close();
          throw e;
        }
        plan = planQuery(q, cat, { ...planOpts, noIndexOrder: true });
        try {
          ({ it, ex, warnings } = attempt(plan));
          first = await take(it, batchSize + 1, ex);
        } catch (e2) {
          if (ownSnapshot) snapshot.close();
          throw e2;
        }
      }
      const hasMore = first.length > batchSize;
      const items = first.slice(0, batchSize);
      let next: string | null = null;
      if (hasMore) {
        next = crypto.randomBytes(18).toString('base64url');
        this.cursors.set(next, {
          it,
          txn,
          ex,
          warnings,
          timeoutMs: timeout,
          snapshot,
          ownSnapshot,
          batchSize,
          plan: plan.explain,
          expires: Date.now() + this.limits.cursorTtlMs,
          owner: caller.id,
          busy: false,
          pending: first.slice(batchSize),
        });
      } else if (ownSnapshot) snapshot.close();
      return {
        items,
        batch_size: batchSize,
        has_more: hasMore,
        next_cursor: next,
        count: items.length,
        plan: plan.explain,
        extra: { warnings: warnings.take(), warnings_total: warnings.total },
      };
    }

    let committed = false;
    try {
      let result: AqlValue[];
      let warnings: QueryWarnings;
      try {
        const a = attempt(plan);
        warnings = a.warnings;
        result = await take(a.it, this.limits.maxResults + 1, a.ex);
      } catch (e) {
        if (!(e instanceof IndexOrderUnusable)) throw e;
        plan = planQuery(q, cat, { ...planOpts, noIndexOrder: true });
        const a = attempt(plan);
        warnings = a.warnings;
        result = await take(a.it, this.limits.maxResults + 1, a.ex);
      }
      if (result.length > this.limits.maxResults) {
        throw new ThemisError(
          'PAYLOAD_TOO_LARGE',
          `the result has more than ${this.limits.maxResults} rows (THEMIS_QUERY_MAX_RESULTS); add a LIMIT or read it with use_cursor`,
          { details: { field: 'query' } },
        );
      }
      if (writeTxn) {
        committed = true;
        await deps.transactions.commit(writeTxn);
      }
      return {
        table: plan.table,
        count: result.length,
        entities: result,
        plan: plan.explain,
        query: body.query,
        extra: { warnings: warnings.all(), warnings_total: warnings.total },
      };
    } catch (e) {
      if (saved && txn!.state === 'active') {
        txn!.writes.clear();
        for (const [k, w] of saved.writes) txn!.writes.set(k, w);
        txn!.version++;
        txn!.bytes = saved.bytes;
      }
      throw e;
    } finally {
      if (ownSnapshot) snapshot.close();
      // An implicit write transaction that never committed only holds its snapshot.
      if (writeTxn && !committed) writeTxn.snapshot?.close();
    }
  }

  private parse(text: string): Query {
    let q = this.parsed.get(text);
    if (q) {
      this.parsed.delete(text);
      this.parsed.set(text, q);
      return q;
    }
    q = parseAql(text);
    this.parsed.set(text, q);
    if (this.parsed.size > PARSE_CACHE) this.parsed.delete(this.parsed.keys().next().value!);
    return q;
  }

  /** Result values: a returned document as its stored JSON text, anything else as a JSON value. */
  /** The result values; a returned document as its stored text (or its JSON when it has none). */
  private output(ex: Executor, plan: Plan, want: number): ValueChunks {
    if (plan.ret?.documentVar === undefined) return ex.chunks(plan.steps, plan.ret, undefined, undefined, want);
    return ex.chunks(
      plan.steps,
      plan.ret,
      undefined,
      (v) => (v !== null && typeof v === 'object' ? (ex.texts.get(v) ?? JSON.stringify(v)) : v),
      want,
    );
  }

  private async next(raw: unknown, caller: Caller): Promise<AqlResponse> {
    try {
      return await this.nextPage(raw, caller);
    } catch (e) {
      throw engineLimit(e, this.limits.maxMemory ?? Infinity, this.maxDepth);
    }
  }

  private async nextPage(raw: unknown, caller: Caller): Promise<AqlResponse> {
    if (typeof raw !== 'string') throw bad('cursor', 'field "cursor" must be the next_cursor string of a previous response');
    const c = this.cursors.get(raw);
    // A cursor is read only by the principal that opened it: to anyone else it does not exist.
    if (!c || c.expires < Date.now() || c.owner !== caller.id) {
      if (c && c.owner !== caller.id)
        throw bad('cursor', 'unknown or expired cursor (cursors expire after THEMIS_CURSOR_TTL_MS without a read)');
      if (c) await this.drop(raw, c);
      throw bad('cursor', 'unknown or expired cursor (cursors expire after THEMIS_CURSOR_TTL_MS without a read)');
    }
    if (c.busy) throw new ThemisError('CONFLICT', 'this cursor is being read by another request');
    if (c.txn && c.txn.state !== 'active') {
      await this.drop(raw, c);
      throw bad('cursor', `the transaction this cursor reads (${c.txn.id}) has ended (${c.txn.state}); its cursor is closed`);
    }
    c.busy = true;
    c.ex.deadline = Date.now() + c.timeoutMs;
    try {
      const got = [...c.pending, ...(await take(c.it, c.batchSize + 1 - c.pending.length, c.ex))];
      const items = got.slice(0, c.batchSize);
      const hasMore = got.length > c.batchSize;
      if (hasMore) {
        c.pending = got.slice(c.batchSize);
        c.expires = Date.now() + this.limits.cursorTtlMs;
      } else await this.drop(raw, c);
      return {
        items,
        batch_size: c.batchSize,
        has_more: hasMore,
        next_cursor: hasMore ? raw : null,
        count: items.length,
        plan: c.plan,
        extra: { warnings: c.warnings.take(), warnings_total: c.warnings.total },
      };
    } catch (e) {
      await this.drop(raw, c);
      throw e;
    } finally {
      c.busy = false;
    }
  }
}

/**
 * Up to `n` results. They count against the query's memory budget while
 * they are collected (the response holds them), and are released once the
 * page is complete (the response is then the HTTP layer's).
 */
async function take(it: ValueChunks, n: number, ex: Executor): Promise<AqlValue[]> {
  const out: AqlValue[] = [];
  const held = ex.gov.holding();
  try {
    while (out.length < n) {
      // How many are still wanted (a generator's first `next` argument is not seen: `attempt` gave it the first `n`).
      const r = await it.next(n - out.length);
      if (r.done) break;
      held.hold(r.value.bytes);
      for (const v of r.value.values) out.push(v);
    }
  } finally {
    held.close();
  }
  return out;
}

export type { TableCatalogue };
