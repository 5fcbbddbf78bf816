import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import YAML from 'yaml';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { SignJWT } from 'jose';
import { Authenticator, PERMISSIONS } from '../../src/security/index.js';
import { createHttpServer } from '../../src/server/index.js';
import { ADMIN_KEY, ROOT, expectStatus, sleep, startServer, tempDir, type StartedServer } from '../helpers/server.js';

/**
 * The auth matrix (issues 13 and 15), generated from openapi.yaml: every
 * operation declares its permission (`x-permission`) and, where it touches
 * documents, the tables it checks (`x-tables`); the server's routes must be
 * exactly the spec's, with the same requirements. Every protected route is
 * then requested with every kind of bad credential — none, malformed, wrong,
 * `?token=` where not allowed, a revoked key, an expired key, an expired JWT,
 * a JWT with a wrong signature (401) — with a valid key lacking exactly the
 * route's permission, and with a key scoped to another table (403). Each
 * request *would* change something if it were authorised, and afterwards
 * nothing has changed. With the right permission (table-scoped to the
 * tables it names) no route answers 401/403.
 */

type Op = { method: string; path: string; public: boolean; permission: string; tables: string | undefined };

const spec = YAML.parse(fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, { security?: unknown[]; 'x-permission'?: string; 'x-tables'?: string }>>;
};
const specOps: Op[] = [];
for (const [p, item] of Object.entries(spec.paths)) {
  for (const m of ['get', 'put', 'post', 'delete', 'patch']) {
    const op = item[m];
    if (op)
      specOps.push({
        method: m.toUpperCase(),
        path: p,
        public: Array.isArray(op.security) && op.security.length === 0,
        permission: op['x-permission'] as string,
        tables: op['x-tables'],
      });
  }
}
/** What docs/api.md ("Authentication") promises to answer without a key. */
const DOCUMENTED_PUBLIC = [
  'GET /',
  'GET /health',
  'GET /healthz',
  'GET /api/health',
  'GET /health/ready',
  'GET /metrics',
  'GET /openapi.yaml',
  'GET /openapi.json',
  'GET /docs',
  'GET /docs/assets/{file}',
  'GET /ui',
  'GET /ui/assets/{file}',
];
/** The operations any valid credential may call, whatever its permissions (`x-permission: authenticated`). */
const AUTHENTICATED = ['GET /api/whoami'];
/** The console's first script (its names carry a content hash: read from the built page). */
let consoleAsset = '';
/** A path of a public operation with its parameters filled in (the public templates: an asset of the reference page or of the console). */
const publicUrl = (p: string) => (p === '/ui/assets/{file}' ? `/ui/assets/${consoleAsset}` : p.replace('{file}', 'swagger-ui.css'));
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
    // Both sides list GET/PUT/POST/DELETE/PATCH only. HEAD and OPTIONS are not routes: the adapter answers HEAD for
    // every GET route (same status and headers, no body; openapi.yaml's info says so once) and OPTIONS is the CORS
    // preflight of any route (cors.ts); so the spec must not list them per operation either. The WebSocket upgrade
    // of /changefeed/ws is a row of its own (websocket: true) and is described by that path's GET operation.
    for (const [p, item] of Object.entries(spec.paths))
      expect(
        Object.keys(item).filter((k) => ['head', 'options', 'trace'].includes(k)),
        `${p}: HEAD/OPTIONS are implicit`,
      ).toEqual([]);
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
    // Public routes: the router's auth:false set is the spec's x-permission "public" (= security: []) set.
    // Plus the plain-HTTP GET of the WebSocket path: it only answers 426 UPGRADE_REQUIRED, whatever the credentials
    // (docs/api.md); the upgrade itself needs the operation's permission (the websocket row).
    const publicServed = table
      .filter((r) => !r.auth)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(publicServed).toEqual([...DOCUMENTED_PUBLIC.map(tmpl), `GET ${WS_PATH}`].sort());
    expect(
      specOps
        .filter((o) => o.public)
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    ).toEqual([...DOCUMENTED_PUBLIC].sort());
    // Every operation declares a permission, and the router enforces exactly that one.
    for (const o of specOps) {
      expect(o.permission, `${o.method} ${o.path} declares no x-permission`).toBeDefined();
      expect(['public', 'authenticated', ...PERMISSIONS.filter((p) => p !== '*')], `${o.method} ${o.path}`).toContain(o.permission);
      expect(o.public, `${o.method} ${o.path}: x-permission public <=> security: []`).toBe(o.permission === 'public');
      const served = table.filter((r) => r.method === o.method && r.path === tmpl(o.path) && (r.websocket || r.path !== WS_PATH));
      expect(served.length, `${o.method} ${o.path}`).toBeGreaterThan(0);
      for (const r of served) expect(r.auth ? (r.permission ?? 'authenticated') : 'public', `${o.method} ${o.path}`).toBe(o.permission);
    }
    expect(
      specOps
        .filter((o) => o.permission === 'authenticated')
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    ).toEqual(AUTHENTICATED);
    // Routes that read or write documents say which tables a scoped key is checked against; the only
    // data routes without tables are the ones that name none (a transaction's begin, commit, rollback;
    // POST /pii/pseudonymize, which writes to the vault only; the semantic cache, whose entries are not documents;
    // GET /tables, which lists only the tables the key may read).
    const dataOps = specOps.filter((o) => ['data:read', 'data:write', 'query:execute'].includes(o.permission));
    expect(
      dataOps
        .filter((o) => o.tables === undefined)
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    ).toEqual([
      'DELETE /cache/{key}',
      'GET /tables',
      'POST /cache/invalidate',
      'POST /cache/put',
      'POST /cache/query',
      'POST /pii/pseudonymize',
      'POST /transaction/begin',
      'POST /transaction/commit',
      'POST /transaction/rollback',
    ]);
  });
});

