import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets in a backup (the PII master key) are never written in clear: they
 * are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
 * backup key, THEMIS_BACKUP_KEY, which the operator keeps apart from the
 * backups. The file's name is the authenticated data, so a sealed file
 * cannot be passed off as another. The backup key's fingerprint (an HMAC
 * under a second derived key) tells restore whether it was given the right
 * key without revealing it.
 */
export interface SealedSecret {
  alg: 'A256GCM';
  kdf: 'HKDF-SHA256';
  key_fingerprint: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

function derive(key: Buffer, label: string): Buffer {
  if (key.length !== 32) throw new TypeError('the backup key must be 32 bytes');
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), label, 32));
}

/** Identifies a backup key without revealing it. */
export function backupKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', derive(key, 'themis-backup check v1')).update('fingerprint').digest('hex').slice(0, 32);
}

export function seal(key: Buffer, name: string, content: Buffer): SealedSecret {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', derive(key, 'themis-backup seal v1'), iv);
  c.setAAD(Buffer.from(`themis-backup:${name}`, 'utf8'));
  const ciphertext = Buffer.concat([c.update(content), c.final()]);
  return {
    alg: 'A256GCM',
    kdf: 'HKDF-SHA256',
    key_fingerprint: backupKeyFingerprint(key),
    iv: iv.toString('base64'),
    tag: c.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

/** The secret; throws `wrong key` when the fingerprint differs, and when authentication fails (tampered or another key). */
export function unseal(key: Buffer, name: string, s: SealedSecret): Buffer {
  const want = Buffer.from(String(s.key_fingerprint), 'utf8');
  const have = Buffer.from(backupKeyFingerprint(key), 'utf8');
  if (want.length !== have.length || !timingSafeEqual(want, have)) throw new Error('wrong key');
  if (s.alg !== 'A256GCM' || s.kdf !== 'HKDF-SHA256') throw new Error(`unknown sealing ${String(s.alg)}/${String(s.kdf)}`);
  const d = createDecipheriv('aes-256-gcm', derive(key, 'themis-backup seal v1'), Buffer.from(s.iv, 'base64'));
  d.setAAD(Buffer.from(`themis-backup:${name}`, 'utf8'));
  d.setAuthTag(Buffer.from(s.tag, 'base64'));
  return Buffer.concat([d.update(Buffer.from(s.ciphertext, 'base64')), d.final()]);
}
