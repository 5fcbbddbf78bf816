/**
 * The document cache (DocumentStore over storage/epoch-cache.ts): point
 * reads of stored texts come from memory, and never with a state other than
 * the reader's — not for an older snapshot (a transaction opened before a
 * change), not while a commit writing the document is in flight, not after a
 * failed write; bounded by its memory, least recently used out first.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db.js';
import { DocumentStore, parseEntityKey } from '../../src/documents/index.js';
import { Entities } from '../../src/entities/index.js';
import { EpochCache } from '../../src/storage/epoch-cache.js';
import { prng } from '../helpers/random.js';
import { openDb, tempDir } from '../helpers/inproc.js';

describe('EpochCache bounds', () => {
  it('keeps at most maxBytes (estimated), dropping the least recently used first', () => {
    const c = new EpochCache<string>({ maxEntries: 100, maxBytes: 30, bytesOf: (_k, v) => v.length });
    c.offer('a', '1234567890', 0);
    c.offer('b', '1234567890', 0);
    c.offer('c', '1234567890', 0);
    expect(c.byteSize).toBe(30);
    expect(c.get('a', 0)).toBe('1234567890'); // a is now the most recently used
    c.offer('d', '1234567890', 0); // over the bound: b goes (least recently used), not a
    expect(c.get('b', 0)).toBeUndefined();
    expect(c.get('a', 0)).toBe('1234567890');
    expect(c.get('c', 0)).toBe('1234567890');
    expect(c.get('d', 0)).toBe('1234567890');
    expect(c.byteSize).toBe(30);
    c.offer('big', 'x'.repeat(31), 0); // larger than the whole bound: nothing of it stays
    expect(c.get('big', 0)).toBeUndefined();
    expect(c.byteSize).toBeLessThanOrEqual(30);
    c.writing(1, ['a']);
    expect(c.byteSize).toBeLessThanOrEqual(20);
    // Without last changes per name, the end of any write stands for all names.
    const f = new EpochCache<string>({ maxEntries: 10, lastChanges: 0 });
    f.writing(1, ['x']);
    f.ended(1, true, 5);
    f.offer('y', 'old read', 4); // read before the write ended: maybe stale for all the cache knows
    expect(f.get('y', 9)).toBeUndefined();
    f.offer('y', 'fresh', 5);
    expect(f.get('y', 4)).toBeUndefined(); // an older snapshot is not served
    expect(f.get('y', 5)).toBe('fresh');
    const n = new EpochCache<number>({ maxEntries: 2 });
    n.offer('x', 1, 0);
    n.offer('y', 2, 0);
    n.offer('z', 3, 0);
    expect([n.get('x', 0), n.get('y', 0), n.get('z', 0)]).toEqual([undefined, 2, 3]);
  });

  it('grow: bytes derived from an entry count against maxBytes; a stale value grows nothing', () => {
    const c = new EpochCache<{ t: string }>({ maxEntries: 100, maxBytes: 30, bytesOf: (_k, v) => v.t.length });
    const a = { t: '1234567890' };
    expect(c.offer('a', a, 0)).toBe(true);
    c.offer('b', { t: '1234567890' }, 0);
    c.grow('a', a, 5);
    expect(c.byteSize).toBe(25);
    c.grow('a', { t: 'another value' }, 100); // not a's entry any more (or never): ignored
    expect(c.byteSize).toBe(25);
    c.grow('a', a, 10); // 35 > 30: the least recently used goes (a itself, unread since added)
    expect(c.get('a', 0)).toBeUndefined();
    expect(c.get('b', 0)?.t).toBe('1234567890');
    expect(c.byteSize).toBe(10);
    const p = new EpochCache<string>({ maxEntries: 10 });
    p.writing(1, ['x']);
    expect(p.offer('x', 'read while pending', 0)).toBe(false);
  });
});

let dir: string;
let db: Database;
/** Reads LevelDB itself: the oracle. */
let stored: DocumentStore;
const k = (key: string) => parseEntityKey(key);

