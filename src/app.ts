import type { Config } from './config.js';
import { Changefeed } from './cdc/index.js';
import { Database } from './db.js';
import { Vectors } from './index/index.js';
import { Transactions, type TransactionStats } from './txn/index.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Authenticator, bootstrapAdminKey } from './security/index.js';
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
export async function startServer(config: Config, { log, announce = (t) => process.stdout.write(t) }: StartOptions): Promise<RunningServer> {
  const startedAt = Date.now();
  if (!uwsNative) {
    log.warn('uWebSockets.js native binary did not load; running on its slow pure-JS fallback. Check the platform (linux x64, Node 20 ABI 115, glibc) and reinstall.');
  }
  const metrics = createMetrics(startedAt);
  const auth = new Authenticator();
  if (config.adminKey !== undefined) auth.addAdminSecret(config.adminKey);
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
  // Transaction and change-feed figures, read at scrape time (undefined until storage is open).
  const txStat = <K extends keyof TransactionStats>(k: K) => () => (db.ready ? (db.get(Transactions).stats()[k] as number) : undefined);
  const cdcStat = <K extends 'first_seq' | 'last_seq' | 'entries' | 'subscribers' | 'waiters'>(k: K) => () => (db.ready ? db.get(Changefeed).stats()[k] : undefined);
  metrics.addGauge('themis_transactions_active', 'Explicit transactions currently open', txStat('active_count'));
  metrics.addGauge('themis_transactions_committed_total', 'Explicit transactions committed', txStat('total_committed'), 'counter');
  metrics.addGauge('themis_transactions_aborted_total', 'Explicit transactions not committed (rolled back, conflicts, timeouts)', txStat('total_aborted'), 'counter');
  metrics.addGauge('themis_transactions_conflicts_total', 'Commits refused by first-committer-wins (409)', txStat('conflicts'), 'counter');
  metrics.addGauge('themis_transactions_implicit_committed_total', 'Single-request (implicit) transactions committed', txStat('implicit_committed'), 'counter');
  metrics.addGauge('themis_txn_conflict_tracking_keys', 'Keys held for write-conflict detection', txStat('conflict_tracking_keys'));
  metrics.addGauge('themis_cdc_last_seq', 'Sequence number of the newest change-log entry', cdcStat('last_seq'));
  metrics.addGauge('themis_cdc_first_seq', 'Sequence number of the oldest retained change-log entry', cdcStat('first_seq'));
  metrics.addGauge('themis_cdc_entries', 'Change-log entries retained', cdcStat('entries'));
  metrics.addGauge('themis_cdc_subscribers', 'Open change-feed streams (SSE and WebSocket)', cdcStat('subscribers'));
  metrics.addGauge('themis_cdc_long_poll_waiters', 'Long-poll requests waiting for a change', cdcStat('waiters'));
  metrics.addGauge('themis_storage_writes_enabled', 'Whether writes are accepted (0 after a storage failure: a full disk until space is freed, an I/O error until a restart)', () =>
    db.ready ? (db.health().writes === 'enabled' ? 1 : 0) : undefined,
  );
  const vectorStat = (k: 'vectorCount' | 'deletedSlots' | 'capacity') => () => (db.ready ? db.get(Vectors).listIndexes().map((x): [string, number] => [x.objectName as string, x[k] as number]) : undefined);
  metrics.addLabeledGauge('themis_vector_index_vectors', 'Vectors in each vector index', 'index', vectorStat('vectorCount'));
  metrics.addLabeledGauge('themis_vector_index_deleted_slots', 'Graph slots of deleted vectors awaiting reuse, per vector index', 'index', vectorStat('deletedSlots'));
  metrics.addLabeledGauge('themis_vector_index_capacity', 'Graph capacity of each vector index (doubles when full)', 'index', vectorStat('capacity'));

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
    startedAt,
  });
  const port = await http.listen();
  log.info('listening', { host: config.host, port, durability: config.durability, data_dir: config.dataDir, uws_native: uwsNative });
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
