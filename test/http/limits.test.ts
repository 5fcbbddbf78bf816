import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startServer, type StartedServer } from '../helpers/server.js';

/**
 * Request limits against the real server (issue 13, items 3–5): JSON nesting
 * depth, body size with a graceful (lingering) 413, bodies on routes that
 * take none, header size. Every refusal is the contract's error format with
 * a stable code, nothing is applied, and the server keeps serving.
 */

const SLOW = process.env.THEMIS_SLOW === '1';
const AUTH = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const MiB = 1024 * 1024;

let s: StartedServer;
/** THEMIS_MAX_JSON_DEPTH at its ceiling (1024) and a small header limit. */
let wide: StartedServer;

beforeAll(async () => {
  [s, wide] = await Promise.all([startServer(), startServer({ env: { THEMIS_MAX_JSON_DEPTH: '1024', THEMIS_MAX_HEADER_BYTES: '4096' } })]);
});

afterAll(async () => {
  for (const srv of [s, wide]) {
    if (!srv) continue;
    expect(await srv.stop()).toBe(0);
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
  }
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

async function send(
  srv: StartedServer,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = AUTH,
): Promise<Answer> {
  const r = await fetch(srv.base + path, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(30_000) });
  const text = await r.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    parsed = { unparsable: text.slice(0, 200) };
  }
  return { status: r.status, body: parsed, text, headers: r.headers };
}

/** The contract's error format with our code; the status line and status_code agree; no stack trace. */
function expectError(a: Answer, status: number, code: string): Record<string, unknown> {
  expect(a.status, a.text).toBe(status);
  expect(a.body.error, a.text).toBe(true);
  expect(a.body.status_code, a.text).toBe(status);
  expect(a.body.code, a.text).toBe(code);
  expect(typeof a.body.message).toBe('string');
  expect(a.text).not.toMatch(/\bat .*\.(js|ts):\d+|node_modules|RangeError|Maximum call stack/);
  return a.body;
}

async function expectHealthy(srv: StartedServer): Promise<void> {
  const h = await send(srv, 'GET', '/health', undefined, {});
  expect(h.status, h.text).toBe(200);
  expect(h.body.status).toBe('healthy');
  expect(srv.proc.exitCode).toBeNull();
}

const arrays = (n: number, inner = '1') => '['.repeat(n) + inner + ']'.repeat(n);
const objects = (n: number, inner = '1') => '{"a":'.repeat(n) + inner + '}'.repeat(n);

