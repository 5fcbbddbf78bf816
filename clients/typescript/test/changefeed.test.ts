import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, type StartedServer, startServer, tempDir, waitUntil } from '../../../test/helpers/server.js';
import { type ChangeEvent, ThemisClient } from '../src/index.js';

// The change-feed iterator against real servers: it resumes after the last sequence number it
// delivered whenever a stream ends or the connection drops, so nothing is lost or repeated.

const servers: StartedServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function start(opts: Parameters<typeof startServer>[0] = {}): Promise<StartedServer> {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

/**
 * A TCP proxy in front of a server: the client under test talks to it, so a test can cut every
 * connection (a network drop, not a clean end of the stream) or point it at a restarted server.
 */
async function tcpProxy(target: () => number): Promise<{ port: number; dropAll(): void; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target(), '127.0.0.1');
    for (const sock of [client, upstream]) {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dropAll = () => {
    for (const sock of sockets) sock.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    dropAll,
    close: () => {
      dropAll();
      server.close();
    },
  };
}

/** Sequence numbers strictly consecutive (one key prefix written by this test alone, nothing else in between). */
function expectGapFree(events: ChangeEvent[]): void {
  const seqs = events.map((e) => e.sequence);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
}

describe('changes()', () => {
  it('delivers puts and deletes with their documents and ends once caught up with follow: false', async () => {
    const s = await start();
    const db = new ThemisClient({ baseUrl: s.base, apiKey: ADMIN_KEY });
    await db.putEntity('users:1', { name: 'Alice' });
    await db.putEntity('other:1', { x: 1 });
    await db.deleteEntity('users:1');
    const events: ChangeEvent[] = [];
    for await (const e of db.changes({ keyPrefix: 'users:', follow: false })) events.push(e);
    expect(events).toMatchObject([
      { operation: 'PUT', key: 'users:1', sequence: 1, old_val: null, new_val: '{"name":"Alice"}' },
      { operation: 'DELETE', key: 'users:1', sequence: 3, old_val: '{"name":"Alice"}', new_val: null },
    ]);
    const after: ChangeEvent[] = [];
    for await (const e of db.changes({ fromSeq: 1, follow: false })) after.push(e);
    expect(after.map((e) => e.sequence)).toEqual([2, 3]);
  });

  it('resumes across streams the server ends (max_seconds) while writes go on: none lost, none repeated', async () => {
    const s = await start();
    const db = new ThemisClient({ baseUrl: s.base, apiKey: ADMIN_KEY });
    const total = 30;
    let reconnects = 0;
    const events: ChangeEvent[] = [];
    const reading = (async () => {
      for await (const e of db.changes({ maxSeconds: 1, heartbeatMs: 200, onReconnect: () => reconnects++ })) {
        events.push(e);
        if (events.length === total) return;
      }
    })();
    for (let i = 0; i < total; i++) {
      await db.putEntity(`feed:${i}`, { i });
      await new Promise((r) => setTimeout(r, 80));
    }
    await reading;
    expect(reconnects).toBeGreaterThanOrEqual(2);
    expect(events.map((e) => e.key)).toEqual(Array.from({ length: total }, (_, i) => `feed:${i}`));
    expectGapFree(events);
  });

  it('resumes after its connections are cut mid-stream: none lost, none repeated', async () => {
    const s = await start();
    const proxy = await tcpProxy(() => s.port);
    const writer = new ThemisClient({ baseUrl: s.base, apiKey: ADMIN_KEY });
    const db = new ThemisClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, apiKey: ADMIN_KEY });
    const total = 40;
    const failures: unknown[] = [];
    const events: ChangeEvent[] = [];
    const reading = (async () => {
      for await (const e of db.changes({ retryDelayMs: 20, onReconnect: (i) => i.error !== undefined && failures.push(i.error) })) {
        events.push(e);
        if (events.length === total) return;
      }
    })();
    for (let i = 0; i < total; i++) {
      await writer.putEntity(`cut:${i}`, { i });
      if (i % 8 === 4) proxy.dropAll();
      await new Promise((r) => setTimeout(r, 30));
    }
    await reading;
    proxy.close();
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(events.map((e) => e.key)).toEqual(Array.from({ length: total }, (_, i) => `cut:${i}`));
    expectGapFree(events);
  });

  it('resumes after the server stops and a new one starts on the same data', async () => {
    const dataDir = tempDir();
    let current = await start({ dataDir });
    const proxy = await tcpProxy(() => current.port);
    const db = new ThemisClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, apiKey: ADMIN_KEY });
    for (let i = 1; i <= 3; i++) await db.putEntity(`r:${i}`, { i });
    const failures: unknown[] = [];
    const it = db
      .changes({ retryDelayMs: 50, maxRetries: 100, onReconnect: (info) => info.error !== undefined && failures.push(info.error) })
      [Symbol.asyncIterator]();
    const events: ChangeEvent[] = [];
    for (let i = 0; i < 3; i++) events.push((await it.next()).value as ChangeEvent);
    expect(await current.stop()).toBe(0);
    // The iterator now finds its stream ended and no server behind the address; it keeps retrying.
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 300));
    current = await start({ dataDir });
    const writer = new ThemisClient({ baseUrl: current.base, apiKey: ADMIN_KEY });
    for (let i = 4; i <= 6; i++) await writer.putEntity(`r:${i}`, { i });
    events.push((await pending).value as ChangeEvent);
    for (let i = 0; i < 2; i++) events.push((await it.next()).value as ChangeEvent);
    await it.return?.();
    proxy.close();
    expect(failures.length).toBeGreaterThan(0);
    expect(events.map((e) => e.key)).toEqual(['r:1', 'r:2', 'r:3', 'r:4', 'r:5', 'r:6']);
    expectGapFree(events);
  });

  it('stops without error when its signal aborts', async () => {
    const s = await start();
    const db = new ThemisClient({ baseUrl: s.base, apiKey: ADMIN_KEY });
    const ac = new AbortController();
    const seen: ChangeEvent[] = [];
    const reading = (async () => {
      for await (const e of db.changes({ signal: ac.signal })) seen.push(e);
    })();
    await db.putEntity('a:1', { x: 1 });
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await reading;
    expect(seen.map((e) => e.key)).toEqual(['a:1']);
  });

  it('throws 410 GONE as a ThemisError when the position is no longer retained', { timeout: 30_000 }, async () => {
    const s = await start({ env: { THEMIS_CDC_RETENTION: '2' } });
    const db = new ThemisClient({ baseUrl: s.base, apiKey: ADMIN_KEY });
    for (let i = 0; i < 6; i++) await db.putEntity(`g:${i}`, { i });
    // retention runs every 5 s
    const firstSeq = await waitUntil(
      async () => ((await (await s.req('GET', '/changefeed/stats')).json()) as { first_seq: number }).first_seq,
      (f) => f > 2,
      15_000,
      200,
    );
    expect(firstSeq).toBeGreaterThan(2);
    const first = async () => {
      for await (const _ of db.changes({ fromSeq: 0, follow: false })) return;
    };
    await expect(first()).rejects.toMatchObject({ name: 'ThemisError', status: 410, code: 'GONE' });
  });
});
