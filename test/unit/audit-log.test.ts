import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditRecord, redactText, redactedJson } from '../../src/audit/index.js';
import { createLogger } from '../../src/log.js';
import { clientAddress } from '../../src/server/audit.js';
import { Engine } from '../../src/storage/index.js';
import { auditEntry } from '../helpers/audit.js';
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
    const { keyspace, seqCodec, WriteBatch } = await import('../../src/storage/index.js');
    await engine.commit(new WriteBatch().del(keyspace('audit'), Buffer.concat([Buffer.of(0x45), seqCodec.encode(30)])));
    expect(await a.verify()).toMatchObject({ ok: false, first_broken_id: 31 });
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
