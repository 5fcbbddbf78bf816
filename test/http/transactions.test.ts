/**
 * Transaction Management over HTTP: begin/commit/rollback, joining with
 * X-Transaction-Id, conflicts, statistics, POST /transaction batches, idle
 * timeout and size limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransactionStats } from '../../src/txn/index.js';
import { call, expectStatus, sleep, startServer, type Body, type StartedServer } from '../helpers/server.js';

async function begin(s: StartedServer, isolation?: string): Promise<number> {
  const r = await call(s, 'POST', '/transaction/begin', isolation === undefined ? undefined : { isolation });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.transaction_id as number;
}
const inTx = (id: number) => ({ 'x-transaction-id': String(id) });
async function blobOf(s: StartedServer, key: string, headers?: Record<string, string>): Promise<unknown> {
  const r = await call(s, 'GET', `/entities/${key}`, undefined, headers);
  if (r.status === 404) return null;
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return JSON.parse(r.body.blob as string);
}
type TxnStats = TransactionStats;
async function stats(s: StartedServer): Promise<TxnStats> {
  const r = await call(s, 'GET', '/transaction/stats');
  await expectStatus(r, 200);
  return r.body as unknown as TxnStats;
}

describe('transactions over HTTP', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  describe('POST /transaction/begin', () => {
    it('defaults to read_committed (without a body, or with an empty object); accepts snapshot', async () => {
      const none = await call(s, 'POST', '/transaction/begin');
      await expectStatus(none, 200);
      expect(none.body).toEqual({ transaction_id: expect.any(Number), isolation: 'read_committed', status: 'begun' });
      expect(Number.isSafeInteger(none.body.transaction_id)).toBe(true);
      const empty = await call(s, 'POST', '/transaction/begin', {});
      expect(empty.body).toMatchObject({ isolation: 'read_committed', status: 'begun' });
      const snap = await call(s, 'POST', '/transaction/begin', { isolation: 'snapshot' });
      expect(snap.body).toMatchObject({ isolation: 'snapshot', status: 'begun' });
      expect(new Set([none.body.transaction_id, empty.body.transaction_id, snap.body.transaction_id]).size).toBe(3);
      for (const b of [none.body, empty.body, snap.body]) {
        await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: b.transaction_id }), 200);
      }
    });

    it('any other isolation is 400 VALIDATION_FAILED naming the field', async () => {
      for (const isolation of ['serializable', 'SNAPSHOT', '', 5, null]) {
        const r = await call(s, 'POST', '/transaction/begin', { isolation });
        expect(r.status, String(isolation)).toBe(400);
        expect(r.body).toMatchObject({ error: true, code: 'VALIDATION_FAILED', status_code: 400, field: 'isolation' });
      }
      const bad = await call(s, 'POST', '/transaction/begin', '{"isolation":');
      await expectStatus(bad, 400);
    });
  });

  describe('commit and rollback', () => {
    it('commit answers the contract body plus changes and last_seq; the writes become visible', async () => {
      const id = await begin(s, 'snapshot');
      await expectStatus(await call(s, 'PUT', '/entities/c1:a', { blob: { v: 1 } }, inTx(id)), 201);
      await expectStatus(await call(s, 'PUT', '/entities/c1:b', { blob: '{"v":2}' }, inTx(id)), 201);
      const r = await call(s, 'POST', '/transaction/commit', { transaction_id: id });
      await expectStatus(r, 200);
      expect(r.body).toEqual({
        transaction_id: id,
        status: 'committed',
        message: 'Transaction committed successfully',
        changes: 2,
        last_seq: expect.any(Number),
      });
      const feed = await call(s, 'GET', `/changefeed?from_seq=${(r.body.last_seq as number) - 2}`);
      expect((feed.body.entries as Body[]).map((e) => [e.key, e.txn_id])).toEqual([
        ['c1:a', String(id)],
        ['c1:b', String(id)],
      ]);
      expect(await blobOf(s, 'c1:a')).toEqual({ v: 1 });
      expect(await blobOf(s, 'c1:b')).toEqual({ v: 2 });
    });

    it('a transaction that changed nothing commits with changes 0 and the current last_seq', async () => {
      await call(s, 'PUT', '/entities/c2:x', { blob: {} });
      const last = (await call(s, 'GET', '/changefeed/stats')).body.last_seq;
      const id = await begin(s);
      expect((await call(s, 'DELETE', '/entities/c2:missing', undefined, inTx(id))).body).toMatchObject({ success: true, deleted: false });
      const r = await call(s, 'POST', '/transaction/commit', { transaction_id: String(id) }); // the decimal string is accepted
      expect(r.body).toMatchObject({ transaction_id: id, status: 'committed', changes: 0, last_seq: last });
    });

    it('rollback answers the contract body and discards the writes', async () => {
      const id = await begin(s, 'read_committed');
      await call(s, 'PUT', '/entities/c3:a', { blob: { v: 1 } }, inTx(id));
      const r = await call(s, 'POST', '/transaction/rollback', { transaction_id: id });
      await expectStatus(r, 200);
      expect(r.body).toEqual({ transaction_id: id, status: 'rolled_back', message: 'Transaction rolled back successfully' });
      expect(await blobOf(s, 'c3:a')).toBeNull();
    });

    it('unknown or finished transactions are 400 TRANSACTION_NOT_ACTIVE, on commit, rollback and data requests', async () => {
      for (const path of ['/transaction/commit', '/transaction/rollback']) {
        const r = await call(s, 'POST', path, { transaction_id: 424242 });
        await expectStatus(r, 400);
        expect(r.body).toMatchObject({ error: true, code: 'TRANSACTION_NOT_ACTIVE', status_code: 400, transaction_id: 424242 });
      }
      const committed = await begin(s);
      await call(s, 'POST', '/transaction/commit', { transaction_id: committed });
      const rolled = await begin(s);
      await call(s, 'POST', '/transaction/rollback', { transaction_id: rolled });
      for (const [id, how] of [
        [committed, 'committed'],
        [rolled, 'rolled_back'],
      ] as const) {
        for (const path of ['/transaction/commit', '/transaction/rollback']) {
          const r = await call(s, 'POST', path, { transaction_id: id });
          await expectStatus(r, 400);
          expect(r.body).toMatchObject({ code: 'TRANSACTION_NOT_ACTIVE', transaction_id: id, status: how });
        }
        const h = inTx(id);
        expect((await call(s, 'GET', '/entities/c4:a', undefined, h)).body.code).toBe('TRANSACTION_NOT_ACTIVE');
        expect((await call(s, 'PUT', '/entities/c4:a', { blob: {} }, h)).body.code).toBe('TRANSACTION_NOT_ACTIVE');
        expect((await call(s, 'DELETE', '/entities/c4:a', undefined, h)).body.code).toBe('TRANSACTION_NOT_ACTIVE');
        expect((await call(s, 'POST', '/entities', { key: 'c4:a', blob: {} }, h)).body.code).toBe('TRANSACTION_NOT_ACTIVE');
      }
      expect(await blobOf(s, 'c4:a')).toBeNull(); // nothing was written implicitly instead
      for (const [h, echoed] of [
        [{ 'x-transaction-id': 'abc' }, 'abc'],
        [{ 'x-transaction-id': '99999999' }, 99999999],
      ] as const) {
        const r = await call(s, 'GET', '/entities/c4:a', undefined, h);
        await expectStatus(r, 400);
        expect(r.body.code).toBe('TRANSACTION_NOT_ACTIVE');
        expect(r.body.transaction_id).toBe(echoed);
      }
      const missing = await call(s, 'POST', '/transaction/commit', {});
      await expectStatus(missing, 400);
      expect(missing.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'transaction_id' });
    });
  });

  describe('X-Transaction-Id', () => {
    for (const iso of ['read_committed', 'snapshot']) {
      it(`${iso}: writes are buffered, the transaction reads its own writes, others see them only after commit`, async () => {
        const t = `x_${iso}`;
        await call(s, 'PUT', `/entities/${t}:old`, { blob: { v: 'old' } });
        await call(s, 'PUT', `/entities/${t}:gone`, { blob: { v: 'gone' } });
        const id = await begin(s, iso);
        const h = inTx(id);
        // created is computed from the transaction's own view
        const p1 = await call(s, 'PUT', `/entities/${t}:new`, { blob: { v: 1 } }, h);
        expect(p1).toEqual({ status: 201, body: { success: true, key: `${t}:new`, blob_size: 7, created: true } });
        expect((await call(s, 'PUT', `/entities/${t}:new`, { blob: { v: 2 } }, h)).body.created).toBe(false);
        expect((await call(s, 'PUT', `/entities/${t}:old`, { blob: { v: 'new' } }, h)).body.created).toBe(false);
        expect((await call(s, 'DELETE', `/entities/${t}:gone`, undefined, h)).body).toEqual({
          success: true,
          key: `${t}:gone`,
          deleted: true,
        });
        expect((await call(s, 'DELETE', `/entities/${t}:gone`, undefined, h)).body.deleted).toBe(false);
        const created = await call(s, 'POST', '/entities', { key: `${t}:made`, blob: { v: 3 } }, h);
        await expectStatus(created, 201);
        await expectStatus(await call(s, 'POST', '/entities', { key: `${t}:made`, blob: { v: 4 } }, h), 409); // its own create
        await expectStatus(await call(s, 'POST', '/entities', { key: `${t}:old`, blob: { v: 4 } }, h), 409);
        // own view
        expect(await blobOf(s, `${t}:new`, h)).toEqual({ v: 2 });
        expect(await blobOf(s, `${t}:old`, h)).toEqual({ v: 'new' });
        expect(await blobOf(s, `${t}:gone`, h)).toBeNull();
        expect(await blobOf(s, `${t}:made`, h)).toEqual({ v: 3 });
        // everyone else
        expect(await blobOf(s, `${t}:new`)).toBeNull();
        expect(await blobOf(s, `${t}:old`)).toEqual({ v: 'old' });
        expect(await blobOf(s, `${t}:gone`)).toEqual({ v: 'gone' });
        const other = await begin(s, iso);
        expect(await blobOf(s, `${t}:new`, inTx(other))).toBeNull();
        await call(s, 'POST', '/transaction/rollback', { transaction_id: other });
        // commit
        const c = await call(s, 'POST', '/transaction/commit', { transaction_id: id });
        expect(c.body).toMatchObject({ status: 'committed', changes: 4 });
        expect(await blobOf(s, `${t}:new`)).toEqual({ v: 2 });
        expect(await blobOf(s, `${t}:old`)).toEqual({ v: 'new' });
        expect(await blobOf(s, `${t}:gone`)).toBeNull();
        expect(await blobOf(s, `${t}:made`)).toEqual({ v: 3 });
      });
    }

    it('snapshot reads the data as of begin; read_committed reads the latest committed data', async () => {
      await call(s, 'PUT', '/entities/view:1', { blob: { v: 1 } });
      const snap = await begin(s, 'snapshot');
      const rc = await begin(s, 'read_committed');
      await call(s, 'PUT', '/entities/view:1', { blob: { v: 2 } });
      await call(s, 'PUT', '/entities/view:2', { blob: { v: 2 } });
      expect(await blobOf(s, 'view:1', inTx(snap))).toEqual({ v: 1 });
      expect(await blobOf(s, 'view:2', inTx(snap))).toBeNull();
      expect(await blobOf(s, 'view:1', inTx(rc))).toEqual({ v: 2 });
      expect(await blobOf(s, 'view:2', inTx(rc))).toEqual({ v: 2 });
      for (const id of [snap, rc]) await call(s, 'POST', '/transaction/commit', { transaction_id: id });
    });

    it('a snapshot commit conflict is 409 with transaction_id and status aborted, and applies none of its writes', async () => {
      await call(s, 'PUT', '/entities/cf:1', { blob: { v: 0 } });
      const a = await begin(s, 'snapshot');
      const b = await begin(s, 'snapshot');
      await call(s, 'PUT', '/entities/cf:1', { blob: { v: 'a' } }, inTx(a));
      await call(s, 'PUT', '/entities/cf:1', { blob: { v: 'b' } }, inTx(b));
      await call(s, 'PUT', '/entities/cf:2', { blob: { v: 'b' } }, inTx(b));
      await call(s, 'DELETE', '/entities/cf:0', undefined, inTx(b));
      const last = (await call(s, 'GET', '/changefeed/stats')).body.last_seq as number;
      await expectStatus(await call(s, 'POST', '/transaction/commit', { transaction_id: a }), 200);
      const r = await call(s, 'POST', '/transaction/commit', { transaction_id: b });
      await expectStatus(r, 409);
      expect(r.body).toMatchObject({ error: true, code: 'CONFLICT', status_code: 409, transaction_id: b, status: 'aborted' });
      expect(typeof r.body.message).toBe('string');
      expect(await blobOf(s, 'cf:1')).toEqual({ v: 'a' });
      expect(await blobOf(s, 'cf:2')).toBeNull();
      expect((await call(s, 'GET', '/changefeed/stats')).body.last_seq).toBe(last + 1);
    });

    it('two transactions creating one key: exactly one commits, the other gets 409', async () => {
      for (const iso of ['read_committed', 'snapshot']) {
        const key = `dup_${iso}:1`;
        const a = await begin(s, iso);
        const b = await begin(s, iso);
        await expectStatus(await call(s, 'POST', '/entities', { key, blob: { by: 'a' } }, inTx(a)), 201);
        await expectStatus(await call(s, 'POST', '/entities', { key, blob: { by: 'b' } }, inTx(b)), 201);
        const results = await Promise.all([a, b].map((id) => call(s, 'POST', '/transaction/commit', { transaction_id: id })));
        expect(results.map((r) => r.status).sort(), JSON.stringify(results.map((r) => r.body))).toEqual([200, 409]);
        const winner = results[0]!.status === 200 ? 'a' : 'b';
        expect(await blobOf(s, key)).toEqual({ by: winner });
      }
    });

    it('concurrent implicit creates of one key: exactly one 201', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call(s, 'POST', '/entities', { key: 'race:1', blob: { i } })));
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    });

    it('delete and re-create of an existing key inside one transaction commits', async () => {
      await call(s, 'PUT', '/entities/recreate:1', { blob: { v: 'old' } });
      const id = await begin(s, 'read_committed');
      expect((await call(s, 'DELETE', '/entities/recreate:1', undefined, inTx(id))).body.deleted).toBe(true);
      await expectStatus(await call(s, 'POST', '/entities', { key: 'recreate:1', blob: { v: 'new' } }, inTx(id)), 201);
      const c = await call(s, 'POST', '/transaction/commit', { transaction_id: id });
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(await blobOf(s, 'recreate:1')).toEqual({ v: 'new' });
    });
  });

  describe('GET /transaction/stats', () => {
    it('counts explicit transactions by outcome; implicit ones separately', async () => {
      const before = await stats(s);
      expect(Object.keys(before).sort()).toEqual(
        [
          'active_count',
          'avg_duration_ms',
          'conflict_tracking_keys',
          'conflicts',
          'implicit_committed',
          'implicit_conflicts',
          'max_duration_ms',
          'rolled_back',
          'success_rate',
          'timed_out',
          'total_aborted',
          'total_begun',
          'total_committed',
        ].sort(),
      );
      const a = await begin(s, 'snapshot');
      const b = await begin(s, 'snapshot');
      const c = await begin(s);
      const open = await begin(s);
      await call(s, 'PUT', '/entities/st:1', { blob: {} }, inTx(a));
      await call(s, 'PUT', '/entities/st:1', { blob: {} }, inTx(b));
      await call(s, 'POST', '/transaction/commit', { transaction_id: a });
      await expectStatus(await call(s, 'POST', '/transaction/commit', { transaction_id: b }), 409);
      await call(s, 'POST', '/transaction/rollback', { transaction_id: c });
      await call(s, 'PUT', '/entities/st:implicit', { blob: {} });
      await call(s, 'POST', '/transaction', { operations: [{ op: 'put', key: 'st:batch', blob: {} }] });
      const after = await stats(s);
      expect(after.total_begun - before.total_begun).toBe(4);
      expect(after.total_committed - before.total_committed).toBe(1);
      expect(after.total_aborted - before.total_aborted).toBe(2);
      expect(after.conflicts - before.conflicts).toBe(1);
      expect(after.rolled_back - before.rolled_back).toBe(1);
      expect(after.implicit_committed - before.implicit_committed).toBe(2);
      expect(after.active_count).toBe(before.active_count + 1);
      expect(after.success_rate).toBeCloseTo(after.total_committed / (after.total_committed + after.total_aborted), 3);
      expect(after.max_duration_ms).toBeGreaterThanOrEqual(after.avg_duration_ms);
      await call(s, 'POST', '/transaction/rollback', { transaction_id: open });
      expect((await stats(s)).active_count).toBe(before.active_count);
    });
  });

  describe('POST /transaction (atomic batch)', () => {
    it('applies all operations in one commit and reports each', async () => {
      await call(s, 'PUT', '/entities/batch:old', { blob: { v: 'old' } });
      const r = await call(s, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'batch:1', blob: { v: 1 } },
          { op: 'put', key: 'batch:old', blob: '{"v":"new"}' },
          { op: 'delete', key: 'batch:gone' },
          { op: 'put', key: 'batch:2', blob: { v: 2 } },
          { op: 'put', key: 'batch:2', blob: { v: 3 } },
        ],
      });
      await expectStatus(r, 200);
      expect(r.body).toMatchObject({
        success: true,
        status: 'committed',
        operations: 5,
        changes: 3,
        transaction_id: expect.any(Number),
        last_seq: expect.any(Number),
      });
      expect(r.body.results).toEqual([
        { key: 'batch:1', op: 'put', created: true },
        { key: 'batch:old', op: 'put', created: false },
        { key: 'batch:gone', op: 'delete', existed: false },
        { key: 'batch:2', op: 'put', created: true },
        { key: 'batch:2', op: 'put', created: false },
      ]);
      expect(await blobOf(s, 'batch:1')).toEqual({ v: 1 });
      expect(await blobOf(s, 'batch:old')).toEqual({ v: 'new' });
      expect(await blobOf(s, 'batch:2')).toEqual({ v: 3 });
      const feed = await call(s, 'GET', `/changefeed?from_seq=${(r.body.last_seq as number) - 3}`);
      const entries = feed.body.entries as Body[];
      expect(entries.map((e) => e.key)).toEqual(['batch:1', 'batch:old', 'batch:2']);
      expect(new Set(entries.map((e) => e.txn_id))).toEqual(new Set([String(r.body.transaction_id)]));
    });

    it('any invalid operation fails the whole request with 400 naming operations.<i>; nothing is applied', async () => {
      const last = (await call(s, 'GET', '/changefeed/stats')).body.last_seq;
      const good = { op: 'put', key: 'bad:ok', blob: { v: 1 } };
      const cases: [unknown, number, string][] = [
        [{ op: 'put', key: 'nocolon', blob: {} }, 1, 'INVALID_KEY'],
        [{ op: 'merge', key: 'bad:1', blob: {} }, 1, 'VALIDATION_FAILED'],
        [{ op: 'put', key: 'bad:1' }, 1, 'VALIDATION_FAILED'],
        [{ op: 'put', key: 'bad:1', blob: '[1,2]' }, 1, 'INVALID_BLOB'],
        [{ op: 'put', key: 'bad:1', blob: 'not json' }, 1, 'INVALID_BLOB'],
        [{ key: 'bad:1', blob: {} }, 1, 'VALIDATION_FAILED'],
        [{ op: 'delete' }, 1, 'VALIDATION_FAILED'],
        ['put', 1, 'VALIDATION_FAILED'],
      ];
      for (const [op, i, code] of cases) {
        const r = await call(s, 'POST', '/transaction', { operations: [good, op, { op: 'put', key: 'bad:after', blob: {} }] });
        expect(r.status, JSON.stringify(op)).toBe(400);
        expect(r.body.code, JSON.stringify(op)).toBe(code);
        expect(String(r.body.field), JSON.stringify(op)).toMatch(new RegExp(`^operations\\.${i}(\\.|$)`));
      }
      for (const body of [{}, { operations: [] }, { operations: 'x' }]) {
        const r = await call(s, 'POST', '/transaction', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.code).toBe('VALIDATION_FAILED');
      }
      expect(await blobOf(s, 'bad:ok')).toBeNull();
      expect(await blobOf(s, 'bad:after')).toBeNull();
      expect((await call(s, 'GET', '/changefeed/stats')).body.last_seq).toBe(last);
    });
  });
});

describe('transaction limits over HTTP', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_TXN_IDLE_TIMEOUT_MS: '1000', THEMIS_TXN_MAX_OPS: '3', THEMIS_TXN_MAX_BYTES: '1024' } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('an idle transaction is rolled back after THEMIS_TXN_IDLE_TIMEOUT_MS; an active one is not', async () => {
    const before = await stats(s);
    const idle = await begin(s, 'snapshot');
    const idleSince = Date.now(); // before its last request: the server's idle clock starts later
    await expectStatus(await call(s, 'PUT', '/entities/idle:1', { blob: {} }, inTx(idle)), 201);
    const busy = await begin(s);
    // Keep `busy` active (a request every ~50 ms against a 1 s timeout: room for a busy machine)
    // until the server reports the idle one timed out; requests naming `idle` would keep it alive.
    let timedOut = 0;
    while (timedOut === 0 && Date.now() - idleSince < 15_000) {
      await sleep(50);
      const g = await call(s, 'GET', '/entities/idle:1', undefined, inTx(busy));
      expect(g.status, JSON.stringify(g.body)).toBe(404);
      timedOut = (await stats(s)).timed_out - before.timed_out;
    }
    expect(timedOut).toBe(1);
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(1000); // not before the timeout
    const r = await call(s, 'POST', '/transaction/commit', { transaction_id: idle });
    await expectStatus(r, 400);
    expect(r.body).toMatchObject({ code: 'TRANSACTION_NOT_ACTIVE', transaction_id: idle, status: 'rolled_back' });
    await expectStatus(await call(s, 'GET', '/entities/idle:1', undefined, inTx(idle)), 400);
    expect(await blobOf(s, 'idle:1')).toBeNull();
    await expectStatus(await call(s, 'POST', '/transaction/commit', { transaction_id: busy }), 200);
    const after = await stats(s);
    expect(after.timed_out - before.timed_out).toBe(1);
    expect(after.active_count).toBe(0);
  });

  it('the operation exceeding THEMIS_TXN_MAX_OPS is 413 PAYLOAD_TOO_LARGE; the transaction stays usable', async () => {
    const id = await begin(s);
    for (let i = 0; i < 3; i++) await expectStatus(await call(s, 'PUT', `/entities/ops:${i}`, { blob: { i } }, inTx(id)), 201);
    const over = await call(s, 'PUT', '/entities/ops:3', { blob: {} }, inTx(id));
    await expectStatus(over, 413);
    expect(over.body).toMatchObject({ error: true, code: 'PAYLOAD_TOO_LARGE', status_code: 413 });
    await expectStatus(await call(s, 'DELETE', '/entities/ops:4', undefined, inTx(id)), 413);
    await expectStatus(await call(s, 'PUT', '/entities/ops:0', { blob: { i: 'again' } }, inTx(id)), 201); // same key: no new operation
    const c = await call(s, 'POST', '/transaction/commit', { transaction_id: id });
    expect(c.body).toMatchObject({ status: 'committed', changes: 3 });
    expect(await blobOf(s, 'ops:0')).toEqual({ i: 'again' });
    expect(await blobOf(s, 'ops:3')).toBeNull();
    // A batch above the limit is refused as a whole.
    const batch = await call(s, 'POST', '/transaction', {
      operations: Array.from({ length: 4 }, (_, i) => ({ op: 'put', key: `opsb:${i}`, blob: {} })),
    });
    await expectStatus(batch, 413);
    expect(batch.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await blobOf(s, 'opsb:0')).toBeNull();
  });

  it('the write exceeding THEMIS_TXN_MAX_BYTES is 413; the transaction stays usable', async () => {
    const id = await begin(s, 'snapshot');
    await expectStatus(await call(s, 'PUT', '/entities/bytes:1', { blob: { pad: 'x'.repeat(800) } }, inTx(id)), 201);
    const over = await call(s, 'PUT', '/entities/bytes:2', { blob: { pad: 'y'.repeat(300) } }, inTx(id));
    await expectStatus(over, 413);
    expect(over.body.code).toBe('PAYLOAD_TOO_LARGE');
    await expectStatus(await call(s, 'PUT', '/entities/bytes:2', { blob: { small: true } }, inTx(id)), 201);
    expect((await call(s, 'POST', '/transaction/commit', { transaction_id: id })).body).toMatchObject({ status: 'committed', changes: 2 });
    expect(await blobOf(s, 'bytes:2')).toEqual({ small: true });
  });
});
