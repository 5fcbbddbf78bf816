import os from 'node:os';
import { parseArgs } from 'node:util';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_CEILING } from './json-limits.js';
import { JWT_ALGORITHMS, JwtVerifier, MIN_JWT_SECRET_BYTES, type JwtOptions } from './security/jwt.js';
import { parseRateLimit, type RateLimit } from './security/rate-limit.js';

export type Durability = 'sync' | 'relaxed';

/** Everything the server can be told at start. One place, documented defaults. */
export interface Config {
  /** TCP port to listen on. 0 picks a free port (tests). */
  port: number;
  host: string;
  /** Data directory; LevelDB lives in `<dataDir>/db`, the admin key hash in `<dataDir>/admin.key`. */
  dataDir: string;
  /** When set, this secret is a valid admin bearer token (never stored, only its hash is kept in memory). */
  adminKey: string | undefined;
  /** `sync`: every acknowledged write is fsynced (group commit). `relaxed`: OS-buffered writes. */
  durability: Durability;
  logLevel: LogLevel;
  /** Request bodies larger than this are refused with 413. */
  maxBodyBytes: number;
  /** Largest blob PUT /content/{id}/blob takes (streamed to storage; 413 beyond). */
  maxBlobBytes: number;
  /** How long graceful shutdown waits for in-flight requests before closing anyway. */
  shutdownTimeoutMs: number;
  /** Explicit transactions idle longer than this are rolled back. */
  txnIdleTimeoutMs: number;
  /** Most buffered operations one transaction may hold. */
  txnMaxOps: number;
  /** Most bytes (keys + values) one transaction may buffer. */
  txnMaxBytes: number;
  /** Change-log retention: keep the newest N entries, or entries younger than an age. */
  cdcRetention: Retention;
  /** A change-feed stream (SSE/WebSocket) whose client stays backpressured this long is closed with a slow_consumer error. */
  cdcStreamMaxBlockedMs: number;
  /** Longest an AQL query may run (a request may ask for less with timeout_ms). */
  queryTimeoutMs: number;
  /** Most result rows one AQL response may carry without a cursor. */
  queryMaxResults: number;
  /** Most rows an AQL SORT, COLLECT, DISTINCT, subquery or hash join may hold in memory. */
  queryMaxIntermediate: number;
  /** An AQL cursor not read for this long is closed (its snapshot released). */
  cursorTtlMs: number;
  /** Fulltext and vector indexes and the semantic cache's HNSW graphs that changed are checkpointed this often. */
  checkpointIntervalMs: number;
  /** ... and whenever the change log has grown this many entries past an index's checkpoint (bounds the replay after a crash). */
  checkpointEveryChanges: number;
  /** Most nesting levels of objects/arrays in a JSON request body or in a document sent as a JSON string (400 JSON_TOO_DEEP beyond). */
  maxJsonDepth: number;
  /** Most bytes of request line plus header fields (431 beyond; uWS's own native limits apply first, see docs/api.md). */
  maxHeaderBytes: number;
  /** Most estimated bytes one AQL query may hold at once (values it builds, rows it buffers, its results); more is 400 RESOURCE_LIMIT_EXCEEDED. */
  queryMaxMemory: number;
  /** AQL queries fail on their first warning unless a request says `fail_on_warning: false` (ArangoDB's `--query.fail-on-warning`). */
  queryFailOnWarning: boolean;
  /**
   * Browser origins allowed to call the API cross-origin (CORS): exact origins (`https://app.example.com`),
   * or `['*']` for any origin (then never with credentials). Empty: no CORS headers at all.
   */
  corsOrigins: readonly string[];
  /** PEM certificate (chain) file: with `tlsKeyFile`, the server speaks HTTPS (and WSS) only. */
  tlsCertFile: string | undefined;
  /** PEM private key file of `tlsCertFile` (unencrypted). */
  tlsKeyFile: string | undefined;
  /** JWT bearer tokens (docs/configuration.md, "JWT"): at most one key source; none disables JWTs. HMAC secret (HS256), >= 32 bytes. */
  jwtSecret: string | undefined;
  /** PEM file with the identity provider's public key (SPKI); the algorithm follows from the key type. */
  jwtPublicKeyFile: string | undefined;
  /** Local JWKS file with the identity provider's public keys (read at start; never fetched over the network). */
  jwtJwksFile: string | undefined;
  /** Accepted `alg` values (pinned); undefined: inferred from the key. */
  jwtAlgorithms: string[] | undefined;
  /** Required `iss` when set. */
  jwtIssuer: string | undefined;
  /** Accepted `aud` values (one must be in the token) when set. */
  jwtAudience: string[] | undefined;
  /** Clock tolerance for `exp` and `nbf`, seconds. */
  jwtClockSkewS: number;
  /** Default request rate per authenticated principal (a key's own limit wins); undefined: off. */
  rateLimit: RateLimit | undefined;
  /** Request rate per client IP, every request; undefined: off. */
  rateLimitIp: RateLimit | undefined;
  /** Request rate per principal on the audit and report endpoints (on top of rateLimit); undefined: off. */
  rateLimitAudit: RateLimit | undefined;
  /** Failed authentications per client IP before further requests needing a key get 429; undefined: off. */
  authFailLimit: RateLimit | undefined;
  /** Take the client IP from the last X-Forwarded-For entry (behind one trusted reverse proxy). */
  trustProxy: boolean;
  /** Audit log level: `all` requests, `writes` (committed writes and requests to state-changing routes, refused logins), or `off`. */
  audit: AuditLevel;
  /** Longest an audit entry of a read waits in memory before its batch is written (ms). */
  auditFlushMs: number;
  /** How often the retention job deletes expired records of policies with auto-deletion; undefined: off. */
  retentionIntervalMs: number | undefined;
  /** Most deletes per commit of a retention cleanup (between commits it yields to other requests). */
  retentionBatchSize: number;
  /** The PII vault's master key (32 bytes, base64 or hex); wins over `piiKeyFile`. Undefined with no file: a key file in the data directory. */
  piiKey: string | undefined;
  /** A file holding the PII master key (base64 or hex), kept outside the data directory in production. */
  piiKeyFile: string | undefined;
  /** Longest text POST /api/classify and /pii/pseudonymize accept (UTF-8 bytes); longer: 413. */
  classifyMaxBytes: number;
  /** Longest one text extraction of a content import (in a worker thread) may run; longer: 400 VALIDATION_FAILED on the blob. */
  contentExtractTimeoutMs: number;
  /** Memory limit of a text extraction worker (MiB: its heap; twice that of other memory); more: 413 PAYLOAD_TOO_LARGE. */
  contentExtractMaxMemoryMb: number;
  /** Memory for recently read documents' stored texts (MiB; 0: no document cache). */
  documentCacheMb: number;
  /** Entries the in-memory copies of non-unique indexes may hold in all (0: none are made). */
  residentIndexEntries: number;
  /** Worker threads that analyse the fulltext fields of large write batches before their commit (0: the commit analyses them). */
  fulltextWorkers: number;
  /** Documents (per fulltext index) a commit must write before their analysis goes to the workers. */
  fulltextWorkerMinDocs: number;
  /** Attribute values the in-memory columns of tables may hold in all (full-scan COLLECT; 0: none are made). */
  residentColumnValues: number;
  /** Default cosine-similarity threshold of a semantic cache query (a query may pass its own `threshold`). */
  cacheThreshold: number;
  /** TTL of a cache entry put without `ttl_sec` (seconds; 0: entries do not expire). */
  cacheDefaultTtlSec: number;
  /** Most entries the semantic cache holds; beyond, the least recently used are evicted. */
  cacheMaxEntries: number;
  /** Most bytes (keys, values, prompts, metadata, embeddings) the semantic cache holds; beyond, LRU eviction. */
  cacheMaxBytes: number;
  /** Where POST /admin/backup writes backups without a `path` (`<backup dir>/<id>`); undefined: `<dataDir>/backups`. */
  backupDir: string | undefined;
  /** Key (32 bytes, base64 or hex) that seals secrets (the PII master key) in backups; without one they are left out. Wins over `backupKeyFile`. */
  backupKey: string | undefined;
  /** A file holding the backup key. */
  backupKeyFile: string | undefined;
  /** A backup directory to restore into an empty data directory before starting (see docs/operations.md). */
  restoreFrom: string | undefined;
}

