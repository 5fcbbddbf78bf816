import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { Authenticator, tableAccessOf, type Principal } from '../../src/security/index.js';
import { afterNext, HttpServer, Router, SchemaRegistry, type ResponseInfo } from '../../src/server/index.js';

/**
 * The request middleware chain in the adapter (src/server/chain.ts): the
 * order of the default links as a client sees it, links added with use(),
 * and response hooks observing every outcome.
 */

const ADMIN = 'Bearer chain-admin-secret-123';
const READER: Principal = {
  id: 'reader-key',
  kind: 'api_key',
  name: 'reader',
  permissions: new Set(['data:read']),
  access: tableAccessOf(['data:read']),
};

/** The admin secret, plus a key that may only read (Authenticator has no narrower keys yet). */
class TestAuthenticator extends Authenticator {
  constructor() {
    super();
    this.addAdminSecret(ADMIN.slice('Bearer '.length));
  }
  override authenticate(authorization: string): Principal | Promise<Principal> {
    return authorization === 'Bearer reader' ? READER : super.authenticate(authorization);
  }
}

function router(): Router {
  return new Router()
    .add({ method: 'GET', path: '/ok', auth: false, handler: () => ({ json: { ok: true } }) })
    .add({ method: 'GET', path: '/who', permission: 'data:read', handler: (req) => ({ json: { principal: req.principal?.id } }) })
    .add({
      method: 'POST',
      path: '/echo',
      permission: 'data:write',
      body: 'EntityPutRequest',
      handler: async (req) => ({ json: req.body }),
    })
    .add({ method: 'DELETE', path: '/thing', permission: 'data:write', handler: () => ({ json: { deleted: true } }) });
}

const MAX_BODY = 1024;
const lines: string[] = [];

async function start(): Promise<{ server: HttpServer; base: string }> {
  const server = new HttpServer(
    router(),
    SchemaRegistry.fromOpenApi(),
    new TestAuthenticator(),
    createMetrics(),
    createLogger('info', (l) => lines.push(l)),
    {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: MAX_BODY,
    },
  );
  return { server, base: `http://127.0.0.1:${await server.listen()}` };
}

/** A POST whose body is sent chunked (no Content-Length), so the server must read it to learn its size. */
function postChunked(
  base: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      base + path,
      { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    // Two writes: the body arrives in more than one onData chunk.
    req.write(body.slice(0, body.length >> 1));
    setTimeout(() => req.end(body.slice(body.length >> 1)), 5);
  });
}

const big = JSON.stringify({ blob: { pad: 'x'.repeat(MAX_BODY * 4) } });

