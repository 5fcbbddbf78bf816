/**
 * Columnar COLLECT (planner columnCollect, exec/column-collect.ts) and the
 * resident columns it reads (columns/resident-columns.ts): a full-scan
 * `FOR u IN t [FILTER …] COLLECT … AGGREGATE …` that reads the documents
 * only through attribute paths runs from those values alone — first from
 * one scan (which leaves the columns behind), then from memory. Every
 * answer must equal the naive plan's (documents read one by one, in key
 * order) over every kind of value, with every aggregate (order-sensitive
 * ones included), after updates, deletes and re-inserts, inside a
 * transaction with buffered writes, and while commits race the query.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Executor } from '../../src/aql/exec/index.js';
import { Governor } from '../../src/aql/governor.js';
import { Columns, pathName, ResidentColumns, valueAt } from '../../src/columns/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { planAgreement } from '../helpers/aql.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let dir: string;
let db: Database;

const CITIES: unknown[] = ['Berlin', 'Bonn', 'bonn', 'Köln', '', '😀', 0, -1.5, 42, true, false, null, undefined, [], ['Bonn'], { a: 1 }];

function doc(i: number): Record<string, unknown> {
  const d: Record<string, unknown> = {
    n: i,
    age: 18 + ((i * 7) % 60),
    score: ((i * 37) % 101) / 10 + 0.1, // floats: their sum depends on the order of the rows
    grp: i % 3,
    addr: i % 5 === 0 ? 'none' : { zip: `z${i % 7}`, deep: { x: i % 2 } },
  };
  const city = CITIES[i % CITIES.length];
  if (city !== undefined) d.city = city;
  return d;
}

// Keys with non-ASCII characters: LevelDB orders their UTF-8 bytes (the order PUSH reveals).
const keyOf = (i: number) => `u:${i % 4 === 0 ? 'ä' : i % 4 === 1 ? '😀' : i % 4 === 2 ? '\uffff' : 'a'}${i}`;

beforeAll(async () => {
  dir = tempDir('themis-aql-column-collect-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch(Array.from({ length: 400 }, (_, i) => ({ op: 'put' as const, key: keyOf(i), blob: doc(i) })));
  await db.get(Indexes).create({ table: 'u', column: 'grp' });
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const { run, agrees } = planAgreement(() => db, 'columnar');

const QUERIES = [
  'FOR u IN u COLLECT c = u.city AGGREGATE s = SUM(u.age), a = AVG(u.score), lo = MIN(u.score), hi = MAX(u.city) RETURN {c, s, a, lo, hi}',
  'FOR u IN u COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]',
  'FOR u IN u COLLECT AGGREGATE s = SUM(u.score), n = COUNT(1), l = LENGTH(u.age) RETURN [s, n, l]',
  'FOR u IN u COLLECT g = u.grp AGGREGATE p = PUSH(u.n), q = UNIQUE(u.city), r = SORTED_UNIQUE(u.age), d = COUNT_DISTINCT(u.city) RETURN [g, p, q, r, d]',
  'FOR u IN u COLLECT g = u.grp AGGREGATE sd = STDDEV(u.score), v = VARIANCE_SAMPLE(u.age), s = SUM(u.score) RETURN [g, sd, v, s]',
  'FOR u IN u COLLECT z = u.addr.zip, x = u.addr.deep.x AGGREGATE s = SUM(u.age) RETURN [z, x, s]',
  'FOR u IN u COLLECT a = u.addr WITH COUNT INTO n RETURN [a, n]',
  'FOR u IN u FILTER u.age >= 30 AND u.city != "Bonn" COLLECT c = u.city AGGREGATE s = SUM(u.score) RETURN [c, s]',
  'FOR u IN u FILTER LOWER(u.city) == "bonn" OR u.addr.zip IN ["z1", "z2"] COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]',
  'FOR u IN u COLLECT decade = FLOOR(u.age / 10) * 10 AGGREGATE s = SUM(u.age * 2), m = MAX(CONCAT(u.city, "-", u.grp)) RETURN [decade, s, m]',
  'FOR u IN u FILTER u.age > @lo COLLECT c = u.city AGGREGATE s = SUM(u.age) RETURN [c, s]',
];

describe('columnar COLLECT', () => {
  it('answers as the documents do: every kind of value, every aggregate, nested paths, filters and expressions; first by a scan, then from memory', async () => {
    const cols = db.get(Columns);
    const builds = cols.builds;
    for (const q of QUERIES) await agrees(q, q.includes('@lo') ? { lo: 40 } : {});
    expect(cols.builds).toBeGreaterThan(builds);
    expect(cols.tables).toBe(1);
    // Every query again, now from the columns (no scan: hits, no builds)
    const hits = cols.hits;
    const built = cols.builds;
    for (const q of QUERIES) await agrees(q, q.includes('@lo') ? { lo: 40 } : {});
    expect(cols.hits - hits).toBe(QUERIES.length);
    expect(cols.builds).toBe(built);
    // A spot check of values, not only agreement
    const [total] = (await run('FOR u IN u COLLECT AGGREGATE s = SUM(u.age), n = COUNT(1) RETURN [s, n]')).rows as [number, number][];
    let sum = 0;
    for (let i = 0; i < 400; i++) sum += doc(i).age as number;
    expect(total).toEqual([sum, 400]);
    const zips = (await run('FOR u IN u COLLECT z = u.addr.zip WITH COUNT INTO n RETURN [z, n]')).rows;
    expect(zips[0]).toEqual([null, 80]); // addr 'none' (a string) has no zip
  });

  it('more groups than a batch of rows (256): whole and in order, also where steps follow the COLLECT', async () => {
    const q = (tail: string) => `FOR u IN u COLLECT k = u.n AGGREGATE s = SUM(u.age) ${tail}`;
    await run(q('RETURN [k, s]')); // the scan that makes the copy
    const rows = await agrees(q('RETURN [k, s]'));
    expect(rows).toEqual(Array.from({ length: 400 }, (_, i) => [i, 18 + ((i * 7) % 60)]));
    await agrees(q('FILTER s > 40 RETURN k'));
    await agrees(q('SORT s DESC, k LIMIT 290, 5 RETURN [k, s]'));
    await agrees(q('LIMIT 257 RETURN k'));
    await agrees(`RETURN LENGTH(${'('}${q('RETURN k')}))`, {}, null);
  });

  it('group codes: counts and sums per number of the group value, the same answers (floating-point sums too), kept up by commits', async () => {
    const ent = db.get(Entities);
    const cols = db.get(Columns);
    const g = (i: number) => [null, 'x', 'y', 3, 0, true, '', 'ü'][i % 8];
    const kdoc = (i: number) => ({
      g: g(i),
      n: i === 1 ? -1 : i === 9 ? -0 : i,
      ...(i % 5 === 0 ? {} : { v: i % 7 === 0 ? `${i}` : i % 11 === 0 ? true : Math.sqrt(i) / 3 }),
    });
    await ent.applyBatch(Array.from({ length: 300 }, (_, i) => ({ op: 'put' as const, key: `k:${i}`, blob: kdoc(i) })));
    // (COUNT(1) would need a row per document: its argument is no attribute path. LENGTH(k.v) counts every row.)
    const q = 'FOR k IN k COLLECT g = k.g AGGREGATE s = SUM(k.v), a = AVG(k.v), l = LENGTH(k.v), n = COUNT(k.g) RETURN [g, s, a, n, l]';
    const q2 = 'FOR k IN k COLLECT g = k.g WITH COUNT INTO n RETURN [g, n]';
    const q3 = 'FOR k IN k COLLECT v = k.v AGGREGATE s = SUM(k.g) RETURN [v, s]';
    // MIN/MAX of numbers (k.n: no document lacks it); of a column that also holds strings and booleans (k.v): per row
    const q5 = 'FOR k IN k COLLECT g = k.g AGGREGATE lo = MIN(k.n), hi = MAX(k.n), s = SUM(k.n) RETURN [g, lo, hi, s]';
    const q6 = 'FOR k IN k COLLECT g = k.g AGGREGATE lo = MIN(k.v), hi = MAX(k.v) RETURN [g, lo, hi]';
    // COUNT(1): its argument is a literal, so no projection (a row per document) is needed
    const q4 = 'FOR k IN k COLLECT g = k.g AGGREGATE n = COUNT(1), m = LENGTH(@one), s = SUM(k.v) RETURN [g, n, m, s]';
    await run(q); // the scan that makes the copy (of k.g and k.v)
    const codesOf = () => {
      const copy = cols.get('k', [pathName(['g'])], Number.MAX_SAFE_INTEGER)!;
      return copy.codes?.[copy.names.indexOf(pathName(['g']))];
    };
    for (const x of [q, q2, q3, q5, q6]) await agrees(x);
    const minMax = (await agrees(q5)) as [unknown, number, number, number][];
    const xs = Array.from({ length: 300 }, (_, i) => i)
      .filter((i) => g(i) === 'x')
      .map((i) => kdoc(i).n);
    expect(minMax.find(([gv]) => gv === 'x')).toEqual(['x', Math.min(...xs), Math.max(...xs), xs.reduce((t, x) => t + x, 0)]);
    const counted = (await agrees(q4, { one: 1 })) as [unknown, number, number][];
    const byGroup = (await run(q2)).rows as [unknown, number][];
    expect(counted.map(([gv, n, m]) => [gv, n, m])).toEqual(byGroup.map(([gv, n]) => [gv, n, n]));
    expect((await run(q4, { one: 1 })).plan.steps).toContainEqual(expect.objectContaining({ type: 'collect', columnar: true }));
    const rows = (await agrees(q)) as [unknown, number, number | null, number, number][];
    const expected = new Map<unknown, { s: number; c: number; n: number }>();
    // In key order (k:0, k:1, k:10, k:100, …), as the documents are read: the order of each floating-point sum.
    for (const i of Array.from({ length: 300 }, (_, i) => i).sort((a, b) => (`k:${a}` < `k:${b}` ? -1 : 1))) {
      const d = kdoc(i) as { g: unknown; v?: unknown };
      const e = expected.get(d.g) ?? { s: 0, c: 0, n: 0 };
      e.n++;
      if (d.v !== undefined) {
        e.s += typeof d.v === 'number' ? d.v : d.v === true ? 1 : Number(d.v);
        e.c++;
      }
      expected.set(d.g, e);
    }
    for (const [gv, sum, avg, n, l] of rows) {
      const e = expected.get(gv)!;
      expect([sum, avg, n, l]).toEqual([e.s, e.c === 0 ? null : e.s / e.c, e.n, e.n]);
    }
    expect(codesOf()?.values.length).toBe(8);
    // Changes: a value moves to another group, a new group value, deletes, a re-insert into a freed slot.
    await ent.applyBatch([
      { op: 'put', key: 'k:1', blob: { g: 'y', v: 2.5 } },
      { op: 'put', key: 'k:2', blob: { g: 'new', v: 1 } },
      { op: 'delete', key: 'k:3' },
      { op: 'delete', key: 'k:4' },
      { op: 'put', key: 'k:1000', blob: { g: 'x', v: 0.25 } },
    ]);
    for (const x of [q, q2, q3, q5, q6]) await agrees(x);
    expect(codesOf()?.values).toContain('new');
    // An object as a group value: no codes for that column; the answers stay the same.
    await ent.putEntity('k:5', { g: { o: 1 }, v: 1 });
    for (const x of [q, q2, q3, q5, q6]) await agrees(x);
    expect(codesOf()).toBeNull();
  });

  it('is not used where the document itself, its key, an INTO, a subquery or an index is read', async () => {
    await agrees('FOR u IN u COLLECT c = u.city INTO g = u.n RETURN [c, LENGTH(g)]', {}, false);
    await agrees('FOR u IN u COLLECT c = u.city AGGREGATE x = PUSH(u) RETURN [c, LENGTH(x)]', {}, false);
    await agrees('FOR u IN u COLLECT c = u.city AGGREGATE k = MIN(u._key) RETURN [c, k]', {}, false);
    await agrees('FOR u IN u FILTER HAS(u, "city") COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]', {}, false);
    await agrees('FOR u IN u FILTER u["age"] > 40 COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]', {}, false);
    await agrees('FOR u IN u FILTER LENGTH(FOR x IN [1] RETURN u.age) > 0 COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]', {}, false);
    await agrees('FOR u IN u FILTER u.grp == 1 COLLECT c = u.city AGGREGATE s = SUM(u.age) RETURN [c, s]', {}, false);
    await agrees('FOR u IN u COLLECT a = u.addr, z = u.addr.zip WITH COUNT INTO n RETURN [a, z, n]', {}, false);
  });

  it('follows updates, deletes and re-inserts (slots reused, keys in LevelDB order), and a transaction sees its own writes', async () => {
    const ent = db.get(Entities);
    const cols = db.get(Columns);
    const q = 'FOR u IN u COLLECT g = u.grp AGGREGATE p = PUSH(u.n), s = SUM(u.score), c = UNIQUE(u.city) RETURN [g, p, s, c]';
    await agrees(q);
    const built = cols.builds;
    await ent.applyBatch([
      { op: 'put', key: keyOf(0), blob: { n: 0, grp: 2, score: 9.9, city: 'Neu' } }, // changed
      { op: 'delete', key: keyOf(1) },
      { op: 'delete', key: keyOf(2) },
      { op: 'put', key: 'u:b-new', blob: { n: 1000, grp: 0, score: 0.3 } }, // takes a freed slot; its key sorts in the middle
      { op: 'put', key: 'u:b-new', blob: { n: 1001, grp: 1, score: 0.7 } }, // the same key twice in one commit: the last wins
      { op: 'put', key: 'u:\u00e9', blob: { n: 1002, grp: 1, city: ['x'] } },
    ]);
    const pushed = (rows: unknown[]) => (rows as [number, number[]][]).flatMap((r) => r[1]);
    const ns = pushed(await agrees(q));
    expect(ns).toContain(1001);
    expect(ns).not.toContain(1000);
    expect(ns).not.toContain(1);
    await ent.deleteEntity(keyOf(3));
    await ent.putEntity(keyOf(2), { n: 2, grp: 0, score: 1.5 });
    await agrees(q);
    expect(cols.builds).toBe(built); // kept up by the commits, not rebuilt

    const txns = db.get(Transactions);
    const txn = txns.begin('snapshot').transaction_id;
    try {
      await ent.putEntity('u:zz', { n: 2000, grp: 0 }, txn);
      await ent.deleteEntity(keyOf(5), txn);
      const inTxn = await agrees(q, {}, true, txn);
      expect(pushed(inTxn)).toContain(2000);
      expect(pushed(inTxn)).not.toContain(5);
      expect(pushed((await run(q)).rows)).not.toContain(2000);
    } finally {
      txns.rollback(txn);
    }
  });

  it('a query racing commits answers one snapshot: the state before or after, never a mix', async () => {
    const ent = db.get(Entities);
    await ent.applyBatch(Array.from({ length: 20_000 }, (_, i) => ({ op: 'put' as const, key: `big:${i}`, blob: { g: i % 10, v: i } })));
    const q = 'FOR b IN big FILTER b.v >= 0 COLLECT g = b.g AGGREGATE s = SUM(b.v), n = COUNT(1) RETURN [g, s, n]';
    await agrees(q); // makes the columns
    for (let round = 0; round < 5; round++) {
      const before = (await run(q, {}, undefined, true)).rows;
      const racing = run(q);
      const writes = ent.applyBatch(
        Array.from({ length: 50 }, (_, i) => ({
          op: 'put' as const,
          key: `big:${(round * 977 + i * 389) % 20_000}`,
          blob: { g: 3, v: 1 },
        })),
      );
      const [r] = await Promise.all([racing, writes]);
      const after = (await run(q, {}, undefined, true)).rows;
      expect([JSON.stringify(before), JSON.stringify(after)]).toContain(JSON.stringify(r.rows));
    }
    await agrees(q);
  });

  it('group codes: a COLLECT whose columns change while it pauses answers its snapshot (read again from LevelDB)', async () => {
    const ent = db.get(Entities);
    await ent.applyBatch(Array.from({ length: 40_000 }, (_, i) => ({ op: 'put' as const, key: `bc:${i}`, blob: { g: i % 10, v: i } })));
    const q = 'FOR b IN bc COLLECT g = b.g AGGREGATE s = SUM(b.v) RETURN [g, s]';
    await agrees(q); // makes the columns
    await agrees(q); // from the group codes
    for (let round = 0; round < 3; round++) {
      const before = (await run(q, {}, undefined, true)).rows;
      // The query's first pause (a turn at every look: the coded passes pause after each 16,384 rows) waits for a
      // commit that changes the columns: the query began before it, so it must answer the state before.
      let writes: Promise<unknown> | undefined;
      const due = vi.spyOn(Governor.prototype, 'due').mockReturnValue(true);
      const turn = vi.spyOn(Executor.prototype, 'turn').mockImplementation(async () => {
        writes ??= ent.applyBatch(
          Array.from({ length: 50 }, (_, i) => ({
            op: 'put' as const,
            key: `bc:${(round * 977 + i * 389) % 40_000}`,
            blob: { g: 3, v: round },
          })),
        );
        await writes;
      });
      let r: { rows: unknown[] };
      try {
        r = await run(q);
      } finally {
        due.mockRestore();
        turn.mockRestore();
      }
      expect(writes, 'the query paused').toBeDefined();
      const after = (await run(q, {}, undefined, true)).rows;
      expect(after).not.toEqual(before);
      expect(r.rows).toEqual(before);
    }
    await agrees(q);
  });
});

describe('ResidentColumns', () => {
  it('valueAt reads attribute paths as AQL does', () => {
    const d = JSON.parse('{"a":{"b":1,"__proto__":2},"s":"x","arr":[1],"n":null}') as unknown;
    expect(valueAt(d, ['a', 'b'])).toBe(1);
    expect(valueAt(d, ['a', '__proto__'])).toBe(2);
    expect(valueAt(d, ['s', 'length'])).toBe(null);
    expect(valueAt(d, ['arr', '0'])).toBe(null);
    expect(valueAt(d, ['missing'])).toBe(null);
    expect(valueAt(d, ['n', 'x'])).toBe(null);
    expect(valueAt(d, ['toString'])).toBe(null);
    expect(valueAt({}, ['__proto__'])).toBe(null);
  });

  it('keeps a scan only if it is the current state and fits; a retry waits; a pending commit hides the copy', () => {
    let epoch = 5;
    const rc = new ResidentColumns(10, () => epoch);
    const p = [['a']];
    const b = rc.claimBuild('t', p, 0)!;
    expect(rc.claimBuild('t', p, 0)).toBeUndefined(); // one under way
    b.add('t:1', { a: 1 });
    b.add('t:2', { a: [2] });
    expect(Object.isFrozen(b.cols[0]![1])).toBe(true);
    // a commit to t ends after the scan's snapshot: not kept, and no new claim for a while
    const part = rc.participant();
    const change = (key: string, doc: unknown, seq = 1) =>
      ({ seq, key, table: 't', pk: key.slice(2), op: doc === null ? 'delete' : 'put', value: null, prev: null, doc }) as never;
    part.write!({ txnId: '1', ts: '', changes: [change('t:3', { a: 3 })] }, undefined, undefined as never);
    epoch = 6;
    part.applied!({ txnId: '1', ts: '', changes: [change('t:3', { a: 3 })] }, undefined);
    expect(rc.offer('t', b, 5, 1)).toBe(false);
    expect(rc.claimBuild('t', p, Date.now())).toBeUndefined();
    // later, a scan at epoch 6 is kept
    const b2 = rc.claimBuild('t', p, Date.now() + 2000)!;
    for (const k of ['t:1', 't:2', 't:3']) b2.add(k, { a: k });
    expect(rc.offer('t', b2, 6, 1)).toBe(true);
    expect(rc.values).toBe(6); // 3 documents: a value and a key each
    expect(rc.get('t', ['["a"]'], 5)).toBeUndefined(); // an older snapshot
    const copy = rc.get('t', ['["a"]'], 6)!;
    expect(copy.cols[0]).toEqual(['t:1', 't:2', 't:3']);
    expect(rc.get('t', ['["b"]'], 6)).toBeUndefined(); // a path it does not hold
    // a commit in flight hides it; once applied, its values are in
    const c2 = { txnId: '2', ts: '', changes: [change('t:2', null, 2), change('t:4', { a: 'four' }, 3)] };
    part.write!(c2 as never, undefined, undefined as never);
    expect(rc.get('t', ['["a"]'], 6)).toBeUndefined();
    epoch = 7;
    part.applied!(c2 as never, undefined);
    const v = rc.get('t', ['["a"]'], 7)!;
    expect(v.order.valuesArray().map((s) => v.cols[0]![s])).toEqual(['t:1', 't:3', 'four']);
    expect(v.free).toEqual([]); // t:4 took t:2's slot
    // growing past the bound drops the copy
    const many = { txnId: '3', ts: '', changes: Array.from({ length: 8 }, (_, i) => change(`t:x${i}`, { a: i }, 10 + i)) };
    part.write!(many as never, undefined, undefined as never);
    part.applied!(many as never, undefined);
    expect(rc.tables).toBe(0);
    expect(rc.values).toBe(0);
  });

  it('a copy no query read for idleMs is dropped by the next commit that changes its table', () => {
    let now = 0;
    const rc = new ResidentColumns(100, () => 1, { idleMs: 1000, now: () => now });
    const b = rc.claimBuild('t', [['a']], 0)!;
    b.add('t:1', { a: 1 });
    expect(rc.offer('t', b, 1, 1)).toBe(true);
    const part = rc.participant();
    const commit = (seq: number) =>
      ({
        txnId: String(seq),
        ts: '',
        changes: [{ seq, key: `t:x${seq}`, table: 't', pk: `x${seq}`, op: 'put', value: null, prev: null, doc: { a: seq } }],
      }) as never;
    const write = (seq: number) => {
      part.write!(commit(seq), undefined, undefined as never);
      part.applied!(commit(seq), undefined);
    };
    now = 900;
    expect(rc.get('t', ['["a"]'], 1)).toBeDefined(); // read now
    now = 1800;
    write(1); // read 900 ms ago: kept, and the commit's value applied
    expect(rc.tables).toBe(1);
    expect(rc.values).toBe(4);
    now = 3000;
    write(2); // unread for 1,200 ms: dropped, nothing applied
    expect(rc.tables).toBe(0);
    expect(rc.values).toBe(0);
    expect(rc.idleDrops).toBe(1);
    expect(rc.get('t', ['["a"]'], 1)).toBeUndefined();
  });

  it('a table that does not fit is not kept', () => {
    const rc = new ResidentColumns(3, () => 1);
    const b = rc.claimBuild('t', [['a'], ['b']], 0)!;
    for (const k of ['t:1', 't:2']) b.add(k, { a: 1, b: 2 });
    expect(b.full).toBe(true);
    expect(rc.offer('t', b, 1, 1)).toBe(false);
    expect(new ResidentColumns(0, () => 1).claimBuild('t', [['a']], 0)).toBeUndefined();
  });
});
