import os from 'node:os';
import { Changefeed } from '../../changefeed/index.js';
import type { Database } from '../../db.js';
import { Transactions } from '../../transactions/index.js';
import type { Metrics } from '../../metrics.js';
import { PACKAGE_VERSION } from '../../paths.js';
import { API_VERSION } from '../api-version.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';
import type { RequestStats } from '../request-stats.js';
import type { Reply } from '../types.js';

export interface SystemDeps {
  db: Database;
  metrics: Metrics;
  stats: () => RequestStats;
  startedAt: number;
}

const LEVELS = [0, 1, 2, 3, 4, 5, 6];

/**
 * What `GET /` answers: where to go from here, for a newcomer who opens the server's address. Only
 * routes that exist are named: the API reference page and the contract (routes/docs.ts) first.
 */
const ROOT = {
  name: 'ThemisTS',
  version: PACKAGE_VERSION,
  api_version: API_VERSION,
  docs: '/docs',
  console: '/ui',
  openapi: '/openapi.json',
  health: '/health',
  ready: '/health/ready',
  metrics: '/metrics',
  authentication: 'Authorization: Bearer <key> on every endpoint except /, /health*, /metrics, /openapi.*, /docs* and /ui*',
} as const;

/** GET / (a pointer to the rest), /health (+ /healthz, /api/health), /health/ready, /stats, /metrics. */
export function systemRoutes(d: SystemDeps): RouteSpec[] {
  const uptime = () => Math.floor((Date.now() - d.startedAt) / 1000);

  const health = (): Reply => {
    const base = { version: PACKAGE_VERSION, database: 'leveldb', uptime_seconds: uptime() };
    const h = d.db.health();
    // A full disk is `degraded` (200): the process serves reads and resumes writes by itself, so restarting it would not help.
    if (h.status !== 'unhealthy') return { json: { ...h, ...base } };
    const message =
      d.db.state === 'opening' || d.db.state === 'created'
        ? 'storage is starting'
        : h.storage_failure
          ? `writes are disabled after a storage I/O error (${h.storage_failure.reason}); restart the server`
          : `storage is not available (state ${d.db.state})`;
    return {
      status: 503,
      json: { error: true, message, status_code: 503, code: h.storage_failure ? 'STORAGE_FAILURE' : 'UNAVAILABLE', ...h, ...base },
    };
  };

  const ready = (): Reply => {
    const h = d.db.health();
    if (d.db.ready && h.status !== 'unhealthy') {
      return {
        json: {
          status: 'ready',
          state: d.db.state,
          writes: h.writes,
          ...(h.storage_failure ? { storage_failure: h.storage_failure } : {}),
        },
      };
    }
    return {
      status: 503,
      json: {
        error: true,
        message: `not ready: database is ${d.db.state}`,
        status_code: 503,
        code: 'UNAVAILABLE',
        status: 'not_ready',
        state: d.db.state,
      },
    };
  };

  const stats = async (): Promise<Reply> => {
    const rs = d.stats();
    const up = (Date.now() - d.startedAt) / 1000;
    const engine = d.db.engine; // UNAVAILABLE (503) before storage is open
    const prop = (name: string) => Number(engine.property(name));
    const sizes = await engine.keyspaceSizes();
    return {
      json: {
        server: {
          uptime_seconds: Math.floor(up),
          total_requests: rs.totalRequests,
          total_errors: rs.totalErrors,
          queries_per_second: rs.ratePerSecond(up),
          // One event-loop thread serves HTTP; LevelDB I/O runs on the libuv thread pool.
          threads: 1 + (Number(process.env.UV_THREADPOOL_SIZE) || 4),
          version: PACKAGE_VERSION,
          node_version: process.version,
          pid: process.pid,
          memory_rss_bytes: process.memoryUsage.rss(),
          load_average: os.loadavg(),
        },
        storage: {
          leveldb: {
            ...engine.stats(),
            approximate_memory_usage_bytes: prop('leveldb.approximate-memory-usage'),
            num_files_at_level: LEVELS.map((l) => prop(`leveldb.num-files-at-level${l}`)),
            approximate_size_bytes: Object.values(sizes).reduce((a, b) => a + b, 0),
            approximate_size_by_keyspace_bytes: sizes,
          },
          raw_stats: engine.property('leveldb.stats'),
        },
        transactions: d.db.get(Transactions).stats(),
        changefeed: d.db.get(Changefeed).stats(),
      },
    };
  };

  const metrics = async (): Promise<Reply> => ({
    text: await d.metrics.registry.metrics(),
    contentType: d.metrics.registry.contentType,
  });

  return [
    { method: 'GET', path: '/', handler: () => ({ json: ROOT }) },
    { method: 'GET', path: '/health', handler: health },
    { method: 'GET', path: '/healthz', handler: health },
    { method: 'GET', path: '/api/health', handler: health },
    { method: 'GET', path: '/health/ready', handler: ready },
    { method: 'GET', path: '/metrics', handler: metrics },
    { method: 'GET', path: '/stats', handler: stats },
  ];
}

export const systemArea: RouteArea = {
  name: 'system',
  routes: (ctx) => systemRoutes({ db: ctx.db, metrics: ctx.metrics, startedAt: ctx.startedAt, stats: ctx.serverStats }),
};
