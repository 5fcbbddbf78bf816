/**
 * Vector search (HNSW) over HTTP, black-box against the built server.
 *
 * Results are checked against a brute-force ranking computed here from the
 * metric definitions (hnswlib's distances): COSINE 1 − cos, L2 squared
 * Euclidean, IP 1 − dot. hnswlib keeps float32 vectors, so distances are
 * compared to 1e-4.
 */
import type { BatchInsertResponse } from '../../src/index/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../helpers/random.js';
import { call, startServer, type Body, type StartedServer } from '../helpers/server.js';

// ---------------------------------------------------------------- reference

type Metric = 'COSINE' | 'L2' | 'IP';

interface Hit {
  pk: string;
  distance: number;
}

interface Item {
  pk: string;
  vector: number[];
  fields?: Record<string, unknown>;
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

function distance(metric: Metric, a: readonly number[], b: readonly number[]): number {
  if (metric === 'L2') return a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);
  if (metric === 'IP') return 1 - dot(a, b);
  return 1 - dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

/** Exact ranking of `items` (those `pred` accepts) by distance to `q`, nearest first. */
function bruteForce(
  metric: Metric,
  q: readonly number[],
  items: readonly Item[],
  k: number,
  pred: (it: Item) => boolean = () => true,
): Hit[] {
  return items
    .filter(pred)
    .map((it) => ({ pk: it.pk, distance: distance(metric, q, it.vector) }))
    .sort((x, y) => x.distance - y.distance)
    .slice(0, k);
}

const randVec = (rnd: () => number, d: number) => Array.from({ length: d }, () => rnd() * 2 - 1);

// ---------------------------------------------------------------- HTTP helpers

interface SearchResponse {
  results: Hit[];
  k: number;
  count: number;
}

interface PageResponse {
  items: Hit[];
  batch_size: number;
  has_more: boolean;
  next_cursor: string | null;
  k: number;
  count: number;
}

interface IndexConfig {
  objectName: string;
  dimension: number | null;
  metric: Metric;
  efSearch: number;
  M: number;
  efConstruction: number;
  hnswEnabled: boolean;
  table: string;
  field: string;
  state: string;
  created_at: string;
}

interface IndexStats extends IndexConfig {
  vectorCount: number;
  deletedSlots: number;
  capacity: number;
  loaded_from: 'new' | 'checkpoint' | 'rebuild';
}

type BatchResponse = BatchInsertResponse;

async function ok(p: Promise<{ status: number; body: Body }>, status = 200): Promise<Body> {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

function expectError(r: { status: number; body: Body }, status: number, code?: string, field?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toMatchObject({ error: true, status_code: status, message: expect.any(String) });
  if (code !== undefined) expect(r.body.code, JSON.stringify(r.body)).toBe(code);
  if (field !== undefined) expect(r.body.field, JSON.stringify(r.body)).toBe(field);
}

const search = async (s: StartedServer, body: Record<string, unknown>) =>
  (await ok(call(s, 'POST', '/vector/search', body))) as unknown as SearchResponse;
const page = async (s: StartedServer, body: Record<string, unknown>) =>
  (await ok(call(s, 'POST', '/vector/search', body))) as unknown as PageResponse;
const batchInsert = async (s: StartedServer, body: Record<string, unknown>) =>
  (await ok(call(s, 'POST', '/vector/batch_insert', body))) as unknown as BatchResponse;
const stats = async (s: StartedServer, index?: string) =>
  (await ok(call(s, 'GET', `/vector/index/stats${index ? `?index=${index}` : ''}`))) as unknown as IndexStats;
const config = async (s: StartedServer, index?: string) =>
  (await ok(call(s, 'GET', `/vector/index/config${index ? `?index=${index}` : ''}`))) as unknown as IndexConfig;
const createIndex = async (s: StartedServer, body: Record<string, unknown>) =>
  (await ok(call(s, 'POST', '/vector/index/create', body), 201)) as unknown as IndexConfig & { success: boolean };

/** The stored document of an entity, or undefined on 404. */
async function getDoc(s: StartedServer, key: string): Promise<Record<string, unknown> | undefined> {
  const r = await call(s, 'GET', `/entities/${key}`);
  if (r.status === 404) return undefined;
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.key).toBe(key);
  return JSON.parse(r.body.blob as string) as Record<string, unknown>;
}

/** Every pk of the index (k = 10,000 covers all in these tests). */
async function allPks(s: StartedServer, index: string | undefined, q: number[]): Promise<Set<string>> {
  const r = await search(s, { ...(index ? { index } : {}), vector: q, k: 10_000 });
  return new Set(r.results.map((h) => h.pk));
}

/** Hits sorted by distance ascending, with finite numeric distances. */
function expectSorted(hits: readonly Hit[]): void {
  for (const h of hits)
    expect(typeof h.distance === 'number' && Number.isFinite(h.distance), `distance of ${h.pk}: ${String(h.distance)}`).toBe(true);
  for (let i = 1; i < hits.length; i++)
    expect(hits[i]!.distance, `order at ${i}: ${JSON.stringify(hits)}`).toBeGreaterThanOrEqual(hits[i - 1]!.distance);
}

/**
 * The server's hits against the exact ranking: same length, distances rank by rank to 1e-4, and the same
 * pks in the same order, except that pks whose exact distances differ by less than 1e-5 (float32 ties) may swap.
 */
function expectExact(got: readonly Hit[], want: readonly Hit[], msg = ''): void {
  const show = () => `${msg}\ngot  ${JSON.stringify(got.slice(0, 20))}\nwant ${JSON.stringify(want.slice(0, 20))}`;
  expect(got.length, show()).toBe(want.length);
  got.forEach((h, i) => {
    expect(Math.abs(h.distance - want[i]!.distance), `${msg} rank ${i} ${h.pk}: ${h.distance} vs ${want[i]!.distance}`).toBeLessThan(1e-4);
  });
  got.forEach((h, i) => {
    if (h.pk === want[i]!.pk) return;
    const tie = want.find((w) => w.pk === h.pk);
    const last = want[want.length - 1]!.distance;
    const ok = tie ? Math.abs(tie.distance - want[i]!.distance) < 1e-5 : Math.abs(h.distance - last) < 1e-5;
    expect(ok, `rank ${i}: ${h.pk} instead of ${want[i]!.pk}; ${show()}`).toBe(true);
  });
  expect(new Set(got.map((h) => h.pk)).size, show()).toBe(got.length);
}

// ---------------------------------------------------------------- tests

let s: StartedServer;

beforeAll(async () => {
  s = await startServer();
});

afterAll(async () => {
  await s?.stop();
});

describe('default index vector_index', () => {
  it('exists from the start with the default configuration and no dimension', async () => {
    const c = await config(s);
    expect(c).toEqual({
      objectName: 'vector_index',
      dimension: null,
      metric: 'COSINE',
      efSearch: 64,
      M: 16,
      efConstruction: 200,
      hnswEnabled: true,
      table: 'vectors',
      field: 'embedding',
      state: 'ready',
      created_at: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(c.created_at))).toBe(false);
    expect(await stats(s)).toEqual({ ...c, vectorCount: 0, deletedSlots: 0, capacity: 0, loaded_from: 'new' });
    const list = (await ok(call(s, 'GET', '/vector/indexes'))) as { indexes: IndexStats[] };
    expect(list.indexes).toEqual([{ ...c, vectorCount: 0, deletedSlots: 0, capacity: 0, loaded_from: 'new' }]);
    // An empty index without a dimension answers any well-formed query with nothing.
    expect(await search(s, { vector: [1, 2, 3] })).toEqual({ results: [], k: 10, count: 0 });
    expect(await search(s, { vector: [1, 2, 3, 4, 5], k: 3 })).toEqual({ results: [], k: 3, count: 0 });
  });

  it('batch_insert: valid items are written in one commit, invalid ones are counted and described; the first vector fixes the dimension', async () => {
    const before = (await ok(call(s, 'GET', '/changefeed/stats'))) as { last_seq: number };
    const items: unknown[] = [
      { pk: 'bad-first', vector: 'not a vector' }, // 0: not an array (and must not fix the dimension)
      { pk: 'a', vector: [1, 0, 0, 0], fields: { color: 'red', n: 1 } }, // 1: fixes dimension 4
      { pk: 'b', vector: [0, 1, 0, 0] }, // 2
      { pk: 'short', vector: [1, 2, 3] }, // 3: wrong dimension
      { pk: '', vector: [1, 1, 1, 1] }, // 4: empty pk
      { pk: 'a', vector: [1, 1, 1, 1] }, // 5: repeated pk
      { pk: 'zero', vector: [0, 0, 0, 0] }, // 6: zero vector under COSINE
      { pk: 'str', vector: ['1', 0, 0, 0] }, // 7: string element
      { pk: 'nul', vector: [null, 1, 0, 0] }, // 8: null element
      { pk: 'fields-num', vector: [1, 1, 0, 0], fields: 5 }, // 9: fields not an object
      { pk: 'fields-arr', vector: [1, 1, 0, 0], fields: [1] }, // 10: fields not an object
      { vector: [1, 1, 0, 0] }, // 11: no pk
      { pk: 'c', vector: [0, 0, 1, 0], fields: { color: 'blue', embedding: 'overwritten' } }, // 12
      'not an item', // 13
    ];
    const r = await batchInsert(s, { items });
    expect(r).toMatchObject({ inserted: 3, errors: 11, objectName: 'vector_index', dimension: 4, table: 'vectors' });
    expect(r.error_details.map((e) => [e.index, e.pk])).toEqual([
      [0, 'bad-first'],
      [3, 'short'],
      [4, ''],
      [5, 'a'],
      [6, 'zero'],
      [7, 'str'],
      [8, 'nul'],
      [9, 'fields-num'],
      [10, 'fields-arr'],
      [11, null],
      [13, null],
    ]);
    for (const e of r.error_details) expect(e.message.length, JSON.stringify(e)).toBeGreaterThan(0);
    expect(r.error_details[1]!.message).toMatch(/dimension/);
    expect(r.error_details[3]!.message).toMatch(/earlier|repeat|duplicate/i);
    expect(r.error_details[4]!.message).toMatch(/zero/);

    // The entities: fields plus the vector under the index's field.
    expect(await getDoc(s, 'vectors:a')).toEqual({ color: 'red', n: 1, embedding: [1, 0, 0, 0] });
    expect(await getDoc(s, 'vectors:b')).toEqual({ embedding: [0, 1, 0, 0] });
    expect(await getDoc(s, 'vectors:c')).toEqual({ color: 'blue', embedding: [0, 0, 1, 0] });
    for (const pk of ['bad-first', 'short', 'zero', 'str', 'nul', 'fields-num', 'fields-arr'])
      expect(await getDoc(s, `vectors:${pk}`), pk).toBeUndefined();

    // One commit: the three puts share one transaction in the change feed, contiguously.
    const feed = (await ok(call(s, 'GET', `/changefeed?from_seq=${before.last_seq}&limit=100`))) as {
      entries: { seq: number; key: string; txn_id: string; op: string }[];
    };
    expect(feed.entries.map((e) => [e.op, e.key]).sort()).toEqual([
      ['put', 'vectors:a'],
      ['put', 'vectors:b'],
      ['put', 'vectors:c'],
    ]);
    expect(new Set(feed.entries.map((e) => e.txn_id)).size).toBe(1);
    expect(feed.entries.map((e) => e.seq)).toEqual([before.last_seq + 1, before.last_seq + 2, before.last_seq + 3]);

    expect((await config(s)).dimension).toBe(4);
    expect(await stats(s)).toMatchObject({ dimension: 4, vectorCount: 3, deletedSlots: 0 });
    const hits = await search(s, { vector: [1, 0.1, 0, 0], k: 10 });
    expectExact(
      hits.results,
      bruteForce(
        'COSINE',
        [1, 0.1, 0, 0],
        [
          { pk: 'a', vector: [1, 0, 0, 0] },
          { pk: 'b', vector: [0, 1, 0, 0] },
          { pk: 'c', vector: [0, 0, 1, 0] },
        ],
        10,
      ),
    );
    expect(hits).toMatchObject({ k: 10, count: 3 });
  });

  it('batch_insert: an existing pk is replaced (fields and vector), without growing the index', async () => {
    const before = await stats(s);
    const r = await batchInsert(s, { items: [{ pk: 'b', vector: [0, 0, 0, 1], fields: { replaced: true } }] });
    expect(r).toMatchObject({ inserted: 1, errors: 0, error_details: [] });
    expect(await getDoc(s, 'vectors:b')).toEqual({ replaced: true, embedding: [0, 0, 0, 1] });
    const after = await stats(s);
    expect(after.vectorCount).toBe(before.vectorCount);
    expect(after.capacity).toBe(before.capacity);
    const hits = (await search(s, { vector: [0, 0, 0, 1], k: 1 })).results;
    expect(hits[0]!.pk).toBe('b');
    expect(hits[0]!.distance).toBeCloseTo(0, 5);
    // The old vector is gone: b is orthogonal to [0,1,0,0] now.
    const old = (await search(s, { vector: [0, 1, 0, 0], k: 10 })).results.find((h) => h.pk === 'b');
    expect(old!.distance).toBeCloseTo(1, 5);
  });

  it('batch_insert: nothing valid is a 400 and writes nothing; index/table/field selection errors', async () => {
    const count = (await stats(s)).vectorCount;
    const none = await call(s, 'POST', '/vector/batch_insert', {
      items: [
        { pk: 'x1', vector: [1, 2] },
        { pk: 'x2', vector: [0, 0, 0, 0] },
      ],
    });
    expectError(none, 400, 'VALIDATION_FAILED');
    expect(await getDoc(s, 'vectors:x1')).toBeUndefined();
    expect(await getDoc(s, 'vectors:x2')).toBeUndefined();

    expectError(await call(s, 'POST', '/vector/batch_insert', { items: [] }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/batch_insert', {}), 400, 'VALIDATION_FAILED');

    // vector_field other than the index's field
    expectError(await call(s, 'POST', '/vector/batch_insert', { vector_field: 'emb', items: [{ pk: 'x3', vector: [1, 0, 0, 0] }] }), 400);
    expectError(
      await call(s, 'POST', '/vector/batch_insert', {
        table: 'vectors',
        vector_field: 'other',
        items: [{ pk: 'x3', vector: [1, 0, 0, 0] }],
      }),
      400,
    );
    // a table without a vector index: 400 naming the way to create one
    const noIndex = await call(s, 'POST', '/vector/batch_insert', { table: 'novec', items: [{ pk: 'x3', vector: [1, 0, 0, 0] }] });
    expectError(noIndex, 400, 'INDEX_NOT_FOUND', 'index');
    expect(noIndex.body.message).toContain('POST /vector/index/create');
    // an unknown index
    expectError(
      await call(s, 'POST', '/vector/batch_insert', { index: 'no_such_index', items: [{ pk: 'x3', vector: [1, 0, 0, 0] }] }),
      400,
      'INDEX_NOT_FOUND',
    );
    expect(await getDoc(s, 'vectors:x3')).toBeUndefined();
    expect(await getDoc(s, 'novec:x3')).toBeUndefined();
    expect((await stats(s)).vectorCount).toBe(count);

    // An item with an unknown field is an invalid item (counted and described), not a 400 for the batch.
    const typo = await batchInsert(s, {
      items: [
        { pk: 'typo1', vector: [1, 0, 0, 1], feilds: { a: 1 } },
        { pk: 'typo2', vector: [1, 0, 0, 1] },
      ],
    });
    expect(typo).toMatchObject({ inserted: 1, errors: 1 });
    expect(typo.error_details[0]).toMatchObject({ index: 0, pk: 'typo1' });
    expect(typo.error_details[0]!.message).toContain('feilds');
    expect(await getDoc(s, 'vectors:typo1')).toBeUndefined();
    await ok(call(s, 'DELETE', '/vector/by-filter', { pks: ['typo2'] }));
    // Unknown top-level fields are refused, naming them.
    expectError(
      await call(s, 'POST', '/vector/batch_insert', {
        item: [{ pk: 'x3', vector: [1, 0, 0, 0] }],
        items: [{ pk: 'x3', vector: [1, 0, 0, 0] }],
      }),
      400,
      'VALIDATION_FAILED',
      'item',
    );
    expect(await getDoc(s, 'vectors:x3')).toBeUndefined();

    // The explicit default table and field are accepted.
    const r = await batchInsert(s, {
      table: 'vectors',
      vector_field: 'embedding',
      index: 'vector_index',
      items: [{ pk: 'explicit', vector: [1, 1, 1, 1] }],
    });
    expect(r).toMatchObject({ inserted: 1, errors: 0, objectName: 'vector_index', table: 'vectors', dimension: 4 });
    expect((await stats(s)).vectorCount).toBe(count + 1);
  });

  it('search: validation of vector, k, ef_search, filter and index', async () => {
    const q = [1, 0, 0, 0];
    expectError(await call(s, 'POST', '/vector/search', { vector: [1, 0, 0] }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: [1, 0, 0, 0, 0] }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: [0, 0, 0, 0] }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: ['1', 0, 0, 0] }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: 'x' }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', {}), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, k: 0 }), 400, 'VALIDATION_FAILED', 'k');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, k: 10_001 }), 400, 'VALIDATION_FAILED', 'k');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, k: 2.5 }), 400, 'VALIDATION_FAILED', 'k');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, ef_search: 0 }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, filter: { foo: 1 } }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, filter: { prefix: 'a', bogus: true } }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, filter: { fields: {} } }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, filter: { pks: 'a' } }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, filter: 'a' }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { index: 'no_such_index', vector: q }), 400, 'INDEX_NOT_FOUND');
    // Unknown fields are refused, naming them (a typo of k was once ignored: k = 10 came back).
    expectError(await call(s, 'POST', '/vector/search', { vector: q, topk: 3 }), 400, 'VALIDATION_FAILED', 'topk');
    expectError(
      await call(s, 'POST', '/vector/search', { vector: q, filter: { prefix: 'a', bogus: true } }),
      400,
      'VALIDATION_FAILED',
      'filter.bogus',
    );
    expectError(
      await call(s, 'POST', '/vector/search', { vector: q, filter: { fields: { '1bad': 1 } } }),
      400,
      'VALIDATION_FAILED',
      'filter.fields.1bad',
    );
    expectError(await call(s, 'POST', '/vector/search', { vector: q, filter: { fields: { a: [] } } }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { vector: q, use_cursor: 'yes' }), 400, 'VALIDATION_FAILED', 'use_cursor');
    expectError(
      await call(s, 'POST', '/vector/search', { vector: q, use_cursor: true, batch_size: 0 }),
      400,
      'VALIDATION_FAILED',
      'batch_size',
    );
    // table and vector_field are checked against the index, as for batch_insert.
    expectError(
      await call(s, 'POST', '/vector/search', { vector: q, index: 'vector_index', table: 'other' }),
      400,
      'VALIDATION_FAILED',
      'table',
    );
    expectError(await call(s, 'POST', '/vector/search', { vector: q, vector_field: 'other' }), 400);
    expect((await search(s, { vector: q, table: 'vectors', vector_field: 'embedding', k: 1 })).count).toBe(1);

    // k = 10,000 is allowed; k above the number of vectors returns them all.
    const n = (await stats(s)).vectorCount;
    const all = await search(s, { vector: q, k: 10_000 });
    expect(all.k).toBe(10_000);
    expect(all.count).toBe(n);
    expect(all.results.length).toBe(n);
    expect(new Set(all.results.map((h) => h.pk)).size).toBe(n);
    expectSorted(all.results);
    // k defaults to 10
    expect((await search(s, { vector: q })).k).toBe(10);
  });

  it('entities written through PUT/POST /entities and POST /transaction are indexed; bad vectors are refused with nothing applied', async () => {
    const base = (await stats(s)).vectorCount;
    const e1 = [0.2, 0.9, -0.3, 0.1];
    const e2 = [-0.5, 0.1, 0.7, 0.2];
    const e3 = [0.3, -0.8, 0.1, 0.4];
    const e4 = [-0.9, -0.2, 0.1, -0.3];
    await ok(call(s, 'PUT', '/entities/vectors:e1', { blob: { embedding: e1, name: 'one' } }), 201);
    await ok(call(s, 'POST', '/entities', { key: 'vectors:e2', blob: JSON.stringify({ embedding: e2 }) }), 201);
    await ok(
      call(s, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'vectors:e3', blob: { embedding: e3 } },
          { op: 'put', key: 'vectors:e4', blob: { embedding: e4, meta: { x: 1 } } },
        ],
      }),
    );
    for (const [pk, v] of [
      ['e1', e1],
      ['e2', e2],
      ['e3', e3],
      ['e4', e4],
    ] as const) {
      const top = (await search(s, { vector: v, k: 1 })).results;
      expect(top.length).toBe(1);
      expect(top[0]!.pk, pk).toBe(pk);
      expect(top[0]!.distance).toBeLessThan(1e-5);
    }
    expect((await stats(s)).vectorCount).toBe(base + 4);

    // Wrong dimension / not an array: 400, nothing stored.
    const refused: [string, Promise<{ status: number; body: Body }>][] = [
      ['vectors:bad1', call(s, 'PUT', '/entities/vectors:bad1', { blob: { embedding: [1, 2, 3] } })],
      ['vectors:bad2', call(s, 'PUT', '/entities/vectors:bad2', { blob: { embedding: 'abc' } })],
      ['vectors:bad3', call(s, 'PUT', '/entities/vectors:bad3', { blob: { embedding: { a: 1 } } })],
      ['vectors:bad4', call(s, 'POST', '/entities', { key: 'vectors:bad4', blob: { embedding: [1, 2, 3, 4, 5] } })],
      ['vectors:bad5', call(s, 'PUT', '/entities/vectors:bad5', { blob: { embedding: [0, 0, 0, 0] } })],
      ['vectors:bad6', call(s, 'PUT', '/entities/vectors:bad6', { blob: { embedding: [1, 'x', 0, 0] } })],
    ];
    for (const [key, p] of refused) {
      expectError(await p, 400, 'VALIDATION_FAILED');
      expect(await getDoc(s, key), key).toBeUndefined();
    }
    // An atomic batch with one bad vector applies nothing.
    const batch = await call(s, 'POST', '/transaction', {
      operations: [
        { op: 'put', key: 'vectors:good-in-bad-batch', blob: { embedding: [1, 2, 3, 4] } },
        { op: 'put', key: 'vectors:bad-in-bad-batch', blob: { embedding: [1, 2] } },
        { op: 'delete', key: 'vectors:e3' },
      ],
    });
    expectError(batch, 400, 'VALIDATION_FAILED');
    expect(await getDoc(s, 'vectors:good-in-bad-batch')).toBeUndefined();
    expect(await getDoc(s, 'vectors:e3')).toEqual({ embedding: e3 });
    // A refused update keeps the old version, in the store and in the index.
    expectError(await call(s, 'PUT', '/entities/vectors:e1', { blob: { embedding: [1, 2] } }), 400, 'VALIDATION_FAILED');
    expect(await getDoc(s, 'vectors:e1')).toEqual({ embedding: e1, name: 'one' });
    expect((await search(s, { vector: e1, k: 1 })).results[0]!.pk).toBe('e1');
    expect((await stats(s)).vectorCount).toBe(base + 4);

    // Updating another field keeps the entity searchable at the same distance.
    const q = [0.5, 0.5, 0.5, -0.5];
    const d1 = (await search(s, { vector: q, k: 10_000 })).results.find((h) => h.pk === 'e1')!.distance;
    expect(d1).toBeCloseTo(distance('COSINE', q, e1), 4);
    await ok(call(s, 'PUT', '/entities/vectors:e1', { blob: { embedding: e1, name: 'renamed' } }), 201);
    const again = (await search(s, { vector: q, k: 10_000 })).results.find((h) => h.pk === 'e1');
    expect(again?.distance).toBeCloseTo(d1, 6);
    expect((await search(s, { vector: e1, k: 1 })).results[0]!.pk).toBe('e1');
    expect((await stats(s)).vectorCount).toBe(base + 4);

    // Changing the vector moves it.
    const e2new = [0.1, 0.1, -0.9, 0.3];
    await ok(call(s, 'PUT', '/entities/vectors:e2', { blob: { embedding: e2new } }), 201);
    expect((await search(s, { vector: e2new, k: 1 })).results[0]!.pk).toBe('e2');
    const moved = (await search(s, { vector: e2, k: 10_000 })).results.find((h) => h.pk === 'e2');
    expect(moved?.distance).toBeCloseTo(distance('COSINE', e2, e2new), 4);
    expect((await stats(s)).vectorCount).toBe(base + 4);

    // Removing the field (or setting it to null) takes the entity out of the index; the entity stays.
    await ok(call(s, 'PUT', '/entities/vectors:e1', { blob: { name: 'no vector' } }), 201);
    await ok(
      call(s, 'POST', '/transaction', { operations: [{ op: 'put', key: 'vectors:e4', blob: { embedding: null, meta: { x: 2 } } }] }),
    );
    expect(await getDoc(s, 'vectors:e1')).toEqual({ name: 'no vector' });
    let pks = await allPks(s, undefined, q);
    expect(pks.has('e1')).toBe(false);
    expect(pks.has('e4')).toBe(false);
    expect(pks.has('e2')).toBe(true);
    expect((await stats(s)).vectorCount).toBe(base + 2);
    // DELETE /entities takes it out too.
    expect((await ok(call(s, 'DELETE', '/entities/vectors:e3'))).deleted).toBe(true);
    pks = await allPks(s, undefined, q);
    expect(pks.has('e3')).toBe(false);
    expect((await stats(s)).vectorCount).toBe(base + 1);
    // And a vector can come back.
    await ok(call(s, 'PUT', '/entities/vectors:e1', { blob: { name: 'vector again', embedding: e1 } }), 201);
    expect((await search(s, { vector: e1, k: 1 })).results[0]!.pk).toBe('e1');
    expect((await stats(s)).vectorCount).toBe(base + 2);
  });

  it('transactions: a vector is invisible to search until commit; a rolled-back one is never found', async () => {
    const v1 = [0.11, -0.7, 0.6, 0.35];
    const v2 = [-0.4, -0.4, -0.6, 0.5];
    const base = (await stats(s)).vectorCount;

    const t1 = Number((await ok(call(s, 'POST', '/transaction/begin', {}))).transaction_id);
    const h1 = { 'x-transaction-id': String(t1) };
    await ok(call(s, 'PUT', '/entities/vectors:tx1', { blob: { embedding: v1 } }, h1), 201);
    // Delete of an indexed entity inside the transaction.
    await ok(call(s, 'DELETE', '/entities/vectors:a', undefined, h1));
    expect((await allPks(s, undefined, v1)).has('tx1')).toBe(false);
    expect((await allPks(s, undefined, v1)).has('a')).toBe(true);
    expect((await search(s, { vector: v1, k: 1 })).results[0]?.pk).not.toBe('tx1');
    expect((await stats(s)).vectorCount).toBe(base);
    await ok(call(s, 'POST', '/transaction/commit', { transaction_id: t1 }));
    const top = (await search(s, { vector: v1, k: 1 })).results;
    expect(top[0]?.pk).toBe('tx1');
    expect(top[0]!.distance).toBeLessThan(1e-5);
    expect((await allPks(s, undefined, v1)).has('a')).toBe(false);
    expect((await stats(s)).vectorCount).toBe(base);

    const t2 = Number((await ok(call(s, 'POST', '/transaction/begin', {}))).transaction_id);
    const h2 = { 'x-transaction-id': String(t2) };
    await ok(call(s, 'PUT', '/entities/vectors:tx2', { blob: { embedding: v2 } }, h2), 201);
    await ok(call(s, 'DELETE', '/entities/vectors:tx1', undefined, h2));
    expect((await allPks(s, undefined, v2)).has('tx2')).toBe(false);
    await ok(call(s, 'POST', '/transaction/rollback', { transaction_id: t2 }));
    const pks = await allPks(s, undefined, v2);
    expect(pks.has('tx2')).toBe(false);
    expect(pks.has('tx1')).toBe(true);
    expect(await getDoc(s, 'vectors:tx2')).toBeUndefined();
    expect((await stats(s)).vectorCount).toBe(base);

    // A bad vector inside an explicit transaction fails its commit; nothing of it is applied.
    const t3 = Number((await ok(call(s, 'POST', '/transaction/begin', {}))).transaction_id);
    const h3 = { 'x-transaction-id': String(t3) };
    await ok(call(s, 'PUT', '/entities/vectors:tx3', { blob: { embedding: v2 } }, h3), 201);
    await ok(call(s, 'PUT', '/entities/vectors:tx4', { blob: { embedding: [1, 2, 3] } }, h3), 201);
    expectError(await call(s, 'POST', '/transaction/commit', { transaction_id: t3 }), 400, 'VALIDATION_FAILED');
    expect(await getDoc(s, 'vectors:tx3')).toBeUndefined();
    expect(await getDoc(s, 'vectors:tx4')).toBeUndefined();
    expect((await allPks(s, undefined, v2)).has('tx3')).toBe(false);
    expect((await stats(s)).vectorCount).toBe(base);
  });

  it('DELETE /vector/by-filter: by pks and by prefix; entities and vectors go, slots are reused', async () => {
    const rnd = prng(11);
    const items: Item[] = [];
    for (let i = 0; i < 10; i++) items.push({ pk: `del-a-${i}`, vector: randVec(rnd, 4) });
    for (let i = 0; i < 10; i++) items.push({ pk: `del-b-${i}`, vector: randVec(rnd, 4) });
    expect((await batchInsert(s, { items })).inserted).toBe(20);
    // An entity of the table without a vector: not the index's, so not deleted.
    await ok(call(s, 'PUT', '/entities/vectors:del-a-plain', { blob: { note: 'no vector' } }), 201);
    const before = await stats(s);

    const byPrefix = await ok(call(s, 'DELETE', '/vector/by-filter', { prefix: 'del-a-' }));
    expect(byPrefix).toEqual({ deleted: 10, method: 'prefix', prefix: 'del-a-', objectName: 'vector_index' });
    for (let i = 0; i < 10; i++) expect(await getDoc(s, `vectors:del-a-${i}`)).toBeUndefined();
    expect(await getDoc(s, 'vectors:del-a-plain')).toEqual({ note: 'no vector' });
    const mid = await stats(s);
    expect(mid.vectorCount).toBe(before.vectorCount - 10);
    expect(mid.deletedSlots).toBe(before.deletedSlots + 10);
    expect(mid.capacity).toBe(before.capacity);

    const byPks = await ok(
      call(s, 'DELETE', '/vector/by-filter', { pks: ['del-b-1', 'del-b-2', 'del-b-2', 'does-not-exist', 'del-a-plain'] }),
    );
    expect(byPks).toEqual({ deleted: 2, method: 'pks', prefix: null, objectName: 'vector_index' });
    expect(await getDoc(s, 'vectors:del-b-1')).toBeUndefined();
    expect(await getDoc(s, 'vectors:del-b-2')).toBeUndefined();
    expect(await getDoc(s, 'vectors:del-b-3')).toBeDefined();
    expect(await getDoc(s, 'vectors:del-a-plain')).toBeDefined();

    // Search no longer returns them, even when asked for them by vector or by filter.
    const pks = await allPks(s, undefined, [1, 0, 0, 0]);
    for (let i = 0; i < 10; i++) expect(pks.has(`del-a-${i}`)).toBe(false);
    expect(pks.has('del-b-1') || pks.has('del-b-2')).toBe(false);
    expect(pks.has('del-b-0')).toBe(true);
    for (const it of items.filter((x) => x.pk.startsWith('del-a-') || x.pk === 'del-b-1' || x.pk === 'del-b-2')) {
      const top = (await search(s, { vector: it.vector, k: 3 })).results;
      expect(top.map((h) => h.pk)).not.toContain(it.pk);
    }
    expect((await search(s, { vector: [1, 0, 0, 0], filter: { prefix: 'del-a-' } })).results).toEqual([]);
    expect((await search(s, { vector: [1, 0, 0, 0], filter: { prefix: 'del-b-' }, k: 100 })).results.map((h) => h.pk).sort()).toEqual([
      'del-b-0',
      'del-b-3',
      'del-b-4',
      'del-b-5',
      'del-b-6',
      'del-b-7',
      'del-b-8',
      'del-b-9',
    ]);
    const after = await stats(s);
    expect(after.vectorCount).toBe(before.vectorCount - 12);
    expect(after.deletedSlots).toBe(before.deletedSlots + 12);

    // Deleting nothing is fine.
    expect(await ok(call(s, 'DELETE', '/vector/by-filter', { prefix: 'nothing-here-' }))).toEqual({
      deleted: 0,
      method: 'prefix',
      prefix: 'nothing-here-',
      objectName: 'vector_index',
    });
    // New inserts take over the deleted slots.
    const fresh = Array.from({ length: 12 }, (_, i) => ({ pk: `del-new-${i}`, vector: randVec(rnd, 4) }));
    expect((await batchInsert(s, { items: fresh })).inserted).toBe(12);
    const reused = await stats(s);
    expect(reused.vectorCount).toBe(before.vectorCount);
    expect(reused.deletedSlots).toBe(before.deletedSlots);
    expect(reused.capacity).toBe(before.capacity);
    for (const it of fresh) expect((await search(s, { vector: it.vector, k: 1 })).results[0]!.pk).toBe(it.pk);

    // Neither or both filters, or malformed ones: 400.
    expectError(await call(s, 'DELETE', '/vector/by-filter', {}), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'DELETE', '/vector/by-filter', { pks: ['del-b-3'], prefix: 'del-b-' }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'DELETE', '/vector/by-filter', { pks: 'del-b-3' }), 400);
    expectError(await call(s, 'DELETE', '/vector/by-filter', { prefix: 5 }), 400);
    expectError(await call(s, 'DELETE', '/vector/by-filter', { index: 'no_such_index', prefix: 'x' }), 400, 'INDEX_NOT_FOUND');
    expect(await getDoc(s, 'vectors:del-b-3')).toBeDefined();
    expect((await stats(s)).vectorCount).toBe(before.vectorCount);
  });

  it('GET/PUT /vector/index/config: efSearch changes, build parameters do not', async () => {
    const r = await ok(call(s, 'PUT', '/vector/index/config', { efSearch: 150 }));
    expect(r).toEqual({ message: 'Configuration updated', updated_fields: { efSearch: 150 }, objectName: 'vector_index' });
    expect((await config(s)).efSearch).toBe(150);
    expect((await stats(s)).efSearch).toBe(150);
    expect((await ok(call(s, 'PUT', '/vector/index/config', { index: 'vector_index', efSearch: 1 }))).updated_fields).toEqual({
      efSearch: 1,
    });
    expect((await config(s, 'vector_index')).efSearch).toBe(1);
    expect((await ok(call(s, 'PUT', '/vector/index/config', { efSearch: 10_000 }))).updated_fields).toEqual({ efSearch: 10_000 });
    for (const bad of [
      { efSearch: 0 },
      { efSearch: 10_001 },
      { efSearch: 1.5 },
      { efSearch: 'x' },
      { efSearch: -5 },
      {},
      { efSearch: 64, M: 32 },
      { efSearch: 64, metric: 'L2' },
      { efSearch: 64, dimension: 8 },
      { M: 32 },
      { metric: 'L2' },
      { dimension: 8 },
      { efConstruction: 100 },
    ]) {
      const res = await call(s, 'PUT', '/vector/index/config', bad);
      expectError(res, 400);
    }
    expectError(await call(s, 'PUT', '/vector/index/config', { index: 'no_such_index', efSearch: 10 }), 400, 'INDEX_NOT_FOUND');
    expectError(await call(s, 'GET', '/vector/index/config?index=no_such_index'), 400, 'INDEX_NOT_FOUND');
    expectError(await call(s, 'GET', '/vector/index/stats?index=no_such_index'), 400, 'INDEX_NOT_FOUND');
    const c = await config(s);
    expect(c).toMatchObject({ efSearch: 10_000, M: 16, metric: 'COSINE', dimension: 4, efConstruction: 200 });
    await ok(call(s, 'PUT', '/vector/index/config', { efSearch: 64 }));
    expect((await config(s)).efSearch).toBe(64);
  });
});