describe('the default chain', () => {
  let server: HttpServer;
  let base: string;
  const seen: ResponseInfo[] = [];
  beforeAll(async () => {
    ({ server, base } = await start());
    // Copy: a hook must not rely on the object outliving the call.
    server.onResponse((r) => void seen.push({ ...r }));
    server.onResponse(() => {
      throw new Error('a broken hook');
    });
  });
  afterAll(async () => {
    await server.close(1000);
  });
  const find = (id: string) => seen.find((r) => r.requestId === id);

  it('runs in the documented order', () => {
    expect(server.chain()).toEqual(['request-id', 'admit', 'route', 'authenticate', 'rate-limit', 'permission', 'body', 'handler']);
  });

  it('authentication before the body: a bad key with an over-large body is 401, not 413 (declared or chunked)', async () => {
    const declared = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(401);
    expect(await declared.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    const chunked = await postChunked(base, '/echo', { authorization: 'Bearer wrong' }, big);
    expect(chunked.status).toBe(401);
    expect(JSON.parse(chunked.body)).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('permission before the body: a key lacking the permission with an over-large body is 403, not 413', async () => {
    const r = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer reader', 'content-type': 'application/json' },
      body: big,
    });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ code: 'FORBIDDEN' });
    // The same key passes where its permission suffices.
    const who = await fetch(`${base}/who`, { headers: { authorization: 'Bearer reader' } });
    expect(await who.json()).toEqual({ principal: 'reader-key' });
  });

  it('routing before authentication: an unknown path is 404 and a wrong method 405 with Allow, whatever the key', async () => {
    const nf = await fetch(`${base}/nope`, { headers: { authorization: 'Bearer wrong' } });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    const na = await fetch(`${base}/echo`, { method: 'PUT', headers: { authorization: 'Bearer wrong' } });
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toBe('POST');
    expect(await na.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('an allowed caller gets the body checked: 413 over the limit, the parsed body within it', async () => {
    const tooBig = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      body: big,
    });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const ok = await postChunked(base, '/echo', { authorization: ADMIN }, JSON.stringify({ blob: { a: 1 } }));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ blob: { a: 1 } });
  });

  it('response hooks see every outcome once, with status, error code, route, principal, request id and duration; a throwing hook breaks nothing', async () => {
    const send = (path: string, id: string, init: RequestInit = {}) =>
      fetch(base + path, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-request-id': id } });
    expect((await send('/ok', 'hook-200')).status).toBe(200);
    expect((await send('/who', 'hook-401')).status).toBe(401);
    expect((await send('/who', 'hook-405', { headers: { authorization: 'Bearer reader' }, method: 'DELETE' })).status).toBe(405);
    expect((await send('/thing', 'hook-403', { headers: { authorization: 'Bearer reader' }, method: 'DELETE' })).status).toBe(403);
    expect((await send('/missing', 'hook-404')).status).toBe(404);
    expect(
      (
        await send('/echo', 'hook-413', {
          method: 'POST',
          headers: { authorization: ADMIN, 'content-type': 'application/json' },
          body: big,
        })
      ).status,
    ).toBe(413);
    expect(
      (
        await send('/echo', 'hook-400', {
          method: 'POST',
          headers: { authorization: ADMIN, 'content-type': 'application/json' },
          body: '{"blob": ',
        })
      ).status,
    ).toBe(400);

    expect(find('hook-200')).toMatchObject({
      method: 'GET',
      path: '/ok',
      route: '/ok',
      status: 200,
      errorCode: undefined,
      principal: undefined,
    });
    expect(find('hook-401')).toMatchObject({ method: 'GET', route: '/who', status: 401, errorCode: 'UNAUTHORIZED', principal: undefined });
    expect(find('hook-405')).toMatchObject({ method: 'DELETE', route: '<unmatched>', status: 405, errorCode: 'METHOD_NOT_ALLOWED' });
    expect(find('hook-403')).toMatchObject({
      method: 'DELETE',
      route: '/thing',
      status: 403,
      errorCode: 'FORBIDDEN',
      principal: { id: 'reader-key' },
    });
    expect(find('hook-404')).toMatchObject({
      method: 'GET',
      path: '/missing',
      route: '<unmatched>',
      status: 404,
      errorCode: 'ROUTE_NOT_FOUND',
    });
    expect(find('hook-413')).toMatchObject({
      method: 'POST',
      route: '/echo',
      status: 413,
      errorCode: 'PAYLOAD_TOO_LARGE',
      principal: { id: 'env-admin' },
    });
    expect(find('hook-400')).toMatchObject({ route: '/echo', status: 400, errorCode: 'INVALID_JSON' });
    for (const id of ['hook-200', 'hook-401', 'hook-404', 'hook-413']) {
      expect(seen.filter((r) => r.requestId === id)).toHaveLength(1);
      expect(find(id)!.durationMs).toBeGreaterThanOrEqual(0);
    }
    const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'response hook failed');
    expect(failures.map((l) => l.request_id)).toEqual(expect.arrayContaining(['hook-200', 'hook-401', 'hook-404', 'hook-413']));
  });

  it('a request whose client goes away is reported with status 0', async () => {
    const hang = new Router().add({ method: 'GET', path: '/hang', auth: false, handler: () => new Promise(() => {}) });
    const s = new HttpServer(hang, SchemaRegistry.fromOpenApi(), new Authenticator(), createMetrics(), createLogger('silent'), {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: MAX_BODY,
    });
    const statuses: number[] = [];
    s.onResponse((r) => void statuses.push(r.status));
    const port = await s.listen();
    const ctl = new AbortController();
    const pending = fetch(`http://127.0.0.1:${port}/hang`, { signal: ctl.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    ctl.abort();
    await pending;
    for (let i = 0; i < 50 && statuses.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(statuses).toEqual([0]);
    await s.close(100);
  });
});

describe('links added with use()', () => {
  let server: HttpServer;
  let base: string;
  beforeAll(async () => {
    ({ server, base } = await start());
    server
      // Before routing, on every response (errors included): what CORS will do.
      .use({ name: 'stamp', run: (ctx, next) => (ctx.setHeader('X-Stamp', 'yes'), next()) }, { after: 'request-id' })
      // Short-circuit before routing: answers a path no route has.
      .use(
        { name: 'short', run: (ctx, next) => (ctx.path === '/short' ? void (ctx.reply = { status: 202, json: { short: true } }) : next()) },
        { before: 'route' },
      )
      // After authentication: refuses with an error reply (what the rate limit will do).
      .use(
        {
          name: 'refuse',
          run: (ctx, next) => {
            if (ctx.header('x-refuse') !== '') throw new ThemisError('UNAVAILABLE', 'refused by a link');
            return next();
          },
          headers: ['x-refuse'],
        },
        { after: 'authenticate' },
      )
      // Asynchronous before the body: the body must still arrive whole, and the limit still hold.
      .use(
        {
          name: 'slow',
          run: async (ctx, next) => {
            if (ctx.header('x-slow') !== '') await new Promise((r) => setTimeout(r, 20));
            await next();
          },
          headers: ['x-slow'],
        },
        { before: 'body' },
      )
      // After the handler: decorates the reply (synchronous when the rest is).
      .use({
        name: 'decorate',
        run: (ctx, next) => afterNext(next(), () => ctx.reply && 'json' in ctx.reply && (ctx.reply.headers = { 'X-Decorated': ctx.route })),
      });
  });
  afterAll(async () => {
    await server.close(1000);
  });

  it('are placed where asked', () => {
    expect(server.chain()).toEqual([
      'request-id',
      'stamp',
      'admit',
      'short',
      'route',
      'authenticate',
      'refuse',
      'rate-limit',
      'permission',
      'slow',
      'body',
      'decorate',
      'handler',
    ]);
    expect(() => server.use({ name: 'x', run: (_c, n) => n() }, { before: 'nope' })).toThrow(TypeError);
    expect(() => server.use({ name: 'stamp', run: (_c, n) => n() })).toThrow(TypeError);
  });

  it('a header set by a link is on success and error replies alike', async () => {
    const ok = await fetch(`${base}/ok`);
    expect(ok.headers.get('x-stamp')).toBe('yes');
    expect(ok.headers.get('x-decorated')).toBe('/ok');
    const nf = await fetch(`${base}/nope`);
    expect(nf.status).toBe(404);
    expect(nf.headers.get('x-stamp')).toBe('yes');
    expect(nf.headers.get('x-request-id')).toBeTruthy();
  });

  it('a link can answer without calling next()', async () => {
    const r = await fetch(`${base}/short`);
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ short: true });
  });

  it('an error thrown in a link becomes the error reply, after authentication has run', async () => {
    const r = await fetch(`${base}/who`, { headers: { authorization: ADMIN, 'x-refuse': '1' } });
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ error: true, code: 'UNAVAILABLE', status_code: 503 });
    expect((await fetch(`${base}/who`, { headers: { 'x-refuse': '1' } })).status).toBe(401);
  });

  it('an asynchronous link before the body: the body is held until read, and the limit still applies', async () => {
    const ok = await postChunked(base, '/echo', { authorization: ADMIN, 'x-slow': '1' }, JSON.stringify({ blob: { n: 2 } }));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ blob: { n: 2 } });
    const fetched = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { authorization: ADMIN, 'x-slow': '1', 'content-type': 'application/json' },
      body: '{"blob":{"list":[1,2,3]}}',
    });
    expect(await fetched.json()).toEqual({ blob: { list: [1, 2, 3] } });
    const tooBig = await postChunked(base, '/echo', { authorization: ADMIN, 'x-slow': '1' }, big);
    expect(tooBig.status).toBe(413);
    // A body sent to a route that takes none is read and dropped, also behind the slow link.
    const del = await fetch(`${base}/thing`, { method: 'DELETE', headers: { authorization: ADMIN, 'x-slow': '1' }, body: 'ignored' });
    expect(await del.json()).toEqual({ deleted: true });
  });
});
