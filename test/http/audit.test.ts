import fs from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { components } from '../../src/api/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_KEY, call, sleep, startServer, type Body, type StartedServer } from '../helpers/server.js';
import { alterStoredEntry, storedSegments } from '../helpers/audit-storage.js';
import { dataBytes } from '../helpers/files.js';

/**
 * The audit log (issue 16): every request audited with its fields, the
 * entry of a write in the write's own commit, filters served by indexes,
 * paging, redaction, the hash chain, levels, and no committed write without
 * its entry after kill -9.
 */

type Entry = components['schemas']['AuditEntry'];
type Page = components['schemas']['AuditPage'];

const audit = async (s: StartedServer, q = ''): Promise<Page> => {
  const r = await call(s, 'GET', `/api/audit${q}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as unknown as Page;
};
const bySession = async (s: StartedServer, requestId: string): Promise<Entry[]> =>
  (await audit(s, '?page_size=1000')).entries.filter((e) => e.sessionId === requestId);

describe('the audit log', () => {
  let s: StartedServer;
  let reader: { keyId: string; secret: string };

  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_AUTH_FAIL_LIMIT: 'off', THEMIS_RATE_LIMIT_AUDIT: 'off' } });
    const r = await call(s, 'POST', '/api/keys', { name: 'reader', permissions: ['data:read:users'] });
    reader = r.body as unknown as { keyId: string; secret: string };
  });
  afterAll(async () => {
    if (!s) return;
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('a write: one entry with every field, in the same commit (its change-feed seq), visible at once', async () => {
    const put = await s.req('PUT', '/entities/users:alice', { blob: { n: 1 } }, { 'x-request-id': 'req-put-1' });
    expect(put.status).toBe(201);
    const feed = await call(s, 'GET', '/changefeed?from_seq=0&limit=1000');
    const mine = (feed.body.entries as { key: string; seq: number }[]).filter((e) => e.key === 'users:alice');
    const seq = mine[mine.length - 1]!.seq;
    const [e, ...more] = await bySession(s, 'req-put-1');
    expect(more).toEqual([]);
    expect(e).toMatchObject({
      user: 'admin (THEMIS_ADMIN_KEY)',
      userId: 'env-admin',
      action: 'PUT_ENTITY',
      entityType: 'users',
      entityId: 'users:alice',
      oldValue: null,
      newValue: null,
      success: true,
      statusCode: 201,
      ipAddress: '127.0.0.1',
      sessionId: 'req-put-1',
      errorMessage: null,
      seq,
      method: 'PUT',
      route: '/entities/:key',
    });
    expect(typeof seq).toBe('number');
    expect(Math.abs(Date.parse(e!.timestamp) - Date.now())).toBeLessThan(60_000);
  });

  it('a transaction commit: one entry naming the transaction, its table (or "multiple"), the last seq', async () => {
    const commitTxn = async (keys: string[], requestId: string) => {
      const id = (await call(s, 'POST', '/transaction/begin', {})).body.transaction_id as number;
      for (const k of keys)
        expect((await call(s, 'PUT', `/entities/${k}`, { blob: { k } }, { 'x-transaction-id': String(id) })).status).toBe(201);
      expect((await s.req('POST', '/transaction/commit', { transaction_id: id }, { 'x-request-id': requestId })).status).toBe(200);
      return id;
    };
    const one = await commitTxn(['tx1:a', 'tx1:b'], 'req-txn-one');
    const two = await commitTxn(['tx2:a', 'tx3:b'], 'req-txn-two');
    const feed = (await call(s, 'GET', '/changefeed?from_seq=0&limit=1000')).body.entries as { key: string; seq: number }[];
    const seqOf = (k: string) => feed.filter((e) => e.key === k).at(-1)!.seq;
    expect(await bySession(s, 'req-txn-one')).toMatchObject([
      { entityType: 'tx1', entityId: `transaction:${one}`, seq: seqOf('tx1:b'), success: true },
    ]);
    expect(await bySession(s, 'req-txn-two')).toMatchObject([
      { entityType: 'multiple', entityId: `transaction:${two}`, seq: seqOf('tx3:b'), success: true },
    ]);
  });

  it('reads and refusals: 200, 401 (LOGIN_FAILED), 403, 404 entity, 404 route, 400 — each with its status and message', async () => {
    const cases: [string, string, Record<string, string>, Partial<Entry>][] = [
      ['GET', '/entities/users:alice', {}, { action: 'GET_ENTITY', success: true, statusCode: 200, entityId: 'users:alice', seq: null }],
      [
        'GET',
        '/entities/users:alice',
        { authorization: 'Bearer wrong-token-0123456789' },
        { action: 'LOGIN_FAILED', success: false, statusCode: 401, user: null },
      ],
      [
        'GET',
        '/entities/orders:1',
        { authorization: `Bearer ${reader.secret}` },
        { action: 'GET_ENTITY', success: false, statusCode: 403, user: 'reader', userId: reader.keyId, entityType: 'orders' },
      ],
      ['GET', '/entities/users:nobody', {}, { action: 'GET_ENTITY', success: false, statusCode: 404, entityId: 'users:nobody' }],
      ['GET', '/no/such/route', {}, { action: 'UNKNOWN_ROUTE', success: false, statusCode: 404, route: null }],
      ['GET', '/entities/nokey', {}, { action: 'GET_ENTITY', success: false, statusCode: 400 }],
    ];
    let i = 0;
    for (const [m, p, h, want] of cases) {
      const id = `req-case-${i++}`;
      const r = await s.req(m, p, undefined, { ...h, 'x-request-id': id });
      await r.text();
      const got = await bySession(s, id);
      expect(got, `${m} ${p}`).toHaveLength(1);
      expect(got[0], `${m} ${p}`).toMatchObject(want);
      if (!want.success) expect(typeof got[0]!.errorMessage, `${m} ${p}`).toBe('string');
    }
  });

  it('key management: the entry shows the key before and after, never its secret', async () => {
    const c = await s.req(
      'POST',
      '/api/keys',
      { name: 'svc', permissions: ['stats:read'], metadata: { password: 'hunter2' } },
      { 'x-request-id': 'req-key-1' },
    );
    const created = (await c.json()) as { keyId: string; secret: string };
    const [e] = await bySession(s, 'req-key-1');
    expect(e).toMatchObject({ action: 'CREATE_KEY', entityType: 'api_key', entityId: created.keyId, oldValue: null, success: true });
    expect(JSON.parse(e!.newValue!)).toEqual({ name: 'svc', permissions: ['stats:read'], metadata: { password: '***' } });
    await (
      await s.req('PUT', `/api/keys/${created.keyId}`, { permissions: ['stats:read', 'data:read'] }, { 'x-request-id': 'req-key-2' })
    ).text();
    const [u] = await bySession(s, 'req-key-2');
    expect(u).toMatchObject({ action: 'UPDATE_KEY', entityId: created.keyId });
    expect(JSON.parse(u!.oldValue!).permissions).toEqual(['stats:read']);
    expect(JSON.parse(u!.newValue!).permissions).toEqual(['stats:read', 'data:read']);
    await (await s.req('DELETE', `/api/keys/${created.keyId}`, undefined, { 'x-request-id': 'req-key-3' })).text();
    const [d] = await bySession(s, 'req-key-3');
    expect(d).toMatchObject({ action: 'REVOKE_KEY', entityId: created.keyId, newValue: null });
    // A request carrying the secret as a (now revoked) credential: refused, and the secret is not recorded.
    await (await s.req('GET', '/stats', undefined, { authorization: `Bearer ${created.secret}`, 'x-request-id': 'req-key-4' })).text();
    expect((await bySession(s, 'req-key-4'))[0]).toMatchObject({ action: 'LOGIN_FAILED', statusCode: 401 });
    const everything = JSON.stringify(await audit(s, '?page_size=1000'));
    for (const secret of [created.secret, reader.secret, ADMIN_KEY, 'hunter2']) expect(everything).not.toContain(secret);
    // (The key's own metadata is stored by the key store as given: "never put secrets here", docs/api.md.)
    const stored = dataBytes(s.dataDir);
    for (const secret of [created.secret, reader.secret, ADMIN_KEY]) expect(stored.includes(secret), secret).toBe(false);
  });

  it('filters: user, user_id, action, entity_type, entity_id, success, start/end (epoch ms and ISO), combined', async () => {
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) await (await s.req('PUT', `/entities/fil:${i}`, { blob: { i } })).text();
    for (let i = 0; i < 3; i++)
      await (await s.req('GET', `/entities/fil:${i}`, undefined, { authorization: `Bearer ${reader.secret}` })).text();
    const t1 = Date.now();
    const all = (await audit(s, '?page_size=1000')).entries;
    const check = async (q: string, pred: (e: Entry) => boolean) => {
      const want = all.filter(pred).map((e) => e.id);
      const got = await audit(s, `${q}&page_size=1000`);
      expect(
        got.entries.map((e) => e.id),
        q,
      ).toEqual(want);
      expect(got.totalCount, q).toBe(want.length);
      expect(want.length, `${q} matches something`).toBeGreaterThan(0);
    };
    await check('?action=PUT_ENTITY', (e) => e.action === 'PUT_ENTITY');
    await check('?user=reader', (e) => e.user === 'reader');
    await check(`?user_id=${reader.keyId}`, (e) => e.userId === reader.keyId);
    await check('?entity_type=fil', (e) => e.entityType === 'fil');
    await check('?entity_id=fil:2', (e) => e.entityId === 'fil:2');
    await check('?success=false', (e) => !e.success);
    await check('?success=true&entity_type=fil', (e) => e.success && e.entityType === 'fil');
    await check('?user=reader&success=false', (e) => e.user === 'reader' && !e.success);
    await check('?action=PUT_ENTITY&entity_type=fil&entity_id=fil:3', (e) => e.entityId === 'fil:3' && e.action === 'PUT_ENTITY');
    const inWindow = (e: Entry) => Date.parse(e.timestamp) >= t0 && Date.parse(e.timestamp) <= t1;
    await check(`?start=${t0}&end=${t1}`, inWindow);
    await check(`?start=${new Date(t0).toISOString()}&end=${new Date(t1).toISOString()}`, inWindow);
    await check(`?start=${t0}&action=PUT_ENTITY`, (e) => Date.parse(e.timestamp) >= t0 && e.action === 'PUT_ENTITY');
    const none = await audit(s, '?action=NO_SUCH_ACTION');
    expect(none).toEqual({ entries: [], totalCount: 0, page: 1, pageSize: 100, hasMore: false });
    for (const bad of ['?start=yesterday', '?page_size=1001', '?page=0', '?success=maybe', `?start=${t1}&end=${t0}`]) {
      const r = await call(s, 'GET', `/api/audit${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.code, bad).toBe('VALIDATION_FAILED');
    }
  });

  it('paging: with `end` fixed, the pages of a filtered and an unfiltered query cover every entry once, newest first', async () => {
    for (let i = 0; i < 60; i++) await (await s.req('GET', `/entities/users:alice`, undefined, { 'x-request-id': `page-${i}` })).text();
    await sleep(5);
    // Pages are offsets from the newest entry in range: fixing `end` keeps them stable while the log grows.
    const end = Date.now() - 1;
    for (const q of [`?action=GET_ENTITY&end=${end}`, `?end=${end}`]) {
      const full = await audit(s, `${q}&page_size=1000`);
      expect(full.totalCount).toBeGreaterThan(60);
      const seen: number[] = [];
      let page = 1;
      for (;;) {
        const p = await audit(s, `${q}&page_size=7&page=${page}`);
        expect(p.totalCount, q).toBe(full.totalCount);
        expect(p.page).toBe(page);
        seen.push(...p.entries.map((e) => e.id));
        if (!p.hasMore) break;
        expect(p.entries).toHaveLength(7);
        page++;
      }
      expect(seen, q).toEqual(full.entries.map((e) => e.id));
      expect(page).toBe(Math.ceil(full.totalCount / 7));
    }
  });

  it('WebSocket upgrades are audited: opened (101) and refused (LOGIN_FAILED)', async () => {
    const attempt = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/changefeed/ws?keep_alive=false`, { headers });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_q, r) => {
          resolve(r.statusCode ?? 0);
          r.resume();
        });
        ws.on('error', () => resolve(-1));
      });
    expect(await attempt({ authorization: `Bearer ${ADMIN_KEY}` })).toBe(101);
    expect(await attempt({ authorization: 'Bearer not-a-key-0123456789' })).toBe(401);
    const ws = (await audit(s, '?page_size=1000')).entries.filter((e) => e.route === '/changefeed/ws');
    expect(ws.map((e) => [e.action, e.statusCode, e.success, e.user])).toEqual([
      ['LOGIN_FAILED', 401, false, null],
      ['STREAM_CHANGEFEED', 101, true, 'admin (THEMIS_ADMIN_KEY)'],
    ]);
  });

  it('the hash chain verifies', async () => {
    const v = await call(s, 'GET', '/api/audit/verify');
    expect(v.body).toMatchObject({ ok: true, first_id: 1, first_broken_id: null });
    expect(v.body.checked as number).toBeGreaterThan(100);
    expect(v.body.last_id).toBe(v.body.checked);
  });
});

describe('tamper evidence, levels and crashes', () => {
  it('an entry altered in LevelDB breaks verification at that id', async () => {
    let s = await startServer();
    for (let i = 0; i < 5; i++) await (await s.req('PUT', `/entities/t:${i}`, { blob: { i } })).text();
    expect((await call(s, 'GET', '/api/audit/verify')).body).toMatchObject({ ok: true });
    expect(await s.stop()).toBe(0);
    const db = new ClassicLevel<Buffer, Buffer>(path.join(s.dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    // Stored in segments of binary records, each with its hash (src/audit/record-codec.ts): entry 3's content changes, its hash stays.
    const before = await alterStoredEntry(db, 3, (e) => {
      e.success = false;
    });
    expect(before).toMatchObject({ id: 3, success: true });
    await db.close();
    s = await startServer({ dataDir: s.dataDir });
    const v = await call(s, 'GET', '/api/audit/verify');
    expect(v.body).toMatchObject({ ok: false, first_broken_id: 3 });
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('concurrent writes: each entry in the LevelDB batch of its commit, one segment per group commit (not per write)', async () => {
    let s = await startServer();
    const n = 64;
    const codes = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await s.req('PUT', `/entities/g:${i}`, { blob: { i } });
        await r.text();
        return r.status;
      }),
    );
    expect(codes.every((c) => c === 201)).toBe(true);
    expect(await s.stop()).toBe(0);
    const db = new ClassicLevel<Buffer, Buffer>(path.join(s.dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const segs = await storedSegments(db);
    await db.close();
    const puts = segs.flatMap((g) => g.entries()).filter((e) => e.action === 'PUT_ENTITY');
    expect(puts.map((e) => e.entityId).sort()).toEqual(Array.from({ length: n }, (_, i) => `g:${i}`).sort());
    expect(new Set(puts.map((e) => e.seq)).size).toBe(n);
    // Group commit coalesced the writes; their entries share the groups' segments.
    const withPuts = segs.filter((g) => g.entries().some((e) => e.action === 'PUT_ENTITY'));
    expect(withPuts.length).toBeLessThan(n);
    s = await startServer({ dataDir: s.dataDir });
    expect((await call(s, 'GET', '/api/audit/verify')).body).toMatchObject({ ok: true, first_broken_id: null });
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('THEMIS_AUDIT=writes records writes and refused logins, not reads; off records nothing', async () => {
    const s = await startServer({ env: { THEMIS_AUDIT: 'writes' } });
    await (await s.req('PUT', '/entities/w:1', { blob: {} })).text();
    await (await s.req('GET', '/entities/w:1')).text();
    await (await s.req('GET', '/entities/w:1', undefined, { authorization: 'Bearer nope-nope-nope-nope' })).text();
    const p = await audit(s);
    expect(p.entries.map((e) => e.action).sort()).toEqual(['LOGIN_FAILED', 'PUT_ENTITY']);
    expect(await s.stop()).toBe(0);
    const off = await startServer({ dataDir: s.dataDir, env: { THEMIS_AUDIT: 'off' } });
    await (await off.req('PUT', '/entities/w:2', { blob: {} })).text();
    expect((await audit(off)).totalCount).toBe(2);
    expect(await off.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('kill -9 during writes: every committed write has its entry, and the chain verifies', async () => {
    let s = await startServer({ env: { THEMIS_AUDIT_FLUSH_MS: '50' } });
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await s.req('PUT', `/entities/k:${w}-${i}`, { blob: { w, i } });
          await r.text();
          await s.req('GET', `/entities/k:${w}-${i}`).then((x) => x.text());
        } catch {
          return;
        }
      }
    });
    await sleep(700);
    await s.kill();
    stop = true;
    await Promise.all(writers);
    s = await startServer({ dataDir: s.dataDir });
    const feed = await call(s, 'GET', '/changefeed?from_seq=0&limit=10000');
    const seqs = (feed.body.entries as { seq: number; key: string }[]).filter((e) => e.key.startsWith('k:')).map((e) => e.seq);
    expect(seqs.length).toBeGreaterThan(10);
    const entries: Entry[] = [];
    for (let page = 1; ; page++) {
      const p = await audit(s, `?action=PUT_ENTITY&page_size=1000&page=${page}`);
      entries.push(...p.entries);
      if (!p.hasMore) break;
    }
    const audited = new Set(entries.map((e) => e.seq));
    expect(seqs.filter((q) => !audited.has(q))).toEqual([]);
    expect((await call(s, 'GET', '/api/audit/verify')).body).toMatchObject({ ok: true });
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('the audit routes are rate-limited (429 with the headers) and need audit:read', async () => {
    const s = await startServer({ env: { THEMIS_RATE_LIMIT_AUDIT: '3/min' } });
    for (let i = 0; i < 3; i++) expect((await s.req('GET', '/api/audit')).status).toBe(200);
    const r = await s.req('GET', '/api/audit');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).not.toBeNull();
    expect(r.headers.get('x-ratelimit-limit')).toBe('3');
    const k = await call(s, 'POST', '/api/keys', { name: 'no-audit', permissions: ['data:read'] });
    const f = await call(s, 'GET', '/api/audit', undefined, { authorization: `Bearer ${k.body.secret as string}` });
    expect(f.status).toBe(403);
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });
});

void ({} as Body);
