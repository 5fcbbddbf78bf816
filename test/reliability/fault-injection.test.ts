/**
 * Storage faults (issue 13): a full disk and I/O errors while writers are
 * busy. What must hold:
 *
 * - every write that fails is answered with 507 INSUFFICIENT_STORAGE (full
 *   disk) or 503 STORAGE_FAILURE (I/O error) in the error format — never a
 *   500, never silence — and so is every write after it;
 * - nothing acknowledged is lost, in the running server and after kill -9;
 * - the change feed stays contiguous (no sequence number lost or reused);
 * - reads (entities, AQL, fulltext) keep working meanwhile;
 * - a full disk: /health says `degraded` (200), and writes resume by
 *   themselves once space is freed; an I/O error: /health is 503 and writes
 *   stay refused until a restart, after which everything acknowledged is there.
 *
 * The full disk is a real one (a 64 MiB tmpfs) where the machine allows
 * mounting, otherwise the faultfs shim makes LevelDB's writes fail with
 * ENOSPC. I/O errors always come from the shim (a tmpfs cannot produce EIO).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultControl, buildFaultShim, freeBytes, mountTmpfs } from '../helpers/faults.js';
import { call, expectStatus, sleep, startServer, tempDir, type Body, type StartedServer } from '../helpers/server.js';

let shim: string;
const servers: StartedServer[] = [];
const cleanups: (() => void)[] = [];

beforeAll(() => {
  shim = buildFaultShim();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill();
});
afterAll(() => {
  for (const c of cleanups.splice(0)) c();
});

interface WriteOutcome {
  acked: Map<string, string>;
  failures: { key: string; status: number; body: Body }[];
}

/**
 * `writers` concurrent loops of PUTs (a document with a fulltext-indexed
 * word and `pad` random bytes) until each has seen `failuresEach` refusals
 * (or `maxEach` writes). Records what was acknowledged and every failure.
 */
async function writeUntilRefused(
  s: StartedServer,
  opts: { writers: number; pad: number; failuresEach: number; maxEach: number; onAcked?: (n: number) => void },
): Promise<WriteOutcome> {
  const acked = new Map<string, string>();
  const failures: WriteOutcome['failures'] = [];
  await Promise.all(
    Array.from({ length: opts.writers }, async (_, w) => {
      let failed = 0;
      for (let i = 0; i < opts.maxEach && failed < opts.failuresEach; i++) {
        const key = `t:${w}-${i}`;
        const blob = JSON.stringify({ text: `word${w} common ${i}`, pad: crypto.randomBytes(opts.pad).toString('base64') });
        const r = await call(s, 'PUT', `/entities/${key}`, { blob });
        if (r.status === 200 || r.status === 201) {
          acked.set(key, blob);
          opts.onAcked?.(acked.size);
        } else {
          failures.push({ key, status: r.status, body: r.body });
          failed++;
        }
      }
    }),
  );
  return { acked, failures };
}

/** Every acknowledged key reads back exactly as written. */
async function expectAllAcked(s: StartedServer, acked: Map<string, string>): Promise<void> {
  const wrong: string[] = [];
  for (const [key, blob] of acked) {
    const r = await call(s, 'GET', `/entities/${key}`);
    if (r.status !== 200 || r.body.blob !== blob) wrong.push(`${key}: ${r.status}`);
  }
  expect(wrong, `${wrong.length} of ${acked.size} acknowledged writes lost or changed`).toEqual([]);
}

/** The change feed holds 1..last_seq without a gap; returns its entries' keys in order. */
async function expectContiguousFeed(s: StartedServer): Promise<{ lastSeq: number; keys: string[] }> {
  const keys: string[] = [];
  let from = 0;
  let lastSeq = 0;
  for (;;) {
    const r = await call(s, 'GET', `/changefeed?from_seq=${from}&limit=1000`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const entries = r.body.entries as { seq: number; key: string }[];
    for (const e of entries) {
      expect(e.seq, 'change feed gap').toBe(from + 1);
      from = e.seq;
      keys.push(e.key);
    }
    lastSeq = r.body.last_seq as number;
    if (entries.length === 0 || from >= lastSeq) break;
  }
  expect(from).toBe(lastSeq);
  return { lastSeq, keys };
}

async function aqlCount(s: StartedServer): Promise<number> {
  const r = await call(s, 'POST', '/query/aql', { query: 'FOR d IN t COLLECT WITH COUNT INTO n RETURN n' });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body.entities as number[])[0]!;
}

async function fulltextTotal(s: StartedServer): Promise<number> {
  const r = await call(s, 'POST', '/search/fulltext', { table: 't', column: 'text', query: 'common', limit: 1 });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.total as number;
}

/** The Prometheus gauge themis_storage_writes_enabled. */
async function writesGauge(s: StartedServer): Promise<number> {
  const text = await (await s.req('GET', '/metrics')).text();
  const m = /^themis_storage_writes_enabled (\d+)$/m.exec(text);
  expect(m, 'themis_storage_writes_enabled missing from /metrics').not.toBeNull();
  return Number(m![1]);
}

