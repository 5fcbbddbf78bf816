import type { components } from '../api/types.js';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Engine, keyspace, WriteBatch } from '../storage/index.js';
import { tableAccessOf, type Grant, type Principal } from './principal.js';
import { generateKeyId, generateSecret, hashSecret } from './secrets.js';
import { parseRateLimit } from './rate-limit.js';
import { type CredentialEnd, type CredentialEndListener, timerAt } from './credential-end.js';

const ks = keyspace('apiKeys');
const DAY_MS = 86_400_000;
/** API key secrets: this prefix + 43 base64url characters (32 random bytes), so a leaked one is recognisable (secret scanners). */
export const API_KEY_PREFIX = 'tsk_';

/** A key as stored (keyspace `apiKeys`, key id -> this JSON). Holds the SHA-256 hash of the secret, never the secret. */
interface StoredKey {
  v: 1;
  keyId: string;
  name: string;
  permissions: Grant[];
  metadata: Record<string, unknown>;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  hash: string;
  /** This key's own request limit (`100/s`), instead of THEMIS_RATE_LIMIT; absent in records written before it existed. */
  rate_limit?: string | null;
}

/** What GET /api/keys and GET /api/keys/{keyId} show (openapi.yaml `ApiKey`): never the secret or its hash. */
export type ApiKeyInfo = components['schemas']['ApiKey'];
/** The create response (openapi.yaml `ApiKeyCreated`): the only place the secret appears. */
export type CreatedApiKey = components['schemas']['ApiKeyCreated'];
type CreateRequest = components['schemas']['ApiKeyCreateRequest'];
type UpdateRequest = components['schemas']['ApiKeyUpdateRequest'];

export interface ApiKeyStoreOptions {
  /** How often `last_used_at` is written (default 60 s): at most one write per key per interval. */
  usageFlushMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** `last_used_at` of one key, shared by the key's versions (an update keeps it). */
interface Usage {
  lastUsedMs: number | null;
  dirty: boolean;
}

/** One version of a key in memory. Updating or revoking a key retires its version: its principal stops being live. */
class Entry {
  retired = false;
  readonly principal: Principal;
  private readonly expiresMs: number;
  /** Why this version was retired (undefined: the store closed). */
  private endedBy: CredentialEnd | undefined;
  /** Open connections on this version (Principal.onEnd); the expiry timer runs only while there are some. */
  private readonly listeners = new Set<CredentialEndListener>();
  private cancelExpiry: (() => void) | undefined;

  constructor(
    readonly rec: StoredKey,
    readonly usage: Usage,
    store: ApiKeyStore,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.expiresMs = rec.expires_at === null ? Number.POSITIVE_INFINITY : Date.parse(rec.expires_at);
    this.principal = {
      id: rec.keyId,
      kind: 'api_key',
      name: rec.name,
      permissions: new Set(rec.permissions),
      access: tableAccessOf(rec.permissions),
      ...(rec.rate_limit ? { rateLimit: parseRateLimit(rec.rate_limit) } : {}),
      live: () => !this.retired && now() < this.expiresMs,
      touch: () => store.touch(this.rec.keyId, this.usage),
      onEnd: (l) => this.onEnd(l),
    };
  }

  expired(now: number): boolean {
    return now >= this.expiresMs;
  }

  /**
   * This version stops being live: revoked or replaced by a changed one (its
   * open connections are told), or the store closed (`why` undefined: nobody
   * is told; the change feed ends its streams itself when storage closes).
   */
  retire(why?: CredentialEnd): void {
    this.retired = true;
    this.endedBy = why;
    if (why !== undefined) this.notify(why);
    else this.stopWatching();
  }

  private onEnd(l: CredentialEndListener): () => void {
    if (this.retired || this.expired(this.now())) {
      const why = this.retired ? (this.endedBy ?? 'changed') : 'expired';
      const t = setTimeout(() => l(why), 0);
      return () => clearTimeout(t);
    }
    this.listeners.add(l);
    if (this.cancelExpiry === undefined && Number.isFinite(this.expiresMs))
      this.cancelExpiry = timerAt(this.expiresMs, () => this.notify('expired'), this.now);
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.stopWatching();
    };
  }

  private notify(why: CredentialEnd): void {
    const ls = [...this.listeners];
    this.stopWatching();
    for (const l of ls) {
      try {
        l(why);
      } catch (e) {
        this.log.error('closing a connection of an ended API key failed', { key_id: this.rec.keyId, error: e });
      }
    }
  }

  private stopWatching(): void {
    this.listeners.clear();
    this.cancelExpiry?.();
    this.cancelExpiry = undefined;
  }
}

/**
 * The API keys (issue 15): created, listed, changed and revoked through
 * /api/keys, persisted in the `apiKeys` keyspace and held in memory (by id
 * and by the secret's hash) so authenticating a request is a map lookup.
 * Changes are written before they take effect in memory, one at a time (a
 * revocation can never be overwritten by a concurrent update or usage
 * flush). `last_used_at` is kept in memory and written at most once per
 * `usageFlushMs` per key, and at close.
 */