export type AuditLevel = 'all' | 'writes' | 'off';

export type Retention = { kind: 'entries'; entries: number } | { kind: 'age'; ms: number } | { kind: 'forever' };

export const DEFAULTS: Config = {
  port: 8765,
  host: '127.0.0.1',
  dataDir: './data',
  adminKey: undefined,
  durability: 'sync',
  logLevel: 'info',
  maxBodyBytes: 10 * 1024 * 1024,
  maxBlobBytes: 1024 ** 3,
  shutdownTimeoutMs: 10_000,
  txnIdleTimeoutMs: 60_000,
  txnMaxOps: 100_000,
  txnMaxBytes: 64 * 1024 * 1024,
  cdcRetention: { kind: 'age', ms: 7 * 24 * 3600 * 1000 },
  cdcStreamMaxBlockedMs: 10_000,
  queryTimeoutMs: 30_000,
  queryMaxResults: 100_000,
  queryMaxIntermediate: 1_000_000,
  cursorTtlMs: 60_000,
  checkpointIntervalMs: 300_000,
  checkpointEveryChanges: 50_000,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
  maxHeaderBytes: 16 * 1024,
  queryMaxMemory: 256 * 1024 * 1024,
  queryFailOnWarning: false,
  corsOrigins: [],
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  jwtSecret: undefined,
  jwtPublicKeyFile: undefined,
  jwtJwksFile: undefined,
  jwtAlgorithms: undefined,
  jwtIssuer: undefined,
  jwtAudience: undefined,
  jwtClockSkewS: 30,
  rateLimit: undefined,
  rateLimitIp: undefined,
  rateLimitAudit: { limit: 100, windowMs: 60_000 },
  authFailLimit: { limit: 20, windowMs: 60_000 },
  trustProxy: false,
  audit: 'all',
  auditFlushMs: 20,
  retentionIntervalMs: 3_600_000,
  retentionBatchSize: 500,
  piiKey: undefined,
  piiKeyFile: undefined,
  classifyMaxBytes: 1024 * 1024,
  contentExtractTimeoutMs: 30_000,
  contentExtractMaxMemoryMb: 512,
  documentCacheMb: 64,
  residentIndexEntries: 1_000_000,
  fulltextWorkers: os.availableParallelism() > 1 ? 1 : 0,
  fulltextWorkerMinDocs: 64,
  residentColumnValues: 2_000_000,
  cacheThreshold: 0.95,
  cacheDefaultTtlSec: 0,
  cacheMaxEntries: 1_000_000,
  cacheMaxBytes: 1024 ** 3,
  backupDir: undefined,
  backupKey: undefined,
  backupKeyFile: undefined,
  restoreFrom: undefined,
};

