import createClient, { type Client } from 'openapi-fetch';
import { type AqlQuery, isAqlQuery } from './aql.js';
import { ThemisError, isConflict, parseMaybeJson } from './errors.js';
import type { components, paths } from './schema.js';
import { readSse } from './sse.js';

type Schemas = components['schemas'];
export type EntityResponse = Schemas['EntityResponse'];
export type EntityWriteResponse = Schemas['EntityWriteResponse'];
export type AqlRequest = Schemas['AqlRequest'];
export type AqlResponse = Schemas['AqlResponse'];
export type Isolation = 'snapshot' | 'read_committed';

/** The raw, fully typed openapi-fetch client over every operation of openapi.yaml. */
export type ThemisApi = Client<paths>;

export interface ThemisClientOptions {
  /** e.g. `http://127.0.0.1:8765` */
  baseUrl: string;
  /** An API key (or JWT), sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
}

export interface QueryOptions {
  /**
   * Bind variables for a query given as plain text (`'FOR u IN @@coll FILTER u.age > @min RETURN u'`
   * with `{ '@coll': 'users', min: 30 }`). With an `aql` tag they are added to the tag's own; a name
   * bound by both is a TypeError.
   */
  bindVars?: Record<string, unknown>;
  /** Run inside this transaction (set for you inside `db.transaction()`). */
  transactionId?: number;
  /** Per-query time limit (server: 408 past it). */
  timeoutMs?: number;
  /** false: refuse a FOR that would scan a whole collection (400). */
  allowFullScan?: boolean;
}

export interface CursorOptions extends QueryOptions {
  /** Results per page (1–10,000; server default 100). */
  batchSize?: number;
}

export interface TransactionOptions {
  /** Default `snapshot`: first-committer-wins, so a lost update becomes a 409 that is retried. */
  isolation?: Isolation;
  /** Attempts in all, including the first (default 5). */
  maxAttempts?: number;
  /** First backoff in ms (default 20); doubles per attempt, with full jitter, up to maxBackoffMs. */
  backoffMs?: number;
  /** Longest backoff in ms (default 1000). */
  maxBackoffMs?: number;
  /** Called before each retry with the 409 that caused it. */
  onRetry?: (error: ThemisError, attempt: number) => void;
}

/** One change of the change feed (the SSE event's data, docs/changefeed.md). */
export interface ChangeEvent {
  operation: 'PUT' | 'DELETE';
  key: string;
  sequence: number;
  /** The previous document's stored JSON text, or null. */
  old_val: string | null;
  /** The new document's stored JSON text, or null for a delete. */
  new_val: string | null;
  txn_id?: string;
}

export interface ChangeFeedOptions {
  /** Exclusive start position (default 0: from the beginning of the retained log). */
  fromSeq?: number;
  /** Only keys starting with this (e.g. `users:`). */
  keyPrefix?: string;
  /** Default true: follow live changes forever; false: end once caught up with the log. */
  follow?: boolean;
  /** Length of one server stream in seconds (1–60, server default 30); the client reconnects after each. */
  maxSeconds?: number;
  /** Server heartbeat interval in ms (100–60,000). */
  heartbeatMs?: number;
  /** Stops the iteration (the iterator then ends without error). */
  signal?: AbortSignal;
  /** Consecutive failed connection attempts before the error is thrown (default 10). */
  maxRetries?: number;
  /** First reconnect delay after a failure in ms (default 250; doubles per consecutive failure, up to 5,000). */
  retryDelayMs?: number;
  /** Called whenever the iterator reconnects, with the position it resumes after. */
  onReconnect?: (info: { lastSeq: number; failures: number; error?: unknown }) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What a session shares with the transactions it begins. */
export interface SessionInit {
  api: ThemisApi;
  fetch: typeof globalThis.fetch;
  baseUrl: string;
  headers: Record<string, string>;
}

/**
 * Entity, query and cursor operations, shared by the client and by a transaction (which sends its
 * `X-Transaction-Id` with each of them).
 */
export class ThemisSession {
  /** The typed openapi-fetch client: `api.GET('/entities/{key}', { params: { path: { key } } })`. */
  readonly api: ThemisApi;
  protected readonly fetchImpl: typeof globalThis.fetch;
  protected readonly baseUrl: string;
  protected readonly defaultHeaders: Record<string, string>;
  /** The transaction this session runs in, if any. */
  readonly transactionId: number | undefined;