describe('a full disk', () => {
  it('refuses writes with 507, keeps reads, loses nothing acknowledged, and resumes writes once space is freed (then survives kill -9)', async () => {
    const tmpfs = mountTmpfs(64 * 1024 * 1024);
    const base = tmpfs?.dir ?? tempDir();
    if (tmpfs) cleanups.push(tmpfs.unmount);
    const dataDir = path.join(base, 'data');
    const ctl = new FaultControl(shim);
    const s = await startServer({ dataDir, env: tmpfs ? { THEMIS_LOG_LEVEL: 'error' } : { ...ctl.env, THEMIS_LOG_LEVEL: 'error' } });
    servers.push(s);
    await expectStatus(await call(s, 'POST', '/index/create', { table: 't', column: 'text', type: 'fulltext' }), 200);

    // Leave ~3 MiB: a few hundred 8 KiB documents fill it (LevelDB's log, then a memtable flush or compaction fails).
    const filler = path.join(base, 'filler');
    let onAcked: ((n: number) => void) | undefined;
    if (tmpfs) fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(base) - 3 * 1024 * 1024)));
    else onAcked = (n) => n === 60 && ctl.set('enospc', dataDir);

    const out = await writeUntilRefused(s, { writers: 4, pad: 6 * 1024, failuresEach: 3, maxEach: 2000, ...(onAcked ? { onAcked } : {}) });
    expect(out.failures.length, 'the disk never filled').toBeGreaterThanOrEqual(4);
    expect(out.acked.size).toBeGreaterThan(20);
    for (const f of out.failures) {
      expect(f.status, JSON.stringify(f.body)).toBe(507);
      expect(f.body).toMatchObject({ error: true, status_code: 507, code: 'INSUFFICIENT_STORAGE', storage: 'disk_full' });
      expect(String(f.body.message)).not.toContain(base); // no paths in responses
    }

    // Degraded, not dead: reads of every kind work, health says why writes are off.
    const health = await call(s, 'GET', '/health');
    expect(health.status, JSON.stringify(health.body)).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', writes: 'disabled', storage_failure: { kind: 'disk_full' } });
    const ready = await call(s, 'GET', '/health/ready');
    expect(ready.body).toMatchObject({ status: 'ready', writes: 'disabled' });
    expect(await writesGauge(s)).toBe(0);
    await expectAllAcked(s, out.acked);
    expect(await aqlCount(s)).toBe(out.acked.size);
    expect(await fulltextTotal(s)).toBe(out.acked.size);
    const refused = await call(s, 'POST', '/transaction', { operations: [{ op: 'put', key: 'z:0', blob: '{}' }] });
    expect(refused.status, JSON.stringify(refused.body)).toBe(507);

    // Space returns: writes resume without a restart.
    if (tmpfs) fs.rmSync(filler);
    else ctl.clear();
    const deadline = Date.now() + 30_000;
    let resumed: { status: number; body: Body } | undefined;
    while (Date.now() < deadline) {
      resumed = await call(s, 'PUT', '/entities/z:1', { blob: '{"after":true}' });
      if (resumed.status !== 507 && resumed.status !== 503) break;
      await sleep(200);
    }
    expect(resumed!.status, JSON.stringify(resumed!.body)).toBe(201);
    expect((await call(s, 'GET', '/health')).body).toMatchObject({ status: 'healthy', writes: 'enabled' });
    expect(await writesGauge(s)).toBe(1);
    await expectAllAcked(s, out.acked);
    const feed = await expectContiguousFeed(s);
    expect(feed.keys.filter((k) => k.startsWith('t:')).sort()).toEqual([...out.acked.keys()].sort());
    expect(await fulltextTotal(s)).toBe(out.acked.size);

    // And everything is still there after a hard kill.
    await s.kill();
    const s2 = await startServer({ dataDir, env: { THEMIS_LOG_LEVEL: 'error' } });
    servers.push(s2);
    await expectAllAcked(s2, out.acked);
    expect((await call(s2, 'GET', '/entities/z:1')).body.blob).toBe('{"after":true}');
    expect((await expectContiguousFeed(s2)).lastSeq).toBe(feed.lastSeq);
    expect(await fulltextTotal(s2)).toBe(out.acked.size);
  });

  it('a graceful stop while the disk is full exits 0; after space is freed the next start has every acknowledged write', async () => {
    const ctl = new FaultControl(shim);
    const dataDir = tempDir();
    const s = await startServer({ dataDir, env: { ...ctl.env, THEMIS_LOG_LEVEL: 'error' } });
    servers.push(s);
    const out = await writeUntilRefused(s, {
      writers: 3,
      pad: 512,
      failuresEach: 2,
      maxEach: 400,
      onAcked: (n) => n === 40 && ctl.set('enospc', dataDir),
    });
    expect(out.failures.every((f) => f.status === 507)).toBe(true);
    expect(await s.stop()).toBe(0);
    ctl.clear();
    const s2 = await startServer({ dataDir, env: { THEMIS_LOG_LEVEL: 'error' } });
    servers.push(s2);
    await expectAllAcked(s2, out.acked);
    await expectContiguousFeed(s2);
    await expectStatus(await call(s2, 'PUT', '/entities/z:2', { blob: '{}' }), 201);
  });
});