describe('filtered search', () => {
  const N = 2000;
  const D = 16;
  const rnd = prng(2024);
  const items: Item[] = [];
  for (let i = 0; i < N; i++) {
    items.push({
      pk: `p${String(i).padStart(4, '0')}`,
      vector: randVec(rnd, D),
      fields: { grp: i % 100, parity: i % 2 === 0 ? 'even' : 'odd', meta: { color: ['red', 'green', 'blue'][i % 3] } },
    });
  }
  const queries = Array.from({ length: 3 }, () => randVec(rnd, D));
  const grp = (it: Item) => (it.fields as { grp: number }).grp;

  beforeAll(async () => {
    const c = await createIndex(s, { name: 'filt', table: 'docs', dimension: D });
    expect(c).toMatchObject({
      success: true,
      objectName: 'filt',
      table: 'docs',
      field: 'embedding',
      dimension: D,
      metric: 'COSINE',
      state: 'ready',
    });
    const r = await batchInsert(s, { index: 'filt', items });
    expect(r).toMatchObject({ inserted: N, errors: 0, objectName: 'filt', table: 'docs', dimension: D });
  });

  /** The filtered search returns exactly min(k, passing) hits, all passing, sorted, with true distances, and ≥ 90% of the exact top k. */
  async function check(filter: Record<string, unknown> | undefined, pred: (it: Item) => boolean, k = 10): Promise<void> {
    const passing = items.filter(pred).length;
    for (const q of queries) {
      const got = await search(s, { index: 'filt', vector: q, k, ...(filter ? { filter } : {}) });
      const want = bruteForce('COSINE', q, items, k, pred);
      const msg = `filter ${JSON.stringify(filter)}`;
      expect(got.count, msg).toBe(Math.min(k, passing));
      expect(got.results.length, msg).toBe(Math.min(k, passing));
      expectSorted(got.results);
      const byPk = new Map(items.map((it) => [it.pk, it]));
      for (const h of got.results) {
        const it = byPk.get(h.pk);
        expect(it, `${msg}: unknown pk ${h.pk}`).toBeDefined();
        expect(pred(it!), `${msg}: ${h.pk} does not pass`).toBe(true);
        expect(Math.abs(h.distance - distance('COSINE', q, it!.vector)), `${msg}: distance of ${h.pk}`).toBeLessThan(1e-4);
      }
      const wantSet = new Set(want.map((h) => h.pk));
      const overlap = got.results.filter((h) => wantSet.has(h.pk)).length;
      expect(overlap, `${msg}: ${JSON.stringify(got.results.map((h) => h.pk))} vs ${JSON.stringify([...wantSet])}`).toBeGreaterThanOrEqual(
        Math.ceil(0.9 * want.length),
      );
    }
  }

  it('without a filter: the exact top k (recall ≥ 9/10)', async () => {
    await check(undefined, () => true);
    await check({}, () => true); // an empty filter accepts everything
    const got = await search(s, { index: 'filt', vector: queries[0], k: 10 });
    expect(got.results.length).toBe(10);
  });

  it('fields filter accepting 1 in 100: exactly k hits, all matching', async () => {
    await check({ fields: { grp: 7 } }, (it) => grp(it) === 7);
    await check({ fields: { grp: 99 } }, (it) => grp(it) === 99, 20);
  });

  it('fields filter with a list of values, a nested path and several fields (AND)', async () => {
    await check({ fields: { grp: [3, 50] } }, (it) => grp(it) === 3 || grp(it) === 50);
    await check({ fields: { 'meta.color': 'green' } }, (it) => (it.fields as { meta: { color: string } }).meta.color === 'green');
    await check({ fields: { grp: [1, 2, 3, 4], parity: 'odd' } }, (it) => [1, 3].includes(grp(it)));
    await check({ fields: { grp: 5, parity: 'even' } }, () => false);
    await check({ fields: { grp: '7' } }, () => false); // equality is by JSON type: "7" is not 7
    await check({ fields: { missing: 'x' } }, () => false);
  });

  it('prefix and pks filters, alone and combined with fields', async () => {
    await check({ prefix: 'p123' }, (it) => it.pk.startsWith('p123'));
    await check({ prefix: 'p12' }, (it) => it.pk.startsWith('p12'), 25);
    await check({ prefix: '' }, () => true);
    await check({ prefix: 'zzz' }, () => false);
    const pkSet = new Set(items.filter((_, i) => i % 67 === 5).map((it) => it.pk));
    await check({ pks: [...pkSet] }, (it) => pkSet.has(it.pk));
    await check({ pks: ['p0001', 'p0002', 'nope'] }, (it) => it.pk === 'p0001' || it.pk === 'p0002');
    await check({ pks: [] }, () => false);
    // AND: 10 pass (p1007, p1107, ..., p1907)
    await check({ prefix: 'p1', fields: { grp: 7 } }, (it) => it.pk.startsWith('p1') && grp(it) === 7);
    await check({ prefix: 'p1', fields: { grp: 7 } }, (it) => it.pk.startsWith('p1') && grp(it) === 7, 20);
    await check(
      { prefix: 'p1', pks: [...pkSet], fields: { parity: 'even' } },
      (it) => it.pk.startsWith('p1') && pkSet.has(it.pk) && (it.fields as { parity: string }).parity === 'even',
    );
  });

  it('a filter on fields sees the latest committed document', async () => {
    // Move p0000 into group 7 (keeping its vector): it passes the filter from now on.
    const it0 = items[0]!;
    await ok(
      call(s, 'PUT', '/entities/docs:p0000', { blob: { embedding: it0.vector, grp: 7, parity: 'even', meta: { color: 'red' } } }),
      201,
    );
    const got = await search(s, { index: 'filt', vector: it0.vector, k: 5, filter: { fields: { grp: 7 } } });
    expect(got.results[0]?.pk).toBe('p0000');
    expect(got.results[0]!.distance).toBeLessThan(1e-5);
    await ok(call(s, 'PUT', '/entities/docs:p0000', { blob: { embedding: it0.vector, ...it0.fields } }), 201);
    const back = await search(s, { index: 'filt', vector: it0.vector, k: 5, filter: { fields: { grp: 7 } } });
    expect(back.results.map((h) => h.pk)).not.toContain('p0000');
    expect(back.count).toBe(5);
  });

  it('ef_search per request: a wider beam still gives the exact answer', async () => {
    for (const q of queries) {
      const got = await search(s, { index: 'filt', vector: q, k: 10, ef_search: 500 });
      expectExact(got.results, bruteForce('COSINE', q, items, 10));
      const narrow = await search(s, { index: 'filt', vector: q, k: 10, ef_search: 1 });
      expect(narrow.results.length).toBe(10); // the beam is at least k
      expectSorted(narrow.results);
    }
  });

  it('cursor pages concatenate to the non-cursor answer; a cursor of another search is a 400', async () => {
    for (const [k, bs, filter] of [
      [25, 10, undefined],
      [30, 7, { fields: { parity: 'odd' } }],
      [12, 5, { fields: { grp: 7 } }], // 20 pass
      [50, 10, { prefix: 'p123' }], // only 10 pass: one full page
    ] as const) {
      const body = { index: 'filt', vector: queries[1], k, ...(filter ? { filter } : {}) };
      const whole = (await search(s, body)).results;
      const pages: Hit[][] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 20; i++) {
        const p = await page(s, { ...body, use_cursor: true, batch_size: bs, ...(cursor ? { cursor } : {}) });
        expect(p.k).toBe(k);
        expect(p.batch_size).toBe(bs);
        expect(p.count).toBe(p.items.length);
        expect(p.items.length).toBeLessThanOrEqual(bs);
        pages.push(p.items);
        if (p.has_more) {
          expect(p.items.length).toBe(bs);
          expect(typeof p.next_cursor).toBe('string');
          cursor = p.next_cursor;
        } else {
          expect(p.next_cursor).toBeNull();
          break;
        }
      }
      expect(pages.flat(), `k ${k} batch ${bs}`).toEqual(whole);
      expect(pages.length).toBe(Math.max(1, Math.ceil(whole.length / bs)));
    }

    // Default batch size: min(k, 100).
    const d = await page(s, { index: 'filt', vector: queries[0], k: 150, use_cursor: true });
    expect(d.batch_size).toBe(100);
    expect(d.items.length).toBe(100);
    expect(d.has_more).toBe(true);
    const rest = await page(s, { index: 'filt', vector: queries[0], k: 150, use_cursor: true, cursor: d.next_cursor });
    expect(rest.items.length).toBe(50);
    expect(rest.has_more).toBe(false);
    expect([...d.items, ...rest.items]).toEqual((await search(s, { index: 'filt', vector: queries[0], k: 150 })).results);

    // The cursor is bound to the vector, k and filter (and index).
    const body = { index: 'filt', vector: queries[2], k: 20, filter: { fields: { parity: 'even' } }, use_cursor: true, batch_size: 5 };
    const first = await page(s, body);
    expect(first.has_more).toBe(true);
    const next = first.next_cursor!;
    const second = await page(s, { ...body, cursor: next });
    expect(second.items.length).toBe(5);
    expect(second.items.map((h) => h.pk)).not.toEqual(first.items.map((h) => h.pk));
    expectError(await call(s, 'POST', '/vector/search', { ...body, vector: queries[1], cursor: next }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { ...body, k: 21, cursor: next }), 400, 'VALIDATION_FAILED');
    expectError(
      await call(s, 'POST', '/vector/search', { ...body, filter: { fields: { parity: 'odd' } }, cursor: next }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await call(s, 'POST', '/vector/search', { ...body, filter: undefined, cursor: next }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'POST', '/vector/search', { ...body, cursor: 'not-a-cursor' }), 400, 'VALIDATION_FAILED');
    expectError(
      await call(s, 'POST', '/vector/search', {
        ...body,
        cursor: Buffer.from(JSON.stringify({ offset: 5, q: 'forged' })).toString('base64'),
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await call(s, 'POST', '/vector/search', { ...body, batch_size: 0 }), 400, 'VALIDATION_FAILED');
  });
});

describe('metrics against brute force', () => {
  const D = 8;
  const rnd = prng(77);
  const items: Item[] = Array.from({ length: 200 }, (_, i) => ({ pk: `m${i}`, vector: randVec(rnd, D) }));
  const queries = Array.from({ length: 5 }, () => randVec(rnd, D));

  for (const [metric, given] of [
    ['COSINE', 'cosine'],
    ['L2', 'l2'],
    ['IP', 'ip'],
  ] as const) {
    it(`${metric}: top 10 and the complete ranking equal the brute-force ranking`, async () => {
      const name = `m_${metric.toLowerCase()}`;
      const table = `mt_${metric.toLowerCase()}`;
      const c = await createIndex(s, { name, table, metric: given, M: 8, efConstruction: 100, efSearch: 32 });
      expect(c).toMatchObject({
        success: true,
        objectName: name,
        table,
        field: 'embedding',
        metric,
        M: 8,
        efConstruction: 100,
        efSearch: 32,
        dimension: null,
        hnswEnabled: true,
        state: 'ready',
      });
      // The table picks the index.
      const r = await batchInsert(s, { table, items });
      expect(r).toMatchObject({ inserted: 200, errors: 0, objectName: name, table, dimension: D });
      for (const [i, q] of queries.entries()) {
        expectExact((await search(s, { index: name, vector: q, k: 10 })).results, bruteForce(metric, q, items, 10), `${metric} q${i}`);
      }
      // Selective filters (answered by a wider walk or exactly): the same distances as unfiltered.
      const chosen = new Set(['m3', 'm17', 'm58', 'm101', 'm199']);
      for (const [i, q] of queries.entries()) {
        const got = await search(s, { index: name, vector: q, k: 10, filter: { pks: [...chosen] } });
        expectExact(
          got.results,
          bruteForce(metric, q, items, 10, (it) => chosen.has(it.pk)),
          `${metric} pks q${i}`,
        );
        const pre = await search(s, { index: name, vector: q, k: 4, filter: { prefix: 'm12' } });
        expectExact(
          pre.results,
          bruteForce(metric, q, items, 4, (it) => it.pk.startsWith('m12')),
          `${metric} prefix q${i}`,
        );
      }
      const full = await search(s, { index: name, vector: queries[0], k: 200 });
      expectExact(full.results, bruteForce(metric, queries[0]!, items, 200), `${metric} full`);
      expect(await stats(s, name)).toMatchObject({ vectorCount: 200, deletedSlots: 0, dimension: D, metric, loaded_from: 'new' });
    });
  }

  it('L2 and IP accept the zero vector; COSINE refuses it', async () => {
    const l2 = await batchInsert(s, { index: 'm_l2', items: [{ pk: 'origin', vector: new Array(D).fill(0) }] });
    expect(l2).toMatchObject({ inserted: 1, errors: 0 });
    const top = (await search(s, { index: 'm_l2', vector: new Array(D).fill(0), k: 3 })).results;
    expect(top[0]).toEqual({ pk: 'origin', distance: 0 });
    expect(top[1]!.distance).toBeCloseTo(bruteForce('L2', new Array(D).fill(0), items, 1)[0]!.distance, 4);
    const ip = await batchInsert(s, { index: 'm_ip', items: [{ pk: 'origin', vector: new Array(D).fill(0) }] });
    expect(ip).toMatchObject({ inserted: 1, errors: 0 });
    // 1 - dot(q, 0) = 1 for every query
    const q = queries[3]!;
    const got = (await search(s, { index: 'm_ip', vector: q, k: 201 })).results;
    expect(got.find((h) => h.pk === 'origin')?.distance).toBeCloseTo(1, 5);
    expectExact(got, bruteForce('IP', q, [...items, { pk: 'origin', vector: new Array(D).fill(0) }], 201));
    const cos = await call(s, 'POST', '/vector/batch_insert', {
      index: 'm_cosine',
      items: [{ pk: 'origin', vector: new Array(D).fill(0) }],
    });
    expectError(cos, 400, 'VALIDATION_FAILED');
  });
});

describe('named indexes: create (with backfill), list, drop', () => {
  it('create backfills the entities already in the table (over several backfill batches), then maintains the index', async () => {
    const rnd = prng(5);
    const D = 6;
    const docs: Item[] = [];
    for (let i = 0; i < 1500; i++) docs.push({ pk: `b${i}`, vector: randVec(rnd, D) });
    for (let off = 0; off < docs.length; off += 500) {
      await ok(
        call(s, 'POST', '/transaction', {
          operations: docs
            .slice(off, off + 500)
            .map((d) => ({ op: 'put', key: `bf:${d.pk}`, blob: { meta: { vec: d.vector, title: d.pk } } })),
        }),
      );
    }
    // Entities without the field (or with null) are not indexed and do not fail the create.
    await ok(call(s, 'PUT', '/entities/bf:novec', { blob: { meta: { title: 'none' } } }), 201);
    await ok(call(s, 'PUT', '/entities/bf:nullvec', { blob: { meta: { vec: null } } }), 201);

    const c = await createIndex(s, { name: 'bf_ix', table: 'bf', field: 'meta.vec', metric: 'L2' });
    expect(c).toMatchObject({
      success: true,
      objectName: 'bf_ix',
      table: 'bf',
      field: 'meta.vec',
      metric: 'L2',
      dimension: D,
      M: 16,
      efConstruction: 200,
      efSearch: 64,
      hnswEnabled: true,
      state: 'ready',
    });
    expect(Number.isNaN(Date.parse(c.created_at))).toBe(false);
    expect(await stats(s, 'bf_ix')).toMatchObject({ vectorCount: 1500, deletedSlots: 0, dimension: D });
    const q = randVec(rnd, D);
    expectExact((await search(s, { index: 'bf_ix', vector: q, k: 10, ef_search: 200 })).results, bruteForce('L2', q, docs, 10));
    const every = await allPks(s, 'bf_ix', q);
    expect(every.size).toBe(1500);
    expect(every.has('novec') || every.has('nullvec')).toBe(false);

    // Listed with its stats.
    const list = ((await ok(call(s, 'GET', '/vector/indexes'))) as { indexes: IndexStats[] }).indexes;
    expect(list.map((x) => x.objectName)).toEqual(expect.arrayContaining(['vector_index', 'bf_ix', 'filt']));
    expect(list.find((x) => x.objectName === 'bf_ix')).toMatchObject({ table: 'bf', field: 'meta.vec', vectorCount: 1500, metric: 'L2' });

    // Later writes through /entities are indexed and validated against the index.
    const v = randVec(rnd, D);
    await ok(call(s, 'PUT', '/entities/bf:later', { blob: { meta: { vec: v } } }), 201);
    expect((await search(s, { index: 'bf_ix', vector: v, k: 1 })).results).toEqual([{ pk: 'later', distance: 0 }]);
    expectError(await call(s, 'PUT', '/entities/bf:wrong', { blob: { meta: { vec: [1, 2] } } }), 400, 'VALIDATION_FAILED');
    expect(await getDoc(s, 'bf:wrong')).toBeUndefined();
    // batch_insert sets the nested field and keeps the other fields.
    const bi = await batchInsert(s, { index: 'bf_ix', items: [{ pk: 'nested', vector: v, fields: { meta: { title: 'n' }, top: 1 } }] });
    expect(bi).toMatchObject({ inserted: 1, objectName: 'bf_ix', table: 'bf', dimension: D });
    expect(await getDoc(s, 'bf:nested')).toEqual({ meta: { title: 'n', vec: v }, top: 1 });
    // batch_insert by table/field picks this index; the default field name does not match.
    expect((await batchInsert(s, { table: 'bf', vector_field: 'meta.vec', items: [{ pk: 'bytable', vector: v }] })).objectName).toBe(
      'bf_ix',
    );
    expectError(
      await call(s, 'POST', '/vector/batch_insert', { index: 'bf_ix', vector_field: 'embedding', items: [{ pk: 'x', vector: v }] }),
      400,
    );
    expectError(await call(s, 'POST', '/vector/batch_insert', { index: 'bf_ix', table: 'other', items: [{ pk: 'x', vector: v }] }), 400);
    expect((await stats(s, 'bf_ix')).vectorCount).toBe(1503);
  });

  it('create with a given dimension fixes it before any vector; create validation; duplicate name is 400 INDEX_EXISTS', async () => {
    const c = await createIndex(s, { name: 'dim3', table: 'd3', dimension: 3, metric: 'ip', M: 4, efConstruction: 10, efSearch: 5 });
    expect(c).toMatchObject({ objectName: 'dim3', dimension: 3, metric: 'IP', M: 4, efConstruction: 10, efSearch: 5 });
    const r = await batchInsert(s, {
      index: 'dim3',
      items: [
        { pk: 'four', vector: [1, 2, 3, 4] },
        { pk: 'three', vector: [1, 2, 3] },
      ],
    });
    expect(r).toMatchObject({ inserted: 1, errors: 1, dimension: 3 });
    expect(r.error_details[0]).toMatchObject({ index: 0, pk: 'four' });
    expectError(await call(s, 'POST', '/vector/index/create', { name: 'dim3', table: 'other' }), 400, 'INDEX_EXISTS');
    expectError(await call(s, 'POST', '/vector/index/create', { name: 'vector_index', table: 'vectors' }), 400, 'INDEX_EXISTS');
    expect((await config(s, 'dim3')).table).toBe('d3');
    for (const bad of [
      { table: 't' },
      { name: 'x y', table: 't' },
      { name: 'ok1' },
      { name: 'ok1', table: 't', metric: 'HAMMING' },
      { name: 'ok1', table: 't', M: 1 },
      { name: 'ok1', table: 't', M: 129 },
      { name: 'ok1', table: 't', dimension: 0 },
      { name: 'ok1', table: 't', efConstruction: 0 },
      { name: 'ok1', table: 't', efSearch: 10_001 },
      { name: 'ok1', table: 't', field: '1bad..path' },
    ]) {
      expectError(await call(s, 'POST', '/vector/index/create', bad), 400);
    }
    expectError(await call(s, 'GET', '/vector/index/config?index=ok1'), 400, 'INDEX_NOT_FOUND');
  });

  it('search: table (and vector_field) pick the index of that table, as batch_insert does', async () => {
    await createIndex(s, { name: 'by_table', table: 'tsel', field: 'v', metric: 'L2', dimension: 2 });
    await batchInsert(s, {
      table: 'tsel',
      vector_field: 'v',
      items: [
        { pk: 'near', vector: [0, 0] },
        { pk: 'far', vector: [5, 5] },
      ],
    });
    const byTable = await search(s, { table: 'tsel', vector: [0.1, 0], k: 2 });
    expect(byTable.results.map((h) => h.pk)).toEqual(['near', 'far']);
    expect(await search(s, { table: 'tsel', vector_field: 'v', vector: [4, 4], k: 1 })).toMatchObject({
      count: 1,
      results: [{ pk: 'far' }],
    });
    expect((await search(s, { index: 'by_table', table: 'tsel', vector: [0, 0], k: 1 })).results[0]!.pk).toBe('near');
    // Not the index of the table, or a table without a vector index: 400, nothing silently searched elsewhere.
    expectError(
      await call(s, 'POST', '/vector/search', { index: 'by_table', table: 'vectors', vector: [0, 0] }),
      400,
      'VALIDATION_FAILED',
      'table',
    );
    expectError(await call(s, 'POST', '/vector/search', { table: 'tsel', vector_field: 'w', vector: [0, 0] }), 400);
    expectError(await call(s, 'POST', '/vector/search', { table: 'no_vectors_here', vector: [0, 0] }), 400);
    await ok(call(s, 'POST', '/vector/index/drop', { name: 'by_table' }));
  });

  it('metric names are case-insensitive', async () => {
    for (const [name, given, metric] of [
      ['case_a', 'Cosine', 'COSINE'],
      ['case_b', 'iP', 'IP'],
      ['case_c', 'L2', 'L2'],
    ] as const) {
      const r = await call(s, 'POST', '/vector/index/create', { name, table: `${name}_t`, metric: given });
      expect(r.status, `metric ${given}: ${JSON.stringify(r.body)}`).toBe(201);
      expect(r.body.metric).toBe(metric);
    }
  });

  it('a document whose field is not a valid vector fails the create with 400; the index does not exist afterwards', async () => {
    await ok(
      call(s, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'badtab:1', blob: { embedding: [1, 0, 0] } },
          { op: 'put', key: 'badtab:2', blob: { embedding: 'oops' } },
          { op: 'put', key: 'badtab:3', blob: { embedding: [0, 1, 0] } },
        ],
      }),
    );
    const r = await call(s, 'POST', '/vector/index/create', { name: 'bad_ix', table: 'badtab' });
    expectError(r, 400, 'VALIDATION_FAILED');
    expect(r.body).toMatchObject({ key: 'badtab:2', index: 'bad_ix' });
    expectError(await call(s, 'GET', '/vector/index/config?index=bad_ix'), 400, 'INDEX_NOT_FOUND');
    expectError(await call(s, 'POST', '/vector/search', { index: 'bad_ix', vector: [1, 0, 0] }), 400, 'INDEX_NOT_FOUND');
    const list = ((await ok(call(s, 'GET', '/vector/indexes'))) as { indexes: IndexStats[] }).indexes;
    expect(list.map((x) => x.objectName)).not.toContain('bad_ix');
    // No validation of that table is left behind: writes of any value are accepted.
    await ok(call(s, 'PUT', '/entities/badtab:4', { blob: { embedding: [1, 2] } }), 201);

    // Mixed dimensions fail too.
    await ok(call(s, 'PUT', '/entities/badtab:2', { blob: { embedding: [0, 0, 1] } }), 201);
    expectError(await call(s, 'POST', '/vector/index/create', { name: 'bad_ix', table: 'badtab' }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'GET', '/vector/index/config?index=bad_ix'), 400, 'INDEX_NOT_FOUND');
    // A given dimension that the documents do not have fails as well.
    await ok(call(s, 'DELETE', '/entities/badtab:4'));
    expectError(await call(s, 'POST', '/vector/index/create', { name: 'bad_ix', table: 'badtab', dimension: 4 }), 400, 'VALIDATION_FAILED');
    expectError(await call(s, 'GET', '/vector/index/config?index=bad_ix'), 400, 'INDEX_NOT_FOUND');

    // Fixed: the same name can be created now.
    const c = await createIndex(s, { name: 'bad_ix', table: 'badtab' });
    expect(c).toMatchObject({ objectName: 'bad_ix', dimension: 3 });
    const hits = (await search(s, { index: 'bad_ix', vector: [0, 0, 1], k: 10 })).results;
    expect(hits[0]).toEqual({ pk: '2', distance: 0 });
    expect(
      hits
        .slice(1)
        .map((h) => h.pk)
        .sort(),
    ).toEqual(['1', '3']);
    for (const h of hits.slice(1)) expect(h.distance).toBeCloseTo(1, 5);
    expect((await stats(s, 'bad_ix')).vectorCount).toBe(3);
  });

  it('drop: 200 with the definition; the entities stay; the default index cannot be dropped; unknown is 400 INDEX_NOT_FOUND', async () => {
    await createIndex(s, { name: 'to_drop', table: 'dropt', dimension: 2, metric: 'L2' });
    await batchInsert(s, { index: 'to_drop', items: [{ pk: 'x', vector: [1, 2], fields: { keep: true } }] });
    const r = await ok(call(s, 'POST', '/vector/index/drop', { name: 'to_drop' }));
    expect(r).toMatchObject({ success: true, objectName: 'to_drop', table: 'dropt', metric: 'L2', dimension: 2 });
    expectError(await call(s, 'POST', '/vector/search', { index: 'to_drop', vector: [1, 2] }), 400, 'INDEX_NOT_FOUND');
    expectError(await call(s, 'GET', '/vector/index/stats?index=to_drop'), 400, 'INDEX_NOT_FOUND');
    expect(((await ok(call(s, 'GET', '/vector/indexes'))) as { indexes: IndexStats[] }).indexes.map((x) => x.objectName)).not.toContain(
      'to_drop',
    );
    expect(await getDoc(s, 'dropt:x')).toEqual({ keep: true, embedding: [1, 2] });
    // The table is no longer validated against the dropped index.
    await ok(call(s, 'PUT', '/entities/dropt:y', { blob: { embedding: 'anything' } }), 201);
    expectError(await call(s, 'POST', '/vector/batch_insert', { table: 'dropt', items: [{ pk: 'z', vector: [1, 2] }] }), 400);
    expectError(await call(s, 'POST', '/vector/index/drop', { name: 'to_drop' }), 400, 'INDEX_NOT_FOUND');
    expectError(await call(s, 'POST', '/vector/index/drop', { name: 'vector_index' }), 400);
    expect((await config(s)).objectName).toBe('vector_index');
    expectError(await call(s, 'POST', '/vector/index/drop', {}), 400);
  });
});

