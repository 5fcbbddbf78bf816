/**
 * Per-value entry counts for index-only COLLECT (src/index/value-counts.ts):
 * a COLLECT over a whole index is answered from counts the commits keep, and
 * never with a state other than the reading snapshot's — not for an older
 * snapshot, not while a commit changing the index is in flight, not after a
 * failed write, a drop or a re-creation, and not when documents hold arrays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { MAX_VALUES_PER_INDEX, ValueCounts } from '../../src/index/value-counts.js';
import { Transactions } from '../../src/transactions/index.js';
import { prng } from '../helpers/random.js';
import { openCitiesDb } from '../helpers/inproc.js';

/** Differences by hex of a one-letter value (the test's stand-in for an encoded value). */
const d = (entries: [string, number][]) =>
  new Map(entries.map(([hex, n]) => [hex, { value: String.fromCharCode(Number.parseInt(hex, 16)), d: n }]));

describe('ValueCounts', () => {
  it('serves counts only to snapshots that see the last change, never while a change is pending; adds committed differences', () => {
    const c = new ValueCounts();
    expect(c.wants(1, 0)).toBe(true);
    c.offer(
      1,
      [
        ['61', 'a', 2],
        ['62', 'b', 1],
      ],
      0,
    );
    expect(c.get(1, 0)).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    c.writing(
      7,
      1,
      d([
        ['62', -1],
        ['63', 1],
      ]),
    ); // b -> c
    expect(c.get(1, 5)).toBeUndefined(); // pending
    c.ended(7, true, 3);
    expect(c.get(1, 2)).toBeUndefined(); // an older snapshot does not see the change
    expect(c.get(1, 3)).toEqual([
      ['a', 2],
      ['c', 1],
    ]); // b went, c came, in index order
    // a failed write changes nothing
    c.writing(8, 1, d([['61', -2]]));
    c.ended(8, false, 4);
    expect(c.get(1, 4)).toEqual([
      ['a', 2],
      ['c', 1],
    ]);
    // two commits in flight: pending until both ended, then both applied
    c.writing(9, 1, d([['61', 1]]));
    c.writing(10, 1, d([['64', 3]]));
    c.ended(10, true, 5);
    expect(c.get(1, 6)).toBeUndefined();
    c.ended(9, true, 6);
    expect(c.get(1, 6)).toEqual([
      ['a', 3],
      ['c', 1],
      ['d', 3],
    ]);
    // an offer from a snapshot older than the last change, or while pending, is not kept
    c.drop(1);
    c.offer(1, [['61', 'a', 1]], 5);
    expect(c.get(1, 9)).toBeUndefined();
    c.writing(11, 1, d([]));
    c.offer(1, [['61', 'a', 1]], 9);
    expect(c.get(1, 9)).toBeUndefined();
    c.ended(11, true, 7);
    c.offer(1, [['61', 'a', 1]], 7);
    expect(c.get(1, 7)).toEqual([['a', 1]]);
    // differences taken before a drop do not reach counts made afterwards
    c.writing(12, 1, d([['61', 5]]));
    c.drop(1);
    c.ended(12, true, 8);
    c.offer(1, [['61', 'a', 6]], 8);
    expect(c.get(1, 8)).toEqual([['a', 6]]);
    // too many values are not kept
    c.offer(
      2,
      Array.from({ length: MAX_VALUES_PER_INDEX + 1 }, (_, i) => [i.toString(16), i, 1] as [string, number, number]),
      99,
    );
    expect(c.get(2, 99)).toBeUndefined();
    expect(c.size).toEqual({ indexes: 1, values: 1 });
  });
});

let db: Database;
const q = 'FOR u IN u COLLECT c = u.city WITH COUNT INTO n RETURN [c, n]';

async function groups(txn?: string, naive = false): Promise<unknown[]> {
  const r = await db.get(Aql).run({ query: q }, txn, naive ? { naive: true } : undefined);
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities as unknown[];
}

let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await openCitiesDb('themis-value-counts-'));
});

afterAll(() => close());

