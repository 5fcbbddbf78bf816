/**
 * POST /query over HTTP (black box): index-driven equality, numeric range
 * bounds given as strings, ORDER BY with limit, keys vs entities, explain,
 * full-scan refusal, maintenance after writes, transactions, backfill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectStatus, startServer, type Body, type StartedServer } from '../helpers/server.js';

const CITIES = ['Berlin', 'Rome', 'Oslo', 'Paris'];
const N = 120;
const user = (i: number) => ({ name: `u${i}`, city: CITIES[i % 4]!, age: 18 + (i % 50) });

describe('POST /query', () => {
  let s: StartedServer;
  const q = (body: unknown, headers?: Record<string, string>) => call(s, 'POST', '/query', body, headers);
  beforeAll(async () => {
    s = await startServer();
    const ops = [];
    for (let i = 0; i < N; i++) ops.push({ op: 'put', key: `users:${String(i).padStart(3, '0')}`, blob: user(i) });
    const r = await call(s, 'POST', '/transaction', { operations: ops });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'users', column: 'city' }), 200);
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'users', column: 'age', type: 'range' }), 200);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const expected = (f: (u: ReturnType<typeof user>) => boolean) =>
    [...Array(N).keys()].filter((i) => f(user(i))).map((i) => `users:${String(i).padStart(3, '0')}`);

  it('equality via index (index built after the data: backfill is used), keys and entities', async () => {
    const r = await q({ table: 'users', predicates: [{ column: 'city', value: 'Berlin' }], return: 'keys' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.table).toBe('users');
    expect(r.body.count).toBe(N / 4);
    expect([...(r.body.keys as string[])].sort()).toEqual(expected((u) => u.city === 'Berlin'));
    expect(r.body.plan).toEqual({
      mode: 'index_optimized',
      order: [{ column: 'city', value: 'Berlin' }],
      estimates: [{ column: 'city', value: 'Berlin', estimatedCount: N / 4, capped: false }],
      index_only: true,
    });
    const e = await q({
      table: 'users',
      predicates: [
        { column: 'city', value: 'Rome' },
        { column: 'age', value: 19 },
      ],
    });
    await expectStatus(e, 200);
    expect(e.body.keys).toBeUndefined();
    const ents = (e.body.entities as string[]).map((t) => JSON.parse(t) as Body);
    expect(ents.length).toBe(expected((u) => u.city === 'Rome' && u.age === 19).length);
    for (const x of ents) expect(x).toMatchObject({ city: 'Rome', age: 19 });
    expect(typeof (e.body.entities as unknown[])[0]).toBe('string');
  });

  it('range with numeric string bounds, ORDER BY desc + limit', async () => {
    const r = await q({
      table: 'users',
      range: [{ column: 'age', gte: '25', lte: '35', includeLower: true, includeUpper: true }],
      return: 'keys',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((r.body.plan as Body).mode).toBe('range_scan');
    expect([...(r.body.keys as string[])].sort()).toEqual(expected((u) => u.age >= 25 && u.age <= 35));
    const ex = await q({ table: 'users', range: [{ column: 'age', gt: 25, lt: '35' }], return: 'keys' });
    expect([...(ex.body.keys as string[])].sort()).toEqual(expected((u) => u.age > 25 && u.age < 35));

    const top = await q({ table: 'users', order_by: { column: 'age', desc: true, limit: 5 } });
    expect(top.status, JSON.stringify(top.body)).toBe(200);
    expect((top.body.plan as Body).mode).toBe('range_scan');
    const ages = (top.body.entities as string[]).map((t) => (JSON.parse(t) as { age: number }).age);
    expect(ages).toEqual(
      [...Array(N).keys()]
        .map((i) => user(i).age)
        .sort((a, b) => b - a)
        .slice(0, 5),
    );

    const mixed = await q({
      table: 'users',
      predicates: [{ column: 'city', value: 'Oslo' }],
      range: [{ column: 'age', lt: 30 }],
      order_by: { column: 'age', limit: 3 },
      return: 'entities',
    });
    const m = (mixed.body.entities as string[]).map((t) => JSON.parse(t) as { age: number; city: string });
    const want = [...Array(N).keys()]
      .map(user)
      .filter((u) => u.city === 'Oslo' && u.age < 30)
      .map((u) => u.age)
      .sort((a, b) => a - b)
      .slice(0, 3);
    expect(m.map((x) => x.age)).toEqual(want);
    expect((mixed.body.plan as Body).mode).toBe('index_optimized');
  });

  it('explain returns the plan without executing', async () => {
    const r = await q({ table: 'users', predicates: [{ column: 'city', value: 'Paris' }], explain: true });
    await expectStatus(r, 200);
    expect(r.body).toEqual({
      table: 'users',
      explain: true,
      plan: {
        mode: 'index_optimized',
        order: [{ column: 'city', value: 'Paris' }],
        estimates: [{ column: 'city', value: 'Paris', estimatedCount: N / 4, capped: false }],
      },
    });
  });

  it('refuses a full scan (400 naming the column) unless allow_full_scan', async () => {
    const r = await q({ table: 'users', predicates: [{ column: 'name', value: 'u7' }] });
    await expectStatus(r, 400);
    expect(r.body).toMatchObject({ error: true, code: 'BAD_REQUEST' });
    expect(r.body.field).toBe('predicates');
    const ok = await q({ table: 'users', predicates: [{ column: 'name', value: 'u7' }], allow_full_scan: true, return: 'keys' });
    await expectStatus(ok, 200);
    expect(ok.body).toMatchObject({ count: 1, keys: ['users:007'], plan: { mode: 'full_scan' } });
    const bad = await q({ predicates: [] });
    await expectStatus(bad, 400);
  });

  it('malformed bodies are 400 VALIDATION_FAILED naming the field: the schema (types, enums, paths) and the planner (range bounds)', async () => {
    const cases: [unknown, string][] = [
      [{}, 'table'],
      [{ table: 'users', return: 'docs' }, 'return'],
      [{ table: 'users', predicates: [{ column: 'a..b', value: 1 }] }, 'predicates.0.column'],
      [{ table: 'users', predicates: [{ column: 'city' }] }, 'predicates.0.value'],
      [{ table: 'users', order_by: { column: 'age', limit: -1 } }, 'order_by.limit'],
      [{ table: 'users', range: [{ column: 'age' }] }, 'range.0'],
      [{ table: 'users', range: [{ column: 'age', gt: 1, gte: 2 }] }, 'range.0.gt'],
      [{ table: 'users', range: [{ column: 'age', lt: 1, lte: 2 }] }, 'range.0.lt'],
    ];
    for (const [body, field] of cases) {
      const r = await q(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body, JSON.stringify(body)).toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
  });

  it('results follow updates and deletes', async () => {
    await expectStatus(await call(s, 'PUT', '/entities/users:000', { blob: { name: 'u0', city: 'Madrid', age: 99 } }), 201);
    await expectStatus(await call(s, 'DELETE', '/entities/users:004'), 200);
    const b = await q({ table: 'users', predicates: [{ column: 'city', value: 'Berlin' }], return: 'keys' });
    expect(b.body.keys).not.toContain('users:000');
    expect(b.body.keys).not.toContain('users:004');
    expect(b.body.count).toBe(N / 4 - 2);
    const m = await q({ table: 'users', predicates: [{ column: 'city', value: 'Madrid' }], return: 'keys' });
    expect(m.body.keys).toEqual(['users:000']);
    const top = await q({ table: 'users', order_by: { column: 'age', desc: true, limit: 1 }, return: 'keys' });
    expect(top.body.keys).toEqual(['users:000']);
  });

  it("X-Transaction-Id: the query sees the transaction's own writes", async () => {
    for (const isolation of ['snapshot', 'read_committed']) {
      const t = await call(s, 'POST', '/transaction/begin', { isolation });
      const h = { 'x-transaction-id': String(t.body.transaction_id) };
      await expectStatus(await call(s, 'PUT', `/entities/users:t-${isolation}`, { blob: { name: 'new', city: 'Lima', age: 200 } }, h), 201);
      await expectStatus(await call(s, 'DELETE', '/entities/users:001', undefined, h), 200);
      const inTx = await q({ table: 'users', predicates: [{ column: 'city', value: 'Lima' }], return: 'keys' }, h);
      expect(inTx.status, JSON.stringify(inTx.body)).toBe(200);
      expect(inTx.body.keys).toEqual([`users:t-${isolation}`]);
      const rome = await q({ table: 'users', predicates: [{ column: 'city', value: 'Rome' }], return: 'keys' }, h);
      expect(rome.body.keys).not.toContain('users:001');
      const top = await q({ table: 'users', order_by: { column: 'age', desc: true, limit: 2 }, return: 'keys' }, h);
      expect(top.body.keys).toEqual([`users:t-${isolation}`, 'users:000']);
      const outside = await q({ table: 'users', predicates: [{ column: 'city', value: 'Lima' }], return: 'keys' });
      expect(outside.body.keys).toEqual([]);
      await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: t.body.transaction_id }), 200);
    }
  });

  it('a numeric-literal string equality matches numbers and strings', async () => {
    await expectStatus(await call(s, 'PUT', '/entities/lit:1', { blob: { v: 25 } }), 201);
    await expectStatus(await call(s, 'PUT', '/entities/lit:2', { blob: { v: '25' } }), 201);
    await expectStatus(await call(s, 'PUT', '/entities/lit:3', { blob: { v: [1, 25] } }), 201);
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'lit', column: 'v' }), 200);
    const r = await q({ table: 'lit', predicates: [{ column: 'v', value: '25' }], return: 'keys' });
    expect([...(r.body.keys as string[])].sort()).toEqual(['lit:1', 'lit:2', 'lit:3']);
    const n = await q({ table: 'lit', predicates: [{ column: 'v', value: 25 }], return: 'keys' });
    expect([...(n.body.keys as string[])].sort()).toEqual(['lit:1', 'lit:3']);
  });
});

describe('index intersection over HTTP', () => {
  it('two broad equality predicates: plan index_intersection, same rows as a full scan', async () => {
    const s2 = await startServer();
    try {
      const ops = Array.from({ length: 600 }, (_, i) => ({
        op: 'put',
        key: `p:${String(i).padStart(3, '0')}`,
        blob: { city: i % 2 === 0 ? 'A' : 'B', age: i % 3 },
      }));
      await expectStatus(await call(s2, 'POST', '/transaction', { operations: ops }), 200);
      await expectStatus(await call(s2, 'POST', '/index/create', { table: 'p', column: 'city' }), 200);
      await expectStatus(await call(s2, 'POST', '/index/create', { table: 'p', column: 'age' }), 200);
      const body = {
        table: 'p',
        predicates: [
          { column: 'city', value: 'A' },
          { column: 'age', value: 1 },
        ],
        return: 'keys',
      };
      const r = await call(s2, 'POST', '/query', body);
      await expectStatus(r, 200);
      expect((r.body.plan as { mode: string }).mode).toBe('index_intersection');
      const expected = ops
        .filter((o) => o.blob.city === 'A' && o.blob.age === 1)
        .map((o) => o.key)
        .sort();
      expect([...(r.body.keys as string[])].sort()).toEqual(expected);
      expect(r.body.count).toBe(expected.length);
    } finally {
      await s2.stop();
    }
  });
});

describe('index-only answers', () => {
  it('return "keys" with one indexed equality is answered from the index and stays correct after updates', async () => {
    const s3 = await startServer();
    try {
      const ops = Array.from({ length: 50 }, (_, i) => ({
        op: 'put',
        key: `io:${i}`,
        blob: { c: i % 5, tags: [i % 2 === 0 ? 'even' : 'odd'] },
      }));
      await call(s3, 'POST', '/transaction', { operations: ops });
      await call(s3, 'POST', '/index/create', { table: 'io', column: 'c' });
      await call(s3, 'POST', '/index/create', { table: 'io', column: 'tags' });
      const q = async (predicates: unknown[]) => (await call(s3, 'POST', '/query', { table: 'io', predicates, return: 'keys' })).body;
      const r = await q([{ column: 'c', value: 3 }]);
      expect((r.plan as { index_only?: boolean }).index_only).toBe(true);
      expect([...(r.keys as string[])].sort()).toEqual(
        ops
          .filter((o) => o.blob.c === 3)
          .map((o) => o.key)
          .sort(),
      );
      // numeric-literal string matches the number too
      expect((await q([{ column: 'c', value: '3' }])).count).toBe(10);
      // array element
      expect((await q([{ column: 'tags', value: 'even' }])).count).toBe(25);
      // after an update and a delete
      await call(s3, 'PUT', '/entities/io:3', { blob: { c: 4 } });
      await call(s3, 'DELETE', '/entities/io:8');
      const after = await q([{ column: 'c', value: 3 }]);
      expect([...(after.keys as string[])].sort()).toEqual(['io:13', 'io:18', 'io:23', 'io:28', 'io:33', 'io:38', 'io:43', 'io:48'].sort());
      // entities are still read when asked for
      const ent = (await call(s3, 'POST', '/query', { table: 'io', predicates: [{ column: 'c', value: 4 }], return: 'entities' })).body;
      expect((ent.plan as { index_only?: boolean }).index_only).toBeUndefined();
      expect(ent.entities as string[]).toContain('{"c":4}');
    } finally {
      await s3.stop();
    }
  });
});