  protected constructor(init: SessionInit, transactionId?: number) {
    this.api = init.api;
    this.fetchImpl = init.fetch;
    this.baseUrl = init.baseUrl;
    this.defaultHeaders = init.headers;
    this.transactionId = transactionId;
  }

  protected init(): SessionInit {
    return { api: this.api, fetch: this.fetchImpl, baseUrl: this.baseUrl, headers: this.defaultHeaders };
  }

  protected txHeaders(transactionId = this.transactionId): Record<string, string> {
    return transactionId === undefined ? {} : { 'X-Transaction-Id': String(transactionId) };
  }

  /** Reads an entity (`blob` is its stored JSON text); 404 → ThemisError code NOT_FOUND. */
  async getEntity(key: string): Promise<EntityResponse> {
    return unwrap(await this.api.GET('/entities/{key}', { params: { path: { key } }, headers: this.txHeaders() }));
  }

  /** Reads an entity and parses its document. */
  async getDocument<T = Record<string, unknown>>(key: string): Promise<T> {
    return JSON.parse((await this.getEntity(key)).blob) as T;
  }

  /** Creates or replaces an entity; `blob` is a document object or its JSON text. */
  async putEntity(key: string, blob: Record<string, unknown> | string): Promise<EntityWriteResponse> {
    return unwrap(
      await this.api.PUT('/entities/{key}', {
        params: { path: { key } },
        body: { blob } as Schemas['EntityPutRequest'],
        headers: this.txHeaders(),
      }),
    );
  }

  /** Deletes an entity (idempotent: `deleted` says whether it existed). */
  async deleteEntity(key: string): Promise<{ deleted?: boolean } & Record<string, unknown>> {
    return unwrap(await this.api.DELETE('/entities/{key}', { params: { path: { key } }, headers: this.txHeaders() })) as {
      deleted?: boolean;
    };
  }

  /**
   * Runs an AQL query in one request and returns its results (`entities`). A `RETURN doc` of a
   * collection's variable yields the document's stored JSON text (a string), as the server sends it.
   */
  async query<T = unknown>(q: AqlQuery | string, opts: QueryOptions = {}): Promise<T[]> {
    const res = await this.runAql(requestBody(q, opts), opts.transactionId);
    return (res.entities ?? []) as T[];
  }

  /** Opens a server-side cursor and returns it after its first page; iterate it with `for await`. */
  async cursor<T = unknown>(q: AqlQuery | string, opts: CursorOptions = {}): Promise<AqlCursor<T>> {
    const body: AqlRequest = { ...requestBody(q, opts), use_cursor: true };
    if (opts.batchSize !== undefined) body.batch_size = opts.batchSize;
    const first = await this.runAql(body, opts.transactionId);
    return new AqlCursor<T>(first, (cursor) => this.runAql({ cursor }, opts.transactionId));
  }

  /** Plans a query without running it. */
  async explain(q: AqlQuery | string): Promise<AqlResponse['plan']> {
    return (await this.runAql({ ...requestBody(q, {}), explain: true })).plan;
  }

  private async runAql(body: AqlRequest, transactionId?: number): Promise<AqlResponse> {
    return unwrap(await this.api.POST('/query/aql', { body, headers: this.txHeaders(transactionId ?? this.transactionId) }));
  }
}

/** A transaction's view: every operation carries its `X-Transaction-Id`. */
export class Transaction extends ThemisSession {
  declare readonly transactionId: number;
  readonly isolation: Isolation;

  /** @internal use `db.transaction()` or `db.beginTransaction()` */
  constructor(init: SessionInit, transactionId: number, isolation: Isolation) {
    super(init, transactionId);
    this.isolation = isolation;
  }

