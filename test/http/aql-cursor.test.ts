/**
 * AQL cursors and limits over HTTP (black box): paging with use_cursor /
 * batch_size / next_cursor, the snapshot a cursor reads, expiry after
 * THEMIS_CURSOR_TTL_MS, forged and finished cursors, timeouts (timeout_ms,
 * THEMIS_QUERY_TIMEOUT_MS), the result cap (THEMIS_QUERY_MAX_RESULTS) that a
 * cursor is not subject to, and modifying queries refusing cursors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectStatus, sleep, startServer, type Body, type StartedServer } from '../helpers/server.js';

type Res = { status: number; body: Body };

interface Page {
  items: unknown[];
  batch_size: number;
  has_more: boolean;
  next_cursor: string | null;
  count: number;
  plan: Body;
}

function expectError(r: Res, status: number, code?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toMatchObject({ error: true, status_code: status, message: expect.any(String) });
  if (code !== undefined) expect(r.body.code, JSON.stringify(r.body)).toBe(code);
  expect(JSON.stringify(r.body)).not.toMatch(/\bat .+\.(js|ts):\d+|"stack"/);
}

/** A 200 cursor page with the contract's fields. */
function asPage(r: Res): Page {
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(Object.keys(r.body).sort()).toEqual(['batch_size', 'count', 'extra', 'has_more', 'items', 'next_cursor', 'plan']);
  const p = r.body as unknown as Page;
  expect(p.count).toBe(p.items.length);
  expect(typeof p.has_more).toBe('boolean');
  if (p.has_more) expect(typeof p.next_cursor === 'string' && p.next_cursor.length > 0).toBe(true);
  else expect(p.next_cursor).toBeNull();
  return p;
}

const rowKey = (i: number) => `rows:${String(i).padStart(4, '0')}`;
const ROWS = 250;
const MANY = 1200;
const manyKey = (i: number) => `many:${String(i).padStart(5, '0')}`;
const manyDoc = (i: number) => ({ i, g: i % 5, label: `row ${i}` });
/** A slow query: 25M loop iterations. */
const SLOW = 'FOR a IN 1..5000 FOR b IN 1..5000 FILTER a * b == -1 RETURN a';

