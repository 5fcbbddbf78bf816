import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toClientEntry, type ChangeEntry } from '../../src/cdc/index.js';
import type { Retention } from '../../src/config.js';
import { parseEntityKey } from '../../src/entities/index.js';
import type { ThemisError } from '../../src/errors.js';
import { codeOf } from '../helpers/errors.js';
import { Change, type CommitInfo } from '../../src/txn/index.js';
import { WriteBatch } from '../../src/storage/index.js';
import { openStack as openStackWith, type Stack } from '../helpers/stack.js';

/** Wired as src/db.ts does; no prune timer fires during a test. */
const openStack = (dir: string, retention: Retention = { kind: 'forever' }): Promise<Stack> => openStackWith(dir, { retention });

const K = (s: string) => parseEntityKey(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ChangeLog', () => {
  let dir: string;
  let s: Stack;

  /** One transaction of puts (doc or null = delete), committed durably. */
  const tx = async (ops: Record<string, unknown>) => {
    const t = s.txm.begin('read_committed', true);
    for (const [k, v] of Object.entries(ops)) {
      if (v === null) s.txm.delete(t, K(k));
      else s.txm.put(t, K(k), JSON.stringify(v));
    }
    return s.txm.commit(t);
  };
  const readAll = async (fromSeq = 0, limit = 10_000, keyPrefix?: string): Promise<ChangeEntry[]> =>
    (await s.changeLog.read({ fromSeq, limit, ...(keyPrefix !== undefined ? { keyPrefix } : {}) })).entries.map(toClientEntry);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-cdc-'));
    s = await openStack(dir);
  });
  afterEach(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('entries', () => {
    it('record op, key, table, value, prev and txn_id; a transaction is contiguous with one txn_id', async () => {
      await tx({ 'users:1': { name: 'Alice' } });
      const r = await tx({ 'users:1': { name: 'Alicia' }, 'users:2': { name: 'Bob' }, 'orders:9': { total: 5 } });
      await tx({ 'users:2': null, 'users:none': null });
      const all = await readAll();
      expect(all.map((e) => [e.seq, e.op, e.key, e.table, e.value, e.prev])).toEqual([
        [1, 'put', 'users:1', 'users', { name: 'Alice' }, null],
        [2, 'put', 'users:1', 'users', { name: 'Alicia' }, { name: 'Alice' }],
        [3, 'put', 'users:2', 'users', { name: 'Bob' }, null],
        [4, 'put', 'orders:9', 'orders', { total: 5 }, null],
        [5, 'delete', 'users:2', 'users', null, { name: 'Bob' }],
      ]);
      expect(all.slice(1, 4).every((e) => e.txn_id === r.txnId)).toBe(true);
      expect(new Set(all.map((e) => e.txn_id)).size).toBe(3);
      expect(typeof all[0]!.txn_id).toBe('string');
      for (const e of all) expect(Number.isNaN(Date.parse(e.ts))).toBe(false);
      expect(all[1]!.ts).toBe(all[3]!.ts); // one commit time per transaction
      expect(s.changeLog.stats()).toEqual({ first_seq: 1, last_seq: 5, entries: 5, subscribers: 0, waiters: 0, retention: 'forever' });
    });

    it('a delete of a missing key and a rolled-back transaction produce no entries', async () => {
      await tx({ 'a:1': { v: 1 } });
      await tx({ 'a:missing': null });
      const t = s.txm.begin('snapshot');
      s.txm.put(t, K('a:rb'), '{"v":1}');
      s.txm.rollback(t);
      expect(s.changeLog.lastSeq).toBe(1);
      expect((await readAll()).map((e) => e.key)).toEqual(['a:1']);
    });
  });

  describe('read', () => {
    beforeEach(async () => {
      // seq 1..10: a:0 b:0 a:1 b:1 ...
      for (let i = 0; i < 5; i++) await tx({ [`a:${i}`]: { i }, [`b:${i}`]: { i } });
    });

    it('from_seq is exclusive; limit caps; nextSeq is the last entry examined', async () => {
      const r = await s.changeLog.read({ fromSeq: 3, limit: 4 });
      expect(r.entries.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
      expect(r.nextSeq).toBe(7);
      const end = await s.changeLog.read({ fromSeq: 10, limit: 4 });
      expect(end).toEqual({ entries: [], nextSeq: 10 });
      const beyond = await s.changeLog.read({ fromSeq: 50, limit: 4 });
      expect(beyond).toEqual({ entries: [], nextSeq: 50 });
    });

    it('key prefix filters; nextSeq moves past entries that did not match', async () => {
      const r = await s.changeLog.read({ fromSeq: 0, limit: 2, keyPrefix: 'b:' });
      expect(r.entries.map((e) => [e.seq, e.key])).toEqual([
        [2, 'b:0'],
        [4, 'b:1'],
      ]);
      expect(r.nextSeq).toBe(4);
      const rest = await s.changeLog.read({ fromSeq: r.nextSeq, limit: 100, keyPrefix: 'b:' });
      expect(rest.entries.map((e) => e.seq)).toEqual([6, 8, 10]);
      expect(rest.nextSeq).toBe(10);
      const none = await s.changeLog.read({ fromSeq: 0, limit: 100, keyPrefix: 'zzz' });
      expect(none).toEqual({ entries: [], nextSeq: 10 });
      expect((await s.changeLog.read({ fromSeq: 0, limit: 100, keyPrefix: 'a:3' })).entries.map((e) => e.seq)).toEqual([7]);
      // maxScan bounds the work of one call; nextSeq says where to continue
      const bounded = await s.changeLog.read({ fromSeq: 0, limit: 100, keyPrefix: 'zzz', maxScan: 3 });
      expect(bounded).toEqual({ entries: [], nextSeq: 3 });
    });
  });

  describe('durable vs announced', () => {
    const info = (seq: number, key: string): CommitInfo => ({
      txnId: 't',
      ts: new Date().toISOString(),
      changes: [new Change(seq, key, key.split(':')[0]!, key.split(':')[1]!, 'put', '{}', null)],
    });

    it('readers see an entry once its commit is announced (applied), not as soon as it is durable; last_seq never moves back', async () => {
      await tx({ 'a:1': {} });
      // The commit's batch is durable, but its applied listeners have not run yet (the window between
      // LevelDB's write and the commit's continuation): streams must not read ahead of live delivery.
      const next = info(2, 'a:2');
      const b = new WriteBatch();
      s.changeLog.participant.write!(next, undefined, b);
      await s.engine.commit(b);
      expect(s.changeLog.lastSeq).toBe(1);
      expect((await readAll()).map((e) => e.seq)).toEqual([1]);
      s.changeLog.participant.applied!(next, undefined);
      expect((await readAll()).map((e) => e.seq)).toEqual([1, 2]);
      // A late notification of an older commit does not move last_seq back.
      s.changeLog.participant.applied!(info(1, 'a:1'), undefined);
      expect(s.changeLog.lastSeq).toBe(2);
      expect(s.changeLog.stats()).toMatchObject({ last_seq: 2, entries: 2 });
    });
  });

  describe('waitFor', () => {
    it('resolves at once when entries after fromSeq exist', async () => {
      await tx({ 'w:1': {} });
      const t0 = Date.now();
      await s.changeLog.waitFor(0, '', 30_000);
      expect(Date.now() - t0).toBeLessThan(10_000); // at once, not after the 30 s timeout
      expect(s.changeLog.stats().waiters).toBe(0);
    });

    it('wakes on a matching commit, well before its timeout', async () => {
      const last = s.changeLog.lastSeq;
      const t0 = Date.now();
      let woke = 0;
      const w = s.changeLog.waitFor(last, 'w:', 20_000).then(() => (woke = Date.now()));
      expect(s.changeLog.stats().waiters).toBe(1);
      await sleep(50);
      await tx({ 'w:1': { v: 1 } });
      await w;
      expect(woke - t0).toBeLessThan(10_000); // woken by the commit, not the 20 s timeout
      expect(s.changeLog.stats().waiters).toBe(0);
    });

    it('is not woken by a commit that does not match its prefix; times out', async () => {
      const last = s.changeLog.lastSeq;
      let woken = false;
      const t0 = Date.now();
      const w = s.changeLog.waitFor(last, 'match:', 400).then(() => (woken = true));
      await tx({ 'other:1': { v: 1 } });
      await sleep(100);
      expect(woken).toBe(false);
      await w;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
      expect(s.changeLog.stats().waiters).toBe(0);
    });

    it('a waiter wakes on the matching entry of a transaction that also has non-matching ones', async () => {
      let woken = false;
      const w = s.changeLog.waitFor(s.changeLog.lastSeq, 'match:', 20_000).then(() => (woken = true));
      await tx({ 'other:1': {}, 'match:1': {} });
      await w;
      expect(woken).toBe(true);
    });

    it('can be cancelled, and close() releases all waiters', async () => {
      let cancel: (() => void) | undefined;
      const w1 = s.changeLog.waitFor(s.changeLog.lastSeq, '', 20_000, (c) => (cancel = c));
      const w2 = s.changeLog.waitFor(s.changeLog.lastSeq, '', 20_000);
      expect(s.changeLog.stats().waiters).toBe(2);
      cancel!();
      await w1;
      expect(s.changeLog.stats().waiters).toBe(1);
      const t0 = Date.now();
      await s.changeLog.close();
      await w2;
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(s.changeLog.stats().waiters).toBe(0);
    });
  });

  it('subscribers receive every applied commit in order', async () => {
    const seen: CommitInfo[] = [];
    const unsubscribe = s.changeLog.subscribe((i) => seen.push(i));
    expect(s.changeLog.stats().subscribers).toBe(1);
    await Promise.all([tx({ 's:1': {}, 's:2': {} }), tx({ 's:3': {} }), tx({ 's:none': null })]);
    unsubscribe();
    await tx({ 's:4': {} });
    expect(seen.map((i) => i.changes.map((c) => c.seq))).toEqual([[1, 2], [3]]);
    expect(s.changeLog.stats().subscribers).toBe(0);
  });

  it('sequence numbers continue across reopen and entries survive it', async () => {
    await tx({ 'r:1': { v: 1 }, 'r:2': { v: 2 } });
    await s.close();
    s = await openStack(dir);
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 1, last_seq: 2, entries: 2 });
    await tx({ 'r:1': null });
    expect((await readAll()).map((e) => [e.seq, e.op, e.key, e.prev])).toEqual([
      [1, 'put', 'r:1', null],
      [2, 'put', 'r:2', null],
      [3, 'delete', 'r:1', { v: 1 }],
    ]);
  });
});

