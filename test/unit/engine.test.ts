import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine, WriteBatch, keyspace } from '../../src/storage/index.js';
import { ThemisError } from '../../src/errors.js';

const ks = keyspace('entity');
const other = keyspace('meta');
const k = (s: string) => Buffer.from(s);

for (const sync of [true, false]) {
  describe(`Engine (durability ${sync ? 'sync' : 'relaxed'})`, () => {
    let dir: string;
    let engine: Engine;
    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-engine-'));
      engine = await Engine.open(dir, { sync });
    });
    afterEach(async () => {
      await engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('commits a batch atomically and reads it back', async () => {
      await engine.commit(new WriteBatch().put(ks, k('a'), k('1')).put(ks, k('b'), k('2')).put(other, k('a'), k('meta')));
      expect(engine.getSync(ks, k('a'))?.toString()).toBe('1');
      expect((await engine.get(ks, k('b')))?.toString()).toBe('2');
      expect(engine.getSync(other, k('a'))?.toString()).toBe('meta'); // keyspaces are disjoint
      await engine.commit(new WriteBatch().del(ks, k('a')).put(ks, k('b'), k('3')));
      expect(engine.getSync(ks, k('a'))).toBeUndefined();
      expect(engine.getSync(ks, k('b'))?.toString()).toBe('3');
    });

    it('applies none of a batch that fails', async () => {
      await engine.commit(new WriteBatch().put(ks, k('keep'), k('old')));
      const bad = new WriteBatch().put(ks, k('keep'), k('new')).put(ks, k('x'), k('1'));
      // A malformed op (a value that is not a buffer) fails the whole batch before LevelDB sees it.
      bad.ops.push({ type: 'put', key: ks.key(k('y')), value: undefined as unknown as Buffer });
      await expect(engine.commit(bad)).rejects.toThrow(
        new TypeError('malformed batch operation: keys and values must be Buffers, type put or del'),
      );
      expect(engine.getSync(ks, k('keep'))?.toString()).toBe('old');
      expect(engine.getSync(ks, k('x'))).toBeUndefined();
    });

    it('acknowledges each of many concurrent commits only once it is readable, with fewer groups than commits', async () => {
      const n = 500;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          engine.commit(new WriteBatch().put(ks, k(`c${i}`), k(String(i)))).then(() => engine.getSync(ks, k(`c${i}`))?.toString()),
        ),
      );
      expect(results).toEqual(Array.from({ length: n }, (_, i) => String(i)));
      const st = engine.stats().group_commit;
      expect(st.commits).toBe(n);
      expect(st.groups).toBeLessThan(n); // coalesced
      expect(st.groups).toBeGreaterThan(0);
    });

    it('group hooks add their operations to the LevelDB batch of the tagged commits: readable exactly when they are', async () => {
      const counts: number[] = [];
      let hooked = 0;
      const off = engine.onGroup('t', (n) => {
        counts.push(n);
        return new WriteBatch().put(other, k(`hook${++hooked}`), k(String(n)));
      });
      const n = 200;
      await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const b = new WriteBatch().put(ks, k(`g${i}`), k('x'));
          if (i % 2 === 0) b.tag('t');
          return engine.commit(b);
        }),
      );
      // Every tagged commit was counted once; each hook's operation is stored; fewer hooks than tagged commits (groups).
      expect(counts.reduce((a, b) => a + b, 0)).toBe(n / 2);
      expect(hooked).toBeLessThan(n / 2);
      for (let h = 1; h <= hooked; h++) expect(engine.getSync(other, k(`hook${h}`))?.toString()).toBe(String(counts[h - 1]));
      // A tagged batch without operations still reaches the hook.
      await engine.commit(new WriteBatch().tag('t'));
      expect(counts.at(-1)).toBe(1);
      off();
      await engine.commit(new WriteBatch().put(ks, k('after'), k('1')).tag('t'));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(n / 2 + 1);
    });

    it('snapshots see the store as of their creation', async () => {
      await engine.commit(new WriteBatch().put(ks, k('s'), k('before')).put(ks, k('t'), k('1')));
      const snap = engine.snapshot();
      await engine.commit(new WriteBatch().put(ks, k('s'), k('after')).del(ks, k('t')).put(ks, k('u'), k('new')));
      expect(engine.getSync(ks, k('s'), snap)?.toString()).toBe('before');
      expect((await engine.get(ks, k('t'), snap))?.toString()).toBe('1');
      expect(engine.getSync(ks, k('u'), snap)).toBeUndefined();
      const scanned: string[] = [];
      for await (const [key, v] of engine.scan(ks, { snapshot: snap })) scanned.push(`${key}=${v}`);
      expect(scanned).toEqual(['s=before', 't=1']);
      expect(engine.getSync(ks, k('s'))?.toString()).toBe('after');
      expect(engine.stats().open_snapshots).toBe(1);
      snap.close();
      expect(engine.stats().open_snapshots).toBe(0);
      expect(() => engine.getSync(ks, k('s'), snap)).toThrow(TypeError);
    });

    it('scans one keyspace in key order with bounds, limit and reverse', async () => {
      const b = new WriteBatch();
      for (const x of ['d', 'a', 'c', 'b', 'e']) b.put(ks, k(x), k(x.toUpperCase()));
      b.put(other, k('zz'), k('not mine'));
      await engine.commit(b);
      const collect = async (o: Parameters<Engine['scan']>[1]) => {
        const out: string[] = [];
        for await (const [key] of engine.scan(ks, o)) out.push(key.toString());
        return out;
      };
      expect(await collect({})).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(await collect({ gte: k('b'), lt: k('e') })).toEqual(['b', 'c', 'd']);
      expect(await collect({ gt: k('b'), lte: k('e'), limit: 2 })).toEqual(['c', 'd']);
      expect(await collect({ reverse: true, limit: 2 })).toEqual(['e', 'd']);
    });

    it('a text scan gives the same entries as strings (UTF-8 keys and values), with bounds, limit, reverse and keys only', async () => {
      const b = new WriteBatch();
      const keys = ['t\u0000a', 't\u0000\u00fc', 't\u0000x\u0000y', 't\u0000\u{1F600}', 'u\u0000a'];
      for (const x of keys) b.put(ks, Buffer.from(x, 'utf8'), Buffer.from(`\u0001{"k":${JSON.stringify(x)}}`, 'utf8'));
      await engine.commit(b);
      const text = async (o: Parameters<Engine['scanTextChunks']>[1], size = 2) => {
        const out: [string, string][] = [];
        for await (const chunk of engine.scanTextChunks(ks, o, size, 1)) out.push(...chunk);
        return out;
      };
      const buffers = async (o: Parameters<Engine['scanChunks']>[1]) => {
        const out: [string, string][] = [];
        for await (const chunk of engine.scanChunks(ks, o, 2, 1))
          for (const [key, v] of chunk) out.push([key.toString('utf8'), v.toString('utf8')]);
        return out;
      };
      const all = await text({});
      expect(all.map(([key]) => key)).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
      expect(all).toEqual(await buffers({}));
      expect(all[0]![1]).toBe('\u0001{"k":"t\\u0000a"}');
      const t = { gte: Buffer.from('t\u0000'), lt: Buffer.from('t\u0001') };
      expect(await text(t)).toEqual(await buffers(t));
      expect((await text({ ...t, reverse: true, limit: 2 })).map(([key]) => key)).toEqual(['t\u0000\u{1F600}', 't\u0000\u00fc']);
      expect((await text({ ...t, keysOnly: true })).every(([, v]) => v === '')).toBe(true);
      // bounds that are not UTF-8 would be misread as text: refused
      await expect(text({ gte: Buffer.from([0x74, 0xff]) })).rejects.toThrow(TypeError);
    });

    it('persists across close and reopen', async () => {
      await engine.commit(new WriteBatch().put(ks, k('p'), k('persisted')));
      await engine.close();
      engine = await Engine.open(dir, { sync });
      expect(engine.getSync(ks, k('p'))?.toString()).toBe('persisted');
    });

    it('reports stats and LevelDB properties', async () => {
      await engine.commit(new WriteBatch().put(ks, k('a'), Buffer.alloc(100)));
      engine.getSync(ks, k('a'));
      const st = engine.stats();
      expect(st.durability).toBe(sync ? 'sync' : 'relaxed');
      expect(st.bytes_written).toBeGreaterThanOrEqual(100);
      expect(st.bytes_read).toBe(100);
      expect(engine.property('leveldb.stats')).toContain('Compactions');
      expect(engine.healthy()).toBe(true);
    });

    it('refuses work after close with UNAVAILABLE and waits for queued commits on close', async () => {
      const pending = engine.commit(new WriteBatch().put(ks, k('late'), k('1')));
      await engine.close();
      await pending; // close waited for it
      expect(engine.healthy()).toBe(false);
      const err = (() => {
        try {
          engine.getSync(ks, k('a'));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ThemisError);
      expect((err as ThemisError).code).toBe('UNAVAILABLE');
      engine = await Engine.open(dir, { sync });
      expect(engine.getSync(ks, k('late'))?.toString()).toBe('1');
    });
  });
}

describe('Engine.open', () => {
  it('refuses a data directory locked by another open engine', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-engine-'));
    const a = await Engine.open(dir, { sync: true });
    await expect(Engine.open(dir, { sync: true })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await a.close();
  });

  it('refuses a data directory of a newer format', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-engine-'));
    const a = await Engine.open(dir, { sync: true });
    await a.commit(new WriteBatch().put(keyspace('meta'), k('format_version'), k('999')));
    await a.close();
    await expect(Engine.open(dir, { sync: true })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('format 999'),
    });
  });
});
