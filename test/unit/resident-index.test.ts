/**
 * Resident indexes (src/index/resident.ts): in-memory copies of non-unique
 * indexes that answer index scans without a LevelDB iterator. A copy holds
 * exactly the index's LevelDB keys after every completed commit, and serves
 * only snapshots that see its state — not an older snapshot, not while a
 * commit changing the index is in flight, not a scan whose copy a commit
 * changed between two chunks (the rest comes from LevelDB), not after a
 * drop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import type { IndexManager } from '../../src/index/index-manager.js';
import { ResidentIndexes } from '../../src/index/resident.js';
import type { SecondaryIndexes } from '../../src/index/secondary.js';
import { keyspace, prefixUpperBound } from '../../src/storage/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { prng } from '../helpers/random.js';
import { openCitiesDb } from '../helpers/inproc.js';

describe('ResidentIndexes', () => {
  it('serves a copy only to snapshots that see its state; commits apply their puts and deletes in order', () => {
    const r = new ResidentIndexes(100);
    const t = r.claimBuild(1, 0)!;
    expect(t).toBe(0);
    expect(r.claimBuild(1, 0)).toBeUndefined(); // one scan at a time
    expect(r.offer(1, t, ['a', 'c'], 0, 5)).toBe(true);
    expect([...r.get(1, 0)!.tree.keys()]).toEqual(['a', 'c']);
    expect(r.claimBuild(1, 0)).toBeUndefined(); // kept: no scan
    r.writing(7, 1, [
      [false, 'a'],
      [true, 'b'],
      [true, 'a'],
      [false, 'c'],
    ]);
    expect(r.get(1, 5)).toBeUndefined(); // pending
    r.ended(7, true, 3);
    expect(r.get(1, 2)).toBeUndefined(); // a snapshot from before the change
    const c = r.get(1, 3)!;
    expect([...c.tree.keys()]).toEqual(['a', 'b']);
    expect(c.version).toBe(1);
    expect(r.entries).toBe(2);
    // a failed write changes nothing, and leaves the copy usable
    r.writing(8, 1, [[true, 'z']]);
    r.ended(8, false, 4);
    expect([...r.get(1, 3)!.tree.keys()]).toEqual(['a', 'b']);
    // two commits in flight: pending until both ended
    r.writing(9, 1, [[true, 'd']]);
    r.writing(10, 1, [[false, 'b']]);
    r.ended(9, true, 5);
    expect(r.get(1, 5)).toBeUndefined();
    r.ended(10, true, 6);
    expect([...r.get(1, 6)!.tree.keys()]).toEqual(['a', 'd']);
    expect(r.unchanged(1, c, 1)).toBe(false);
    expect(r.unchanged(1, c, c.version)).toBe(true);
  });

  it('a scan is not kept when a commit changed the index meanwhile, when the index was dropped meanwhile, or when it does not fit', () => {
    const r = new ResidentIndexes(100);
    const t = r.claimBuild(2, 0)!;
    r.writing(1, 2, []); // a commit on the index while the scan runs (no copy yet: no keys)
    r.ended(1, true, 4);
    expect(r.offer(2, t, ['x'], 3, 10)).toBe(false); // read at epoch 3: before the change
    expect(r.claimBuild(2, Date.now())).toBeUndefined(); // retried only after a pause
    expect(r.claimBuild(2, Date.now() + 1001)).toBe(0);
    expect(r.offer(2, 0, ['x'], 4, 10)).toBe(true);
    // dropped while a new scan runs: that scan's result is not kept
    r.drop(2);
    const t2 = r.claimBuild(2, 0)!;
    expect(t2).toBe(1);
    r.drop(2);
    expect(r.offer(2, t2, ['y'], 9, 1)).toBe(false);
    expect(r.get(2, 9)).toBeUndefined();
    // the bound on entries in all copies: a scan that does not fit is not kept; a copy that grows past it goes
    const keys = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${String(i).padStart(3, '0')}`);
    expect(r.offer(3, r.claimBuild(3, 0)!, keys(60, 'a'), 9, 1)).toBe(true);
    expect(r.entries).toBe(60);
    expect(r.offer(5, r.claimBuild(5, 0)!, keys(41, 'b'), 9, 1)).toBe(false);
    r.writing(
      11,
      3,
      keys(40, 'c').map((k) => [true, k] as const),
    );
    r.ended(11, true, 10);
    expect(r.get(3, 10)!.tree.size).toBe(100);
    r.writing(12, 3, [[true, 'zzz']]);
    r.ended(12, true, 11);
    expect(r.get(3, 11)).toBeUndefined();
    expect(r.entries).toBe(0);
    expect(new ResidentIndexes(0).claimBuild(1, 0)).toBeUndefined(); // 0: no copies at all
    // an abandoned scan may start again after a pause
    const t4 = r.claimBuild(4, 0)!;
    expect(t4).toBe(0);
    r.abandon(4);
    expect(r.claimBuild(4, Date.now())).toBeUndefined();
    expect(r.claimBuild(4, Date.now() + 1001)).toBe(0);
  });
});

let db: Database;
let close: () => Promise<void>;
const idxKs = keyspace('index');

const secondaryOf = (im: IndexManager) => (im as unknown as { secondary: SecondaryIndexes }).secondary;

beforeAll(async () => {
  ({ db, close } = await openCitiesDb('themis-resident-'));
  await db
    .get(Entities)
    .applyBatch(Array.from({ length: 40 }, (_, i) => ({ op: 'put' as const, key: `u:${i}`, blob: { city: `c${i % 4}`, age: i % 13 } })));
  await db.get(Indexes).create({ table: 'u', column: 'age', type: 'range' });
});

afterAll(() => close());

const ids = () => {
  const list = db.get(Indexes).list() as { id: number; column?: string; columns?: string[] }[];
  const id = (c: string) => list.find((x) => x.column === c || x.columns?.[0] === c)!.id;
  return { city: id('city'), age: id('age') };
};

/** Until every non-unique index of table u has its copy (made in the background after a first scan). */
async function resident(): Promise<void> {
  const im = db.get(Indexes);
  const r = secondaryOf(im).resident;
  for (let i = 0; i < 400; i++) {
    const { city, age } = ids();
    if (r.has(city) && r.has(age)) return;
    await run('FOR u IN u FILTER u.age >= 3 SORT u.age DESC LIMIT 2 RETURN u._key');
    await run('FOR u IN u FILTER u.city == "c1" RETURN u._key');
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error('no resident copies were made');
}

async function run(query: string, txn?: string, naive = false): Promise<unknown[]> {
  const r = await db.get(Aql).run({ query }, txn, naive ? { naive: true } : {});
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
}

/** Every copy holds exactly the keys LevelDB holds for its index. */
async function copiesMatchLevelDb(): Promise<void> {
  const sec = secondaryOf(db.get(Indexes));
  for (const id of Object.values(ids())) {
    const copy = sec.resident.get(id, db.engine.writeEpoch);
    if (copy === undefined) continue;
    const prefix = (sec as unknown as { defs: { get(id: number): { prefix: Buffer } | undefined } }).defs.get(id)!.prefix;
    const stored: string[] = [];
    for await (const [k] of db.engine.scan(idxKs, { gte: prefix, lt: prefixUpperBound(prefix), keysOnly: true }))
      stored.push(k.toString('latin1'));
    expect([...copy.tree.keys()]).toEqual(stored);
  }
}

// Index-ordered queries return the sort values (which documents tie for a LIMIT's last places is not defined);
// the others return every matching key in key order.
const QUERIES = [
  'FOR u IN u FILTER u.age >= @lo AND u.age <= @hi SORT u.age DESC LIMIT 3 RETURN u.age',
  'FOR u IN u FILTER u.age >= @lo SORT u.age LIMIT 4 RETURN u.age',
  'FOR u IN u FILTER u.age < @hi SORT u.age DESC RETURN u.age',
  'FOR u IN u FILTER u.city == @c SORT u._key RETURN u._key',
  'FOR u IN u FILTER u.age > @lo AND u.age < @hi SORT u._key RETURN u._key',
];

describe('index scans from resident copies', () => {
  it('are made after a first scan, hold what LevelDB holds, and answer as LevelDB does', async () => {
    await resident();
    await copiesMatchLevelDb();
    const im = db.get(Indexes);
    const hits = im.residentIndexes.hits;
    const q = 'FOR u IN u FILTER u.age >= 3 AND u.age <= 5 SORT u.age DESC LIMIT 3 RETURN u._key';
    // Ages 3..5 are keys 3..5, 16..18, 29..31: the index's last three entries are age 5's, in key order reversed.
    expect(await run(q)).toEqual(['5', '31', '18']);
    expect(await run('FOR u IN u FILTER u.age >= 3 AND u.age <= 5 SORT u._key RETURN u._key')).toEqual(
      await run('FOR u IN u FILTER u.age >= 3 AND u.age <= 5 SORT u._key RETURN u._key', undefined, true),
    );
    expect(im.residentIndexes.hits).toBeGreaterThan(hits);
    expect(im.residentIndexes.indexes).toBeGreaterThanOrEqual(2);
  });

  it('random writes (arrays and objects too), batches, transactions and scans at old and new snapshots agree with a naive scan', async () => {
    await resident();
    const r = prng(0x7e51d);
    const ent = db.get(Entities);
    const txns = db.get(Transactions);
    const open: string[] = [];
    const value = () => {
      const x = r();
      // arrays and objects make compound markers; an absent age removes the entries
      if (x < 0.1) return [Math.floor(r() * 13), Math.floor(r() * 13)];
      if (x < 0.15) return { n: 1 };
      if (x < 0.2) return undefined;
      return Math.floor(r() * 13);
    };
    const doc = () => ({ city: `c${Math.floor(r() * 5)}`, ...((a) => (a === undefined ? {} : { age: a }))(value()) });
    const hitsBefore = db.get(Indexes).residentIndexes.hits;
    for (let step = 0; step < 250; step++) {
      const k = `u:${Math.floor(r() * 60)}`;
      const x = r();
      if (x < 0.3) await ent.putEntity(k, doc());
      else if (x < 0.35) await ent.deleteEntity(k).catch(() => undefined);
      else if (x < 0.42)
        await ent.applyBatch(
          Array.from({ length: 1 + Math.floor(r() * 4) }, () =>
            r() < 0.2
              ? { op: 'delete' as const, key: `u:${Math.floor(r() * 60)}` }
              : { op: 'put' as const, key: `u:${Math.floor(r() * 60)}`, blob: doc() },
          ),
        );
      else if (x < 0.5) {
        // commits in flight while a snapshot is taken and read
        const w = [ent.putEntity(k, doc()), ent.putEntity(`u:${Math.floor(r() * 60)}`, doc())];
        const t = txns.begin('snapshot').transaction_id;
        const q = QUERIES[Math.floor(r() * QUERIES.length)]!;
        const bind = { lo: Math.floor(r() * 13), hi: Math.floor(r() * 13), c: `c${Math.floor(r() * 5)}` };
        const used = Object.fromEntries(Object.entries(bind).filter(([n]) => q.includes(`@${n}`)));
        const a = await db.get(Aql).run({ query: q, bind_vars: used }, t);
        const b = await db.get(Aql).run({ query: q, bind_vars: used }, t, { naive: true });
        expect((a as { entities: unknown[] }).entities, `step ${step} in flight`).toEqual((b as { entities: unknown[] }).entities);
        txns.rollback(t);
        await Promise.all(w);
      } else if (x < 0.55 && open.length < 3) open.push(txns.begin('snapshot').transaction_id);
      else if (x < 0.6 && open.length > 0) txns.rollback(open.shift()!);
      const t = open.length > 0 && r() < 0.5 ? open[Math.floor(r() * open.length)] : undefined;
      const q = QUERIES[step % QUERIES.length]!;
      const bind = { lo: Math.floor(r() * 13), hi: Math.floor(r() * 13), c: `c${Math.floor(r() * 5)}` };
      const used = Object.fromEntries(Object.entries(bind).filter(([n]) => q.includes(`@${n}`)));
      const a = await db.get(Aql).run({ query: q, bind_vars: used }, t);
      const b = await db.get(Aql).run({ query: q, bind_vars: used }, t, { naive: true });
      expect((a as { entities: unknown[] }).entities, `step ${step}: ${q} ${JSON.stringify(used)}`).toEqual(
        (b as { entities: unknown[] }).entities,
      );
      if (step % 25 === 0) await copiesMatchLevelDb();
    }
    for (const t of open) txns.rollback(t);
    await copiesMatchLevelDb();
    expect(db.get(Indexes).residentIndexes.hits - hitsBefore).toBeGreaterThan(100);
  });

  it('a scan whose copy a commit changes between two chunks reads the rest from LevelDB at its snapshot', async () => {
    await resident();
    const ent = db.get(Entities);
    await ent.applyBatch(
      Array.from({ length: 600 }, (_, i) => ({ op: 'put' as const, key: `u:big${i}`, blob: { city: 'big', age: 100 + (i % 50) } })),
    );
    await resident();
    const sec = secondaryOf(db.get(Indexes));
    const live = (sec as unknown as { defs: { get(id: number): unknown } }).defs.get(ids().age);
    const snapshot = db.engine.snapshot();
    try {
      const expected: string[] = [];
      for await (const keys of sec.scanChunks(live as never, { lower: 100, upper: 149 }, snapshot)) expected.push(...keys);
      expect(expected).toHaveLength(600);
      const hits = sec.resident.hits;
      const got: string[] = [];
      let changed = false;
      for await (const keys of sec.scanChunks(live as never, { lower: 100, upper: 149 }, snapshot)) {
        got.push(...keys);
        if (!changed) {
          changed = true;
          // after the first chunk: documents move out of and into the range, and the copy changes
          await ent.applyBatch([
            { op: 'delete', key: 'u:big599' },
            { op: 'put', key: 'u:big0', blob: { age: 1 } },
            { op: 'put', key: 'u:new', blob: { age: 120 } },
          ]);
        }
      }
      expect(sec.resident.hits).toBe(hits + 1);
      expect(got).toEqual(expected);
    } finally {
      snapshot.close();
    }
    await copiesMatchLevelDb();
    // A fresh reader sees the commit.
    const now = await run('FOR u IN u FILTER u.age >= 100 AND u.age <= 149 RETURN u._key');
    expect(now).toHaveLength(599);
    expect(now).toContain('new');
    expect(now).not.toContain('big0');
  });

  it('dropping and re-creating an index does not serve the old copy', async () => {
    await resident();
    const im = db.get(Indexes);
    await im.drop({ table: 'u', column: 'age' });
    await db.get(Entities).putEntity('u:1', { city: 'c1', age: 77 });
    await im.create({ table: 'u', column: 'age', type: 'range' });
    const q = 'FOR u IN u FILTER u.age >= 77 AND u.age <= 77 RETURN u._key';
    expect(await run(q)).toEqual(await run(q, undefined, true));
    expect(await run(q)).toContain('1');
    await resident();
    expect(await run(q)).toEqual(await run(q, undefined, true));
    await copiesMatchLevelDb();
  });
});