beforeAll(async () => {
  dir = tempDir('themis-document-cache-');
  db = await openDb(dir);
  stored = new DocumentStore(db.engine);
  await db.get(Entities).applyBatch(Array.from({ length: 30 }, (_, i) => ({ op: 'put' as const, key: `d:${i}`, blob: { v: i } })));
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('point reads through the document cache', () => {
  it('a repeated read is a hit with the same text; a write replaces it at once (and caches the new text)', async () => {
    const ds = db.documents;
    const ent = db.get(Entities);
    expect(ent.getEntity('d:1').blob).toBe('{"v":1}');
    const hits = ds.cacheStats.hits;
    expect(ent.getEntity('d:1').blob).toBe('{"v":1}');
    expect(ds.cacheStats.hits).toBe(hits + 1);
    await ent.putEntity('d:1', { v: 'new' });
    // The commit put its new text into the cache when its write completed: the next read is a hit.
    expect(ent.getEntity('d:1').blob).toBe('{"v":"new"}');
    expect(ds.cacheStats.hits).toBe(hits + 3); // the commit's read of the previous text was one too
    await ent.deleteEntity('d:1');
    expect(() => ent.getEntity('d:1')).toThrow();
    expect(ds.read(k('d:1'))).toBeUndefined();
    ent.getEntity('d:4');
    expect(ds.cacheStats.entries).toBeGreaterThan(0);
    expect(ds.cacheStats.bytes).toBeGreaterThan(0);
  });

  it('a transaction opened before a change keeps reading its own state while fresh reads see the change', async () => {
    const txm = db.transactions;
    const ent = db.get(Entities);
    ent.getEntity('d:2'); // cached
    const t = txm.begin('snapshot');
    try {
      expect(txm.read(t, k('d:2'))).toBe('{"v":2}');
      await ent.putEntity('d:2', { v: 'changed' });
      expect(ent.getEntity('d:2').blob).toBe('{"v":"changed"}'); // the new text is cached now
      expect(txm.read(t, k('d:2'))).toBe('{"v":2}');
      expect(ent.getEntity('d:2').blob).toBe('{"v":"changed"}');
    } finally {
      txm.rollback(t);
    }
  });

  it('while a commit is in flight a read answers what LevelDB holds; a failed write leaves the old text', async () => {
    const ent = db.get(Entities);
    ent.getEntity('d:3');
    const writing = ent.putEntity('d:3', { v: 'flight' }); // not awaited
    // LevelDB applies the batch on its own thread: the old or the new text, whichever it holds at that moment.
    expect(['{"v":3}', '{"v":"flight"}']).toContain(ent.getEntity('d:3').blob);
    expect(['{"v":3}', '{"v":"flight"}']).toContain(ent.getEntity('d:3').blob);
    await writing;
    expect(ent.getEntity('d:3').blob).toBe('{"v":"flight"}');

    // A separate database: a failed write stops writes for good.
    const d2dir = tempDir('themis-document-cache-fail-');
    const d2 = await openDb(d2dir);
    try {
      await d2.get(Entities).putEntity('f:1', { v: 'old' });
      expect(d2.get(Entities).getEntity('f:1').blob).toBe('{"v":"old"}');
      const spy = vi
        .spyOn(d2.engine as unknown as { _write: () => Promise<void> }, '_write')
        .mockRejectedValueOnce(new Error('IO error: injected'));
      await expect(d2.get(Entities).putEntity('f:1', { v: 'lost' })).rejects.toThrow();
      spy.mockRestore();
      expect(d2.get(Entities).getEntity('f:1').blob).toBe('{"v":"old"}');
      expect(d2.get(Entities).getEntity('f:1').blob).toBe('{"v":"old"}');
    } finally {
      await d2.close().catch(() => undefined);
      fs.rmSync(d2dir, { recursive: true, force: true });
    }
  });

  it('readDerived: a document read again keeps what was derived from it until it changes; misses and older snapshots get a fresh one', async () => {
    const ds = db.documents;
    const ent = db.get(Entities);
    let derivations = 0;
    let onces = 0;
    const derive = (text: string) => {
      derivations++;
      return { parsed: JSON.parse(text) as unknown, shared: true };
    };
    const once = (text: string) => {
      onces++;
      return { parsed: JSON.parse(text) as unknown, shared: false };
    };
    const size = (text: string) => text.length;
    const read = (key: string, snapshot?: Parameters<typeof ds.readDerived>[1], store = ds) =>
      store.readDerived(k(key), snapshot, derive, size, once);
    // More documents than a commit writes through to the cache: d:7's text is not cached yet.
    await ent.applyBatch(Array.from({ length: 101 }, (_, i) => ({ op: 'put' as const, key: `d:${i}`, blob: { v: i } })));
    expect(read('d:7')).toEqual({ parsed: { v: 7 }, shared: false }); // a miss: read from LevelDB, not kept
    const bytes = ds.cacheStats.bytes;
    const first = read('d:7'); // read again (a hit): derived and kept
    expect(first).toEqual({ parsed: { v: 7 }, shared: true });
    expect(ds.cacheStats.bytes).toBe(bytes + '{"v":7}'.length); // its derived size counts against the cache
    expect(read('d:7')).toBe(first); // the same object, derived once
    expect([derivations, onces]).toEqual([1, 1]);
    const t = db.transactions.begin('snapshot');
    try {
      await ent.putEntity('d:7', { v: 'seven' });
      // The commit put its text into the cache: the next read is a hit and derives.
      const next = read('d:7');
      expect(next).toEqual({ parsed: { v: 'seven' }, shared: true });
      expect(derivations).toBe(2);
      // The snapshot from before the change is not served the cached (newer) entry: a fresh one from its own text.
      const old = read('d:7', t.snapshot);
      expect(old).toEqual({ parsed: { v: 7 }, shared: false });
      expect(read('d:7')).toBe(next);
    } finally {
      db.transactions.rollback(t);
    }
    expect(read('d:nope')).toBeUndefined();
    // Without a cache every read is a fresh one.
    const n = onces;
    expect(read('d:8', undefined, stored)).toEqual({ parsed: { v: 8 }, shared: false });
    expect(read('d:8', undefined, stored)).toEqual({ parsed: { v: 8 }, shared: false });
    expect([onces, derivations]).toEqual([n + 2, 2]);
  });

  it('random writes, batches, concurrent commits and reads at old and new snapshots always read what LevelDB holds', async () => {
    const r = prng(0xd0cca);
    const ent = db.get(Entities);
    const txm = db.transactions;
    const ds = db.documents;
    const hits = ds.cacheStats.hits;
    const open: ReturnType<typeof txm.begin>[] = [];
    const key = () => `d:${Math.floor(r() * 40)}`;
    const check = (label: string) => {
      for (let i = 0; i < 8; i++) {
        const x = key();
        const t = open.length > 0 && r() < 0.5 ? open[Math.floor(r() * open.length)]! : undefined;
        if (t) {
          expect(ds.read(k(x), t.snapshot), `${label}: ${x}`).toBe(stored.read(k(x), t.snapshot));
          continue;
        }
        // The latest state may move while commits are in flight (LevelDB writes on its own thread):
        // what LevelDB held just before or just after.
        const before = stored.read(k(x));
        const got = ds.read(k(x));
        const after = stored.read(k(x));
        expect([before, after], `${label}: ${x}`).toContain(got);
      }
    };
    for (let step = 0; step < 300; step++) {
      const x = r();
      if (x < 0.3) await ent.putEntity(key(), { v: step, s: 'x'.repeat(Math.floor(r() * 50)) });
      else if (x < 0.37) await ent.deleteEntity(key()).catch(() => undefined);
      else if (x < 0.45)
        await ent.applyBatch(
          Array.from({ length: 1 + Math.floor(r() * 5) }, () =>
            r() < 0.2 ? { op: 'delete' as const, key: key() } : { op: 'put' as const, key: key(), blob: { v: step, b: true } },
          ),
        );
      else if (x < 0.55) {
        // commits in flight while reads run (latest and snapshot): each read equals LevelDB's answer at that moment
        const w = [ent.putEntity(key(), { v: step, f: 1 }), ent.putEntity(key(), { v: step, f: 2 })];
        check(`step ${step} in flight`);
        await Promise.all(w);
      } else if (x < 0.6 && open.length < 3) open.push(txm.begin('snapshot'));
      else if (x < 0.65 && open.length > 0) txm.rollback(open.shift()!);
      check(`step ${step}`);
    }
    for (const t of open) txm.rollback(t);
    expect(ds.cacheStats.hits - hits).toBeGreaterThan(500);
  });
});