/** One row per setting: environment variable, flag, and how to parse it. */
const SETTINGS = [
  { key: 'port', env: 'THEMIS_PORT', flag: 'port', parse: (v: string) => intIn(v, 'port', 0, 65535) },
  { key: 'host', env: 'THEMIS_HOST', flag: 'host', parse: (v: string) => nonEmpty(v, 'host') },
  { key: 'dataDir', env: 'THEMIS_DATA_DIR', flag: 'data-dir', parse: (v: string) => nonEmpty(v, 'data dir') },
  { key: 'adminKey', env: 'THEMIS_ADMIN_KEY', flag: 'admin-key', parse: parseAdminKey },
  {
    key: 'durability',
    env: 'THEMIS_DURABILITY',
    flag: 'durability',
    parse: (v: string) => oneOf(v, 'durability', ['sync', 'relaxed'] as const),
  },
  { key: 'logLevel', env: 'THEMIS_LOG_LEVEL', flag: 'log-level', parse: (v: string) => oneOf(v, 'log level', LOG_LEVELS) },
  {
    key: 'maxBodyBytes',
    env: 'THEMIS_MAX_BODY_BYTES',
    flag: 'max-body-bytes',
    parse: (v: string) => intIn(v, 'max body bytes', 1, 2 ** 31 - 1),
  },
  {
    key: 'maxBlobBytes',
    env: 'THEMIS_MAX_BLOB_BYTES',
    flag: 'max-blob-bytes',
    parse: (v: string) => intIn(v, 'max blob bytes', 0, 2 ** 50),
  },
  {
    key: 'shutdownTimeoutMs',
    env: 'THEMIS_SHUTDOWN_TIMEOUT_MS',
    flag: 'shutdown-timeout-ms',
    parse: (v: string) => intIn(v, 'shutdown timeout', 0, 600_000),
  },
  {
    key: 'txnIdleTimeoutMs',
    env: 'THEMIS_TXN_IDLE_TIMEOUT_MS',
    flag: 'txn-idle-timeout-ms',
    parse: (v: string) => intIn(v, 'transaction idle timeout', 100, 86_400_000),
  },
  {
    key: 'txnMaxOps',
    env: 'THEMIS_TXN_MAX_OPS',
    flag: 'txn-max-ops',
    parse: (v: string) => intIn(v, 'transaction max ops', 1, 10_000_000),
  },
  {
    key: 'txnMaxBytes',
    env: 'THEMIS_TXN_MAX_BYTES',
    flag: 'txn-max-bytes',
    parse: (v: string) => intIn(v, 'transaction max bytes', 1024, 2 ** 31 - 1),
  },
  { key: 'cdcRetention', env: 'THEMIS_CDC_RETENTION', flag: 'cdc-retention', parse: parseRetention },
  {
    key: 'cdcStreamMaxBlockedMs',
    env: 'THEMIS_CDC_STREAM_MAX_BLOCKED_MS',
    flag: 'cdc-stream-max-blocked-ms',
    parse: (v: string) => intIn(v, 'cdc stream max blocked ms', 100, 600_000),
  },
  {
    key: 'queryTimeoutMs',
    env: 'THEMIS_QUERY_TIMEOUT_MS',
    flag: 'query-timeout-ms',
    parse: (v: string) => intIn(v, 'query timeout', 10, 3_600_000),
  },
  {
    key: 'queryMaxResults',
    env: 'THEMIS_QUERY_MAX_RESULTS',
    flag: 'query-max-results',
    parse: (v: string) => intIn(v, 'query max results', 1, 100_000_000),
  },
  {
    key: 'queryMaxIntermediate',
    env: 'THEMIS_QUERY_MAX_INTERMEDIATE',
    flag: 'query-max-intermediate',
    parse: (v: string) => intIn(v, 'query max intermediate rows', 100, 100_000_000),
  },
  {
    key: 'queryMaxMemory',
    env: 'THEMIS_QUERY_MAX_MEMORY',
    flag: 'query-max-memory',
    parse: (v: string) => intIn(v, 'query max memory', 1024 * 1024, 2 ** 40),
  },
  {
    key: 'queryFailOnWarning',
    env: 'THEMIS_QUERY_FAIL_ON_WARNING',
    flag: 'query-fail-on-warning',
    parse: (v: string) => bool(v, 'query fail on warning'),
  },
  { key: 'cursorTtlMs', env: 'THEMIS_CURSOR_TTL_MS', flag: 'cursor-ttl-ms', parse: (v: string) => intIn(v, 'cursor ttl', 100, 86_400_000) },
  {
    key: 'checkpointIntervalMs',
    env: 'THEMIS_CHECKPOINT_INTERVAL_MS',
    flag: 'checkpoint-interval-ms',
    parse: (v: string) => intIn(v, 'checkpoint interval', 1000, 86_400_000),
  },
  {
    key: 'checkpointEveryChanges',
    env: 'THEMIS_CHECKPOINT_EVERY_CHANGES',
    flag: 'checkpoint-every-changes',
    parse: (v: string) => intIn(v, 'checkpoint every changes', 100, 100_000_000),
  },
  {
    key: 'maxJsonDepth',
    env: 'THEMIS_MAX_JSON_DEPTH',
    flag: 'max-json-depth',
    parse: (v: string) => intIn(v, 'max json depth', 2, MAX_JSON_DEPTH_CEILING),
  },
  {
    key: 'maxHeaderBytes',
    env: 'THEMIS_MAX_HEADER_BYTES',
    flag: 'max-header-bytes',
    parse: (v: string) => intIn(v, 'max header bytes', 1024, 256 * 1024),
  },
  { key: 'corsOrigins', env: 'THEMIS_CORS_ORIGINS', flag: 'cors-origins', parse: parseCorsOrigins },
  { key: 'tlsCertFile', env: 'THEMIS_TLS_CERT_FILE', flag: 'tls-cert-file', parse: (v: string) => nonEmpty(v, 'tls cert file') },
  { key: 'tlsKeyFile', env: 'THEMIS_TLS_KEY_FILE', flag: 'tls-key-file', parse: (v: string) => nonEmpty(v, 'tls key file') },
  { key: 'jwtSecret', env: 'THEMIS_JWT_SECRET', flag: 'jwt-secret', parse: parseJwtSecret },
  {
    key: 'jwtPublicKeyFile',
    env: 'THEMIS_JWT_PUBLIC_KEY',
    flag: 'jwt-public-key',
    parse: (v: string) => nonEmpty(v, 'jwt public key file'),
  },
  { key: 'jwtJwksFile', env: 'THEMIS_JWT_JWKS_FILE', flag: 'jwt-jwks-file', parse: (v: string) => nonEmpty(v, 'jwt jwks file') },
  { key: 'jwtAlgorithms', env: 'THEMIS_JWT_ALGORITHMS', flag: 'jwt-algorithms', parse: parseJwtAlgorithms },
  { key: 'jwtIssuer', env: 'THEMIS_JWT_ISSUER', flag: 'jwt-issuer', parse: (v: string) => nonEmpty(v, 'jwt issuer') },
  { key: 'jwtAudience', env: 'THEMIS_JWT_AUDIENCE', flag: 'jwt-audience', parse: (v: string) => commaList(v, 'jwt audience') },
  {
    key: 'jwtClockSkewS',
    env: 'THEMIS_JWT_CLOCK_SKEW_S',
    flag: 'jwt-clock-skew-s',
    parse: (v: string) => intIn(v, 'jwt clock skew seconds', 0, 300),
  },
  { key: 'audit', env: 'THEMIS_AUDIT', flag: 'audit', parse: (v: string) => oneOf(v, 'audit', ['all', 'writes', 'off'] as const) },
  {
    key: 'auditFlushMs',
    env: 'THEMIS_AUDIT_FLUSH_MS',
    flag: 'audit-flush-ms',
    parse: (v: string) => intIn(v, 'audit flush ms', 1, 50),
  },
  { key: 'rateLimit', env: 'THEMIS_RATE_LIMIT', flag: 'rate-limit', parse: (v: string) => rateLimit(v, 'rate limit') },
  { key: 'rateLimitIp', env: 'THEMIS_RATE_LIMIT_IP', flag: 'rate-limit-ip', parse: (v: string) => rateLimit(v, 'rate limit ip') },
  {
    key: 'rateLimitAudit',
    env: 'THEMIS_RATE_LIMIT_AUDIT',
    flag: 'rate-limit-audit',
    parse: (v: string) => rateLimit(v, 'rate limit audit'),
  },
  {
    key: 'authFailLimit',
    env: 'THEMIS_AUTH_FAIL_LIMIT',
    flag: 'auth-fail-limit',
    parse: (v: string) => rateLimit(v, 'auth fail limit'),
  },
  { key: 'trustProxy', env: 'THEMIS_TRUST_PROXY', flag: 'trust-proxy', parse: (v: string) => bool(v, 'trust proxy') },
  {
    key: 'retentionIntervalMs',
    env: 'THEMIS_RETENTION_INTERVAL_MS',
    flag: 'retention-interval-ms',
    parse: (v: string) => (v.trim().toLowerCase() === 'off' ? undefined : intIn(v, 'retention interval', 100, 7 * 86_400_000)),
  },
  {
    key: 'retentionBatchSize',
    env: 'THEMIS_RETENTION_BATCH',
    flag: 'retention-batch',
    parse: (v: string) => intIn(v, 'retention batch', 1, 10_000),
  },
  { key: 'piiKey', env: 'THEMIS_PII_KEY', flag: 'pii-key', parse: checkedPiiKey },
  { key: 'piiKeyFile', env: 'THEMIS_PII_KEY_FILE', flag: 'pii-key-file', parse: (v: string) => nonEmpty(v, 'pii key file') },
  {
    key: 'classifyMaxBytes',
    env: 'THEMIS_CLASSIFY_MAX_BYTES',
    flag: 'classify-max-bytes',
    parse: (v: string) => intIn(v, 'classify max bytes', 1, 64 * 1024 * 1024),
  },
  {
    key: 'contentExtractTimeoutMs',
    env: 'THEMIS_CONTENT_EXTRACT_TIMEOUT_MS',
    flag: 'content-extract-timeout-ms',
    parse: (v: string) => intIn(v, 'content extract timeout', 100, 3_600_000),
  },
  {
    key: 'contentExtractMaxMemoryMb',
    env: 'THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB',
    flag: 'content-extract-max-memory-mb',
    parse: (v: string) => intIn(v, 'content extract max memory mb', 32, 65_536),
  },
  {
    key: 'documentCacheMb',
    env: 'THEMIS_DOCUMENT_CACHE_MB',
    flag: 'document-cache-mb',
    parse: (v: string) => intIn(v, 'document cache mb', 0, 65_536),
  },
  {
    key: 'residentIndexEntries',
    env: 'THEMIS_RESIDENT_INDEX_ENTRIES',
    flag: 'resident-index-entries',
    parse: (v: string) => intIn(v, 'resident index entries', 0, 100_000_000),
  },
  {
    key: 'fulltextWorkers',
    env: 'THEMIS_FULLTEXT_WORKERS',
    flag: 'fulltext-workers',
    parse: (v: string) => intIn(v, 'fulltext workers', 0, 16),
  },
  {
    key: 'fulltextWorkerMinDocs',
    env: 'THEMIS_FULLTEXT_WORKER_MIN_DOCS',
    flag: 'fulltext-worker-min-docs',
    parse: (v: string) => intIn(v, 'fulltext worker min docs', 1, 1_000_000),
  },
  {
    key: 'residentColumnValues',
    env: 'THEMIS_RESIDENT_COLUMN_VALUES',
    flag: 'resident-column-values',
    parse: (v: string) => intIn(v, 'resident column values', 0, 100_000_000),
  },
  {
    key: 'cacheThreshold',
    env: 'THEMIS_CACHE_THRESHOLD',
    flag: 'cache-threshold',
    parse: (v: string) => numberIn(v, 'cache threshold', -1, 1),
  },
  {
    key: 'cacheDefaultTtlSec',
    env: 'THEMIS_CACHE_DEFAULT_TTL_SEC',
    flag: 'cache-default-ttl-sec',
    parse: (v: string) => intIn(v, 'cache default ttl', 0, 3_153_600_000),
  },
  {
    key: 'cacheMaxEntries',
    env: 'THEMIS_CACHE_MAX_ENTRIES',
    flag: 'cache-max-entries',
    parse: (v: string) => intIn(v, 'cache max entries', 1, 1_000_000_000),
  },
  {
    key: 'cacheMaxBytes',
    env: 'THEMIS_CACHE_MAX_BYTES',
    flag: 'cache-max-bytes',
    parse: (v: string) => intIn(v, 'cache max bytes', 1024, 2 ** 50),
  },
  { key: 'backupDir', env: 'THEMIS_BACKUP_DIR', flag: 'backup-dir', parse: (v: string) => path.resolve(nonEmpty(v, 'backup dir')) },
  { key: 'backupKey', env: 'THEMIS_BACKUP_KEY', flag: 'backup-key', parse: checkedBackupKey },
  {
    key: 'backupKeyFile',
    env: 'THEMIS_BACKUP_KEY_FILE',
    flag: 'backup-key-file',
    parse: (v: string) => path.resolve(nonEmpty(v, 'backup key file')),
  },
  { key: 'restoreFrom', env: 'THEMIS_RESTORE_FROM', flag: 'restore-from', parse: (v: string) => path.resolve(nonEmpty(v, 'restore from')) },
] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const HELP = `Usage: themists [options]
       themists restore <backup-dir> --data-dir <dir> [--force]   (restore --help: all options)
       themists aql|import|export|backup ...   (client commands against a running server; <command> --help)

Every option also reads an environment variable; a flag wins over the variable.

${SETTINGS.map((s) => `  --${s.flag.padEnd(22)} ${s.env}`).join('\n')}
  --help                   show this text
`;

