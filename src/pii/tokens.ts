import { createHmac } from 'node:crypto';

/** A category as tokens spell it: `email` -> `EMAIL`, `credit_card` -> `CREDIT_CARD`. */
export const tokenLabel = (category: string): string => category.toUpperCase();

/** The token replacing a value: `[EMAIL:550e8400-e29b-81d4-a716-446655440000]`. */
export const tokenOf = (category: string, uuid: string): string => `[${tokenLabel(category)}:${uuid}]`;

/** Tokens in text (the label, then the uuid). */
export const TOKEN = /\[([A-Z][A-Z0-9_]{0,63}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\]/g;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The 16 bytes of a uuid string; undefined when it is not one. */
export function uuidBytes(s: string): Buffer | undefined {
  return UUID.test(s) ? Buffer.from(s.replace(/-/g, ''), 'hex') : undefined;
}

export function uuidString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The pseudonym of a value: HMAC-SHA256 under the vault's pseudonym key over
 * scope, category, value and generation, cut to a version-8 uuid (RFC 9562,
 * "custom"). The same inputs always give the same uuid — that is what lets
 * equal values join on their pseudonyms — and without the key nobody can
 * compute it, so a pseudonym cannot be confirmed by guessing values. The
 * generation moves on when a value's uuid was crypto-shredded: a value
 * written again after its erasure gets a new pseudonym, and the erased one
 * stays dead.
 */
export function pseudonym(key: Buffer, scope: string, category: string, value: string, generation: number): Buffer {
  const b = createHmac('sha256', key).update(`v1\0${scope}\0${category}\0${generation}\0${value}`, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}
