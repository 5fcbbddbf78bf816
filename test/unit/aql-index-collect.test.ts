/**
 * Index-only COLLECT (planner indexOnlyCollect, exec/index-collect.ts):
 * `FOR u IN t [FILTER …] COLLECT g = u.a [WITH COUNT INTO n]` over a
 * single-column, non-unique, non-sparse index answers from the index keys.
 * Every answer must equal the naive plan's (documents read one by one) over
 * every kind of value the attribute can hold — strings, numbers, booleans,
 * null, missing, arrays (empty, nested, sharing elements with scalars) and
 * objects — after updates and deletes, inside a transaction with buffered
 * writes, in subqueries and with filters; and the plan says when it is used.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { planAgreement } from '../helpers/aql.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let dir: string;
let db: Database;

const VALUES: unknown[] = [
  'Berlin',
  'Bonn',
  'bonn',
  'Köln',
  '',
  'a\u0000b',
  '😀',
  '\uffff',
  0,
  -1.5,
  42,
  1e21,
  true,
  false,
  null,
  undefined, // missing
  [],
  ['Berlin', 'Bonn'],
  ['Bonn'],
  [['x']],
  [1, { a: 1 }],
  {},
  { a: 1 },
  { a: 1, b: [2] },
];

function doc(i: number): Record<string, unknown> {
  const city = VALUES[i % VALUES.length];
  const d: Record<string, unknown> = { n: i, age: 18 + ((i * 7) % 60), grp: i % 3 };
  if (city !== undefined) d.city = city;
  return d;
}

beforeAll(async () => {
  dir = tempDir('themis-aql-index-collect-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch(Array.from({ length: 600 }, (_, i) => ({ op: 'put' as const, key: `u:${i}`, blob: doc(i) })));
  await db.get(Entities).applyBatch(Array.from({ length: 50 }, (_, i) => ({ op: 'put' as const, key: `s:${i}`, blob: doc(i) })));
  const idx = db.get(Indexes);
  await idx.create({ table: 'u', column: 'city' });
  await idx.create({ table: 'u', column: 'age', type: 'range' });
  await idx.create({ table: 's', column: 'city', sparse: true });
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const { run, agrees } = planAgreement(() => db, 'index_only');

describe('index-only COLLECT', () => {
  it('groups every kind of value as the documents do, in AQL order, with counts', async () => {
    const rows = await agrees('FOR u IN u COLLECT c = u.city WITH COUNT INTO n RETURN {c, n}');
    // null groups the explicit nulls and the missing attribute; arrays and objects are one group each, after the scalars
    expect(rows[0]).toEqual({ c: null, n: 50 });
    expect(rows.slice(-3)).toEqual([
      { c: {}, n: 25 },
      { c: { a: 1 }, n: 25 },
      { c: { a: 1, b: [2] }, n: 25 },
    ]);
    expect(rows.find((r) => (r as { c: unknown }).c === 'Bonn')).toEqual({ c: 'Bonn', n: 25 });
    expect(rows.find((r) => JSON.stringify((r as { c: unknown }).c) === '["Berlin","Bonn"]')).toEqual({ c: ['Berlin', 'Bonn'], n: 25 });
    expect(rows.reduce<number>((t, r) => t + (r as { n: number }).n, 0)).toBe(600);
    await agrees('FOR u IN u COLLECT c = u.city RETURN c');
    await agrees('FOR u IN u COLLECT c = u.city AGGREGATE k = COUNT(1), l = LENGTH(u.city) RETURN [c, k, l]');
    await agrees('FOR u IN u COLLECT a = u.age WITH COUNT INTO n RETURN [a, n]');
  });

  it('more groups than a batch of rows (256): whole and in order, also where steps follow the COLLECT', async () => {
    await db
      .get(Entities)
      .applyBatch(Array.from({ length: 700 }, (_, i) => ({ op: 'put' as const, key: `b:${i}`, blob: { v: i % 600, w: [i] } })));
    await db.get(Entities).applyBatch([{ op: 'put', key: 'b:obj', blob: { v: { o: 1 } } }]);
    await db.get(Indexes).create({ table: 'b', column: 'v' });
    const rows = await agrees('FOR b IN b COLLECT v = b.v WITH COUNT INTO n RETURN [v, n]');
    expect(rows).toEqual([...Array.from({ length: 600 }, (_, i) => [i, i < 100 ? 2 : 1]), [{ o: 1 }, 1]]);
    await agrees('FOR b IN b COLLECT v = b.v WITH COUNT INTO n FILTER n > 1 RETURN v');
    await agrees('FOR b IN b COLLECT v = b.v WITH COUNT INTO n LIMIT 255, 300 RETURN [v, n]');
    await agrees('FOR b IN b FILTER b.v >= 10 COLLECT v = b.v RETURN v');
    await agrees('FOR i IN [1, 2] LET g = (FOR b IN b COLLECT v = b.v RETURN v) RETURN [i, LENGTH(g), g[599]]', {}, null);
    // the ordinary COLLECT (not index-only: the aggregate reads the documents) in batches too
    await agrees('FOR b IN b COLLECT v = b.v AGGREGATE m = MAX(b.w[0]) RETURN [v, m]', {}, false);
  });

  it('with filters on the indexed attribute (equality, ranges, IN, NOT, OR, bind values, outer variables)', async () => {
    for (const c of ['Bonn', 'Berlin', null, 42, true, 'nowhere'])
      await agrees('FOR u IN u FILTER u.city == @c COLLECT c = u.city WITH COUNT INTO n RETURN {c, n}', { c });
    await agrees('FOR u IN u FILTER u.age >= 30 AND u.age < 50 COLLECT a = u.age WITH COUNT INTO n RETURN [a, n]');
    await agrees('FOR u IN u FILTER u.age > @lo COLLECT a = u.age WITH COUNT INTO n RETURN [a, n]', { lo: 70 });
    await agrees('FOR u IN u FILTER u.city >= "B" AND u.city <= "C" COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]');
    await agrees('FOR u IN u FILTER u.city < 10 COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]');
    await agrees('FOR u IN u FILTER u.city IN ["Bonn", 0, null] COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]');
    await agrees('FOR u IN u FILTER NOT (u.city == "Bonn") OR u.city == null COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]');
    await agrees('FOR u IN u FILTER u.city.a == 1 COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]');
    await agrees('FOR u IN u FILTER u.city != "Bonn" COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]');
    // a bound that is no scalar: the ordinary plan decides
    await agrees('FOR u IN u FILTER u.city == @c COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]', { c: ['Bonn'] });
    // per row of an outer loop, in a subquery (whose plan the explain output does not show)
    await agrees(
      'FOR lo IN [20, 40, 60] LET g = (FOR u IN u FILTER u.age >= lo COLLECT a = u.age WITH COUNT INTO n RETURN n) RETURN {lo, g: SUM(g)}',
      {},
      null,
    );
  });

  it('is not used where it could answer differently: other attributes, calls, arithmetic, sparse indexes, INTO', async () => {
    await agrees('FOR u IN u FILTER u.grp == 1 COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]', {}, false);
    await agrees('FOR u IN u FILTER LENGTH(u.city) > 3 COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]', {}, false);
    await agrees('FOR u IN u FILTER u.age + 1 > 40 COLLECT a = u.age WITH COUNT INTO n RETURN [a, n]', {}, false);
    await agrees('FOR u IN u COLLECT c = u.city AGGREGATE m = MAX(u.age) RETURN [c, m]', {}, false);
    await agrees('FOR u IN u COLLECT c = u.city INTO g = u.n RETURN [c, LENGTH(g)]', {}, false);
    await agrees('FOR u IN u COLLECT c = u.city, g = u.grp WITH COUNT INTO n RETURN [c, g, n]', {}, false);
    await agrees('FOR s IN s COLLECT c = s.city WITH COUNT INTO n RETURN [c, n]', {}, false);
  });

  it('follows updates and deletes, and a transaction sees its own buffered writes', async () => {
    const ent = db.get(Entities);
    await ent.applyBatch([
      { op: 'put', key: 'u:0', blob: { city: ['Bonn', 'Bonn'], age: 20 } }, // scalar -> array
      { op: 'put', key: 'u:17', blob: { city: 'Bonn', age: 21 } }, // array -> scalar
      { op: 'put', key: 'u:21', blob: { city: 'Zürich' } }, // object -> new scalar, age missing
      { op: 'delete', key: 'u:1' },
      { op: 'delete', key: 'u:16' }, // an empty array's document
    ]);
    const q = 'FOR u IN u COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]';
    const after = await agrees(q);
    expect(after).toContainEqual(['Zürich', 1]);
    expect(after).toContainEqual([['Bonn', 'Bonn'], 1]);
    await agrees('FOR u IN u COLLECT a = u.age WITH COUNT INTO n RETURN [a, n]');
    const txns = db.get(Transactions);
    const txn = txns.begin('snapshot').transaction_id;
    try {
      await ent.putEntity('u:2', { city: 'Bonn' }, txn);
      await ent.putEntity('u:900', { city: 'Neu' }, txn);
      await ent.deleteEntity('u:3', txn);
      const inTxn = await agrees(q, {}, true, txn);
      expect(inTxn).toContainEqual(['Neu', 1]);
      expect((await run(q)).rows).not.toContainEqual(['Neu', 1]);
    } finally {
      txns.rollback(txn);
    }
  });
});
