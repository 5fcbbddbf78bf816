/**
 * Vector indexes across restarts: the graph is checkpointed to
 * `<dataDir>/vector/index-<id>.ckpt` (at shutdown, after a create) and
 * rebuilt at start from the checkpoint plus the change log after it, or
 * from the stored entities when the checkpoint is missing or unusable.
 * After every restart the index must equal the stored vectors: same keys,
 * each at the distance of its latest stored vector.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/random.js';
import { call, startServer, tempDir, type Body, type StartedServer } from '../helpers/server.js';

interface Hit {
  pk: string;
  distance: number;
}

interface IndexStats {
  objectName: string;
  dimension: number | null;
  metric: string;
  efSearch: number;
  vectorCount: number;
  deletedSlots: number;
  capacity: number;
  loaded_from: 'new' | 'checkpoint' | 'rebuild';
}

const D = 8;
const randVec = (rnd: () => number, d = D) => Array.from({ length: d }, () => rnd() * 2 - 1);
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const cosine = (a: readonly number[], b: readonly number[]) => 1 - dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
const l2 = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);

async function ok(p: Promise<{ status: number; body: Body }>, status = 200): Promise<Body> {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

const search = async (s: StartedServer, body: Record<string, unknown>) =>
  ((await ok(call(s, 'POST', '/vector/search', body))) as { results: Hit[] }).results;
const stats = async (s: StartedServer, index?: string) =>
  (await ok(call(s, 'GET', `/vector/index/stats${index ? `?index=${index}` : ''}`))) as unknown as IndexStats;
const batchInsert = async (s: StartedServer, body: Record<string, unknown>) => ok(call(s, 'POST', '/vector/batch_insert', body));

/** Documents of `keys` (table:pk) that hold an array under `field`: pk -> vector. */
async function storedVectors(s: StartedServer, keys: Iterable<string>, field = 'embedding'): Promise<Map<string, number[]>> {
  const all = [...keys];
  const out = new Map<string, number[]>();
  for (let i = 0; i < all.length; i += 100) {
    const chunk = all.slice(i, i + 100);
    const got = await Promise.all(
      chunk.map(async (key) => {
        const r = await call(s, 'GET', `/entities/${key}`);
        if (r.status === 404) return undefined;
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return JSON.parse(r.body.blob as string) as Record<string, unknown>;
      }),
    );
    got.forEach((doc, j) => {
      const v = doc?.[field];
      if (Array.isArray(v)) out.set(chunk[j]!.slice(chunk[j]!.indexOf(':') + 1), v as number[]);
    });
  }
  return out;
}

/**
 * The index holds exactly `expected` (pk -> vector): vectorCount, and one exhaustive search returning every
 * pk at the distance of its vector.
 */
async function expectIndexEquals(
  s: StartedServer,
  index: string | undefined,
  expected: ReadonlyMap<string, number[]>,
  dist: (a: number[], b: number[]) => number,
  q: number[],
): Promise<void> {
  const st = await stats(s, index);
  expect(st.vectorCount, `vectorCount of ${index ?? 'vector_index'}`).toBe(expected.size);
  const hits = await search(s, { ...(index ? { index } : {}), vector: q, k: Math.max(1, Math.min(10_000, expected.size + 10)) });
  const got = hits.map((h) => h.pk).sort();
  const want = [...expected.keys()].sort();
  const missing = want.filter((pk) => !got.includes(pk));
  const extra = got.filter((pk) => !expected.has(pk));
  expect({ missing: missing.slice(0, 20), extra: extra.slice(0, 20), missingCount: missing.length, extraCount: extra.length }).toEqual({
    missing: [],
    extra: [],
    missingCount: 0,
    extraCount: 0,
  });
  expect(hits.length).toBe(expected.size);
  const wrong = hits.filter((h) => Math.abs(h.distance - dist(q, expected.get(h.pk)!)) > 1e-4).slice(0, 10);
  expect(wrong, 'hits whose distance is not that of the stored vector').toEqual([]);
}

/** Top 10 by brute force. */
function top10(expected: ReadonlyMap<string, number[]>, dist: (a: number[], b: number[]) => number, q: number[]): string[] {
  return [...expected]
    .map(([pk, v]) => ({ pk, d: dist(q, v) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, 10)
    .map((x) => x.pk);
}

function checkpointFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'vector');
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => /^index-\d+\.ckpt$/.test(f))
        .sort()
    : [];
}

