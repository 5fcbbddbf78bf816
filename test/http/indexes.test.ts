/**
 * Index management over HTTP: create/drop/stats, validation, permissions,
 * backfill, maintenance, unique enforcement, restart persistence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectStatus, startServer, type Body, type StartedServer } from '../helpers/server.js';

interface IdxStat {
  name: string;
  table: string;
  type: string;
  unique: boolean;
  sparse: boolean;
  state: string;
  entries: number;
}

describe('indexes over HTTP', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  const stats = async (): Promise<IdxStat[]> => {
    const r = await call(s, 'GET', '/index/stats');
    await expectStatus(r, 200);
    return r.body.indexes as IdxStat[];
  };
  const entriesOf = async (name: string, type = 'equality') => (await stats()).find((i) => i.name === name && i.type === type)?.entries;
  const put = (key: string, blob: unknown, headers?: Record<string, string>) => call(s, 'PUT', `/entities/${key}`, { blob }, headers);
  const lastSeq = async () => (await call(s, 'GET', '/changefeed/stats')).body.last_seq as number;
  const expectError = (r: { status: number; body: Body }, status: number, code: string, field?: string) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body).toMatchObject({ error: true, status_code: status, code });
    if (field !== undefined) expect(r.body.field).toBe(field);
  };

  it('create answers the index description; duplicate 400 INDEX_EXISTS; drop 200; drop missing 400 INDEX_NOT_FOUND', async () => {
    const r = await call(s, 'POST', '/index/create', { table: 'cr', column: 'city' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      success: true,
      name: 'cr.city',
      table: 'cr',
      column: 'city',
      columns: ['city'],
      type: 'equality',
      unique: false,
      sparse: false,
      state: 'ready',
    });
    const comp = await call(s, 'POST', '/index/create', { table: 'cr', columns: ['a', 'b.c'], type: 'range', unique: true, sparse: true });
    expect(comp.body).toMatchObject({
      success: true,
      name: 'cr.a,b.c',
      column: 'a',
      columns: ['a', 'b.c'],
      type: 'range',
      unique: true,
      sparse: true,
      state: 'ready',
    });
    expectError(await call(s, 'POST', '/index/create', { table: 'cr', column: 'city' }), 400, 'INDEX_EXISTS');
    const d = await call(s, 'POST', '/index/drop', { table: 'cr', column: 'city' });
    await expectStatus(d, 200);
    expect(d.body).toMatchObject({ success: true, name: 'cr.city', table: 'cr', column: 'city', columns: ['city'], type: 'equality' });
    expectError(await call(s, 'POST', '/index/drop', { table: 'cr', column: 'city' }), 400, 'INDEX_NOT_FOUND');
    expect((await stats()).filter((i) => i.table === 'cr').map((i) => i.name)).toEqual(['cr.a,b.c']);
  });

  it('invalid bodies are 400 VALIDATION_FAILED naming the field (fulltext config too)', async () => {
    expectError(await call(s, 'POST', '/index/create', { column: 'x' }), 400, 'VALIDATION_FAILED', 'table');
    expectError(await call(s, 'POST', '/index/create', { table: 'v' }), 400, 'VALIDATION_FAILED', 'column');
    expectError(await call(s, 'POST', '/index/create', { table: 'v', column: 'a..b' }), 400, 'VALIDATION_FAILED', 'column');
    expectError(await call(s, 'POST', '/index/create', { table: 'v', column: '1abc' }), 400, 'VALIDATION_FAILED', 'column');
    expectError(await call(s, 'POST', '/index/create', { table: 'v', column: 'a', type: 'hash' }), 400, 'VALIDATION_FAILED', 'type');
    expectError(await call(s, 'POST', '/index/create', { table: 'v', column: 'a', unique: 'yes' }), 400, 'VALIDATION_FAILED', 'unique');
    expectError(await call(s, 'POST', '/index/drop', { column: 'a' }), 400, 'VALIDATION_FAILED', 'table');
    expectError(
      await call(s, 'POST', '/index/create', { table: 'v', column: 'a', type: 'fulltext', unique: true }),
      400,
      'VALIDATION_FAILED',
      'unique',
    );
    expectError(
      await call(s, 'POST', '/index/create', { table: 'v', columns: ['a', 'b'], type: 'fulltext' }),
      400,
      'VALIDATION_FAILED',
      'columns',
    );
    expectError(
      await call(s, 'POST', '/index/create', { table: 'v', column: 'a', type: 'fulltext', config: { language: 'fr' } }),
      400,
      'VALIDATION_FAILED',
      'config.language',
    );
    expectError(
      await call(s, 'POST', '/index/create', { table: 'v', column: 'a', type: 'fulltext', config: { k1: -1 } }),
      400,
      'VALIDATION_FAILED',
      'config.k1',
    );
    expectError(
      await call(s, 'POST', '/index/create', { table: 'v', column: 'a', type: 'fulltext', config: { b: 2 } }),
      400,
      'VALIDATION_FAILED',
      'config.b',
    );
    expectError(
      await call(s, 'POST', '/index/create', { table: 'v', column: 'a', type: 'fulltext', config: { colour: 1 } }),
      400,
      'VALIDATION_FAILED',
      'config.colour',
    );
    expectError(
      await call(s, 'POST', '/index/create', { table: 'v', column: 'a', config: { language: 'en' } }),
      400,
      'VALIDATION_FAILED',
      'config',
    );
    expect((await stats()).some((i) => i.table === 'v')).toBe(false);
  });

  it('needs a key: the admin key works, no credentials are 401', async () => {
    const none = { authorization: '' };
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'p', column: 'a' }, none), 401);
    await expectStatus(await call(s, 'POST', '/index/drop', { table: 'p', column: 'a' }, none), 401);
    await expectStatus(await call(s, 'GET', '/index/stats', undefined, none), 401);
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'p', column: 'a' }), 200);
    await expectStatus(await call(s, 'POST', '/index/drop', { table: 'p', column: 'a' }), 200);
  });

  it('backfills entities written before the index, and maintains entries on update, delete and rollback', async () => {
    await expectStatus(await put('bf:1', { address: { city: 'Rome' }, tags: ['a', 'b', 'a'] }), 201);
    await expectStatus(await put('bf:2', { address: { city: 'Oslo' } }), 201);
    await expectStatus(await put('bf:3', { other: true }), 201);
    await call(s, 'POST', '/index/create', { table: 'bf', column: 'address.city' });
    await call(s, 'POST', '/index/create', { table: 'bf', column: 'tags', sparse: true });
    expect(await entriesOf('bf.address.city')).toBe(3); // bf:3 as null
    expect(await entriesOf('bf.tags')).toBe(2); // a, b
    await expectStatus(await put('bf:1', { address: { city: 'Lima' }, tags: ['c'] }), 201); // PUT answers 201 for updates too
    expect(await entriesOf('bf.address.city')).toBe(3);
    expect(await entriesOf('bf.tags')).toBe(1);
    await expectStatus(await call(s, 'DELETE', '/entities/bf:1'), 200);
    expect(await entriesOf('bf.address.city')).toBe(2);
    expect(await entriesOf('bf.tags')).toBe(0);
    const t = (await call(s, 'POST', '/transaction/begin')).body.transaction_id as number;
    const tx = { 'x-transaction-id': String(t) };
    await expectStatus(await put('bf:9', { address: { city: 'X' }, tags: ['x', 'y'] }, tx), 201);
    await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: t }), 200);
    expect(await entriesOf('bf.address.city')).toBe(2);
    expect(await entriesOf('bf.tags')).toBe(0);
  });

  it('unique: a duplicate is 409 with nothing applied; moving the owner off frees the value', async () => {
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'un', column: 'email', unique: true }), 200);
    await expectStatus(await put('un:1', { email: 'a@x' }), 201);
    await expectStatus(await put('un:2', { email: 'b@x' }), 201);
    const seq = await lastSeq();
    const before = await entriesOf('un.email');
    expectError(await put('un:2', { email: 'a@x' }), 409, 'CONFLICT');
    expectError(await put('un:3', { email: 'a@x' }), 409, 'CONFLICT');
    expectError(await call(s, 'POST', '/entities', { key: 'un:4', blob: { email: 'a@x' } }), 409, 'CONFLICT');
    expect(JSON.parse((await call(s, 'GET', '/entities/un:2')).body.blob as string)).toEqual({ email: 'b@x' });
    await expectStatus(await call(s, 'GET', '/entities/un:3'), 404);
    expect(await lastSeq()).toBe(seq);
    const feed = await call(s, 'GET', `/changefeed?from_seq=${seq}&long_poll_ms=0`);
    await expectStatus(feed, 200);
    expect(feed.body.entries).toEqual([]);
    expect(await entriesOf('un.email')).toBe(before);
    await expectStatus(await put('un:1', { email: 'c@x' }), 201);
    await expectStatus(await put('un:3', { email: 'a@x' }), 201);
    expect(await entriesOf('un.email')).toBe(3);
  });

  it('unique inside an explicit transaction: the commit fails 409 with status aborted', async () => {
    await call(s, 'POST', '/index/create', { table: 'ut', column: 'email', unique: true });
    await expectStatus(await put('ut:1', { email: 'a@x' }), 201);
    const t = (await call(s, 'POST', '/transaction/begin')).body.transaction_id as number;
    await expectStatus(await put('ut:2', { email: 'a@x' }, { 'x-transaction-id': String(t) }), 201);
    const c = await call(s, 'POST', '/transaction/commit', { transaction_id: t });
    expectError(c, 409, 'CONFLICT');
    expect(c.body.status).toBe('aborted');
    expect(c.body.transaction_id).toBe(t);
    await expectStatus(await call(s, 'GET', '/entities/ut:2'), 404);
    expect(await entriesOf('ut.email')).toBe(1);
    // the POST /transaction batch form is refused the same way
    expectError(
      await call(s, 'POST', '/transaction', { operations: [{ op: 'put', key: 'ut:3', blob: { email: 'a@x' } }] }),
      409,
      'CONFLICT',
    );
  });

  it('a unique index over duplicate data is 409 and is not listed afterwards', async () => {
    await put('ud:1', { email: 'same' });
    await put('ud:2', { email: 'same' });
    expectError(await call(s, 'POST', '/index/create', { table: 'ud', column: 'email', unique: true }), 409, 'CONFLICT');
    expect((await stats()).some((i) => i.table === 'ud')).toBe(false);
    await expectStatus(await put('ud:3', { email: 'same' }), 201); // nothing enforces it
  });

  it('10 concurrent PUTs of different keys with one unique value: exactly one 201', async () => {
    await call(s, 'POST', '/index/create', { table: 'uc', column: 'email', unique: true });
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => put(`uc:${i}`, { email: 'race@x' })));
    expect(rs.filter((r) => r.status === 201).length).toBe(1);
    expect(rs.filter((r) => r.status === 409).length).toBe(9);
    expect(await entriesOf('uc.email')).toBe(1);
  });

  // Regression for a planted bug the suite let through: with the unique index's in-flight claims
  // ignored, explicit transactions committing one value at the same moment both succeeded and
  // the index held a duplicate (the tests above only raced implicit writes). Each round races
  // several commits of one value; with the claims ignored, commits that share a group commit win.
  it('explicit transactions committing one unique value concurrently: exactly one commits per value, no duplicate in the index', async () => {
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'uxt', column: 'email', unique: true }), 200);
    const ROUNDS = 8;
    const PER_ROUND = 6;
    for (let round = 0; round < ROUNDS; round++) {
      const ids: number[] = [];
      for (let i = 0; i < PER_ROUND; i++) {
        const b = await call(s, 'POST', '/transaction/begin', { isolation: i % 2 === 0 ? 'snapshot' : 'read_committed' });
        expect(b.status, JSON.stringify(b.body)).toBe(200);
        const id = b.body.transaction_id as number;
        const p = await put(`uxt:${round}_${i}`, { email: `v${round}@x` }, { 'x-transaction-id': String(id) });
        expect(p.status, JSON.stringify(p.body)).toBe(201);
        ids.push(id);
      }
      const rs = await Promise.all(ids.map((id) => call(s, 'POST', '/transaction/commit', { transaction_id: id })));
      const won = rs.filter((r) => r.status === 200);
      expect(won.length, `round ${round}: ${JSON.stringify(rs.map((r) => r.body))}`).toBe(1);
      for (const r of rs.filter((x) => x.status !== 200)) {
        expectError(r, 409, 'CONFLICT');
        expect(r.body.status).toBe('aborted');
      }
      // the index and the data agree: one owner, the others were never written
      const winner = rs.findIndex((r) => r.status === 200);
      const q = await call(s, 'POST', '/query', { table: 'uxt', predicates: [{ column: 'email', value: `v${round}@x` }], return: 'keys' });
      expect(q.status, JSON.stringify(q.body)).toBe(200);
      expect(q.body.keys).toEqual([`uxt:${round}_${winner}`]);
      for (let i = 0; i < PER_ROUND; i++) {
        const g = await call(s, 'GET', `/entities/uxt:${round}_${i}`);
        expect(g.status, `uxt:${round}_${i}: ${JSON.stringify(g.body)}`).toBe(i === winner ? 200 : 404);
      }
    }
    expect(await entriesOf('uxt.email')).toBe(ROUNDS);
  });

  // Regression for a planted bug the suite let through: a refused commit kept the sequence numbers
  // it had taken, so the change feed skipped one after every refusal (last_seq after the refusal
  // looked right; the next commit's did not).
  it('after refused commits the next commit gets last_seq + 1 and the change feed stays contiguous', async () => {
    await expectStatus(await call(s, 'POST', '/index/create', { table: 'useq', column: 'email', unique: true }), 200);
    await expectStatus(await put('useq:1', { email: 'taken@x' }), 201);
    const before = await lastSeq();
    expectError(await put('useq:2', { email: 'taken@x' }), 409, 'CONFLICT');
    expectError(
      await call(s, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'useq:3', blob: { n: 3 } },
          { op: 'put', key: 'useq:4', blob: { email: 'taken@x' } },
        ],
      }),
      409,
      'CONFLICT',
    );
    const t = (await call(s, 'POST', '/transaction/begin')).body.transaction_id as number;
    await expectStatus(await put('useq:5', { email: 'taken@x' }, { 'x-transaction-id': String(t) }), 201);
    expectError(await call(s, 'POST', '/transaction/commit', { transaction_id: t }), 409, 'CONFLICT');
    expect(await lastSeq()).toBe(before);
    const ok = await call(s, 'POST', '/transaction', {
      operations: [
        { op: 'put', key: 'useq:6', blob: { email: 'free@x' } },
        { op: 'put', key: 'useq:7', blob: { email: 'seven@x' } },
      ],
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.last_seq).toBe(before + 2);
    expectError(await put('useq:8', { email: 'free@x' }), 409, 'CONFLICT');
    const t2 = (await call(s, 'POST', '/transaction/begin')).body.transaction_id as number;
    await expectStatus(await put('useq:9', { email: 'nine@x' }, { 'x-transaction-id': String(t2) }), 201);
    const c2 = await call(s, 'POST', '/transaction/commit', { transaction_id: t2 });
    expect(c2.status, JSON.stringify(c2.body)).toBe(200);
    expect(c2.body.last_seq).toBe(before + 3);
    const f = await call(s, 'GET', `/changefeed?from_seq=${before}`);
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    expect((f.body.entries as { seq: number; key: string }[]).map((e) => [e.seq, e.key])).toEqual([
      [before + 1, 'useq:6'],
      [before + 2, 'useq:7'],
      [before + 3, 'useq:9'],
    ]);
  });
});

describe('indexes survive a restart', () => {
  it('definitions and entry counts persist', async () => {
    let s = await startServer();
    try {
      await call(s, 'PUT', '/entities/rs:1', { blob: { a: 1, e: 'x' } });
      await call(s, 'PUT', '/entities/rs:2', { blob: { a: [2, 3] } });
      await call(s, 'POST', '/index/create', { table: 'rs', column: 'a' });
      await call(s, 'POST', '/index/create', { table: 'rs', column: 'e', unique: true, sparse: true });
      await call(s, 'PUT', '/entities/rs:3', { blob: { a: 4 } });
      const before = (await call(s, 'GET', '/index/stats')).body.indexes as IdxStat[];
      expect(before.map((i) => [i.name, i.entries])).toEqual([
        ['rs.a', 4],
        ['rs.e', 1],
      ]);
      await s.stop();
      s = await startServer({ dataDir: s.dataDir });
      const after = (await call(s, 'GET', '/index/stats')).body.indexes as IdxStat[];
      expect(after.map((i) => [i.name, i.type, i.unique, i.sparse, i.state, i.entries])).toEqual([
        ['rs.a', 'equality', false, false, 'ready', 4],
        ['rs.e', 'equality', true, true, 'ready', 1],
      ]);
      await expectStatus(await call(s, 'PUT', '/entities/rs:4', { blob: { e: 'x' } }), 409);
    } finally {
      await s.stop();
    }
  });
});

describe('drop with two index types on one column', () => {
  it('needs "type" to say which one', async () => {
    const s2 = await startServer();
    try {
      await expectStatus(await call(s2, 'POST', '/index/create', { table: 'dt', column: 'c' }), 200);
      await expectStatus(await call(s2, 'POST', '/index/create', { table: 'dt', column: 'c', type: 'range' }), 200);
      const amb = await call(s2, 'POST', '/index/drop', { table: 'dt', column: 'c' });
      await expectStatus(amb, 400);
      expect(amb.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'type' });
      const r = await call(s2, 'POST', '/index/drop', { table: 'dt', column: 'c', type: 'range' });
      await expectStatus(r, 200);
      expect(r.body).toMatchObject({ type: 'range' });
      expect((await call(s2, 'POST', '/index/drop', { table: 'dt', column: 'c' })).body).toMatchObject({ type: 'equality' });
    } finally {
      await s2.stop();
    }
  });
});
