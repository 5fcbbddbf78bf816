import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { expectStatus, json, sleep, startServer, tempDir, waitUntil, connectOutcome } from '../helpers/server.js';

describe('durability', () => {
  it('data survives a graceful restart', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir });
    await a.req('PUT', '/entities/users:1', { blob: '{"name":"Alice"}' });
    await a.req('PUT', '/entities/users:2', { blob: '{"name":"Bob"}' });
    await a.req('DELETE', '/entities/users:2');
    expect(await a.stop()).toBe(0);
    const b = await startServer({ dataDir });
    expect(await json(await b.req('GET', '/entities/users:1'))).toEqual({ key: 'users:1', blob: '{"name":"Alice"}' });
    await expectStatus(await b.req('GET', '/entities/users:2'), 404);
    await b.stop();
  });

  it('kill -9 during concurrent writes loses no acknowledged write (durability sync)', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'sync' } });
    const acked = new Map<string, string>();
    let stop = false;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const put = (key: string, blob: string) =>
      new Promise<number>((resolve) => {
        const body = JSON.stringify({ blob });
        const r = http.request(
          {
            host: '127.0.0.1',
            port: a.port,
            method: 'PUT',
            path: `/entities/${key}`,
            agent,
            headers: {
              authorization: 'Bearer test-admin-key-0123456789',
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', () => resolve(0));
          },
        );
        r.on('error', () => resolve(0));
        r.end(body);
      });
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = `crash:${w}-${i}`;
        const blob = `{"w":${w},"i":${i},"pad":"${'x'.repeat(50)}"}`;
        const status = await put(key, blob);
        if (status === 201) acked.set(key, blob);
        else if (status === 0) return; // connection died with the server
      }
    };
    const workers = Array.from({ length: 32 }, (_, w) => worker(w));
    // Let writes flow, then kill the process in the middle of them.
    await new Promise((r) => setTimeout(r, 1500));
    await a.kill();
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    expect(acked.size).toBeGreaterThan(200);

    const b = await startServer({ dataDir });
    const keys = [...acked.keys()];
    const missing: string[] = [];
    for (let i = 0; i < keys.length; i += 64) {
      const chunk = keys.slice(i, i + 64);
      const got = await Promise.all(
        chunk.map((k) =>
          b.req('GET', `/entities/${k}`).then(async (r) => (r.status === 200 ? (await json<{ blob: string }>(r)).blob : undefined)),
        ),
      );
      chunk.forEach((k, j) => {
        if (got[j] !== acked.get(k)) missing.push(k);
      });
    }
    expect(missing).toEqual([]);
    await b.stop();
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM finishes an in-flight request, refuses new connections, closes LevelDB and exits 0', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir, env: { THEMIS_LOG_LEVEL: 'info' } });
    const body = JSON.stringify({ blob: '{"late":true}' });
    let finishBody!: () => void;
    let markConnected!: () => void;
    const connected = new Promise<void>((r) => (markConnected = r));
    // Start a PUT and send only half of its body: the request is in flight.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = http.request(
        {
          host: '127.0.0.1',
          port: a.port,
          method: 'PUT',
          path: '/entities/shutdown:1',
          headers: { authorization: 'Bearer test-admin-key-0123456789', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      r.on('error', reject);
      r.on('socket', (sock) => sock.on('connect', () => setImmediate(markConnected)));
      r.write(body.slice(0, 10));
      finishBody = () => r.end(body.slice(10));
    });
    // connected and the headers sent: give the server a moment to count the request as in flight
    await connected;
    await sleep(200);
    const exit = a.stop('SIGTERM');
    // The listening socket is closed: new connections are refused while the in-flight request finishes...
    const connect = () => connectOutcome(a.port);
    expect(await waitUntil(connect, (x) => x === 'ECONNREFUSED')).toBe('ECONNREFUSED');
    // ...and a request on a kept-alive connection gets 503 and the connection closed.
    const reused = await fetch(`${a.base}/health`);
    await expectStatus(reused, 503);
    expect(reused.headers.get('connection')).toBe('close');
    expect(await json(reused)).toMatchObject({ error: true, code: 'UNAVAILABLE', status_code: 503 });
    // only now, with the server draining, does the in-flight request's body complete
    finishBody();
    const res = await response;
    await expectStatus(res, 201);
    expect(JSON.parse(res.body)).toMatchObject({ success: true, key: 'shutdown:1' });
    expect(await exit).toBe(0);
    // Structured JSON logs on stderr, the shutdown sequence among them.
    const lines = a
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; inflight?: number });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'storage ready', 'shutting down', 'stopped']));
    expect(lines.find((l) => l.msg === 'shutting down')?.inflight).toBe(1); // the PUT was in flight at the signal

    const b = await startServer({ dataDir }); // LevelDB was closed cleanly (no lock left behind)
    expect(await json(await b.req('GET', '/entities/shutdown:1'))).toEqual({ key: 'shutdown:1', blob: '{"late":true}' });
    expect(await b.stop('SIGINT')).toBe(0);
  });

  it('a second server on a data directory in use fails to start with a clear message', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir });
    await expect(startServer({ dataDir })).rejects.toThrow(/in use by another process/);
    await a.stop();
  });
});

describe('listening', () => {
  it('a second server on a port in use fails to start instead of sharing the port', async () => {
    const a = await startServer();
    await expect(startServer({ env: { THEMIS_PORT: String(a.port) } })).rejects.toThrow(/cannot listen/);
    await expectStatus(await fetch(`${a.base}/health`), 200);
    await a.stop();
  });
});

describe('shutdown with open change-feed clients', () => {
  it('a pending long-poll is answered at once on SIGTERM and an open SSE stream is ended; exit 0 quickly', async () => {
    // A shutdown timeout longer than the bound below: a long poll or stream that kept the server
    // waiting would show as a slow exit, not be cut off by the timeout.
    const a = await startServer({ env: { THEMIS_SHUTDOWN_TIMEOUT_MS: '30000' } });
    const poll = a.req('GET', '/changefeed?from_seq=0&long_poll_ms=60000');
    const sse = fetch(`${a.base}/changefeed/stream?from_seq=0&max_seconds=60`, {
      headers: { authorization: 'Bearer test-admin-key-0123456789' },
    }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const code = await a.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000); // typically ~100 ms
    const r = await poll;
    await expectStatus(r, 200);
    expect(await json(r)).toMatchObject({ from_seq: 0, entries: [] });
    expect(await sse).toContain(': connected');
  });
});