describe('JSON nesting depth (THEMIS_MAX_JSON_DEPTH, default 256)', () => {
  it('a blob object nested 10,000 levels -> 400 JSON_TOO_DEEP naming the limit, nothing stored (PUT and POST)', async () => {
    const put = expectError(await send(s, 'PUT', '/entities/deep:1', `{"blob":${objects(10_000)}}`), 400, 'JSON_TOO_DEEP');
    expect(put.max_depth).toBe(256);
    expectError(await send(s, 'POST', '/entities', `{"key":"deep:2","blob":${objects(10_000)}}`), 400, 'JSON_TOO_DEEP');
    for (const k of ['deep:1', 'deep:2']) expectError(await send(s, 'GET', `/entities/${k}`), 404, 'NOT_FOUND');
    await expectHealthy(s);
  });

  it('a blob string holding a document nested 10,000 levels -> 400 JSON_TOO_DEEP (the second parse is checked too)', async () => {
    const b = expectError(
      await send(s, 'PUT', '/entities/deep:3', JSON.stringify({ blob: `{"x":${arrays(10_000)}}` })),
      400,
      'JSON_TOO_DEEP',
    );
    expect(b.message).toContain('blob');
    expect(b.max_depth).toBe(256);
    expectError(
      await send(s, 'POST', '/entities', JSON.stringify({ key: 'deep:4', blob: `{"x":${arrays(10_000)}}` })),
      400,
      'JSON_TOO_DEEP',
    );
    for (const k of ['deep:3', 'deep:4']) expectError(await send(s, 'GET', `/entities/${k}`), 404, 'NOT_FOUND');
  });

  it('POST /transaction with one deep document among valid ones -> 400, nothing of the batch applied', async () => {
    const ops = [
      { op: 'put', key: 'deep:t1', blob: '{"ok":1}' },
      { op: 'put', key: 'deep:t2', blob: `{"x":${arrays(1000)}}` },
    ];
    const b = expectError(await send(s, 'POST', '/transaction', JSON.stringify({ operations: ops })), 400, 'JSON_TOO_DEEP');
    expect(b.field).toBe('operations.1');
    expectError(await send(s, 'GET', '/entities/deep:t1'), 404, 'NOT_FOUND');
    // The same batch nested in the body itself.
    expectError(
      await send(s, 'POST', '/transaction', `{"operations":[{"op":"put","key":"deep:t3","blob":${objects(5000)}}]}`),
      400,
      'JSON_TOO_DEEP',
    );
    expectError(await send(s, 'GET', '/entities/deep:t3'), 404, 'NOT_FOUND');
  });

  it('an AQL bind variable nested 10,000 levels is answered: 400 JSON_TOO_DEEP (bind_vars and bindVars)', async () => {
    for (const name of ['bind_vars', 'bindVars']) {
      expectError(await send(s, 'POST', '/query/aql', `{"query":"RETURN @d","${name}":{"d":${arrays(10_000)}}}`), 400, 'JSON_TOO_DEEP');
    }
    await expectHealthy(s);
  });

  it('vector batch fields, fulltext and hybrid search bodies, and a body of 100,000 "[" are refused the same way', async () => {
    expectError(
      await send(s, 'POST', '/vector/batch_insert', `{"items":[{"pk":"v1","vector":[1,2],"fields":${objects(2000)}}]}`),
      400,
      'JSON_TOO_DEEP',
    );
    expectError(
      await send(s, 'POST', '/search/fulltext', `{"table":"t","column":"c","query":${arrays(3000, '"x"')}}`),
      400,
      'JSON_TOO_DEEP',
    );
    expectError(await send(s, 'POST', '/search/hybrid', `{"table":"t","filter":${objects(3000)}}`), 400, 'JSON_TOO_DEEP');
    expectError(await send(s, 'PUT', '/entities/deep:5', '['.repeat(100_000)), 400, 'JSON_TOO_DEEP');
    await expectHealthy(s);
  });

  it('exactly at the limit is accepted: a blob string of depth 256 round-trips, 257 does not; brackets inside strings do not count', async () => {
    const at = `{"x":${arrays(255)}}`; // the object itself is level 1
    const ok = await send(s, 'PUT', '/entities/deep:at', JSON.stringify({ blob: at }));
    expect(ok.status, ok.text).toBe(201);
    expect((await send(s, 'GET', '/entities/deep:at')).body.blob).toBe(at);
    expectError(await send(s, 'PUT', '/entities/deep:over', JSON.stringify({ blob: `{"x":${arrays(256)}}` })), 400, 'JSON_TOO_DEEP');
    const quoted = JSON.stringify({ s: '['.repeat(5000) + '{'.repeat(5000) });
    const q = await send(s, 'PUT', '/entities/deep:quoted', JSON.stringify({ blob: quoted }));
    expect(q.status, q.text).toBe(201);
    expect((await send(s, 'GET', '/entities/deep:quoted')).body.blob).toBe(quoted);
  });

  it('an AQL bind variable just under the limit is returned intact', async () => {
    const d = JSON.parse(arrays(250, '"leaf"')) as unknown;
    const r = await send(s, 'POST', '/query/aql', JSON.stringify({ query: 'RETURN @d', bind_vars: { d } }));
    expect(r.status, r.text).toBe(200);
    expect((r.body.entities as unknown[])[0]).toEqual(d);
  });

  it('at the configurable ceiling (1024) every stage copes: write, read back, AQL over the stored document and a bind variable', async () => {
    const doc = `{"x":${arrays(1023, '7')}}`;
    const put = await send(wide, 'PUT', '/entities/wide:1', JSON.stringify({ blob: doc }));
    expect(put.status, put.text).toBe(201);
    expect((await send(wide, 'GET', '/entities/wide:1')).body.blob).toBe(doc);
    const q = await send(wide, 'POST', '/query/aql', JSON.stringify({ query: 'FOR d IN wide RETURN d' }));
    expect(q.status, q.text).toBe(200);
    expect(q.body.count).toBe(1);
    const d = JSON.parse(arrays(1020, '"leaf"')) as unknown;
    const b = await send(wide, 'POST', '/query/aql', JSON.stringify({ query: 'RETURN @d', bind_vars: { d } }));
    expect(b.status, b.text).toBe(200);
    expect((b.body.entities as unknown[])[0]).toEqual(d);
    const over = expectError(
      await send(wide, 'PUT', '/entities/wide:2', JSON.stringify({ blob: `{"x":${arrays(1024)}}` })),
      400,
      'JSON_TOO_DEEP',
    );
    expect(over.max_depth).toBe(1024);
    await expectHealthy(wide);
  });
});

