import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { expectStatus, json, sleep, startServer, type StartedServer } from '../helpers/server.js';

/** Every file under `dir`, concatenated as latin1 (so any byte sequence of the secret shows up). */
function allBytes(dir: string): string {
  let out = '';
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out += e.isDirectory() ? allBytes(p) : fs.readFileSync(p).toString('latin1');
  }
  return out;
}

/** One keep-alive connection: every request goes over the same socket (asserted). */
function keepAlive(port: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let first: Socket | undefined;
  const send = (method: string, p: string, token: string, body?: unknown) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          path: p,
          agent,
          headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
        },
      );
      req.on('socket', (s: Socket) => {
        first ??= s;
        if (s !== first) reject(new Error('the keep-alive connection was not reused'));
      });
      req.on('error', reject);
      req.end(payload);
    });
  return { send, close: () => agent.destroy() };
}

describe('API keys (/api/keys)', () => {
  const servers: StartedServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });
  const start = async (dataDir?: string) => {
    const s = await startServer({ env: { THEMIS_LOG_LEVEL: 'debug' }, ...(dataDir ? { dataDir } : {}) });
    servers.push(s);
    return s;
  };

  it('create, use, restart: the key still works, its secret is nowhere in the data directory or the logs; revoke is 401 on the same keep-alive connection', async () => {
    const a = await start();
    const cr = await a.req('POST', '/api/keys', { name: 'reader', permissions: ['stats:read', 'data:read'], metadata: { team: 'bi' } });
    await expectStatus(cr, 201);
    const created = await json(cr);
    expect(created).toMatchObject({ name: 'reader', permissions: ['stats:read', 'data:read'], expires_at: null });
    const secret = created.secret as string;
    const keyId = created.keyId as string;
    expect(secret).toMatch(/^tsk_[A-Za-z0-9_-]{43,}$/);
    expect(Buffer.from(secret.slice(4), 'base64url').length).toBeGreaterThanOrEqual(32);

    // Used: allowed routes work, others are 403.
    await expectStatus(await a.req('GET', '/stats', undefined, { authorization: `Bearer ${secret}` }), 200);
    await expectStatus(await a.req('PUT', '/entities/t:1', { blob: '{}' }, { authorization: `Bearer ${secret}` }), 403);
    await expectStatus(await a.req('GET', '/api/keys', undefined, { authorization: `Bearer ${secret}` }), 403);
    // GET shows last_used_at at once (in memory), never the secret or a hash.
    const got = await a.req('GET', `/api/keys/${keyId}`);
    const gotText = await got.text();
    expect(got.status).toBe(200);
    const info = JSON.parse(gotText) as Record<string, unknown>;
    expect(info).toMatchObject({ keyId, name: 'reader', revoked: false, revoked_at: null, expired: false, metadata: { team: 'bi' } });
    expect(typeof info.last_used_at).toBe('string');
    expect(gotText).not.toContain(secret);
    expect(Object.keys(info)).not.toContain('hash');
    const listText = await (await a.req('GET', '/api/keys')).text();
    expect(listText).not.toContain(secret);
    expect(JSON.parse(listText)).toMatchObject({ total: 1, page: 1, page_size: 50 });

    expect(await a.stop()).toBe(0);
    const b = await start(a.dataDir);
    // last_used_at was written at shutdown.
    expect((await json(await b.req('GET', `/api/keys/${keyId}`))).last_used_at).toBe(info.last_used_at);

    const conn = keepAlive(b.port);
    try {
      expect((await conn.send('GET', '/stats', secret)).status).toBe(200);
      expect((await conn.send('GET', '/stats', secret)).status).toBe(200);
      // Permission change takes effect on the next request of the same connection.
      await expectStatus(await b.req('PUT', `/api/keys/${keyId}`, { permissions: ['data:read'] }), 200);
      expect((await conn.send('GET', '/stats', secret)).status).toBe(403);
      await expectStatus(await b.req('PUT', `/api/keys/${keyId}`, { permissions: ['stats:read'] }), 200);
      expect((await conn.send('GET', '/stats', secret)).status).toBe(200);
      const rv = await b.req('DELETE', `/api/keys/${keyId}`);
      await expectStatus(rv, 200);
      const revoked = await json(rv);
      expect(revoked).toMatchObject({ success: true, keyId, revoked_at: expect.any(String) });
      const after = await conn.send('GET', '/stats', secret);
      expect(after.status).toBe(401);
      expect(after.body).toMatchObject({ error: true, code: 'UNAUTHORIZED', status_code: 401 });
    } finally {
      conn.close();
    }
    // Revoked: hidden from the default list, shown with include_revoked; cannot be changed; revoking again is idempotent.
    expect((await json(await b.req('GET', '/api/keys'))).total).toBe(0);
    const all = await json(await b.req('GET', '/api/keys?include_revoked=true'));
    expect(all).toMatchObject({ total: 1, keys: [{ keyId, revoked: true }] });
    await expectStatus(await b.req('PUT', `/api/keys/${keyId}`, { name: 'x' }), 409);
    await expectStatus(await b.req('DELETE', `/api/keys/${keyId}`), 200);
    expect(await b.stop()).toBe(0);

    // Revocation survives a restart.
    const c = await start(a.dataDir);
    await expectStatus(await c.req('GET', '/stats', undefined, { authorization: `Bearer ${secret}` }), 401);
    expect(await c.stop()).toBe(0);

    const logs = a.stdout() + a.stderr() + b.stdout() + b.stderr() + c.stdout() + c.stderr();
    expect(logs).toContain(keyId); // the logs do mention the key (by id) ...
    expect(logs).not.toContain(secret); // ... never its secret
    const bytes = allBytes(a.dataDir);
    expect(bytes).toContain(keyId);
    expect(bytes).not.toContain(secret);
    expect(bytes).not.toContain(secret.slice(4));
  });

  it('an expired key is 401 on the next request of the same keep-alive connection', async () => {
    const s = await start();
    const created = await json(
      await s.req('POST', '/api/keys', { name: 'short', permissions: ['stats:read'], expires_in_days: 2 / 86_400 }),
    );
    expect(Date.parse(created.expires_at as string) - Date.parse(created.created_at as string)).toBe(2000);
    const conn = keepAlive(s.port);
    try {
      expect((await conn.send('GET', '/stats', created.secret as string)).status).toBe(200);
      await sleep(2100);
      expect((await conn.send('GET', '/stats', created.secret as string)).status).toBe(401);
    } finally {
      conn.close();
    }
    expect(await json(await s.req('GET', `/api/keys/${created.keyId as string}`))).toMatchObject({ expired: true, revoked: false });
  });

  it('a key with its own rate_limit is limited by it (429 RATE_LIMITED with X-RateLimit-*), shown by GET, changed by PUT; a bad limit is 400 naming rate_limit', async () => {
    const s = await start();
    const created = await json(await s.req('POST', '/api/keys', { name: 'slow', permissions: ['stats:read'], rate_limit: '2/10s' }));
    const get = () => fetch(`http://127.0.0.1:${s.port}/stats`, { headers: { authorization: `Bearer ${created.secret as string}` } });
    const r1 = await get();
    expect(r1.status).toBe(200);
    expect(r1.headers.get('x-ratelimit-limit')).toBe('2');
    expect((await get()).status).toBe(200);
    const r3 = await get();
    expect(r3.status).toBe(429);
    expect(await r3.json()).toMatchObject({ error: true, status_code: 429, code: 'RATE_LIMITED' });
    expect(Number(r3.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await json(await s.req('GET', `/api/keys/${created.keyId as string}`))).toMatchObject({ rate_limit: '2/10s' });
    // The admin key has no limit of its own (THEMIS_RATE_LIMIT is off): unaffected.
    expect((await s.req('GET', '/stats')).status).toBe(200);
    // Lifting the key's limit takes effect on its next request.
    expect(await json(await s.req('PUT', `/api/keys/${created.keyId as string}`, { rate_limit: null }))).toMatchObject({
      rate_limit: null,
    });
    expect((await get()).status).toBe(200);
    const bad = await s.req('POST', '/api/keys', { name: 'x', permissions: [], rate_limit: 'fast' });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'rate_limit' });
  });

  it('validation: unknown permission, unknown field, missing name, bad page_size -> 400 naming the field; unknown key -> 404; non-admin key -> 403', async () => {
    const s = servers.at(-1)!;
    const bad = async (body: unknown, field: string) => {
      const r = await s.req('POST', '/api/keys', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(await r.json()).toMatchObject({ code: 'VALIDATION_FAILED', field });
    };
    await bad({ name: 'x', permissions: ['stats:read', 'root'] }, 'permissions.1');
    await bad({ name: 'x', permissions: [], extra: 1 }, 'extra');
    await bad({ permissions: [] }, 'name');
    await bad({ name: 'x', permissions: [], expires_in_days: 0 }, 'expires_in_days');
    const pr = await s.req('PUT', '/api/keys/key_nope', { permissions: ['data:delete:users'] });
    expect(await pr.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'permissions.0' });
    const pg = await s.req('GET', '/api/keys?page_size=101');
    expect(pg.status).toBe(400);
    expect(await pg.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'page_size' });
    for (const [m, b] of [
      ['GET', undefined],
      ['PUT', { name: 'y' }],
      ['DELETE', undefined],
    ] as const) {
      const r = await s.req(m, '/api/keys/key_nope', b);
      expect(r.status, m).toBe(404);
      expect(await r.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    // Every new permission name is accepted; a data:write key may not manage keys.
    const all = [
      'admin',
      'audit:read',
      'stats:read',
      'query:execute',
      'classify:read',
      'reports:read',
      'data:read',
      'data:write',
      'pii:reveal',
      '*',
    ];
    await expectStatus(await s.req('POST', '/api/keys', { name: 'all', permissions: all }), 201);
    const w = await json(await s.req('POST', '/api/keys', { name: 'writer', permissions: ['data:write'] }));
    const auth = { authorization: `Bearer ${w.secret as string}` };
    await expectStatus(await s.req('PUT', '/entities/t:1', { blob: '{}' }, auth), 201);
    for (const [m, p, b] of [
      ['POST', '/api/keys', { name: 'escalate', permissions: ['admin'] }],
      ['GET', '/api/keys', undefined],
      ['GET', `/api/keys/${w.keyId as string}`, undefined],
      ['PUT', `/api/keys/${w.keyId as string}`, { permissions: ['admin'] }],
      ['DELETE', `/api/keys/${w.keyId as string}`, undefined],
    ] as const) {
      const r = await s.req(m, p, b, auth);
      expect(r.status, `${m} ${p}`).toBe(403);
      expect(await r.json()).toMatchObject({ code: 'FORBIDDEN' });
    }
    // Nothing changed by the refused requests.
    expect((await json(await s.req('GET', `/api/keys/${w.keyId as string}`))).permissions).toEqual(['data:write']);
    // An admin API key may manage keys.
    const adm = await json(await s.req('POST', '/api/keys', { name: 'ops', permissions: ['admin'] }));
    await expectStatus(await s.req('GET', '/api/keys', undefined, { authorization: `Bearer ${adm.secret as string}` }), 200);
  });

  it('pages: page and page_size slice the list, oldest first; total counts all', async () => {
    const s = await start();
    for (let i = 0; i < 5; i++) await expectStatus(await s.req('POST', '/api/keys', { name: `k${i}`, permissions: [] }), 201);
    const p2 = await json(await s.req('GET', '/api/keys?page=2&page_size=2'));
    expect(p2).toMatchObject({ total: 5, page: 2, page_size: 2 });
    expect((p2.keys as { name: string }[]).map((k) => k.name)).toEqual(['k2', 'k3']);
    const p3 = await json(await s.req('GET', '/api/keys?page=3&page_size=2'));
    expect((p3.keys as { name: string }[]).map((k) => k.name)).toEqual(['k4']);
  });
});
