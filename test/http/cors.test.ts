import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * CORS (THEMIS_CORS_ORIGINS) against the real server: preflights are
 * answered before authentication, allowed origins get the Access-Control-*
 * headers on every response (errors included), other origins and requests
 * without Origin get none, and `*` never comes with credentials. Without the
 * setting nothing changes (OPTIONS stays 405).
 */

const APP = 'https://app.example.com';
const DEV = 'http://localhost:3000';
const EVIL = 'https://evil.example.com';
const NO_AUTH = { authorization: '' };

let list: StartedServer;
let any: StartedServer;
let off: StartedServer;

beforeAll(async () => {
  [list, any, off] = await Promise.all([
    // Written unnormalised (upper-case host, trailing slash): matched as browsers send Origin.
    startServer({ env: { THEMIS_CORS_ORIGINS: `https://APP.example.com/, ${DEV}` } }),
    startServer({ env: { THEMIS_CORS_ORIGINS: '*' } }),
    startServer(),
  ]);
});

afterAll(async () => {
  for (const srv of [list, any, off]) {
    if (!srv) continue;
    expect(await srv.stop()).toBe(0);
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
  }
});

function preflight(s: StartedServer, path: string, origin: string, method = 'PUT'): Promise<Response> {
  return s.req('OPTIONS', path, undefined, {
    ...NO_AUTH,
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'authorization, content-type',
  });
}

function listOf(h: string | null): string[] {
  return (h ?? '').split(',').map((x) => x.trim().toLowerCase());
}

describe('CORS with an explicit origin list', () => {
  it('answers a preflight from an allowed origin with 204 and no authentication', async () => {
    for (const origin of [APP, DEV]) {
      const r = await preflight(list, '/entities/users:1', origin);
      await expectStatus(r, 204);
      expect(await r.text()).toBe('');
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
      expect(r.headers.get('access-control-allow-credentials')).toBe('true');
      expect(listOf(r.headers.get('access-control-allow-methods')).sort()).toEqual(['delete', 'get', 'head', 'put']);
      expect(listOf(r.headers.get('access-control-allow-headers'))).toEqual(
        expect.arrayContaining(['authorization', 'content-type', 'x-transaction-id', 'x-request-id', 'last-event-id']),
      );
      expect(Number(r.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      expect(listOf(r.headers.get('vary'))).toContain('origin');
    }
  });

  it('lists the methods of the preflighted path', async () => {
    const r = await preflight(list, '/query/aql', APP, 'POST');
    await expectStatus(r, 204);
    expect(listOf(r.headers.get('access-control-allow-methods'))).toEqual(['post']);
  });

  it('refuses a preflight from another origin with 403 in the error format, without CORS headers', async () => {
    const r = await preflight(list, '/entities/users:1', EVIL);
    await expectStatus(r, 403);
    expect(await json(r)).toMatchObject({ error: true, status_code: 403, code: 'FORBIDDEN' });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(r.headers.get('access-control-allow-methods')).toBeNull();
    // A prefix or suffix of an allowed origin is another origin.
    await expectStatus(await preflight(list, '/health', `${APP}.evil.com`), 403);
    await expectStatus(await preflight(list, '/health', 'http://app.example.com'), 403);
    await expectStatus(await preflight(list, '/health', 'null'), 403);
  });

  it('a preflight of an unknown path is that path’s 404, still readable by the allowed origin', async () => {
    const r = await preflight(list, '/no/such/route', APP);
    await expectStatus(r, 404);
    expect((await json(r)).code).toBe('ROUTE_NOT_FOUND');
    expect(r.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('adds the headers to successes and to errors for an allowed origin', async () => {
    const put = await list.req('PUT', '/entities/cors:1', { blob: { a: 1 } }, { origin: APP });
    await expectStatus(put, 201);
    const get = await list.req('GET', '/entities/cors:1', undefined, { origin: APP });
    await expectStatus(get, 200);
    const unauth = await list.req('GET', '/entities/cors:1', undefined, { ...NO_AUTH, origin: APP });
    await expectStatus(unauth, 401);
    expect((await json(unauth)).code).toBe('UNAUTHORIZED');
    const missing = await list.req('GET', '/no/such/route', undefined, { origin: APP });
    await expectStatus(missing, 404);
    for (const r of [put, get, unauth, missing]) {
      expect(r.headers.get('access-control-allow-origin')).toBe(APP);
      expect(r.headers.get('access-control-allow-credentials')).toBe('true');
      expect(listOf(r.headers.get('vary'))).toContain('origin');
      expect(listOf(r.headers.get('access-control-expose-headers'))).toEqual(
        expect.arrayContaining([
          'x-request-id',
          'x-api-version',
          'retry-after',
          'x-ratelimit-limit',
          'x-ratelimit-remaining',
          'x-ratelimit-reset',
        ]),
      );
    }
  });

  it('adds none without Origin or for another origin (but Vary: Origin, for caches)', async () => {
    for (const headers of [{}, { origin: EVIL }] as Record<string, string>[]) {
      const r = await list.req('GET', '/health', undefined, headers);
      await expectStatus(r, 200);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      expect(r.headers.get('access-control-allow-credentials')).toBeNull();
      expect(r.headers.get('access-control-expose-headers')).toBeNull();
      expect(listOf(r.headers.get('vary'))).toContain('origin');
    }
  });

  it('an OPTIONS that is not a preflight (no Access-Control-Request-Method) is the usual 405', async () => {
    const r = await list.req('OPTIONS', '/entities/users:1', undefined, { ...NO_AUTH, origin: APP });
    await expectStatus(r, 405);
    expect((await json(r)).code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('CORS with *', () => {
  it('allows any origin, never with credentials', async () => {
    const p = await preflight(any, '/entities/users:1', EVIL);
    await expectStatus(p, 204);
    const g = await any.req('GET', '/entities/users:1', undefined, { ...NO_AUTH, origin: EVIL });
    await expectStatus(g, 401);
    for (const r of [p, g]) {
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    }
    expect(listOf(p.headers.get('access-control-allow-headers'))).toContain('authorization');
  });

  it('adds nothing to a request without Origin', async () => {
    const r = await any.req('GET', '/health', undefined, {});
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS off (the default)', () => {
  it('keeps OPTIONS as before and adds no CORS headers', async () => {
    const p = await preflight(off, '/entities/users:1', APP);
    await expectStatus(p, 405);
    expect((await json(p)).code).toBe('METHOD_NOT_ALLOWED');
    const g = await off.req('GET', '/health', undefined, { origin: APP });
    await expectStatus(g, 200);
    for (const r of [p, g]) {
      for (const h of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-credentials'])
        expect(r.headers.get(h)).toBeNull();
      expect(r.headers.get('vary')).toBeNull();
    }
  });

  it('refuses an invalid origin list at start (exit 2)', async () => {
    for (const bad of [
      'app.example.com',
      'https://app.example.com/path',
      'ftp://x.example.com',
      '*,https://a.example.com',
      'https://u:p@a.example.com',
    ]) {
      const s = await startServer({ env: { THEMIS_CORS_ORIGINS: bad }, waitReady: false });
      const deadline = Date.now() + 10_000;
      while (s.proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(s.proc.exitCode, bad).toBe(2);
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});
