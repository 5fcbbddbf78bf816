import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import YAML from 'yaml';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { Authenticator } from '../../src/security/index.js';
import { createHttpServer } from '../../src/server/index.js';
import { ADMIN_KEY, ROOT, expectStatus, startServer, tempDir, type StartedServer } from '../helpers/server.js';

/**
 * The auth matrix (issue 13, harness part d): every route of openapi.yaml,
 * and every route the server knows (the two lists must agree), requested
 * with no token, malformed tokens, a wrong token, the key in `?token=` where
 * that is not allowed, and the admin key. Unauthenticated requests get 401 in
 * the error format with a `WWW-Authenticate` challenge, except the documented
 * public routes; each protected route is sent a request that *would* change
 * something if it were authorised, and afterwards nothing has changed.
 */

type Op = { method: string; path: string; public: boolean };

const spec = YAML.parse(fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
};
const specOps: Op[] = [];
for (const [p, item] of Object.entries(spec.paths)) {
  for (const m of ['get', 'put', 'post', 'delete', 'patch']) {
    const op = item[m];
    if (op) specOps.push({ method: m.toUpperCase(), path: p, public: Array.isArray(op.security) && op.security.length === 0 });
  }
}
/** What docs/api.md ("Authentication") promises to answer without a key. */
const DOCUMENTED_PUBLIC = ['GET /health', 'GET /healthz', 'GET /api/health', 'GET /health/ready', 'GET /metrics'];
const WS_PATH = '/changefeed/ws';

const tmpl = (p: string) => p.replace(/\{([^}]+)\}/g, ':$1');

describe('the router and openapi.yaml list the same routes', () => {
  it('no route is missing from the spec, none in the spec is missing from the server, and public means the same in both', async () => {
    const log = createLogger('silent');
    const db = new Database({ ...DEFAULTS, dataDir: tempDir() }, log);
    const server = createHttpServer({
      db,
      auth: new Authenticator(),
      metrics: createMetrics(),
      log,
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      startedAt: Date.now(),
    });
    const table = server.routeTable();
    await server.close(0);
    const served = new Set(table.filter((r) => !r.websocket).map((r) => `${r.method} ${r.path}`));
    const inSpec = new Set(specOps.map((o) => `${o.method} ${tmpl(o.path)}`));
    expect(
      [...served].filter((r) => !inSpec.has(r)),
      'routes the server answers that openapi.yaml lacks',
    ).toEqual([]);
    expect(
      [...inSpec].filter((r) => !served.has(r)),
      'routes in openapi.yaml the server does not answer',
    ).toEqual([]);
    expect(table.filter((r) => r.websocket).map((r) => r.path)).toEqual([WS_PATH]);
    // Public routes: the router's auth:false set is the spec's security: [] set plus the plain-GET answer of the WebSocket path (426, reveals nothing).
    const publicServed = table
      .filter((r) => !r.auth && !r.websocket)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(publicServed).toEqual([...DOCUMENTED_PUBLIC, `GET ${WS_PATH}`].sort());
    expect(
      specOps
        .filter((o) => o.public)
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    ).toEqual([...DOCUMENTED_PUBLIC].sort());
  });
});

