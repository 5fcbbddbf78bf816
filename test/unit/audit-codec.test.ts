import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AuditEntry, decodeBody, GENESIS, HASH_BYTES, recordHash, Segment, SegmentWriter } from '../../src/audit/index.js';
import { auditEntry } from '../helpers/audit.js';

/** The stored form of audit entries (src/audit/record-codec.ts): binary records in segments, each hashed onto its predecessor. */

const strip = ({ id: _i, timestamp: _t, ...r }: AuditEntry) => r;
const sha = (prev: Buffer, framed: Buffer) => crypto.createHash('sha256').update(prev).update(framed).digest();
/** The segment's hashes recomputed along the chain from `prev`, each checked against the stored one. */
const chain = (seg: Segment, prev: Buffer): Buffer => {
  for (let i = 0; i < seg.count; i++) {
    const h = recordHash(prev, seg.framed(i));
    expect(seg.hashAt(i)).toEqual(h);
    prev = h;
  }
  return prev;
};
const ms = (i: number) => Date.parse('2026-01-02T03:04:05.678Z') + i;

describe('audit record codec', () => {
  it('round-trips every field: nulls, seq, non-ASCII, strings past the one-byte and 64 KiB lengths, ids past 2^32', () => {
    const first = 2 ** 33 + 1; // ids are the segment's first id plus the position
    const entries: AuditEntry[] = [
      auditEntry({ id: first }),
      auditEntry({
        id: first + 1,
        user: null,
        userId: null,
        entityType: null,
        entityId: null,
        ipAddress: null,
        sessionId: null,
        method: null,
        route: null,
      }),
      auditEntry({ id: first + 2, seq: 0, success: false, statusCode: 409, errorMessage: 'conflict' }),
      auditEntry({ id: first + 3, seq: 2 ** 40 + 7, entityId: 'städte:Köln 🚀', user: 'Ünal', errorMessage: 'x'.repeat(300) }),
      auditEntry({ id: first + 4, newValue: JSON.stringify({ note: 'é'.repeat(40_000) }), oldValue: '' }),
      auditEntry({ id: first + 5, timestamp: '2030-12-31T23:59:59.999Z', seq: 2 ** 53 - 1 }),
    ];
    const w = new SegmentWriter(GENESIS);
    for (const e of entries) w.append(Date.parse(e.timestamp), strip(e));
    const seg = new Segment(first, w.cut());
    expect(seg.count).toBe(entries.length);
    for (let i = 0; i < entries.length; i++) {
      expect(seg.entryAt(i)).toEqual(entries[i]);
      expect(seg.idAt(i)).toBe(entries[i]!.id);
      expect(seg.timeAt(i)).toBe(Date.parse(entries[i]!.timestamp));
    }
  });

  it('each hash is SHA-256 over the previous hash, the length and the body, stored after the record; segments continue the chain', () => {
    const w = new SegmentWriter(GENESIS);
    for (let i = 1; i <= 3; i++) w.append(1000 + i, strip(auditEntry({ id: i })));
    const a = new Segment(1, w.cut());
    w.append(1004, strip(auditEntry({ id: 4 })));
    const b = new Segment(4, w.cut());
    let prev: Buffer = GENESIS;
    for (const [seg, i] of [
      [a, 0],
      [a, 1],
      [a, 2],
      [b, 0],
    ] as const) {
      const framed = seg.framed(i);
      expect(framed.readUInt32BE(0)).toBe(framed.length - 4);
      const want = sha(prev, framed);
      expect(recordHash(prev, framed)).toEqual(want);
      expect(seg.hashAt(i)).toEqual(want);
      prev = want;
    }
    // The stored bytes: each record followed by its hash, nothing else.
    expect(a.lastHash).toEqual(sha(sha(sha(GENESIS, a.framed(0)), a.framed(1)), a.framed(2)));
    expect(a.bytes.length).toBe([0, 1, 2].reduce((n, i) => n + a.framed(i).length + 32, 0));
    expect(b.lastHash).toEqual(prev);
    expect(w.lastHash).toEqual(prev);
    // A key record's body decodes alone (its id and time come from the segment); one changed byte no longer matches.
    expect(decodeBody(Buffer.from(a.framed(0).subarray(4)), [], true, 1, 1001).entityId).toBe('t:1');
    const framed = Buffer.from(a.framed(1));
    expect(() => decodeBody(framed.subarray(4), new Array(12).fill(null), false, 2, 1002)).toThrow(/cannot see/); // it refers to record 0's values
    framed.writeUInt8(framed.readUInt8(framed.length - 1) ^ 1, framed.length - 1);
    expect(recordHash(a.hashAt(0), framed).equals(a.hashAt(1))).toBe(false);
  });

  it('an entry of a run of writes by one client takes ~62 bytes, 32 of them its hash: ids implied, times as deltas, seq as a varint', () => {
    const w = new SegmentWriter(GENESIS);
    for (let i = 0; i < 25; i++)
      w.append(
        ms(i >> 2),
        strip(
          auditEntry({
            action: 'PUT_ENTITY',
            entityType: 'bench',
            entityId: `bench:p81234-${1000 + i}`,
            sessionId: `f3c1a9e2-77d0-4b7e-9a51-${(0x1000 + i).toString(16).padStart(12, '0')}`,
            seq: 123_456 + i,
            statusCode: 201,
            method: 'PUT',
          }),
        ),
      );
    const seg = new Segment(1, w.cut());
    expect(seg.count).toBe(25);
    const later = (seg.bytes.length - seg.framed(0).length - 32) / 24; // bytes per entry after the first, its hash included
    expect(later).toBeLessThan(66); // version 1 records: ~90
    expect(seg.entryAt(24).seq).toBe(123_480);
    expect(seg.timeAt(24)).toBe(ms(6));
  });

  it('version 1 segments (each record with its id, time and whole hash) are still read and verified', () => {
    const v1 = (id: number, t: number, prev: Buffer, strings: (string | null)[]): { bytes: Buffer; hash: Buffer } => {
      const parts = strings.map((x) => (x === null ? Buffer.of(0) : Buffer.concat([Buffer.of(Buffer.byteLength(x) + 1), Buffer.from(x)])));
      const head = Buffer.alloc(20 + 8);
      head[0] = 1;
      head.writeUInt32BE(0, 1);
      head.writeUInt32BE(id, 5);
      head.writeDoubleBE(t, 9);
      head.writeUInt16BE(201, 17);
      head[19] = 3; // success, seq
      head.writeDoubleBE(40 + id, 20);
      const body = Buffer.concat([head, ...parts]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      const hash = sha(prev, Buffer.concat([len, body]));
      return { bytes: Buffer.concat([len, body, hash]), hash };
    };
    const strings = (k: string) => ['ann', 'k1', 'PUT_ENTITY', 't', k, null, null, '::1', 'r', null, 'PUT', '/entities/:key'];
    const r1 = v1(7, ms(1), GENESIS, strings('t:1'));
    const r2 = v1(8, ms(2), r1.hash, strings('t:2'));
    const seg = new Segment(7, Buffer.concat([r1.bytes, r2.bytes]));
    expect(seg.count).toBe(2);
    expect([seg.idAt(0), seg.idAt(1)]).toEqual([7, 8]);
    expect(seg.timeAt(1)).toBe(ms(2));
    expect(seg.entryAt(1)).toMatchObject({ id: 8, entityId: 't:2', seq: 48, statusCode: 201, user: 'ann' });
    expect(seg.lastHash).toEqual(r2.hash);
    expect(chain(seg, GENESIS)).toEqual(r2.hash);
    // The chain continues into version 2 segments.
    const w = new SegmentWriter(seg.lastHash);
    w.append(ms(3), strip(auditEntry()));
    expect(chain(new Segment(9, w.cut()), r2.hash)).toEqual(w.lastHash);
  });

  it('segments cut before the arena fills stay intact after it is replaced', () => {
    const w = new SegmentWriter(GENESIS);
    const segs: Segment[] = [];
    let id = 1;
    // ~2.5 MiB of records in ~600 segments: the 1 MiB arena is replaced twice.
    for (let s = 0; s < 600; s++) {
      const first = id;
      for (let k = 0; k < 10; k++, id++) w.append(id, strip(auditEntry({ id, entityId: `t:${id}`, errorMessage: 'e'.repeat(350) })));
      segs.push(new Segment(first, w.cut()));
    }
    let prev: Buffer = GENESIS;
    let n = 0;
    for (const seg of segs) {
      for (let i = 0; i < seg.count; i++) {
        expect(seg.entryAt(i).entityId).toBe(`t:${seg.firstId + i}`);
        expect(seg.timeAt(i)).toBe(seg.firstId + i);
        n++;
      }
      prev = chain(seg, prev);
    }
    expect(n).toBe(6000);
    expect(prev.length).toBe(HASH_BYTES);
  });

  it('fields repeat by reference within a segment (same value, shared prefix); every 64th record stands alone', () => {
    const w = new SegmentWriter(GENESIS);
    const prefix = 'b6ceca1d-4616-4dda-b4bb-';
    const entries: AuditEntry[] = [];
    for (let id = 1; id <= 150; id++) {
      entries.push(
        auditEntry({
          id,
          sessionId: `${prefix}${id.toString(16).padStart(12, '0')}`,
          entityId: id % 5 === 0 ? `städte:${id}` : `orders:${id % 3}`,
          errorMessage: id % 7 === 0 ? null : 'x',
          user: id === 100 ? null : 'ann',
        }),
      );
    }
    for (const e of entries) w.append(Date.parse(e.timestamp), strip(e));
    const seg = new Segment(1, w.cut());
    // Decoded one by one (from the key record before each) and in one pass: the same entries.
    expect(seg.entryAt(149)).toEqual(entries[149]);
    expect(seg.entryAt(63)).toEqual(entries[63]);
    for (let i = 0; i < 150; i++) expect(new Segment(1, seg.bytes).entryAt(i)).toEqual(entries[i]);
    expect(seg.entries()).toEqual(entries);
    // Record 2 carries only what changed: a fraction of the key record's bytes.
    expect(seg.framed(1).length).toBeLessThan(seg.framed(0).length * 0.6);
    for (const i of [64, 128])
      expect(decodeBody(Buffer.from(seg.framed(i).subarray(4)), [], true, i + 1, 0).entityId).toBe(entries[i]!.entityId);
    expect(() => decodeBody(Buffer.from(seg.framed(65).subarray(4)), [], true, 66, 0)).toThrow(/cannot see/);
  });

  it('cutSegments stores at most 64 entries per segment, each starting with a key record, chained across', () => {
    const w = new SegmentWriter(GENESIS);
    const entries = Array.from({ length: 150 }, (_, i) =>
      auditEntry({ id: i + 1, entityId: `t:${i % 4}`, sessionId: `session-prefix-${i}` }),
    );
    for (const e of entries) w.append(Date.parse(e.timestamp), strip(e));
    const parts = w.cutSegments();
    expect(parts.map((p) => new Segment(1, p).count)).toEqual([64, 64, 22]);
    let prev: Buffer = GENESIS;
    const decoded: AuditEntry[] = [];
    parts.forEach((p, k) => {
      const seg = new Segment(1 + 64 * k, p);
      decoded.push(...seg.entries());
      prev = chain(seg, prev);
    });
    expect(decoded).toEqual(entries);
    // The writer continues the chain after a cut.
    w.append(Date.parse(entries[0]!.timestamp), strip(auditEntry({ id: 151 })));
    const next = new Segment(151, w.cutSegments()[0]!);
    expect(chain(next, prev)).toEqual(w.lastHash);
  });

  it('refuses bytes that are not records', () => {
    expect(() => new Segment(1, Buffer.from([0, 0, 0, 200, 2, 2, 3]))).toThrow(/truncated/);
    const w = new SegmentWriter(GENESIS);
    w.append(1, strip(auditEntry()));
    const bytes = Buffer.from(w.cut());
    expect(() => new Segment(1, bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/); // the last hash cut short
    bytes[4] = 9; // the version byte
    expect(() => new Segment(1, bytes)).toThrow(/not an audit segment/);
  });
});
