import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { codeOf as codeOfWith } from '../helpers/errors.js';
import { keyspace, orderedCodec } from '../../src/storage/index.js';
import { Aql } from '../../src/aql/index.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Query } from '../../src/query/index.js';
import { Transactions } from '../../src/transactions/index.js';

const log = createLogger('silent');

const codeOf = (p: Promise<unknown>) => codeOfWith(p, true);

describe('IndexManager (through Database)', () => {
  let dir: string;
  let db: Database;
  const open = async () => {
    db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed' }, log);
    await db.open();
  };
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-idx-'));
    await open();
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Every index entry as [id, decoded tuple, value] (unique entries hold the owner). */
  const entries = async () => {
    const out: [number, unknown[], string][] = [];
    for await (const [k, v] of db.engine.scan(keyspace('index'))) {
      // a compound marker (0x06 after the id) names a document whose attribute is an array or an object
      if (k[4] === 0x06) out.push([k.readUInt32BE(0), [{ compound: orderedCodec.decode(k.subarray(5))[0] }], v.toString('utf8')]);
      else out.push([k.readUInt32BE(0), orderedCodec.decode(k.subarray(4)), v.toString('utf8')]);
    }
    return out;
  };
  /** Entries of one index id as sorted JSON strings of [tuple, value]. */
  const of = async (id: number) =>
    (await entries())
      .filter(([i]) => i === id)
      .map(([, t, v]) => JSON.stringify(v === '' ? t : [t, v]))
      .sort();
  /** name -> id of the first index with that name (an equality and a range index on one column share a name). */
  const ids = async () => Object.fromEntries((await db.get(Indexes).stats()).indexes.reverse().map((i) => [i.name, i.id]));
  const count = async (name: string) => (await db.get(Indexes).stats()).indexes.find((i) => i.name === name)?.entries;
  const put = (key: string, blob: unknown, txn?: string) => db.get(Entities).putEntity(key, blob, txn);

  it('create returns a ready def; duplicates are INDEX_EXISTS and missing drops INDEX_NOT_FOUND; spec validation', async () => {
    const d = await db.get(Indexes).create({ table: 'users', column: 'city' });
    expect(d).toMatchObject({ table: 'users', columns: ['city'], type: 'equality', unique: false, sparse: false, state: 'ready' });
    expect(await codeOf(db.get(Indexes).create({ table: 'users', column: 'city' }))).toBe('400 INDEX_EXISTS');
    expect(await codeOf(db.get(Indexes).create({ table: 'users', column: 'city', type: 'range' }))).toBe('no error'); // another type is another index
    expect(await codeOf(db.get(Indexes).create({ table: 'users' }))).toBe('400 VALIDATION_FAILED');
    expect(
      await codeOf(
        db.get(Indexes).create({ table: 'users', column: 'x', type: 'fulltext', config: { language: 'none', stemming_enabled: true } }),
      ),
    ).toBe('400 VALIDATION_FAILED');
    expect(await codeOf(db.get(Indexes).create({ table: 'users', columns: ['a', 'a'] }))).toBe('400 VALIDATION_FAILED');
    expect(await codeOf(db.get(Indexes).drop({ table: 'users', column: 'nope' }))).toBe('400 INDEX_NOT_FOUND');
    expect((await db.get(Indexes).drop({ table: 'users', column: 'city', type: 'equality' })).columns).toEqual(['city']);
    expect((await db.get(Indexes).stats()).indexes.map((i) => i.type)).toEqual(['range']);
  });

  it('backfills existing entities with the exact keys (non-unique: ‹value, entityKey›; unique: ‹value› -> owner)', async () => {
    await put('users:1', { city: 'Berlin', email: 'a@x' });
    await put('users:2', { city: 'Paris', email: 'b@x' });
    await put('users:3', { email: 'c@x' });
    await put('other:1', { city: 'Berlin' });
    await db.get(Indexes).create({ table: 'users', column: 'city' });
    await db.get(Indexes).create({ table: 'users', column: 'email', unique: true });
    await db.get(Indexes).create({ table: 'users', column: 'city', type: 'range', sparse: true });
    const id = await ids();
    expect(await of(id['users.city']!)).toEqual(
      [
        ['Berlin', 'users:1'],
        ['Paris', 'users:2'],
        [null, 'users:3'],
      ]
        .map((x) => JSON.stringify(x))
        .sort(),
    );
    expect(await of(id['users.email']!)).toEqual(
      [
        [['a@x'], 'users:1'],
        [['b@x'], 'users:2'],
        [['c@x'], 'users:3'],
      ]
        .map((x) => JSON.stringify(x))
        .sort(),
    );
    const stats = (await db.get(Indexes).stats()).indexes;
    expect(stats.map((i) => [i.name, i.type, i.entries])).toEqual([
      ['users.city', 'equality', 3],
      ['users.email', 'equality', 3],
      ['users.city', 'range', 2],
    ]);
    expect((await entries()).length).toBe(8);
  });

  it('backfill over more than one batch (1000) indexes every entity', async () => {
    await db
      .get(Entities)
      .applyBatch(
        Array.from({ length: 1500 }, (_, i) => ({ op: 'put' as const, key: `t:${String(i).padStart(5, '0')}`, blob: { v: i % 7 } })),
      );
    await db.get(Indexes).create({ table: 't', column: 'v' });
    expect(await count('t.v')).toBe(1500);
    expect((await entries()).length).toBe(1500);
  });

  it('the entry count is exact when commits change entries while the index is built (and without them)', async () => {
    // Two backfill batches (5000 each). After the first batch's write: an update of a document it covered, an
    // update and a delete of documents of the second batch (whose entries the commit and the backfill both write).
    const n = 6000;
    const key = (i: number) => `t:${String(i).padStart(5, '0')}`;
    await db.get(Entities).applyBatch(Array.from({ length: n }, (_, i) => ({ op: 'put' as const, key: key(i), blob: { v: i % 7 } })));
    const idxPrefix = keyspace('index').prefix[0];
    const commit = db.engine.commit.bind(db.engine);
    let injected: Promise<unknown> | undefined;
    const spy = vi.spyOn(db.engine, 'commit').mockImplementation(async (b) => {
      await commit(b);
      if (!injected && b.ops.length > 0 && b.ops.every((o) => o.key[0] === idxPrefix))
        injected = Promise.all([put(key(1), { v: 100 }), put(key(5500), { v: 101 }), db.get(Entities).deleteEntity(key(5600))]);
    });
    try {
      await db.get(Indexes).create({ table: 't', column: 'v' });
      await injected;
    } finally {
      spy.mockRestore();
    }
    expect(injected, 'the commits ran during the build').toBeDefined();
    expect((await entries()).length).toBe(n - 1);
    expect(await count('t.v')).toBe(n - 1);
    expect((await of((await ids())['t.v']!)).filter((e) => e.startsWith('[10'))).toEqual([
      JSON.stringify([100, key(1)]),
      JSON.stringify([101, key(5500)]),
    ]);
    // Without commits during the build the backfill's own count is used: still exact.
    await db.get(Entities).applyBatch([
      { op: 'put', key: 'w:1', blob: { a: 1 } },
      { op: 'put', key: 'w:2', blob: { a: [1, 2] } },
    ]);
    await db.get(Indexes).create({ table: 'w', column: 'a' });
    expect(await count('w.a')).toBe(3);
  });

  it('maintenance: update moves the entry, delete removes it, rollback leaves nothing; nested paths, arrays, sparse', async () => {
    await db.get(Indexes).create({ table: 'u', column: 'address.city' });
    await db.get(Indexes).create({ table: 'u', column: 'tags', sparse: true });
    const id = await ids();
    const city = () => of(id['u.address.city']!);
    const tags = () => of(id['u.tags']!);
    const j = (...xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

    await put('u:1', { address: { city: 'Rome' }, tags: ['a', 'b', 'a'] });
    await put('u:2', { name: 'no city, no tags' });
    expect(await city()).toEqual(j(['Rome', 'u:1'], [null, 'u:2']));
    expect(await tags()).toEqual(j(['a', 'u:1'], ['b', 'u:1'], [{ compound: 'u:1' }]));

    await put('u:1', { address: { city: 'Oslo' }, tags: ['b', 'c'] });
    expect(await city()).toEqual(j(['Oslo', 'u:1'], [null, 'u:2']));
    expect(await tags()).toEqual(j(['b', 'u:1'], ['c', 'u:1'], [{ compound: 'u:1' }]));
    expect(await count('u.tags')).toBe(2);

    await db.get(Entities).deleteEntity('u:1');
    expect(await city()).toEqual(j([null, 'u:2']));
    expect(await tags()).toEqual([]);
    expect(await count('u.address.city')).toBe(1);
    expect(await count('u.tags')).toBe(0);

    const t = db.get(Transactions).begin().transaction_id;
    await put('u:3', { address: { city: 'Lima' }, tags: ['z'] }, t);
    await db.get(Entities).deleteEntity('u:2', t);
    db.get(Transactions).rollback(t);
    expect(await city()).toEqual(j([null, 'u:2']));
    expect(await tags()).toEqual([]);

    // a committed explicit transaction is applied in one batch
    const t2 = db.get(Transactions).begin().transaction_id;
    await put('u:3', { address: { city: 'Lima' }, tags: ['z'] }, t2);
    await db.get(Entities).deleteEntity('u:2', t2);
    await db.get(Transactions).commit(t2);
    expect(await city()).toEqual(j(['Lima', 'u:3']));
    expect(await tags()).toEqual(j(['z', 'u:3'], [{ compound: 'u:3' }]));
    expect(await count('u.address.city')).toBe(1);
    expect(await count('u.tags')).toBe(1);
  });

  it('a document producing more than 1024 entries is refused with nothing applied', async () => {
    await db.get(Indexes).create({ table: 'c', columns: ['a', 'b'] });
    const big = { a: Array.from({ length: 40 }, (_, i) => i), b: Array.from({ length: 40 }, (_, i) => i) };
    expect(await codeOf(put('c:1', big))).toBe('400 VALIDATION_FAILED');
    expect(await codeOf(Promise.resolve().then(() => db.get(Entities).getEntity('c:1')))).toBe('404 NOT_FOUND');
    expect(await entries()).toEqual([]);
  });

  it('unique: a duplicate is refused with nothing applied; moving the owner off frees the value', async () => {
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    await put('u:1', { email: 'a@x' });
    expect(await codeOf(put('u:2', { email: 'a@x' }))).toBe('409 CONFLICT');
    expect(await codeOf(Promise.resolve().then(() => db.get(Entities).getEntity('u:2')))).toBe('404 NOT_FOUND');
    expect(await count('u.email')).toBe(1);
    // the owner itself may rewrite its document
    await put('u:1', { email: 'a@x', n: 2 });
    await put('u:1', { email: 'b@x' });
    await put('u:2', { email: 'a@x' });
    expect(await count('u.email')).toBe(2);
    expect(await codeOf(put('u:3', { email: 'b@x' }))).toBe('409 CONFLICT');
    await db.get(Entities).deleteEntity('u:1');
    await put('u:3', { email: 'b@x' });
    expect(await count('u.email')).toBe(2);
  });

  it('unique in an explicit transaction: the commit fails CONFLICT with status aborted', async () => {
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    await put('u:1', { email: 'a@x' });
    const t = db.get(Transactions).begin().transaction_id;
    await put('u:2', { email: 'a@x' }, t);
    let err: unknown;
    try {
      await db.get(Transactions).commit(t);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ThemisError);
    expect((err as ThemisError).code).toBe('CONFLICT');
    expect((err as ThemisError).details).toMatchObject({ status: 'aborted', conflicting_key: 'u:1' });
    // two new entities claiming the same value in one transaction
    const t2 = db.get(Transactions).begin().transaction_id;
    await put('u:3', { email: 'z@x' }, t2);
    await put('u:4', { email: 'z@x' }, t2);
    expect(await codeOf(db.get(Transactions).commit(t2))).toBe('409 CONFLICT');
    expect(await count('u.email')).toBe(1);
  });

  // Regression: the hook must see values released earlier in the same commit (two-pass check).
  it('unique: moving a value from one entity to another within one transaction commits', async () => {
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    await put('u:1', { email: 'a@x' });
    const r = await codeOf(
      db.get(Entities).applyBatch([
        { op: 'put', key: 'u:1', blob: { email: 'new@x' } },
        { op: 'put', key: 'u:2', blob: { email: 'a@x' } },
      ]),
    );
    expect(r).toBe('no error');
  });

  it('unique: concurrent commits of different keys with one value: exactly one wins', async () => {
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => codeOf(put(`u:${i}`, { email: 'same@x' }))));
    expect(rs.filter((r) => r === 'no error').length).toBe(1);
    expect(rs.filter((r) => r === '409 CONFLICT').length).toBe(9);
    expect(await count('u.email')).toBe(1);
    expect((await entries()).length).toBe(1);
    // a value released by an in-flight commit can be claimed by a later one
    const owner = rs.indexOf('no error');
    const [a, b] = await Promise.all([codeOf(put(`u:${owner}`, { email: 'moved@x' })), codeOf(put('u:99', { email: 'same@x' }))]);
    expect([a, b]).toEqual(['no error', 'no error']);
    expect(await count('u.email')).toBe(2);
  });

  // Regression for a planted bug the suite let through: ignoring the claims of commits still in
  // flight let two explicit transactions commit one unique value. A first, unrelated commit holds
  // group commit busy, so both transactions are queued behind it and neither is in LevelDB when
  // the other's hook checks: only the in-flight claim can refuse the second.
  for (const isolation of ['read_committed', 'snapshot'] as const) {
    it(`unique (${isolation}): explicit transactions committing one value concurrently: exactly one commits, one entry`, async () => {
      await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
      const txns: string[] = [];
      for (let i = 0; i < 4; i++) {
        const t = db.get(Transactions).begin(isolation).transaction_id;
        await put(`u:${i}`, { email: 'same@x', i }, t);
        txns.push(t);
      }
      const blocker = put('other:1', { x: 1 });
      const rs = await Promise.all(txns.map((t) => codeOf(db.get(Transactions).commit(t))));
      await blocker;
      expect(rs).toEqual(['no error', '409 CONFLICT', '409 CONFLICT', '409 CONFLICT']);
      expect(await of((await ids())['u.email']!)).toEqual([JSON.stringify([['same@x'], 'u:0'])]);
      expect(await count('u.email')).toBe(1);
      for (let i = 1; i < 4; i++)
        expect(await codeOf(Promise.resolve().then(() => db.get(Entities).getEntity(`u:${i}`)))).toBe('404 NOT_FOUND');
      // the loser's error names the in-flight owner
      const t = db.get(Transactions).begin(isolation).transaction_id;
      await put('u:9', { email: 'same@x' }, t);
      const late = db
        .get(Transactions)
        .commit(t)
        .catch((e: unknown) => e);
      expect(await late).toMatchObject({ code: 'CONFLICT', details: { conflicting_key: 'u:0', status: 'aborted' } });
    });
  }

  it('unique: a value released by a commit still in flight can be claimed by an explicit transaction queued behind it', async () => {
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    await put('u:1', { email: 'a@x' });
    const mover = db.get(Transactions).begin().transaction_id;
    await put('u:1', { email: 'b@x' }, mover);
    const taker = db.get(Transactions).begin().transaction_id;
    await put('u:2', { email: 'a@x' }, taker);
    const blocker = put('other:1', { x: 1 });
    const rs = await Promise.all([codeOf(db.get(Transactions).commit(mover)), codeOf(db.get(Transactions).commit(taker))]);
    await blocker;
    expect(rs).toEqual(['no error', 'no error']);
    expect(await of((await ids())['u.email']!)).toEqual([JSON.stringify([['a@x'], 'u:2']), JSON.stringify([['b@x'], 'u:1'])]);
    // and a third transaction cannot take either value while both are in flight or after
    const third = db.get(Transactions).begin().transaction_id;
    await put('u:3', { email: 'b@x' }, third);
    expect(await codeOf(db.get(Transactions).commit(third))).toBe('409 CONFLICT');
  });

  it('unique: an entity created, deleted and created again with its value, all in flight at once, keeps it', async () => {
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    const blocker = put('other:1', { x: 1 });
    // queued behind the blocker: the first create's claim is still in flight when the third checks
    const rs = await Promise.all([
      codeOf(put('u:1', { email: 'a@x' })),
      codeOf(db.get(Entities).deleteEntity('u:1')),
      codeOf(put('u:1', { email: 'a@x', again: true })),
    ]);
    await blocker;
    expect(rs).toEqual(['no error', 'no error', 'no error']);
    expect(await of((await ids())['u.email']!)).toEqual([JSON.stringify([['a@x'], 'u:1'])]);
    expect(JSON.parse(db.get(Entities).getEntity('u:1').blob)).toEqual({ email: 'a@x', again: true });
  });

  it('a unique index over duplicate data fails CONFLICT and leaves nothing behind', async () => {
    await put('u:1', { email: 'a@x' });
    await put('u:2', { email: 'a@x' });
    expect(await codeOf(db.get(Indexes).create({ table: 'u', column: 'email', unique: true }))).toBe('409 CONFLICT');
    expect((await db.get(Indexes).stats()).indexes).toEqual([]);
    expect(await entries()).toEqual([]);
    // after fixing the data it can be created
    await put('u:2', { email: 'b@x' });
    expect((await db.get(Indexes).create({ table: 'u', column: 'email', unique: true })).state).toBe('ready');
    expect(await count('u.email')).toBe(2);
  });

  // The second pass of a unique create: a duplicate written after the backfill passed its key is not
  // seen by the backfill (and not refused by the hook, which enforces uniqueness only once ready).
  it('a unique create notices a duplicate written while it was building (after the backfill passed), and leaves nothing behind', async () => {
    await put('u:1', { email: 'a@x' });
    const idxPrefix = keyspace('index').prefix[0];
    const commit = db.engine.commit.bind(db.engine);
    let injected: Promise<unknown> | undefined;
    const spy = vi.spyOn(db.engine, 'commit').mockImplementation(async (b) => {
      await commit(b);
      // the backfill's batch: index entries only. Right after it, another entity takes the value.
      if (!injected && b.ops.length > 0 && b.ops.every((o) => o.key[0] === idxPrefix)) injected = put('u:2', { email: 'a@x' });
    });
    try {
      const r = await codeOf(db.get(Indexes).create({ table: 'u', column: 'email', unique: true }));
      await injected;
      expect(injected, 'the duplicate was written during the build').toBeDefined();
      expect(r).toBe('409 CONFLICT');
    } finally {
      spy.mockRestore();
    }
    expect((await db.get(Indexes).stats()).indexes).toEqual([]);
    expect(await entries()).toEqual([]);
    expect(JSON.parse(db.get(Entities).getEntity('u:2').blob)).toEqual({ email: 'a@x' }); // the write itself stands
  });

  it('range scans honour inclusive and exclusive bounds in both directions (POST /query over a range index)', async () => {
    await db.get(Entities).applyBatch(Array.from({ length: 6 }, (_, i) => ({ op: 'put' as const, key: `r:${i}`, blob: { n: i } })));
    await db.get(Indexes).create({ table: 'r', column: 'n', type: 'range' });
    const keys = async (range: Record<string, unknown>, desc = false) => {
      const res = (await db
        .get(Query)
        .run({ table: 'r', range: [{ column: 'n', ...range }], order_by: { column: 'n', desc }, return: 'keys' })) as {
        keys: string[];
        plan: { mode: string };
      };
      expect(res.plan.mode).toBe('range_scan');
      return res.keys;
    };
    expect(await keys({ gte: 1, lte: 4 })).toEqual(['r:1', 'r:2', 'r:3', 'r:4']);
    expect(await keys({ gt: 1, lt: 4 })).toEqual(['r:2', 'r:3']);
    expect(await keys({ gte: 1, lt: 4 })).toEqual(['r:1', 'r:2', 'r:3']);
    expect(await keys({ gt: 1, lte: 4 })).toEqual(['r:2', 'r:3', 'r:4']);
    expect(await keys({ gte: 1, lte: 4 }, true)).toEqual(['r:4', 'r:3', 'r:2', 'r:1']);
    expect(await keys({ gt: 1, lt: 4 }, true)).toEqual(['r:3', 'r:2']);
    expect(await keys({ lte: 0 })).toEqual(['r:0']);
    expect(await keys({ gt: 5 })).toEqual([]);
    expect(await keys({ gte: 5 })).toEqual(['r:5']);
  });

  it('a fulltext index answers 503 with Retry-After while it is built (also to AQL FULLTEXT), and serves once ready', async () => {
    // Enough documents that the build outlasts the AQL query's planning.
    await db
      .get(Entities)
      .applyBatch(Array.from({ length: 3000 }, (_, i) => ({ op: 'put' as const, key: `docs:${i}`, blob: { body: `quick fox ${i}` } })));
    const creating = db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    let building: unknown;
    try {
      db.get(Indexes).fulltext('docs', 'body');
    } catch (e) {
      building = e;
    }
    expect(building).toBeInstanceOf(ThemisError);
    expect((building as ThemisError).status).toBe(503);
    expect((building as ThemisError).retryAfterMs).toBe(1000);
    // The same situation through AQL: the index exists, so it is not INDEX_NOT_FOUND.
    const aql = db.get(Aql).run({ query: 'FOR d IN docs FILTER FULLTEXT(d.body, "fox") RETURN d._key' });
    expect(await codeOf(aql)).toBe('503 UNAVAILABLE');
    await creating;
    expect(db.get(Indexes).fulltext('docs', 'body').search('fox', { limit: 10, offset: 0 }).total).toBe(3000);
    expect(await db.get(Aql).run({ query: 'FOR d IN docs FILTER FULLTEXT(d.body, "fox") RETURN d._key' })).toMatchObject({ count: 3000 });
  });

  it('indexes and entry counts survive reopening; drop removes entries', async () => {
    await put('u:1', { a: 1 });
    await db.get(Indexes).create({ table: 'u', column: 'a' });
    await db.get(Indexes).create({ table: 'u', column: 'b', unique: true, sparse: true });
    await put('u:2', { a: 2, b: 'x' });
    await db.close();
    await open();
    expect((await db.get(Indexes).stats()).indexes.map((i) => [i.name, i.unique, i.sparse, i.state, i.entries])).toEqual([
      ['u.a', false, false, 'ready', 2],
      ['u.b', true, true, 'ready', 1],
    ]);
    expect(await codeOf(put('u:3', { b: 'x' }))).toBe('409 CONFLICT');
    await db.get(Indexes).drop({ table: 'u', column: 'a' });
    expect((await entries()).map(([, t]) => t)).toEqual([['x']]);
    await put('u:3', { a: 3 }); // the dropped index is no longer maintained
    expect((await entries()).length).toBe(1);
    // a new index gets a fresh id (not reusing the dropped one's entries)
    await db.get(Indexes).create({ table: 'u', column: 'a' });
    expect(await count('u.a')).toBe(3);
  });
});
