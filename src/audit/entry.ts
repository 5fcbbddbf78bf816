import type { components } from '../api/types.js';
import crypto from 'node:crypto';

/**
 * One audit entry: who did what, when, with which result — openapi.yaml's
 * `AuditEntry` (the contract's `GET /api/audit` fields plus `userId`,
 * `statusCode`, `seq`, `method` and `route`; docs/audit.md describes each).
 * What a caller supplies is an `AuditRecord`; the log adds the monotonic
 * `id`, the `timestamp` and the hash chain.
 */
export type AuditEntry = components['schemas']['AuditEntry'];
export type AuditRecord = Omit<AuditEntry, 'id' | 'timestamp'>;

/** An entry as stored: the entry, the previous entry's hash and its own. */
export interface StoredEntry extends AuditEntry {
  prevHash: string;
  hash: string;
}

/** The chain's start: the "previous hash" of the first entry ever written. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The canonical content of an entry: its fields in a fixed order, as a JSON
 * array (no key-order ambiguity). The hash covers exactly this.
 */
export function canonical(e: AuditEntry): string {
  return JSON.stringify([
    e.id,
    e.timestamp,
    e.user,
    e.userId,
    e.action,
    e.entityType,
    e.entityId,
    e.oldValue,
    e.newValue,
    e.success,
    e.statusCode,
    e.ipAddress,
    e.sessionId,
    e.errorMessage,
    e.seq,
    e.method,
    e.route,
  ]);
}

/** SHA-256 over the previous entry's hash and this entry's canonical content. */
export function chainHash(prevHash: string, e: AuditEntry): string {
  return crypto.createHash('sha256').update(prevHash).update('\n').update(canonical(e)).digest('hex');
}

/** The entry as the API shows it (without the chain fields). */
export function publicEntry(e: AuditEntry): AuditEntry {
  return {
    id: e.id,
    timestamp: e.timestamp,
    user: e.user,
    userId: e.userId,
    action: e.action,
    entityType: e.entityType,
    entityId: e.entityId,
    oldValue: e.oldValue,
    newValue: e.newValue,
    success: e.success,
    statusCode: e.statusCode,
    ipAddress: e.ipAddress,
    sessionId: e.sessionId,
    errorMessage: e.errorMessage,
    seq: e.seq,
    method: e.method,
    route: e.route,
  };
}

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
