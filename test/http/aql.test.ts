/**
 * POST /query/aql (alias /api/aql) over HTTP, black box against the built
 * server: the contract's example queries and response shape, every AQL
 * construct (joins with their strategies, FILTER operators, SORT, LIMIT,
 * LET, DISTINCT, literals, COLLECT, _key/_id, bind parameters, graph
 * traversals and shortest paths, FULLTEXT/BM25, SIMILARITY/NEAR, data
 * modification), the built-in functions, explain output, errors,
 * transactions, and index-driven plans giving the same rows as full scans.
 * Cursors, limits and timeouts: aql-cursor.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectStatus, startServer, type Body, type StartedServer } from '../helpers/server.js';

// ---------------------------------------------------------------- data

const CITIES = ['Berlin', 'Rome', 'Oslo', 'Paris'] as const;
interface User {
  name: string;
  city: string;
  age: number;
  tags: string[];
  address: { zip: string; street: string };
  pets: { kind: string }[];
}
const N = 20;
const pk = (i: number) => `u${String(i).padStart(2, '0')}`;
const user = (i: number): User => ({
  name: `user${String(i).padStart(2, '0')}`,
  city: CITIES[i % 4]!,
  age: 20 + ((i * 7) % 30),
  tags: i % 3 === 0 ? ['a', 'b'] : i % 3 === 1 ? ['b'] : [],
  address: { zip: `1${i % 5}000`, street: `Street ${i}` },
  pets: i % 4 === 0 ? [{ kind: 'cat' }, { kind: 'dog' }] : i % 4 === 1 ? [{ kind: 'dog' }] : [],
});
const USERS = Array.from({ length: N }, (_, i) => ({ key: pk(i), doc: user(i) }));
/** Orders of user i: (i % 3) orders (none for i % 3 == 0), totals i*10 + j. */
const ORDERS = USERS.flatMap((u, i) =>
  Array.from({ length: i % 3 }, (_, j) => ({ key: `o${i}_${j}`, doc: { user: u.key, total: i * 10 + j } })),
);

const PERSONS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
const KNOWS: [string, string, string][] = [
  ['k1', 'p1', 'p2'],
  ['k2', 'p1', 'p3'],
  ['k3', 'p2', 'p4'],
  ['k4', 'p3', 'p4'],
  ['k5', 'p4', 'p5'],
  ['k6', 'p5', 'p1'],
  ['k7', 'p6', 'p1'],
];

const TEXTS: [string, string, number[]][] = [
  ['d1', 'graph database systems store graph data in nodes and edges', [1, 0, 0, 0]],
  ['d2', 'a relational database stores rows in tables', [0.9, 0.3, 0, 0.1]],
  ['d3', 'graph theory studies graph algorithms and shortest paths', [0, 1, 0, 0]],
  ['d4', 'cooking recipes for pasta and bread', [0, 0, 1, 0]],
  ['d5', 'the graph database benchmark measures query latency', [0.7, 0.6, 0.1, 0]],
  ['d6', 'vector search finds nearest neighbours of an embedding', [0.2, 0.1, 0.9, 0.3]],
  ['d7', 'document database with flexible schemas', [0.5, 0, 0, 0.8]],
  ['d8', 'gardening tips for spring', [0, 0.2, 0.3, 1]],
];

/** Values of every AQL type, for index-vs-scan comparisons (key → value; m0 has no `v`). */
const MIXED: [string, unknown][] = [
  ['m0', undefined],
  ['m1', null],
  ['m2', false],
  ['m3', true],
  ['m4', -3],
  ['m5', 0],
  ['m6', 5],
  ['m7', 25],
  ['m8', 150],
  ['m9', '25'],
  ['m10', 'abc'],
  ['m11', 'zzz'],
  ['m12', []],
  ['m13', [1]],
  ['m14', [1, 25]],
  ['m15', {}],
  ['m16', { x: 1 }],
];

// ---------------------------------------------------------------- helpers

type Res = { status: number; body: Body };

