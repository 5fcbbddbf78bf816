/**
 * THEMIS_SHUTDOWN_TIMEOUT_MS: on SIGTERM the server waits for requests in
 * flight, but only that long. A request still in flight at the deadline is
 * cut off (it wrote nothing); requests that finish in time are answered and
 * durable; the process exits 0 within the timeout plus a little slack.
 *
 * "In flight" is made with request bodies the client sends in two parts:
 * the server holds the request until the rest arrives, so the test decides
 * exactly when (or whether) each one finishes, without timing guesses.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  expectStatus,
  json,
  sleep,
  startServer,
  tempDir,
  waitUntil,
  type StartedServer,
  connectOutcome,
} from '../helpers/server.js';

interface Outcome {
  status?: number;
  body?: string;
  error?: string;
}

/** A PUT whose body is sent in two parts: `finish()` sends the rest; `outcome` is the response or the connection error. */
function splitPut(
  s: StartedServer,
  key: string,
  blob: unknown,
): { connected: Promise<void>; finish: () => void; outcome: Promise<Outcome> } {
  const body = JSON.stringify({ blob });
  let finish!: () => void;
  let connected!: () => void;
  const isConnected = new Promise<void>((r) => (connected = r));
  const outcome = new Promise<Outcome>((resolve) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port: s.port,
        method: 'PUT',
        path: `/entities/${key}`,
        agent: false,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      },
    );
    r.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    r.on('socket', (sock) => sock.on('connect', () => setImmediate(connected)));
    r.write(body.slice(0, 5));
    finish = () => r.end(body.slice(5));
  });
  return { connected: isConnected, finish, outcome };
}

/** Structured log lines of the server (stderr). */
const logLines = (s: StartedServer) =>
  s
    .stderr()
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; inflight?: number });

describe('THEMIS_SHUTDOWN_TIMEOUT_MS', () => {
  it('SIGTERM: a request that finishes within the timeout is answered and durable; one still in flight at the timeout is cut off; exit 0 within timeout + slack', async () => {
    const TIMEOUT = 1500;
    const dataDir = tempDir();
    const a = await startServer({ dataDir, env: { THEMIS_SHUTDOWN_TIMEOUT_MS: String(TIMEOUT), THEMIS_LOG_LEVEL: 'info' } });
    const quick = splitPut(a, 'sd:quick', { n: 1 });
    const stuck = splitPut(a, 'sd:stuck', { n: 2 });
    await Promise.all([quick.connected, stuck.connected]);
    await sleep(200); // the server has both requests (checked below through the log's inflight count)
    const t0 = Date.now();
    const exit = a.stop('SIGTERM');
    // Draining has begun once new connections are refused; then the quick one completes.
    const connect = () => connectOutcome(a.port);
    expect(await waitUntil(connect, (x) => x === 'ECONNREFUSED')).toBe('ECONNREFUSED');
    quick.finish();
    const q = await quick.outcome;
    expect(q.status, JSON.stringify(q)).toBe(201);
    expect(JSON.parse(q.body!)).toMatchObject({ success: true, key: 'sd:quick', created: true });
    // The stuck one never completes: the server gives up on it at the timeout.
    const code = await exit;
    const took = Date.now() - t0;
    expect(code).toBe(0);
    expect(took, `exit after ${took} ms`).toBeGreaterThanOrEqual(TIMEOUT - 100); // it did wait for the stuck request
    expect(took, `exit after ${took} ms`).toBeLessThan(TIMEOUT + 6_000); // not the 10 s default, not forever
    const st = await stuck.outcome;
    expect(st.status, JSON.stringify(st)).toBeUndefined(); // no answer: the connection was closed
    expect(st.error).toMatch(/ECONNRESET|socket hang up|EPIPE/);
    const lines = logLines(a);
    expect(lines.find((l) => l.msg === 'shutting down')?.inflight).toBe(2);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutdown timeout: closing with requests in flight', 'stopped']));

    // After a restart: the answered write is there, the cut-off one wrote nothing, storage is sound.
    const b = await startServer({ dataDir });
    try {
      const got = await b.req('GET', '/entities/sd:quick');
      await expectStatus(got, 200);
      expect(await json(got)).toEqual({ key: 'sd:quick', blob: '{"n":1}' });
      await expectStatus(await b.req('GET', '/entities/sd:stuck'), 404);
      const f = await json<{ entries: { key: string }[] }>(await b.req('GET', '/changefeed?from_seq=0'));
      expect(f.entries.map((e) => e.key)).toEqual(['sd:quick']);
    } finally {
      await b.stop();
    }
  });

  it('an AQL query still running at the timeout is cut off; the process exits 0 and restarts clean', async () => {
    const TIMEOUT = 1000;
    const dataDir = tempDir();
    const a = await startServer({
      dataDir,
      env: { THEMIS_SHUTDOWN_TIMEOUT_MS: String(TIMEOUT), THEMIS_QUERY_TIMEOUT_MS: '60000', THEMIS_LOG_LEVEL: 'info' },
    });
    await expectStatus(
      await a.req('POST', '/transaction', {
        operations: Array.from({ length: 200 }, (_, i) => ({ op: 'put', key: `sq:${i}`, blob: { i } })),
      }),
      200,
    );
    // ~10^9 rows of work: runs far past the shutdown timeout
    const payload = JSON.stringify({ query: 'FOR x IN sq FOR y IN 1..5000000 FILTER y == -1 RETURN x', timeout_ms: 60_000 });
    let sent!: () => void;
    const isSent = new Promise<void>((r) => (sent = r));
    const query = new Promise<string>((resolve) => {
      const r = http.request(
        {
          host: '127.0.0.1',
          port: a.port,
          method: 'POST',
          path: '/query/aql',
          agent: false,
          headers: {
            authorization: `Bearer ${ADMIN_KEY}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve(`HTTP ${res.statusCode}: ${data}`));
          res.on('error', (e) => resolve(`failed: ${e.message}`));
        },
      );
      r.on('error', (e) => resolve(`failed: ${e.message}`));
      r.on('finish', sent);
      r.end(payload);
    });
    await isSent;
    await sleep(300); // the server is running it (checked below through the log's inflight count)
    const t0 = Date.now();
    const code = await a.stop('SIGTERM');
    const took = Date.now() - t0;
    expect(code).toBe(0);
    expect(took, `exit after ${took} ms`).toBeGreaterThanOrEqual(TIMEOUT - 100);
    expect(took, `exit after ${took} ms`).toBeLessThan(TIMEOUT + 6_000);
    expect(await query).toMatch(/^failed: /); // no answer: the connection was closed
    expect(logLines(a).find((l) => l.msg === 'shutting down')?.inflight).toBe(1);
    const b = await startServer({ dataDir });
    try {
      const n = await json<{ entities: number[] }>(
        await b.req('POST', '/query/aql', { query: 'FOR x IN sq COLLECT WITH COUNT INTO n RETURN n' }),
      );
      expect(n.entities).toEqual([200]);
    } finally {
      await b.stop();
    }
  });

  it('with nothing in flight SIGTERM does not wait for the timeout', async () => {
    const a = await startServer({ env: { THEMIS_SHUTDOWN_TIMEOUT_MS: '20000' } });
    await expectStatus(await a.req('PUT', '/entities/sd:idle', { blob: '{}' }), 201);
    const t0 = Date.now();
    expect(await a.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // typically ~100 ms; waiting would take 20 s
  });
});