describe('an I/O error', () => {
  for (const mode of ['eio-fsync', 'eio-write'] as const) {
    it(`(${mode}) refuses writes with 503 STORAGE_FAILURE until a restart; reads keep working; after the restart nothing acknowledged is missing`, async () => {
      const ctl = new FaultControl(shim);
      const dataDir = tempDir();
      // Audit off: the batch that meets the error must be a client's commit (the audit log's own batches would
      // race for it; an audit batch meeting it stops writes the same way, but then no client sees "outcome unknown").
      const s = await startServer({ dataDir, env: { ...ctl.env, THEMIS_LOG_LEVEL: 'error', THEMIS_AUDIT: 'off' } });
      servers.push(s);
      const out = await writeUntilRefused(s, {
        writers: 4,
        pad: 256,
        failuresEach: 2,
        maxEach: 400,
        onAcked: (n) => n === 50 && ctl.set(mode, dataDir),
      });
      expect(out.failures.length).toBeGreaterThanOrEqual(4);
      for (const f of out.failures) {
        expect(f.status, JSON.stringify(f.body)).toBe(503);
        expect(f.body).toMatchObject({ error: true, status_code: 503, code: 'STORAGE_FAILURE', storage: 'io_error' });
      }
      // The commit that met the error is the one whose outcome is unknown; it says so.
      expect(out.failures.some((f) => /outcome is unknown/.test(String(f.body.message)))).toBe(true);
      const health = await call(s, 'GET', '/health');
      expect(health.status, JSON.stringify(health.body)).toBe(503);
      expect(health.body).toMatchObject({
        error: true,
        code: 'STORAGE_FAILURE',
        status: 'unhealthy',
        storage_failure: { kind: 'io_error' },
      });
      await expectAllAcked(s, out.acked);
      expect(await aqlCount(s)).toBe(out.acked.size);

      // The error is gone, but nothing is retried in place: an fsync that failed once proves nothing about the page cache.
      ctl.clear();
      await sleep(300);
      await expectStatus(await call(s, 'PUT', '/entities/z:1', { blob: '{}' }), 503);

      await s.kill();
      const s2 = await startServer({ dataDir, env: { THEMIS_LOG_LEVEL: 'error' } });
      servers.push(s2);
      await expectAllAcked(s2, out.acked);
      const feed = await expectContiguousFeed(s2);
      // A commit whose fsync failed may have reached the log: then it is there whole, exactly as written.
      const seen = new Set(feed.keys);
      for (const f of out.failures) {
        if (!seen.has(f.key)) continue;
        const r = await call(s2, 'GET', `/entities/${f.key}`);
        await expectStatus(r, 200);
        expect(JSON.parse(String(r.body.blob)).text).toMatch(/^word\d common \d+$/);
      }
      await expectStatus(await call(s2, 'PUT', '/entities/z:1', { blob: '{}' }), 201);
      expect((await call(s2, 'GET', '/health')).body).toMatchObject({ status: 'healthy' });
    });
  }

  it('(eio-fsync) an audit batch that meets the error stops writes like a commit; after a restart the chain verifies and acknowledged writes have their entries', async () => {
    const ctl = new FaultControl(shim);
    const dataDir = tempDir();
    const s = await startServer({ dataDir, env: { ...ctl.env, THEMIS_LOG_LEVEL: 'error', THEMIS_AUDIT_FLUSH_MS: '5' } });
    servers.push(s);
    for (let i = 0; i < 3; i++) await expectStatus(await call(s, 'PUT', `/entities/a:${i}`, { blob: '{}' }), 201);
    await sleep(50); // their index chunks are written too
    ctl.set('eio-fsync', dataDir);
    // Only reads now: the batch of their audit entries is the next write to meet the error.
    for (let i = 0; i < 5; i++) await call(s, 'GET', '/entities/a:0');
    let w = await call(s, 'PUT', '/entities/a:9', { blob: '{}' });
    for (let i = 0; i < 50 && w.status !== 503; i++) {
      await sleep(20);
      w = await call(s, 'PUT', `/entities/b:${i}`, { blob: '{}' });
    }
    expect(w.status, JSON.stringify(w.body)).toBe(503);
    expect(w.body).toMatchObject({ code: 'STORAGE_FAILURE', storage: 'io_error' });
    ctl.clear();
    await s.kill();
    const s2 = await startServer({ dataDir, env: { THEMIS_LOG_LEVEL: 'error' } });
    servers.push(s2);
    expect((await call(s2, 'GET', '/api/audit/verify')).body).toMatchObject({ ok: true });
    const puts = await call(s2, 'GET', '/api/audit?action=PUT_ENTITY&success=true&page_size=1000');
    const audited = new Set((puts.body.entries as { entityId: string }[]).map((e) => e.entityId));
    for (let i = 0; i < 3; i++) expect(audited.has(`a:${i}`), `a:${i}`).toBe(true);
  });
});