/** The contract error format, with no stack trace or source path in the body. */
function expectError(r: Res, status: number, code?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toMatchObject({ error: true, status_code: status, message: expect.any(String) });
  if (code !== undefined) expect(r.body.code, JSON.stringify(r.body)).toBe(code);
  const text = JSON.stringify(r.body);
  expect(text).not.toMatch(/\bat .+\.(js|ts):\d+/);
  expect(text).not.toMatch(/node_modules|dist\/src|"stack"/);
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('POST /query/aql', () => {
  let s: StartedServer;
  const aql = (body: Record<string, unknown>, headers?: Record<string, string>) => call(s, 'POST', '/query/aql', body, headers);
  /** Run a query; 200 expected; the result values. */
  const rows = async (query: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Promise<unknown[]> => {
    const r = await aql({ query, ...extra }, headers);
    expect(r.status, `${query}\n${JSON.stringify(r.body)}`).toBe(200);
    expect(r.body.count).toBe((r.body.entities as unknown[]).length);
    return r.body.entities as unknown[];
  };
  const full = async (query: string, extra: Record<string, unknown> = {}): Promise<Body> => {
    const r = await aql({ query, ...extra });
    expect(r.status, `${query}\n${JSON.stringify(r.body)}`).toBe(200);
    return r.body;
  };
  const batch = async (operations: unknown[]) => {
    const r = await call(s, 'POST', '/transaction', { operations });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  const createIndex = async (body: Record<string, unknown>) => {
    const r = await call(s, 'POST', '/index/create', body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  const getBlob = async (key: string, headers?: Record<string, string>): Promise<unknown> => {
    const r = await call(s, 'GET', `/entities/${key}`, undefined, headers);
    if (r.status === 404) return undefined;
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return JSON.parse(r.body.blob as string);
  };

  beforeAll(async () => {
    s = await startServer();
    const put = (table: string) => (x: { key: string; doc: unknown }) => ({ op: 'put', key: `${table}:${x.key}`, blob: x.doc });
    await batch([
      ...USERS.map(put('users')),
      ...ORDERS.map(put('orders')),
      ...ORDERS.map(put('visits')),
      ...PERSONS.map((p, i) => ({ op: 'put', key: `persons:${p}`, blob: { name: p.toUpperCase(), rank: i } })),
      ...KNOWS.map(([k, f, t]) => ({
        op: 'put',
        key: `knows:${k}`,
        blob: { _from: `persons:${f}`, _to: `persons:${t}`, since: 2000 + Number(k.slice(1)) },
      })),
      ...TEXTS.map(([k, body, emb], i) => ({ op: 'put', key: `docs:${k}`, blob: { body, emb, year: 2015 + i } })),
      ...TEXTS.map(([k, body, emb], i) => ({ op: 'put', key: `docs_plain:${k}`, blob: { body, emb, year: 2015 + i } })),
      ...MIXED.flatMap(([k, v]) =>
        ['ix', 'sx', 'nx'].map((t) => ({ op: 'put', key: `${t}:${k}`, blob: v === undefined ? { n: k } : { n: k, v } })),
      ),
    ]);
    await createIndex({ table: 'users', column: 'city' });
    await createIndex({ table: 'users', column: 'age', type: 'range' });
    await createIndex({ table: 'orders', column: 'user' });
    await createIndex({ table: 'docs', column: 'body', type: 'fulltext' });
    await createIndex({ table: 'ix', column: 'v', type: 'range' });
    await createIndex({ table: 'sx', column: 'v', sparse: true });
    const v = await call(s, 'POST', '/vector/index/create', { name: 'docs_emb', table: 'docs', field: 'emb', metric: 'COSINE' });
    expect(v.status, JSON.stringify(v.body)).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
  });

  // ------------------------------------------------------------ contract examples

  describe('contract examples', () => {
    it('FOR user IN users FILTER user.city == "Berlin" SORT user.age ASC LIMIT 10 RETURN user: exact response shape', async () => {
      const query = 'FOR user IN users FILTER user.city == "Berlin" SORT user.age ASC LIMIT 10 RETURN user';
      // the contract's request body, all fields given
      const r = await aql({ query, optimize: true, allow_full_scan: false, explain: false, use_cursor: false, cursor: null });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const want = USERS.filter((u) => u.doc.city === 'Berlin')
        .sort((a, b) => a.doc.age - b.doc.age)
        .map((u) => JSON.stringify(u.doc));
      expect(Object.keys(r.body).sort()).toEqual(['count', 'entities', 'extra', 'plan', 'query', 'table']);
      expect(r.body).toEqual({
        table: 'users',
        count: want.length,
        entities: want,
        plan: {
          mode: 'index_optimized',
          let_pre_extracted: false,
          indexes: [{ variable: 'user', collection: 'users', type: 'equality', id: expect.any(Number), attribute: 'city', unique: false }],
          estimated_rows: expect.any(Number),
          steps: expect.any(Array),
        },
        query,
        extra: { warnings: [], warnings_total: 0 },
      });
      // documents are their stored JSON text, without the virtual _key/_id
      for (const e of r.body.entities as string[]) {
        expect(typeof e).toBe('string');
        const d = JSON.parse(e) as Body;
        expect(d._key).toBeUndefined();
        expect(d._id).toBeUndefined();
      }
      expect(Number.isInteger((r.body.plan as Body).estimated_rows)).toBe(true);
    });

    it('a simple equality join over two FORs', async () => {
      const got = (await rows('FOR u IN users FOR o IN orders FILTER o.user == u._key RETURN {user: u.name, total: o.total}')) as {
        user: string;
        total: number;
      }[];
      const want = ORDERS.map((o) => ({ user: USERS.find((u) => u.key === o.doc.user)!.doc.name, total: o.doc.total }));
      const norm = (xs: { user: string; total: number }[]) => [...xs].sort((a, b) => a.total - b.total);
      expect(norm(got)).toEqual(norm(want));
      // RETURN of the inner document: its stored text
      const docs = await rows('FOR u IN users FILTER u._key == "u05" FOR o IN orders FILTER o.user == u._key SORT o.total RETURN o');
      expect(docs).toEqual(ORDERS.filter((o) => o.doc.user === 'u05').map((o) => JSON.stringify(o.doc)));
    });
  });

  // ------------------------------------------------------------ joins

  describe('nested FOR joins', () => {
    const joinWant = (city?: string) =>
      ORDERS.filter((o) => city === undefined || USERS.find((u) => u.key === o.doc.user)!.doc.city === city)
        .map((o) => `${o.doc.user}/${o.doc.total}`)
        .sort(byKey);

    it('index nested loop when the inner attribute has an index', async () => {
      const b = await full(
        'FOR u IN users FILTER u.city == "Rome" FOR o IN orders FILTER o.user == u._key RETURN CONCAT(u._key, "/", o.total)',
      );
      expect([...(b.entities as string[])].sort(byKey)).toEqual(joinWant('Rome'));
      const plan = b.plan as Body;
      expect(plan.join_strategy).toBe('index_nested_loop');
      expect(plan.mode).toBe('index_optimized');
      expect(plan.indexes).toEqual([
        expect.objectContaining({ variable: 'u', collection: 'users', type: 'equality', attribute: 'city' }),
        expect.objectContaining({ variable: 'o', collection: 'orders', type: 'equality', attribute: 'user' }),
      ]);
    });

    it('hash join when it has none (same rows); nested loop for a non-equality join', async () => {
      const b = await full('FOR u IN users FOR v IN visits FILTER v.user == u._key RETURN CONCAT(u._key, "/", v.total)');
      expect([...(b.entities as string[])].sort(byKey)).toEqual(joinWant());
      expect((b.plan as Body).join_strategy).toBe('hash_join');
      // the join condition written the other way round, with an extra condition on the inner side
      const c = await full('FOR u IN users FOR v IN visits FILTER u._key == v.user AND v.total % 2 == 0 RETURN v.total');
      expect([...(c.entities as number[])].sort((x, y) => x - y)).toEqual(
        ORDERS.map((o) => o.doc.total)
          .filter((t) => t % 2 === 0)
          .sort((x, y) => x - y),
      );
      expect((c.plan as Body).join_strategy).toBe('hash_join');

      const nl = await full('FOR u IN users FILTER u.city == "Oslo" FOR v IN visits FILTER v.total < u.age RETURN [u._key, v.total]');
      const want = USERS.filter((u) => u.doc.city === 'Oslo').flatMap((u) =>
        ORDERS.filter((o) => o.doc.total < u.doc.age).map((o) => [u.key, o.doc.total]),
      );
      expect([...(nl.entities as [string, number][])].sort((a, b) => byKey(a[0], b[0]) || a[1] - b[1])).toEqual(
        want.sort((a, b) => byKey(a[0] as string, b[0] as string) || (a[1] as number) - (b[1] as number)),
      );
      expect((nl.plan as Body).join_strategy).toBe('nested_loop');
    });

    it('three FORs, and a FOR over an array expression', async () => {
      const got = await rows(
        'FOR c IN ["Rome", "Paris"] FOR u IN users FILTER u.city == c FOR o IN orders FILTER o.user == u._key RETURN o.total',
      );
      const want = ORDERS.filter((o) => ['Rome', 'Paris'].includes(USERS.find((u) => u.key === o.doc.user)!.doc.city)).map(
        (o) => o.doc.total,
      );
      expect([...(got as number[])].sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
    });
  });

  // ------------------------------------------------------------ FILTER

  describe('FILTER operators', () => {
    const F: [string, (u: User, key: string) => boolean][] = [
      ['u.city == "Berlin"', (u) => u.city === 'Berlin'],
      ['u.city != "Berlin"', (u) => u.city !== 'Berlin'],
      ['u.age < 30', (u) => u.age < 30],
      ['u.age <= 30', (u) => u.age <= 30],
      ['u.age > 40', (u) => u.age > 40],
      ['u.age >= 40', (u) => u.age >= 40],
      ['u.age >= 25 AND u.age < 35', (u) => u.age >= 25 && u.age < 35],
      ['u.city IN ["Rome", "Oslo"]', (u) => ['Rome', 'Oslo'].includes(u.city)],
      ['u.city NOT IN ["Rome", "Oslo"]', (u) => !['Rome', 'Oslo'].includes(u.city)],
      ['u.name LIKE "user1%"', (u) => u.name.startsWith('user1')],
      ['u.name LIKE "user_5"', (u) => /^user.5$/.test(u.name)],
      ['u.name NOT LIKE "%0"', (u) => !u.name.endsWith('0')],
      ['u.name =~ "^user0[1-3]$"', (u) => /^user0[1-3]$/.test(u.name)],
      ['u.name !~ "[02468]$"', (u) => !/[02468]$/.test(u.name)],
      ['u.city == "Rome" OR u.age > 45', (u) => u.city === 'Rome' || u.age > 45],
      ['u.city == "Rome" || u.city == "Paris" && u.age < 30', (u) => u.city === 'Rome' || (u.city === 'Paris' && u.age < 30)],
      ['NOT (u.city == "Rome")', (u) => u.city !== 'Rome'],
      ['!(u.age > 30) && u.city != "Oslo"', (u) => !(u.age > 30) && u.city !== 'Oslo'],
      ['u.age * 2 + 1 > 70', (u) => u.age * 2 + 1 > 70],
      ['u.age % 2 == 0', (u) => u.age % 2 === 0],
      ['(u.age - 20) / 5 >= 4', (u) => (u.age - 20) / 5 >= 4],
      ['(u.age > 30 ? "old" : "young") == "old"', (u) => u.age > 30],
      ['u.address.zip == "13000"', (u) => u.address.zip === '13000'],
      ['u["address"]["zip"] IN ["10000", "11000"]', (u) => ['10000', '11000'].includes(u.address.zip)],
      ['u.tags[0] == "a"', (u) => u.tags[0] === 'a'],
      ['u.tags[-1] == "b"', (u) => u.tags[u.tags.length - 1] === 'b'],
      ['"dog" IN u.pets[*].kind', (u) => u.pets.some((p) => p.kind === 'dog')],
      ['LENGTH(u.pets[* FILTER CURRENT.kind == "cat"]) > 0', (u) => u.pets.some((p) => p.kind === 'cat')],
      ['u.missing == null AND u.address.nothing.deeper == null', () => true],
      ['u._key IN ["u01", "u07", "nope"]', (_u, k) => ['u01', 'u07'].includes(k)],
      ['u._id == "users:u04"', (_u, k) => k === 'u04'],
    ];
    it.each(F)('FILTER %s', async (cond, pred) => {
      const got = (await rows(`FOR u IN users FILTER ${cond} RETURN u._key`)) as string[];
      const want = USERS.filter((u) => pred(u.doc, u.key)).map((u) => u.key);
      expect(want.length, 'the case selects something').toBeGreaterThan(0);
      expect([...got].sort(byKey)).toEqual(want);
    });

    it('several FILTERs and FILTER after LET combine with AND', async () => {
      const got = await rows('FOR u IN users FILTER u.age > 25 LET g = u.age % 3 FILTER g == 0 FILTER u.city != "Rome" RETURN u._key');
      expect([...(got as string[])].sort(byKey)).toEqual(
        USERS.filter((u) => u.doc.age > 25 && u.doc.age % 3 === 0 && u.doc.city !== 'Rome').map((u) => u.key),
      );
    });
  });

  // ------------------------------------------------------------ SORT, LIMIT

  describe('SORT and LIMIT', () => {
    const sorted = (cmp: (a: User, b: User) => number) => [...USERS].sort((a, b) => cmp(a.doc, b.doc));
    it('SORT with several keys, ASC and DESC', async () => {
      expect(await rows('FOR u IN users SORT u.city ASC, u.age DESC RETURN u.name')).toEqual(
        sorted((a, b) => byKey(a.city, b.city) || b.age - a.age).map((u) => u.doc.name),
      );
      expect(await rows('FOR u IN users SORT u.city DESC, u.name RETURN u.name')).toEqual(
        sorted((a, b) => byKey(b.city, a.city) || byKey(a.name, b.name)).map((u) => u.doc.name),
      );
      expect(await rows('FOR u IN users SORT LENGTH(u.tags) DESC, u.age ASC RETURN u.name')).toEqual(
        sorted((a, b) => b.tags.length - a.tags.length || a.age - b.age).map((u) => u.doc.name),
      );
      // mixed types sort by AQL type order: null < bool < number < string < array < object
      expect(await rows('FOR x IN [{}, "b", 2, [0], null, true, "a", 1, false] SORT x RETURN x')).toEqual([
        null,
        false,
        true,
        1,
        2,
        'a',
        'b',
        [0],
        {},
      ]);
    });

    it('LIMIT n and LIMIT offset, n', async () => {
      const byAge = sorted((a, b) => a.age - b.age).map((u) => u.doc.age);
      expect(await rows('FOR u IN users SORT u.age LIMIT 5 RETURN u.age')).toEqual(byAge.slice(0, 5));
      expect(await rows('FOR u IN users SORT u.age LIMIT 3, 4 RETURN u.age')).toEqual(byAge.slice(3, 7));
      expect(await rows('FOR u IN users SORT u.age DESC LIMIT 2 RETURN u.age')).toEqual([...byAge].reverse().slice(0, 2));
      expect(await rows('FOR u IN users SORT u.name LIMIT 18, 10 RETURN u.name')).toEqual(['user18', 'user19']);
      expect(await rows('FOR u IN users LIMIT 0 RETURN u')).toEqual([]);
      expect(await rows('FOR x IN 1..10 LIMIT @o, @n RETURN x', { bind_vars: { o: 2, n: 3 } })).toEqual([3, 4, 5]);
      // LIMIT then SORT: sorts only the rows the LIMIT let through
      const first = (await rows('FOR u IN users LIMIT 4 RETURN u.age')) as number[];
      expect(await rows('FOR u IN users LIMIT 4 SORT u.age DESC RETURN u.age')).toEqual([...first].sort((a, b) => b - a));
    });
  });

  // ------------------------------------------------------------ LET, DISTINCT, literals

  describe('LET, RETURN DISTINCT, object and array literals', () => {
    it('LET with expressions and subqueries', async () => {
      const got = await rows(
        'FOR u IN users LET decade = FLOOR(u.age / 10) * 10 LET n = LENGTH(FOR o IN orders FILTER o.user == u._key RETURN 1) FILTER n > 0 SORT u._key RETURN [u._key, decade, n]',
      );
      const want = USERS.map((u) => [u.key, Math.floor(u.doc.age / 10) * 10, ORDERS.filter((o) => o.doc.user === u.key).length]).filter(
        (x) => (x[2] as number) > 0,
      );
      expect(got).toEqual(want);
      const top = await rows(
        'LET adults = (FOR u IN users FILTER u.age >= 45 SORT u.age RETURN u.name) LET total = SUM(FOR o IN orders RETURN o.total) RETURN {adults, total, n: LENGTH(adults)}',
      );
      const adults = USERS.filter((u) => u.doc.age >= 45)
        .sort((a, b) => a.doc.age - b.doc.age)
        .map((u) => u.doc.name);
      expect(top).toEqual([{ adults, total: ORDERS.reduce((a, o) => a + o.doc.total, 0), n: adults.length }]);
      // a subquery referring to the outer variable, with its own SORT and LIMIT
      const best = await rows(
        'FOR u IN users FILTER u._key IN ["u04", "u05"] SORT u._key LET top = (FOR o IN orders FILTER o.user == u._key SORT o.total DESC LIMIT 1 RETURN o.total) RETURN top[0]',
      );
      expect(best).toEqual([40, 51]);
    });

    it('LET used in FILTER gives the same rows (plan.let_pre_extracted is a boolean)', async () => {
      const query = 'FOR u IN users LET c = u.city FILTER c == "Berlin" RETURN u';
      expect(await rows(query)).toEqual(USERS.filter((u) => u.doc.city === 'Berlin').map((u) => JSON.stringify(u.doc)));
      const ex = await aql({ query, explain: true });
      await expectStatus(ex, 200);
      expect(typeof (ex.body.plan as Body).let_pre_extracted).toBe('boolean');
      expect(await rows('FOR u IN users LET a = u.age + 1 FILTER a > 45 LET b = a * 2 SORT b DESC RETURN [u._key, b]')).toEqual(
        USERS.filter((u) => u.doc.age + 1 > 45)
          .sort((x, y) => y.doc.age - x.doc.age)
          .map((u) => [u.key, (u.doc.age + 1) * 2]),
      );
    });

    it('COLLECT in a subquery keeps the enclosing variables, also when the subquery has no rows', async () => {
      const got = await rows(
        'FOR u IN users FILTER u._key IN ["u00", "u01", "u02"] SORT u._key LET c = (FOR o IN orders FILTER o.user == u._key COLLECT WITH COUNT INTO n RETURN {k: u._key, n}) RETURN c[0]',
      );
      expect(got).toEqual([
        { k: 'u00', n: 0 },
        { k: 'u01', n: 1 },
        { k: 'u02', n: 2 },
      ]);
      const agg = await rows(
        'FOR u IN users FILTER u._key IN ["u00", "u05"] SORT u._key RETURN FIRST(FOR o IN orders FILTER o.user == u._key COLLECT AGGREGATE s = SUM(o.total) RETURN [u.name, s])',
      );
      expect(agg).toEqual([
        ['user00', 0],
        ['user05', 101],
      ]);
    });

    it('RETURN DISTINCT', async () => {
      const cities = (await rows('FOR u IN users RETURN DISTINCT u.city')) as string[];
      expect([...cities].sort(byKey)).toEqual([...CITIES].sort(byKey));
      expect(await rows('FOR x IN [1, 2, 2, [1], [1], {a: 1}, {a: 1}, "1"] RETURN DISTINCT x')).toEqual([1, 2, [1], { a: 1 }, '1']);
      const tags = (await rows('FOR u IN users FOR t IN u.tags RETURN DISTINCT t')) as string[];
      expect([...tags].sort(byKey)).toEqual(['a', 'b']);
    });

    it('object and array literals: shorthand {city, total}, computed keys, nesting', async () => {
      const got = await rows('FOR u IN users COLLECT city = u.city AGGREGATE total = SUM(u.age) RETURN {city, total}');
      const want = [...CITIES]
        .sort(byKey)
        .map((city) => ({ city, total: USERS.filter((u) => u.doc.city === city).reduce((a, u) => a + u.doc.age, 0) }));
      expect(got).toEqual(want);
      expect(
        await rows(
          'LET city = "Rome" LET n = 2 RETURN {city, n, list: [city, n, [n]], [CONCAT("k", n)]: true, [n + 1]: "computed", "quoted key": null, nested: {city}}',
        ),
      ).toEqual([{ city: 'Rome', n: 2, list: ['Rome', 2, [2]], k2: true, '3': 'computed', 'quoted key': null, nested: { city: 'Rome' } }]);
      expect(await rows('FOR u IN users FILTER u._key == "u02" RETURN [u.name, u.age, u.tags, u.address]')).toEqual([
        [user(2).name, user(2).age, user(2).tags, user(2).address],
      ]);
    });
  });

  // ------------------------------------------------------------ COLLECT

  describe('COLLECT', () => {
    const cityGroups = [...CITIES].sort(byKey).map((city) => ({ city, us: USERS.filter((u) => u.doc.city === city) }));
    it('COLLECT k = expr INTO g (groups sorted by key; g holds the rows)', async () => {
      const got = (await rows('FOR u IN users COLLECT city = u.city INTO g RETURN {city, n: LENGTH(g), names: g[*].u.name}')) as {
        city: string;
        n: number;
        names: string[];
      }[];
      expect(got.map((x) => ({ ...x, names: [...x.names].sort(byKey) }))).toEqual(
        cityGroups.map((g) => ({ city: g.city, n: g.us.length, names: g.us.map((u) => u.doc.name) })),
      );
      const proj = await rows('FOR u IN users COLLECT city = u.city INTO ages = u.age RETURN {city, ages: SORTED(ages)}');
      expect(proj).toEqual(cityGroups.map((g) => ({ city: g.city, ages: g.us.map((u) => u.doc.age).sort((a, b) => a - b) })));
      const two = await rows('FOR u IN users COLLECT city = u.city, old = u.age >= 35 WITH COUNT INTO n RETURN [city, old, n]');
      const want = cityGroups
        .flatMap((g) => [false, true].map((old) => [g.city, old, g.us.filter((u) => u.doc.age >= 35 === old).length]))
        .filter((x) => (x[2] as number) > 0);
      expect(two).toEqual(want);
    });

    it('COLLECT ... WITH COUNT INTO n, and without groups', async () => {
      expect(await rows('FOR u IN users COLLECT city = u.city WITH COUNT INTO n RETURN {city, n}')).toEqual(
        cityGroups.map((g) => ({ city: g.city, n: g.us.length })),
      );
      expect(await rows('FOR u IN users COLLECT WITH COUNT INTO n RETURN n')).toEqual([N]);
      expect(await rows('FOR u IN users FILTER u.age > 1000 COLLECT WITH COUNT INTO n RETURN n')).toEqual([0]);
    });

    it('COLLECT AGGREGATE COUNT/SUM/AVG/MIN/MAX', async () => {
      const got = await rows(
        'FOR u IN users COLLECT city = u.city AGGREGATE c = COUNT(1), s = SUM(u.age), a = AVG(u.age), mn = MIN(u.age), mx = MAX(u.age) RETURN {city, c, s, a, mn, mx}',
      );
      const want = cityGroups.map((g) => {
        const ages = g.us.map((u) => u.doc.age);
        const sum = ages.reduce((x, y) => x + y, 0);
        return { city: g.city, c: ages.length, s: sum, a: sum / ages.length, mn: Math.min(...ages), mx: Math.max(...ages) };
      });
      expect(got).toEqual(want);
      const all = USERS.map((u) => u.doc.age);
      expect(
        await rows('FOR u IN users COLLECT AGGREGATE c = COUNT(u), mn = MIN(u.age), mx = MAX(u.age), s = SUM(u.age) RETURN [c, mn, mx, s]'),
      ).toEqual([[N, Math.min(...all), Math.max(...all), all.reduce((a, b) => a + b, 0)]]);
      // orders per user through a join, aggregated
      const perUser = await rows(
        'FOR o IN orders COLLECT user = o.user AGGREGATE n = COUNT(1), total = SUM(o.total) SORT total DESC LIMIT 2 RETURN {user, n, total}',
      );
      const agg = new Map<string, { n: number; total: number }>();
      for (const o of ORDERS) {
        const a = agg.get(o.doc.user) ?? { n: 0, total: 0 };
        agg.set(o.doc.user, { n: a.n + 1, total: a.total + o.doc.total });
      }
      expect(perUser).toEqual(
        [...agg]
          .map(([u, a]) => ({ user: u, ...a }))
          .sort((x, y) => y.total - x.total)
          .slice(0, 2),
      );
    });
  });

  // ------------------------------------------------------------ _key / _id

  it('_key and _id are virtual attributes; RETURN doc is the stored text without them', async () => {
    const got = await rows('FOR u IN users FILTER u._key == "u03" RETURN {k: u._key, id: u._id, doc: u, has: HAS(u, "name")}');
    expect(got).toEqual([{ k: 'u03', id: 'users:u03', doc: user(3), has: true }]);
    expect(await rows('FOR u IN users FILTER u._key == "u03" RETURN u')).toEqual([JSON.stringify(user(3))]);
    expect(await rows('FOR u IN users FILTER u._key == "u03" RETURN [u._key, u._id]')).toEqual([['u03', 'users:u03']]);
    expect(await rows('FOR u IN users SORT u._key DESC LIMIT 2 RETURN u._id')).toEqual(['users:u19', 'users:u18']);
    expect(await rows('FOR o IN orders FILTER o._key == "o5_1" RETURN o._id')).toEqual(['orders:o5_1']);
    // a document stored as text keeps its exact text (spacing, attribute order)
    await expectStatus(await call(s, 'PUT', '/entities/raw:r1', { blob: '{"b": 1,  "a": [1, 2]}' }), 201);
    expect(await rows('FOR r IN raw RETURN r')).toEqual(['{"b": 1,  "a": [1, 2]}']);
    expect(await rows('FOR r IN raw RETURN [r._key, r.a[1]]')).toEqual([['r1', 2]]);
    const plan = (await aql({ query: 'FOR u IN users FILTER u._key == "u03" RETURN u', explain: true })).body.plan as Body;
    expect(plan.indexes).toEqual([expect.objectContaining({ variable: 'u', collection: 'users', type: 'primary', attribute: '_key' })]);
  });

  // ------------------------------------------------------------ bind parameters

  describe('bind parameters', () => {
    it('bind_vars and bindVars: values of every type', async () => {
      const q = 'FOR u IN users FILTER u.city IN @cities AND u.age >= @min SORT u.age RETURN u._key';
      const want = USERS.filter((u) => ['Rome', 'Paris'].includes(u.doc.city) && u.doc.age >= 30)
        .sort((a, b) => a.doc.age - b.doc.age)
        .map((u) => u.key);
      expect(await rows(q, { bind_vars: { cities: ['Rome', 'Paris'], min: 30 } })).toEqual(want);
      expect(await rows(q, { bindVars: { cities: ['Rome', 'Paris'], min: 30 } })).toEqual(want);
      expect(
        await rows('RETURN [@s, @n, @b, @z, @a, @o, @o.x, @a[1]]', {
          bind_vars: { s: 'x', n: 1.5, b: true, z: null, a: [1, 2], o: { x: { y: 1 } } },
        }),
      ).toEqual([['x', 1.5, true, null, [1, 2], { x: { y: 1 } }, { y: 1 }, 2]]);
      // an indexed equality with a bind value uses the index
      const b = await full('FOR u IN users FILTER u.city == @c RETURN u._key', { bind_vars: { c: 'Oslo' } });
      expect((b.plan as Body).mode).toBe('index_optimized');
      expect([...(b.entities as string[])].sort(byKey)).toEqual(USERS.filter((u) => u.doc.city === 'Oslo').map((u) => u.key));
    });

    it('@@collection takes the collection name from bind_vars.collection (docs/aql.md: without the "@")', async () => {
      const got = await rows('FOR u IN @@coll FILTER u.city == @city SORT u._key RETURN u._key', {
        bind_vars: { coll: 'users', city: 'Paris' },
      });
      expect(got).toEqual(USERS.filter((u) => u.doc.city === 'Paris').map((u) => u.key));
      const plan = (await full('FOR u IN @@coll FILTER u.city == "Paris" RETURN u', { bindVars: { coll: 'users' } })).plan as Body;
      expect(plan.mode).toBe('index_optimized');
      const ins = await full('INSERT {_key: "viaBind", x: 1} INTO @@t RETURN NEW._id', { bindVars: { t: 'bindtarget' } });
      expect(ins).toMatchObject({ table: 'bindtarget', entities: ['bindtarget:viaBind'] });
      expect(await getBlob('bindtarget:viaBind')).toEqual({ x: 1 });
      expect(await rows('FOR v IN 1..1 OUTBOUND "persons:p6" @@e RETURN v._key', { bind_vars: { e: 'knows' } })).toEqual(['p1']);
    });

    it('a missing bind parameter, a missing @@collection and an invalid collection name -> 400', async () => {
      const miss = await aql({ query: 'FOR u IN users FILTER u.age > @min RETURN u' });
      expectError(miss, 400, 'VALIDATION_FAILED');
      expect(miss.body).toMatchObject({ field: 'bind_vars', parameter: 'min' });
      const missColl = await aql({ query: 'FOR u IN @@coll RETURN u', bind_vars: {} });
      expectError(missColl, 400, 'VALIDATION_FAILED');
      expect(missColl.body).toMatchObject({ field: 'bind_vars', parameter: '@coll' });
      const badName = await aql({ query: 'FOR u IN @@coll RETURN u', bind_vars: { coll: 'no such/table' } });
      expectError(badName, 400);
    });
  });

  // ------------------------------------------------------------ graph

  describe('graph traversal and SHORTEST_PATH', () => {
    const traverseApi = async (start: string, depth: number, direction = 'outbound') => {
      const r = await call(s, 'POST', '/graph/traverse', {
        start_vertex: `persons:${start}`,
        max_depth: depth,
        direction,
        edge_table: 'knows',
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.visited as string[]).map((k) => k.slice('persons:'.length));
    };

    const BFS = 'OPTIONS {order: "bfs", uniqueVertices: "global"}';

    it('FOR v IN 1..2 OUTBOUND: depth-first by default (ArangoDB), paths may repeat a vertex', async () => {
      // p1's edges k1 (-> p2), k2 (-> p3): depth-first takes the last one first, as ArangoDB does
      expect(await rows('FOR v IN 1..2 OUTBOUND "persons:p1" knows RETURN v._key')).toEqual(['p3', 'p4', 'p2', 'p4']);
      expect(await rows('FOR v IN 2..2 OUTBOUND "persons:p1" knows RETURN v._key')).toEqual(['p4', 'p4']);
    });

    it('OPTIONS {order: "bfs", uniqueVertices: "global"}: BFS, each vertex once, same order as /graph/traverse', async () => {
      const got = await rows(`FOR v, e, p IN 1..2 OUTBOUND "persons:p1" knows ${BFS} RETURN v._key`);
      expect([...(got as string[])].sort(byKey)).toEqual(['p2', 'p3', 'p4']);
      expect(got).toEqual((await traverseApi('p1', 2)).slice(1));
      expect((got as string[]).indexOf('p4')).toBe(2); // depth 2 after both depth-1 vertices
      expect(await rows(`FOR v IN 1..3 OUTBOUND "persons:p1" knows ${BFS} RETURN v._key`)).toEqual((await traverseApi('p1', 3)).slice(1));
      expect(await rows(`FOR v IN 0..1 OUTBOUND "persons:p1" knows ${BFS} RETURN v._key`)).toEqual(await traverseApi('p1', 1));
      expect(await rows(`FOR v IN 2..2 OUTBOUND "persons:p1" knows ${BFS} RETURN v._key`)).toEqual(['p4']);
      expect(await rows('FOR v IN OUTBOUND "persons:p1" knows SORT v._key RETURN v.name')).toEqual(['P2', 'P3']);
      expect(await rows('FOR v IN 1..1 INBOUND "persons:p1" knows SORT v._key RETURN v._key')).toEqual(['p5', 'p6']);
      expect(await rows('FOR v IN ANY "persons:p4" knows SORT v._key RETURN v._key')).toEqual(['p2', 'p3', 'p5']);
      expect(await rows('FOR v IN 1..5 OUTBOUND "persons:nobody" knows RETURN v')).toEqual([]);
    });

    it('edge and path variables describe the BFS tree', async () => {
      const got = (await rows(
        `FOR v, e, p IN 1..3 OUTBOUND "persons:p1" knows ${BFS} RETURN {v: v._key, e: e._key, ef: e._from, et: e._to, pv: p.vertices[*]._key, pe: p.edges[*]._key, pef: p.edges[*]._from, pet: p.edges[*]._to}`,
      )) as {
        v: string;
        e: string;
        ef: string;
        et: string;
        pv: string[];
        pe: string[];
        pef: string[];
        pet: string[];
      }[];
      expect(got.map((x) => x.v).sort(byKey)).toEqual(['p2', 'p3', 'p4', 'p5']);
      const depth: Record<string, number> = { p2: 1, p3: 1, p4: 2, p5: 3 };
      for (const x of got) {
        expect(x.pv[0]).toBe('p1');
        expect(x.pv[x.pv.length - 1]).toBe(x.v);
        expect(x.pv.length).toBe(depth[x.v]! + 1);
        expect(x.pe.length).toBe(depth[x.v]!);
        expect(x.pe[x.pe.length - 1]).toBe(x.e);
        expect(x.et).toBe(`persons:${x.v}`);
        x.pe.forEach((_, i) => {
          expect(x.pef[i]).toBe(`persons:${x.pv[i]}`);
          expect(x.pet[i]).toBe(`persons:${x.pv[i + 1]}`);
        });
        const [, f, t] = KNOWS.find(([k]) => k === x.e)!;
        expect([x.ef, x.et]).toEqual([`persons:${f}`, `persons:${t}`]);
      }
    });

    it('traversal from a document, FILTER on the vertex (does not prune), and a graph join', async () => {
      expect(await rows('FOR s IN persons FILTER s._key == "p6" FOR v IN 1..1 OUTBOUND s knows RETURN v._key')).toEqual(['p1']);
      const f = await rows('FOR v, e IN 1..3 OUTBOUND "persons:p1" knows FILTER v.name != "P4" RETURN v._key');
      expect([...(f as string[])].sort(byKey)).toEqual(['p2', 'p3', 'p5', 'p5']); // p5 over p2 and over p3
      // PRUNE stops at P4: it is returned, p5 behind it is not
      expect(await rows('FOR v IN 1..3 OUTBOUND "persons:p1" knows PRUNE v.name == "P4" RETURN v._key')).toEqual(['p3', 'p4', 'p2', 'p4']);
      const e = await rows('FOR v, e IN 1..1 OUTBOUND "persons:p1" knows FILTER e.since > 2001 RETURN v._key');
      expect(e).toEqual(['p3']);
      const names = await rows(
        'FOR s IN persons FILTER s.rank <= 1 SORT s._key FOR v IN 1..1 OUTBOUND s knows SORT s._key, v._key RETURN [s.name, v.name]',
      );
      expect(names).toEqual([
        ['P1', 'P2'],
        ['P1', 'P3'],
        ['P2', 'P4'],
      ]);
    });

    it('SHORTEST_PATH: vertices and edges as /graph/shortest_path; unreachable gives no rows', async () => {
      const api = await call(s, 'POST', '/graph/shortest_path', { from: 'persons:p1', to: 'persons:p5', edge_table: 'knows' });
      expect(api.status, JSON.stringify(api.body)).toBe(200);
      const got = await rows('FOR v IN OUTBOUND SHORTEST_PATH "persons:p1" TO "persons:p5" knows RETURN v._key');
      expect(got).toHaveLength(4);
      expect(got).toEqual((api.body.path as string[]).map((k) => k.slice('persons:'.length)));
      const withEdges = (await rows('FOR v, e IN OUTBOUND SHORTEST_PATH "persons:p1" TO "persons:p5" knows RETURN [v._key, e._key]')) as [
        string,
        string | null,
      ][];
      expect(withEdges.map((x) => x[1])).toEqual([null, ...(api.body.edges as string[]).map((k) => k.slice('knows:'.length))]);
      expect(await rows('FOR v IN OUTBOUND SHORTEST_PATH "persons:p1" TO "persons:p6" knows RETURN v._key')).toEqual([]);
      expect(await rows('FOR v IN INBOUND SHORTEST_PATH "persons:p1" TO "persons:p6" knows RETURN v._key')).toEqual(['p1', 'p6']);
      expect(await rows('FOR v IN ANY SHORTEST_PATH "persons:p6" TO "persons:p3" knows RETURN v.name')).toEqual(['P6', 'P1', 'P3']);
      expect(await rows('FOR v IN OUTBOUND SHORTEST_PATH "persons:p2" TO "persons:p2" knows RETURN v._key')).toEqual(['p2']);
    });
  });

  // ------------------------------------------------------------ fulltext

  describe('FULLTEXT and BM25', () => {
    const searchApi = async (query: string, limit: number) => {
      const r = await call(s, 'POST', '/search/fulltext', { table: 'docs', column: 'body', query, limit });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.hits as { key: string; score: number }[]).map((h) => ({ k: h.key.slice('docs:'.length), s: h.score }));
    };

    it('FILTER FULLTEXT(...) SORT BM25(d) DESC LIMIT 3: scores descending and equal to /search/fulltext', async () => {
      const b = await full(
        'FOR d IN docs FILTER FULLTEXT(d.body, "graph database") SORT BM25(d) DESC LIMIT 3 RETURN {k: d._key, s: BM25(d)}',
      );
      const got = b.entities as { k: string; s: number }[];
      const want = await searchApi('graph database', 3);
      expect(want.length).toBeGreaterThan(1);
      expect(got.map((x) => x.k)).toEqual(want.map((x) => x.k));
      got.forEach((x, i) => {
        expect(x.s).toBeCloseTo(want[i]!.s, 9);
      });
      for (let i = 1; i < got.length; i++) expect(got[i]!.s).toBeLessThanOrEqual(got[i - 1]!.s);
      expect((b.plan as Body).indexes).toEqual([
        expect.objectContaining({ variable: 'd', collection: 'docs', type: 'fulltext', attribute: 'body' }),
      ]);
      expect((b.plan as Body).mode).toBe('index_optimized');
    });

    it('every match without LIMIT; combined with other conditions; RETURN d', async () => {
      const all = (await rows('FOR d IN docs FILTER FULLTEXT(d.body, "graph") SORT BM25(d) DESC RETURN d._key')) as string[];
      expect(all).toEqual((await searchApi('graph', 100)).map((x) => x.k));
      expect([...all].sort(byKey)).toEqual(TEXTS.filter(([, t]) => t.split(' ').includes('graph')).map(([k]) => k));
      const recent = await rows('FOR d IN docs FILTER FULLTEXT(d.body, "database") FILTER d.year >= 2017 SORT d._key RETURN d._key');
      expect(recent).toEqual(
        TEXTS.map(([k, t], i) => [k, t, 2015 + i] as const)
          .filter(([, t, y]) => t.split(' ').includes('database') && y >= 2017)
          .map(([k]) => k),
      );
      const docs = await rows('FOR d IN docs FILTER FULLTEXT(d.body, "pasta") RETURN d');
      expect(docs).toEqual([JSON.stringify({ body: TEXTS[3]![1], emb: TEXTS[3]![2], year: 2018 })]);
      expect(await rows('FOR d IN docs FILTER FULLTEXT(d.body, "nonexistentword") RETURN d')).toEqual([]);
    });

    it('FULLTEXT on a column without a fulltext index -> 400 naming the index to create', async () => {
      const r = await aql({ query: 'FOR d IN docs_plain FILTER FULLTEXT(d.body, "graph") RETURN d' });
      expectError(r, 400, 'INDEX_NOT_FOUND');
      expect(r.body.message).toContain('docs_plain.body');
      expect(r.body.message).toContain('/index/create');
    });
  });

  // ------------------------------------------------------------ vectors

  describe('SIMILARITY and NEAR', () => {
    const V = [0.9, 0.2, 0.05, 0];
    const cos = (a: number[], b: number[]) =>
      a.reduce((x, y, i) => x + y * b[i]!, 0) / Math.sqrt(a.reduce((x, y) => x + y * y, 0) * b.reduce((x, y) => x + y * y, 0));
    const exact = [...TEXTS].map(([k, , e]) => ({ k, sim: cos(V, e) })).sort((a, b) => b.sim - a.sim);
    const vectorApi = async (k: number) => {
      const r = await call(s, 'POST', '/vector/search', { index: 'docs_emb', vector: V, k });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.results as { pk: string; distance: number }[];
    };

    it('SORT SIMILARITY(d.emb, @v) DESC LIMIT 3 uses the vector index and matches /vector/search', async () => {
      const b = await full('FOR d IN docs SORT SIMILARITY(d.emb, @v) DESC LIMIT 3 RETURN d._key', { bind_vars: { v: V } });
      const api = await vectorApi(3);
      expect(b.entities).toEqual(api.map((h) => h.pk));
      expect(b.entities).toEqual(exact.slice(0, 3).map((x) => x.k));
      expect((b.plan as Body).indexes).toEqual([
        expect.objectContaining({ variable: 'd', collection: 'docs', type: 'vector', index: 'docs_emb', attribute: 'emb' }),
      ]);
      const scored = (await rows('FOR d IN docs SORT SIMILARITY(d.emb, @v) DESC LIMIT 3 RETURN {k: d._key, s: SIMILARITY(d.emb, @v)}', {
        bind_vars: { v: V },
      })) as { k: string; s: number }[];
      scored.forEach((x, i) => {
        expect(x.k).toBe(api[i]!.pk);
        expect(Math.abs(x.s - (1 - api[i]!.distance))).toBeLessThan(1e-4);
        expect(Math.abs(x.s - exact[i]!.sim)).toBeLessThan(1e-9);
      });
      expect(await rows('FOR d IN docs SORT SIMILARITY(d.emb, @v) DESC LIMIT 1, 2 RETURN d._key', { bind_vars: { v: V } })).toEqual(
        exact.slice(1, 3).map((x) => x.k),
      );
    });

    it('without a vector index SIMILARITY ranks by brute force (same order)', async () => {
      const b = await full('FOR d IN docs_plain SORT SIMILARITY(d.emb, @v) DESC LIMIT 3 RETURN d._key', { bind_vars: { v: V } });
      expect(b.entities).toEqual(exact.slice(0, 3).map((x) => x.k));
      expect((b.plan as Body).indexes).toEqual([]);
      expect(await rows('RETURN SIMILARITY([1, 0], [1, 0])')).toEqual([1]);
    });

    it('FILTER NEAR(d.emb, @v, k) returns the k nearest as /vector/search', async () => {
      const api = await vectorApi(3);
      const got = await rows('FOR d IN docs FILTER NEAR(d.emb, @v, 3) RETURN d._key', { bind_vars: { v: V } });
      expect(got).toEqual(api.map((h) => h.pk));
      // other conditions apply inside the search: still k results when k match
      const filtered = await rows('FOR d IN docs FILTER NEAR(d.emb, @v, 3) FILTER d._key != @skip RETURN d._key', {
        bind_vars: { v: V, skip: exact[0]!.k },
      });
      expect(filtered).toEqual(exact.slice(1, 4).map((x) => x.k));
      expect(await rows('FOR d IN docs FILTER NEAR(d.emb, @v, 2) RETURN d', { bind_vars: { v: V } })).toEqual(
        exact.slice(0, 2).map((x) => {
          const i = TEXTS.findIndex(([k]) => k === x.k);
          return JSON.stringify({ body: TEXTS[i]![1], emb: TEXTS[i]![2], year: 2015 + i });
        }),
      );
    });

    it('NEAR on a field without a vector index -> 400', async () => {
      const r = await aql({ query: 'FOR d IN docs_plain FILTER NEAR(d.emb, @v, 3) RETURN d', bind_vars: { v: V } });
      expectError(r, 400, 'INDEX_NOT_FOUND');
      expect(r.body.message).toContain('/vector/index/create');
    });
  });

  // ------------------------------------------------------------ data modification

  describe('INSERT / UPDATE / REPLACE / REMOVE', () => {
    it('INSERT with _key and with a generated key; RETURN NEW; 409 for an existing key', async () => {
      const b = await full('INSERT {_key: "a1", x: 1, nested: {p: 1, q: 2}} INTO mods RETURN NEW');
      expect(b).toMatchObject({ table: 'mods', count: 1, entities: [{ x: 1, nested: { p: 1, q: 2 } }] });
      expect(await getBlob('mods:a1')).toEqual({ x: 1, nested: { p: 1, q: 2 } });
      const gen = (await rows('INSERT {y: 2} INTO mods RETURN [NEW._key, NEW._id]')) as [string, string][];
      const [key, id] = gen[0]!;
      expect(key.length).toBeGreaterThan(0);
      expect(id).toBe(`mods:${key}`);
      expect(await getBlob(id)).toEqual({ y: 2 });
      const dup = await aql({ query: 'INSERT {_key: "a1", x: 99} INTO mods RETURN NEW' });
      expectError(dup, 409, 'CONFLICT');
      expect(await getBlob('mods:a1')).toEqual({ x: 1, nested: { p: 1, q: 2 } });
      // INSERT without RETURN: an empty result
      expect(await full('FOR i IN 1..3 INSERT {_key: CONCAT("bulk", i), i} INTO mods')).toMatchObject({
        table: 'mods',
        count: 0,
        entities: [],
      });
      expect(await rows('FOR m IN mods FILTER m._key LIKE "bulk%" SORT m._key RETURN m')).toEqual(['{"i":1}', '{"i":2}', '{"i":3}']);
    });

    it('UPDATE key WITH patch (merge), UPDATE doc IN t, RETURN OLD and NEW; 404 for a missing key', async () => {
      await rows('INSERT {_key: "c1", a: 1, nested: {p: 1, q: 2}, keep: true} INTO mods');
      const u = await rows('UPDATE "c1" WITH {a: 2, nested: {q: 3, r: 4}, added: "x"} IN mods RETURN {old: OLD, new: NEW}');
      expect(u).toEqual([
        { old: { a: 1, nested: { p: 1, q: 2 }, keep: true }, new: { a: 2, nested: { p: 1, q: 3, r: 4 }, keep: true, added: 'x' } },
      ]);
      expect(await getBlob('mods:c1')).toEqual({ a: 2, nested: { p: 1, q: 3, r: 4 }, keep: true, added: 'x' });
      expect(await rows('UPDATE {_key: "c1", b: 5} IN mods RETURN NEW.b')).toEqual([5]);
      expect(await rows('FOR m IN mods FILTER m._key == "c1" UPDATE m WITH {a: m.a * 10} IN mods RETURN [OLD.a, NEW.a, NEW._key]')).toEqual(
        [[2, 20, 'c1']],
      );
      expect(await getBlob('mods:c1')).toEqual({ a: 20, nested: { p: 1, q: 3, r: 4 }, keep: true, added: 'x', b: 5 });
      const missing = await aql({ query: 'UPDATE "nope" WITH {a: 1} IN mods RETURN NEW' });
      expectError(missing, 404, 'NOT_FOUND');
      expect(await getBlob('mods:nope')).toBeUndefined();
    });

    it('REPLACE key WITH doc and REPLACE doc IN t', async () => {
      await rows('INSERT {_key: "r1", a: 1, b: 2} INTO mods');
      expect(await rows('REPLACE "r1" WITH {z: 1} IN mods RETURN [OLD, NEW]')).toEqual([[{ a: 1, b: 2 }, { z: 1 }]]);
      expect(await getBlob('mods:r1')).toEqual({ z: 1 });
      expect(await rows('REPLACE {_key: "r1", y: 2} IN mods RETURN NEW')).toEqual([{ y: 2 }]);
      expect(await getBlob('mods:r1')).toEqual({ y: 2 });
      expectError(await aql({ query: 'REPLACE "nope" WITH {a: 1} IN mods' }), 404, 'NOT_FOUND');
    });

    it('REMOVE key / doc IN t with RETURN OLD; 404 for a missing key', async () => {
      await rows('FOR i IN 1..4 INSERT {_key: CONCAT("x", i), i} INTO mods');
      expect(await rows('REMOVE "x1" IN mods RETURN OLD')).toEqual([{ i: 1 }]);
      expect(await getBlob('mods:x1')).toBeUndefined();
      expect(await rows('REMOVE {_key: "x2"} IN mods RETURN OLD.i')).toEqual([2]);
      expect(await rows('FOR m IN mods FILTER m._key IN ["x3", "x4"] SORT m._key REMOVE m IN mods RETURN OLD._key')).toEqual(['x3', 'x4']);
      for (const k of ['x2', 'x3', 'x4']) expect(await getBlob(`mods:${k}`)).toBeUndefined();
      expectError(await aql({ query: 'REMOVE "x1" IN mods' }), 404, 'NOT_FOUND');
    });

    it('a modifying query is atomic: a failing row leaves nothing written, and the keys stay usable', async () => {
      await rows('INSERT {_key: "dup"} INTO atom');
      const r = await aql({ query: 'FOR i IN 1..5 INSERT {_key: i == 5 ? "dup" : CONCAT("n", i), i} INTO atom' });
      expectError(r, 409, 'CONFLICT');
      for (let i = 1; i <= 4; i++) expect(await getBlob(`atom:n${i}`)).toBeUndefined();
      await rows('FOR i IN 1..3 INSERT {_key: CONCAT("u", i), v: i} INTO atom');
      const up = await aql({ query: 'FOR k IN ["u1", "u2", "missing"] UPDATE k WITH {v: 100} IN atom' });
      expectError(up, 404, 'NOT_FOUND');
      expect(await getBlob('atom:u1')).toEqual({ v: 1 });
      expect(await getBlob('atom:u2')).toEqual({ v: 2 });
      // nothing left behind: the same keys can be written now
      expect(await rows('FOR i IN 1..4 INSERT {_key: CONCAT("n", i), i} INTO atom RETURN NEW._key')).toEqual(['n1', 'n2', 'n3', 'n4']);
      expect(await rows('FOR k IN ["u1", "u2"] UPDATE k WITH {v: 100} IN atom RETURN NEW.v')).toEqual([100, 100]);
    });

    it('modifications are seen by indexes and later queries; a bad document -> 400', async () => {
      await rows('INSERT {_key: "u99", name: "late", city: "Lima", age: 99} INTO users');
      expect(await rows('FOR u IN users FILTER u.city == "Lima" RETURN u._key', { allow_full_scan: false })).toEqual(['u99']);
      expect(await rows('FOR u IN users FILTER u.age > 90 RETURN u.name', { allow_full_scan: false })).toEqual(['late']);
      await rows('UPDATE "u99" WITH {city: "Quito"} IN users');
      expect(await rows('FOR u IN users FILTER u.city == "Lima" RETURN u._key')).toEqual([]);
      expect(await rows('FOR u IN users FILTER u.city == "Quito" RETURN u._key')).toEqual(['u99']);
      await rows('REMOVE "u99" IN users');
      expect(await rows('FOR u IN users FILTER u.city == "Quito" RETURN u._key')).toEqual([]);
      expectError(await aql({ query: 'INSERT 5 INTO mods' }), 400);
      expectError(await aql({ query: 'INSERT {_key: 5} INTO mods' }), 400);
      expectError(await aql({ query: 'UPDATE 5 WITH {a: 1} IN mods' }), 400);
    });
  });

  // ------------------------------------------------------------ functions

  describe('built-in functions', () => {
    const CASES: [string, unknown][] = [
      ['LENGTH("abc")', 3],
      ['LENGTH([1, 2, 3])', 3],
      ['LENGTH({a: 1, b: 2})', 2],
      ['CONCAT("a", "b", 1)', 'ab1'],
      ['CONCAT("x", null, "y")', 'xy'],
      ['LOWER("AbC")', 'abc'],
      ['UPPER("abc")', 'ABC'],
      ['SUBSTRING("hello", 1, 3)', 'ell'],
      ['SUBSTRING("hello", 2)', 'llo'],
      ['TRIM("  x y  ")', 'x y'],
      ['TRIM("--x--", "-")', 'x'],
      ['CONTAINS("foobar", "oba")', true],
      ['CONTAINS("foobar", "xyz")', false],
      ['SPLIT("a,b,c", ",")', ['a', 'b', 'c']],
      ['ABS(-3.5)', 3.5],
      ['CEIL(1.2)', 2],
      ['FLOOR(-1.2)', -2],
      ['ROUND(2.5)', 3],
      ['ROUND(2.4)', 2],
      ['SQRT(16)', 4],
      ['POW(2, 10)', 1024],
      ['MIN([3, 1, 2])', 1],
      ['MAX([3, null, 2])', 3],
      ['SUM([1, 2, 3.5])', 6.5],
      ['AVG([1, 2, 3, 4])', 2.5],
      ['COUNT([1, 2, 3])', 3],
      ['FIRST([1, 2])', 1],
      ['FIRST([])', null],
      ['LAST([1, 2])', 2],
      ['UNIQUE([1, 1, 2, "2"])', [1, 2, '2']],
      ['SORTED([3, 1, "a", null, 2])', [null, 1, 2, 3, 'a']],
      ['HAS({a: 1}, "a")', true],
      ['HAS({a: 1}, "b")', false],
      ['KEEP({a: 1, b: 2, c: 3}, "a", "c")', { a: 1, c: 3 }],
      ['KEEP({a: 1, b: 2, c: 3}, ["b"])', { b: 2 }],
      ['UNSET({a: 1, b: 2, c: 3}, "a", "b")', { c: 3 }],
      ['MERGE({a: 1, b: 1}, {b: 2, c: 3})', { a: 1, b: 2, c: 3 }],
      ['ATTRIBUTES({a: 1, b: 2})', ['a', 'b']],
      ['VALUES({a: 1, b: "x"})', [1, 'x']],
      ['TO_NUMBER("12.5")', 12.5],
      ['TO_NUMBER(true)', 1],
      ['TO_NUMBER("abc")', 0],
      ['TO_STRING(12)', '12'],
      ['TO_STRING([1, 2])', '[1,2]'],
      ['TO_BOOL(0)', false],
      ['TO_BOOL("x")', true],
      ['TO_BOOL("")', false],
      ['TO_BOOL([])', true],
      ['IS_NULL(null)', true],
      ['IS_NULL(0)', false],
      ['IS_NUMBER(1)', true],
      ['IS_NUMBER("1")', false],
      ['IS_STRING("s")', true],
      ['IS_STRING(1)', false],
      ['IS_ARRAY([])', true],
      ['IS_ARRAY({})', false],
      ['IS_OBJECT({})', true],
      ['IS_OBJECT([])', false],
      ['COALESCE(null, 2, 3)', 2],
      ['COALESCE(null, null)', null],
      ['DATE_ISO8601(0)', '1970-01-01T00:00:00.000Z'],
      ['DATE_ISO8601(2024, 2, 29)', '2024-02-29T00:00:00.000Z'],
      ['DATE_ADD("2024-01-15T10:00:00.000Z", 1, "month")', '2024-02-15T10:00:00.000Z'],
      ['DATE_ADD("2024-02-28T00:00:00.000Z", 2, "days")', '2024-03-01T00:00:00.000Z'],
      ['DATE_SUB("2024-03-01T00:00:00.000Z", 1, "day")', '2024-02-29T00:00:00.000Z'],
      ['DATE_TRUNC("2024-05-17T13:45:12.345Z", "month")', '2024-05-01T00:00:00.000Z'],
      ['DATE_TRUNC("2024-05-17T13:45:12.345Z", "hour")', '2024-05-17T13:00:00.000Z'],
      ['DATE_DIFF("2024-01-01T00:00:00.000Z", "2024-01-11T00:00:00.000Z", "day")', 10],
      ['DATE_DIFF("2024-01-01T00:00:00.000Z", "2024-01-01T06:00:00.000Z", "hours")', 6],
    ];
    it.each(CASES)('RETURN %s', async (expr, want) => {
      expect(await rows(`RETURN ${expr}`)).toEqual([want]);
    });

    it('DATE_NOW() is the current time in ms', async () => {
      const before = Date.now();
      const [now] = (await rows('RETURN DATE_NOW()')) as number[];
      expect(typeof now).toBe('number');
      expect(now!).toBeGreaterThanOrEqual(before - 2_000);
      expect(now!).toBeLessThanOrEqual(Date.now() + 2_000);
      const [iso] = (await rows('RETURN DATE_ISO8601(DATE_NOW())')) as string[];
      expect(Math.abs(Date.parse(iso!) - Date.now())).toBeLessThan(5_000);
    });

    it('function names are case-insensitive and work on documents', async () => {
      expect(await rows('RETURN [length([1]), Upper("a"), concat("a", "b")]')).toEqual([[1, 'A', 'ab']]);
      const got = await rows(
        'FOR u IN users FILTER u._key == "u06" RETURN {n: UPPER(u.name), a: ATTRIBUTES(u, true), k: KEEP(u, "city"), m: MERGE(u.address, {zip: null}), t: LENGTH(u.tags)}',
      );
      expect(got).toEqual([
        {
          n: 'USER06',
          a: Object.keys(user(6)),
          k: { city: user(6).city },
          m: { zip: null, street: user(6).address.street },
          t: user(6).tags.length,
        },
      ]);
    });
  });

  // ------------------------------------------------------------ explain

  describe('explain', () => {
    it('indexed equality: {table, plan, query, explain: true}, nothing executed', async () => {
      const query = 'FOR u IN users FILTER u.city == "Berlin" RETURN u';
      const r = await aql({ query, explain: true });
      await expectStatus(r, 200);
      expect(Object.keys(r.body).sort()).toEqual(['explain', 'extra', 'plan', 'query', 'table']);
      expect(r.body).toMatchObject({ table: 'users', query, explain: true });
      const plan = r.body.plan as Body;
      expect(plan).toMatchObject({
        mode: 'index_optimized',
        let_pre_extracted: false,
        indexes: [{ variable: 'u', collection: 'users', type: 'equality', attribute: 'city', unique: false }],
      });
      expect(Number.isInteger(plan.estimated_rows)).toBe(true);
      expect(plan.steps).toEqual([
        expect.objectContaining({ type: 'for', variable: 'u', access: 'index_eq', collection: 'users', attribute: 'city' }),
      ]);
      // explain of a modifying query writes nothing
      const ins = await aql({ query: 'INSERT {_key: "explained"} INTO mods RETURN NEW', explain: true });
      await expectStatus(ins, 200);
      expect(ins.body).toMatchObject({ table: 'mods', explain: true });
      expect(ins.body.entities).toBeUndefined();
      expect(await getBlob('mods:explained')).toBeUndefined();
    });

    it('range + SORT + LIMIT is read in index order (sort by_index)', async () => {
      const r = await aql({ query: 'FOR u IN users FILTER u.age >= 25 SORT u.age DESC LIMIT 3 RETURN u.age', explain: true });
      await expectStatus(r, 200);
      const plan = r.body.plan as Body;
      expect(plan.mode).toBe('index_optimized');
      expect(plan.indexes).toEqual([
        expect.objectContaining({ variable: 'u', collection: 'users', type: 'range', attribute: 'age', reverse: true, lower: true }),
      ]);
      expect(plan.steps).toEqual([
        expect.objectContaining({ type: 'for', access: 'index_range', reverse: true }),
        expect.objectContaining({ type: 'sort', by_index: true }),
        { type: 'limit' },
      ]);
      const ages = USERS.map((u) => u.doc.age)
        .filter((a) => a >= 25)
        .sort((a, b) => b - a);
      expect(await rows('FOR u IN users FILTER u.age >= 25 SORT u.age DESC LIMIT 3 RETURN u.age')).toEqual(ages.slice(0, 3));
      // SORT ... LIMIT alone also reads the range index in order
      const asc = (await aql({ query: 'FOR u IN users SORT u.age LIMIT 2 RETURN u', explain: true })).body.plan as Body;
      expect(asc.steps).toEqual([
        expect.objectContaining({ access: 'index_range', reverse: false }),
        expect.objectContaining({ type: 'sort', by_index: true }),
        { type: 'limit' },
      ]);
      // an unindexed attribute: in-memory top-k sort
      const unindexed = (await aql({ query: 'FOR u IN users SORT u.name LIMIT 2 RETURN u', explain: true })).body.plan as Body;
      expect(unindexed.mode).toBe('full_scan');
      expect(unindexed.steps).toEqual([
        expect.objectContaining({ access: 'full_scan' }),
        expect.objectContaining({ type: 'sort', by_index: false, top_k: true }),
        { type: 'limit' },
      ]);
    });

    it('joins name their strategy; queries without a collection are no_collection', async () => {
      const inl = (await aql({ query: 'FOR u IN users FOR o IN orders FILTER o.user == u._key RETURN o', explain: true })).body
        .plan as Body;
      expect(inl.join_strategy).toBe('index_nested_loop');
      const hj = (await aql({ query: 'FOR u IN users FOR v IN visits FILTER v.user == u._key RETURN v', explain: true })).body.plan as Body;
      expect(hj.join_strategy).toBe('hash_join');
      expect(hj.steps).toEqual([
        expect.objectContaining({ access: 'full_scan', collection: 'users' }),
        expect.objectContaining({ access: 'hash_join', collection: 'visits' }),
      ]);
      const single = (await aql({ query: 'FOR u IN users RETURN u', explain: true })).body.plan as Body;
      expect(single.join_strategy).toBeUndefined();
      const none = await aql({ query: 'RETURN 1 + 1', explain: true });
      expect(none.body).toMatchObject({ table: null, plan: { mode: 'no_collection', indexes: [] }, explain: true });
      expect(await full('RETURN 1 + 1')).toMatchObject({ table: null, count: 1, entities: [2], plan: { mode: 'no_collection' } });
    });
  });

  // ------------------------------------------------------------ errors

  describe('errors', () => {
    it('allow_full_scan: false with an unindexed FILTER -> 400 naming collection and attribute', async () => {
      const r = await aql({ query: 'FOR u IN users FILTER u.name == "user01" RETURN u', allow_full_scan: false });
      expectError(r, 400);
      expect(r.body).toMatchObject({ collection: 'users', attribute: 'name' });
      expect(r.body).toMatchObject({ code: 'BAD_REQUEST', field: 'allow_full_scan' });
      const noFilter = await aql({ query: 'FOR u IN users RETURN u', allow_full_scan: false });
      expectError(noFilter, 400);
      expect(noFilter.body.collection).toBe('users');
      // the inner side of a join without an index (hash join) is a full scan too
      const join = await aql({
        query: 'FOR u IN users FILTER u.city == "Rome" FOR v IN visits FILTER v.user == u._key RETURN v',
        allow_full_scan: false,
      });
      expectError(join, 400);
      expect(join.body).toMatchObject({ collection: 'visits', attribute: 'user' });
      // allowed by default
      expect(await rows('FOR u IN users FILTER u.name == "user01" RETURN u._key')).toEqual(['u01']);
      expect(await rows('FOR u IN users FILTER u.city == "Rome" AND u.name == "user01" RETURN u._key', { allow_full_scan: false })).toEqual(
        ['u01'],
      );
    });

    it('syntax errors -> 400 with line, column and token', async () => {
      const r = await aql({ query: 'FOR u IN users\n  FILTR u.age > 1\nRETURN u' });
      expectError(r, 400, 'VALIDATION_FAILED');
      expect(r.body).toMatchObject({ line: 2, column: 3, token: 'FILTR' });
      const end = await aql({ query: 'RETURN [1, 2' });
      expectError(end, 400);
      expect(end.body).toMatchObject({ line: 1, column: expect.any(Number), token: '' });
      const str = await aql({ query: 'RETURN "open' });
      expectError(str, 400);
      expect(str.body).toMatchObject({ line: 1, column: 8 });
      const op = await aql({ query: 'FOR u IN users FILTER u.a === 1 RETURN u' });
      expectError(op, 400);
      expect(op.body).toMatchObject({ line: 1, column: expect.any(Number), token: expect.any(String) });
    });

    it('unknown function -> 400 naming it; wrong argument count -> 400', async () => {
      const r = await aql({ query: 'RETURN NO_SUCH_FN(1)' });
      expectError(r, 400);
      expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', function: 'NO_SUCH_FN' });
      const typo = await aql({ query: 'FOR u IN users RETURN LENGHT(u.tags)' });
      expectError(typo, 400);
      expect(typo.body).toMatchObject({ code: 'VALIDATION_FAILED', function: 'LENGHT', suggestion: 'LENGTH' });
      expectError(await aql({ query: 'RETURN LOWER()' }), 400);
    });

    it('unknown variable / collection used as a value -> 400', async () => {
      const r = await aql({ query: 'FOR u IN users RETURN x.name' });
      expectError(r, 400);
      expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'query', line: 1, column: 23 });
      expectError(await aql({ query: 'FOR u IN users COLLECT c = u.city RETURN u' }), 400);
      expectError(await aql({ query: 'RETURN users' }), 400);
    });

    it('invalid request fields -> 400', async () => {
      const cases: Record<string, unknown>[] = [
        {},
        { query: '' },
        { query: 5 },
        { query: 'RETURN 1', bind_vars: [1] },
        { query: 'RETURN 1', bind_vars: 'x' },
        { query: 'RETURN 1', explain: 'yes' },
        { query: 'RETURN 1', allow_full_scan: 1 },
        { query: 'RETURN 1', batch_size: 0 },
        { query: 'RETURN 1', batch_size: 10_001 },
        { query: 'RETURN 1', timeout_ms: 0 },
        { query: 'RETURN 1', timeout_ms: 999_999_999 },
      ];
      for (const c of cases) expectError(await aql(c), 400);
      const bad = await call(s, 'POST', '/query/aql', '{"query": "RETURN 1", ');
      expectError(bad, 400, 'INVALID_JSON');
    });

    it('runtime errors -> 400 without stack traces', async () => {
      expectError(await aql({ query: 'FOR x IN 5 RETURN x' }), 400);
      expectError(await aql({ query: 'FOR u IN users LIMIT -1 RETURN u' }), 400);
      expectError(await aql({ query: 'FOR u IN users LIMIT @n RETURN u', bind_vars: { n: 'x' } }), 400);
      expectError(await aql({ query: 'FOR i IN 1..100000000 RETURN i' }), 400);
      expectError(await aql({ query: 'FOR v IN 1..500 OUTBOUND "persons:p1" knows RETURN v' }), 400);
    });
  });

  // ------------------------------------------------------------ alias

  it('/api/aql is an alias of /query/aql', async () => {
    const body = { query: 'FOR u IN users FILTER u.city == @c SORT u.age LIMIT 3 RETURN u', bindVars: { c: 'Paris' } };
    const a = await call(s, 'POST', '/query/aql', body);
    const b = await call(s, 'POST', '/api/aql', body);
    await expectStatus(a, 200);
    await expectStatus(b, 200);
    expect(b.body).toEqual(a.body);
    expect((b.body.entities as string[]).length).toBe(3);
    expectError(await call(s, 'POST', '/api/aql', { query: 'RETURN' }), 400);
    expect((await call(s, 'POST', '/api/aql', { query: 'RETURN 1', explain: true })).body).toMatchObject({
      explain: true,
      plan: { mode: 'no_collection' },
    });
  });

  // ------------------------------------------------------------ transactions

  describe('X-Transaction-Id', () => {
    const begin = async (isolation?: string) => {
      const r = await call(s, 'POST', '/transaction/begin', isolation ? { isolation } : {});
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return { id: r.body.transaction_id as number, h: { 'x-transaction-id': String(r.body.transaction_id) } };
    };

    it("reads see the transaction's own writes; AQL modifications join it and become visible at commit", async () => {
      const t = await begin();
      await expectStatus(await call(s, 'PUT', '/entities/users:t1', { blob: { name: 'tx one', city: 'Lima', age: 77 } }, t.h), 201);
      expect(await rows('INSERT {_key: "t2", name: "tx two", city: "Lima", age: 78} INTO users RETURN NEW._id', {}, t.h)).toEqual([
        'users:t2',
      ]);
      expect(await rows('UPDATE "u01" WITH {city: "Lima"} IN users RETURN NEW.city', {}, t.h)).toEqual(['Lima']);
      expect(await rows('REMOVE "u02" IN users RETURN OLD.name', {}, t.h)).toEqual([user(2).name]);
      // inside: index, full scan and primary reads all see the writes
      expect([...((await rows('FOR u IN users FILTER u.city == "Lima" RETURN u._key', {}, t.h)) as string[])].sort(byKey)).toEqual([
        't1',
        't2',
        'u01',
      ]);
      expect([...((await rows('FOR u IN users FILTER u.age > 70 RETURN u._key', {}, t.h)) as string[])].sort(byKey)).toEqual(['t1', 't2']);
      expect(await rows('FOR u IN users FILTER u.name LIKE "tx%" SORT u._key RETURN u', {}, t.h)).toEqual([
        JSON.stringify({ name: 'tx one', city: 'Lima', age: 77 }),
        JSON.stringify({ name: 'tx two', city: 'Lima', age: 78 }),
      ]);
      expect(await rows('FOR u IN users FILTER u._key IN ["u02", "t2"] RETURN u._key', {}, t.h)).toEqual(['t2']);
      expect(await rows('FOR u IN users COLLECT WITH COUNT INTO n RETURN n', {}, t.h)).toEqual([N + 1]);
      // an index-ordered SORT ... LIMIT still puts the transaction's own writes in their place
      expect(await rows('FOR u IN users SORT u.age DESC LIMIT 3 RETURN u._key', {}, t.h)).toEqual([
        't2',
        't1',
        USERS.reduce((a, b) => (b.doc.age > a.doc.age ? b : a)).key,
      ]);
      expect(await rows('FOR u IN users FILTER u.age >= 49 SORT u.age DESC LIMIT 2 RETURN u.age', {}, t.h)).toEqual([78, 77]);
      // outside: nothing yet
      expect(await rows('FOR u IN users FILTER u.city == "Lima" RETURN u._key')).toEqual([]);
      expect(await rows('FOR u IN users FILTER u._key == "u02" RETURN u._key')).toEqual(['u02']);
      expect(await getBlob('users:t2')).toBeUndefined();
      const c = await call(s, 'POST', '/transaction/commit', { transaction_id: t.id });
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect([...((await rows('FOR u IN users FILTER u.city == "Lima" RETURN u._key')) as string[])].sort(byKey)).toEqual([
        't1',
        't2',
        'u01',
      ]);
      expect(await rows('FOR u IN users FILTER u._key == "u02" RETURN u')).toEqual([]);
      // restore
      await rows('FOR k IN ["t1", "t2"] REMOVE k IN users');
      await rows('UPDATE "u01" WITH {city: @c} IN users', { bind_vars: { c: user(1).city } });
      await rows('INSERT MERGE(@d, {_key: "u02"}) INTO users', { bind_vars: { d: user(2) as unknown as Record<string, unknown> } });
      expect(await rows('FOR u IN users COLLECT WITH COUNT INTO n RETURN n')).toEqual([N]);
    });

    it('rollback discards AQL modifications; a snapshot transaction does not see later commits', async () => {
      const t = await begin();
      await rows('FOR i IN 1..3 INSERT {_key: CONCAT("rb", i)} INTO txt', {}, t.h);
      expect(await rows('FOR d IN txt SORT d._key RETURN d._key', {}, t.h)).toEqual(['rb1', 'rb2', 'rb3']);
      await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: t.id }), 200);
      // nothing of it was written: the collection does not even exist
      expectError(await aql({ query: 'FOR d IN txt RETURN d._key' }), 404, 'COLLECTION_NOT_FOUND');
      // the finished transaction cannot be used any more
      expectError(await aql({ query: 'RETURN 1' }, t.h), 400);

      await rows('INSERT {_key: "base"} INTO txt');
      const snap = await begin('snapshot');
      expect(await rows('FOR d IN txt RETURN d._key', {}, snap.h)).toEqual(['base']);
      await rows('INSERT {_key: "later"} INTO txt');
      expect(await rows('FOR d IN txt SORT d._key RETURN d._key')).toEqual(['base', 'later']);
      expect(await rows('FOR d IN txt RETURN d._key', {}, snap.h)).toEqual(['base']);
      await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: snap.id }), 200);
    });
  });

  // ------------------------------------------------------------ index vs full scan

  describe('an index gives the same rows as a full scan (mixed value types)', () => {
    /** `$T` is the collection: nx has no index, ix a range index on v, sx a sparse equality index on v. */
    const compare = async (tpl: string, table: 'ix' | 'sx', usesIndex = true) => {
      const run = async (t: string) => {
        const b = await full(`${tpl.replaceAll('$T', t)} RETURN d.n`);
        return { keys: tpl.includes('SORT') ? (b.entities as string[]) : [...(b.entities as string[])].sort(byKey), plan: b.plan as Body };
      };
      const scan = await run('nx');
      const indexed = await run(table);
      expect(scan.plan.indexes).toEqual([]);
      if (usesIndex)
        expect(indexed.plan.indexes, JSON.stringify(indexed.plan)).toEqual([
          expect.objectContaining({ collection: table, attribute: 'v' }),
        ]);
      expect(indexed.keys, `${tpl}: index on ${table} vs full scan`).toEqual(scan.keys);
    };
    it.each([
      'FILTER d.v == 25',
      'FILTER d.v == "25"',
      'FILTER d.v == null',
      'FILTER d.v == true',
      'FILTER d.v IN [5, "abc", false]',
      'FILTER d.v < 0',
      'FILTER d.v <= true',
      'FILTER d.v > 10 AND d.v < 100',
      'FILTER d.v < "a"',
      'FILTER d.v == [1]',
      'FILTER d.v == {x: 1}',
      'FILTER d.v IN [[1, 25], {}]',
      'SORT d.v ASC LIMIT 4',
    ])('range index: FOR d IN $T %s', async (q) => {
      await compare(`FOR d IN $T ${q}`, 'ix');
    });
    // Arrays and objects are greater than every scalar by AQL's type order: the index's compound markers
    // (docs/aql.md, "Arrays and objects in range scans and index order") give them to range scans
    // without an upper bound and to index-ordered SORTs, exactly as a full scan does.
    it.each([
      // m12 [], m13 [1], m15 {}, m16 {x:1} are > 10 by type order; m14 [1, 25] also through 25
      ['FILTER d.v > 10', ['m10', 'm11', 'm12', 'm13', 'm14', 'm15', 'm16', 'm7', 'm8', 'm9']],
      // arrays and objects are >= every string; none has a string element
      ['FILTER d.v >= "a"', ['m10', 'm11', 'm12', 'm13', 'm14', 'm15', 'm16']],
      ['FILTER d.v > "zz"', ['m11', 'm12', 'm13', 'm14', 'm15', 'm16']],
      // DESC through the index starts at the objects and arrays
      ['SORT d.v DESC LIMIT 4', ['m16', 'm15', 'm14', 'm13']],
      ['SORT d.v ASC LIMIT 14', undefined],
    ] as [string, string[] | undefined][])('range index over arrays and objects: FOR d IN $T %s', async (q, rows) => {
      await compare(`FOR d IN $T ${q}`, 'ix');
      const b = await full(`FOR d IN ix ${q} RETURN d.n`);
      if (rows) expect(q.includes('SORT') ? b.entities : [...(b.entities as string[])].sort(byKey)).toEqual(rows);
      // an index-ordered SORT is not re-planned for them (so it runs without a full scan)
      if (q.includes('SORT')) {
        expect((b.plan as Body).steps).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'sort', by_index: true })]));
        await expectStatus(await aql({ query: `FOR d IN ix ${q} RETURN d`, allow_full_scan: false }), 200);
      }
    });
    it.each([
      'FOR d IN $T FILTER d.v == 25',
      'FOR d IN $T FILTER d.v IN [5, "abc", false]',
      'FOR d IN $T FILTER d.v IN [null, 5]',
      'FOR d IN $T FILTER d.v == (LENGTH([]) > 0 ? 5 : null)',
      'FOR a IN [{x: null}, {x: 5}] FOR d IN $T FILTER d.v == a.x',
    ])('sparse equality index: %s', async (tpl) => {
      await compare(tpl, 'sx');
    });
  });
});