export class ApiKeyStore {
  private readonly byId = new Map<string, Entry>();
  private readonly byHash = new Map<string, Entry>();
  private readonly dirty = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;
  /** created_at of the newest key (ms): creation times are strictly increasing, so the list order is the creation order. */
  private lastCreatedMs = 0;

  private constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly opts: ApiKeyStoreOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Load every stored key. */
  static async open(engine: Engine, log: Logger, opts: ApiKeyStoreOptions = {}): Promise<ApiKeyStore> {
    const s = new ApiKeyStore(engine, log, opts);
    for await (const [, value] of engine.scan(ks)) {
      const rec = JSON.parse(value.toString('utf8')) as StoredKey;
      const usage: Usage = { lastUsedMs: rec.last_used_at === null ? null : Date.parse(rec.last_used_at), dirty: false };
      s.install(new Entry(rec, usage, s, s.now, log));
      s.lastCreatedMs = Math.max(s.lastCreatedMs, Date.parse(rec.created_at));
    }
    s.timer = setInterval(
      () => void s.flushUsage().catch((e) => log.warn('writing api key usage failed', { error: e })),
      opts.usageFlushMs ?? 60_000,
    );
    s.timer.unref();
    return s;
  }

  /** The principal of a live key with this secret hash (the Authenticator's resolver). */
  resolve(hash: string): Principal | undefined {
    if (this.closed) return undefined;
    const e = this.byHash.get(hash);
    return e && !e.retired && !e.expired(this.now()) ? e.principal : undefined;
  }

  /** A request authenticated with the key: remember when (written later, coalesced). */
  touch(keyId: string, usage: Usage): void {
    usage.lastUsedMs = this.now();
    if (!usage.dirty) {
      usage.dirty = true;
      this.dirty.add(keyId);
    }
  }

  async create(req: CreateRequest): Promise<CreatedApiKey> {
    const rateLimit = checkedRateLimit(req.rate_limit);
    return this.serial(async () => {
      const secret = generateSecret(API_KEY_PREFIX);
      const now = Math.max(this.now(), this.lastCreatedMs + 1);
      this.lastCreatedMs = now;
      const rec: StoredKey = {
        v: 1,
        keyId: generateKeyId(),
        name: req.name,
        permissions: grants(req.permissions),
        metadata: req.metadata ?? {},
        created_at: new Date(now).toISOString(),
        expires_at: req.expires_in_days === undefined ? null : new Date(now + Math.round(req.expires_in_days * DAY_MS)).toISOString(),
        revoked_at: null,
        last_used_at: null,
        hash: hashSecret(secret),
        rate_limit: rateLimit,
      };
      await this.write(rec);
      this.install(new Entry(rec, { lastUsedMs: null, dirty: false }, this, this.now, this.log));
      this.log.info('api key created', { key_id: rec.keyId, name: rec.name, permissions: rec.permissions });
      return {
        keyId: rec.keyId,
        secret,
        name: rec.name,
        permissions: rec.permissions,
        created_at: rec.created_at,
        expires_at: rec.expires_at,
      };
    });
  }

  get(keyId: string): ApiKeyInfo {
    return this.info(this.entry(keyId));
  }

  list(opts: { includeRevoked: boolean; page: number; pageSize: number }): {
    keys: ApiKeyInfo[];
    total: number;
    page: number;
    page_size: number;
  } {
    const all = [...this.byId.values()]
      .filter((e) => opts.includeRevoked || e.rec.revoked_at === null)
      .sort((a, b) =>
        a.rec.created_at < b.rec.created_at ? -1 : a.rec.created_at > b.rec.created_at ? 1 : a.rec.keyId < b.rec.keyId ? -1 : 1,
      );
    const start = (opts.page - 1) * opts.pageSize;
    return {
      keys: all.slice(start, start + opts.pageSize).map((e) => this.info(e)),
      total: all.length,
      page: opts.page,
      page_size: opts.pageSize,
    };
  }

  /** Change name, permissions or metadata; takes effect on the key's next request. A revoked key cannot be changed (409). */
  update(keyId: string, req: UpdateRequest): Promise<ApiKeyInfo> {
    const rateLimit = req.rate_limit === undefined ? undefined : checkedRateLimit(req.rate_limit);
    return this.serial(async () => {
      const old = this.entry(keyId);
      if (old.rec.revoked_at !== null) throw new ThemisError('CONFLICT', `API key ${keyId} is revoked and cannot be changed`);
      const rec: StoredKey = {
        ...old.rec,
        ...(req.name !== undefined ? { name: req.name } : {}),
        ...(req.permissions !== undefined ? { permissions: grants(req.permissions) } : {}),
        ...(req.metadata !== undefined ? { metadata: req.metadata } : {}),
        ...(rateLimit !== undefined ? { rate_limit: rateLimit } : {}),
      };
      await this.write(rec, old.usage);
      old.retire('changed');
      const next = new Entry(rec, old.usage, this, this.now, this.log);
      this.install(next);
      this.log.info('api key changed', { key_id: keyId, name: rec.name, permissions: rec.permissions });
      return this.info(next);
    });
  }

