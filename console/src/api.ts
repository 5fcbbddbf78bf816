import { type components, ThemisClient, ThemisError } from '@themis-ts/client';

/**
 * The console's connection to the server it was loaded from: the typed client
 * (@themis-ts/client, over openapi.yaml) for typed calls and the change feed,
 * `request` for any other call. The API key lives in sessionStorage only (gone
 * with the tab), never in localStorage or a cookie.
 */

const STORAGE_KEY = 'themis.console.apiKey';

/** What GET /api/whoami answers: the credential and its permissions. */
export interface WhoAmI {
  id: string;
  kind: 'admin' | 'api_key' | 'jwt';
  name: string;
  permissions: string[];
}

export interface Session {
  readonly key: string;
  readonly who: WhoAmI;
  /** The typed client, authorized with the key. */
  readonly client: ThemisClient;
  /** Whether the key holds `permission` (admin and `*` hold all; a scoped `data:read:t` counts for `data:read`). */
  can(permission: string): boolean;
}

export { ThemisError };

/** The contract's schemas (generated from openapi.yaml into @themis-ts/client). */
export type Schemas = components['schemas'];
/** A table of `GET /tables` (documents, sizes, every index). */
export type TableInfo = Schemas['TableInfo'];

function makeSession(key: string, who: WhoAmI): Session {
  const perms = new Set(who.permissions);
  const all = perms.has('admin') || perms.has('*');
  return {
    key,
    who,
    client: new ThemisClient({ baseUrl: window.location.origin, apiKey: key }),
    can: (p) => all || perms.has(p) || ((p === 'data:read' || p === 'data:write') && who.permissions.some((g) => g.startsWith(`${p}:`))),
  };
}

/** Checks `key` with GET /api/whoami and keeps it for this tab; throws ThemisError (401) for a wrong key. */
export async function signIn(key: string): Promise<Session> {
  const who = await rawRequest<WhoAmI>(key, 'GET', '/api/whoami');
  sessionStorage.setItem(STORAGE_KEY, key);
  return makeSession(key, who);
}

/** The session of this tab, when a key was kept and is still valid. */
export async function resume(): Promise<Session | undefined> {
  const key = sessionStorage.getItem(STORAGE_KEY);
  if (!key) return undefined;
  try {
    return await signIn(key);
  } catch {
    sessionStorage.removeItem(STORAGE_KEY);
    return undefined;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

export interface RequestOptions {
  /** Query parameters (undefined values are left out). */
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** `json` (default), `text` or `blob` (downloads: CSV, PDF). */
  as?: 'json' | 'text' | 'blob';
  headers?: Record<string, string>;
}

async function rawRequest<T>(key: string, method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...(opts.headers ?? {}) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal });
  if (!res.ok) throw await ThemisError.fromResponse(res);
  if (opts.as === 'blob') return (await res.blob()) as T;
  const text = await res.text();
  if (opts.as === 'text') return text as T;
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** A call to this server with the session's key; errors are ThemisError with the contract's message, status and code. */
export function request<T = unknown>(s: Session, method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
  return rawRequest<T>(s.key, method, path, body, opts);
}

/** Downloads a response as a file (CSV, PDF, JSON) through a temporary object URL. */
export async function download(s: Session, path: string, filename: string, opts: RequestOptions = {}): Promise<void> {
  const blob = await request<Blob>(s, 'GET', path, undefined, { ...opts, as: 'blob' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The message to show for a failed call: the server's own (contract format), or the browser's. */
export function messageOf(e: unknown): string {
  if (e instanceof ThemisError) return `${e.message} (${e.status}${e.code && !e.code.startsWith('HTTP_') ? ` ${e.code}` : ''})`;
  if (e instanceof Error) return e.message;
  return String(e);
}