/** Resolve configuration: defaults < environment < command-line flags. */
export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Config & { help: boolean } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
        help: { type: 'boolean' as const },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const cfg: Record<string, unknown> = { ...DEFAULTS };
  for (const s of SETTINGS) {
    const fromFlag = values[s.flag];
    const raw = typeof fromFlag === 'string' ? fromFlag : env[s.env];
    if (raw === undefined || raw === '') continue;
    cfg[s.key] = s.parse(raw);
  }
  cfg.dataDir = path.resolve(cfg.dataDir as string);
  checkTls(cfg as unknown as Config);
  checkJwt(cfg as unknown as Config);
  return { ...(cfg as unknown as Config), help: values.help === true };
}

function intIn(v: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${what} must be an integer, got "${v}"`);
  const n = Number(v.trim());
  if (n < min || n > max) throw new ConfigError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function numberIn(v: string, what: string, min: number, max: number): number {
  const t = v.trim();
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(t)) throw new ConfigError(`${what} must be a number, got "${v}"`);
  const n = Number(t);
  if (n < min || n > max) throw new ConfigError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function rateLimit(v: string, what: string): RateLimit | undefined {
  try {
    return parseRateLimit(v);
  } catch (e) {
    throw new ConfigError(`${what} ${(e as Error).message}`);
  }
}

function bool(v: string, what: string): boolean {
  const t = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(`${what} must be true or false, got "${v}"`);
}

function nonEmpty(v: string, what: string): string {
  if (v.trim() === '') throw new ConfigError(`${what} must not be empty`);
  return v;
}

function oneOf<T extends string>(v: string, what: string, allowed: readonly T[]): T {
  const lower = v.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(lower)) {
    throw new ConfigError(`${what} must be one of ${allowed.join(', ')}, got "${v}"`);
  }
  return lower as T;
}

/** `forever`, an entry count (`100000`), or an age (`30s`, `15m`, `24h`, `7d`). */
export function parseRetention(v: string): Retention {
  const t = v.trim().toLowerCase();
  if (t === 'forever' || t === 'unlimited') return { kind: 'forever' };
  if (/^\d+$/.test(t)) return { kind: 'entries', entries: intIn(t, 'cdc retention entries', 1, Number.MAX_SAFE_INTEGER) };
  const m = /^(\d+)(s|m|h|d)$/.exec(t);
  if (!m) throw new ConfigError(`cdc retention must be "forever", an entry count like 100000, or an age like 24h or 7d; got "${v}"`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new ConfigError('cdc retention age must be positive');
  return { kind: 'age', ms };
}

/**
 * A PII master key as configured: 32 bytes written as 64 hex digits or as
 * base64 (43/44 characters). Anything else is refused: a short or mistyped
 * key would silently weaken the vault.
 */
export function parsePiiKey(v: string): Buffer {
  const t = v.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t)
    ? Buffer.from(t, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(t)
      ? Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : undefined;
  if (key?.length !== 32)
    throw new ConfigError('pii key must be 32 bytes written as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
  return key;
}

/** A backup key as configured: 32 bytes written as 64 hex digits or as base64, like the PII key. */
export function parseBackupKey(v: string): Buffer {
  try {
    return parsePiiKey(v);
  } catch {
    throw new ConfigError('backup key must be 32 bytes written as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
  }
}

function checkedBackupKey(v: string): string {
  parseBackupKey(v);
  return v.trim();
}

/** The configured key text, once it is known to be a valid key (parsed again where it is used). */
function checkedPiiKey(v: string): string {
  parsePiiKey(v);
  return v.trim();
}

function parseAdminKey(v: string): string {
  // Short admin secrets are guessable; refuse them rather than run insecurely.
  if (v.length < 16) throw new ConfigError('admin key must be at least 16 characters');
  return v;
}

/**
 * `*`, or a comma list of exact origins `scheme://host[:port]` (http or https; no path, query or
 * credentials). Entries are normalised as browsers send them in `Origin` (lower-case host, default
 * port dropped), so the comparison per request is exact.
 */
