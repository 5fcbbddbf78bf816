/**
 * The equality posting cache (src/index/posting-cache.ts): repeated
 * equality lookups of a non-unique index come from memory, and never with a
 * state other than the reading snapshot's — not for an older snapshot (a
 * transaction or cursor opened before a change), not while a commit that
 * changes the value is in flight, not after a failed or a dropped index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { MAX_KEYS, PostingCache } from '../../src/index/posting-cache.js';
import { Transactions } from '../../src/transactions/index.js';
import { prng } from '../helpers/random.js';
import { openCitiesDb } from '../helpers/inproc.js';

describe('PostingCache', () => {
  it('serves an entry only to snapshots that see its last change, never while a change is pending', () => {
    const c = new PostingCache();
    c.offer('v', ['a', 'b'], 0);
    expect(c.get('v', 0)).toEqual(['a', 'b']);
    c.writing(7, ['v']);
    expect(c.get('v', 5)).toBeUndefined(); // dropped and pending
    c.offer('v', ['a'], 5); // a reader that read during the write: not kept
    expect(c.get('v', 5)).toBeUndefined();
    c.ended(7, true, 3); // written; last change at epoch 3
    c.offer('v', ['a', 'b'], 2); // read at a snapshot from before the change: not kept
    expect(c.get('v', 9)).toBeUndefined();
    c.offer('v', ['a', 'c'], 3);
    expect(c.get('v', 2)).toBeUndefined(); // an older snapshot does not see the change
    expect(c.get('v', 3)).toEqual(['a', 'c']);
    // a failed write clears the mark without a change
    c.writing(8, ['v', 'w']);
    c.ended(8, false, 4);
    expect(c.get('v', 3)).toBeUndefined(); // its entry went with the write phase
    c.offer('v', ['a', 'c'], 3);
    expect(c.get('v', 3)).toEqual(['a', 'c']);
    // two commits in flight on one value: pending until both ended
    c.writing(9, ['v']);
    c.writing(10, ['v']);
    c.ended(9, true, 5);
    c.offer('v', ['x'], 6);
    expect(c.get('v', 6)).toBeUndefined();
    c.ended(10, true, 6);
    c.offer('v', ['x'], 6);
    expect(c.get('v', 6)).toEqual(['x']);
    // long lists are not kept
    c.offer(
      'long',
      Array.from({ length: MAX_KEYS + 1 }, (_, i) => String(i)),
      99,
    );
    expect(c.get('long', 99)).toBeUndefined();
  });
});

let db: Database;
const q = 'FOR u IN u FILTER u.city == @c RETURN u._key';

async function keys(c: string, txn?: string): Promise<string[]> {
  const r = await db.get(Aql).run({ query: q, bind_vars: { c } }, txn);
  if (!('entities' in r)) throw new Error('no entities');
  return (r.entities as string[]).sort();
}
async function naiveKeys(c: string, txn?: string): Promise<string[]> {
  const r = await db.get(Aql).run({ query: q, bind_vars: { c } }, txn, { naive: true });
  if (!('entities' in r)) throw new Error('no entities');
  return (r.entities as string[]).sort();
}

let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await openCitiesDb('themis-posting-cache-'));
});

afterAll(() => close());

describe('equality lookups through the posting cache', () => {
  it('a repeated lookup is a hit and answers the same', async () => {
    const im = db.get(Indexes);
    const first = await keys('c1');
    const before = im.postingCache.hits;
    expect(await keys('c1')).toEqual(first);
    expect(im.postingCache.hits).toBe(before + 1);
    expect(first).toEqual(await naiveKeys('c1'));
  });

  it('a transaction opened before a change keeps reading its own state; later readers see the change', async () => {
    const txns = db.get(Transactions);
    const t = txns.begin('snapshot').transaction_id;
    try {
      expect(await keys('c2', t)).toEqual(await naiveKeys('c2', t));
      await db.get(Entities).putEntity('u:0', { city: 'c2' }); // c0 -> c2
      await keys('c2'); // a fresh reader fills the cache with the new state
      await keys('c2');
      const old = await keys('c2', t);
      expect(old).not.toContain('0');
      expect(old).toEqual(await naiveKeys('c2', t));
      expect(await keys('c2')).toContain('0');
      expect(await keys('c0')).not.toContain('0');
    } finally {
      txns.rollback(t);
    }
  });

  it('while a commit changing the value is in flight, and right after it, lookups answer what LevelDB holds', async () => {
    const ent = db.get(Entities);
    await keys('c3');
    const before = await naiveKeys('c3');
    expect(before).not.toContain('5');
    const writing = ent.putEntity('u:5', { city: 'c3' }); // not awaited: in flight
    const during = await keys('c3');
    await writing;
    const after = await naiveKeys('c3');
    expect([before, after]).toContainEqual(during); // the state before the commit or after it, nothing else
    expect(await keys('c3')).toEqual(after);
    expect(after).toContain('5');
  });

  it('random writes, transactions and lookups at old and new snapshots always agree with a naive scan', async () => {
    const r = prng(0xcac4e);
    const ent = db.get(Entities);
    const txns = db.get(Transactions);
    const open: string[] = [];
    for (let step = 0; step < 300; step++) {
      const c = `c${Math.floor(r() * 5)}`;
      const k = `u:${Math.floor(r() * 50)}`;
      const x = r();
      if (x < 0.3) await ent.putEntity(k, { city: c });
      else if (x < 0.35) await ent.deleteEntity(k).catch(() => undefined);
      else if (x < 0.45) {
        // concurrent commits, not awaited before the lookups
        const w = [ent.putEntity(k, { city: c }), ent.putEntity(`u:${Math.floor(r() * 50)}`, { city: `c${Math.floor(r() * 5)}` })];
        // one snapshot taken while they are in flight: the cached and the naive lookup must read the same state
        const t = txns.begin('snapshot').transaction_id;
        expect(await keys(c, t)).toEqual(await naiveKeys(c, t));
        txns.rollback(t);
        await Promise.all(w);
      } else if (x < 0.5 && open.length < 3) open.push(txns.begin('snapshot').transaction_id);
      else if (x < 0.55 && open.length > 0) txns.rollback(open.shift()!);
      const t = open.length > 0 && r() < 0.5 ? open[Math.floor(r() * open.length)] : undefined;
      expect(await keys(c, t), `step ${step}`).toEqual(await naiveKeys(c, t));
    }
    for (const t of open) txns.rollback(t);
    expect(db.get(Indexes).postingCache.hits).toBeGreaterThan(50);
  });

  it('a LIMIT that stops early still fills the cache when one chunk held the whole list; long lists are read, never kept', async () => {
    const im = db.get(Indexes);
    const ent = db.get(Entities);
    await ent.applyBatch(['l1', 'l2', 'l3'].map((k) => ({ op: 'put' as const, key: `u:${k}`, blob: { city: 'lim' } })));
    const limited = 'FOR u IN u FILTER u.city == "lim" LIMIT 2 RETURN u._key';
    const run = async () => ((await db.get(Aql).run({ query: limited })) as { entities: string[] }).entities;
    expect(await run()).toHaveLength(2);
    const hits = im.postingCache.hits;
    expect(await run()).toHaveLength(2);
    expect(im.postingCache.hits).toBe(hits + 1);
    await ent.applyBatch(
      Array.from({ length: MAX_KEYS + 36 }, (_, i) => ({ op: 'put' as const, key: `u:long${i}`, blob: { city: 'long' } })),
    );
    expect(await keys('long')).toHaveLength(MAX_KEYS + 36);
    const before = im.postingCache.hits;
    expect(await keys('long')).toEqual(await naiveKeys('long'));
    expect(im.postingCache.hits).toBe(before);
  });

  it('dropping and re-creating the index does not serve the old postings', async () => {
    const im = db.get(Indexes);
    await keys('c1');
    await im.drop({ table: 'u', column: 'city' });
    await db.get(Entities).putEntity('u:1', { city: 'zz' });
    await im.create({ table: 'u', column: 'city' });
    expect(await keys('c1')).toEqual(await naiveKeys('c1'));
    expect(await keys('zz')).toEqual(['1']);
  });
});