  /** Commits; 409 CONFLICT when another transaction won (the transaction is then aborted). */
  async commit(): Promise<Schemas['TransactionCommitResponse']> {
    return unwrap(await this.api.POST('/transaction/commit', { body: { transaction_id: this.transactionId } }));
  }

  async rollback(): Promise<void> {
    unwrap(await this.api.POST('/transaction/rollback', { body: { transaction_id: this.transactionId } }));
  }
}

/** The ThemisTS client. */
export class ThemisClient extends ThemisSession {
  constructor(opts: ThemisClientOptions) {
    const baseUrl = opts.baseUrl.replace(/\/+$/, '');
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.apiKey !== undefined) headers.Authorization = `Bearer ${opts.apiKey}`;
    const fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
    const api = createClient<paths>({ baseUrl, headers, fetch: (req: Request) => fetchImpl(req) });
    super({ api, fetch: fetchImpl, baseUrl, headers });
  }

  /** Begins an explicit transaction; join, commit and roll back through the returned object. */
  async beginTransaction(isolation: Isolation = 'snapshot'): Promise<Transaction> {
    const res = unwrap(await this.api.POST('/transaction/begin', { body: { isolation } }));
    return new Transaction(this.init(), Number(res.transaction_id), isolation);
  }

  /**
   * Runs `fn` in a transaction: begins, runs, commits, rolls back when `fn` throws, and runs the
   * whole function again (a new transaction, so it re-reads) when the server answers 409 CONFLICT,
   * up to `maxAttempts` times with jittered exponential backoff. `fn` must therefore be safe to run
   * more than once: no side effects outside the transaction.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    const maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    const base = opts.backoffMs ?? 20;
    const cap = opts.maxBackoffMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
      const tx = await this.beginTransaction(opts.isolation ?? 'snapshot');
      try {
        const result = await fn(tx);
        await tx.commit();
        return result;
      } catch (e) {
        // After a 409 at commit the server has aborted it already; a rollback then is a harmless 400.
        await tx.rollback().catch(() => {});
        if (!isConflict(e) || attempt >= maxAttempts) throw e;
        opts.onRetry?.(e, attempt);
        await sleep(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
      }
    }
  }

  /**
   * The change feed as an async iterator over `GET /changefeed/stream` (SSE). When a stream ends or
   * the connection drops, it reconnects after the last sequence number it delivered, so no change is
   * lost or repeated; 410 GONE (the position fell out of retention), 401 and 403 are thrown.
   */
  async *changes(opts: ChangeFeedOptions = {}): AsyncGenerator<ChangeEvent, void, undefined> {
    let lastSeq = opts.fromSeq ?? 0;
    const follow = opts.follow ?? true;
    const maxRetries = opts.maxRetries ?? 10;
    const firstDelay = opts.retryDelayMs ?? 250;
    let failures = 0;
    for (;;) {
      if (opts.signal?.aborted) return;
      const params = new URLSearchParams({ from_seq: String(lastSeq), keep_alive: String(follow) });
      if (opts.keyPrefix) params.set('key_prefix', opts.keyPrefix);
      if (opts.maxSeconds !== undefined) params.set('max_seconds', String(opts.maxSeconds));
      if (opts.heartbeatMs !== undefined) params.set('heartbeat_ms', String(opts.heartbeatMs));
      const abort = new AbortController();
      const onAbort = () => abort.abort();
      opts.signal?.addEventListener('abort', onAbort);
      let failure: unknown;
      let endedNormally = false;
      try {
        const res = await this.fetchImpl(`${this.baseUrl}/changefeed/stream?${params}`, {
          headers: { ...this.defaultHeaders, Accept: 'text/event-stream' },
          signal: abort.signal,
        });
        if (!res.ok || res.body === null) {
          const err = await ThemisError.fromResponse(res);
          // Starting up, shutting down or rate limited: try again; anything else is the caller's to handle.
          if (![429, 502, 503, 504].includes(res.status)) throw err;
          failure = err;
        } else {
          for await (const msg of readSse(res.body)) {
            if (msg.event === 'error') {
              const body = parseMaybeJson(msg.data) as { error?: unknown; status_code?: number; code?: string };
              if (body.error === 'slow_consumer') break; // reconnect and resume
              if (body.error === 'gone') throw new ThemisError(410, { ...body, code: 'GONE', error: true });
              throw new ThemisError(typeof body.status_code === 'number' ? body.status_code : 500, body);
            }
            if (msg.id === undefined || msg.data === '') continue;
            const change = JSON.parse(msg.data) as ChangeEvent;
            const seq = typeof change.sequence === 'number' ? change.sequence : Number(msg.id);
            if (seq <= lastSeq) continue; // never deliver twice
            lastSeq = seq;
            failures = 0;
            yield change;
          }
          endedNormally = true;
        }
      } catch (e) {
        if (opts.signal?.aborted) return;
        if (e instanceof ThemisError) throw e;
        failure = e; // connection refused, reset or dropped mid-stream
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        abort.abort();
      }
      if (endedNormally && !follow) return;
      if (failure !== undefined) {
        failures++;
        if (failures > maxRetries) throw failure;
        opts.onReconnect?.({ lastSeq, failures, error: failure });
        await sleep(Math.min(5000, firstDelay * 2 ** (failures - 1)));
      } else {
        opts.onReconnect?.({ lastSeq, failures });
      }
    }
  }
}