const JWT_SECRET = 'auth-matrix-jwt-secret-0123456789abcdef';
/** Every permission an API key can hold that is not all-powerful. */
const NON_ADMIN = PERMISSIONS.filter((p) => p !== 'admin' && p !== '*');

describe('auth matrix over every route', () => {
  let s: StartedServer;
  /** A transaction begun by the admin with one buffered write: another principal's commit or rollback must not touch it. */
  let txnId: number;
  /** An API key the unauthorised requests would change or revoke. */
  let victimKeyId: string;
  /** Per route permission: a key holding every other non-admin permission, but not this one. */
  const lacking: Record<string, string> = {};
  /** Per route permission: a key holding it, with data access scoped to the tables the requests name. */
  const right: Record<string, string> = {};
  /** All non-admin permissions, but data only in tables the requests do not name (`elsewhere`, `auth_*`). */
  let scoped: string;
  /** Credentials that were valid and are not any more, or never were: each must be 401. */
  const ended: [string, string][] = [];

  // `authenticated` is no permission a key holds: any valid key (the `lacking` ones included) may call those routes.
  const routePermissions = [...new Set(specOps.filter((o) => !o.public && o.permission !== 'authenticated').map((o) => o.permission))];

  beforeAll(async () => {
    // Hundreds of refused credentials from one address: the brute-force limit (THEMIS_AUTH_FAIL_LIMIT, default
    // 20/min) would answer 429 after the first few; it has its own tests (test/http/rate-limit.test.ts).
    s = await startServer({ env: { THEMIS_AUTH_FAIL_LIMIT: 'off', THEMIS_JWT_SECRET: JWT_SECRET } });
    consoleAsset = /\/ui\/assets\/([\w.-]+\.js)/.exec(await (await fetch(`${s.base}/ui`)).text())?.[1] ?? 'missing.js';
    const admin = (method: string, p: string, body?: unknown) =>
      s.req(method, p, body).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    for (const [m, p, b] of [
      ['PUT', '/entities/auth:keep', { blob: '{"v":1}' }],
      ['POST', '/index/create', { table: 'auth', column: 'v', type: 'equality' }],
      ['POST', '/vector/index/create', { name: 'vauth', table: 'authv', field: 'emb', metric: 'L2', dimension: 2 }],
      ['PUT', '/entities/authv:1', { blob: '{"emb":[1,2]}' }],
      // auth:keep's v (1) read as epoch ms is long expired: a run of this policy would delete it.
      ['PUT', '/api/retention/auth', { retention_days: 1, timestamp_field: 'v', auto_deletion: false }],
    ] as const) {
      const r = await admin(m, p, b);
      expect(r.status, `${m} ${p}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    }
    const key = async (name: string, permissions: string[], extra: Record<string, unknown> = {}) => {
      const r = await admin('POST', '/api/keys', { name, permissions, ...extra });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body as { keyId: string; secret: string };
    };
    victimKeyId = (await key('victim', ['stats:read'])).keyId;
    const tables = [
      'data:read:auth',
      'data:write:auth',
      'data:read:authv',
      'data:write:authv',
      // The content routes' tables.
      'data:read:_content',
      'data:write:_content',
      'data:read:_chunks',
      'data:write:_chunks',
      // The LLM interaction routes' table.
      'data:read:_llm_interactions',
      'data:write:_llm_interactions',
    ];
    for (const p of routePermissions) {
      lacking[p] = (
        await key(
          `lacks ${p}`,
          NON_ADMIN.filter((x) => x !== p),
        )
      ).secret;
      right[p] = (await key(`has ${p}`, p === 'admin' ? ['admin'] : [p, ...tables])).secret;
    }
    scoped = (
      await key('scoped elsewhere', [
        ...NON_ADMIN.filter((x) => x !== 'data:read' && x !== 'data:write'),
        'data:read:elsewhere',
        'data:write:elsewhere',
        'data:read:auth_*',
      ])
    ).secret;
    const revoked = await key('revoked', ['*']);
    expect((await s.req('DELETE', `/api/keys/${revoked.keyId}`)).status).toBe(200);
    ended.push(['revoked key', revoked.secret]);
    const expired = await key('expired', ['*'], { expires_in_days: 1 / 86_400 });
    ended.push(['expired key', expired.secret]);
    const now = Math.floor(Date.now() / 1000);
    const sign = (secret: string, exp: number) =>
      new SignJWT({ sub: 'matrix', permissions: ['*'], exp }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
    ended.push(['expired JWT', await sign(JWT_SECRET, now - 600)]);
    ended.push(['JWT with a wrong signature', await sign('another-secret-0123456789abcdef-xyz', now + 600)]);
    const good = await sign(JWT_SECRET, now + 600);
    expect((await s.req('GET', '/stats', undefined, { authorization: `Bearer ${good}` })).status, 'control: a valid JWT').toBe(200);
    const t = await admin('POST', '/transaction/begin', {});
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    txnId = t.body.transaction_id as number;
    const w = await s.req('PUT', '/entities/auth:intxn', { blob: '{"t":1}' }, { 'x-transaction-id': String(txnId) });
    await expectStatus(w, 201);
    // The expired key: valid a moment ago, 401 from its expiry on.
    await sleep(1_100);
  });

  afterAll(async () => {
    if (!s) return;
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  /** Bodies that would change something if the request were authorised. */
  const writeBody = (op: Op, txn = txnId): unknown => {
    const bodies: Record<string, unknown> = {
      'PUT /entities/{key}': { blob: '{"v":"overwritten"}' },
      'POST /entities': { key: 'auth:created', blob: '{}' },
      'POST /transaction/begin': {},
      'POST /transaction/commit': { transaction_id: txn },
      'POST /transaction/rollback': { transaction_id: txn },
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
      'POST /search/hybrid': { table: 'auth', text: { column: 'v', query: 'x' }, vector: { vector: [1, 2], index: 'vauth' } },
      'POST /vector/search': { index: 'vauth', vector: [1, 2] },
      'POST /graph/traverse': { start_vertex: 'auth:keep', max_depth: 1 },
      'POST /graph/shortest_path': { from: 'auth:keep', to: 'auth:keep' },
      'POST /api/keys': { name: 'auth-created', permissions: ['admin'] },
      'PUT /api/keys/{keyId}': { permissions: ['admin'] },
      'PUT /api/retention/{collection}': { retention_days: 2, timestamp_field: 'w', auto_deletion: true },
      'POST /content/import': { content: { id: 'authc' }, chunks: [{ seq_num: 0, text: 'overwritten' }] },
      'POST /content/retrieve': { query: 'x' },
      'PUT /content/{id}/chunks/{chunk_id}/embedding': { embedding: [1, 2] },
      'PUT /content/{id}/blob': { raw: 'bytes' },
      'POST /cache/put': { key: 'authcache', value: 1 },
      'POST /cache/query': { key: 'authcache' },
      'POST /cache/invalidate': { filter: { tenant: 'auth' } },
      'POST /llm/interaction': { model: 'auth', messages: [{ role: 'user', content: 'overwritten' }] },
    };
    return bodies[`${op.method} ${op.path}`];
  };
  /** The route with its parameters filled in: the entity whose overwrite or deletion would show; feeds that answer at once, about table `auth`. */
  const urlOf = (op: Op) => {
    const u = op.path
      .replace('{key}', 'auth%3Akeep')
      .replace('{keyId}', victimKeyId)
      .replace('{collection}', 'auth')
      .replace('{name}', 'auth')
      .replace('{id}', 'authc')
      .replace('{chunk_id}', 'authc%230');
    if (op.path === '/changefeed') return `${u}?from_seq=0&limit=5&key_prefix=auth:`;
    if (op.path === '/changefeed/stream') return `${u}?from_seq=0&keep_alive=false&key_prefix=auth:`;
    if (op.path === WS_PATH) return `${u}?key_prefix=auth:`;
    return u;
  };
  const send = async (op: Op, headers: Record<string, string>, opts: { url?: string; txn?: number } = {}) => {
    const body = writeBody(op, opts.txn);
    const r = await fetch(s.base + (opts.url ?? urlOf(op)), {
      method: op.method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    return { status: r.status, text, headers: r.headers, ctx: `${op.method} ${op.path}: ${r.status} ${text.slice(0, 300)}` };
  };

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
      await get('/api/retention'),
      await get('/content/authc'),
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
  const credentials401 = (): [string, Record<string, string>, string][] => [
    ...BAD_CREDENTIALS,
    ...ended.map(([what, secret]): [string, Record<string, string>, string] => [
      what,
      { authorization: `Bearer ${secret}` },
      'invalid_token',
    ]),
  ];

  it('every protected HTTP route: each bad, revoked or expired credential (and ?token= where not allowed) -> 401 in the error format with a challenge, nothing applied', async () => {
    const before = await observable();
    let requests = 0;
    for (const op of specOps) {
      // The plain GET of the WebSocket path answers 426 whatever the credentials (below); its upgrade's 401s are tested with real upgrades.
      if (op.public || op.path === WS_PATH) continue;
      const url = urlOf(op);
      const variants: [string, Record<string, string>, string, string][] = credentials401().map(([what, h, challenge]) => [
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
        const r = await send(op, headers, { url: u });
        requests++;
        const ctx = `${r.ctx} [${what}]`;
        expect(r.status, ctx).toBe(401);
        const b = JSON.parse(r.text) as Record<string, unknown>;
        expect(b, ctx).toMatchObject({ error: true, status_code: 401, code: 'UNAUTHORIZED' });
        expect(typeof b.message).toBe('string');
        expect(r.headers.get('www-authenticate'), ctx).toContain(challenge);
        expect(r.text, ctx).not.toContain(ADMIN_KEY);
      }
    }
    expect(requests).toBeGreaterThan(400);
    expect(await observable()).toBe(before);
  });

  it('every protected HTTP route: a valid key with every other permission but the route one -> 403 FORBIDDEN, nothing applied', async () => {
    const before = await observable();
    for (const op of specOps) {
      if (op.public || op.path === WS_PATH) continue; // 426 whatever the key; the upgrade's 403 is tested with real upgrades
      if (op.permission === 'authenticated') {
        // Any valid key, even one holding a single unrelated permission.
        for (const secret of Object.values(lacking))
          expect((await send(op, { authorization: `Bearer ${secret}` })).status, op.path).toBe(200);
        continue;
      }
      const secret = lacking[op.permission]!;
      const r = await send(op, { authorization: `Bearer ${secret}` });
      expect(r.status, r.ctx).toBe(403);
      expect(JSON.parse(r.text), r.ctx).toMatchObject({ error: true, status_code: 403, code: 'FORBIDDEN' });
      expect(r.text, r.ctx).not.toContain(secret);
    }
    expect(await observable()).toBe(before);
  });

  it('every route that touches documents: a key scoped to other tables -> 403 FORBIDDEN naming the table, nothing applied', async () => {
    const before = await observable();
    const checked: string[] = [];
    for (const op of specOps) {
      if (op.tables === undefined || op.path === WS_PATH) continue;
      const r = await send(op, { authorization: `Bearer ${scoped}` });
      expect(r.status, r.ctx).toBe(403);
      const b = JSON.parse(r.text) as Record<string, unknown>;
      expect(b, r.ctx).toMatchObject({ error: true, status_code: 403, code: 'FORBIDDEN' });
      expect(['auth', 'authv', '_content', '_chunks', '_llm_interactions'], r.ctx).toContain(b.table);
      checked.push(`${op.method} ${op.path}`);
    }
    expect(checked.length).toBe(specOps.filter((o) => o.tables !== undefined).length - 1);
    expect(await observable()).toBe(before);
  });

  it('the public routes answer without a key, whatever credentials are sent', async () => {
    for (const op of specOps.filter((o) => o.public)) {
      for (const [what, headers] of credentials401()) {
        const r = await fetch(s.base + publicUrl(op.path), { headers, signal: AbortSignal.timeout(10_000) });
        const text = await r.text();
        expect(r.status, `${op.method} ${op.path} [${what}]: ${text}`).toBe(200);
      }
    }
    // The plain GET of the WebSocket path explains itself, with or without (valid, bad, revoked, ?token=) credentials.
    const r = await s.req('GET', WS_PATH);
    await expectStatus(r, 426);
    expect(await r.json()).toMatchObject({ error: true, status_code: 426, code: 'UPGRADE_REQUIRED' });
    expect(r.headers.get('upgrade')).toBe('websocket');
    const variants: [string, Record<string, string>, string][] = [
      ...credentials401().map(([what, h]): [string, Record<string, string>, string] => [what, h, WS_PATH]),
      ['?token=', {}, `${WS_PATH}?token=${encodeURIComponent(ADMIN_KEY)}`],
      ['a key without data:read', { authorization: `Bearer ${lacking['data:read']!}` }, WS_PATH],
    ];
    for (const [what, headers, u] of variants) {
      const plain = await fetch(s.base + u, { headers, signal: AbortSignal.timeout(10_000) });
      const text = await plain.text();
      expect(plain.status, `GET ${u} [${what}]: ${text}`).toBe(426);
      expect(JSON.parse(text), what).toMatchObject({ error: true, status_code: 426, code: 'UPGRADE_REQUIRED' });
      expect(plain.headers.get('upgrade'), what).toBe('websocket');
    }
  });

  it('the WebSocket route: bad, revoked or expired credentials get 401, a key without data:read or scoped elsewhere 403; ?token= and the header open it', async () => {
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
    const base = `ws://127.0.0.1:${s.port}${WS_PATH}?keep_alive=false&key_prefix=auth:`;
    for (const [what, headers] of credentials401()) expect(await attempt(base, headers), what).toBe(401);
    expect(await attempt(`${base}&token=wrong-token-0123456789abcdef`, {}), 'wrong ?token=').toBe(401);
    expect(await attempt(base, { authorization: `Bearer ${lacking['data:read']}` }), 'no data:read').toBe(403);
    expect(await attempt(base, { authorization: `Bearer ${scoped}` }), 'scoped elsewhere').toBe(403);
    expect(await attempt(base, { authorization: `Bearer ${right['data:read']}` }), 'data:read:auth').toBe(101);
    expect(await attempt(`${base}&token=${encodeURIComponent(ADMIN_KEY)}`, {}), 'admin ?token=').toBe(101);
    expect(await attempt(base, { authorization: `Bearer ${ADMIN_KEY}` }), 'admin header').toBe(101);
  });

  it('with the right permission (data scoped to the tables named) no route answers 401 or 403, and the same requests do change the state', async () => {
    const before = await observable();
    for (const op of specOps) {
      if (op.public) continue;
      const headers = { authorization: `Bearer ${right[op.permission] ?? right['stats:read']!}` };
      // A transaction belongs to the principal that began it: commit and roll back one of this key's own.
      let txn: number | undefined;
      if (op.path === '/transaction/commit' || op.path === '/transaction/rollback') {
        const b = await fetch(`${s.base}/transaction/begin`, { method: 'POST', headers });
        txn = ((await b.json()) as { transaction_id: number }).transaction_id;
      }
      const r = await send(op, headers, txn === undefined ? {} : { txn });
      expect([401, 403], r.ctx).not.toContain(r.status);
      expect(r.status, r.ctx).toBeLessThan(500);
    }
    // Control for "nothing applied" above: the check sees these writes.
    expect(await observable()).not.toBe(before);
  });
});
