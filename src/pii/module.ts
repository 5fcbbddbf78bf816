import fs from 'node:fs/promises';
import type { Module } from '../kernel/index.js';
import { PII_KEY_FILE, loadMasterKey } from './master-key.js';
import { PiiService } from './service.js';
import { Vault } from './vault.js';

/** Default longest text POST /api/classify and /pii/pseudonymize take (THEMIS_CLASSIFY_MAX_BYTES). */
export const DEFAULT_CLASSIFY_MAX_BYTES = 1024 * 1024;

/**
 * PII (docs/pii.md): classification, the encrypted pseudonymization vault,
 * and table policies — a write transform that pseudonymizes, refuses or
 * counts PII before a document is buffered, and a commit participant that
 * writes new vault records in the batch of the commit using them.
 */
export const Pii: Module<PiiService> = {
  name: 'pii',
  async open(ctx) {
    const keys = loadMasterKey({
      dataDir: ctx.config.dataDir,
      piiKey: ctx.config.piiKey,
      piiKeyFile: ctx.config.piiKeyFile,
      mayGenerate: !(await Vault.holdsValues(ctx.engine)),
    });
    if (keys.source === 'generated' || keys.source === 'data-dir')
      ctx.log.warn(
        'the PII master key is kept in the data directory; in production set THEMIS_PII_KEY or THEMIS_PII_KEY_FILE so that copies of the data directory do not carry their key',
        { file: keys.file, generated: keys.source === 'generated' },
      );
    return PiiService.open(ctx.engine, keys, ctx.log, { maxTextBytes: ctx.config.classifyMaxBytes ?? DEFAULT_CLASSIFY_MAX_BYTES });
  },
  commit: (s) => s.policies.participant,
  transform: (s) => s.policies.transform,
  // The vault's records are in LevelDB, encrypted; its master key is a secret: sealed in a backup, never copied in clear.
  backup: async (s, b) => {
    const k = s.vault.keys;
    if (k.file !== undefined && (k.source === 'data-dir' || k.source === 'generated'))
      await b.secret(PII_KEY_FILE, await fs.readFile(k.file), k.fingerprint);
    else
      b.omit(
        PII_KEY_FILE,
        `the PII master key comes from ${k.source === 'env' ? 'THEMIS_PII_KEY' : `THEMIS_PII_KEY_FILE (${k.file ?? 'a file'})`}, outside the data directory: give the restored server the same setting`,
        { fingerprint: k.fingerprint },
      );
  },
  close: (s) => s.close(),
  gauges: [
    {
      name: 'themis_pii_vault_values',
      help: 'Values in the PII vault by state (active, soft_deleted, shredded)',
      label: 'state',
      read: (s) => Object.entries(s.vault.size),
    },
    { name: 'themis_pii_policies', help: 'Tables with a PII policy', read: (s) => s.policies.size },
  ],
};