  /** Revoke permanently: the key's next request gets 401. Revoking a revoked key answers its revocation time again. */
  revoke(keyId: string): Promise<{ success: true; keyId: string; revoked_at: string }> {
    return this.serial(async () => {
      const old = this.entry(keyId);
      if (old.rec.revoked_at !== null) return { success: true as const, keyId, revoked_at: old.rec.revoked_at };
      const rec: StoredKey = { ...old.rec, revoked_at: new Date(this.now()).toISOString() };
      await this.write(rec, old.usage);
      old.retire('revoked');
      this.install(new Entry(rec, old.usage, this, this.now, this.log));
      this.log.info('api key revoked', { key_id: keyId, name: rec.name });
      return { success: true as const, keyId, revoked_at: rec.revoked_at! };
    });
  }

  /** Write the `last_used_at` of every key used since the last flush (one batch). */
  flushUsage(): Promise<void> {
    return this.serial(async () => {
      if (this.dirty.size === 0 || !this.engine.isOpen) return;
      const b = new WriteBatch();
      const flushed: [string, Usage][] = [];
      for (const id of this.dirty) {
        const e = this.byId.get(id);
        if (!e) continue;
        b.put(ks, Buffer.from(id, 'utf8'), this.encode(e.rec, e.usage));
        e.usage.dirty = false;
        flushed.push([id, e.usage]);
      }
      this.dirty.clear();
      try {
        await this.engine.commit(b);
      } catch (e) {
        // Keep them for the next flush.
        for (const [id, usage] of flushed) this.touchDirty(id, usage);
        throw e;
      }
    });
  }

  /** Flush usage, stop the timer; every principal handed out stops being live (a reopened store hands out new ones). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      await this.flushUsage();
    } catch (e) {
      this.log.warn('writing api key usage at close failed', { error: e });
    }
    this.closed = true;
    for (const e of this.byId.values()) e.retire();
  }

  get size(): number {
    return this.byId.size;
  }

  private touchDirty(id: string, usage: Usage): void {
    usage.dirty = true;
    this.dirty.add(id);
  }

  private entry(keyId: string): Entry {
    const e = this.byId.get(keyId);
    if (!e) throw new ThemisError('NOT_FOUND', `API key ${keyId} not found`, { details: { field: 'keyId' } });
    return e;
  }

  private install(e: Entry): void {
    this.byId.set(e.rec.keyId, e);
    if (e.rec.revoked_at === null) this.byHash.set(e.rec.hash, e);
    else this.byHash.delete(e.rec.hash);
  }

  private info(e: Entry): ApiKeyInfo {
    const r = e.rec;
    return {
      keyId: r.keyId,
      name: r.name,
      permissions: r.permissions,
      metadata: r.metadata,
      rate_limit: r.rate_limit ?? null,
      created_at: r.created_at,
      expires_at: r.expires_at,
      last_used_at: e.usage.lastUsedMs === null ? null : new Date(e.usage.lastUsedMs).toISOString(),
      revoked: r.revoked_at !== null,
      revoked_at: r.revoked_at,
      expired: e.expired(this.now()),
    };
  }

  private encode(rec: StoredKey, usage?: Usage): Buffer {
    const last = usage?.lastUsedMs ?? null;
    return Buffer.from(JSON.stringify({ ...rec, last_used_at: last === null ? rec.last_used_at : new Date(last).toISOString() }), 'utf8');
  }

  private async write(rec: StoredKey, usage?: Usage): Promise<void> {
    if (this.closed) throw new ThemisError('UNAVAILABLE', 'storage is reopening, retry shortly');
    await this.engine.commit(new WriteBatch().put(ks, Buffer.from(rec.keyId, 'utf8'), this.encode(rec, usage)));
  }

  /** Run changes one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** A key's `rate_limit` as given (`100/s`, `60000/min`, `20/10s`; null or "off" for none), checked: VALIDATION_FAILED naming the field. */
function checkedRateLimit(v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null;
  try {
    return parseRateLimit(v) === undefined ? null : v.trim();
  } catch (e) {
    throw new ThemisError('VALIDATION_FAILED', `field "rate_limit" ${(e as Error).message}`, { details: { field: 'rate_limit' } });
  }
}

/** The request's permissions, de-duplicated (openapi.yaml's `Permission` schema has checked each is a known permission or a table-scoped data permission). */
function grants(names: readonly string[]): Grant[] {
  return [...new Set(names)] as Grant[];
}
