/**
 * What a query reads is its snapshot (plus its transaction's buffered
 * writes), also where the data is derived: graph adjacency (a traversal or
 * shortest path on a cursor page read after a commit sees the edges of its
 * snapshot; inside a transaction it sees the transaction's own edges), and
 * range-index scans over documents whose indexed attribute is an array or
 * an object (returned as a full scan would return them, in AQL's order).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { COMPOUND_MARKERS_KEY } from '../../src/index/secondary.js';
import { WriteBatch, keyspace } from '../../src/storage/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-snapshot-');
  db = await openDb(dir);
  await db
    .get(Entities)
    .applyBatch([
      ...['a', 'b', 'c', 'd'].map((k) => ({ op: 'put' as const, key: `v:${k}`, blob: { name: k } })),
      { op: 'put', key: 'e:1', blob: { _from: 'v:a', _to: 'v:b' } },
      { op: 'put', key: 'e:2', blob: { _from: 'v:b', _to: 'v:c' } },
    ]);
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Page = { items: AqlValue[]; next_cursor: string | null };

async function page(body: Record<string, unknown>, txn?: string): Promise<Page> {
  return (await db.get(Aql).run(body as never, txn)) as unknown as Page;
}

const rows = async (query: string, txn?: string): Promise<AqlValue[]> => {
  const r = await db.get(Aql).run({ query }, txn);
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
};

describe('graph reads come from the query snapshot', () => {
  it('a traversal on a later cursor page sees the edges of the snapshot, not those committed after it', async () => {
    const query = "FOR i IN 1..3 LET reach = (FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key) RETURN reach";
    const first = await page({ query, use_cursor: true, batch_size: 1 });
    expect(first.items).toEqual([['b', 'c']]);
    // after the snapshot: a new edge c -> d, and b -> c removed
    await db.get(Entities).putEntity('e:3', { _from: 'v:c', _to: 'v:d' });
    await db.get(Entities).deleteEntity('e:2');
    try {
      let next = first.next_cursor;
      const later: AqlValue[] = [];
      while (next !== null) {
        const p = await page({ cursor: next });
        later.push(...p.items);
        next = p.next_cursor;
      }
      expect(later).toEqual([
        ['b', 'c'],
        ['b', 'c'],
      ]);
      // a new query sees the new state
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key")).toEqual(['b']);
      expect(await rows("FOR v IN 1..5 INBOUND 'v:d' e RETURN v._key")).toEqual(['c']);
    } finally {
      await db.get(Entities).deleteEntity('e:3');
      await db.get(Entities).putEntity('e:2', { _from: 'v:b', _to: 'v:c' });
    }
  });

  it('a shortest path on a later cursor page uses the snapshot edges', async () => {
    const query = "FOR i IN 1..2 LET p = (FOR v IN OUTBOUND SHORTEST_PATH 'v:a' TO 'v:c' e RETURN v._key) RETURN p";
    const first = await page({ query, use_cursor: true, batch_size: 1 });
    expect(first.items).toEqual([['a', 'b', 'c']]);
    await db.get(Entities).putEntity('e:0', { _from: 'v:a', _to: 'v:c' });
    try {
      const second = await page({ cursor: first.next_cursor });
      expect(second.items).toEqual([['a', 'b', 'c']]);
      expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'v:a' TO 'v:c' e RETURN v._key")).toEqual(['a', 'c']);
    } finally {
      await db.get(Entities).deleteEntity('e:0');
    }
  });

  it("inside a transaction, traversals see its buffered edges (added, re-pointed, deleted) and others don't", async () => {
    const txns = db.get(Transactions);
    const txn = txns.begin('snapshot').transaction_id;
    try {
      await db.get(Entities).putEntity('e:3', { _from: 'v:c', _to: 'v:d' }, txn); // new
      await db.get(Entities).putEntity('e:1', { _from: 'v:a', _to: 'v:c' }, txn); // re-pointed a->b to a->c
      await db.get(Entities).putEntity('e:4', { _from: 'v:d', note: 'no _to: not an edge' }, txn);
      await db.get(Entities).putEntity('x:1', { _from: 'v:a', _to: 'v:d' }, txn); // another edge table
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key", txn)).toEqual(['c', 'd']);
      // depth-first: the last of c's edges (outbound d by e:3, then inbound a by e:1, b by e:2) comes first, as when committed
      expect(await rows("FOR v, e IN 1..1 ANY 'v:c' e RETURN [v._key, e._key]", txn)).toEqual([
        ['b', '2'],
        ['a', '1'],
        ['d', '3'],
      ]);
      expect(await rows("FOR v IN 1..1 INBOUND 'v:b' e RETURN v._key", txn)).toEqual([]);
      expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'v:a' TO 'v:a' e RETURN v._key", txn)).toEqual(['a']);
      expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'v:b' TO 'v:d' e RETURN v._key", txn)).toEqual(['b', 'c', 'd']);
      // re-pointing an edge the transaction already wrote (its write count unchanged) is seen too
      await db.get(Entities).putEntity('e:3', { _from: 'v:c', _to: 'v:b' }, txn);
      expect(await rows("FOR v IN 1..1 OUTBOUND 'v:c' e RETURN v._key", txn)).toEqual(['b']);
      await db.get(Entities).putEntity('e:3', { _from: 'v:c', _to: 'v:d' }, txn);
      await db.get(Entities).deleteEntity('e:2', txn);
      expect(await rows("FOR v IN 1..5 ANY 'v:b' e RETURN v._key", txn)).toEqual([]);
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' x RETURN v._key", txn)).toEqual(['d']);
      // outside the transaction nothing changed
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key")).toEqual(['b', 'c']);
    } finally {
      txns.rollback(txn);
    }
    expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key")).toEqual(['b', 'c']);
  });
});

describe('range indexes over arrays and objects (compound markers)', () => {
  // AQL's order: null < bool < number < string < array < object; an index stores scalars, arrays by their scalar elements
  const AGES: Record<string, unknown> = {
    n1: 10,
    n2: 45,
    n3: 60,
    n4: 45.5,
    s1: 'abc',
    s2: '',
    nul: null,
    a1: [1],
    a2: [50, 2],
    a3: [],
    a4: [[99]],
    a5: ['x', 70],
    o1: {},
    o2: { v: 1 },
    o3: { a: [1, 2] },
    b1: true,
  };
  let idx: Database;
  let idxDir: string;

  beforeAll(async () => {
    idxDir = tempDir('themis-aql-compound-');
    idx = await openDb(idxDir);
    // documents before the index (backfill writes the markers) and after it (commits write them)
    const all = Object.entries(AGES);
    const half = Math.floor(all.length / 2);
    const put = (list: [string, unknown][]) =>
      idx.get(Entities).applyBatch(list.map(([k, age]) => ({ op: 'put' as const, key: `p:${k}`, blob: { age, k } })));
    await put(all.slice(0, half));
    await idx.get(Entities).putEntity('p:missing', { k: 'missing' });
    await idx.get(Indexes).create({ table: 'p', column: 'age', type: 'range' });
    await put(all.slice(half));
  });

  afterAll(async () => {
    await idx.close();
    fs.rmSync(idxDir, { recursive: true, force: true });
  });

  async function both(
    query: string,
  ): Promise<{ index: AqlValue[]; naive: AqlValue[]; plan: { steps: { type: string; access?: string; by_index?: boolean }[] } }> {
    const r = await idx.get(Aql).run({ query, allow_full_scan: true });
    const n = await idx.get(Aql).run({ query, allow_full_scan: true }, undefined, { naive: true });
    if (!('entities' in r) || !('entities' in n)) throw new Error('no entities');
    return { index: r.entities, naive: n.entities, plan: r.plan as never };
  }

  const unordered = ['>= 45', '> 45', '>= 45 AND p.age <= 60', '< 45', '<= 10', '> "a"', '>= ""', '> true', '< "zz"', '> 1000'];
  it.each(unordered)('FILTER p.age %s through the index returns what a full scan returns', async (cond) => {
    const r = await both(`FOR p IN p FILTER p.age ${cond} RETURN p.k`);
    expect(r.plan.steps.find((s) => s.type === 'for')?.access).toBe('index_range');
    expect([...r.index].sort()).toEqual([...r.naive].sort());
  });

  it('FILTER p.age >= 45 finds the arrays and objects, even those without an element >= 45', async () => {
    const r = await both('FOR p IN p FILTER p.age >= 45 RETURN p.k');
    expect([...r.index].sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'n2', 'n3', 'n4', 'o1', 'o2', 'o3', 's1', 's2']);
  });

  const counts = [1, 3, 5, 8, 12, 17, 30];
  it.each(counts.flatMap((n) => [`ASC LIMIT ${n}`, `DESC LIMIT ${n}`, `DESC LIMIT 2, ${n}`]))(
    'SORT p.age %s by index order equals the in-memory sort, without a re-plan',
    async (tail) => {
      // (the values: documents with equal values may come in another order, e.g. a missing age and a null one)
      const r = await both(`FOR p IN p SORT p.age ${tail} RETURN p.age`);
      expect(r.index).toEqual(r.naive);
      const full = Object.keys(AGES).length + 1;
      const want = Number(tail.split(' ').pop()) + (tail.includes(',') ? 2 : 0);
      // by_index in the executed plan: the compound values did not force a re-plan (it re-plans only when the index runs out)
      if (want <= full) expect(r.plan.steps.find((s) => s.type === 'sort')?.by_index).toBe(true);
    },
  );

  it('SORT DESC LIMIT starts at the objects, then the arrays (sorted by value), then the scalars', async () => {
    const r = await both('FOR p IN p SORT p.age DESC LIMIT 9 RETURN p.k');
    expect(r.index).toEqual(['o3', 'o2', 'o1', 'a4', 'a5', 'a2', 'a1', 'a3', 's1']);
    expect(r.plan.steps.find((s) => s.type === 'sort')?.by_index).toBe(true);
  });

  it('markers follow updates and deletes (compound -> scalar -> compound -> gone)', async () => {
    const e = idx.get(Entities);
    const q = 'FOR p IN p FILTER p.age > 1000 RETURN p.k';
    await e.putEntity('p:x', { k: 'x', age: [5] });
    expect((await both(q)).index).toContain('x');
    await e.putEntity('p:x', { k: 'x', age: 5 });
    expect((await both(q)).index).not.toContain('x');
    await e.putEntity('p:x', { k: 'x', age: { deep: true } });
    expect((await both(q)).index).toContain('x');
    await e.deleteEntity('p:x');
    const r = await both(q);
    expect(r.index).not.toContain('x');
    expect([...r.index].sort()).toEqual([...r.naive].sort());
  });

  it('an index from before the markers gets them at the next open; the listing counts entries, not markers', async () => {
    const listing = () =>
      idx
        .get(Indexes)
        .list()
        .find((l) => l.table === 'p')!;
    // entries: scalars (n1..n4, s1, s2, nul, b1, missing) and scalar elements of arrays (a1: 1, a2: 50 and 2, a5: 'x' and 70)
    expect(listing().entries).toBe(9 + 5);
    await idx.close();
    // an older data directory: no markers, no meta key
    idx = await openDb(idxDir);
    const b = new WriteBatch();
    for await (const [k] of idx.engine.scan(keyspace('index'))) if (k[4] === 0x06) b.del(keyspace('index'), k);
    b.del(keyspace('meta'), COMPOUND_MARKERS_KEY);
    expect(b.length).toBe(8 + 1); // the markers of a1..a5 and o1..o3, and the meta key
    await idx.engine.commit(b);
    await idx.close();
    idx = await openDb(idxDir);
    const r = await both('FOR p IN p FILTER p.age >= 45 RETURN p.k');
    expect([...r.index].sort()).toEqual([...r.naive].sort());
    expect(r.index).toContain('o1');
    expect(listing().entries).toBe(9 + 5);
  });
});

describe('parsed documents shared through the document cache', () => {
  it('are read-only values: functions that build from them leave them as stored, for this query and the next', async () => {
    await db.get(Entities).putEntity('shared:1', { tags: ['b', 'a', 'c'], nested: { n: 1, list: [3, 1, 2] }, x: 1 });
    const read = () => rows('FOR d IN shared FILTER d._key == "1" RETURN d');
    expect(await read()).toEqual(['{"tags":["b","a","c"],"nested":{"n":1,"list":[3,1,2]},"x":1}']);
    const built = await rows(`FOR d IN shared FILTER d._key == "1"
      LET m = MERGE(d, {x: 2, nested: {n: 2}})
      LET u = UNSET(d, "x")
      RETURN [m.x, m.nested.n, HAS(u, "x"), SORTED(d.tags), REVERSE(d.tags), PUSH(d.tags, "z"), SORTED(d.nested.list),
              MERGE_RECURSIVE(d, {nested: {n: 3}}).nested, d.x, d.nested.n, d.tags]`);
    expect(built).toEqual([
      [2, 2, false, ['a', 'b', 'c'], ['c', 'a', 'b'], ['b', 'a', 'c', 'z'], [1, 2, 3], { n: 3, list: [3, 1, 2] }, 1, 1, ['b', 'a', 'c']],
    ]);
    // DOCUMENT() twice in one query and in the next query: the same stored state each time.
    expect(await rows('RETURN [DOCUMENT("shared:1").tags, DOCUMENT("shared", "1").nested.list]')).toEqual([
      [
        ['b', 'a', 'c'],
        [3, 1, 2],
      ],
    ]);
    expect(await read()).toEqual(['{"tags":["b","a","c"],"nested":{"n":1,"list":[3,1,2]},"x":1}']);
    // An update is what the next read sees (the shared parse of the old state is gone with its cache entry).
    await rows('UPDATE "1" WITH {x: 5} IN shared');
    expect(JSON.parse((await read())[0] as string)).toEqual({ tags: ['b', 'a', 'c'], nested: { n: 1, list: [3, 1, 2] }, x: 5 });
  });

  it('a cached document read twice is the same deep-frozen object, with its key, id and stored text', async () => {
    await db.get(Entities).putEntity('shared:2', { a: { b: [1] } });
    const { readDocument } = await import('../../src/aql/exec/sources.js');
    const { STORED_TEXTS } = await import('../../src/aql/stored-texts.js');
    const snapshot = db.engine.snapshot();
    try {
      const cx = { deps: { documents: db.documents }, snapshot, opts: {}, texts: STORED_TEXTS } as never;
      // written just now, so cached: the first read derives and keeps the parse (a read that misses gets a fresh one)
      const d1 = readDocument(cx, 'shared:2', 'shared') as { a: { b: number[] }; _key: string; _id: string };
      const d2 = readDocument(cx, 'shared:2', 'shared');
      expect(d2).toBe(d1);
      expect([d1._key, d1._id]).toEqual(['2', 'shared:2']);
      expect(Object.isFrozen(d1) && Object.isFrozen(d1.a) && Object.isFrozen(d1.a.b)).toBe(true);
      expect(() => {
        (d1.a.b as number[]).push(2);
      }).toThrow(TypeError);
      expect(STORED_TEXTS.get(d1)).toBe('{"a":{"b":[1]}}');
      expect(readDocument(cx, 'shared:none', 'shared')).toBeUndefined();
    } finally {
      snapshot.close();
    }
  });

  it('a full scan that reads only some attributes builds those (and _key/_id when read), with the same answers', async () => {
    await db.get(Entities).applyBatch([
      { op: 'put', key: 'part:a', blob: { x: 1, y: { z: [1, 2] }, s: 'é"\\' } },
      { op: 'put', key: 'part:b', blob: { x: 2, y: null } },
    ]);
    expect(await rows('FOR d IN part SORT d.x RETURN [d._key, d._id, d.x, d.y, d.s]')).toEqual([
      ['a', 'part:a', 1, { z: [1, 2] }, 'é"\\'],
      ['b', 'part:b', 2, null, null],
    ]);
    expect(await rows('FOR d IN part COLLECT AGGREGATE s = SUM(d.x), n = COUNT(d.y) RETURN [s, n]')).toEqual([[3, 2]]);
    // a use of the whole document (HAS, ATTRIBUTES) gets all of it, _key and _id included
    expect(await rows('FOR d IN part FILTER d.x == 2 RETURN [d._key, HAS(d, "_key"), ATTRIBUTES(d, false, true)]')).toEqual([
      ['b', true, ['_id', '_key', 'x', 'y']],
    ]);
    // read whole: the stored text is returned as before
    expect(await rows('FOR d IN part FILTER d.x == 1 RETURN d')).toEqual(['{"x":1,"y":{"z":[1,2]},"s":"é\\"\\\\"}']);
  });
});
