import fs from 'node:fs/promises';
import path from 'node:path';
import { generateKeyId, generateSecret, hashSecret } from './secrets.js';

export const ADMIN_KEY_FILE = 'admin.key';

/** What `<data>/admin.key` holds: the hash of the admin secret, never the secret. */
export interface AdminKeyRecord {
  key_id: string;
  algorithm: 'sha256';
  hash: string;
  created_at: string;
}

export interface AdminKeyBootstrap {
  record: AdminKeyRecord;
  /** Only set on the start that generated the key: the secret, to be shown once. */
  generatedSecret?: string;
}

/**
 * Load the admin key record from the data directory, creating one on first
 * start unless `generate` is false (an admin secret came from configuration). The file is written with mode 0600 via a temp file and rename, so a
 * crash never leaves a half-written key file.
 */
export async function bootstrapAdminKey(dataDir: string, opts: { generate: boolean }): Promise<AdminKeyBootstrap | undefined> {
  const file = path.join(dataDir, ADMIN_KEY_FILE);
  try {
    const raw = await fs.readFile(file, 'utf8');
    let rec: AdminKeyRecord | undefined;
    try {
      rec = JSON.parse(raw) as AdminKeyRecord;
    } catch {
      // fall through to the error below
    }
    if (
      !rec ||
      rec.algorithm !== 'sha256' ||
      typeof rec.hash !== 'string' ||
      !/^[0-9a-f]{64}$/.test(rec.hash) ||
      typeof rec.key_id !== 'string'
    ) {
      throw new Error(`${file} is not a valid admin key record; restore it from backup or delete it to create a new admin key`);
    }
    return { record: rec };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // THEMIS_ADMIN_KEY given and no stored key: the configured secret is the admin credential.
  if (!opts.generate) return undefined;
  const secret = generateSecret();
  const record: AdminKeyRecord = {
    key_id: generateKeyId(),
    algorithm: 'sha256',
    hash: hashSecret(secret),
    created_at: new Date().toISOString(),
  };
  await fs.mkdir(dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(record, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  await fs.chmod(file, 0o600);
  return { record, generatedSecret: secret };
}