describe('index capacity', () => {
  it('deleted slots are reused by later inserts, so the capacity does not grow; it doubles when full', async () => {
    await createIndex(s, { name: 'cap', table: 'capt', dimension: 4, M: 8, efConstruction: 40 });
    const rnd = prng(99);
    const first: Item[] = Array.from({ length: 1024 }, (_, i) => ({ pk: `c${i}`, vector: randVec(rnd, 4) }));
    expect((await batchInsert(s, { index: 'cap', items: first })).inserted).toBe(1024);
    const full = await stats(s, 'cap');
    expect(full).toMatchObject({ vectorCount: 1024, deletedSlots: 0 });
    const cap = full.capacity;
    expect(cap).toBeGreaterThanOrEqual(1024);

    expect(await ok(call(s, 'DELETE', '/vector/by-filter', { index: 'cap', prefix: 'c10' }))).toMatchObject({
      deleted: 1 + 10 + 24,
      method: 'prefix',
      objectName: 'cap',
    }); // c10, c100-c109, c1000-c1023
    expect(await stats(s, 'cap')).toMatchObject({ vectorCount: 989, deletedSlots: 35, capacity: cap });

    const second: Item[] = Array.from({ length: 35 }, (_, i) => ({ pk: `n${i}`, vector: randVec(rnd, 4) }));
    expect((await batchInsert(s, { index: 'cap', items: second })).inserted).toBe(35);
    expect(await stats(s, 'cap')).toMatchObject({ vectorCount: 1024, deletedSlots: 0, capacity: cap });
    // Replacing vectors of existing keys reuses their slots as well.
    const replaced = first
      .filter((it) => !it.pk.startsWith('c10'))
      .slice(0, 50)
      .map((it) => ({ pk: it.pk, vector: randVec(rnd, 4) }));
    expect((await batchInsert(s, { index: 'cap', items: replaced })).inserted).toBe(50);
    expect(await stats(s, 'cap')).toMatchObject({ vectorCount: 1024, deletedSlots: 0, capacity: cap });

    const replacedPks = new Set(replaced.map((it) => it.pk));
    const live = [...first.filter((it) => !it.pk.startsWith('c10') && !replacedPks.has(it.pk)), ...replaced, ...second];
    expect(live.length).toBe(1024);
    const q = randVec(rnd, 4);
    const every = await allPks(s, 'cap', q);
    expect([...every].sort()).toEqual(live.map((it) => it.pk).sort());
    expectExact((await search(s, { index: 'cap', vector: q, k: 10, ef_search: 300 })).results, bruteForce('COSINE', q, live, 10));
    for (const it of [...second.slice(0, 5), ...replaced.slice(0, 5)]) {
      const top = (await search(s, { index: 'cap', vector: it.vector, k: 1 })).results[0]!;
      expect(top.pk).toBe(it.pk);
    }

    if (cap === 1024) {
      // Full: the next vector grows the graph.
      expect((await batchInsert(s, { index: 'cap', items: [{ pk: 'overflow', vector: [1, 2, 3, 4] }] })).inserted).toBe(1);
      expect(await stats(s, 'cap')).toMatchObject({ vectorCount: 1025, deletedSlots: 0, capacity: 2048 });
      expect((await search(s, { index: 'cap', vector: [1, 2, 3, 4], k: 1 })).results[0]!.pk).toBe('overflow');
    }
  });
});

