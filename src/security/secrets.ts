import crypto from 'node:crypto';

/**
 * Secrets (API keys, the admin key) are stored and compared only as hashes.
 * Generated secrets carry 256 bits of randomness, so a fast hash (SHA-256) is
 * enough: a slow KDF protects low-entropy passwords against guessing, which
 * does not apply, and it would cost milliseconds on every request.
 */
export function hashSecret(secret: string): string {
  // One-shot crypto.hash (Node >= 20.12): no Hash object per call; this runs on every request.
  return crypto.hash('sha256', secret, 'hex');
}

/** A new secret: prefix + 43 base64url characters (32 random bytes). */
export function generateSecret(prefix = 'tsk_'): string {
  return prefix + crypto.randomBytes(32).toString('base64url');
}

/** Short random id for credentials (safe to log and show). */
export function generateKeyId(): string {
  return `key_${crypto.randomBytes(8).toString('hex')}`;
}

export function safeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return crypto.timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
