import { backupDataFile, type Module } from '../kernel/index.js';
import { ADMIN_KEY_FILE } from './admin-key.js';
import { ApiKeyStore } from './api-keys.js';

/**
 * The API keys (POST /api/keys and friends): loaded from the `apiKeys`
 * keyspace at open, `last_used_at` written at close. The Authenticator
 * reaches the current store through a resolver registered in app.ts
 * (`db.get(ApiKeys)` per lookup), so a reopened storage serves the reopened
 * store and principals of the closed one stop being live.
 */
export const ApiKeys: Module<ApiKeyStore> = {
  name: 'api-keys',
  open: (ctx) => ApiKeyStore.open(ctx.engine, ctx.log),
  checkpoint: (s) => s.flushUsage(),
  // The API keys are in LevelDB (hashes only); beside it, the admin key record (a hash, never the secret).
  backup: async (_s, b) => {
    await backupDataFile(b, ADMIN_KEY_FILE);
  },
  close: (s) => s.close(),
  gauges: [{ name: 'themis_api_keys', help: 'API keys stored (including revoked ones)', read: (s) => s.size }],
};
