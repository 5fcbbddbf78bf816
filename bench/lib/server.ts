import { performance } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { ownPids } from './contention.js';
import { pinServer } from './cpu.js';
import { CLI, freePort, sleep, tempDir } from './util.js';

export const ADMIN_KEY = 'bench-admin-key-0123456789';
export const AUTH_HEADER = `Bearer ${ADMIN_KEY}`;

export interface ThemisOptions {
  durability: 'sync' | 'relaxed';
  /** Extra node flags for the server process (also from BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Use this data directory (kept by stop()) instead of a fresh temporary one (removed by stop()). */
  dataDir?: string;
  /** How long to wait for /health/ready (default 30 s; a start that rebuilds large indexes needs longer). */
  readyTimeoutMs?: number;
}

export interface ThemisServer {
  readonly base: string;
  readonly port: number;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  stderr(): string;
  /** fetch with the admin bearer token. */
  req(method: string, urlPath: string, body?: string): Promise<Response>;
  /** SIGTERM, wait (SIGKILL after 15 s), remove the data dir (unless it was given). */
  stop(): Promise<void>;
  /** SIGKILL and wait; the data dir stays. */
  kill(): Promise<void>;
  /** Milliseconds from spawning the process to the first 200 of /health/ready. */
  readonly readyMs: number;
}

/**
 * Start the real server (`node dist/src/cli.js`) as a child process on a free
 * port with a fresh temp data dir; resolves once GET /health/ready is 200.
 */
export async function startThemis(opts: ThemisOptions): Promise<ThemisServer> {
  const spawnedAt = performance.now();
  const dataDir = opts.dataDir ?? tempDir(`themis-bench-${opts.durability}-`);
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    THEMIS_PORT: String(port),
    THEMIS_HOST: '127.0.0.1',
    THEMIS_DATA_DIR: dataDir,
    THEMIS_ADMIN_KEY: ADMIN_KEY,
    THEMIS_DURABILITY: opts.durability,
    THEMIS_LOG_LEVEL: 'warn',
    ...(opts.env ?? {}),
  };
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter((s) => s !== '');
  const proc = spawn(process.execPath, [...extra, ...(opts.nodeArgs ?? []), CLI], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stdout!.resume();
  proc.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.length > 64_000) err = err.slice(-32_000);
  });
  let exited = false;
  if (proc.pid !== undefined) ownPids.add(proc.pid);
  const exit = new Promise<void>((resolve) =>
    proc.on('exit', () => {
      exited = true;
      if (proc.pid !== undefined) ownPids.delete(proc.pid);
      resolve();
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const server: ThemisServer = {
    base,
    port,
    dataDir,
    proc,
    stderr: () => err,
    req: (method, urlPath, body) =>
      fetch(base + urlPath, {
        method,
        headers: { authorization: AUTH_HEADER, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body } : {}),
      }),
    stop: async () => {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await exit;
        clearTimeout(t);
      }
      if (opts.dataDir === undefined) fs.rmSync(dataDir, { recursive: true, force: true });
    },
    kill: async () => {
      if (!exited) {
        proc.kill('SIGKILL');
        await exit;
      }
    },
    readyMs: 0,
  };

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`themis server exited during start:\n${err}`);
    try {
      const r = await fetch(`${base}/health/ready`);
      await r.arrayBuffer();
      if (r.status === 200) {
        (server as { readyMs: number }).readyMs = performance.now() - spawnedAt;
        // Pin the event loop only now: helper threads created during start (libuv pool, LevelDB) stay unpinned.
        pinServer(proc.pid);
        return server;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`themis server did not become ready within ${readyTimeoutMs / 1000} s:\n${err}`);
    }
    await sleep(50);
  }
}

/** A few counters scraped from GET /metrics (Prometheus text). */
export interface MetricsSnapshot {
  requestsTotal: number;
  errorsTotal: number;
  /** `<method> <status>` -> count for one route template, or `<method> <route> <status>` when several routes are scraped. */
  byStatus: Record<string, number>;
  groupCommitCount: number;
  groupCommitSum: number;
}

/**
 * Scrape /metrics. `route` is one route template (status keys `<method> <status>`)
 * or several (keys `<method> <route> <status>`).
 */
export async function scrapeMetrics(server: ThemisServer, route: string | readonly string[]): Promise<MetricsSnapshot> {
  const routes = typeof route === 'string' ? [route] : route;
  const multi = typeof route !== 'string';
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const snap: MetricsSnapshot = { requestsTotal: 0, errorsTotal: 0, byStatus: {}, groupCommitCount: 0, groupCommitSum: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const sp = line.lastIndexOf(' ');
    const name = line.slice(0, sp);
    const value = Number(line.slice(sp + 1));
    if (name === 'vccdb_requests_total') snap.requestsTotal = value;
    else if (name === 'vccdb_errors_total') snap.errorsTotal = value;
    else if (name === 'themis_storage_group_commit_commits_count') snap.groupCommitCount = value;
    else if (name === 'themis_storage_group_commit_commits_sum') snap.groupCommitSum = value;
    else if (name.startsWith('themis_http_request_duration_seconds_count{')) {
      const labels = Object.fromEntries([...name.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      if (labels.route !== undefined && routes.includes(labels.route))
        snap.byStatus[multi ? `${labels.method} ${labels.route} ${labels.status}` : `${labels.method} ${labels.status}`] = value;
    }
  }
  return snap;
}

export interface ServerDelta {
  requests: number;
  errors: number;
  /** `<method> <status>` (or `<method> <route> <status>`) -> count during the measured window, on the scenario's route(s). */
  byStatus: Record<string, number>;
  /** Mean commits per LevelDB batch (group-commit coalescing), when there were writes. */
  avgGroupCommit?: number;
}

export function metricsDelta(a: MetricsSnapshot, b: MetricsSnapshot): ServerDelta {
  const byStatus: Record<string, number> = {};
  for (const k of Object.keys(b.byStatus)) {
    const d = b.byStatus[k]! - (a.byStatus[k] ?? 0);
    if (d > 0) byStatus[k] = d;
  }
  const groups = b.groupCommitCount - a.groupCommitCount;
  return {
    requests: b.requestsTotal - a.requestsTotal,
    errors: b.errorsTotal - a.errorsTotal,
    byStatus,
    ...(groups > 0 ? { avgGroupCommit: (b.groupCommitSum - a.groupCommitSum) / groups } : {}),
  };
}