describe('AQL cursors', () => {
  let s: StartedServer;
  const aql = (body: Record<string, unknown>, headers?: Record<string, string>) => call(s, 'POST', '/query/aql', body, headers);
  const next = (cursor: unknown) => aql({ cursor });
  /** Every page of a cursor query. */
  const readAll = async (body: Record<string, unknown>, headers?: Record<string, string>): Promise<Page[]> => {
    const pages = [asPage(await aql({ ...body, use_cursor: true }, headers))];
    while (pages[pages.length - 1]!.has_more) pages.push(asPage(await next(pages[pages.length - 1]!.next_cursor)));
    return pages;
  };

  beforeAll(async () => {
    s = await startServer();
    const ops = Array.from({ length: ROWS }, (_, i) => ({ op: 'put', key: rowKey(i), blob: { i, g: i % 5, label: `row ${i}` } }));
    const r = await call(s, 'POST', '/transaction', { operations: ops });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // more rows than one storage read returns, so that later pages really read the snapshot
    const many = Array.from({ length: MANY }, (_, i) => ({ op: 'put', key: manyKey(i), blob: manyDoc(i) }));
    const m = await call(s, 'POST', '/transaction', { operations: many });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    for (const body of [
      { table: 'rows', column: 'i', type: 'range' },
      { table: 'rows', column: 'g' },
      { table: 'many', column: 'i', type: 'range' },
      { table: 'many', column: 'g' },
    ]) {
      const ix = await call(s, 'POST', '/index/create', body);
      expect(ix.status, JSON.stringify(ix.body)).toBe(200);
    }
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('250 rows in pages of 100: 100 + 100 + 50, pages concatenate to the full result', async () => {
    const query = 'FOR r IN rows SORT r.i RETURN r.i';
    const pages = await readAll({ query, batch_size: 100 });
    expect(pages.map((p) => p.count)).toEqual([100, 100, 50]);
    expect(pages.map((p) => p.has_more)).toEqual([true, true, false]);
    expect(pages.map((p) => p.batch_size)).toEqual([100, 100, 100]);
    expect(pages[2]!.next_cursor).toBeNull();
    expect(pages.flatMap((p) => p.items)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    // every page carries the plan
    expect(pages[0]!.plan).toMatchObject({ mode: 'full_scan', let_pre_extracted: false });
    for (const p of pages) expect(p.plan).toEqual(pages[0]!.plan);
    // the next page through the /api/aql alias
    const again = asPage(await aql({ query, use_cursor: true, batch_size: 100 }));
    const viaAlias = asPage(await call(s, 'POST', '/api/aql', { cursor: again.next_cursor }));
    expect(viaAlias.items).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));
    // the same query without a cursor
    const whole = await aql({ query });
    await expectStatus(whole, 200);
    expect(whole.body.entities).toEqual(pages.flatMap((p) => p.items));
  });

  it('documents page as stored text; default batch_size is 100; an exact multiple has no empty last page', async () => {
    const pages = await readAll({ query: 'FOR r IN rows RETURN r' });
    expect(pages.map((p) => p.count)).toEqual([100, 100, 50]);
    expect(pages[0]!.batch_size).toBe(100);
    const docs = pages.flatMap((p) => p.items) as string[];
    expect(docs.every((d) => typeof d === 'string')).toBe(true);
    expect(docs.map((d) => (JSON.parse(d) as { i: number }).i).sort((a, b) => a - b)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    expect(docs).toContain(JSON.stringify({ i: 7, g: 2, label: 'row 7' }));

    const exact = await readAll({ query: 'FOR r IN rows FILTER r.i < 200 SORT r.i DESC RETURN r._key', batch_size: 100 });
    expect(exact.map((p) => [p.count, p.has_more])).toEqual([
      [100, true],
      [100, false],
    ]);
    expect(exact.flatMap((p) => p.items)).toEqual(Array.from({ length: 200 }, (_, i) => rowKey(199 - i).slice('rows:'.length)));

    const small = await readAll({ query: 'FOR r IN rows FILTER r.g == 3 SORT r.i RETURN r.i', batch_size: 7 });
    expect(small.flatMap((p) => p.items)).toEqual(Array.from({ length: ROWS / 5 }, (_, k) => k * 5 + 3));
    expect(small.map((p) => p.count)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
    expect(small[0]!.plan).toMatchObject({ mode: 'index_optimized' });

    const one = asPage(await aql({ query: 'RETURN 42', use_cursor: true }));
    expect(one).toMatchObject({ items: [42], count: 1, has_more: false, next_cursor: null, batch_size: 100 });
    const none = asPage(await aql({ query: 'FOR r IN rows FILTER r.i < 0 RETURN r', use_cursor: true, batch_size: 10 }));
    expect(none).toMatchObject({ items: [], count: 0, has_more: false, next_cursor: null });
    const max = asPage(await aql({ query: 'FOR r IN rows RETURN 1', use_cursor: true, batch_size: 10_000 }));
    expect(max).toMatchObject({ count: ROWS, has_more: false, batch_size: 10_000 });
  });

  it('batch_size outside 1..10000 -> 400', async () => {
    for (const batch_size of [0, -1, 10_001, 1.5, '10']) expectError(await aql({ query: 'RETURN 1', use_cursor: true, batch_size }), 400);
  });

  it('later pages read the snapshot of the first page (writes and deletes in between do not show)', async () => {
    // streaming full scan, index range scan, index equality scan
    const queries = [
      'FOR r IN many RETURN [r.i, r.label]',
      'FOR r IN many FILTER r.i >= 0 RETURN [r.i, r.label]',
      'FOR r IN many FILTER r.g == 1 RETURN [r.i, r.label]',
    ];
    const before: [number, string][][] = [];
    for (const query of queries) before.push((await aql({ query })).body.entities as [number, string][]);
    expect(before[0]).toHaveLength(MANY);
    const firsts: Page[] = [];
    for (const query of queries) firsts.push(asPage(await aql({ query, use_cursor: true, batch_size: 100 })));
    for (const f of firsts) expect(f.has_more).toBe(true);

    // change rows the later pages would return: delete, update (also moving them into g == 1), insert
    const ops = [
      ...Array.from({ length: 50 }, (_, k) => ({ op: 'delete', key: manyKey(900 + k) })),
      ...Array.from({ length: 50 }, (_, k) => ({ op: 'put', key: manyKey(600 + k), blob: { i: 600 + k, g: 1, label: 'changed' } })),
      ...Array.from({ length: 20 }, (_, k) => ({ op: 'put', key: manyKey(5000 + k), blob: { i: 5000 + k, g: 1, label: 'new' } })),
    ];
    const w = await call(s, 'POST', '/transaction', { operations: ops });
    expect(w.status, JSON.stringify(w.body)).toBe(200);

    for (let q = 0; q < queries.length; q++) {
      let page = firsts[q]!;
      const items = [...page.items];
      while (page.has_more) {
        page = asPage(await next(page.next_cursor));
        items.push(...page.items);
      }
      expect(items, queries[q]).toEqual(before[q]);
      expect((items as [number, string][]).some(([, l]) => l === 'changed' || l === 'new')).toBe(false);
    }
    // a new query sees the changes
    expect((await aql({ query: 'FOR r IN many COLLECT WITH COUNT INTO n RETURN n' })).body.entities).toEqual([MANY - 50 + 20]);
    expect((await aql({ query: 'FOR r IN many FILTER r.g == 1 FILTER r.label == "changed" RETURN r.i' })).body.count).toBe(50);

    // restore
    const restore = await call(s, 'POST', '/transaction', {
      operations: [
        ...Array.from({ length: 50 }, (_, k) => ({ op: 'put', key: manyKey(900 + k), blob: manyDoc(900 + k) })),
        ...Array.from({ length: 50 }, (_, k) => ({ op: 'put', key: manyKey(600 + k), blob: manyDoc(600 + k) })),
        ...Array.from({ length: 20 }, (_, k) => ({ op: 'delete', key: manyKey(5000 + k) })),
      ],
    });
    await expectStatus(restore, 200);
  });

  it('forged, malformed and finished cursors -> 400', async () => {
    const first = asPage(await aql({ query: 'FOR r IN rows SORT r.i RETURN r.i', use_cursor: true, batch_size: 100 }));
    const real = first.next_cursor!;
    const flipped = (real[0] === 'A' ? 'B' : 'A') + real.slice(1);
    for (const forged of ['not-a-cursor', 'eyJvZmZzZXQiOjEwfQ==', flipped, `${real}x`, '']) expectError(await next(forged), 400);
    for (const bad of [123, { id: real }, [real], true]) expectError(await next(bad), 400);
    // the real cursor still works after the forgeries
    const second = asPage(await next(real));
    expect(second.items[0]).toBe(100);
    const last = asPage(await next(second.next_cursor));
    expect(last.has_more).toBe(false);
    expect(last.items).toHaveLength(50);
    // past its last page the cursor is gone
    const past = await next(second.next_cursor);
    expectError(past, 400);
    expect(past.body.field).toBe('cursor');
  });

  it('a query that modifies data cannot use a cursor -> 400, nothing written', async () => {
    for (const query of [
      'FOR i IN 1..3 INSERT {_key: CONCAT("c", i)} INTO curmod RETURN NEW',
      'UPDATE "0001" WITH {x: 1} IN rows',
      'FOR r IN rows FILTER r.i == 1 REMOVE r IN rows',
    ]) {
      const r = await aql({ query, use_cursor: true });
      expectError(r, 400);
    }
    await expectStatus(await call(s, 'GET', '/entities/curmod:c1'), 404);
    const one = (await aql({ query: 'FOR r IN rows FILTER r._key == "0001" RETURN r' })).body.entities;
    expect(one).toEqual([JSON.stringify({ i: 1, g: 1, label: 'row 1' })]);
  });

  it('timeout_ms: a query running too long -> 408 TIMEOUT, also with a cursor and on a later page', async () => {
    const t0 = Date.now();
    const r = await aql({ query: SLOW, timeout_ms: 50 });
    expectError(r, 408, 'TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expectError(await aql({ query: SLOW, timeout_ms: 50, use_cursor: true }), 408, 'TIMEOUT');
    expectError(await aql({ query: 'FOR a IN 1..3000 FOR b IN 1..3000 SORT a * b DESC LIMIT 1 RETURN a', timeout_ms: 50 }), 408, 'TIMEOUT');
    expectError(
      await aql({ query: 'FOR a IN 1..3000 FOR b IN 1..3000 COLLECT x = a % 7 WITH COUNT INTO n RETURN n', timeout_ms: 50 }),
      408,
      'TIMEOUT',
    );
    // dense rows first, then a long stretch without any: the first page is quick, the second runs out of time
    // (a budget of 1.5 s: a loaded CI machine once needed more than 50 ms for the 5,000 rows of the first page;
    // the stretch after them is 500 million rows, far beyond 1.5 s)
    const first = asPage(
      await aql({
        query: 'FOR a IN 1..100000 FOR b IN 1..5000 FILTER a <= 2 OR a * b == -1 RETURN a',
        use_cursor: true,
        batch_size: 5000,
        timeout_ms: 1500,
      }),
    );
    expect(first.count).toBe(5000);
    expect(first.has_more).toBe(true);
    expectError(await next(first.next_cursor), 408, 'TIMEOUT');
    // the failed cursor is closed
    expectError(await next(first.next_cursor), 400);
    // a quick query with a small timeout is fine
    await expectStatus(await aql({ query: 'FOR r IN rows FILTER r.g == 0 RETURN r.i', timeout_ms: 1000 }), 200);
  });

  it('a modifying query that times out writes nothing', async () => {
    const r = await aql({
      query: 'FOR i IN 1..5000000 FILTER i <= 5 OR i == -1 INSERT {_key: CONCAT("t", i)} INTO timedout RETURN NEW._key',
      timeout_ms: 50,
    });
    expectError(r, 408, 'TIMEOUT');
    await expectStatus(await call(s, 'GET', '/entities/timedout:t1'), 404);
    // Nothing was written: the collection the query inserts into did not even come to exist.
    expectError(await aql({ query: 'FOR t IN timedout RETURN t' }), 404, 'COLLECTION_NOT_FOUND');
  });

  it('timeout_ms is enforced promptly when each row is expensive (not only every few hundred rows)', async () => {
    const work = 'LENGTH(1..5000000) < 0';
    await expectStatus(await aql({ query: `FOR i IN 1..3 FILTER ${work} RETURN i` }), 200); // warm-up
    const t1 = Date.now();
    await expectStatus(await aql({ query: `FOR i IN 1..10 FILTER ${work} RETURN i` }), 200);
    const perRow = (Date.now() - t1) / 10;
    const t0 = Date.now();
    const r = await aql({ query: `FOR i IN 1..1000 FILTER ${work} RETURN i`, timeout_ms: 100 });
    const took = Date.now() - t0;
    expectError(r, 408, 'TIMEOUT');
    // the deadline plus a few rows of work (and slack for a busy machine), not hundreds of rows
    expect(took, `408 after ${took} ms with timeout_ms 100 (${perRow.toFixed(1)} ms per row)`).toBeLessThan(100 + 40 * perRow + 500);
  });

  describe('cursor inside a transaction', () => {
    const begin = async (isolation: string) => {
      const r = await call(s, 'POST', '/transaction/begin', { isolation });
      await expectStatus(r, 200);
      return { id: r.body.transaction_id as number, h: { 'x-transaction-id': String(r.body.transaction_id) } };
    };

    it("reads the transaction's own writes", async () => {
      const t = await begin('read_committed');
      await expectStatus(await call(s, 'PUT', '/entities/txrows:a', { blob: { n: 1 } }, t.h), 201);
      await expectStatus(await call(s, 'PUT', '/entities/txrows:b', { blob: { n: 2 } }, t.h), 201);
      await expectStatus(await call(s, 'PUT', '/entities/txrows:c', { blob: { n: 3 } }, t.h), 201);
      const pages = await readAll({ query: 'FOR x IN txrows SORT x.n RETURN x.n', batch_size: 2 }, t.h);
      expect(pages.flatMap((p) => p.items)).toEqual([1, 2, 3]);
      // Outside the transaction its writes do not exist, nor the collection they created.
      expectError(await aql({ query: 'FOR x IN txrows RETURN x' }), 404, 'COLLECTION_NOT_FOUND');
      await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: t.id }), 200);
    });

    it.each([
      ['snapshot', 'rollback'],
      ['snapshot', 'commit'],
      ['read_committed', 'rollback'],
      ['read_committed', 'commit'],
    ])('a %s transaction that ends (%s) while its cursor is open: later pages are 200 or 400, never 500', async (isolation, end) => {
      const t = await begin(isolation);
      const first = asPage(await aql({ query: 'FOR r IN many RETURN r.i', use_cursor: true, batch_size: 100 }, t.h));
      expect(first.has_more).toBe(true);
      await expectStatus(await call(s, 'POST', `/transaction/${end}`, { transaction_id: t.id }), 200);
      const items = [...first.items];
      let cursor = first.next_cursor;
      while (cursor !== null) {
        const r = await next(cursor);
        expect(r.status, `after ${items.length} rows: ${JSON.stringify(r.body)}`).toBeLessThan(500);
        if (r.status !== 200) {
          // refusing the cursor of a finished transaction is fine
          expectError(r, 400);
          return;
        }
        const p = asPage(r);
        items.push(...p.items);
        cursor = p.next_cursor;
      }
      // or it keeps reading the transaction's snapshot to the end
      expect([...(items as number[])].sort((a, b) => a - b)).toEqual(Array.from({ length: MANY }, (_, i) => i));
    });
  });
});

describe('AQL limits (THEMIS_CURSOR_TTL_MS, THEMIS_QUERY_MAX_RESULTS, THEMIS_QUERY_TIMEOUT_MS)', () => {
  let s: StartedServer;
  const aql = (body: Record<string, unknown>) => call(s, 'POST', '/query/aql', body);
  const next = (cursor: unknown) => aql({ cursor });
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_CURSOR_TTL_MS: '1000', THEMIS_QUERY_MAX_RESULTS: '50', THEMIS_QUERY_TIMEOUT_MS: '200' } });
    const ops = Array.from({ length: 120 }, (_, i) => ({ op: 'put', key: `lim:${String(i).padStart(3, '0')}`, blob: { i } }));
    const r = await call(s, 'POST', '/transaction', { operations: ops });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('a cursor not read for longer than THEMIS_CURSOR_TTL_MS expires -> 400', async () => {
    const first = asPage(await aql({ query: 'FOR x IN lim SORT x.i RETURN x.i', use_cursor: true, batch_size: 10 }));
    // read promptly (well within the 1 s TTL): still open (each read restarts the idle clock)
    const second = asPage(await next(first.next_cursor));
    expect(second.items).toEqual(Array.from({ length: 10 }, (_, k) => 10 + k));
    await sleep(150);
    const third = asPage(await next(second.next_cursor));
    expect(third.items[0]).toBe(20);
    await sleep(1_200);
    const expired = await next(third.next_cursor);
    expectError(expired, 400);
    expect(expired.body.field).toBe('cursor');
  });

  it('a result bigger than THEMIS_QUERY_MAX_RESULTS -> 413, while a cursor reads the same query in full', async () => {
    const query = 'FOR x IN lim SORT x.i RETURN x.i';
    const big = await aql({ query });
    expectError(big, 413, 'PAYLOAD_TOO_LARGE');
    expectError(await aql({ query: 'FOR i IN 1..51 RETURN i' }), 413, 'PAYLOAD_TOO_LARGE');
    // at the cap, or cut by LIMIT: fine
    expect((await aql({ query: 'FOR i IN 1..50 RETURN i' })).body.count).toBe(50);
    expect((await aql({ query: `${query.replace(' RETURN', ' LIMIT 50 RETURN')}` })).body.entities).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    const items: unknown[] = [];
    let p = asPage(await aql({ query, use_cursor: true, batch_size: 40 }));
    items.push(...p.items);
    while (p.has_more) {
      p = asPage(await next(p.next_cursor));
      items.push(...p.items);
    }
    expect(items).toEqual(Array.from({ length: 120 }, (_, i) => i));
  });

  it('a modifying query whose RETURN exceeds the cap -> 413 and writes nothing; without RETURN it commits', async () => {
    expectError(
      await aql({ query: 'FOR i IN 1..60 INSERT {_key: CONCAT("c", i), i} INTO capped RETURN NEW._key' }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expectStatus(await call(s, 'GET', '/entities/capped:c1'), 404);
    const ok = await aql({ query: 'FOR i IN 1..60 INSERT {_key: CONCAT("c", i), i} INTO capped' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ table: 'capped', count: 0, entities: [] });
    expect((await aql({ query: 'FOR c IN capped COLLECT AGGREGATE n = COUNT(1), s = SUM(c.i) RETURN [n, s]' })).body.entities).toEqual([
      [60, 1830],
    ]);
  });

  it('THEMIS_QUERY_TIMEOUT_MS bounds every query; timeout_ms may only ask for less', async () => {
    const t0 = Date.now();
    expectError(await aql({ query: SLOW }), 408, 'TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expectError(await aql({ query: SLOW, timeout_ms: 100 }), 408, 'TIMEOUT');
    expectError(await aql({ query: 'RETURN 1', timeout_ms: 1_000 }), 400);
    await expectStatus(await aql({ query: 'RETURN 1', timeout_ms: 200 }), 200);
  });
});
