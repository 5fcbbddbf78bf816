import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parsePiiKey } from '../config.js';

/** The key file written into the data directory when no key is configured. */
export const PII_KEY_FILE = 'pii-master.key';

/** Where the master key came from (logged at start; never the key). */
export type KeySource = 'env' | 'file' | 'data-dir' | 'generated';

/**
 * The keys the vault works with, all derived from the 32-byte master key by
 * HKDF-SHA256 with distinct labels, so no key serves two purposes:
 * `wrap` encrypts each value's data key (AES-256-GCM), `pseudonym` keys the
 * HMAC that turns a value into its uuid, and `check` is a fingerprint
 * stored in the vault to notice a wrong key at start.
 */
export class VaultKeys {
  readonly wrap: Buffer;
  readonly pseudonym: Buffer;
  /** HMAC of a fixed label: identifies the master key without revealing it. */
  readonly fingerprint: string;

  constructor(
    master: Buffer,
    readonly source: KeySource,
    /** The key file, when the key came from one. */
    readonly file?: string,
  ) {
    if (master.length !== 32) throw new TypeError('the PII master key must be 32 bytes');
    this.wrap = derive(master, 'themis-pii wrap v1');
    this.pseudonym = derive(master, 'themis-pii pseudonym v1');
    this.fingerprint = createHmac('sha256', derive(master, 'themis-pii check v1')).update('fingerprint').digest('hex').slice(0, 32);
  }

  /** Whether a stored fingerprint is this key's. */
  matches(fingerprint: string): boolean {
    const a = Buffer.from(fingerprint, 'utf8');
    const b = Buffer.from(this.fingerprint, 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

function derive(master: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), label, 32));
}

/**
 * The master key: `THEMIS_PII_KEY`, else `THEMIS_PII_KEY_FILE`, else
 * `<data>/pii-master.key`, created (mode 0600, via a temp file and rename)
 * when `mayGenerate` — only for a vault that holds nothing yet, since a new
 * key cannot read values encrypted under a lost one.
 */
export function loadMasterKey(opts: {
  dataDir: string;
  piiKey?: string | undefined;
  piiKeyFile?: string | undefined;
  mayGenerate: boolean;
}): VaultKeys {
  if (opts.piiKey !== undefined) return new VaultKeys(parsePiiKey(opts.piiKey), 'env');
  if (opts.piiKeyFile !== undefined) return new VaultKeys(readKeyFile(opts.piiKeyFile), 'file', opts.piiKeyFile);
  const file = path.join(opts.dataDir, PII_KEY_FILE);
  if (fs.existsSync(file)) return new VaultKeys(readKeyFile(file), 'data-dir', file);
  if (!opts.mayGenerate)
    throw new Error(
      `the PII vault holds values but its master key is missing (${file} absent, THEMIS_PII_KEY and THEMIS_PII_KEY_FILE unset); restore the key`,
    );
  const key = randomBytes(32);
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, `${key.toString('base64')}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fs.chmodSync(file, 0o600);
  return new VaultKeys(key, 'generated', file);
}

function readKeyFile(file: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the PII key file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return parsePiiKey(text);
  } catch {
    throw new Error(`the PII key file ${file} does not hold a 32-byte key (64 hex digits or base64)`);
  }
}
