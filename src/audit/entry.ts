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

/** The chain's start: the "previous hash" of the first entry ever written. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields in canonical order: what the hash covers, and how an entry is stored. */
const FIELDS = [
  'id',
  'timestamp',
  'user',
  'userId',
  'action',
  'entityType',
  'entityId',
  'oldValue',
  'newValue',
  'success',
  'statusCode',
  'ipAddress',
  'sessionId',
  'errorMessage',
  'seq',
  'method',
  'route',
] as const satisfies readonly (keyof AuditEntry)[];

/**
 * The canonical content of an entry: its fields in a fixed order, as a JSON
 * array (no key-order ambiguity). The hash covers exactly this text.
 */
export function canonical(e: AuditEntry): string {
  // Spelled out (same order as FIELDS): this runs for every request.
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

/** SHA-256 over the previous entry's hash, a newline and the entry's canonical content. */
export function chainHash(prevHash: string, canonicalText: string): string {
  // One-shot hash (no Hash object per entry): this runs for every request.
  return crypto.hash('sha256', `${prevHash}\n${canonicalText}`, 'hex');
}

/**
 * An entry as stored: its canonical array with the previous entry's hash and
 * its own appended (`[...fields, prevHash, hash]`), one JSON text, so the
 * canonical content is serialised once for both the hash and the record.
 */
export function storedText(canonicalText: string, prevHash: string, hash: string): string {
  return `${canonicalText.slice(0, -1)},"${prevHash}","${hash}"]`;
}

/** A stored entry read back: the entry, its canonical text (recomputed) and the two hashes. */
export interface StoredEntry {
  entry: AuditEntry;
  canonical: string;
  prevHash: string;
  hash: string;
}

/** Parse a stored entry; throws on text that is not one. */
export function parseStored(text: string): StoredEntry {
  const a = JSON.parse(text) as unknown[];
  if (!Array.isArray(a) || a.length !== FIELDS.length + 2) throw new TypeError('not a stored audit entry');
  const fields = a.slice(0, FIELDS.length);
  const entry = {} as Record<string, unknown>;
  for (let i = 0; i < FIELDS.length; i++) entry[FIELDS[i]!] = fields[i];
  return {
    entry: entry as AuditEntry,
    canonical: JSON.stringify(fields),
    prevHash: a[FIELDS.length] as string,
    hash: a[FIELDS.length + 1] as string,
  };
}

/** The timestamp (ms) of a stored entry, without parsing it whole: its second element. */
export function storedTimeMs(text: string): number {
  const q = text.indexOf('"');
  return Date.parse(text.slice(q + 1, text.indexOf('"', q + 1)));
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