/**
 * A server-side AQL cursor (docs/aql.md "Cursors"): pages of `batchSize` read from one snapshot.
 * Iterating it fetches the next pages as needed; it can be consumed once.
 */
export class AqlCursor<T> implements AsyncIterable<T> {
  /** The current page and how far it has been read (a `break` mid-page keeps the rest). */
  private page: T[];
  private pos = 0;
  private next: string | null;
  /** The plan the query ran with. */
  readonly plan: AqlResponse['plan'];

  constructor(
    first: AqlResponse,
    private readonly fetchPage: (cursor: string) => Promise<AqlResponse>,
  ) {
    this.page = (first.items ?? []) as T[];
    this.next = first.has_more ? (first.next_cursor ?? null) : null;
    this.plan = first.plan;
  }

  /** True while results remain (buffered or on the server). */
  get hasMore(): boolean {
    return this.pos < this.page.length || this.next !== null;
  }

  /** Fetches the next page from the server; false when there is none. */
  private async load(): Promise<boolean> {
    if (this.next === null) return false;
    const res = await this.fetchPage(this.next);
    this.page = (res.items ?? []) as T[];
    this.pos = 0;
    this.next = res.has_more ? (res.next_cursor ?? null) : null;
    return true;
  }

  /** The results page by page, as the server sends them (the rest of a page partly read first). */
  async *batches(): AsyncGenerator<T[], void, undefined> {
    do {
      if (this.pos < this.page.length) {
        const rest = this.page.slice(this.pos);
        this.pos = this.page.length;
        yield rest;
      }
    } while (await this.load());
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    do {
      while (this.pos < this.page.length) yield this.page[this.pos++] as T;
    } while (await this.load());
  }

  /** Every remaining result in one array. */
  async all(): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.batches()) out.push(...page);
    return out;
  }
}

function requestBody(q: AqlQuery | string, opts: QueryOptions): AqlRequest {
  const body: AqlRequest = isAqlQuery(q) ? { query: q.query, bind_vars: q.bindVars } : { query: q };
  if (opts.bindVars !== undefined) {
    const own = body.bind_vars ?? {};
    for (const name of Object.keys(opts.bindVars))
      if (Object.hasOwn(own, name)) throw new TypeError(`bind variable "${name}" is bound by the aql tag and by bindVars`);
    body.bind_vars = { ...own, ...opts.bindVars };
  }
  if (opts.timeoutMs !== undefined) body.timeout_ms = opts.timeoutMs;
  if (opts.allowFullScan !== undefined) body.allow_full_scan = opts.allowFullScan;
  return body;
}

/** openapi-fetch's `{data, error, response}` → the data, or a thrown ThemisError. */
export function unwrap<D>(r: { data?: D; error?: unknown; response: Response }): D {
  if (!r.response.ok) throw new ThemisError(r.response.status, r.error, r.response.headers.get('x-request-id') ?? undefined);
  return r.data as D;
}