describe('index-only COLLECT through the kept counts', () => {
  it('a repeated COLLECT is a hit and answers what a scan answers; a write changes the counts in place', async () => {
    const im = db.get(Indexes);
    const first = await groups();
    expect(first).toEqual([
      ['c0', 10],
      ['c1', 10],
      ['c2', 10],
      ['c3', 10],
    ]);
    const hits = im.valueCounts.hits;
    expect(await groups()).toEqual(first);
    expect(im.valueCounts.hits).toBe(hits + 1);
    await db.get(Entities).putEntity('u:0', { city: 'c9' });
    await db.get(Entities).deleteEntity('u:1');
    expect(await groups()).toEqual([
      ['c0', 9],
      ['c1', 9],
      ['c2', 10],
      ['c3', 10],
      ['c9', 1],
    ]);
    expect(im.valueCounts.hits).toBe(hits + 2); // still from the counts, changed by the two commits
    expect(await groups()).toEqual(await groups(undefined, true));
  });

  it('a transaction opened before a change keeps its own counts; a document holding an array is counted as COLLECT does', async () => {
    const txns = db.get(Transactions);
    const t = txns.begin('snapshot').transaction_id;
    try {
      const before = await groups(t);
      await db.get(Entities).putEntity('u:2', { city: 'c0' });
      await groups(); // a fresh reader sees the change
      expect(await groups(t)).toEqual(before);
      expect(await groups(t)).toEqual(await groups(t, true));
    } finally {
      txns.rollback(t);
    }
    await db.get(Entities).putEntity('u:3', { city: ['c0', 'c1'] });
    const im = db.get(Indexes);
    const hits = im.valueCounts.hits;
    const withArray = await groups();
    expect(withArray).toEqual(await groups(undefined, true));
    expect(withArray.at(-1)).toEqual([['c0', 'c1'], 1]);
    expect(im.valueCounts.hits).toBe(hits); // read from the index: the array's elements are entries, not groups
    await db.get(Entities).deleteEntity('u:3');
    expect(await groups()).toEqual(await groups(undefined, true));
  });

  it('random writes, batches, transactions and COLLECTs at old and new snapshots always agree with a naive scan', async () => {
    const r = prng(0xc0117);
    const ent = db.get(Entities);
    const txns = db.get(Transactions);
    const open: string[] = [];
    const im = db.get(Indexes);
    const hits = im.valueCounts.hits;
    const kinds = [(i: number) => `c${i}`, (i: number) => i, (i: number) => i % 2 === 0, () => null];
    const value = () => kinds[Math.floor(r() * (r() < 0.8 ? 1 : kinds.length))]!(Math.floor(r() * 6));
    const doc = () => (r() < 0.05 ? { other: 1 } : { city: value() });
    for (let step = 0; step < 300; step++) {
      const k = `u:${Math.floor(r() * 50)}`;
      const x = r();
      if (x < 0.3) await ent.putEntity(k, doc());
      else if (x < 0.35) await ent.deleteEntity(k).catch(() => undefined);
      else if (x < 0.42)
        await ent
          .applyBatch(
            Array.from({ length: 1 + Math.floor(r() * 5) }, () =>
              r() < 0.2
                ? { op: 'delete' as const, key: `u:${Math.floor(r() * 50)}` }
                : { op: 'put' as const, key: `u:${Math.floor(r() * 50)}`, blob: doc() },
            ),
          )
          .catch(() => undefined);
      else if (x < 0.5) {
        // concurrent commits in flight while a snapshot reads
        const w = [ent.putEntity(k, doc()), ent.putEntity(`u:${Math.floor(r() * 50)}`, doc())];
        const t = txns.begin('snapshot').transaction_id;
        expect(await groups(t)).toEqual(await groups(t, true));
        txns.rollback(t);
        const during = await groups();
        await Promise.all(w);
        expect(during.length).toBeGreaterThan(0);
      } else if (x < 0.55 && open.length < 3) open.push(txns.begin('snapshot').transaction_id);
      else if (x < 0.6 && open.length > 0) txns.rollback(open.shift()!);
      const t = open.length > 0 && r() < 0.5 ? open[Math.floor(r() * open.length)] : undefined;
      expect(await groups(t), `step ${step}`).toEqual(await groups(t, true));
    }
    for (const t of open) txns.rollback(t);
    expect(im.valueCounts.hits - hits).toBeGreaterThan(50);
  });

  it('dropping and re-creating the index does not serve the old counts', async () => {
    const im = db.get(Indexes);
    await groups();
    await im.drop({ table: 'u', column: 'city' });
    await db.get(Entities).putEntity('u:1', { city: 'zz' });
    await im.create({ table: 'u', column: 'city' });
    expect(await groups()).toEqual(await groups(undefined, true));
    expect(await groups()).toContainEqual(['zz', expect.any(Number)]);
    expect(await groups()).toEqual(await groups(undefined, true));
  });
});