describe('request bodies over THEMIS_MAX_BODY_BYTES (10 MiB)', () => {
  it("Node's fetch sending 11 MiB receives the 413 with its error body every time (10 runs), nothing stored", async () => {
    const body = Buffer.alloc(11 * MiB, 0x61);
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        const a = await send(s, 'PUT', `/entities/big:${i}`, body);
        expectError(a, 413, 'PAYLOAD_TOO_LARGE');
        expect(a.body.limit_bytes).toBe(10 * MiB);
        expect(a.headers.get('connection')).toBe('close');
        outcomes.push('413');
      } catch (e) {
        outcomes.push(`error: ${(e as Error).message} ${String((e as { cause?: { code?: string } }).cause?.code ?? '')}`);
      }
    }
    expect(outcomes).toEqual(Array(10).fill('413'));
    for (const i of [0, 9]) expectError(await send(s, 'GET', `/entities/big:${i}`), 404, 'NOT_FOUND');
    await expectHealthy(s);
  });

  it('a chunked (streamed) body growing past the limit gets the 413 too', async () => {
    const chunk = new Uint8Array(MiB).fill(0x61);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 12) return c.close();
        sent++;
        c.enqueue(chunk);
      },
    });
    const r = await fetch(`${s.base}/entities/big:chunked`, { method: 'PUT', headers: AUTH, body: stream, duplex: 'half' } as RequestInit);
    const text = await r.text();
    expectError(
      { status: r.status, body: JSON.parse(text) as Record<string, unknown>, text, headers: r.headers },
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('an early refusal (401) of a request with a large body reaches the client as well', async () => {
    const body = Buffer.alloc(4 * MiB, 0x61);
    for (let i = 0; i < 5; i++) {
      const a = await send(s, 'PUT', '/entities/big:noauth', body, { 'content-type': 'application/json' });
      expectError(a, 401, 'UNAUTHORIZED');
    }
  });

  it('DELETE /entities/{key} with a 10.5 MiB body -> 413 and the entity is still there; a small body is read and ignored', async () => {
    const put = await send(s, 'PUT', '/entities/big:keep', JSON.stringify({ blob: '{"v":1}' }));
    expect(put.status, put.text).toBe(201);
    expectError(await send(s, 'DELETE', '/entities/big:keep', Buffer.alloc(10.5 * MiB, 0x61)), 413, 'PAYLOAD_TOO_LARGE');
    expect((await send(s, 'GET', '/entities/big:keep')).body.blob).toBe('{"v":1}');
    const small = await send(s, 'DELETE', '/entities/big:keep', 'ignored body');
    expect(small.status, small.text).toBe(200);
    expect(small.body).toMatchObject({ success: true, deleted: true });
  });

  it('a declared Content-Length far beyond what is worth draining (100 MiB) is refused at once and the connection closed', async () => {
    const got = await rawExchange(
      s.port,
      `PUT /entities/big:huge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Length: ${100 * MiB}\r\n\r\n{"blob":`,
    );
    expect(got.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(got.text).toContain('"code":"PAYLOAD_TOO_LARGE"');
    expect(got.closed).toBe(true);
    // uWS itself drops a Content-Length of ten digits or more (>= 1e9) before any handler runs.
    const native = await rawExchange(s.port, `PUT /entities/big:huge HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n{`);
    expect(native).toEqual({ text: '', closed: true });
    await expectHealthy(s);
  });
});

