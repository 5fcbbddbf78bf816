import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toClientEntry } from '../../src/cdc/index.js';
import { parseEntityKey } from '../../src/entities/index.js';
import { ThemisError } from '../../src/errors.js';
import { codeOf, codeOfSync } from '../helpers/errors.js';
import type { CommitParticipant, Isolation, Transaction, TransactionManager } from '../../src/txn/index.js';
import { openStack, type Stack } from '../helpers/stack.js';

const K = (s: string) => parseEntityKey(s);
const doc = (v: unknown) => JSON.stringify(v);

/** The error code of a sync call or a promise ('no error' if it succeeded). */

describe('TransactionManager', () => {
  let dir: string;
  let s: Stack;
  let txm: TransactionManager;

  /** One implicit read-committed write, committed durably. */
  const write = async (key: string, value: unknown) => {
    const t = txm.begin('read_committed', true);
    txm.put(t, K(key), doc(value));
    return txm.commit(t);
  };
  const readJson = (t: Transaction, key: string) => {
    const v = txm.read(t, K(key));
    return v === undefined ? undefined : JSON.parse(v);
  };
  const latest = (key: string) => {
    const v = txm.readLatest(K(key));
    return v === undefined ? undefined : JSON.parse(v);
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-txm-'));
    s = await openStack(dir);
    txm = s.txm;
  });
  afterEach(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('reads', () => {
    for (const iso of ['read_committed', 'snapshot'] as Isolation[]) {
      it(`${iso}: a transaction reads its own buffered writes; nobody else sees them before commit`, async () => {
        await write('acc:1', { v: 1 });
        const t = txm.begin(iso);
        txm.put(t, K('acc:1'), doc({ v: 2 }));
        txm.put(t, K('acc:new'), doc({ v: 3 }));
        txm.delete(t, K('acc:new'));
        txm.put(t, K('acc:other'), doc({ v: 4 }));
        expect(readJson(t, 'acc:1')).toEqual({ v: 2 });
        expect(readJson(t, 'acc:new')).toBeUndefined();
        expect(readJson(t, 'acc:other')).toEqual({ v: 4 });
        // Outside: the committed state only.
        expect(latest('acc:1')).toEqual({ v: 1 });
        expect(latest('acc:other')).toBeUndefined();
        const other = txm.begin(iso);
        expect(readJson(other, 'acc:1')).toEqual({ v: 1 });
        txm.rollback(other);
        const r = await txm.commit(t);
        expect(r.changes.map((c) => [c.key, c.op])).toEqual([
          ['acc:1', 'put'],
          ['acc:other', 'put'],
        ]); // put+delete of a key that did not exist changes nothing
        expect(latest('acc:1')).toEqual({ v: 2 });
        expect(latest('acc:other')).toEqual({ v: 4 });
        expect(latest('acc:new')).toBeUndefined();
      });
    }

    it('snapshot reads stay stable while others commit; read_committed sees each commit', async () => {
      await write('acc:1', { v: 10 });
      await write('acc:2', { v: 20 });
      const snap = txm.begin('snapshot');
      const rc = txm.begin('read_committed');
      expect(readJson(snap, 'acc:1')).toEqual({ v: 10 });
      for (let i = 1; i <= 5; i++) {
        const t = txm.begin('read_committed', true);
        txm.put(t, K('acc:1'), doc({ v: 10 + i }));
        txm.put(t, K('acc:2'), doc({ v: 20 - i }));
        if (i === 3) txm.put(t, K('acc:3'), doc({ v: 0 }));
        await txm.commit(t);
        expect(readJson(snap, 'acc:1')).toEqual({ v: 10 });
        expect(readJson(snap, 'acc:2')).toEqual({ v: 20 });
        expect(readJson(snap, 'acc:3')).toBeUndefined();
        expect(readJson(rc, 'acc:1')).toEqual({ v: 10 + i });
        expect(readJson(rc, 'acc:2')).toEqual({ v: 20 - i });
      }
      await write('acc:1', { deleted: 'soon' });
      const d = txm.begin('read_committed', true);
      txm.delete(d, K('acc:1'));
      await txm.commit(d);
      expect(readJson(snap, 'acc:1')).toEqual({ v: 10 });
      expect(readJson(rc, 'acc:1')).toBeUndefined();
      // A read-only snapshot transaction commits fine and changes nothing.
      const r = await txm.commit(snap);
      expect(r.changes).toEqual([]);
      txm.rollback(rc);
      expect(s.engine.stats().open_snapshots).toBe(0);
    });
  });

  describe('first committer wins (snapshot)', () => {
    it('the second committer of the same key gets CONFLICT, is aborted, and applies nothing', async () => {
      await write('acc:1', { v: 10 });
      const a = txm.begin('snapshot');
      const b = txm.begin('snapshot');
      txm.put(a, K('acc:1'), doc({ v: 11 }));
      txm.put(b, K('acc:1'), doc({ v: 12 }));
      txm.put(b, K('acc:b-only'), doc({ v: 1 }));
      const before = s.changeLog.lastSeq;
      await txm.commit(a);
      let err: ThemisError | undefined;
      try {
        await txm.commit(b);
      } catch (e) {
        err = e as ThemisError;
      }
      expect(err?.code).toBe('CONFLICT');
      expect(err?.status).toBe(409);
      expect(err?.details).toEqual({ transaction_id: Number(b.id), status: 'aborted' });
      expect(b.state).toBe('aborted');
      expect(latest('acc:1')).toEqual({ v: 11 });
      expect(latest('acc:b-only')).toBeUndefined();
      expect(s.changeLog.lastSeq).toBe(before + 1); // only a's entry
      expect(codeOfSync(() => txm.get(b.id))).toBe('TRANSACTION_NOT_ACTIVE');
      const st = txm.stats();
      expect(st).toMatchObject({ total_begun: 2, total_committed: 1, conflicts: 1, total_aborted: 1, active_count: 0, success_rate: 0.5 });
    });

    it('conflicts with an implicit write and with a delete committed after begin, not with one committed before', async () => {
      await write('acc:1', { v: 10 });
      await write('acc:2', { v: 20 });
      const a = txm.begin('snapshot');
      await write('acc:1', { v: 99 }); // after a began
      txm.put(a, K('acc:1'), doc({ v: 11 }));
      expect(await codeOf(txm.commit(a))).toBe('CONFLICT');

      const b = txm.begin('snapshot');
      const del = txm.begin('read_committed', true);
      txm.delete(del, K('acc:2'));
      await txm.commit(del);
      txm.delete(b, K('acc:2')); // deleting what its snapshot still sees
      expect(await codeOf(txm.commit(b))).toBe('CONFLICT');

      await write('acc:3', { v: 1 });
      const c = txm.begin('snapshot'); // began after the write: no conflict
      txm.put(c, K('acc:3'), doc({ v: 2 }));
      await txm.commit(c);
      expect(latest('acc:3')).toEqual({ v: 2 });
    });

    it('a commit still in flight (queued, not yet durable) already counts for the conflict check', async () => {
      await write('acc:1', { v: 10 });
      const a = txm.begin('snapshot');
      const b = txm.begin('snapshot');
      txm.put(a, K('acc:1'), doc({ v: 11 }));
      txm.put(b, K('acc:1'), doc({ v: 12 }));
      const pa = txm.commit(a); // not awaited
      const pb = txm.commit(b);
      expect(await codeOf(pb)).toBe('CONFLICT');
      await pa;
      expect(latest('acc:1')).toEqual({ v: 11 });
    });

    it('disjoint write sets both commit (write skew is allowed under snapshot isolation)', async () => {
      await write('acc:1', { v: 10 });
      await write('acc:2', { v: 20 });
      const a = txm.begin('snapshot');
      const b = txm.begin('snapshot');
      const sumA = readJson(a, 'acc:1').v + readJson(a, 'acc:2').v;
      const sumB = readJson(b, 'acc:1').v + readJson(b, 'acc:2').v;
      txm.put(a, K('acc:1'), doc({ v: 10 - sumA }));
      txm.put(b, K('acc:2'), doc({ v: 20 - sumB }));
      await txm.commit(a);
      await txm.commit(b);
      expect([latest('acc:1').v, latest('acc:2').v]).toEqual([-20, -10]);
    });

    it('read_committed has no conflict check: the last committer wins', async () => {
      await write('acc:1', { v: 10 });
      const a = txm.begin('read_committed');
      const b = txm.begin('read_committed');
      txm.put(a, K('acc:1'), doc({ v: readJson(a, 'acc:1').v + 1 }));
      txm.put(b, K('acc:1'), doc({ v: readJson(b, 'acc:1').v + 1 }));
      await txm.commit(a);
      const r = await txm.commit(b);
      expect(latest('acc:1')).toEqual({ v: 11 });
      expect(r.changes[0]!.prev).toBe(doc({ v: 11 })); // prev is what it really replaced
      expect(txm.stats().conflicts).toBe(0);
    });
  });

  describe('create checks against pending (in-flight) writes', () => {
    it('two concurrent implicit creates of one key: exactly one succeeds', async () => {
      // async: the loser may fail while buffering (LevelDB's worker thread may already have applied the
      // winner's batch when it reads) or at commit (the winner is still queued): either way CONFLICT.
      const create = async (v: number) => {
        const t = txm.begin('read_committed', true);
        txm.put(t, K('u:1'), doc({ v }), true);
        return txm.commit(t);
      };
      const results = await Promise.allSettled([create(1), create(2)]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((rejected.reason as ThemisError).code).toBe('CONFLICT');
      const winner = results.findIndex((r) => r.status === 'fulfilled') + 1;
      expect(latest('u:1')).toEqual({ v: winner });
    });

    for (const iso of ['read_committed', 'snapshot'] as Isolation[]) {
      it(`${iso}: two explicit transactions creating one key and committing concurrently: exactly one succeeds`, async () => {
        const a = txm.begin(iso);
        const b = txm.begin(iso);
        expect(txm.put(a, K('u:2'), doc({ by: 'a' }), true)).toEqual({ created: true });
        expect(txm.put(b, K('u:2'), doc({ by: 'b' }), true)).toEqual({ created: true });
        const results = await Promise.allSettled([txm.commit(a), txm.commit(b)]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
        expect(((results[1] as PromiseRejectedResult).reason as ThemisError).code).toBe('CONFLICT');
        expect(b.state).toBe('aborted');
        expect(latest('u:2')).toEqual({ by: 'a' });
      });
    }

    // Deterministic version of the races above: an unrelated commit keeps group commit busy, so both
    // creates are queued behind it and neither is in LevelDB when the second is validated. Only the
    // pending (in-flight) write can refuse it (a check of durable data alone lets both through).
    for (const implicit of [true, false]) {
      it(`${implicit ? 'implicit' : 'explicit'} creates of one key queued behind a busy group commit: exactly one succeeds`, async () => {
        const create = (by: string) => {
          const t = implicit ? txm.begin('read_committed', true) : txm.begin('snapshot');
          txm.put(t, K('q:1'), doc({ by }), true);
          return t;
        };
        const a = create('a');
        const b = create('b');
        const blocker = write('other:1', {});
        const results = await Promise.allSettled([txm.commit(a), txm.commit(b)]);
        await blocker;
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
        expect(((results[1] as PromiseRejectedResult).reason as ThemisError).code).toBe('CONFLICT');
        expect(latest('q:1')).toEqual({ by: 'a' });
        expect((await s.changeLog.read({ fromSeq: 0, limit: 10 })).entries.map((e) => e.key)).toEqual(['other:1', 'q:1']);
      });
    }

    it('a create of a key that exists in the transaction view fails at once and leaves the transaction usable', async () => {
      await write('u:3', { v: 1 });
      const t = txm.begin('read_committed');
      expect(codeOfSync(() => txm.put(t, K('u:3'), doc({ v: 2 }), true))).toBe('CONFLICT');
      expect(t.state).toBe('active');
      txm.put(t, K('u:4'), doc({ v: 1 }), true);
      expect(codeOfSync(() => txm.put(t, K('u:4'), doc({ v: 2 }), true))).toBe('CONFLICT'); // its own create
      await txm.commit(t);
      expect(latest('u:4')).toEqual({ v: 1 });
    });

    it('delete then create of an existing key inside one transaction commits (replace)', async () => {
      await write('u:5', { v: 'old' });
      const t = txm.begin('read_committed');
      expect(txm.delete(t, K('u:5'))).toEqual({ existed: true });
      expect(txm.put(t, K('u:5'), doc({ v: 'new' }), true)).toEqual({ created: true }); // absent in its own view
      // The create check must be satisfied by the transaction's own delete.
      expect(await codeOf(txm.commit(t))).toBe('no error');
      expect(latest('u:5')).toEqual({ v: 'new' });
    });

    it('prev and delete-of-in-flight-create see writes still queued in group commit', async () => {
      const t1 = txm.begin('read_committed', true);
      txm.put(t1, K('p:1'), doc({ n: 1 }));
      const t2 = txm.begin('read_committed', true);
      txm.put(t2, K('p:1'), doc({ n: 2 }));
      const t3 = txm.begin('read_committed', true);
      txm.delete(t3, K('p:1'));
      const [r1, r2, r3] = await Promise.all([txm.commit(t1), txm.commit(t2), txm.commit(t3)]);
      expect(r1.changes[0]!.prev).toBeNull();
      expect(r2.changes[0]!.prev).toBe(doc({ n: 1 }));
      expect(r3.changes).toHaveLength(1); // the delete removed the in-flight value
      expect(r3.changes[0]!.prev).toBe(doc({ n: 2 }));
      expect(latest('p:1')).toBeUndefined();
    });
  });

  describe('a commit that fails in storage', () => {
    // LevelDB's own write fails (below the engine, so the engine classifies it as it would a real one).
    const failNextWrite = (message: string) =>
      vi.spyOn(s.engine as unknown as { _write: () => Promise<void> }, '_write').mockRejectedValueOnce(new Error(message));

    it('an I/O error: 503 STORAGE_FAILURE with nothing applied; further writes are refused the same way (no gap in the change log), reads go on', async () => {
      await write('f:0', { v: 0 });
      const spy = failNextWrite('IO error: /data/db/000003.log: Input/output error');
      const t = txm.begin('read_committed', true);
      txm.put(t, K('f:1'), doc({ v: 1 }));
      const failed = await txm.commit(t).catch((e: unknown) => e);
      spy.mockRestore();
      expect(failed).toMatchObject({ code: 'STORAGE_FAILURE', status: 503, details: { storage: 'io_error' } });
      expect((failed as Error).message).toMatch(/outcome is unknown/);
      expect((failed as Error).message).not.toContain('/data/db'); // no paths in what clients see
      expect(txm.healthy).toBe(false);
      // sequence number 2 was handed out and never written: later commits would leave a gap
      expect(codeOfSync(() => txm.begin('read_committed'))).toBe('STORAGE_FAILURE');
      expect(await codeOf(write('f:2', { v: 2 }))).toBe('STORAGE_FAILURE');
      expect(latest('f:0')).toEqual({ v: 0 });
      expect(latest('f:1')).toBeUndefined();
      expect((await s.changeLog.read({ fromSeq: 0, limit: 10 })).entries.map((e) => e.seq)).toEqual([1]);
    });

    it('a failure the engine does not classify (its commit rejects): 500 INTERNAL, then writes refused UNAVAILABLE (no gap)', async () => {
      await write('h:0', { v: 0 });
      const spy = vi.spyOn(s.engine, 'commit').mockRejectedValueOnce(new Error('simulated failure'));
      const failed = await write('h:1', { v: 1 }).catch((e: unknown) => e);
      spy.mockRestore();
      expect(failed).toMatchObject({ code: 'INTERNAL', status: 500 });
      expect(txm.healthy).toBe(false);
      expect(codeOfSync(() => txm.begin('read_committed'))).toBe('UNAVAILABLE');
      expect(await codeOf(write('h:2', { v: 2 }))).toBe('UNAVAILABLE');
      expect((await s.changeLog.read({ fromSeq: 0, limit: 10 })).entries.map((e) => e.seq)).toEqual([1]);
    });

    it('a full disk: 507 INSUFFICIENT_STORAGE (not applied), and so is every later write', async () => {
      await write('g:0', { v: 0 });
      const spy = failNextWrite('IO error: /data/db/000005.ldb: No space left on device');
      const failed = await write('g:1', { v: 1 }).catch((e: unknown) => e);
      spy.mockRestore();
      expect(failed).toMatchObject({ code: 'INSUFFICIENT_STORAGE', status: 507, details: { storage: 'disk_full' } });
      expect((failed as Error).message).toMatch(/was not applied/);
      expect(await codeOf(write('g:2', { v: 2 }))).toBe('INSUFFICIENT_STORAGE');
      expect(s.engine.failure).toMatchObject({ kind: 'disk_full', reason: 'No space left on device' });
      expect(latest('g:1')).toBeUndefined();
    });
  });

  describe('delete of nothing', () => {
    it('produces no change and no change-log entry', async () => {
      await write('x:1', { v: 1 });
      const last = s.changeLog.lastSeq;
      const t = txm.begin('read_committed', true);
      expect(txm.delete(t, K('x:missing'))).toEqual({ existed: false });
      const r = await txm.commit(t);
      expect(r.changes).toEqual([]);
      expect(r.lastSeq).toBe(last);
      const e = txm.begin('snapshot');
      txm.delete(e, K('x:missing'));
      txm.put(e, K('x:2'), doc({ v: 2 }));
      const r2 = await txm.commit(e);
      expect(r2.changes.map((c) => c.key)).toEqual(['x:2']);
      expect(s.changeLog.lastSeq).toBe(last + 1);
      const read = await s.changeLog.read({ fromSeq: 0, limit: 100 });
      expect(read.entries.map((x) => [x.seq, x.key])).toEqual([
        [1, 'x:1'],
        [2, 'x:2'],
      ]);
    });
  });

  describe('transaction lifecycle', () => {
    it('finished transactions are not active; the error names how they ended', async () => {
      const a = txm.begin('read_committed');
      await txm.commit(a);
      const b = txm.begin('snapshot');
      txm.rollback(b);
      for (const [t, how] of [
        [a, 'committed'],
        [b, 'rolled_back'],
      ] as const) {
        let err: ThemisError | undefined;
        try {
          txm.get(t.id);
        } catch (e) {
          err = e as ThemisError;
        }
        expect(err?.code).toBe('TRANSACTION_NOT_ACTIVE');
        expect(err?.details).toMatchObject({ transaction_id: Number(t.id), status: how });
      }
      expect(codeOfSync(() => txm.get('12345'))).toBe('TRANSACTION_NOT_ACTIVE');
      expect(codeOfSync(() => txm.get('abc'))).toBe('TRANSACTION_NOT_ACTIVE');
      expect(codeOfSync(() => txm.get(''))).toBe('TRANSACTION_NOT_ACTIVE');
      expect(codeOfSync(() => txm.get(1.5))).toBe('TRANSACTION_NOT_ACTIVE');
      expect(codeOfSync(() => txm.rollback(a))).toBe('TRANSACTION_NOT_ACTIVE');
      expect(await codeOf(txm.commit(b))).toBe('TRANSACTION_NOT_ACTIVE');
      expect(codeOfSync(() => txm.put(a, K('z:1'), '{}'))).toBe('TRANSACTION_NOT_ACTIVE');
      // ids are integers, accepted as number or decimal string, and unique
      const c = txm.begin('read_committed');
      expect(Number.isSafeInteger(Number(c.id))).toBe(true);
      expect(txm.get(Number(c.id))).toBe(c);
      expect(txm.get(` ${c.id} `)).toBe(c);
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    });

    it('stats count explicit transactions; implicit ones only in implicit_committed', async () => {
      await write('s:1', { v: 1 });
      await write('s:2', { v: 1 });
      const a = txm.begin('read_committed');
      txm.put(a, K('s:1'), doc({ v: 2 }));
      await txm.commit(a);
      const b = txm.begin('snapshot');
      txm.rollback(b);
      txm.begin('snapshot'); // stays active
      const st = txm.stats();
      expect(st).toMatchObject({
        total_begun: 3,
        total_committed: 1,
        total_aborted: 1,
        active_count: 1,
        rolled_back: 1,
        conflicts: 0,
        timed_out: 0,
        implicit_committed: 2,
        success_rate: 0.5,
      });
      expect(st.avg_duration_ms).toBeGreaterThanOrEqual(0);
      expect(st.max_duration_ms).toBeGreaterThanOrEqual(st.avg_duration_ms);
      expect(Object.keys(st).sort()).toEqual(
        [
          'total_begun',
          'total_committed',
          'total_aborted',
          'active_count',
          'avg_duration_ms',
          'max_duration_ms',
          'success_rate',
          'rolled_back',
          'conflicts',
          'timed_out',
          'implicit_committed',
          'implicit_conflicts',
          'conflict_tracking_keys',
        ].sort(),
      );
    });

    it('close() rolls back what is still active and releases its snapshots', async () => {
      const a = txm.begin('snapshot');
      txm.put(a, K('c:1'), '{}');
      expect(s.engine.stats().open_snapshots).toBe(1);
      await s.close();
      expect(a.state).toBe('rolled_back');
    });
  });

  describe('conflict-tracking memory', () => {
    const N = 4200; // > PRUNE_THRESHOLD (4096)
    const bulk = async (prefix: string, n: number) => {
      const t = txm.begin('read_committed', true);
      for (let i = 0; i < n; i++) txm.put(t, K(`${prefix}:${i}`), '{"v":1}');
      return txm.commit(t);
    };

    it('is pruned after commits when no snapshot transaction is active', async () => {
      await bulk('bulk', 100);
      expect(txm.stats().conflict_tracking_keys).toBe(100); // below the threshold: kept
      await bulk('bulk2', N);
      expect(txm.stats().conflict_tracking_keys).toBeLessThan(100);
      // read_committed transactions do not hold pruning back
      const rc = txm.begin('read_committed');
      await bulk('bulk3', N);
      expect(txm.stats().conflict_tracking_keys).toBeLessThan(100);
      txm.rollback(rc);
    });

    it('keeps what an old active snapshot transaction may still conflict with, and prunes once it ends', async () => {
      await write('bulk:0', { v: 0 });
      const old = txm.begin('snapshot');
      await bulk('bulk', N);
      await write('one:more', { v: 1 }); // another commit above the threshold: prune runs, must keep the entries
      expect(txm.stats().conflict_tracking_keys).toBeGreaterThanOrEqual(N + 1);
      // the retained entry still makes the old transaction lose
      txm.put(old, K('bulk:0'), '{"v":"old"}');
      expect(await codeOf(txm.commit(old))).toBe('CONFLICT');
      await write('after:old', { v: 1 });
      expect(txm.stats().conflict_tracking_keys).toBeLessThan(100);
      // and a snapshot begun after the pruning still conflicts with newer writes
      const fresh = txm.begin('snapshot');
      await write('bulk:1', { v: 2 });
      txm.put(fresh, K('bulk:1'), '{"v":3}');
      expect(await codeOf(txm.commit(fresh))).toBe('CONFLICT');
    });
  });

  describe('sequence numbers', () => {
    it('continue gap-free across close and reopen; one transaction gets contiguous numbers', async () => {
      for (let i = 0; i < 3; i++) await write(`seq:${i}`, { i });
      const t = txm.begin('snapshot');
      for (let i = 0; i < 4; i++) txm.put(t, K(`seq:t${i}`), doc({ i }));
      const r = await txm.commit(t);
      expect(r.changes.map((c) => c.seq)).toEqual([4, 5, 6, 7]);
      expect(r.lastSeq).toBe(7);
      await s.close();

      s = await openStack(dir);
      txm = s.txm;
      expect(s.changeLog.lastSeq).toBe(7);
      expect(txm.appliedSeq).toBe(7);
      const r2 = await write('seq:after', { after: true });
      expect(r2.changes[0]!.seq).toBe(8);
      const all = (await s.changeLog.read({ fromSeq: 0, limit: 1000 })).entries.map(toClientEntry);
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(new Set(all.slice(3, 7).map((e) => e.txn_id))).toEqual(new Set([t.id]));
      expect(all[7]!.txn_id).not.toBe(t.id);
      expect(all[7]).toMatchObject({ op: 'put', key: 'seq:after', table: 'seq', value: { after: true }, prev: null });
      // ids issued after the restart do not repeat earlier ones
      expect(new Set(all.map((e) => e.txn_id)).size).toBe(5);
    });
  });
});

describe('TransactionManager limits', () => {
  let dir: string;
  let s: Stack;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-txm-lim-'));
  });
  afterEach(async () => {
    vi.useRealTimers();
    await s?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rolls back explicit transactions idle longer than the timeout (and releases their snapshot)', async () => {
    // A fake clock drives the sweeper (every 50 ms for a 100 ms timeout): on a busy machine real
    // 30 ms keep-alives could arrive late enough to time the busy transaction out too.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    s = await openStack(dir, { idleTimeoutMs: 100 });
    const { txm } = s;
    const idle = txm.begin('snapshot');
    txm.put(idle, K('i:1'), '{}');
    const busy = txm.begin('read_committed');
    const implicit = txm.begin('read_committed', true);
    const keepBusy = (ms: number) => {
      for (let t = 0; t < ms; t += 30) {
        vi.advanceTimersByTime(30);
        txm.get(busy.id); // activity keeps it alive
      }
    };
    keepBusy(90);
    expect(idle.state).toBe('active'); // not before the timeout
    keepBusy(510);
    expect(idle.state).toBe('rolled_back');
    let err: ThemisError | undefined;
    try {
      txm.get(idle.id);
    } catch (e) {
      err = e as ThemisError;
    }
    expect(err?.code).toBe('TRANSACTION_NOT_ACTIVE');
    expect(err?.details).toMatchObject({ transaction_id: Number(idle.id), status: 'rolled_back' });
    expect(busy.state).toBe('active');
    expect(implicit.state).toBe('active'); // implicit ones are not tracked
    expect(s.engine.stats().open_snapshots).toBe(0);
    expect(txm.stats()).toMatchObject({ timed_out: 1, rolled_back: 0, total_aborted: 1, active_count: 1 });
    expect(txm.readLatest(K('i:1'))).toBeUndefined();
    // once nobody touches it, the busy one times out as well
    vi.advanceTimersByTime(200);
    expect(busy.state).toBe('rolled_back');
    expect(txm.stats()).toMatchObject({ timed_out: 2, active_count: 0 });
  });

  it('refuses the operation that exceeds THEMIS_TXN_MAX_OPS with PAYLOAD_TOO_LARGE; the transaction stays usable', async () => {
    s = await openStack(dir, { maxOps: 3 });
    const { txm } = s;
    const t = txm.begin('read_committed');
    for (let i = 0; i < 3; i++) txm.put(t, K(`m:${i}`), doc({ i }));
    expect(codeOfSync(() => txm.put(t, K('m:3'), '{}'))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOfSync(() => txm.delete(t, K('m:4')))).toBe('PAYLOAD_TOO_LARGE');
    txm.put(t, K('m:0'), doc({ i: 'again' })); // rewriting a buffered key adds no operation
    txm.delete(t, K('m:1'));
    expect(t.state).toBe('active');
    const r = await txm.commit(t);
    expect(r.changes.map((c) => [c.key, c.op])).toEqual([
      ['m:0', 'put'],
      ['m:2', 'put'],
    ]);
    expect(txm.readLatest(K('m:3'))).toBeUndefined();
  });

  it('refuses the operation that exceeds THEMIS_TXN_MAX_BYTES; replacing a buffered value recounts its size', async () => {
    s = await openStack(dir, { maxBytes: 1024 });
    const { txm } = s;
    const t = txm.begin('snapshot');
    const big = doc({ pad: 'x'.repeat(900) });
    txm.put(t, K('b:1'), big);
    expect(codeOfSync(() => txm.put(t, K('b:2'), doc({ pad: 'y'.repeat(200) })))).toBe('PAYLOAD_TOO_LARGE');
    txm.put(t, K('b:1'), doc({ small: 1 })); // the big value is replaced, its bytes freed
    txm.put(t, K('b:2'), doc({ pad: 'y'.repeat(200) }));
    expect(t.state).toBe('active');
    await txm.commit(t);
    expect(txm.readLatest(K('b:2'))).toBe(doc({ pad: 'y'.repeat(200) }));
  });

  it('THEMIS_TXN_MAX_BYTES is exact: key + value bytes up to the limit pass, one byte more is refused', async () => {
    s = await openStack(dir, { maxBytes: 1024 });
    const { txm } = s;
    const ofSize = (bytes: number) => doc({ pad: 'x'.repeat(bytes - doc({ pad: '' }).length) });
    const t = txm.begin('read_committed');
    expect(codeOfSync(() => txm.put(t, K('b:1'), ofSize(1024 - 3)))).toBe('no error'); // "b:1" is 3 bytes
    expect(codeOfSync(() => txm.put(t, K('b:2'), '1'))).toBe('PAYLOAD_TOO_LARGE');
    const u = txm.begin('read_committed');
    expect(codeOfSync(() => txm.put(u, K('b:3'), ofSize(1024 - 3 + 1)))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('THEMIS_TXN_MAX_BYTES counts UTF-8 bytes, not UTF-16 code units', async () => {
    s = await openStack(dir, { maxBytes: 1024 });
    const { txm } = s;
    const t = txm.begin('read_committed');
    const value = doc({ pad: 'ü'.repeat(600) }); // 612 UTF-16 units, 1212 UTF-8 bytes
    expect(Buffer.byteLength(value)).toBeGreaterThan(1024);
    expect(codeOfSync(() => txm.put(t, K('u:1'), value))).toBe('PAYLOAD_TOO_LARGE');
  });
});

// Regression for a planted bug that the suite let through: after a commit participant
// refused a commit, the sequence numbers it had taken were not handed back, so
// the change feed skipped a number after every refusal. Checking last_seq after
// the refusal cannot see that; the next commit's numbers can.
describe('TransactionManager: sequence numbers after a refused commit', () => {
  let dir: string;
  let s: Stack;
  /** Refuses any commit touching a key of table `bad`, as a unique index refuses a duplicate. */
  const refuseBad: CommitParticipant = {
    name: 'refuse-bad',
    prepare: (info) => {
      const c = info.changes.find((x) => x.table === 'bad');
      if (c) throw new ThemisError('CONFLICT', `refused ${c.key}`);
      return undefined;
    },
  };
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-txm-refuse-'));
    s = await openStack(dir, { participants: [refuseBad] });
  });
  afterEach(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const commit = (keys: string[], implicit: boolean) => {
    const t = s.txm.begin('read_committed', implicit);
    for (const k of keys) s.txm.put(t, K(k), doc({ k }));
    return s.txm.commit(t);
  };
  const feedSeqs = async () => (await s.changeLog.read({ fromSeq: 0, limit: 1000 })).entries.map((e) => e.seq);

  for (const implicit of [true, false]) {
    it(`${implicit ? 'implicit' : 'explicit'}: the commit after a refusal gets exactly last_seq + 1; the feed stays contiguous`, async () => {
      expect((await commit(['ok:1'], implicit)).lastSeq).toBe(1);
      // a refused single change, then a refused transaction of three changes (the refusal comes from its last one)
      expect(await codeOf(commit(['bad:1'], implicit))).toBe('CONFLICT');
      expect(await codeOf(commit(['ok:x', 'ok:y', 'bad:2'], implicit))).toBe('CONFLICT');
      expect(s.changeLog.lastSeq).toBe(1);
      const next = await commit(['ok:2', 'ok:3'], implicit);
      expect(next.changes.map((c) => c.seq)).toEqual([2, 3]);
      expect(next.lastSeq).toBe(3);
      expect(await codeOf(commit(['bad:3'], implicit))).toBe('CONFLICT');
      expect((await commit(['ok:4'], implicit)).lastSeq).toBe(4);
      expect(await feedSeqs()).toEqual([1, 2, 3, 4]);
      expect(s.txm.readLatest(K('ok:x'))).toBeUndefined();
    });
  }

  it('a refusal between commits still in flight hands back only its own numbers', async () => {
    // three commits queued at once (none durable yet), the middle one refused
    const results = await Promise.allSettled([commit(['ok:a'], true), commit(['bad:b'], true), commit(['ok:c', 'ok:d'], true)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<{ lastSeq: number }>).value.lastSeq).toBe(3);
    expect(await feedSeqs()).toEqual([1, 2, 3]);
    expect(s.txm.appliedSeq).toBe(3);
  });
});
