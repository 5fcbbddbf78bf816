import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * Error handling against the real server: every failure is the contract's
 * JSON error `{error: true, message, status_code}` plus our stable `code`,
 * with no stack traces, and nothing is half-applied. The server survives bad
 * input, oversized and aborted bodies.
 */

const NO_AUTH = { authorization: '' };
/** Keys an error body may carry besides the four contract fields (documented extras). */
const ALLOWED_EXTRA = new Set(['field', 'limit_bytes']);

let s: StartedServer;
/** Second server with a small body limit. */
let small: StartedServer;
const LIMIT = 1024;

beforeAll(async () => {
  [s, small] = await Promise.all([startServer(), startServer({ env: { THEMIS_MAX_BODY_BYTES: String(LIMIT) } })]);
});

afterAll(async () => {
  for (const srv of [s, small]) {
    if (!srv) continue;
    expect(await srv.stop()).toBe(0);
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
  }
});

interface ErrorBody {
  error: true;
  message: string;
  status_code: number;
  code: string;
  field?: string;
  [k: string]: unknown;
}

/** Assert the contract's error format for the given status and code, and return the body. */
function checkErrorBody(body: unknown, status: number, code?: string): ErrorBody {
  expect(body).toBeTypeOf('object');
  const b = body as ErrorBody;
  expect(b.error).toBe(true);
  expect(b.status_code).toBe(status);
  if (code !== undefined) expect(b.code).toBe(code);
  else expect(b.code).toMatch(/^[A-Z_]+$/);
  expect(typeof b.message).toBe('string');
  expect(b.message.trim().length).toBeGreaterThan(0);
  // No stack traces, anywhere in the body.
  expect(b.message).not.toMatch(/\n\s+at /);
  expect(b).not.toHaveProperty('stack');
  expect(JSON.stringify(b)).not.toMatch(/\\n\s+at |node_modules|dist\/src\//);
  for (const k of Object.keys(b)) {
    if (!['error', 'message', 'status_code', 'code'].includes(k))
      expect(ALLOWED_EXTRA.has(k), `unexpected field "${k}" in error body`).toBe(true);
  }
  return b;
}

async function expectError(r: Response, status: number, code: string): Promise<ErrorBody> {
  await expectStatus(r, status);
  expect(r.headers.get('x-request-id')).toBeTruthy();
  expect(r.headers.get('x-api-version')).toBe('1.0.1');
  return checkErrorBody(await json(r), status, code);
}

async function expectAbsent(key: string): Promise<void> {
  const r = await s.req('GET', `/entities/${encodeURIComponent(key)}`);
  await expectError(r, 404, 'NOT_FOUND');
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The server closed the connection (socket closed while the keep-alive agent would have kept it). */
  socketClosed: Promise<boolean>;
}

/**
 * A request over node:http on a keep-alive agent, writing `chunks` one by one
 * (with a pause between them). Without `contentLength` the body is sent with
 * Transfer-Encoding: chunked.
 */
function rawRequest(
  srv: StartedServer,
  opts: { method: string; path: string; chunks: string[]; contentLength?: number; pauseMs?: number; headers?: Record<string, string> },
): Promise<RawResponse> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<RawResponse>((resolve, reject) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${ADMIN_KEY}`,
      'content-type': 'application/json',
      ...(opts.headers ?? {}),
    };
    if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
    const req = http.request({ host: '127.0.0.1', port: srv.port, method: opts.method, path: opts.path, headers, agent });
    let socketClosedResolve: (v: boolean) => void = () => {};
    const socketClosed = new Promise<boolean>((r) => (socketClosedResolve = r));
    req.on('socket', (sock) => sock.on('close', () => socketClosedResolve(true)));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        setTimeout(() => socketClosedResolve(false), 1000).unref();
        resolve({ status: res.statusCode!, headers: res.headers, body, socketClosed: socketClosed.finally(() => agent.destroy()) });
      });
    });
    // Writing after the server answered early and closed may fail: that is the point of those tests.
    req.on('error', (e) => reject(e));
    const pause = opts.pauseMs ?? 10;
    let i = 0;
    const next = () => {
      if (req.destroyed) return;
      if (i >= opts.chunks.length) {
        req.end();
        return;
      }
      req.write(opts.chunks[i++]!);
      setTimeout(next, pause);
    };
    next();
  });
}

describe('routing errors', () => {
  it.each([
    ['GET', '/no/such/route'],
    ['GET', '/entitiesx'],
    ['POST', '/nothing-here'],
    ['GET', '/entities/t:1/extra'],
    ['DELETE', '/nothing-here/'],
  ])('%s %s -> 404 ROUTE_NOT_FOUND (also without auth)', async (method, p) => {
    await expectError(await s.req(method, p), 404, 'ROUTE_NOT_FOUND');
    await expectError(await s.req(method, p, undefined, NO_AUTH), 404, 'ROUTE_NOT_FOUND');
  });

  it.each([
    ['PATCH', '/entities/x:1', ['GET', 'HEAD', 'PUT', 'DELETE']],
    ['POST', '/entities/x:1', ['GET', 'HEAD', 'PUT', 'DELETE']],
    ['POST', '/health', ['GET', 'HEAD']],
    ['DELETE', '/metrics', ['GET', 'HEAD']],
    ['GET', '/entities', ['POST']],
    ['HEAD', '/entities', ['POST']],
    ['PUT', '/stats', ['GET', 'HEAD']],
    // GET / answers a pointer to the system endpoints, so / is a route (it was a 404 before).
    ['DELETE', '/', ['GET', 'HEAD']],
  ])('%s %s -> 405 METHOD_NOT_ALLOWED with Allow', async (method, p, allowed) => {
    const r = await s.req(method, p);
    const allow = r.headers.get('allow');
    if (method === 'HEAD') {
      await expectStatus(r, 405);
      expect(await r.text()).toBe(''); // HEAD never carries a body
      expect([...allow!.split(',').map((x) => x.trim())].sort()).toEqual([...allowed].sort());
      return;
    }
    const _b = await expectError(r, 405, 'METHOD_NOT_ALLOWED');
    expect(allow).not.toBeNull();
    const listed = allow!.split(',').map((x) => x.trim());
    expect([...listed].sort()).toEqual([...allowed].sort());
  });
});

describe('authentication errors', () => {
  const protectedCalls: Array<[string, string, unknown]> = [
    ['GET', '/stats', undefined],
    ['GET', '/entities/t:1', undefined],
    ['DELETE', '/entities/t:1', undefined],
    ['PUT', '/entities/t:auth', { blob: '{"a":1}' }],
    ['POST', '/entities', { key: 't:auth2', blob: '{"a":1}' }],
  ];

  it.each(protectedCalls)('%s %s without Authorization -> 401 with a Bearer challenge', async (method, p, body) => {
    const r = await s.req(method, p, body, NO_AUTH);
    const challenge = r.headers.get('www-authenticate');
    await expectError(r, 401, 'UNAUTHORIZED');
    expect(challenge).toMatch(/^Bearer\b/);
    // No credentials presented: RFC 6750 says no error code in the challenge.
    expect(challenge).not.toContain('error=');
  });

  it.each(protectedCalls)('%s %s with a wrong token -> 401, error="invalid_token"', async (method, p, body) => {
    const r = await s.req(method, p, body, { authorization: 'Bearer wrong-token-wrong-token' });
    const challenge = r.headers.get('www-authenticate');
    await expectError(r, 401, 'UNAUTHORIZED');
    expect(challenge).toMatch(/^Bearer\b/);
    expect(challenge).toContain('error="invalid_token"');
  });

  it.each([
    `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}`,
    'Basic xxx',
    ADMIN_KEY,
    'Bearer',
    `Bearer ${ADMIN_KEY} extra`,
    `Token ${ADMIN_KEY}`,
  ])('a non-Bearer or malformed Authorization (%s) -> 401', async (authorization) => {
    const r = await s.req('GET', '/stats', undefined, { authorization });
    const challenge = r.headers.get('www-authenticate');
    const b = await expectError(r, 401, 'UNAUTHORIZED');
    expect(challenge).toMatch(/^Bearer\b/);
    // The secret is never echoed back.
    expect(b.message).not.toContain(ADMIN_KEY);
  });

  it('a rejected unauthenticated write is not applied', async () => {
    await expectAbsent('t:auth');
    await expectAbsent('t:auth2');
  });

  it('health and metrics work without auth and with a wrong token', async () => {
    for (const headers of [NO_AUTH, { authorization: 'Bearer nope-nope-nope' }]) {
      for (const p of ['/health', '/healthz', '/api/health', '/health/ready', '/metrics']) {
        const r = await s.req('GET', p, undefined, headers);
        expect(r.status, p).toBe(200);
        await r.arrayBuffer();
      }
    }
  });

  it('the admin key authenticates (case-insensitive scheme)', async () => {
    const r = await s.req('GET', '/stats', undefined, { authorization: `bearer ${ADMIN_KEY}` });
    await expectStatus(r, 200);
    await r.arrayBuffer();
  });
});

describe('request body and key validation on PUT /entities/{key}', () => {
  let n = 0;
  /** A fresh key per case, so "not applied" can be checked per case. */
  const freshKey = () => `t:bad${++n}`;

  async function rejectedPut(body: string, status: number, code: string, contentType = 'application/json'): Promise<ErrorBody> {
    const key = freshKey();
    const r = await s.req('PUT', `/entities/${key}`, body, { 'content-type': contentType });
    const b = await expectError(r, status, code);
    await expectAbsent(key);
    return b;
  }

  it.each(['{', '{"blob": }', "{'blob': '{}'}", '{"blob":"{}"', 'blob={}', '\u0000\u0001', '{"blob":"{}"}}', 'nul'])(
    'malformed JSON %j -> 400 INVALID_JSON',
    async (body) => {
      await rejectedPut(body, 400, 'INVALID_JSON');
    },
  );

  it('malformed JSON: the message says what is wrong', async () => {
    const b = await rejectedPut('{"blob": "{}", ', 400, 'INVALID_JSON');
    expect(b.message.toLowerCase()).toContain('json');
  });

  it('empty body -> 400', async () => {
    const key = freshKey();
    const r = await s.req('PUT', `/entities/${key}`, '', { 'content-type': 'application/json' });
    await expectError(r, 400, 'BAD_REQUEST');
    await expectAbsent(key);
  });

  it('no body at all -> 400', async () => {
    const key = freshKey();
    const r = await s.req('PUT', `/entities/${key}`);
    await expectError(r, 400, 'BAD_REQUEST');
    await expectAbsent(key);
  });

  it.each([
    ['a JSON array', '[{"blob":"{}"}]'],
    ['a JSON string', '"{\\"blob\\":\\"{}\\"}"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
    ['JSON true', 'true'],
  ])('body that is %s -> 400 VALIDATION_FAILED', async (_what, body) => {
    const b = await rejectedPut(body, 400, 'VALIDATION_FAILED');
    expect(b.field).toBe(''); // the body itself
  });

  it('missing blob -> 400 VALIDATION_FAILED naming "blob"', async () => {
    for (const body of ['{}', '{"data":"{}"}', '{"Blob":"{}"}']) {
      const b = await rejectedPut(body, 400, 'VALIDATION_FAILED');
      expect(b.field).toBe('blob');
    }
  });

  it.each([
    ['a number', 42],
    ['a boolean', true],
    ['null', null],
    ['an array', [1, 2]],
  ])('blob that is %s -> 400 VALIDATION_FAILED naming "blob"', async (_what, blob) => {
    const b = await rejectedPut(JSON.stringify({ blob }), 400, 'VALIDATION_FAILED');
    expect(b.field).toBe('blob');
  });

  it.each([
    ['not JSON', 'not json'],
    ['truncated JSON', '{"a":'],
    ['empty string', ''],
    ['single-quoted', "{'a':1}"],
  ])('blob string that is %s -> 400 INVALID_BLOB', async (_what, blob) => {
    await rejectedPut(JSON.stringify({ blob }), 400, 'INVALID_BLOB');
  });

  it.each([
    ['a JSON array', '[1,2,3]'],
    ['a JSON number', '42'],
    ['a JSON string', '"text"'],
    ['JSON null', 'null'],
  ])('blob string holding %s -> 400 INVALID_BLOB', async (_what, blob) => {
    await rejectedPut(JSON.stringify({ blob }), 400, 'INVALID_BLOB');
  });

  it('the same rejected PUT on an existing entity leaves it unchanged', async () => {
    const key = freshKey();
    await expectStatus(await s.req('PUT', `/entities/${key}`, { blob: '{"v":"original"}' }), 201);
    for (const body of ['{', '{}', JSON.stringify({ blob: 'nope' }), JSON.stringify({ blob: 5 }), '[]']) {
      const r = await s.req('PUT', `/entities/${key}`, body);
      await expectStatus(r, 400);
      checkErrorBody(await json(r), 400);
    }
    const g = await s.req('GET', `/entities/${key}`);
    expect(await json(g)).toEqual({ key, blob: '{"v":"original"}' });
  });

  const badKeys: Array<[string, string]> = [
    ['no colon', 'nokey'],
    ['empty table', ':x'],
    ['empty pk', 't:'],
    ['space in table (percent-encoded)', 'bad%20table:1'],
    ['dot in table', 'a.b:1'],
    ['slash in table (percent-encoded)', 'a%2Fb:1'],
    ['only a colon', ':'],
  ];

  it.each(badKeys)('invalid key (%s) -> 400 INVALID_KEY for GET, PUT and DELETE', async (_what, encoded) => {
    await expectError(await s.req('GET', `/entities/${encoded}`), 400, 'INVALID_KEY');
    await expectError(await s.req('PUT', `/entities/${encoded}`, { blob: '{"a":1}' }), 400, 'INVALID_KEY');
    await expectError(await s.req('DELETE', `/entities/${encoded}`), 400, 'INVALID_KEY');
  });

  it('invalid key in POST /entities -> 400 INVALID_KEY', async () => {
    for (const key of ['nokey', ':x', 't:', 'bad table:1', 'a.b:1']) {
      await expectError(await s.req('POST', '/entities', { key, blob: '{"a":1}' }), 400, 'INVALID_KEY');
    }
  });

  it('a key longer than 4096 bytes -> 400 INVALID_KEY', async () => {
    await expectError(await s.req('GET', `/entities/t:${'k'.repeat(5000)}`), 400, 'INVALID_KEY');
    await expectError(await s.req('POST', '/entities', { key: `t:${'k'.repeat(5000)}`, blob: '{}' }), 400, 'INVALID_KEY');
  });

  it('POST /entities field errors name the field', async () => {
    const notString = await expectError(await s.req('POST', '/entities', { key: 5, blob: '{}' }), 400, 'VALIDATION_FAILED');
    expect(notString.field).toBe('key');
    const mismatch = await expectError(
      await s.req('POST', '/entities', { key: 't:mm1', table: 'u', blob: '{}' }),
      400,
      'VALIDATION_FAILED',
    );
    expect(mismatch.field).toBe('table');
    await expectAbsent('t:mm1');
    await expectError(await s.req('POST', '/entities', { table: 'bad table', blob: '{}' }), 400, 'INVALID_KEY');
    const noBlob = await expectError(await s.req('POST', '/entities', { key: 't:mm2' }), 400, 'VALIDATION_FAILED');
    expect(noBlob.field).toBe('blob');
    await expectAbsent('t:mm2');
  });

  it.each(['t:%E0%A4%A', 't:%ZZ', 't:%', 't:%C3%28', 't:%ED%A0%80'])(
    'malformed percent-encoding %s -> 400 (GET, PUT, DELETE)',
    async (p) => {
      for (const [method, body] of [
        ['GET', undefined],
        ['PUT', { blob: '{}' }],
        ['DELETE', undefined],
      ] as const) {
        const r = await s.req(method, `/entities/${p}`, body);
        const b = await expectError(r, 400, 'BAD_REQUEST');
        expect(b.message).toMatch(/percent|encod/i);
      }
    },
  );
});

describe('POST /entities conflicts', () => {
  it('an existing key -> 409 CONFLICT and the original blob is unchanged', async () => {
    const key = 't:conflict1';
    const first = await s.req('POST', '/entities', { key, blob: '{"v":1}' });
    await expectStatus(first, 201);
    expect(await json(first)).toMatchObject({ success: true, key, blob_size: 7 });

    const second = await s.req('POST', '/entities', { key, blob: '{"v":2,"longer":true}' });
    const b = await expectError(second, 409, 'CONFLICT');
    expect(b.message).toContain(key);

    const g = await s.req('GET', `/entities/${key}`);
    expect(await json(g)).toEqual({ key, blob: '{"v":1}' });
  });

  it('a key made by PUT conflicts too', async () => {
    const key = 't:conflict2';
    await expectStatus(await s.req('PUT', `/entities/${key}`, { blob: '{"from":"put"}' }), 201);
    await expectError(await s.req('POST', '/entities', { key, blob: '{"from":"post"}' }), 409, 'CONFLICT');
    expect(await json(await s.req('GET', `/entities/${key}`))).toEqual({ key, blob: '{"from":"put"}' });
  });

  it('concurrent creates of one key: exactly one wins', async () => {
    const key = 't:conflict3';
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => s.req('POST', '/entities', { key, blob: JSON.stringify({ i }) })));
    const bodies = await Promise.all(rs.map((r) => r.text()));
    const statuses = rs.map((r) => r.status).sort();
    expect(
      statuses.filter((x) => x === 201),
      bodies.join('\n'),
    ).toHaveLength(1);
    expect(
      statuses.filter((x) => x === 409),
      bodies.join('\n'),
    ).toHaveLength(7);
    const winner = rs.findIndex((r) => r.status === 201);
    expect(await json(await s.req('GET', `/entities/${key}`))).toEqual({ key, blob: JSON.stringify({ i: winner }) });
  });
});

describe('body size limit (THEMIS_MAX_BODY_BYTES=1024)', () => {
  const bodyOfSize = (bytes: number): string => {
    const frame = JSON.stringify({ blob: JSON.stringify({ p: '' }) });
    const pad = bytes - Buffer.byteLength(frame);
    const out = JSON.stringify({ blob: JSON.stringify({ p: 'x'.repeat(pad) }) });
    expect(Buffer.byteLength(out)).toBe(bytes);
    return out;
  };

  it('a declared Content-Length over the limit -> 413 PAYLOAD_TOO_LARGE and the connection is closed', async () => {
    const body = bodyOfSize(2000);
    const r = await rawRequest(small, { method: 'PUT', path: '/entities/t:big1', chunks: [body], contentLength: 2000 });
    await expectStatus(r, 413);
    const b = checkErrorBody(JSON.parse(r.body), 413, 'PAYLOAD_TOO_LARGE');
    expect(b.limit_bytes).toBe(LIMIT);
    expect(r.headers['x-request-id']).toBeTruthy();
    expect(r.headers['x-api-version']).toBe('1.0.1');
    expect(r.headers.connection).toBe('close');
    expect(await r.socketClosed).toBe(true);
  });

  it('the same via fetch', async () => {
    const r = await small.req('PUT', '/entities/t:big2', bodyOfSize(2000));
    await expectError(r, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a chunked body growing over the limit -> 413 and the connection is closed', async () => {
    const chunks = Array.from({ length: 10 }, () => 'x'.repeat(250)); // 2500 bytes in total
    let r: RawResponse;
    try {
      r = await rawRequest(small, { method: 'PUT', path: '/entities/t:big3', chunks, pauseMs: 20 });
    } catch (e) {
      throw new Error(`expected a 413 response before the connection closed: ${(e as Error).message}`);
    }
    await expectStatus(r, 413);
    checkErrorBody(JSON.parse(r.body), 413, 'PAYLOAD_TOO_LARGE');
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.headers.connection).toBe('close');
    expect(await r.socketClosed).toBe(true);
  });

  it('a body just under the limit works, sized or chunked', async () => {
    const body = bodyOfSize(LIMIT - 1);
    const r1 = await rawRequest(small, { method: 'PUT', path: '/entities/t:fits1', chunks: [body], contentLength: LIMIT - 1 });
    await expectStatus(r1, 201);
    expect(JSON.parse(r1.body)).toMatchObject({ success: true, key: 't:fits1' });
    // Control for the 413 tests: a successful request keeps the connection open.
    expect(r1.headers.connection).not.toBe('close');
    expect(await r1.socketClosed).toBe(false);

    const exact = bodyOfSize(LIMIT);
    const r2 = await rawRequest(small, {
      method: 'PUT',
      path: '/entities/t:fits2',
      chunks: [exact.slice(0, 300), exact.slice(300, 700), exact.slice(700)],
    });
    await expectStatus(r2, 201);

    const g = await small.req('GET', '/entities/t:fits2');
    expect((await json<{ blob: string }>(g)).blob).toBe(JSON.parse(exact).blob);
  });

  it('the oversized writes were not applied and the server still answers', async () => {
    for (const k of ['t:big1', 't:big2', 't:big3']) {
      await expectError(await small.req('GET', `/entities/${k}`), 404, 'NOT_FOUND');
    }
    const h = await small.req('GET', '/health');
    await expectStatus(h, 200);
    expect(await json(h)).toMatchObject({ status: 'healthy' });
  });
});

describe('robustness', () => {
  function randomPath(): string {
    const segs = 1 + crypto.randomInt(4);
    const parts: string[] = [];
    for (let i = 0; i < segs; i++) parts.push(encodeURIComponent(crypto.randomBytes(1 + crypto.randomInt(12)).toString('latin1')));
    return `/zz${parts.join('/')}`;
  }

  it('survives a burst of 200 garbage requests in parallel, answering each with a proper error', async () => {
    const methods = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'];
    const jobs: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) {
      const kind = i % 4;
      jobs.push(
        (async () => {
          let r: Response;
          if (kind === 0) {
            // Random bytes as a body to a valid route.
            const body = crypto.randomBytes(1 + crypto.randomInt(300));
            r = await fetch(`${s.base}/entities/t:burst${i}`, {
              method: 'PUT',
              body,
              headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
            });
          } else if (kind === 1) {
            r = await s.req(methods[crypto.randomInt(methods.length)]!, randomPath());
          } else if (kind === 2) {
            // Random bytes to POST /entities.
            const body = crypto.randomBytes(1 + crypto.randomInt(300));
            r = await fetch(`${s.base}/entities`, { method: 'POST', body, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
          } else {
            // Random (percent-encoded) bytes as an entity key.
            r = await s.req('GET', `/entities/${encodeURIComponent(crypto.randomBytes(1 + crypto.randomInt(20)).toString('latin1'))}`);
          }
          expect([400, 404, 405], `HTTP ${r.status}: ${await r.clone().text()}`).toContain(r.status);
          checkErrorBody(await json(r), r.status);
        })(),
      );
    }
    await Promise.all(jobs);
    const h = await s.req('GET', '/health');
    await expectStatus(h, 200);
    expect(await json(h)).toMatchObject({ status: 'healthy' });
    expect(s.proc.exitCode).toBeNull();
  });

  it('an aborted request does not crash the server and counts as an error', async () => {
    const before = await (await fetch(`${s.base}/metrics`)).text();
    const errorsBefore = Number(/^vccdb_errors_total (\d+)$/m.exec(before)![1]);

    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port: s.port,
        method: 'PUT',
        path: '/entities/t:aborted',
        agent: false,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'content-length': '100000' },
      });
      req.on('error', () => {});
      req.write(`{"blob":"${'x'.repeat(49_991)}`, () => {
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
    });

    let errorsAfter = errorsBefore;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const text = await (await fetch(`${s.base}/metrics`)).text();
      errorsAfter = Number(/^vccdb_errors_total (\d+)$/m.exec(text)![1]);
      if (errorsAfter > errorsBefore) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(errorsAfter).toBe(errorsBefore + 1);

    const h = await s.req('GET', '/health');
    await expectStatus(h, 200);
    expect(s.proc.exitCode).toBeNull();
    await expectAbsent('t:aborted');
    // The aborted request shows up in the duration histogram with status "aborted".
    const text = await (await fetch(`${s.base}/metrics`)).text();
    expect(text).toMatch(/^themis_http_request_duration_seconds_count\{[^}]*route="\/entities\/:key"[^}]*status="aborted"[^}]*\} 1$/m);
  });

  it('no stack traces leaked to stdout and nothing logged at error level for client errors', () => {
    expect(s.stdout()).not.toMatch(/\n\s+at /);
    const errorLines = s
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"level":"error"'));
    expect(errorLines).toEqual([]);
  });
});
