import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/access.js';
import { Aql } from '../../src/aql/index.js';
import { Changefeed } from '../../src/changefeed/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Graph } from '../../src/graph/index.js';
import { Query } from '../../src/query/index.js';
import { Indexes } from '../../src/index/index.js';
import { tableAccessOf } from '../../src/security/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { codeOf, codeOfSync } from '../helpers/errors.js';
import { openDb, tempDir } from '../helpers/inproc.js';

/**
 * The services' table checks in process (the black-box view is
 * test/http/table-scope.test.ts): what a caller scoped to `users` (and the
 * edge table `follows`) may reach through each service. Unit-level so the
 * mutation run (scripts/mutation.ts, SCOPE-*) can see them.
 */

let dir: string;
let db: Database;
/** The code a call fails with, thrown synchronously or rejected. */
const failure = (f: () => unknown) => codeOf((async () => f())());

const U: Caller = { access: tableAccessOf(['data:read:users', 'data:read:follows', 'data:write:users']), id: 'u' };
const V: Caller = { access: tableAccessOf(['data:read', 'data:write']), id: 'v' };

beforeAll(async () => {
  dir = tempDir('themis-scope-');
  db = await openDb(dir);
  const e = db.get(Entities);
  await e.applyBatch([
    { op: 'put', key: 'users:1', blob: { n: 1 } },
    { op: 'put', key: 'users:2', blob: { n: 2 } },
    { op: 'put', key: 'orders:1', blob: { n: 3 } },
    { op: 'put', key: 'follows:1', blob: { _from: 'users:1', _to: 'orders:1' } },
    { op: 'put', key: 'follows:2', blob: { _from: 'orders:1', _to: 'users:2' } },
    { op: 'put', key: 'follows:3', blob: { _from: 'users:1', _to: 'users:2' } },
  ]);
  await db.get(Indexes).create({ table: 'orders', column: 'n' });
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('services check the caller table access', () => {
  it('entities: read and write per key; a batch with one foreign operation applies nothing', async () => {
    const e = db.get(Entities);
    expect(e.getEntity('users:1', undefined, U).blob).toBe('{"n":1}');
    expect(codeOfSync(() => e.getEntity('orders:1', undefined, U))).toBe('FORBIDDEN');
    expect(await failure(() => e.putEntity('orders:2', {}, undefined, U))).toBe('FORBIDDEN');
    expect(await failure(() => e.deleteEntity('orders:1', undefined, U))).toBe('FORBIDDEN');
    expect(await failure(() => e.createEntity(undefined, 'orders', {}, undefined, U))).toBe('FORBIDDEN');
    expect(await failure(() => e.putEntity('follows:9', {}, undefined, U))).toBe('FORBIDDEN');
    expect(
      await failure(() =>
        e.applyBatch(
          [
            { op: 'put', key: 'users:9', blob: {} },
            { op: 'delete', key: 'orders:1' },
          ],
          U,
        ),
      ),
    ).toBe('FORBIDDEN');
    expect(e.read({ key: 'users:9', table: 'users', pk: '9' })).toBeUndefined();
    expect(e.read({ key: 'orders:1', table: 'orders', pk: '1' })).toBe('{"n":3}');
  });

  it('POST /query: the table', async () => {
    expect(await failure(() => db.get(Query).run({ table: 'orders', predicates: [{ column: 'n', value: 3 }] }, undefined, U))).toBe(
      'FORBIDDEN',
    );
  });

  it('AQL: planned collections, DOCUMENT() at run time, traversal ends and the vertices crossed', async () => {
    const aql = (query: string, c: Caller = U) => db.get(Aql).run({ query }, undefined, {}, c);
    expect(await failure(() => aql('FOR o IN orders RETURN o'))).toBe('FORBIDDEN');
    expect(await failure(() => aql('FOR u IN users FOR o IN orders RETURN o'))).toBe('FORBIDDEN');
    expect(await failure(() => aql('FOR u IN users INSERT {_key: "x"} INTO orders'))).toBe('FORBIDDEN');
    expect(await failure(() => aql('RETURN DOCUMENT(CONCAT("orders", ":1"))'))).toBe('FORBIDDEN');
    expect(await failure(() => aql('FOR v IN 1..1 OUTBOUND "orders:1" follows RETURN v'))).toBe('FORBIDDEN');
    expect(await failure(() => aql('FOR v IN OUTBOUND SHORTEST_PATH "users:1" TO "orders:1" follows RETURN v'))).toBe('FORBIDDEN');
    const t = (await aql('FOR v IN 1..3 OUTBOUND "users:1" follows RETURN v._id')) as { entities: unknown[] };
    expect(t.entities).toEqual(['users:2']);
    const all = (await aql('FOR v IN 1..3 OUTBOUND "users:1" follows RETURN v._id', V)) as { entities: unknown[] };
    // depth-first (ArangoDB's default): users:1's last edge (follows:3) first, then follows:1 and on through orders:1
    expect(all.entities).toEqual(['users:2', 'orders:1', 'users:2']);
    expect(((await aql('FOR u IN users SORT u.n RETURN u.n')) as { entities: unknown[] }).entities).toEqual([1, 2]);
  });

  it('graph: start and edge table checked; other tables not crossed', async () => {
    const g = db.get(Graph);
    expect((await g.traverse({ start_vertex: 'users:1', max_depth: 3 }, U.access)).visited).toEqual(['users:1', 'users:2']);
    expect((await g.traverse({ start_vertex: 'users:1', max_depth: 3 }, V.access)).visited).toEqual(['users:1', 'orders:1', 'users:2']);
    expect(await failure(() => g.traverse({ start_vertex: 'orders:1', max_depth: 1 }, U.access))).toBe('FORBIDDEN');
    expect(await failure(() => g.traverse({ start_vertex: 'users:1', max_depth: 1, edge_table: 'edges' }, U.access))).toBe('FORBIDDEN');
    expect(await failure(() => g.shortestPath({ from: 'users:1', to: 'orders:1' }, U.access))).toBe('FORBIDDEN');
    // Through orders:1 the path would be found by an unscoped caller; the scoped one takes the direct edge.
    expect((await g.shortestPath({ from: 'users:1', to: 'users:2' }, U.access)).edges).toEqual(['follows:3']);
  });

  it('change feed: entries of other tables left out; a prefix naming one is refused', async () => {
    const feed = db.get(Changefeed);
    const keep = feed.keyFilter(U.access, '');
    const r = await feed.read({ fromSeq: 0, limit: 100, keyPrefix: '', longPollMs: 0, keep });
    expect(r.entries.map((e) => e.key)).toEqual(['users:1', 'users:2', 'follows:1', 'follows:2', 'follows:3']);
    expect(feed.keyFilter(V.access, '')).toBeUndefined();
    expect(codeOfSync(() => feed.keyFilter(U.access, 'orders:'))).toBe('FORBIDDEN');
    expect(codeOfSync(() => feed.keyFilter(U.access, 'users:'))).toBe('no error');
  });

  it('transactions: only the principal that began one may use, commit or roll it back', async () => {
    const t = db.get(Transactions);
    const id = t.begin('read_committed', U).transaction_id;
    await db.get(Entities).putEntity('users:t', {}, id, U);
    expect(await failure(() => db.get(Entities).putEntity('users:v', {}, id, V))).toBe('FORBIDDEN');
    expect(codeOfSync(() => db.get(Entities).getEntity('users:t', id, V))).toBe('FORBIDDEN');
    expect(await failure(() => t.commit(id, V))).toBe('FORBIDDEN');
    expect(codeOfSync(() => t.rollback(id, V))).toBe('FORBIDDEN');
    expect((await t.commit(id, U)).status).toBe('committed');
  });
});
