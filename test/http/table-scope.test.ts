import fs from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { call, expectStatus, startServer, type Body, type StartedServer } from '../helpers/server.js';
import { openSse } from '../helpers/sse.js';

/**
 * Table-scoped permissions (issue 15): a key holding `data:read:users` reads
 * `users` and nothing else, by every route: entities, batches, POST /query,
 * AQL (every collection, subqueries, DOCUMENT(), traversals), fulltext,
 * vector and hybrid search, graph, the change feed (long-poll, SSE,
 * WebSocket). Refusals are 403 FORBIDDEN naming the table, with nothing
 * applied; the graph and the feed leave other tables out.
 */

const JWT_SECRET = 'table-scope-jwt-secret-0123456789abcdef';

let s: StartedServer;
/** users + follows (read), users (write), query:execute. */
let U: string;
/** data:read:logs_* */
let L: string;
/** data:write:users only. */
let W: string;

const as = (secret: string) => ({ authorization: `Bearer ${secret}` });
const forbidden = (r: { status: number; body: Body }, table: string) => {
  expect(r.status, JSON.stringify(r.body)).toBe(403);
  expect(r.body).toMatchObject({ error: true, status_code: 403, code: 'FORBIDDEN', table });
};

async function key(permissions: string[]): Promise<string> {
  const r = await call(s, 'POST', '/api/keys', { name: permissions.join(' '), permissions });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body.permissions).toEqual(permissions);
  return r.body.secret as string;
}

