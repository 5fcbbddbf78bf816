import { ALL_TABLES, type TableAccess } from '../access.js';
import type { CredentialEndListener } from './credential-end.js';
import type { RateLimit } from './rate-limit.js';

/**
 * Who is making a request. Every authenticated request carries one; routes
 * declare the permission they need and `can()` decides. API keys (the
 * security module, POST /api/keys) carry narrower permission sets. The
 * permission names are the contract's (Anhang: Berechtigungen) plus the
 * server's own: `data:read`, `data:write` and `pii:reveal` (reading original
 * PII values). openapi.yaml's `Permission` schema lists the same names.
 * A data permission may also name tables (`Grant`): `data:read:users`,
 * `data:write:orders`, `data:read:logs_*`.
 */
export const PERMISSIONS = [
  'admin',
  'audit:read',
  'stats:read',
  'query:execute',
  'classify:read',
  'reports:read',
  'data:read',
  'data:write',
  'pii:reveal',
  'pii:delete',
  '*',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** A data permission limited to tables: `data:read:<pattern>` / `data:write:<pattern>`; `*` in the pattern matches any run of table-name characters. */
export type ScopedGrant = `data:read:${string}` | `data:write:${string}`;
/** What a credential holds: permissions and table-scoped data permissions. */
export type Grant = Permission | ScopedGrant;

const NAMES: ReadonlySet<string> = new Set<string>(PERMISSIONS);
/** Table names are `[A-Za-z0-9_-]{1,128}` (openapi.yaml TableName); a pattern may add `*`. */
const SCOPED = /^data:(read|write):([A-Za-z0-9_*-]{1,128})$/;

/** Whether `s` is a permission or a table-scoped data permission this server knows. */
export function isGrant(s: string): s is Grant {
  return NAMES.has(s) || SCOPED.test(s);
}

/**
 * The tables a set of grants may read and write. `admin`/`*` and the
 * unscoped `data:read`/`data:write` reach every table; scoped grants reach
 * the tables their patterns match.
 */
export function tableAccessOf(grants: Iterable<string>): TableAccess {
  const set = new Set(grants);
  if (set.has('*') || set.has('admin') || (set.has('data:read') && set.has('data:write'))) return ALL_TABLES;
  const read = matcher(set, 'read');
  const write = matcher(set, 'write');
  return Object.freeze({
    readsAll: read === true,
    writesAll: write === true,
    readsAny: read !== false,
    writesAny: write !== false,
    canRead: read === true ? () => true : read === false ? () => false : read,
    canWrite: write === true ? () => true : write === false ? () => false : write,
  });
}

/** true: every table; false: none; else a test over table names. */
function matcher(grants: ReadonlySet<string>, what: 'read' | 'write'): boolean | ((table: string) => boolean) {
  if (grants.has(`data:${what}`)) return true;
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const g of grants) {
    const m = SCOPED.exec(g);
    if (!m || m[1] !== what) continue;
    const pattern = m[2]!;
    if (pattern === '*') return true;
    if (pattern.includes('*')) globs.push(new RegExp(`^${pattern.replaceAll('*', '[A-Za-z0-9_-]*')}$`));
    else exact.add(pattern);
  }
  if (exact.size === 0 && globs.length === 0) return false;
  return (table) => exact.has(table) || globs.some((re) => re.test(table));
}

export interface Principal {
  /** Stable id of the credential (key id), safe to log. */
  readonly id: string;
  readonly kind: 'admin' | 'api_key' | 'jwt';
  readonly name: string;
  readonly permissions: ReadonlySet<Grant>;
  /** The tables this principal may read and write (from `permissions`: `tableAccessOf`). */
  readonly access: TableAccess;
  /** This principal's own request rate limit, used instead of THEMIS_RATE_LIMIT when set (an API key's `rate_limit`). */
  readonly rateLimit?: RateLimit;
  /**
   * Credentials that can end (API keys): false once the key is revoked,
   * changed or expired. Checked on every request, also when the principal
   * comes from the Authenticator's cache, so the next request gets 401.
   */
  readonly live?: () => boolean;
  /**
   * Credentials that can end (API keys, JWTs): call `listener` once when this
   * principal stops being valid (revoked, changed, expired), also at once
   * (asynchronously) when it already has. Long-lived connections (change-feed
   * streams, WebSockets) close on it. Returns the function that unregisters.
   */
  readonly onEnd?: (listener: CredentialEndListener) => () => void;
  /** Called on every authenticated request (API keys: `last_used_at`, kept in memory and flushed coalesced). */
  readonly touch?: () => void;
}

/**
 * Whether `p` holds the route permission `needed`. A table-scoped data
 * permission satisfies the route's `data:read`/`data:write`; the tables a
 * request touches are checked by the service against `p.access`.
 */
export function can(p: Principal, needed: Permission | undefined): boolean {
  if (needed === undefined) return true;
  const s = p.permissions;
  if (s.has('*') || s.has('admin') || s.has(needed)) return true;
  if (needed === 'data:read') return p.access.readsAny;
  if (needed === 'data:write') return p.access.writesAny;
  return false;
}