describe('create during concurrent writes', () => {
  it('the backfill and concurrent writes to the table end in an index equal to the stored vectors', async () => {
    const D = 8;
    const rnd = prng(8);
    const base = 3000;
    for (let off = 0; off < base; off += 500) {
      await ok(
        call(s, 'POST', '/transaction', {
          operations: Array.from({ length: 500 }, (_, j) => ({
            op: 'put',
            key: `cc:k${off + j}`,
            blob: { embedding: randVec(rnd, D), n: off + j },
          })),
        }),
      );
    }
    const touched = new Set<string>(Array.from({ length: base }, (_, i) => `cc:k${i}`));
    let done = false;
    const failures: string[] = [];
    const writer = async (w: number) => {
      const r = prng(100 + w);
      for (let i = 0; !done; i++) {
        const x = r();
        let res: { status: number; body: Body };
        if (x < 0.4) {
          const key = `cc:k${Math.floor(r() * base)}`;
          res = await call(s, 'PUT', `/entities/${key}`, { blob: { embedding: randVec(r, D), w, i } });
        } else if (x < 0.6) {
          const key = `cc:k${Math.floor(r() * base)}`;
          res = await call(s, 'DELETE', `/entities/${key}`);
        } else if (x < 0.7) {
          const key = `cc:k${Math.floor(r() * base)}`;
          res = await call(s, 'PUT', `/entities/${key}`, { blob: { novector: true } });
        } else {
          const key = `cc:n${w}-${i}`;
          touched.add(key);
          res = await call(s, 'POST', '/transaction', {
            operations: [
              { op: 'put', key, blob: { embedding: randVec(r, D) } },
              { op: 'delete', key: `cc:k${Math.floor(r() * base)}` },
            ],
          });
        }
        if (res.status >= 300) failures.push(`${res.status} ${JSON.stringify(res.body)}`);
      }
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 50));
    const c = await createIndex(s, { name: 'cc_ix', table: 'cc' });
    expect(c).toMatchObject({ objectName: 'cc_ix', dimension: D, state: 'ready' });
    await new Promise((r) => setTimeout(r, 200));
    done = true;
    await Promise.all(writers);
    expect(failures).toEqual([]);

    // The truth: the stored documents.
    const expected = new Map<string, number[]>();
    const keys = [...touched];
    for (let i = 0; i < keys.length; i += 100) {
      const docs = await Promise.all(keys.slice(i, i + 100).map((k) => getDoc(s, k)));
      docs.forEach((d, j) => {
        if (d && Array.isArray(d.embedding)) expected.set(keys[i + j]!.slice('cc:'.length), d.embedding as number[]);
      });
    }
    expect((await stats(s, 'cc_ix')).vectorCount).toBe(expected.size);
    // One exhaustive search: every stored vector, each at the distance of its latest version.
    const q = randVec(rnd, D);
    const all = (await search(s, { index: 'cc_ix', vector: q, k: 10_000 })).results;
    expect(all.map((h) => h.pk).sort()).toEqual([...expected.keys()].sort());
    const stale = all.filter((h) => Math.abs(h.distance - distance('COSINE', q, expected.get(h.pk)!)) > 1e-4);
    expect(stale).toEqual([]);
  });
});

