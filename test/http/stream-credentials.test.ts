import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';
import { openSse, type SseClient } from '../helpers/sse.js';

/**
 * Issue 15: a credential that ends (revoked, changed, expired) closes the
 * long-lived connections opened with it (the change-feed SSE stream and
 * WebSocket), and WebSocket upgrades pass the rate limits like any request.
 */

const SECRET = 'stream-credentials-secret-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface OpenWs {
  ws: WebSocket;
  /** Resolves with the close code and reason, and when (performance.now()). */
  closed: Promise<{ code: number; reason: string; at: number }>;
}

/** Upgrade: the open socket, or the refusal's status, headers and JSON body. */
function upgrade(
  port: number,
  headers: Record<string, string>,
  query = 'from_seq=0',
): Promise<OpenWs | { status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/changefeed/ws?${query}`, { headers });
    const closed = new Promise<{ code: number; reason: string; at: number }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString(), at: performance.now() })),
    );
    ws.on('open', () => resolve({ ws, closed }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(body) }));
    });
    ws.on('error', (e) => reject(e));
  });
}

async function openWs(port: number, headers: Record<string, string>): Promise<OpenWs> {
  for (let attempt = 1; ; attempt++) {
    const r = await upgrade(port, headers);
    if (!('ws' in r)) throw new Error(`upgrade refused: ${r.status} ${JSON.stringify(r.body)}`);
    // Under load uWS now and then closes a just-upgraded socket at once (1006, inside res.upgrade; see the
    // issue-17 notes): a client reconnects, and so does the test, rather than wait on a dead socket.
    const early = await Promise.race([r.closed, sleep(200).then(() => undefined)]);
    if (early?.code !== 1006 || attempt === 3) return r;
  }
}

async function refused(port: number, headers: Record<string, string>) {
  const r = await upgrade(port, headers);
  if ('ws' in r) {
    r.ws.close();
    throw new Error('upgrade was accepted');
  }
  return r;
}

/** Resolves once `c` has ended (or rejects after ms). */
function endedWithin(c: SseClient, ms: number): Promise<void> {
  return Promise.race([c.ended, sleep(ms).then(() => Promise.reject(new Error(`stream still open after ${ms} ms`)))]);
}

describe('open streams close when their credential ends', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_JWT_SECRET: SECRET, THEMIS_JWT_CLOCK_SKEW_S: '0' } });
  });
  afterAll(async () => {
    await s.stop();
  });

  const createKey = async (extra: Record<string, unknown> = {}) => {
    const r = await s.req('POST', '/api/keys', { name: 'stream', permissions: ['data:read'], ...extra });
    await expectStatus(r, 201);
    const k = await json<{ keyId: string; secret: string }>(r);
    return { id: k.keyId, auth: { authorization: `Bearer ${k.secret}` } };
  };

  it('SSE: DELETE /api/keys/{id} ends the stream within a second with a final error event (UNAUTHORIZED); a stream of another key stays open', async () => {
    const doomed = await createKey();
    const other = await createKey();
    const c = await openSse(s.port, '/changefeed/stream?max_seconds=60', doomed.auth);
    const o = await openSse(s.port, '/changefeed/stream?max_seconds=60', other.auth);
    await expectStatus(c, 200);
    await expectStatus(o, 200);
    await sleep(100);
    const revokedAt = performance.now();
    await expectStatus(await s.req('DELETE', `/api/keys/${doomed.id}`), 200);
    await endedWithin(c, 1_000);
    expect(performance.now() - revokedAt).toBeLessThan(1_000);
    const last = c.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data!)).toMatchObject({ error: true, status_code: 401, code: 'UNAUTHORIZED', last_seq: expect.any(Number) });
    // The other key's stream still delivers.
    await expectStatus(await s.req('PUT', '/entities/sc:after-revoke', { blob: '{}' }), 201);
    await o.waitFor((e) => e.data !== undefined && JSON.parse(e.data).key === 'sc:after-revoke', 2_000);
    o.close();
  });

  it('WebSocket: revoking the key closes it with 1008; a socket of another key stays open', async () => {
    const doomed = await createKey();
    const other = await createKey();
    const w = await openWs(s.port, doomed.auth);
    const o = await openWs(s.port, other.auth);
    let otherClosed = false;
    void o.closed.then(() => (otherClosed = true));
    await sleep(100);
    const revokedAt = performance.now();
    await expectStatus(await s.req('DELETE', `/api/keys/${doomed.id}`), 200);
    const closed = await Promise.race([w.closed, sleep(1_000).then(() => undefined)]);
    expect(closed).toMatchObject({ code: 1008, reason: expect.any(String) });
    expect(closed!.at - revokedAt).toBeLessThan(1_000);
    await sleep(200);
    expect(otherClosed).toBe(false);
    expect(o.ws.readyState).toBe(WebSocket.OPEN);
    o.ws.close();
  });

  it('changing a key (PUT new permissions) closes its open WebSocket with 1008; it reconnects under the new permissions', async () => {
    const k = await createKey({ permissions: ['data:read', 'stats:read'] });
    const w = await openWs(s.port, k.auth);
    await expectStatus(await s.req('PUT', `/api/keys/${k.id}`, { permissions: ['stats:read'] }), 200);
    const closed = await Promise.race([w.closed, sleep(1_000).then(() => undefined)]);
    expect(closed?.code).toBe(1008);
    const again = await refused(s.port, k.auth);
    expect(again.status).toBe(403);
    expect(again.body).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('an API key reaching expires_at closes its open SSE stream and WebSocket (not before)', async () => {
    // 0.00003 days = 2.592 s
    const k = await createKey({ expires_in_days: 0.00003 });
    const opened = performance.now();
    const c = await openSse(s.port, '/changefeed/stream?max_seconds=60', k.auth);
    await expectStatus(c, 200);
    const w = await openWs(s.port, k.auth);
    let wsClosed = false;
    void w.closed.then(() => (wsClosed = true));
    await sleep(1_500);
    expect(wsClosed).toBe(false);
    expect(c.events.filter((e) => e.event === 'error')).toEqual([]);
    await endedWithin(c, 3_000);
    const closed = await Promise.race([w.closed, sleep(1_000).then(() => undefined)]);
    expect(closed?.code).toBe(1008);
    expect(closed!.at - opened).toBeLessThan(5_000);
    expect(JSON.parse(c.events.at(-1)!.data!)).toMatchObject({ code: 'UNAUTHORIZED', status_code: 401 });
    // And the next request is refused.
    expect((await s.req('GET', '/changefeed/stats', undefined, k.auth)).status).toBe(401);
  }, 15_000);

  it('a JWT reaching exp closes its open WebSocket with 1008 (and its SSE stream)', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3;
    const token = await new SignJWT({ sub: 'streamer', exp, permissions: ['data:read'] })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    const auth = { authorization: `Bearer ${token}` };
    const w = await openWs(s.port, auth);
    const c = await openSse(s.port, '/changefeed/stream?max_seconds=60', auth);
    await expectStatus(c, 200);
    const closed = await Promise.race([w.closed, sleep(5_000).then(() => undefined)]);
    expect(closed?.code).toBe(1008);
    // Not before exp (whole seconds; performance.now() and Date.now() agree closely enough for 100 ms).
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 100);
    await endedWithin(c, 1_000);
    expect(c.events.at(-1)!.event).toBe('error');
  }, 15_000);
});

describe('WebSocket upgrades pass the rate limits', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_AUTH_FAIL_LIMIT: '3/min' } });
  });
  afterAll(async () => {
    await s.stop();
  });

  it("the principal's limit (a key's rate_limit) counts upgrades with its HTTP requests: 429 with Retry-After instead of upgrading", async () => {
    const r = await s.req('POST', '/api/keys', { name: 'limited', permissions: ['data:read', 'stats:read'], rate_limit: '2/min' });
    await expectStatus(r, 201);
    const auth = { authorization: `Bearer ${(await json<{ secret: string }>(r)).secret}` };
    expect((await s.req('GET', '/changefeed/stats', undefined, auth)).status).toBe(200);
    const w = await openWs(s.port, auth);
    w.ws.close();
    const no = await refused(s.port, auth);
    expect(no.status).toBe(429);
    expect(no.body).toEqual({ error: true, message: expect.any(String), status_code: 429, code: 'RATE_LIMITED' });
    expect(Number(no.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(no.headers['x-ratelimit-limit']).toBe('2');
    expect(no.headers['x-ratelimit-remaining']).toBe('0');
    // The HTTP requests of the key draw from the same bucket.
    expect((await s.req('GET', '/changefeed/stats', undefined, auth)).status).toBe(429);
  });

  it('refused tokens on upgrades count towards THEMIS_AUTH_FAIL_LIMIT: then 429, for the right key and for HTTP too', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await refused(s.port, { authorization: `Bearer wrong-${i}` });
      expect(r.status).toBe(401);
    }
    const no = await refused(s.port, { authorization: 'Bearer wrong-x' });
    expect(no.status).toBe(429);
    expect(no.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(no.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await refused(s.port, { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(429);
    expect((await s.req('GET', '/stats')).status).toBe(429);
  });
});

describe('WebSocket upgrades pass the per-IP limit (THEMIS_RATE_LIMIT_IP)', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_RATE_LIMIT_IP: '20/min' } });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('upgrades draw from the address bucket: once it is empty, 429 instead of upgrading', async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const first = await s.req('GET', '/health');
    const left = Number(first.headers.get('x-ratelimit-remaining'));
    expect(left).toBeGreaterThan(0);
    // One token back every 3 s: allow for a refill or two while the loop runs.
    let accepted = 0;
    let no: Awaited<ReturnType<typeof refused>> | undefined;
    while (accepted <= left + 2) {
      const r = await upgrade(s.port, auth);
      if (!('ws' in r)) {
        no = r;
        break;
      }
      r.ws.close();
      accepted++;
    }
    expect(accepted).toBeGreaterThanOrEqual(left);
    expect(no?.status).toBe(429);
    expect(no!.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(no!.headers['x-ratelimit-limit']).toBe('20');
  });
});
