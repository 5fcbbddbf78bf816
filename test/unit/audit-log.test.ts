import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditRecord, redactText, redactedJson, Segment, segmentKeyId } from '../../src/audit/index.js';
import { createLogger } from '../../src/log.js';
import { clientAddress } from '../../src/server/audit.js';
import { Engine } from '../../src/storage/index.js';
import { auditEntry } from '../helpers/audit.js';
import { withAlteredRecord, withoutRecord } from '../helpers/audit-storage.js';
import { tempDir } from '../helpers/inproc.js';

/** The audit log in process (src/audit/audit-log.ts): ids, chain, filters, paging, retention of the log itself. */

const log = createLogger('silent');
const rec = (over: Partial<AuditRecord> = {}): AuditRecord => {
  const { id: _id, timestamp: _ts, ...r } = auditEntry(over);
  return r;
};

let dir: string;
let engine: Engine;
let clock = 1_000_000;
const open = async () => {
  const a = new AuditLog(engine, log, { level: 'all', flushMs: 5, now: () => clock });
  await a.open();
  return a;
};

beforeEach(async () => {
  dir = tempDir('themis-audit-');
  engine = await Engine.open(`${dir}/db`, { sync: false });
  clock = 1_000_000;
});
afterEach(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('AuditLog', () => {
  it('ids are gap-free and continue after a reopen; timestamps never go back; the chain verifies', async () => {
    let a = await open();
    for (let i = 0; i < 10; i++) {
      clock += i % 3 === 0 ? -500 : 10; // a clock that jumps back
      a.record(rec({ entityId: `t:${i}` }));
    }
    await a.close();
    a = await open();
    a.record(rec());
    const p = await a.query({ page: 1, pageSize: 100 });
    expect(p.entries.map((e) => e.id)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const ts = p.entries.map((e) => Date.parse(e.timestamp)).reverse();
    expect([...ts].sort((x, y) => x - y)).toEqual(ts);
    expect(await a.verify()).toMatchObject({ ok: true, checked: 11, first_id: 1, last_id: 11 });
  });

  it('filters intersect their indexes; counts and pages agree with a filter over everything', async () => {
    const a = await open();
    const users = ['ann', 'bob', 'cy'];
    const actions = ['GET_ENTITY', 'PUT_ENTITY'];
    for (let i = 0; i < 300; i++) {
      clock += 1;
      a.record(rec({ user: users[i % 3]!, action: actions[i % 2]!, success: i % 5 !== 0, entityId: `t:${i % 7}` }));
    }
    const all = (await a.query({ page: 1, pageSize: 1000 })).entries;
    const cases: [Record<string, string | boolean>, (e: (typeof all)[number]) => boolean][] = [
      [{ user: 'bob' }, (e) => e.user === 'bob'],
      [{ user: 'bob', action: 'PUT_ENTITY' }, (e) => e.user === 'bob' && e.action === 'PUT_ENTITY'],
      [{ user: 'ann', success: false, entityId: 't:3' }, (e) => e.user === 'ann' && !e.success && e.entityId === 't:3'],
      [{ action: 'NOPE' }, () => false],
    ];
    for (const [eq, pred] of cases) {
      const want = all.filter(pred).map((e) => e.id);
      const got: number[] = [];
      for (let page = 1; ; page++) {
        const p = await a.query({ eq, page, pageSize: 13 });
        expect(p.totalCount).toBe(want.length);
        got.push(...p.entries.map((e) => e.id));
        if (!p.hasMore) break;
      }
      expect(got, JSON.stringify(eq)).toEqual(want);
    }
    const t0 = 1_000_000 + 100;
    const t1 = 1_000_000 + 200;
    const inRange = all.filter((e) => Date.parse(e.timestamp) >= t0 && Date.parse(e.timestamp) <= t1).map((e) => e.id);
    expect((await a.query({ startMs: t0, endMs: t1, page: 1, pageSize: 1000 })).entries.map((e) => e.id)).toEqual(inRange);
    expect((await a.query({ startMs: t0, endMs: t1, page: 1, pageSize: 1000 })).totalCount).toBe(101);
  });

  it('retention deletes the oldest entries; the chain still verifies from its anchor; tampering is still found', async () => {
    const a = await open();
    for (let i = 0; i < 50; i++) {
      clock += 1000;
      a.record(rec({ entityId: `t:${i}` }));
    }
    await a.flush();
    const cutoff = 1_000_000 + 20_500;
    expect(await a.countBefore(cutoff)).toBe(20);
    expect(await a.deleteOlderThan(cutoff, 7)).toBe(7);
    expect(await a.deleteOlderThan(cutoff, 100)).toBe(13);
    expect(await a.deleteOlderThan(cutoff, 100)).toBe(0);
    expect(await a.countBefore(cutoff)).toBe(0);
    expect((await a.summary()).count).toBe(30);
    expect(await a.verify()).toMatchObject({ ok: true, checked: 30, first_id: 21, last_id: 50 });
    expect((await a.query({ page: 1, pageSize: 100 })).totalCount).toBe(30);
    expect((await a.query({ eq: { entityId: 't:5' }, page: 1, pageSize: 100 })).totalCount).toBe(0);
    // Deleting one in the middle (as an attacker could) breaks it there.
    const { keyspace, WriteBatch } = await import('../../src/storage/index.js');
    const ks = keyspace('audit');
    let held: { key: Buffer; seg: Segment } | undefined;
    for await (const [k, v] of engine.scan(ks, { gte: Buffer.of(0x53), lt: Buffer.of(0x54) })) {
      const seg = new Segment(segmentKeyId(k), v);
      if (seg.firstId <= 30 && 30 <= seg.lastId) held = { key: k, seg };
    }
    await engine.commit(new WriteBatch().put(ks, held!.key, withoutRecord(held!.seg, 30 - held!.seg.firstId)));
    // Ids are positions: the record now at 30 (once 31) no longer follows 29's hash.
    expect(await a.verify()).toMatchObject({
      ok: false,
      first_broken_id: 30,
      reason: 'the entry does not match its hash (altered, removed or inserted)',
    });
  });
});

describe('redaction and addresses', () => {
  it('masks credentials in text and secret-named fields in values', () => {
    expect(redactText('invalid bearer token')).toBe('invalid bearer token');
    expect(redactText('key tsk_AbCdEfGh12345678_-x leaked')).toBe('key *** leaked');
    expect(redactText('Authorization: Bearer abcdefghijklmnop.qrs')).toBe('Authorization: ***');
    expect(redactText('jwt eyJhbGciOi.eyJzdWIiOiJ4In0.sig here')).toBe('jwt *** here');
    expect(
      JSON.parse(redactedJson({ name: 'n', Password: 'p', api_key: 'k', nested: { client_secret: 's', note: 'tsk_AAAAAAAAAAAA' } })),
    ).toEqual({
      name: 'n',
      Password: '***',
      api_key: '***',
      nested: { client_secret: '***', note: '***' },
    });
  });

  it('peer addresses: IPv4-mapped IPv6 as dotted IPv4, loopback as ::1', () => {
    expect(clientAddress('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(clientAddress('::ffff:c0a8:0101')).toBe('192.168.1.1');
    expect(clientAddress('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('::1');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(clientAddress('')).toBeNull();
  });
});

describe('AuditLog storage: segments, time search, retention to empty, format 1', () => {
  it('time ranges over many segments agree with a filter over everything (binary search across and inside segments)', async () => {
    const a = await open();
    for (let i = 0; i < 500; i++) {
      clock += i % 7 === 0 ? 0 : 3; // equal timestamps too
      a.record(rec({ entityId: `t:${i}` }));
      if (i % 13 === 0) await a.flush(); // segments of 1..13 entries
    }
    const all = (await a.query({ page: 1, pageSize: 1000 })).entries;
    expect(all).toHaveLength(500);
    const times = all.map((e) => Date.parse(e.timestamp));
    const lo = Math.min(...times);
    const hi = Math.max(...times);
    for (const [s, e] of [
      [lo, hi],
      [lo - 10, lo],
      [lo + 1, lo + 2],
      [lo + 100, lo + 700],
      [hi, hi + 5],
      [hi + 1, hi + 100],
      [lo + 301, lo + 301],
    ] as const) {
      const want = all.filter((x) => Date.parse(x.timestamp) >= s && Date.parse(x.timestamp) <= e).map((x) => x.id);
      const p = await a.query({ startMs: s, endMs: e, page: 1, pageSize: 1000 });
      expect(
        p.entries.map((x) => x.id),
        `${s - lo}..${e - lo}`,
      ).toEqual(want);
      expect(p.totalCount).toBe(want.length);
      expect(await a.countBefore(s)).toBe(all.filter((x) => Date.parse(x.timestamp) < s).length);
    }
    const oldestFirst: number[] = [];
    for await (const e of a.entries({ startMs: lo + 100, endMs: lo + 700 }, false)) oldestFirst.push(e.id);
    expect(oldestFirst).toEqual(
      all
        .filter((x) => Date.parse(x.timestamp) >= lo + 100 && Date.parse(x.timestamp) <= lo + 700)
        .map((x) => x.id)
        .reverse(),
    );
  });

  it('an entry whose stored content changed (its hash kept) breaks the chain at its id', async () => {
    const a = await open();
    for (let i = 0; i < 20; i++) a.record(rec({ entityId: `t:${i}` }));
    await a.flush();
    expect(await a.verify()).toMatchObject({ ok: true, checked: 20 });
    const { keyspace, WriteBatch } = await import('../../src/storage/index.js');
    const ks = keyspace('audit');
    for await (const [k, v] of engine.scan(ks, { gte: Buffer.of(0x53), lt: Buffer.of(0x54) })) {
      const seg = new Segment(segmentKeyId(k), v);
      const altered = withAlteredRecord(seg, 7 - seg.firstId, (e) => {
        e.statusCode = 403;
      });
      await engine.commit(new WriteBatch().put(ks, k, altered));
    }
    expect(await a.verify()).toMatchObject({
      ok: false,
      checked: 6,
      first_broken_id: 7,
      reason: 'the entry does not match its hash (altered, removed or inserted)',
    });
  });

  it('intersections across many index chunks (one per flush) page and count like a filter over everything', async () => {
    const a = await open();
    for (let i = 0; i < 1500; i++) {
      clock += 1;
      a.record(rec({ user: ['ann', 'bob', 'cy'][i % 3]!, action: i % 7 < 3 ? 'PUT_ENTITY' : 'GET_ENTITY', success: i % 11 !== 0 }));
      if (i % 37 === 0) await a.flush();
    }
    const all = (await a.query({ page: 1, pageSize: 1000 })).entries.concat((await a.query({ page: 2, pageSize: 1000 })).entries);
    expect(all).toHaveLength(1500);
    const cases: [Record<string, string | boolean>, (e: (typeof all)[number]) => boolean][] = [
      [{ user: 'bob', action: 'PUT_ENTITY' }, (e) => e.user === 'bob' && e.action === 'PUT_ENTITY'],
      [{ user: 'cy', success: false, action: 'GET_ENTITY' }, (e) => e.user === 'cy' && !e.success && e.action === 'GET_ENTITY'],
    ];
    for (const [eq, pred] of cases) {
      const want = all.filter(pred).map((e) => e.id);
      for (const size of [7, 100]) {
        const got: number[] = [];
        for (let page = 1; ; page++) {
          const p = await a.query({ eq, page, pageSize: size });
          expect(p.totalCount).toBe(want.length);
          got.push(...p.entries.map((e) => e.id));
          if (!p.hasMore) break;
        }
        expect(got).toEqual(want);
      }
      const streamed: number[] = [];
      for await (const e of a.entries({ eq })) streamed.push(e.id);
      expect(streamed).toEqual(want);
    }
  });

  it('values longer than the indexed prefix still filter exactly', async () => {
    const a = await open();
    const long = 'k'.repeat(300);
    for (let i = 0; i < 30; i++) a.record(rec({ entityId: `${long}${i % 3}` }));
    await a.flush();
    for (let i = 0; i < 30; i++) a.record(rec({ entityId: `${long}${i % 3}` }));
    const p = await a.query({ eq: { entityId: `${long}1` }, page: 1, pageSize: 100 });
    expect(p.entries.map((e) => e.id)).toEqual(Array.from({ length: 60 }, (_, i) => 60 - i).filter((id) => (id - 1) % 3 === 1));
  });

  it('retention deleting every entry keeps the id sequence and the anchor across a reopen', async () => {
    let a = await open();
    for (let i = 0; i < 12; i++) {
      clock += 10;
      a.record(rec());
    }
    await a.flush();
    expect(await a.deleteOlderThan(clock + 1, 100)).toBe(12);
    await a.close();
    a = await open();
    expect(await a.summary()).toMatchObject({ count: 0, first_id: 13, last_id: 12 });
    a.record(rec());
    expect((await a.query({ page: 1, pageSize: 10 })).entries.map((e) => e.id)).toEqual([13]);
    expect(await a.verify()).toMatchObject({ ok: true, checked: 1, first_id: 13, last_id: 13 });
  });

  it('a format-1 log (one JSON key per entry) is converted at open: entries, chain, anchor and index', async () => {
    const { keyspace, seqCodec, WriteBatch } = await import('../../src/storage/index.js');
    const crypto = await import('node:crypto');
    const ks = keyspace('audit');
    // Format 1's own field order (src/audit/format-v1.ts): what its hashes covered.
    const { FORMAT1_FIELDS: fields } = await import('../../src/audit/format-v1.js');
    // Entries 5..9 of a log whose 1..4 retention removed (format 1 kept the anchor as hex text).
    let prev = crypto.createHash('sha256').update('gone').digest('hex');
    const batch = new WriteBatch().put(ks, Buffer.from('Manchor', 'latin1'), Buffer.from(prev, 'latin1'));
    const old = [];
    for (let id = 5; id <= 9; id++) {
      const e = auditEntry({ id, timestamp: new Date(2_000_000 + id).toISOString(), user: id % 2 ? 'ann' : 'bob', entityId: `t:${id}` });
      const text = JSON.stringify(fields.map((f) => e[f]));
      const hash = crypto.hash('sha256', `${prev}\n${text}`, 'hex');
      batch.put(ks, Buffer.concat([Buffer.of(0x45), seqCodec.encode(id)]), Buffer.from(`${text.slice(0, -1)},"${prev}","${hash}"]`));
      prev = hash;
      old.push(e);
    }
    batch.put(ks, Buffer.concat([Buffer.of(0x49, 0x75, 0, 3), Buffer.from('ann'), seqCodec.encode(5)]), Buffer.alloc(8)); // an old-layout chunk
    await engine.commit(batch);
    const a = await open();
    expect((await a.query({ page: 1, pageSize: 10 })).entries).toEqual([...old].reverse());
    expect(await a.verify()).toMatchObject({ ok: true, checked: 5, first_id: 5, last_id: 9 });
    expect((await a.query({ eq: { user: 'ann' }, page: 1, pageSize: 10 })).entries.map((e) => e.id)).toEqual([9, 7, 5]);
    a.record(rec());
    expect((await a.query({ page: 1, pageSize: 1 })).entries[0]!.id).toBe(10);
    let leftovers = 0;
    for await (const _ of engine.scan(ks, { gte: Buffer.of(0x45), lt: Buffer.of(0x46) })) leftovers++;
    expect(leftovers).toBe(0);
  });
});

describe('AuditLog in the commit path (group hook)', () => {
  it("every committed write's entry is placed by its group: ids recorded before the acknowledgement, durable with the write", async () => {
    const { openDb, tempDir: tmp } = await import('../helpers/inproc.js');
    const { Entities } = await import('../../src/entities/index.js');
    const { Audit } = await import('../../src/audit/index.js');
    const { INTERNAL } = await import('../../src/access.js');
    const d = tmp('themis-audit-commit-');
    let db = await openDb(d, 'sync');
    const origins = Array.from({ length: 40 }, (_, i) => ({
      requestId: `req-${i}`,
      action: 'PUT_ENTITY',
      user: 'writer',
      userId: 'k-writer',
      ipAddress: '10.0.0.9',
      method: 'PUT',
      route: '/entities/:key',
      successStatus: 201,
      recordedId: undefined as number | undefined,
    }));
    const results = await Promise.all(
      origins.map((origin, i) => db.get(Entities).putEntity(`c:${i}`, { i }, undefined, { ...INTERNAL, origin })),
    );
    // Each commit's entry got an id when its group was formed — before the commit was acknowledged.
    const ids = origins.map((o) => o.recordedId);
    expect(ids.every((x) => typeof x === 'number')).toBe(true);
    expect(new Set(ids).size).toBe(40);
    await db.close();
    db = await openDb(d, 'sync');
    const a = db.get(Audit);
    const page = await a.query({ eq: { action: 'PUT_ENTITY' }, page: 1, pageSize: 100 });
    expect(page.totalCount).toBe(40);
    for (let i = 0; i < 40; i++) {
      const e = page.entries.find((x) => x.sessionId === `req-${i}`)!;
      expect(e).toMatchObject({ id: ids[i], entityId: `c:${i}`, entityType: 'c', user: 'writer', statusCode: 201, success: true });
      expect(results[i]).toMatchObject({ key: `c:${i}`, created: true });
    }
    // The change-feed sequence numbers of the 40 commits, one each.
    expect(new Set(page.entries.map((e) => e.seq)).size).toBe(40);
    expect(page.entries.every((e) => typeof e.seq === 'number' && e.seq > 0)).toBe(true);
    expect(await a.verify()).toMatchObject({ ok: true, first_broken_id: null });
    await db.close();
    fs.rmSync(d, { recursive: true, force: true });
  });
});

describe('AuditLog: a group commit split before a commit (maxGroupOps)', () => {
  it('entries of commits queued behind the group wait for their own batch; entries staged after them are re-encoded, and the chain holds', async () => {
    const { WriteBatch, keyspace } = await import('../../src/storage/index.js');
    await engine.close();
    engine = await Engine.open(`${dir}/db`, { sync: false, maxGroupOps: 2 });
    const a = await open();
    const ks = keyspace('entity');
    const commits: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      clock += 1;
      const origin = {
        requestId: `w-${i}`,
        action: 'PUT_ENTITY',
        user: 'writer',
        userId: 'k',
        ipAddress: '10.1.1.1',
        method: 'PUT',
        route: '/entities/:key',
        successStatus: 201,
      } as { recordedId?: number } & Record<string, unknown>;
      const c = { txnId: String(i), ts: '', origin, changes: [{ table: 't', key: `t:${i}`, seq: i + 1 }] };
      const p = a.participant as unknown as { prepare: (c: unknown) => unknown; write: (c: unknown, r: unknown, b: unknown) => void };
      const b = new WriteBatch().put(ks, Buffer.from(`t:${i}`), Buffer.from('{}'));
      p.write(c, p.prepare(c), b);
      commits.push(engine.commit(b));
      // Reads recorded between the writes (they may refer to the writes' values in a segment).
      a.record(rec({ sessionId: `r-${i}`, entityId: `t:${i}` }));
      if (i % 7 === 3) void a.flush();
    }
    await Promise.all(commits);
    await a.flush();
    const st = engine.stats().group_commit;
    expect(st.groups).toBeGreaterThan(5); // split: at most two commits per group
    const all = (await a.query({ page: 1, pageSize: 100 })).entries.reverse();
    expect(all).toHaveLength(60);
    expect(all.map((e) => e.id)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(all.filter((e) => e.action === 'PUT_ENTITY').map((e) => e.sessionId)).toEqual(Array.from({ length: 30 }, (_, i) => `w-${i}`));
    expect(all.filter((e) => e.action !== 'PUT_ENTITY').map((e) => e.sessionId)).toEqual(Array.from({ length: 30 }, (_, i) => `r-${i}`));
    expect(await a.verify()).toMatchObject({ ok: true, checked: 60 });
    await a.close();
    const b = await open();
    expect(await b.verify()).toMatchObject({ ok: true, checked: 60 });
    expect((await b.query({ eq: { action: 'PUT_ENTITY' }, page: 1, pageSize: 100 })).totalCount).toBe(30);
  });
});

describe('AuditLog: the entityId index in buckets (bucket-index.ts)', () => {
  const long = 'e'.repeat(300);
  /** Entry i's entity: mostly unique (as writes name them), one hot value, two long values sharing their indexed prefix. */
  const entity = (i: number) => (i % 1000 === 7 ? 'hot' : i % 500 === 3 ? `${long}${i % 2}` : `t:${i}`);
  const ids = (n: number, v: string) =>
    Array.from({ length: n }, (_, i) => i)
      .filter((i) => entity(i) === v)
      .map((i) => i + 1);
  const expectEntities = async (a: AuditLog, n: number) => {
    for (const v of ['hot', `${long}1`, 't:12345', 't:0', `t:${n - 1}`, 'nope']) {
      const want = ids(n, v).reverse();
      const p = await a.query({ eq: { entityId: v }, page: 1, pageSize: 100 });
      expect(p.totalCount, v.slice(0, 20)).toBe(want.length);
      expect(p.entries.map((e) => e.id)).toEqual(want.slice(0, 100));
      // With a second filter and a time range (ids bounded on both sides).
      const lo = 1_000_000 + 2000;
      const hi = 1_000_000 + 30_000;
      const inRange = want.filter((id) => id >= lo - 1_000_000 && id <= hi - 1_000_000);
      const q = await a.query({ eq: { entityId: v, user: 'u' }, startMs: lo, endMs: hi, page: 1, pageSize: 1000 });
      expect(q.entries.map((e) => e.id)).toEqual(inRange);
    }
  };
  const stored = async (tag: number[]) => {
    let n = 0;
    const { keyspace } = await import('../../src/storage/index.js');
    for await (const _ of engine.scan(keyspace('audit'), {
      gte: Buffer.from(tag),
      lt: Buffer.from([...tag.slice(0, -1), tag.at(-1)! + 1]),
    }))
      n++;
    return n;
  };

  it('filters agree with a filter over everything across write-outs, bucket collisions, long values, a reopen and a crash', async () => {
    let a = await open();
    const n = 41_000; // two write-outs (at a flush after 16,384 postings) and 1,000 waiting in memory
    for (let i = 0; i < n; i++) {
      clock += 1;
      a.record(rec({ entityId: entity(i) }));
      if (i % 5000 === 4999) await a.flush(); // write-outs at 20,000 and 40,000
    }
    await expectEntities(a, n);
    // One key per bucket and write-out, not one per entry; nothing under the per-value layout.
    const buckets = await stored([0x42]);
    expect(buckets).toBeGreaterThan(1000);
    expect(buckets).toBeLessThanOrEqual(2 * 1024); // 2 write-outs × 1,024 buckets
    expect(await stored([0x49, 0x65])).toBe(0);
    await a.close(); // writes what waited
    expect(await stored([0x42])).toBeGreaterThan(buckets);
    a = await open();
    await expectEntities(a, n);
    // A crash: entries durable, their postings only in memory; the next open rebuilds them from the entries.
    for (let i = n; i < n + 3000; i++) {
      clock += 1;
      a.record(rec({ entityId: entity(i) }));
    }
    await a.flush();
    await engine.close();
    engine = await Engine.open(`${dir}/db`, { sync: false });
    a = await open();
    await expectEntities(a, n + 3000);
    expect(await a.verify()).toMatchObject({ ok: true, checked: n + 3000 });
    // Retention removes the deleted ids from the buckets.
    expect(await a.deleteOlderThan(1_000_000 + 20_001, 100_000)).toBe(20_000);
    const p = await a.query({ eq: { entityId: 'hot' }, page: 1, pageSize: 100 });
    expect(p.entries.map((e) => e.id)).toEqual(
      ids(n + 3000, 'hot')
        .filter((id) => id > 20_000)
        .reverse(),
    );
    expect((await a.query({ eq: { entityId: 't:12345' }, page: 1, pageSize: 10 })).totalCount).toBe(0);
  });

  it('a format-2 log (entityId chunks per value) is converted at open: old chunks dropped, buckets rebuilt from the entries', async () => {
    let a = await open();
    for (let i = 0; i < 3000; i++) {
      clock += 1;
      a.record(rec({ entityId: entity(i) }));
    }
    await a.close();
    const { keyspace, WriteBatch } = await import('../../src/storage/index.js');
    const ks = keyspace('audit');
    // What format 2 left: 'M format' = 2, entityId chunks under 'I' (one stale here), no buckets.
    const stale = Buffer.concat([Buffer.of(0x49, 0x65, 0, 6), Buffer.from('t:gone'), Buffer.alloc(8)]);
    stale[stale.length - 1] = 5;
    const b = new WriteBatch()
      .put(ks, Buffer.from('Mformat'), Buffer.from('2'))
      .put(ks, stale, Buffer.of(0))
      .del(ks, Buffer.from('Mbucketed'));
    for await (const [k] of engine.scan(ks, { gte: Buffer.of(0x42), lt: Buffer.of(0x43) })) b.del(ks, k);
    await engine.commit(b);
    a = await open();
    expect((await engine.get(ks, Buffer.from('Mformat')))?.toString()).toBe('3');
    expect(await stored([0x49, 0x65])).toBe(0);
    expect((await a.query({ eq: { entityId: 't:gone' }, page: 1, pageSize: 10 })).totalCount).toBe(0);
    await expectEntities(a, 3000);
  });
});