describe('large deletes', () => {
  it('DELETE /vector/by-filter over more than one 5,000-entity chunk deletes them all', async () => {
    await createIndex(s, { name: 'chunk', table: 'ch', dimension: 2, metric: 'L2', M: 4, efConstruction: 8 });
    const rnd = prng(4);
    const xs = Array.from({ length: 5500 }, (_, i) => ({ pk: `x${i}`, vector: randVec(rnd, 2) }));
    const ys = Array.from({ length: 10 }, (_, i) => ({ pk: `y${i}`, vector: randVec(rnd, 2) }));
    expect((await batchInsert(s, { index: 'chunk', items: [...xs, ...ys] })).inserted).toBe(5510);
    expect(await ok(call(s, 'DELETE', '/vector/by-filter', { index: 'chunk', prefix: 'x' }))).toEqual({
      deleted: 5500,
      method: 'prefix',
      prefix: 'x',
      objectName: 'chunk',
    });
    expect(await stats(s, 'chunk')).toMatchObject({ vectorCount: 10, deletedSlots: 5500 });
    expect([...(await allPks(s, 'chunk', [0, 0]))].sort()).toEqual(ys.map((y) => y.pk).sort());
    for (const pk of ['x0', 'x4999', 'x5000', 'x5499']) expect(await getDoc(s, `ch:${pk}`), pk).toBeUndefined();
    expect(await getDoc(s, 'ch:y0')).toBeDefined();
    // batch_insert takes at most 10,000 items.
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ pk: `t${i}`, vector: [1, 1] }));
    expectError(await call(s, 'POST', '/vector/batch_insert', { index: 'chunk', items: tooMany }), 400, 'VALIDATION_FAILED');
    expect(await getDoc(s, 'ch:t0')).toBeUndefined();
  });
});