export function parseCorsOrigins(v: string): string[] {
  const entries = entriesOf(v);
  if (entries.length === 0) return [];
  if (entries.includes('*')) {
    if (entries.length > 1) throw new ConfigError('cors origins: "*" cannot be combined with explicit origins');
    return ['*'];
  }
  const out: string[] = [];
  for (const e of entries) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new ConfigError(`cors origins: "${e}" is not an origin (scheme://host[:port])`);
    }
    const bare = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]+\/?$/i.test(e);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !bare || u.username !== '' || u.password !== '')
      throw new ConfigError(
        `cors origins: "${e}" is not an http(s) origin of the form scheme://host[:port] (no path, query or credentials)`,
      );
    if (!out.includes(u.origin)) out.push(u.origin);
  }
  return out;
}

/** Both TLS files or neither; each readable and what it claims to be (a PEM certificate, its unencrypted private key). */
function checkTls(c: Config): void {
  if (c.tlsCertFile === undefined && c.tlsKeyFile === undefined) return;
  if (c.tlsCertFile === undefined || c.tlsKeyFile === undefined)
    throw new ConfigError('tls: THEMIS_TLS_CERT_FILE and THEMIS_TLS_KEY_FILE must be set together');
  c.tlsCertFile = path.resolve(c.tlsCertFile);
  c.tlsKeyFile = path.resolve(c.tlsKeyFile);
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new ConfigError(`tls: cannot read the ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const certPem = read(c.tlsCertFile, 'certificate');
  const keyPem = read(c.tlsKeyFile, 'key');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new ConfigError(`tls: ${c.tlsCertFile} does not hold a PEM certificate`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    // The message is not quoted: it must not carry key material into a log.
    throw new ConfigError(`tls: ${c.tlsKeyFile} does not hold an unencrypted PEM private key`);
  }
  if (!cert.checkPrivateKey(key))
    throw new ConfigError(`tls: the key in ${c.tlsKeyFile} does not belong to the certificate in ${c.tlsCertFile}`);
}

function parseJwtSecret(v: string): string {
  // An HMAC key shorter than the hash output (256 bits for HS256) can be brute-forced offline from any token.
  if (Buffer.byteLength(v, 'utf8') < MIN_JWT_SECRET_BYTES)
    throw new ConfigError(`jwt secret must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
  return v;
}

/** The non-empty, trimmed entries of a comma list. */
function entriesOf(v: string): string[] {
  return v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function commaList(v: string, what: string): string[] {
  const items = entriesOf(v);
  if (items.length === 0) throw new ConfigError(`${what} must name at least one value`);
  return items;
}

function parseJwtAlgorithms(v: string): string[] {
  const algs = commaList(v, 'jwt algorithms');
  for (const a of algs) {
    if (!JWT_ALGORITHMS.includes(a)) throw new ConfigError(`jwt algorithms: "${a}" is not one of ${JWT_ALGORITHMS.join(', ')}`);
  }
  return algs;
}

/** The JWT settings of a configuration, or undefined when JWTs are off (no key source set). */
export function jwtOptions(c: Config): JwtOptions | undefined {
  if (c.jwtSecret === undefined && c.jwtPublicKeyFile === undefined && c.jwtJwksFile === undefined) return undefined;
  return {
    secret: c.jwtSecret,
    publicKeyFile: c.jwtPublicKeyFile,
    jwksFile: c.jwtJwksFile,
    algorithms: c.jwtAlgorithms,
    issuer: c.jwtIssuer,
    audience: c.jwtAudience,
    clockSkewS: c.jwtClockSkewS,
  };
}

/** Cross-setting checks, and the key files read and checked at start, so a bad JWT setup is a configuration error (exit 2). */
function checkJwt(c: Config): void {
  const o = jwtOptions(c);
  if (o === undefined) {
    const stray = c.jwtAlgorithms !== undefined || c.jwtIssuer !== undefined || c.jwtAudience !== undefined;
    if (stray)
      throw new ConfigError(
        'THEMIS_JWT_ALGORITHMS/ISSUER/AUDIENCE need a key: THEMIS_JWT_SECRET, THEMIS_JWT_PUBLIC_KEY or THEMIS_JWT_JWKS_FILE',
      );
    return;
  }
  try {
    new JwtVerifier(o);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}