describe.runIf(SLOW)('lingering is bounded in time (THEMIS_SLOW=1: takes ~10 s)', () => {
  it('a client that declares 11 MiB and stalls gets the 413 after the 10 s bound, and the connection is closed', async () => {
    const started = performance.now();
    const got = await rawExchange(
      s.port,
      `PUT /entities/big:stall HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Length: ${11 * MiB}\r\n\r\n{"blob":`,
      30_000,
    );
    const ms = performance.now() - started;
    expect(got.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(got.closed).toBe(true);
    // The bound is 10 s (LINGER_MAX_MS); generous upper margin for a loaded machine.
    expect(ms).toBeGreaterThan(9_000);
    expect(ms).toBeLessThan(25_000);
    await expectHealthy(s);
  }, 60_000);
});

describe('invalid UTF-8', () => {
  it('a body that is not UTF-8 -> 400 INVALID_JSON, nothing stored (it would otherwise be stored as U+FFFD)', async () => {
    const body = Buffer.concat([Buffer.from('{"blob":"{\\"n\\":\\"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\\"}"}')]);
    const b = expectError(await send(s, 'PUT', '/entities/utf:1', body), 400, 'INVALID_JSON');
    expect(b.message).toContain('UTF-8');
    expectError(await send(s, 'GET', '/entities/utf:1'), 404, 'NOT_FOUND');
  });
});

describe('header size (THEMIS_MAX_HEADER_BYTES, default 16 KiB)', () => {
  const manyHeaders = (n: number, size: number): Record<string, string> => {
    const h: Record<string, string> = { ...AUTH };
    for (let i = 0; i < n; i++) h[`x-pad-${i}`] = 'a'.repeat(size);
    return h;
  };

  it('20 headers of 1 KB -> 431 HEADERS_TOO_LARGE in the error format, connection closed, nothing applied', async () => {
    const a = await send(s, 'PUT', '/entities/hdr:1', JSON.stringify({ blob: '{}' }), manyHeaders(20, 1024));
    const b = expectError(a, 431, 'HEADERS_TOO_LARGE');
    expect(b.limit_bytes).toBe(16 * 1024);
    expect(a.headers.get('connection')).toBe('close');
    expectError(await send(s, 'GET', '/entities/hdr:1'), 404, 'NOT_FOUND');
  });

  it('a request target over the limit -> 414 URI_TOO_LONG; one under it is routed as usual', async () => {
    expectError(await send(s, 'GET', `/entities/t:${'k'.repeat(17_000)}`), 414, 'URI_TOO_LONG');
    expectError(await send(s, 'GET', `/entities/t:1?pad=${'q'.repeat(17_000)}`), 414, 'URI_TOO_LONG');
    // 5000 characters: under the header limit, over the key limit.
    expectError(await send(s, 'GET', `/entities/t:${'k'.repeat(5000)}`), 400, 'INVALID_KEY');
  });

  it('the limit is configurable (4096 on the second server)', async () => {
    const b = expectError(await send(wide, 'GET', '/entities/t:1', undefined, manyHeaders(5, 1000)), 431, 'HEADERS_TOO_LARGE');
    expect(b.limit_bytes).toBe(4096);
    const ok = await send(wide, 'GET', '/entities/t:1', undefined, manyHeaders(2, 1000));
    expectError(ok, 404, 'NOT_FOUND');
  });

  it('50 headers of 1 KB (beyond the native uWS limit of 48 fields): answered with 431 or closed without an answer; the server stays up', async () => {
    let outcome: string;
    try {
      const a = await send(s, 'GET', '/entities/t:1', undefined, manyHeaders(50, 1024));
      expectError(a, 431, 'HEADERS_TOO_LARGE');
      outcome = '431';
    } catch (e) {
      // uWebSockets.js v20.30 drops the connection: its parser has a compile-time limit of fields (docs/api.md).
      outcome = `closed: ${String((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message)}`;
    }
    expect(outcome).toMatch(/^(431|closed: UND_ERR_SOCKET|closed: ECONNRESET)$/);
    await expectHealthy(s);
    // And a normal request on a fresh connection works.
    const after = await send(s, 'PUT', '/entities/hdr:after', JSON.stringify({ blob: '{"a":1}' }));
    expect(after.status, after.text).toBe(201);
  });
});

/** Write raw bytes, collect what comes back until the server closes (or `timeoutMs` pass). */
function rawExchange(port: number, data: string, timeoutMs = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text, closed });
    }, timeoutMs);
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ text, closed });
    });
    sock.write(data);
  });
}