describe('float32 range', () => {
  // hnswlib stores float32: a finite JSON number beyond ±3.4028235e38 becomes Infinity there, and the
  // COSINE normalisation turns the vector into NaNs.
  it('a vector element beyond the float32 range is refused like a non-finite number (never NaN/null distances, no damage to the graph)', async () => {
    await createIndex(s, { name: 'f32', table: 'f32t' });
    const first = await call(s, 'POST', '/vector/batch_insert', { index: 'f32', items: [{ pk: 'huge', vector: [1e300, 1, 0] }] });
    expect.soft(first.status, `the only item holds 1e300, so nothing is valid: ${JSON.stringify(first.body)}`).toBe(400);
    const rnd = prng(3);
    const items: Item[] = Array.from({ length: 300 }, (_, i) => ({ pk: `r${i}`, vector: randVec(rnd, 3) }));
    expect((await batchInsert(s, { index: 'f32', items })).inserted).toBe(300);
    const q = [1, 0, 0];
    const got = (await search(s, { index: 'f32', vector: q, k: 10 })).results;
    for (const h of got)
      expect.soft(typeof h.distance === 'number' && Number.isFinite(h.distance), `distance of ${h.pk}: ${JSON.stringify(h)}`).toBe(true);
    const want = bruteForce('COSINE', q, items, 10);
    const wantSet = new Set(want.map((h) => h.pk));
    expect
      .soft(
        got.filter((h) => wantSet.has(h.pk)).length,
        `top 10 of the regular vectors\ngot  ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`,
      )
      .toBeGreaterThanOrEqual(9);
    // Through /entities: 400 and nothing stored.
    const put = await call(s, 'PUT', '/entities/f32t:huge2', { blob: { embedding: [0, -1e39, 0] } });
    expect.soft(put.status, JSON.stringify(put.body)).toBe(400);
    // A query vector beyond float32: 400 rather than null distances.
    const bad = await call(s, 'POST', '/vector/search', { index: 'f32', vector: [1e300, 0, 0] });
    expect.soft(bad.status, JSON.stringify(bad.body).slice(0, 300)).toBe(400);
  });
});
