import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, expectStatus, json, ROOT, startServer, type StartedServer } from '../helpers/server.js';

/**
 * System endpoints against the real server: /health (+ aliases), /health/ready,
 * /stats, /metrics, and the headers every response carries. One server for
 * the whole file; tests run in order and count requests, so nothing else may
 * talk to it concurrently.
 */

const PKG_VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NO_AUTH = { authorization: '' };

let s: StartedServer;

beforeAll(async () => {
  // The storage counters below count commits exactly: the audit log's own batches (docs/audit.md) would add to them.
  s = await startServer({ env: { THEMIS_AUDIT: 'off' } });
});

afterAll(async () => {
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

interface Stats {
  server: { uptime_seconds: number; total_requests: number; total_errors: number; queries_per_second: number; threads: number };
  storage: {
    leveldb: { durability: string; group_commit: { commits: number; groups: number }; num_files_at_level: number[] };
    raw_stats: string;
  };
}

async function stats(): Promise<Stats> {
  const r = await s.req('GET', '/stats');
  await expectStatus(r, 200);
  return json<Stats>(r);
}

async function metricsText(): Promise<string> {
  const r = await fetch(`${s.base}/metrics`);
  await expectStatus(r, 200);
  return r.text();
}

/** The value of an unlabelled sample line `name value`. */
function sample(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} not found in:\n${text.slice(0, 2000)}`);
  return Number(m[1]);
}

function expectHealthBody(body: Record<string, unknown>): void {
  expect(body).toEqual({
    status: 'healthy',
    writes: 'enabled',
    version: PKG_VERSION,
    database: 'leveldb',
    uptime_seconds: expect.any(Number),
  });
  expect(Number.isInteger(body.uptime_seconds)).toBe(true);
  expect(body.uptime_seconds as number).toBeGreaterThanOrEqual(0);
}

describe('GET /health', () => {
  it('answers 200 with status, package version, database and integer uptime, without auth', async () => {
    const r = await s.req('GET', '/health', undefined, NO_AUTH);
    await expectStatus(r, 200);
    expectHealthBody(await json(r));
  });

  it('ignores a wrong bearer token (health is public)', async () => {
    const r = await s.req('GET', '/health', undefined, { authorization: 'Bearer definitely-not-the-key' });
    await expectStatus(r, 200);
    expectHealthBody(await json(r));
  });

  it.each(['/healthz', '/api/health'])('%s is an alias with the same shape', async (p) => {
    const r = await s.req('GET', p, undefined, NO_AUTH);
    await expectStatus(r, 200);
    expectHealthBody(await json(r));
  });

  it('uptime_seconds grows with time', async () => {
    const a = (await json<{ uptime_seconds: number }>(await s.req('GET', '/health'))).uptime_seconds;
    await new Promise((r) => setTimeout(r, 1100));
    const b = (await json<{ uptime_seconds: number }>(await s.req('GET', '/health'))).uptime_seconds;
    expect(b).toBeGreaterThanOrEqual(a + 1);
  });

  it('/health/ready answers {status: "ready", state: "ready"} without auth', async () => {
    const r = await s.req('GET', '/health/ready', undefined, NO_AUTH);
    await expectStatus(r, 200);
    expect(await json(r)).toEqual({ status: 'ready', state: 'ready', writes: 'enabled' });
  });
});

describe('headers on every response', () => {
  const cases: Array<{ name: string; method: string; path: string; headers?: Record<string, string>; status: number }> = [
    { name: 'success', method: 'GET', path: '/health', status: 200 },
    { name: 'authenticated success', method: 'GET', path: '/stats', status: 200 },
    { name: 'metrics (text)', method: 'GET', path: '/metrics', status: 200 },
    { name: '404 unknown route', method: 'GET', path: '/no/such/route', status: 404 },
    { name: '404 missing entity', method: 'GET', path: '/entities/t:missing', status: 404 },
    { name: '401 no token', method: 'GET', path: '/stats', headers: NO_AUTH, status: 401 },
    { name: '405 wrong method', method: 'DELETE', path: '/health', status: 405 },
  ];

  for (const c of cases) {
    it(`${c.name}: X-Request-Id is a fresh UUID when the client sent none, X-API-Version is 1.0.1`, async () => {
      const r1 = await s.req(c.method, c.path, undefined, c.headers);
      const r2 = await s.req(c.method, c.path, undefined, c.headers);
      await expectStatus(r1, c.status);
      await expectStatus(r2, c.status);
      const id1 = r1.headers.get('x-request-id');
      const id2 = r2.headers.get('x-request-id');
      expect(id1).toMatch(UUID);
      expect(id2).toMatch(UUID);
      expect(id1).not.toBe(id2);
      expect(r1.headers.get('x-api-version')).toBe('1.0.1');
      await r1.arrayBuffer();
      await r2.arrayBuffer();
    });

    it(`${c.name}: echoes a valid client X-Request-Id`, async () => {
      const r = await s.req(c.method, c.path, undefined, { ...c.headers, 'x-request-id': 'abc-123' });
      await expectStatus(r, c.status);
      expect(r.headers.get('x-request-id')).toBe('abc-123');
      expect(r.headers.get('x-api-version')).toBe('1.0.1');
      await r.arrayBuffer();
    });
  }

  it.each([
    ['containing spaces', 'abc def'],
    ['longer than 128 characters', 'a'.repeat(129)],
    ['with a quote and angle brackets', '<script>"x"</script>'],
  ])('replaces an invalid client X-Request-Id (%s) with a UUID', async (_what, id) => {
    for (const [p, status] of [
      ['/health', 200],
      ['/nope', 404],
    ] as const) {
      const r = await s.req('GET', p, undefined, { 'x-request-id': id });
      await expectStatus(r, status);
      const got = r.headers.get('x-request-id');
      expect(got).not.toBe(id);
      expect(got).toMatch(UUID);
      await r.arrayBuffer();
    }
  });

  it('accepts a client X-Request-Id of exactly 128 characters', async () => {
    const id = 'b'.repeat(128);
    const r = await s.req('GET', '/health', undefined, { 'x-request-id': id });
    expect(r.headers.get('x-request-id')).toBe(id);
    await r.arrayBuffer();
  });
});

describe('GET /stats', () => {
  it('requires authentication', async () => {
    const r = await s.req('GET', '/stats', undefined, NO_AUTH);
    await expectStatus(r, 401);
    const body = await json(r);
    expect(body).toMatchObject({ error: true, status_code: 401, code: 'UNAUTHORIZED' });
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('reports server counters as numbers; total_requests counts every request in between', async () => {
    const a = await stats();
    for (const k of ['uptime_seconds', 'total_requests', 'total_errors', 'queries_per_second', 'threads'] as const) {
      expect(typeof a.server[k], k).toBe('number');
      expect(Number.isFinite(a.server[k]), k).toBe(true);
      expect(a.server[k], k).toBeGreaterThanOrEqual(0);
    }
    expect(Number.isInteger(a.server.uptime_seconds)).toBe(true);
    expect(Number.isInteger(a.server.total_requests)).toBe(true);
    expect(a.server.threads).toBeGreaterThanOrEqual(1);
    // The server has answered at least the requests this file made so far.
    expect(a.server.total_requests).toBeGreaterThan(20);
    expect(a.server.queries_per_second).toBeGreaterThan(0);

    const between = 5;
    for (let i = 0; i < between; i++) await (await s.req('GET', '/health')).arrayBuffer();
    const b = await stats();
    // The first /stats call is counted once it finished, plus the requests in between.
    expect(b.server.total_requests).toBeGreaterThanOrEqual(a.server.total_requests + between);
    expect(b.server.total_requests).toBe(a.server.total_requests + between + 1);
    // Only successes in between.
    expect(b.server.total_errors).toBe(a.server.total_errors);
  });

  it('total_errors grows after a 404 and a 401', async () => {
    const a = await stats();
    await expectStatus(await s.req('GET', '/definitely/unknown'), 404);
    await expectStatus(await s.req('GET', '/entities/t:absent'), 404);
    await expectStatus(await s.req('GET', '/stats', undefined, NO_AUTH), 401);
    const b = await stats();
    expect(b.server.total_errors).toBe(a.server.total_errors + 3);
    expect(b.server.total_requests).toBe(a.server.total_requests + 4);
  });

  it('storage.leveldb reports sync durability, group-commit counts of the writes made, level files and raw stats', async () => {
    const a = await stats();
    const writes = 4;
    for (let i = 0; i < writes; i++) {
      const r = await s.req('PUT', '/entities/t:1', { blob: JSON.stringify({ n: i }) });
      await expectStatus(r, 201);
      await r.arrayBuffer();
    }
    // A rejected write must not be counted as a commit.
    await expectStatus(await s.req('PUT', '/entities/t:1', { blob: 'not json' }), 400);
    const b = await stats();

    const ldb = b.storage.leveldb;
    expect(ldb.durability).toBe('sync');
    expect(ldb.group_commit.commits).toBe(a.storage.leveldb.group_commit.commits + writes);
    expect(ldb.group_commit.groups).toBeGreaterThanOrEqual(a.storage.leveldb.group_commit.groups + 1);
    expect(ldb.group_commit.groups).toBeLessThanOrEqual(ldb.group_commit.commits);
    expect(ldb.num_files_at_level).toHaveLength(7);
    for (const n of ldb.num_files_at_level) {
      expect(Number.isInteger(n)).toBe(true);
      expect(n).toBeGreaterThanOrEqual(0);
    }
    expect(typeof b.storage.raw_stats).toBe('string');
    expect(b.storage.raw_stats).toContain('Compactions');

    // The last write is what GET returns.
    const g = await s.req('GET', '/entities/t:1');
    expect(await json(g)).toEqual({ key: 't:1', blob: JSON.stringify({ n: writes - 1 }) });
  });
});

describe('GET /metrics', () => {
  it('is public and served as Prometheus text', async () => {
    const r = await s.req('GET', '/metrics', undefined, NO_AUTH);
    await expectStatus(r, 200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await r.text();
    expect(text).toMatch(/^# HELP /m);
    expect(text).toMatch(/^# TYPE vccdb_requests_total counter$/m);
    expect(text).toMatch(/^# TYPE vccdb_errors_total counter$/m);
    expect(text).toMatch(/^# TYPE themis_http_request_duration_seconds histogram$/m);
  });

  it('has process_uptime_seconds and the default process/nodejs metrics', async () => {
    const text = await metricsText();
    expect(sample(text, 'process_uptime_seconds')).toBeGreaterThan(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('vccdb_requests_total and vccdb_errors_total count the requests made', async () => {
    const t1 = await metricsText();
    const req1 = sample(t1, 'vccdb_requests_total');
    const err1 = sample(t1, 'vccdb_errors_total');
    expect(req1).toBeGreaterThan(0);
    expect(err1).toBeGreaterThan(0); // 404s and 401s above

    await (await s.req('GET', '/health')).arrayBuffer();
    await (await s.req('GET', '/entities/t:1')).arrayBuffer();
    await expectStatus(await s.req('GET', '/nope'), 404);
    await expectStatus(await s.req('PATCH', '/health'), 405);

    const t2 = await metricsText();
    // 4 requests in between + the first /metrics request (counted once it finished).
    expect(sample(t2, 'vccdb_requests_total')).toBe(req1 + 5);
    expect(sample(t2, 'vccdb_errors_total')).toBe(err1 + 2);
  });

  it('labels the request-duration histogram by route template, method and status', async () => {
    await (await s.req('PUT', '/entities/t:hist', { blob: '{"a":1}' })).arrayBuffer();
    await (await s.req('GET', '/entities/t:hist')).arrayBuffer();
    await (await s.req('GET', '/entities/t:never-written')).arrayBuffer();
    const text = await metricsText();
    const line = (method: string, status: string) =>
      new RegExp(
        `^themis_http_request_duration_seconds_bucket\\{(?=[^}]*route="/entities/:key")(?=[^}]*method="${method}")(?=[^}]*status="${status}")[^}]*le="\\+Inf"[^}]*\\} (\\d+)$`,
        'm',
      );
    for (const [method, status] of [
      ['PUT', '201'],
      ['GET', '200'],
      ['GET', '404'],
    ] as const) {
      const m = line(method, status).exec(text);
      expect(m, `${method} ${status}`).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    }
    expect(text).toMatch(/^themis_http_request_duration_seconds_count\{[^}]*route="\/entities\/:key"[^}]*\} \d+$/m);
    expect(text).toMatch(/^themis_http_request_duration_seconds_sum\{[^}]*route="\/health"[^}]*\} [\d.e-]+$/m);
    // The label is the template, never the concrete path (unbounded cardinality).
    expect(text).not.toMatch(/route="\/entities\/t:/);
    // Unknown routes share one label.
    expect(text).not.toMatch(/route="\/nope"/);
  });

  it('exposes the group-commit histogram consistent with /stats', async () => {
    const text = await metricsText();
    expect(text).toMatch(/^# TYPE themis_storage_group_commit_commits histogram$/m);
    const count = sample(text, 'themis_storage_group_commit_commits_count');
    const sum = sample(text, 'themis_storage_group_commit_commits_sum');
    const st = await stats();
    expect(sum).toBe(st.storage.leveldb.group_commit.commits);
    expect(count).toBe(st.storage.leveldb.group_commit.groups);
    expect(sum).toBeGreaterThanOrEqual(5); // the writes made in this file
    expect(text).toMatch(/^themis_storage_group_commit_commits_bucket\{le="1"\} \d+$/m);
  });
});

describe('HEAD', () => {
  it('HEAD answers like GET, with Content-Length and no body', async () => {
    const get = await fetch(`${s.base}/health`);
    const getBody = await get.text();
    const head = await fetch(`${s.base}/health`, { method: 'HEAD' });
    await expectStatus(head, 200);
    expect(head.headers.get('content-type')).toBe('application/json');
    expect(head.headers.get('x-api-version')).toBe('1.0.1');
    expect(Number(head.headers.get('content-length'))).toBeGreaterThanOrEqual(getBody.length - 2);
    expect(await head.text()).toBe('');
    const missing = await fetch(`${s.base}/entities/t:nope`, { method: 'HEAD', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    await expectStatus(missing, 404);
    expect(await missing.text()).toBe('');
  });
});

describe('transaction and change-feed figures', () => {
  it('/metrics and /stats expose transaction and change-log figures', async () => {
    const begin = await json<{ transaction_id: number }>(await s.req('POST', '/transaction/begin', {}));
    await s.req('PUT', '/entities/mtx:1', { blob: '{}' }, { 'x-transaction-id': String(begin.transaction_id) });
    await s.req('POST', '/transaction/commit', { transaction_id: begin.transaction_id });
    const text = await (await fetch(`${s.base}/metrics`)).text();
    const val = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const stats = await json<{ transactions: { total_committed: number }; changefeed: { last_seq: number; first_seq: number } }>(
      await s.req('GET', '/stats'),
    );
    expect(val('themis_transactions_committed_total')).toBeGreaterThanOrEqual(1);
    expect(val('themis_transactions_committed_total')).toBe(stats.transactions.total_committed);
    expect(val('themis_cdc_last_seq')).toBe(stats.changefeed.last_seq);
    expect(stats.changefeed.last_seq).toBeGreaterThanOrEqual(1);
    expect(val('themis_transactions_active')).toBe(0);
    expect(text).toMatch(/^# TYPE themis_transactions_conflicts_total counter$/m);
  });
});

describe('GET / and the plain GET of the WebSocket path (issue 20, the first hour)', () => {
  it('GET / answers a short JSON pointer to the system endpoints, without auth, and every path it names answers', async () => {
    for (const headers of [NO_AUTH, { authorization: 'Bearer not-a-key-0123456789' }, {}]) {
      const r = await s.req('GET', '/', undefined, headers);
      await expectStatus(r, 200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.headers.get('x-api-version')).toBe('1.0.1');
      expect(await json(r)).toEqual({
        name: 'ThemisTS',
        version: PKG_VERSION,
        api_version: '1.0.1',
        docs: '/docs',
        console: '/ui',
        openapi: '/openapi.json',
        health: '/health',
        ready: '/health/ready',
        metrics: '/metrics',
        authentication: 'Authorization: Bearer <key> on every endpoint except /, /health*, /metrics, /openapi.*, /docs* and /ui*',
      });
    }
    const root = await json<Record<string, string>>(await s.req('GET', '/', undefined, NO_AUTH));
    for (const p of [root.docs!, root.console!, root.openapi!, root.health!, root.ready!, root.metrics!]) {
      const r = await s.req('GET', p, undefined, NO_AUTH);
      expect(r.status, p).toBe(200);
      await r.arrayBuffer();
    }
    const head = await fetch(`${s.base}/`, { method: 'HEAD' });
    await expectStatus(head, 200);
    expect(await head.text()).toBe('');
  });

  it('a plain GET of /changefeed/ws answers 426 UPGRADE_REQUIRED with Upgrade: websocket and says to connect with a WebSocket, whatever the credentials', async () => {
    for (const headers of [NO_AUTH, {}, { authorization: 'Bearer not-a-key-0123456789' }]) {
      const r = await s.req('GET', '/changefeed/ws', undefined, headers);
      await expectStatus(r, 426);
      expect(r.headers.get('upgrade')).toBe('websocket');
      expect(r.headers.get('x-request-id')).toMatch(UUID);
      const b = await json<{ error: boolean; status_code: number; code: string; message: string }>(r);
      expect(b).toEqual({ error: true, status_code: 426, code: 'UPGRADE_REQUIRED', message: expect.any(String) });
      expect(b.message).toMatch(/^\/changefeed\/ws is a WebSocket endpoint: connect with a WebSocket client/);
      expect(b.message).toContain('GET /changefeed/stream');
    }
  });
});