describe('vector index persistence', () => {
  it('graceful restart: same results from the checkpoint; efSearch and named indexes persist; deleted slots are still reused', async () => {
    const dataDir = tempDir();
    const rnd = prng(1);
    const a = await startServer({ dataDir });
    const items = Array.from({ length: 400 }, (_, i) => ({ pk: `v${i}`, vector: randVec(rnd), fields: { g: i % 10 } }));
    expect((await batchInsert(a, { items })).inserted).toBe(400);
    await ok(call(a, 'POST', '/vector/index/create', { name: 'named_l2', table: 'nt', metric: 'L2', efSearch: 40 }), 201);
    const named = Array.from({ length: 300 }, (_, i) => ({ pk: `n${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(a, { index: 'named_l2', items: named })).inserted).toBe(300);
    await ok(call(a, 'PUT', '/vector/index/config', { efSearch: 123 }));
    expect(await ok(call(a, 'DELETE', '/vector/by-filter', { pks: Array.from({ length: 20 }, (_, i) => `v${i * 7}`) }))).toMatchObject({
      deleted: 20,
    });

    const queries = Array.from({ length: 5 }, () => randVec(rnd));
    const record = async (s: StartedServer) => ({
      stats: [await stats(s), await stats(s, 'named_l2')],
      default: await Promise.all(queries.map((q) => search(s, { vector: q, k: 10 }))),
      filtered: await Promise.all(queries.map((q) => search(s, { vector: q, k: 5, filter: { fields: { g: 3 } } }))),
      named: await Promise.all(queries.map((q) => search(s, { index: 'named_l2', vector: q, k: 10 }))),
      everything: (await search(s, { vector: queries[0], k: 10_000 })).map((h) => h.pk).sort(),
    });
    const before = await record(a);
    expect(before.stats[0]).toMatchObject({ vectorCount: 380, deletedSlots: 20, efSearch: 123, loaded_from: 'new' });
    expect(before.stats[1]).toMatchObject({ vectorCount: 300, deletedSlots: 0, efSearch: 40, metric: 'L2', loaded_from: 'new' });
    expect(await a.stop()).toBe(0);
    expect(checkpointFiles(dataDir).length).toBe(2);

    const b = await startServer({ dataDir });
    const after = await record(b);
    expect(after.stats[0]).toEqual({ ...before.stats[0], loaded_from: 'checkpoint' });
    expect(after.stats[1]).toEqual({ ...before.stats[1], loaded_from: 'checkpoint' });
    expect(after.default).toEqual(before.default);
    expect(after.filtered).toEqual(before.filtered);
    expect(after.named).toEqual(before.named);
    expect(after.everything).toEqual(before.everything);
    expect(((await ok(call(b, 'GET', '/vector/index/config'))) as { efSearch: number }).efSearch).toBe(123);
    const list = ((await ok(call(b, 'GET', '/vector/indexes'))) as { indexes: IndexStats[] }).indexes;
    expect(list.map((x) => x.objectName).sort()).toEqual(['named_l2', 'vector_index']);

    // The restored graph still hands deleted slots to new vectors, and finds them.
    const fresh = Array.from({ length: 15 }, (_, i) => ({ pk: `after${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(b, { items: fresh })).inserted).toBe(15);
    expect(await stats(b)).toMatchObject({ vectorCount: 395, deletedSlots: 5, capacity: before.stats[0]!.capacity });
    for (const f of fresh) expect((await search(b, { vector: f.vector, k: 1 }))[0]!.pk).toBe(f.pk);
    const expected = new Map([...items.filter((_, i) => i % 7 !== 0 || i / 7 >= 20), ...fresh].map((x) => [x.pk, x.vector]));
    await expectIndexEquals(b, undefined, expected, cosine, queries[1]!);
    await b.stop();
  });

  it('kill -9 after a checkpoint: later writes and deletes are replayed from the change log', async () => {
    const dataDir = tempDir();
    const rnd = prng(2);
    const a = await startServer({ dataDir });
    const model = new Map<string, number[]>(); // default index: pk -> vector
    const base = Array.from({ length: 500 }, (_, i) => ({ pk: `b${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(a, { items: base })).inserted).toBe(500);
    for (const x of base) model.set(x.pk, x.vector);
    // A named index whose table already holds vectors (the create's checkpoint has its dimension).
    await ok(
      call(a, 'POST', '/transaction', {
        operations: Array.from({ length: 50 }, (_, i) => ({ op: 'put', key: `lt:l${i}`, blob: { vec: randVec(rnd) } })),
      }),
    );
    expect(await a.stop()).toBe(0);

    const b = await startServer({ dataDir });
    expect((await stats(b)).loaded_from).toBe('checkpoint');
    await ok(call(b, 'POST', '/vector/index/create', { name: 'late', table: 'lt', field: 'vec', metric: 'L2' }), 201);
    const lateModel = await storedVectors(
      b,
      Array.from({ length: 50 }, (_, i) => `lt:l${i}`),
      'vec',
    );
    expect(lateModel.size).toBe(50);

    // Later writes of every kind.
    const added = Array.from({ length: 100 }, (_, i) => ({ pk: `n${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(b, { items: added })).inserted).toBe(100);
    for (const x of added) model.set(x.pk, x.vector);
    const delPks = Array.from({ length: 30 }, (_, i) => `b${i}`);
    expect(await ok(call(b, 'DELETE', '/vector/by-filter', { pks: delPks }))).toMatchObject({ deleted: 30 });
    for (const pk of delPks) model.delete(pk);
    expect(await ok(call(b, 'DELETE', '/vector/by-filter', { prefix: 'n9' }))).toMatchObject({ deleted: 11 }); // n9, n90-n99
    for (const pk of [...model.keys()].filter((k) => k.startsWith('n9'))) model.delete(pk);
    for (let i = 30; i < 50; i++) {
      const v = randVec(rnd);
      await ok(call(b, 'PUT', `/entities/vectors:b${i}`, { blob: { embedding: v, updated: true } }), 201);
      model.set(`b${i}`, v);
    }
    for (let i = 50; i < 60; i++) {
      await ok(call(b, 'DELETE', `/entities/vectors:b${i}`));
      model.delete(`b${i}`);
    }
    for (let i = 60; i < 70; i++) {
      await ok(call(b, 'PUT', `/entities/vectors:b${i}`, { blob: { vector_removed: true } }), 201);
      model.delete(`b${i}`);
    }
    const tv = randVec(rnd);
    await ok(
      call(b, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'vectors:t1', blob: { embedding: tv } },
          { op: 'delete', key: 'vectors:b70' },
        ],
      }),
    );
    model.set('t1', tv);
    model.delete('b70');
    const rolledBack = Number((await ok(call(b, 'POST', '/transaction/begin', {}))).transaction_id);
    await ok(
      call(b, 'PUT', '/entities/vectors:rb', { blob: { embedding: randVec(rnd) } }, { 'x-transaction-id': String(rolledBack) }),
      201,
    );
    await ok(call(b, 'POST', '/transaction/rollback', { transaction_id: rolledBack }));
    for (let i = 0; i < 10; i++) {
      const v = randVec(rnd);
      await ok(call(b, 'PUT', `/entities/lt:l${i}`, { blob: { vec: v } }), 201);
      lateModel.set(`l${i}`, v);
    }
    await ok(call(b, 'DELETE', '/entities/lt:l10'));
    lateModel.delete('l10');
    const q = randVec(rnd);
    await expectIndexEquals(b, undefined, model, cosine, q);
    await expectIndexEquals(b, 'late', lateModel, l2, q);
    const beforeKill = await search(b, { vector: q, k: 10 });
    await b.kill();

    const c = await startServer({ dataDir });
    expect((await stats(c)).loaded_from).toBe('checkpoint');
    expect((await stats(c, 'late')).loaded_from).toBe('checkpoint');
    // The store agrees with the model, and the index with the store.
    const touched = [...base.map((x) => x.pk), ...added.map((x) => x.pk), 't1', 'rb'].map((pk) => `vectors:${pk}`);
    const stored = await storedVectors(c, touched);
    expect([...stored.keys()].sort()).toEqual([...model.keys()].sort());
    await expectIndexEquals(c, undefined, stored, cosine, q);
    await expectIndexEquals(c, 'late', lateModel, l2, q);
    expect((await search(c, { vector: q, k: 10 })).map((h) => h.pk)).toEqual(beforeKill.map((h) => h.pk));
    expect((await search(c, { vector: q, k: 10 })).map((h) => h.pk)).toEqual(top10(model, cosine, q));
    for (const pk of ['n0', 'n50', 't1', 'b30', 'b49']) expect((await search(c, { vector: model.get(pk), k: 1 }))[0]!.pk, pk).toBe(pk);
    await c.stop();
  });

  it('a corrupt, truncated or missing checkpoint is rebuilt from the entities', async () => {
    const dataDir = tempDir();
    const rnd = prng(3);
    const a = await startServer({ dataDir });
    const items = Array.from({ length: 300 }, (_, i) => ({ pk: `c${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(a, { items })).inserted).toBe(300);
    expect(await ok(call(a, 'DELETE', '/vector/by-filter', { pks: ['c29'] }))).toMatchObject({ deleted: 1 });
    const model = new Map(items.filter((x) => x.pk !== 'c29').map((x) => [x.pk, x.vector]));
    const queries = Array.from({ length: 3 }, () => randVec(rnd));
    expect(await a.stop()).toBe(0);
    const files = checkpointFiles(dataDir);
    expect(files.length).toBe(1); // only the default index
    const file = path.join(dataDir, 'vector', files[0]!);

    const verify = async (s: StartedServer, from: IndexStats['loaded_from']) => {
      expect(await stats(s)).toMatchObject({ loaded_from: from, vectorCount: 299, dimension: D });
      await expectIndexEquals(s, undefined, model, cosine, queries[0]!);
      for (const q of queries) expect((await search(s, { vector: q, k: 10 })).map((h) => h.pk)).toEqual(top10(model, cosine, q));
      // And it keeps working.
      const v = randVec(rnd);
      expect((await batchInsert(s, { items: [{ pk: 'probe', vector: v }] })).inserted).toBe(1);
      expect((await search(s, { vector: v, k: 1 }))[0]!.pk).toBe('probe');
      expect(await ok(call(s, 'DELETE', '/vector/by-filter', { pks: ['probe'] }))).toMatchObject({ deleted: 1 });
    };

    // Flipped bytes in the middle of the file.
    const buf = fs.readFileSync(file);
    expect(buf.length).toBeGreaterThan(1000);
    for (let i = 0; i < 16; i++) buf[Math.floor(buf.length / 2) + i]! ^= 0xff;
    fs.writeFileSync(file, buf);
    const b = await startServer({ dataDir });
    await verify(b, 'rebuild');
    expect(await b.stop()).toBe(0);
    expect(fs.existsSync(file)).toBe(true); // the rebuilt graph was checkpointed at shutdown

    const c = await startServer({ dataDir });
    await verify(c, 'checkpoint');
    expect(await c.stop()).toBe(0);

    // Missing.
    fs.rmSync(file);
    const d = await startServer({ dataDir });
    await verify(d, 'rebuild');
    expect(await d.stop()).toBe(0);

    // Truncated.
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 3)));
    const e = await startServer({ dataDir });
    await verify(e, 'rebuild');
    await e.kill();

    // Another file's content (a checkpoint of another index definition) is not used either.
    const f0 = await startServer({ dataDir });
    await ok(call(f0, 'POST', '/vector/index/create', { name: 'other', table: 'ot', dimension: D }), 201);
    await batchInsert(f0, { index: 'other', items: [{ pk: 'x', vector: randVec(rnd) }] });
    expect(await f0.stop()).toBe(0);
    const [defFile, otherFile] = checkpointFiles(dataDir).map((n) => path.join(dataDir, 'vector', n));
    expect(otherFile).toBeDefined();
    fs.copyFileSync(otherFile!, defFile!);
    const g = await startServer({ dataDir });
    await verify(g, 'rebuild');
    expect(await stats(g, 'other')).toMatchObject({ loaded_from: 'checkpoint', vectorCount: 1 });
    await g.stop();
  }, 120_000); // seven server starts: more than the default 30 s on a loaded machine

  it('kill -9 during concurrent inserts and deletes: after the restart the index equals the stored vectors', async () => {
    const dataDir = tempDir();
    const rnd = prng(4);
    const a = await startServer({ dataDir });
    const base = Array.from({ length: 400 }, (_, i) => ({ pk: `base${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(a, { items: base })).inserted).toBe(400);
    expect(await a.stop()).toBe(0);

    const b = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'sync' } });
    const touched = new Set<string>(base.map((x) => `vectors:${x.pk}`));
    const ackedInserts: string[] = [];
    const targeted = new Set<string>();
    const failures: string[] = [];
    let dead = false;
    let inserted = 0;
    const send = async (method: string, p: string, body?: unknown, headers?: Record<string, string>) => {
      try {
        return await call(b, method, p, body, headers);
      } catch (e) {
        if (dead) return undefined;
        throw e;
      }
    };
    const check = (r: { status: number; body: Body } | undefined, want: number) => {
      if (r && r.status !== want && !dead) failures.push(`${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      return r?.status === want;
    };

    const batchWriter = async (w: number) => {
      const r = prng(10 + w);
      for (let i = 0; !dead && inserted < 6000; i++) {
        const items = Array.from({ length: 10 }, (_, j) => ({ pk: `w${w}-${i}-${j}`, vector: randVec(r) }));
        for (const it of items) touched.add(`vectors:${it.pk}`);
        const res = await send('POST', '/vector/batch_insert', { items });
        if (check(res, 200)) {
          ackedInserts.push(...items.map((it) => it.pk));
          inserted += 10;
        }
      }
    };
    const deleter = async (w: number) => {
      const r = prng(20 + w);
      while (!dead) {
        if (ackedInserts.length < 10) {
          await new Promise((res) => setTimeout(res, 5));
          continue;
        }
        const pks = Array.from({ length: 3 }, () => ackedInserts[Math.floor(r() * ackedInserts.length)]!);
        for (const pk of pks) targeted.add(pk);
        check(await send('DELETE', '/vector/by-filter', { pks }), 200);
      }
    };
    const entityWriter = async (w: number) => {
      const r = prng(30 + w);
      for (let i = 0; !dead; i++) {
        const key = `vectors:e${w}-${i}`;
        touched.add(key);
        check(await send('PUT', `/entities/${key}`, { blob: { embedding: randVec(r), i } }), 201);
        if (i > 0 && i % 3 === 0) check(await send('PUT', `/entities/vectors:e${w}-${i - 1}`, { blob: { no_vector: i } }), 201);
        if (i > 1 && i % 5 === 0) check(await send('DELETE', `/entities/vectors:e${w}-${i - 2}`), 200);
        if (i % 4 === 0) check(await send('DELETE', `/entities/vectors:base${Math.floor(r() * 400)}`), 200);
        if (i % 4 === 2)
          check(await send('PUT', `/entities/vectors:base${Math.floor(r() * 400)}`, { blob: { embedding: randVec(r), moved: true } }), 201);
      }
    };
    const txnWriter = async () => {
      const r = prng(40);
      for (let i = 0; !dead; i++) {
        const keys = [0, 1, 2].map((j) => `vectors:t${i}-${j}`);
        for (const k of keys) touched.add(k);
        check(
          await send('POST', '/transaction', {
            operations: [
              ...keys.map((key) => ({ op: 'put', key, blob: { embedding: randVec(r) } })),
              { op: 'delete', key: `vectors:base${Math.floor(r() * 400)}` },
            ],
          }),
          200,
        );
      }
    };
    const all = Promise.all([0, 1, 2, 3].map(batchWriter).concat([0, 1].map(deleter), [0, 1].map(entityWriter), [txnWriter()]));
    await new Promise((res) => setTimeout(res, 1500));
    dead = true;
    await b.kill();
    await all;
    expect(failures).toEqual([]);
    expect(ackedInserts.length).toBeGreaterThan(200);
    expect(targeted.size).toBeGreaterThan(10);

    const c = await startServer({ dataDir });
    const stored = await storedVectors(c, touched);
    // Acknowledged inserts that no delete targeted are there.
    const lost = ackedInserts.filter((pk) => !targeted.has(pk) && !stored.has(pk));
    expect(lost).toEqual([]);
    expect(stored.size).toBeLessThanOrEqual(10_000);
    await expectIndexEquals(c, undefined, stored, cosine, randVec(rnd));
    expect(await stats(c)).toMatchObject({ loaded_from: 'checkpoint', vectorCount: stored.size });
    // And it takes new writes.
    const v = randVec(rnd);
    expect((await batchInsert(c, { items: [{ pk: 'after-crash', vector: v }] })).inserted).toBe(1);
    expect((await search(c, { vector: v, k: 1 }))[0]!.pk).toBe('after-crash');
    await c.stop();
  });
  it('kill -9 before any checkpoint holds the fixed dimension: indexes, efSearch and drops survive', async () => {
    const dataDir = tempDir();
    const rnd = prng(5);
    const a = await startServer({ dataDir });
    const items = Array.from({ length: 200 }, (_, i) => ({ pk: `k${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(a, { items })).inserted).toBe(200);
    await ok(call(a, 'PUT', '/vector/index/config', { efSearch: 99 }));
    await ok(call(a, 'POST', '/vector/index/create', { name: 'k9', table: 'k9t', metric: 'L2' }), 201);
    const named = Array.from({ length: 50 }, (_, i) => ({ pk: `m${i}`, vector: randVec(rnd) }));
    expect((await batchInsert(a, { index: 'k9', items: named })).inserted).toBe(50);
    await ok(call(a, 'POST', '/vector/index/create', { name: 'gone', table: 'k9t', metric: 'L2' }), 201);
    const goneFiles = checkpointFiles(dataDir);
    expect(goneFiles.length).toBe(3); // every create checkpoints its index
    await ok(call(a, 'POST', '/vector/index/drop', { name: 'gone' }));
    expect(checkpointFiles(dataDir).length).toBe(2);
    await a.kill();

    const b = await startServer({ dataDir });
    const list = ((await ok(call(b, 'GET', '/vector/indexes'))) as { indexes: IndexStats[] }).indexes;
    expect(list.map((x) => x.objectName).sort()).toEqual(['k9', 'vector_index']);
    expect(await stats(b)).toMatchObject({ dimension: D, efSearch: 99 });
    expect(await stats(b, 'k9')).toMatchObject({ dimension: D, metric: 'L2' });
    const q = randVec(rnd);
    await expectIndexEquals(b, undefined, new Map(items.map((x) => [x.pk, x.vector])), cosine, q);
    await expectIndexEquals(b, 'k9', new Map(named.map((x) => [x.pk, x.vector])), l2, q);
    // The dropped index is gone for good: its name is free, and the table is not validated by it.
    await ok(call(b, 'PUT', '/entities/k9t:x', { blob: { embedding: randVec(rnd) } }), 201);
    const re = await ok(call(b, 'POST', '/vector/index/create', { name: 'gone', table: 'k9t', metric: 'L2' }), 201);
    expect(re).toMatchObject({ objectName: 'gone', dimension: D });
    expect((await stats(b, 'gone')).vectorCount).toBe(51);
    await b.stop();
  });

  it('kill -9 while a create backfills: after the restart the index is complete (or absent), never partial', async () => {
    const dataDir = tempDir();
    const rnd = prng(6);
    const a = await startServer({ dataDir });
    const N = 9_000;
    const vectors = new Map<string, number[]>();
    for (let off = 0; off < N; off += 1000) {
      const ops = Array.from({ length: 1000 }, (_, j) => {
        const v = randVec(rnd);
        vectors.set(`g${off + j}`, v);
        return { op: 'put', key: `big:g${off + j}`, blob: { embedding: v } };
      });
      await ok(call(a, 'POST', '/transaction', { operations: ops }));
    }
    const create = call(a, 'POST', '/vector/index/create', { name: 'bigix', table: 'big' }).catch(() => undefined);
    let seenBuilding = false;
    for (let i = 0; i < 500; i++) {
      const list = ((await ok(call(a, 'GET', '/vector/indexes'))) as { indexes: (IndexStats & { state: string })[] }).indexes;
      const ix = list.find((x) => x.objectName === 'bigix');
      if (ix?.state === 'ready') break;
      if (ix?.state === 'building' && ix.vectorCount >= 1000) {
        seenBuilding = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await a.kill();
    await create;
    expect(seenBuilding, 'the kill should land during the backfill').toBe(true);

    const b = await startServer({ dataDir });
    const list = ((await ok(call(b, 'GET', '/vector/indexes'))) as { indexes: (IndexStats & { state: string })[] }).indexes;
    const ix = list.find((x) => x.objectName === 'bigix');
    if (ix) {
      expect(ix).toMatchObject({ state: 'ready', vectorCount: N, dimension: D });
      await expectIndexEquals(b, 'bigix', vectors, cosine, randVec(rnd));
    } else {
      await ok(call(b, 'POST', '/vector/index/create', { name: 'bigix', table: 'big' }), 201);
      expect((await stats(b, 'bigix')).vectorCount).toBe(N);
    }
    await b.stop();
  });
});