describe('auth matrix over every route', () => {
  let s: StartedServer;
  /** A transaction begun by the admin with one buffered write: an unauthenticated commit or rollback must not touch it. */
  let txnId: number;
  /** An API key the unauthorised requests would change or revoke. */
  let victimKeyId: string;
  /** A real API key with a permission no route needs (classify:read): authenticated, never allowed. */
  let noPermSecret: string;

  beforeAll(async () => {
    // Hundreds of refused credentials from one address: the brute-force limit (THEMIS_AUTH_FAIL_LIMIT, default
    // 20/min) would answer 429 after the first few; it has its own tests (test/http/rate-limit.test.ts).
    s = await startServer({ env: { THEMIS_AUTH_FAIL_LIMIT: 'off' } });
    const admin = (method: string, p: string, body?: unknown) =>
      s.req(method, p, body).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    for (const [m, p, b] of [
      ['PUT', '/entities/auth:keep', { blob: '{"v":1}' }],
      ['POST', '/index/create', { table: 'auth', column: 'v', type: 'equality' }],
      ['POST', '/vector/index/create', { name: 'vauth', table: 'authv', field: 'emb', metric: 'L2', dimension: 2 }],
      ['PUT', '/entities/authv:1', { blob: '{"emb":[1,2]}' }],
    ] as const) {
      const r = await admin(m, p, b);
      expect(r.status, `${m} ${p}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    }
    const v = await admin('POST', '/api/keys', { name: 'victim', permissions: ['stats:read'] });
    expect(v.status, JSON.stringify(v.body)).toBe(201);
    victimKeyId = v.body.keyId as string;
    const np = await admin('POST', '/api/keys', { name: 'no-permission', permissions: ['classify:read'] });
    expect(np.status, JSON.stringify(np.body)).toBe(201);
    noPermSecret = np.body.secret as string;
    const t = await admin('POST', '/transaction/begin', {});
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    txnId = t.body.transaction_id as number;
    const w = await s.req('PUT', '/entities/auth:intxn', { blob: '{"t":1}' }, { 'x-transaction-id': String(txnId) });
    await expectStatus(w, 201);
  });

  afterAll(async () => {
    if (!s) return;
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  /** Bodies that would change something if the request were authorised. */
  const writeBody = (method: string, p: string): unknown => {
    const bodies: Record<string, unknown> = {
      'PUT /entities/{key}': { blob: '{"v":"overwritten"}' },
      'POST /entities': { key: 'auth:created', blob: '{}' },
      'POST /transaction/begin': {},
      'POST /transaction/commit': { transaction_id: txnId },
      'POST /transaction/rollback': { transaction_id: txnId },
      'POST /transaction': {
        operations: [
          { op: 'put', key: 'auth:batch', blob: '{}' },
          { op: 'delete', key: 'auth:keep' },
        ],
      },
      'POST /index/create': { table: 'auth', column: 'w', type: 'range' },
      'POST /index/drop': { table: 'auth', column: 'v' },
      'POST /vector/index/create': { name: 'vauth2', table: 'authv', field: 'emb2', metric: 'L2', dimension: 2 },
      'POST /vector/index/drop': { name: 'vauth' },
      'PUT /vector/index/config': { index: 'vauth', efSearch: 77 },
      'POST /vector/batch_insert': { index: 'vauth', items: [{ pk: 'authv:2', vector: [3, 4] }] },
      'DELETE /vector/by-filter': { index: 'vauth', prefix: 'authv:' },
      'POST /query/aql': { query: 'INSERT {_key: "aql"} INTO auth' },
      'POST /api/aql': { query: 'REMOVE "keep" IN auth' },
      'POST /query': { table: 'auth' },
      'POST /search/fulltext': { table: 'auth', column: 'v', query: 'x' },
      'POST /search/hybrid': { table: 'auth', text: 'x', vector: [1, 2] },
      'POST /vector/search': { index: 'vauth', vector: [1, 2] },
      'POST /graph/traverse': { start_vertex: 'auth:keep', max_depth: 1 },
      'POST /graph/shortest_path': { from: 'auth:keep', to: 'auth:keep' },
      'POST /api/keys': { name: 'auth-created', permissions: ['admin'] },
      'PUT /api/keys/{keyId}': { permissions: ['admin'] },
    };
    return bodies[`${method} ${p}`];
  };
  /** The route with its path parameter filled in: the entity whose overwrite or deletion would show. */
  const urlOf = (p: string) => p.replace('{key}', 'auth%3Akeep').replace('{keyId}', victimKeyId);

  /** Everything an applied write could change, read with the admin key. */
  async function observable(): Promise<string> {
    const get = async (p: string) => {
      const r = await s.req('GET', p);
      return `${p} ${r.status} ${await r.text()}`;
    };
    const cf = JSON.parse(await (await s.req('GET', '/changefeed/stats')).text()) as Record<string, unknown>;
    const tx = JSON.parse(await (await s.req('GET', '/transaction/stats')).text()) as Record<string, unknown>;
    const vi = JSON.parse(await (await s.req('GET', '/vector/indexes')).text()) as { indexes: Record<string, unknown>[] };
    return [
      `last_seq ${cf.last_seq as number}`,
      `active ${tx.active_count as number} committed ${tx.total_committed as number}`,
      await get('/entities/auth:keep'),
      await get('/entities/auth:created'),
      await get('/entities/auth:batch'),
      await get('/entities/authv:2'),
      (await get('/index/stats')).replace(/"approximate_size_bytes":\d+/g, ''),
      JSON.stringify(vi.indexes.map((x) => [x.objectName, x.efSearch, x.vectorCount])),
      (await get('/api/keys?include_revoked=true')).replace(/"last_used_at":("[^"]*"|null)/g, ''),
    ].join('\n');
  }

  const BAD_CREDENTIALS: [string, Record<string, string>, string][] = [
    ['no Authorization header', {}, 'Bearer realm="themis"'],
    ['Basic scheme', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` }, 'invalid_token'],
    ['"Bearer" without a token', { authorization: 'Bearer' }, 'invalid_token'],
    ['token with a space', { authorization: `Bearer ${ADMIN_KEY} extra` }, 'invalid_token'],
    ['the key without a scheme', { authorization: ADMIN_KEY }, 'invalid_token'],
    ['wrong token', { authorization: 'Bearer wrong-token-0123456789abcdef' }, 'invalid_token'],
    ['the admin key with one character changed', { authorization: `Bearer ${ADMIN_KEY.slice(0, -1)}X` }, 'invalid_token'],
  ];

  it('every protected HTTP route: each bad credential (and ?token= where not allowed) -> 401 in the error format with a challenge, nothing applied', async () => {
    const before = await observable();
    let requests = 0;
    for (const op of specOps) {
      if (op.public || op.path === WS_PATH) continue;
      const body = writeBody(op.method, op.path);
      const url = urlOf(op.path);
      const variants: [string, Record<string, string>, string, string][] = BAD_CREDENTIALS.map(([what, h, challenge]) => [
        what,
        h,
        challenge,
        url,
      ]);
      variants.push([
        '?token= (only the WebSocket accepts it)',
        {},
        'Bearer realm="themis"',
        `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(ADMIN_KEY)}`,
      ]);
      for (const [what, headers, challenge, u] of variants) {
        const r = await fetch(s.base + u, {
          method: op.method,
          headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        requests++;
        const text = await r.text();
        const ctx = `${op.method} ${op.path} [${what}]: ${r.status} ${text}`;
        expect(r.status, ctx).toBe(401);
        const b = JSON.parse(text) as Record<string, unknown>;
        expect(b, ctx).toMatchObject({ error: true, status_code: 401, code: 'UNAUTHORIZED' });
        expect(typeof b.message).toBe('string');
        expect(r.headers.get('www-authenticate'), ctx).toContain(challenge);
        expect(text, ctx).not.toContain(ADMIN_KEY);
      }
    }
    expect(requests).toBeGreaterThan(200);
    expect(await observable()).toBe(before);
  });

  it('every protected HTTP route: a real API key without the permission -> 403 FORBIDDEN in the error format, nothing applied', async () => {
    const before = await observable();
    for (const op of specOps) {
      if (op.public || op.path === WS_PATH) continue;
      const body = writeBody(op.method, op.path);
      const r = await fetch(s.base + urlOf(op.path), {
        method: op.method,
        headers: { authorization: `Bearer ${noPermSecret}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await r.text();
      const ctx = `${op.method} ${op.path}: ${r.status} ${text}`;
      expect(r.status, ctx).toBe(403);
      expect(JSON.parse(text), ctx).toMatchObject({ error: true, status_code: 403, code: 'FORBIDDEN' });
      expect(text, ctx).not.toContain(noPermSecret);
    }
    expect(await observable()).toBe(before);
  });

  it('the public routes answer without a key, whatever credentials are sent', async () => {
    for (const op of specOps.filter((o) => o.public)) {
      for (const [what, headers] of BAD_CREDENTIALS) {
        const r = await fetch(s.base + op.path, { headers, signal: AbortSignal.timeout(10_000) });
        const text = await r.text();
        expect(r.status, `${op.method} ${op.path} [${what}]: ${text}`).toBe(200);
      }
    }
    // The plain GET of the WebSocket path explains itself and reveals nothing.
    const r = await fetch(s.base + WS_PATH);
    await expectStatus(r, 426);
    expect(await r.json()).toMatchObject({ error: true, status_code: 426, code: 'UPGRADE_REQUIRED' });
  });

  it('the WebSocket route: upgrades without or with bad credentials get 401; ?token= and the header open it', async () => {
    const attempt = (url: string, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          ws.terminate();
        });
        ws.on('error', () => resolve(-1));
      });
    const base = `ws://127.0.0.1:${s.port}${WS_PATH}?keep_alive=false`;
    for (const [what, headers] of BAD_CREDENTIALS) expect(await attempt(base, headers), what).toBe(401);
    expect(await attempt(`${base}&token=wrong-token-0123456789abcdef`, {}), 'wrong ?token=').toBe(401);
    expect(await attempt(`${base}&token=${encodeURIComponent(ADMIN_KEY)}`, {}), 'admin ?token=').toBe(101);
    expect(await attempt(base, { authorization: `Bearer ${ADMIN_KEY}` }), 'admin header').toBe(101);
  });

  it('the admin key passes authentication on every route (no 401/403, no 5xx), and the same requests do change the state', async () => {
    const before = await observable();
    for (const op of specOps) {
      if (op.path === WS_PATH || op.path === '/changefeed/stream' || op.path === '/changefeed') continue;
      const body = writeBody(op.method, op.path);
      const r = await s.req(op.method, urlOf(op.path), body);
      const text = await r.text();
      const ctx = `${op.method} ${op.path}: ${r.status} ${text.slice(0, 300)}`;
      expect([401, 403], ctx).not.toContain(r.status);
      expect(r.status, ctx).toBeLessThan(500);
    }
    // The long-poll and the stream, with parameters that answer at once.
    for (const p of ['/changefeed?from_seq=0&limit=1', '/changefeed/stream?keep_alive=false']) {
      const r = await s.req('GET', p);
      await r.text();
      expect(r.status, p).toBe(200);
    }
    // Control for "nothing applied" above: the check sees these writes.
    expect(await observable()).not.toBe(before);
  });
});
