import type { components } from '../api/types.js';

/**
 * One audit entry: who did what, when, with which result — openapi.yaml's
 * `AuditEntry` (the contract's `GET /api/audit` fields plus `userId`,
 * `statusCode`, `seq`, `method` and `route`; docs/audit.md describes each).
 * What a caller supplies is an `AuditRecord`; the log adds the monotonic
 * `id`, the `timestamp` and the hash chain (record-codec.ts: how it is
 * stored and hashed).
 */
export type AuditEntry = components['schemas']['AuditEntry'];
export type AuditRecord = Omit<AuditEntry, 'id' | 'timestamp'>;

// ------------------------------------------------------------------ redaction

/** Field names whose values are never recorded (any case, `_`/`-` ignored). */
const SECRET_NAMES = /^(secret|token|password|passwd|apikey|authorization|accesstoken|refreshtoken|clientsecret|privatekey|hash)$/;

/** Text that looks like a credential: API key secrets, bearer values, JWTs. */
const SECRET_TEXT = [
  /tsk_[A-Za-z0-9_-]{8,}/g,
  /\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{12,}/g,
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
];

export const REDACTED = '***';

/** Mask credentials inside free text (error messages, values). */
export function redactText(s: string): string {
  let out = s;
  for (const re of SECRET_TEXT) out = out.replace(re, REDACTED);
  return out;
}

/** A copy of `v` with secret-named fields masked and credential-looking strings masked, as JSON text. */
export function redactedJson(v: unknown): string {
  return JSON.stringify(v, (k, x) => {
    if (k !== '' && SECRET_NAMES.test(k.toLowerCase().replace(/[-_]/g, ''))) return REDACTED;
    return typeof x === 'string' ? redactText(x) : x;
  });
}
