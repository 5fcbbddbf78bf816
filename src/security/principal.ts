import type { CredentialEndListener } from './credential-end.js';
import type { RateLimit } from './rate-limit.js';

/**
 * Who is making a request. Every authenticated request carries one; routes
 * declare the permission they need and `can()` decides. API keys (the
 * security module, POST /api/keys) carry narrower permission sets. The
 * permission names are the contract's (Anhang: Berechtigungen) plus the
 * server's own: `data:read`, `data:write` and `pii:reveal` (reading original
 * PII values). openapi.yaml's `Permission` schema lists the same names.
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
  '*',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface Principal {
  /** Stable id of the credential (key id), safe to log. */
  readonly id: string;
  readonly kind: 'admin' | 'api_key' | 'jwt';
  readonly name: string;
  readonly permissions: ReadonlySet<Permission>;
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

export function can(p: Principal, needed: Permission | undefined): boolean {
  if (needed === undefined) return true;
  return p.permissions.has('*') || p.permissions.has('admin') || p.permissions.has(needed);
}
