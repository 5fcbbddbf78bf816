import type { RateLimit } from './rate-limit.js';

/**
 * Who is making a request. Every authenticated request carries one; routes
 * declare the permission they need and `can()` decides. API-key management
 * (a later issue) adds principals with narrower permission sets; the
 * permission names are the contract's (Anhang: Berechtigungen).
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
}

export function can(p: Principal, needed: Permission | undefined): boolean {
  if (needed === undefined) return true;
  return p.permissions.has('*') || p.permissions.has('admin') || p.permissions.has(needed);
}