beforeAll(async () => {
  s = await startServer({ env: { THEMIS_JWT_SECRET: JWT_SECRET } });
  const ok = async (m: string, p: string, b?: unknown) => {
    const r = await call(s, m, p, b);
    expect(r.status, `${m} ${p}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
  };
  await ok('POST', '/index/create', { table: 'users', column: 'name', type: 'fulltext' });
  await ok('POST', '/index/create', { table: 'orders', column: 'name', type: 'fulltext' });
  await ok('POST', '/index/create', { table: 'users', column: 'age' });
  await ok('POST', '/index/create', { table: 'orders', column: 'age' });
  await ok('POST', '/vector/index/create', { name: 'vusers', table: 'users', field: 'emb', metric: 'L2', dimension: 2 });
  await ok('POST', '/vector/index/create', { name: 'vorders', table: 'orders', field: 'emb', metric: 'L2', dimension: 2 });
  await ok('PUT', '/entities/users:1', { blob: { name: 'alice smith', age: 30, emb: [0, 0] } });
  await ok('PUT', '/entities/users:2', { blob: { name: 'bob smith', age: 40, emb: [1, 1] } });
  await ok('PUT', '/entities/orders:1', { blob: { name: 'smith order', age: 30, emb: [0, 0.1] } });
  await ok('PUT', '/entities/logs_a:1', { blob: { m: 'a' } });
  await ok('PUT', '/entities/logs_b:1', { blob: { m: 'b' } });
  await ok('PUT', '/entities/follows:1', { blob: { _from: 'users:1', _to: 'orders:1' } });
  await ok('PUT', '/entities/follows:2', { blob: { _from: 'users:1', _to: 'users:2' } });
  await ok('PUT', '/entities/follows:3', { blob: { _from: 'orders:1', _to: 'users:2' } });
  U = await key(['data:read:users', 'data:read:follows', 'data:write:users', 'query:execute']);
  L = await key(['data:read:logs_*']);
  W = await key(['data:write:users']);
});

afterAll(async () => {
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

describe('table-scoped permissions', () => {
  it('validation: scoped names are accepted and listed; malformed ones are 400 naming the entry', async () => {
    for (const bad of [
      'data:read:',
      'data:delete:users',
      'data:read:a b',
      'data:read:users:x',
      'query:execute:users',
      `data:read:${'t'.repeat(129)}`,
    ]) {
      const r = await call(s, 'POST', '/api/keys', { name: 'x', permissions: ['stats:read', bad] });
      expect(r.status, bad).toBe(400);
      expect(r.body, bad).toMatchObject({ code: 'VALIDATION_FAILED', field: 'permissions.1' });
    }
    const list = await call(s, 'GET', '/api/keys');
    const names = (list.body.keys as { permissions: string[] }[]).map((k) => k.permissions);
    expect(names).toContainEqual(['data:read:logs_*']);
  });

  it('entities: reads and writes only in its tables; 403 names the table and nothing is applied', async () => {
    const got = await call(s, 'GET', '/entities/users:1', undefined, as(U));
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body.blob as string)).toMatchObject({ name: 'alice smith' });
    forbidden(await call(s, 'GET', '/entities/orders:1', undefined, as(U)), 'orders');
    // 403 also for an entity that does not exist: the scope does not reveal what exists.
    forbidden(await call(s, 'GET', '/entities/orders:nope', undefined, as(U)), 'orders');
    forbidden(await call(s, 'PUT', '/entities/orders:9', { blob: '{}' }, as(U)), 'orders');
    forbidden(await call(s, 'DELETE', '/entities/orders:1', undefined, as(U)), 'orders');
    forbidden(await call(s, 'POST', '/entities', { table: 'orders', blob: '{}' }, as(U)), 'orders');
    forbidden(await call(s, 'PUT', '/entities/follows:9', { blob: '{}' }, as(U)), 'follows'); // read, not write
    expect((await call(s, 'GET', '/entities/orders:9')).status).toBe(404);
    expect((await call(s, 'GET', '/entities/orders:1')).status).toBe(200);
    const put = await call(s, 'PUT', '/entities/users:3', { blob: { name: 'carol' } }, as(U));
    expect(put.status).toBe(201);
    expect((await call(s, 'DELETE', '/entities/users:3', undefined, as(U))).body).toMatchObject({ deleted: true });
  });

  it('a pattern: data:read:logs_* reads logs_a and logs_b, not users, and writes nothing', async () => {
    expect((await call(s, 'GET', '/entities/logs_a:1', undefined, as(L))).status).toBe(200);
    expect((await call(s, 'GET', '/entities/logs_b:1', undefined, as(L))).status).toBe(200);
    forbidden(await call(s, 'GET', '/entities/users:1', undefined, as(L)), 'users');
    forbidden(await call(s, 'GET', '/entities/logs:1', undefined, as(L)), 'logs');
    // No write permission at all: the route's data:write is missing.
    const r = await call(s, 'PUT', '/entities/logs_a:2', { blob: '{}' }, as(L));
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('FORBIDDEN');
  });

  it('a write-only scope satisfies no read route', async () => {
    const r = await call(s, 'GET', '/entities/users:1', undefined, as(W));
    expect(r.status).toBe(403);
    expect((await call(s, 'PUT', '/entities/users:4', { blob: '{}' }, as(W))).status).toBe(201);
    forbidden(await call(s, 'PUT', '/entities/orders:4', { blob: '{}' }, as(W)), 'orders');
  });

  it('POST /transaction: one operation on another table refuses the whole batch', async () => {
    const r = await call(
      s,
      'POST',
      '/transaction',
      {
        operations: [
          { op: 'put', key: 'users:5', blob: '{}' },
          { op: 'delete', key: 'orders:1' },
        ],
      },
      as(U),
    );
    forbidden(r, 'orders');
    expect(r.body.field).toBe('operations.1');
    expect((await call(s, 'GET', '/entities/users:5')).status).toBe(404);
    expect((await call(s, 'GET', '/entities/orders:1')).status).toBe(200);
  });

  it('POST /query: its table only', async () => {
    forbidden(await call(s, 'POST', '/query', { table: 'orders', predicates: [{ column: 'age', value: 30 }] }, as(U)), 'orders');
    const r = await call(s, 'POST', '/query', { table: 'users', predicates: [{ column: 'age', value: 30 }] }, as(U));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(JSON.stringify(r.body)).toContain('alice smith');
  });

  it('AQL: every collection it reads or writes, subqueries, DOCUMENT(), traversal starts', async () => {
    const aql = (query: string, secret = U) => call(s, 'POST', '/query/aql', { query }, as(secret));
    const ok = await aql('FOR u IN users FILTER u.name != null SORT u.age RETURN u.name');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.entities).toEqual(['alice smith', 'bob smith']);
    forbidden(await aql('FOR o IN orders RETURN o'), 'orders');
    forbidden(await aql('FOR u IN users LET o = (FOR x IN orders RETURN x) RETURN [u, o]'), 'orders');
    forbidden(await aql('RETURN DOCUMENT("orders:1")'), 'orders');
    forbidden(await aql('RETURN DOCUMENT(orders, "1")'), 'orders');
    forbidden(await aql('FOR u IN users RETURN DOCUMENT(CONCAT("ord", "ers:1"))'), 'orders');
    forbidden(await aql('INSERT {_key: "x"} INTO orders'), 'orders');
    forbidden(await aql('FOR u IN users INSERT {_key: u._key} INTO orders'), 'orders');
    forbidden(await aql('FOR v IN 1..2 OUTBOUND "orders:1" follows RETURN v'), 'orders');
    expect((await call(s, 'POST', '/query/aql', { query: 'FOR o IN orders RETURN o' })).body.entities).toHaveLength(1);
    // Nothing of the refused writes happened.
    expect((await call(s, 'GET', '/entities/orders:x')).status).toBe(404);
    // A traversal crosses only vertices of readable tables: orders:1 is left out (and not crossed).
    const t = await aql('FOR v IN 1..3 OUTBOUND "users:1" follows RETURN v._id');
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    expect(t.body.entities).toEqual(['users:2']);
    const all = await call(s, 'POST', '/query/aql', { query: 'FOR v IN 1..3 OUTBOUND "users:1" follows RETURN v._id' });
    // depth-first without vertex uniqueness (ArangoDB's default): users:2 directly and through orders:1
    expect((all.body.entities as string[]).sort()).toEqual(['orders:1', 'users:2', 'users:2']);
    // Writing its own table works.
    const w = await aql('INSERT {_key: "aql", name: "from aql"} INTO users RETURN NEW._key');
    expect(w.status, JSON.stringify(w.body)).toBe(200);
  });

  it('AQL cursors belong to the principal that opened them', async () => {
    const first = await call(s, 'POST', '/query/aql', { query: 'FOR u IN users RETURN u._key', use_cursor: true, batch_size: 1 }, as(U));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const cursor = first.body.next_cursor as string;
    expect(typeof cursor).toBe('string');
    const other = await call(s, 'POST', '/query/aql', { cursor });
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
    const own = await call(s, 'POST', '/query/aql', { cursor }, as(U));
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect((own.body.items as unknown[]).length).toBe(1);
  });

  it('fulltext, hybrid and vector search: the table of the index', async () => {
    forbidden(await call(s, 'POST', '/search/fulltext', { table: 'orders', column: 'name', query: 'smith' }, as(U)), 'orders');
    const ft = await call(s, 'POST', '/search/fulltext', { table: 'users', column: 'name', query: 'smith' }, as(U));
    expect(ft.status, JSON.stringify(ft.body)).toBe(200);
    expect((ft.body.hits as { key: string }[]).map((h) => h.key).sort()).toEqual(['users:1', 'users:2']);
    forbidden(await call(s, 'POST', '/vector/search', { index: 'vorders', vector: [0, 0], k: 5 }, as(U)), 'orders');
    const vs = await call(s, 'POST', '/vector/search', { index: 'vusers', vector: [0, 0], k: 5 }, as(U));
    expect(vs.status, JSON.stringify(vs.body)).toBe(200);
    expect((vs.body.results as { pk: string }[])[0]!.pk).toBe('1');
    forbidden(
      await call(
        s,
        'POST',
        '/search/hybrid',
        { table: 'orders', text: { column: 'name', query: 'smith' }, vector: { vector: [0, 0], index: 'vorders' } },
        as(U),
      ),
      'orders',
    );
    forbidden(await call(s, 'POST', '/vector/batch_insert', { index: 'vorders', items: [{ pk: 'v9', vector: [5, 5] }] }, as(U)), 'orders');
    forbidden(await call(s, 'DELETE', '/vector/by-filter', { index: 'vorders', prefix: '' }, as(U)), 'orders');
    expect((await call(s, 'GET', '/entities/orders:v9')).status).toBe(404);
    expect((await call(s, 'GET', '/entities/orders:1')).status).toBe(200);
  });

  it('graph: the start must be readable; other tables are neither listed nor crossed', async () => {
    const t = await call(s, 'POST', '/graph/traverse', { start_vertex: 'users:1', max_depth: 3 }, as(U));
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    expect(t.body.visited).toEqual(['users:1', 'users:2']);
    const admin = await call(s, 'POST', '/graph/traverse', { start_vertex: 'users:1', max_depth: 3 });
    expect(admin.body.visited).toEqual(['users:1', 'orders:1', 'users:2']);
    forbidden(await call(s, 'POST', '/graph/traverse', { start_vertex: 'orders:1', max_depth: 1 }, as(U)), 'orders');
    forbidden(await call(s, 'POST', '/graph/shortest_path', { from: 'users:1', to: 'orders:1' }, as(U)), 'orders');
    forbidden(await call(s, 'POST', '/graph/traverse', { start_vertex: 'users:1', max_depth: 1, edge_table: 'orders' }, as(U)), 'orders');
    const p = await call(s, 'POST', '/graph/shortest_path', { from: 'users:1', to: 'users:2' }, as(U));
    expect(p.body).toMatchObject({ found: true, path: ['users:1', 'users:2'], edges: ['follows:2'] });
  });

  it('change feed: other tables are filtered out of the long-poll, SSE and WebSocket; a key_prefix naming one is 403', async () => {
    const tables = (keys: string[]) => [...new Set(keys.map((k) => k.slice(0, k.indexOf(':'))))].sort();
    const mine = await call(s, 'GET', '/changefeed?from_seq=0&limit=1000', undefined, as(U));
    expect(mine.status).toBe(200);
    const all = await call(s, 'GET', '/changefeed?from_seq=0&limit=1000');
    const allKeys = (all.body.entries as { key: string }[]).map((e) => e.key);
    const myKeys = (mine.body.entries as { key: string }[]).map((e) => e.key);
    expect(tables(allKeys)).toEqual(expect.arrayContaining(['follows', 'logs_a', 'orders', 'users']));
    expect(tables(myKeys)).toEqual(['follows', 'users']);
    expect(myKeys).toEqual(allKeys.filter((k) => k.startsWith('users:') || k.startsWith('follows:')));
    forbidden(await call(s, 'GET', '/changefeed?from_seq=0&key_prefix=orders:', undefined, as(U)), 'orders');

    const sse = await openSse(s.port, '/changefeed/stream?from_seq=0&keep_alive=false', as(U));
    await sse.ended;
    expect(tables(sse.events.map((e) => (JSON.parse(e.data ?? '{}') as { key: string }).key))).toEqual(['follows', 'users']);
    const sseBad = await openSse(s.port, '/changefeed/stream?from_seq=0&keep_alive=false&key_prefix=orders:1', as(U));
    expect(sseBad.status).toBe(403);

    const readAll = () =>
      new Promise<{ got: string[]; code: number }>((resolve, reject) => {
        const got: string[] = [];
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/changefeed/ws?from_seq=0&keep_alive=false`, { headers: as(U) });
        ws.on('message', (m) => got.push((JSON.parse(m.toString()) as { key: string }).key));
        ws.on('close', (code) => resolve({ got, code }));
        ws.on('error', reject);
      });
    // Under load uWS now and then closes a just-upgraded socket at once (1006, nothing sent; see the issue-17
    // notes): a client reconnects, and so does the test.
    let r = await readAll();
    for (let attempt = 2; r.code === 1006 && r.got.length === 0 && attempt <= 3; attempt++) r = await readAll();
    expect(r.code).toBe(1000);
    const wsKeys = r.got;
    expect(tables(wsKeys)).toEqual(['follows', 'users']);
    expect(wsKeys.length).toBe(myKeys.length);
  });

  it('a transaction belongs to the principal that began it', async () => {
    const b = await call(s, 'POST', '/transaction/begin', {}, as(U));
    expect(b.status).toBe(200);
    const id = b.body.transaction_id as number;
    const inTxn = { 'x-transaction-id': String(id) };
    expect((await call(s, 'PUT', '/entities/users:t1', { blob: '{"t":1}' }, { ...as(U), ...inTxn })).status).toBe(201);
    // Another key (even one allowed to write users) cannot add to it, read through it, commit or roll it back.
    const other = await call(s, 'PUT', '/entities/users:t2', { blob: '{}' }, { ...as(W), ...inTxn });
    expect(other.body).toMatchObject({ code: 'FORBIDDEN', field: 'transaction_id' });
    expect((await call(s, 'GET', '/entities/users:t1', undefined, inTxn)).body.code).toBe('FORBIDDEN');
    expect((await call(s, 'POST', '/query/aql', { query: 'FOR u IN users RETURN u' }, inTxn)).body.code).toBe('FORBIDDEN');
    expect((await call(s, 'POST', '/transaction/commit', { transaction_id: id }, as(W))).body.code).toBe('FORBIDDEN');
    expect((await call(s, 'POST', '/transaction/rollback', { transaction_id: id })).body.code).toBe('FORBIDDEN');
    expect((await call(s, 'GET', '/entities/users:t1')).status).toBe(404);
    const c = await call(s, 'POST', '/transaction/commit', { transaction_id: id }, as(U));
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect((await call(s, 'GET', '/entities/users:t1')).status).toBe(200);
    expect((await call(s, 'GET', '/entities/users:t2')).status).toBe(404);
  });

  it('JWTs carry scoped permissions too', async () => {
    const token = await new SignJWT({ sub: 'svc', permissions: ['data:read:users'], exp: Math.floor(Date.now() / 1000) + 300 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect((await call(s, 'GET', '/entities/users:1', undefined, as(token))).status).toBe(200);
    forbidden(await call(s, 'GET', '/entities/orders:1', undefined, as(token)), 'orders');
  });

  it('changing a key scope takes effect on its next request', async () => {
    const r = await call(s, 'POST', '/api/keys', { name: 'moving', permissions: ['data:read:users'] });
    const id = r.body.keyId as string;
    const secret = r.body.secret as string;
    expect((await call(s, 'GET', '/entities/users:1', undefined, as(secret))).status).toBe(200);
    await expectStatus(await s.req('PUT', `/api/keys/${id}`, { permissions: ['data:read:orders'] }), 200);
    forbidden(await call(s, 'GET', '/entities/users:1', undefined, as(secret)), 'users');
    expect((await call(s, 'GET', '/entities/orders:1', undefined, as(secret))).status).toBe(200);
  });
});