describe('ChangeLog retention', () => {
  let dir: string;
  let s: Stack | undefined;
  const tx = async (key: string, v: unknown) => {
    const t = s!.txm.begin('read_committed', true);
    s!.txm.put(t, K(key), JSON.stringify(v));
    return s!.txm.commit(t);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-cdc-ret-'));
  });
  afterEach(async () => {
    await s?.close();
    s = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('by entries: keeps the newest N; reading below the retained range is GONE (410) with first_seq', async () => {
    s = await openStack(dir, { kind: 'entries', entries: 3 });
    for (let i = 1; i <= 10; i++) await tx(`e:${i}`, { i });
    expect(s.changeLog.firstSeq).toBe(1);
    await s.changeLog.prune();
    expect(s.changeLog.stats()).toEqual({ first_seq: 8, last_seq: 10, entries: 3, subscribers: 0, waiters: 0, retention: '3 entries' });
    let err: ThemisError | undefined;
    try {
      await s.changeLog.read({ fromSeq: 0, limit: 10 });
    } catch (e) {
      err = e as ThemisError;
    }
    expect(err?.code).toBe('GONE');
    expect(err?.status).toBe(410);
    expect(err?.details).toMatchObject({ first_seq: 8, last_seq: 10 });
    expect(await codeOf(s.changeLog.read({ fromSeq: 6, limit: 10 }))).toBe('GONE');
    expect((await s.changeLog.read({ fromSeq: 7, limit: 10 })).entries.map((e) => e.seq)).toEqual([8, 9, 10]);
    expect((await s.changeLog.read({ fromSeq: 8, limit: 10 })).entries.map((e) => e.seq)).toEqual([9, 10]);
    // pruning again without new entries changes nothing; the retained range survives a reopen
    await s.changeLog.prune();
    expect(s.changeLog.firstSeq).toBe(8);
    await s.close();
    s = await openStack(dir, { kind: 'entries', entries: 3 });
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 8, last_seq: 10, entries: 3 });
    expect(await codeOf(s.changeLog.read({ fromSeq: 0, limit: 10 }))).toBe('GONE');
    await tx('e:11', {});
    await s.changeLog.prune();
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 9, last_seq: 11, entries: 3 });
  });

  it('by age: prune(now) removes entries older than the age, keeps younger ones', async () => {
    s = await openStack(dir, { kind: 'age', ms: 2_000 });
    for (let i = 1; i <= 3; i++) await tx(`old:${i}`, { i });
    await sleep(25);
    for (let i = 1; i <= 2; i++) await tx(`new:${i}`, { i });
    const all = (await s.changeLog.read({ fromSeq: 0, limit: 10 })).entries;
    const firstNewTs = Date.parse(all[3]!.ts);
    expect(Date.parse(all[2]!.ts)).toBeLessThan(firstNewTs - 5);
    // Nothing is old yet.
    await s.changeLog.prune(firstNewTs);
    expect(s.changeLog.firstSeq).toBe(1);
    // 1 ms before the first new entry leaves the window: only the old ones go.
    await s.changeLog.prune(firstNewTs + 2_000 - 1);
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 4, last_seq: 5, entries: 2, retention: '2s' });
    // An entry exactly as old as the window is still inside it.
    await s.changeLog.prune(firstNewTs + 2_000);
    expect(s.changeLog.firstSeq).toBe(4);
    expect(await codeOf(s.changeLog.read({ fromSeq: 2, limit: 10 }))).toBe('GONE');
    expect((await s.changeLog.read({ fromSeq: 3, limit: 10 })).entries.map((e) => e.key)).toEqual(['new:1', 'new:2']);
    // Everything old: the log is empty, reading from last_seq still works, the range survives a reopen.
    await s.changeLog.prune(Date.now() + 60_000);
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 6, last_seq: 5, entries: 0 });
    expect(await s.changeLog.read({ fromSeq: 5, limit: 10 })).toEqual({ entries: [], nextSeq: 5 });
    expect(await codeOf(s.changeLog.read({ fromSeq: 4, limit: 10 }))).toBe('GONE');
    await s.close();
    s = await openStack(dir, { kind: 'age', ms: 2_000 });
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 6, last_seq: 5, entries: 0 });
    const r = await tx('after:1', {});
    expect(r.changes[0]!.seq).toBe(6);
    expect((await s.changeLog.read({ fromSeq: 5, limit: 10 })).entries.map((e) => e.seq)).toEqual([6]);
  });

  it('concurrent prune() calls share one run', async () => {
    s = await openStack(dir, { kind: 'entries', entries: 1 });
    for (let i = 1; i <= 5; i++) await tx(`c:${i}`, {});
    const a = s.changeLog.prune();
    const b = s.changeLog.prune();
    expect(a).toBe(b);
    await a;
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 5, last_seq: 5, entries: 1 });
  });

  it('forever retention never prunes', async () => {
    s = await openStack(dir, { kind: 'forever' });
    for (let i = 1; i <= 3; i++) await tx(`f:${i}`, {});
    await s.changeLog.prune(Date.now() + 10 ** 12);
    expect(s.changeLog.stats()).toMatchObject({ first_seq: 1, last_seq: 3, entries: 3 });
  });
});
