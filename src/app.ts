import { jwtOptions, type Config } from './config.js';
import { Database } from './db.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { ThemisError } from './errors.js';
import { API_KEY_PREFIX, ApiKeys, Authenticator, bootstrapAdminKey, JwtVerifier } from './security/index.js';
import { createHttpServer, uwsNative, type HttpServer } from './server/index.js';

export interface RunningServer {
  readonly port: number;
  readonly db: Database;
  readonly http: HttpServer;
  readonly metrics: Metrics;
  /** Graceful stop: drain HTTP, close storage. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Where the one-time admin-key banner goes (stdout in the CLI). */
  announce?: (text: string) => void;
}

/**
 * Start a server: authentication, HTTP listener, then storage and recovery.
 * The listener comes up first so /health and /health/ready answer while
 * recovery runs; data endpoints answer 503 until the database is ready.
 */
export async function startServer(
  config: Config,
  { log, announce = (t) => process.stdout.write(t) }: StartOptions,
): Promise<RunningServer> {
  const startedAt = Date.now();
  if (!uwsNative) {
    log.warn(
      'uWebSockets.js native binary did not load; running on its slow pure-JS fallback. Check the platform (linux x64, Node 20 ABI 115, glibc) and reinstall.',
    );
  }
  const metrics = createMetrics(startedAt);
  const auth = new Authenticator();
  if (config.adminKey !== undefined) auth.addAdminSecret(config.adminKey);
  const jwt = jwtOptions(config);
  if (jwt !== undefined) {
    const verifier = new JwtVerifier(jwt);
    auth.setJwtVerifier(verifier);
    log.info('JWT bearer tokens accepted', { algorithms: verifier.algorithms, issuer: jwt.issuer, audience: jwt.audience });
    if (jwt.audience === undefined)
      log.warn('THEMIS_JWT_AUDIENCE is not set: any token the key signs is accepted, also one issued for another service');
  }
  const boot = await bootstrapAdminKey(config.dataDir, { generate: config.adminKey === undefined });
  if (boot) {
    auth.addAdminHash(boot.record.key_id, boot.record.hash);
    if (boot.generatedSecret !== undefined) {
      announce(
        `ThemisTS created an admin API key. It is shown only this once; only its hash is stored in ${config.dataDir}/admin.key.\n` +
          `  Authorization: Bearer ${boot.generatedSecret}\n`,
      );
      log.info('admin key created', { key_id: boot.record.key_id });
    }
  }

  const db = new Database(config, log, {
    onGroupCommit: (commits, _ops, seconds) => {
      metrics.groupCommitSize.observe(commits);
      metrics.groupCommitSeconds.observe(seconds);
    },
  });
  // Every module's figures, read at scrape time from its current service (undefined until storage is open).
  for (const m of db.modules) {
    for (const g of m.gauges ?? []) {
      if ('buckets' in g) metrics.addHistogram(g.name, g.help, g.buckets, () => (db.ready ? g.read(db.get(m)) : undefined));
      else if ('label' in g) metrics.addLabeledGauge(g.name, g.help, g.label, () => (db.ready ? g.read(db.get(m)) : undefined), g.type);
      else metrics.addGauge(g.name, g.help, () => (db.ready ? g.read(db.get(m)) : undefined), g.type);
    }
  }
  // The document cache of the document store (kernel, not a module): its figures at scrape time.
  const docCache = () => (db.ready ? db.documents.cacheStats : undefined);
  metrics.addGauge('themis_document_cache_entries', 'Documents whose stored text the document cache holds', () => docCache()?.entries);
  metrics.addGauge(
    'themis_document_cache_bytes',
    'Estimated memory of the document cache (THEMIS_DOCUMENT_CACHE_MB)',
    () => docCache()?.bytes,
  );
  metrics.addGauge(
    'themis_document_cache_hits_total',
    'Point reads of a document answered by the document cache',
    () => docCache()?.hits,
    'counter',
  );
  metrics.addGauge(
    'themis_document_cache_misses_total',
    'Point reads of a document that read LevelDB',
    () => docCache()?.misses,
    'counter',
  );
  metrics.addGauge(
    'themis_storage_writes_enabled',
    'Whether writes are accepted (0 after a storage failure: a full disk until space is freed, an I/O error until a restart)',
    () => (db.ready ? (db.health().writes === 'enabled' ? 1 : 0) : undefined),
  );
  // API keys live in storage: look them up in the current store (storage may be reopened after a full disk).
  // A key-shaped token while storage is not open is 503 (retry), not 401: the key may well be valid.
  auth.addResolver((hash, token) => {
    if (db.ready) return db.get(ApiKeys).resolve(hash);
    if (token.startsWith(API_KEY_PREFIX)) throw new ThemisError('UNAVAILABLE', 'database is starting, retry shortly');
    return undefined;
  });
  const http = createHttpServer({
    db,
    auth,
    metrics,
    log,
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    maxJsonDepth: config.maxJsonDepth,
    maxHeaderBytes: config.maxHeaderBytes,
    corsOrigins: config.corsOrigins,
    tls:
      config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
        ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
        : undefined,
    rateLimits: {
      principal: config.rateLimit,
      ip: config.rateLimitIp,
      audit: config.rateLimitAudit,
      authFail: config.authFailLimit,
      trustProxy: config.trustProxy,
    },
    startedAt,
  });
  const port = await http.listen();
  log.info('listening', {
    host: config.host,
    port,
    tls: config.tlsCertFile !== undefined,
    durability: config.durability,
    data_dir: config.dataDir,
    uws_native: uwsNative,
  });
  try {
    await db.open();
  } catch (e) {
    await http.close(0);
    throw e;
  }

  let stopping: Promise<void> | undefined;
  return {
    port,
    db,
    http,
    metrics,
    stop: () =>
      (stopping ??= (async () => {
        db.prepareShutdown();
        await http.close(config.shutdownTimeoutMs);
        await db.close();
      })()),
  };
}
