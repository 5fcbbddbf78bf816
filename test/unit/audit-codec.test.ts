import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AuditEntry, decodeBody, GENESIS, HASH_BYTES, recordHash, Segment, SegmentWriter } from '../../src/audit/index.js';
import { auditEntry } from '../helpers/audit.js';

/** The stored form of audit entries (src/audit/record-codec.ts): binary records in segments, each hashed onto its predecessor. */

const strip = ({ id: _i, timestamp: _t, ...r }: AuditEntry) => r;

describe('audit record codec', () => {
  it('round-trips every field: nulls, seq, non-ASCII, strings past the one-byte and 64 KiB lengths, ids past 2^32', () => {
    const entries: AuditEntry[] = [
      auditEntry({ id: 1 }),
      auditEntry({
        id: 2,
        user: null,
        userId: null,
        entityType: null,
        entityId: null,
        ipAddress: null,
        sessionId: null,
        method: null,
        route: null,
      }),
      auditEntry({ id: 3, seq: 0, success: false, statusCode: 409, errorMessage: 'conflict' }),
      auditEntry({ id: 4, seq: 2 ** 40 + 7, entityId: 'städte:Köln 🚀', user: 'Ünal', errorMessage: 'x'.repeat(300) }),
      auditEntry({ id: 5, newValue: JSON.stringify({ note: 'é'.repeat(40_000) }), oldValue: '' }),
      auditEntry({ id: 2 ** 33 + 1, timestamp: '2030-12-31T23:59:59.999Z' }),
    ];
    const w = new SegmentWriter(GENESIS);
    for (const e of entries) w.append(e.id, Date.parse(e.timestamp), strip(e));
    const seg = new Segment(1, w.cut());
    expect(seg.count).toBe(entries.length);
    for (let i = 0; i < entries.length; i++) {
      expect(seg.entryAt(i)).toEqual(entries[i]);
      expect(seg.idAt(i)).toBe(entries[i]!.id);
      expect(seg.timeAt(i)).toBe(Date.parse(entries[i]!.timestamp));
    }
  });

  it('each hash is SHA-256 over the previous hash, the length and the body; segments continue the chain', () => {
    const w = new SegmentWriter(GENESIS);
    for (let i = 1; i <= 3; i++) w.append(i, 1000 + i, strip(auditEntry({ id: i })));
    const a = new Segment(1, w.cut());
    w.append(4, 1004, strip(auditEntry({ id: 4 })));
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
      const want = crypto.createHash('sha256').update(prev).update(framed).digest();
      expect(seg.hashAt(i)).toEqual(want);
      expect(recordHash(prev, framed)).toEqual(want);
      prev = seg.hashAt(i);
    }
    expect(w.lastHash).toEqual(prev);
    // A key record's body decodes alone; one changed byte no longer matches the stored hash.
    expect(decodeBody(Buffer.from(a.framed(0).subarray(4))).id).toBe(1);
    const framed = Buffer.from(a.framed(1));
    expect(() => decodeBody(framed.subarray(4))).toThrow(/cannot see/); // it refers to record 0's values
    framed.writeUInt8(framed.readUInt8(framed.length - 1) ^ 1, framed.length - 1);
    expect(recordHash(a.hashAt(0), framed).equals(a.hashAt(1))).toBe(false);
  });

  it('segments cut before the arena fills stay intact after it is replaced (no copy per cut, no overwrite)', () => {
    const w = new SegmentWriter(GENESIS);
    const segs: Segment[] = [];
    let id = 1;
    // ~2.5 MiB of records in ~600 segments: the 1 MiB arena is replaced twice.
    for (let s = 0; s < 600; s++) {
      const first = id;
      for (let k = 0; k < 10; k++, id++) w.append(id, id, strip(auditEntry({ id, entityId: `t:${id}`, errorMessage: 'e'.repeat(350) })));
      segs.push(new Segment(first, w.cut()));
    }
    let prev: Buffer = GENESIS;
    let n = 0;
    for (const seg of segs) {
      for (let i = 0; i < seg.count; i++) {
        expect(seg.entryAt(i).entityId).toBe(`t:${seg.firstId + i}`);
        expect(recordHash(prev, seg.framed(i)).equals(seg.hashAt(i))).toBe(true);
        prev = seg.hashAt(i);
        n++;
      }
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
    for (const e of entries) w.append(e.id, Date.parse(e.timestamp), strip(e));
    const seg = new Segment(1, w.cut());
    // Decoded one by one (from the key record before each) and in one pass: the same entries.
    expect(seg.entryAt(149)).toEqual(entries[149]);
    expect(seg.entryAt(63)).toEqual(entries[63]);
    for (let i = 0; i < 150; i++) expect(new Segment(1, seg.bytes).entryAt(i)).toEqual(entries[i]);
    expect(seg.entries()).toEqual(entries);
    // Record 2 carries only what changed: a fraction of the key record's bytes.
    expect(seg.framed(1).length).toBeLessThan(seg.framed(0).length * 0.6);
    for (const i of [64, 128]) expect(decodeBody(Buffer.from(seg.framed(i).subarray(4))).id).toBe(i + 1);
    expect(() => decodeBody(Buffer.from(seg.framed(65).subarray(4)))).toThrow(/cannot see/);
  });

  it('cutSegments stores at most 64 entries per segment, each starting with a key record, chained across', () => {
    const w = new SegmentWriter(GENESIS);
    const entries = Array.from({ length: 150 }, (_, i) =>
      auditEntry({ id: i + 1, entityId: `t:${i % 4}`, sessionId: `session-prefix-${i}` }),
    );
    for (const e of entries) w.append(e.id, Date.parse(e.timestamp), strip(e));
    const parts = w.cutSegments();
    expect(parts.map((p) => new Segment(1, p).count)).toEqual([64, 64, 22]);
    let prev: Buffer = GENESIS;
    const decoded: AuditEntry[] = [];
    parts.forEach((p, k) => {
      const seg = new Segment(1 + 64 * k, p);
      decoded.push(...seg.entries());
      for (let i = 0; i < seg.count; i++) {
        expect(recordHash(prev, seg.framed(i)).equals(seg.hashAt(i))).toBe(true);
        prev = seg.hashAt(i);
      }
    });
    expect(decoded).toEqual(entries);
    // The writer continues the chain after a cut.
    w.append(151, 1, strip(auditEntry({ id: 151 })));
    const next = new Segment(151, w.cutSegments()[0]!);
    expect(recordHash(prev, next.framed(0)).equals(next.hashAt(0))).toBe(true);
  });

  it('refuses bytes that are not records', () => {
    expect(() => new Segment(1, Buffer.from([0, 0, 0, 200, 1, 2, 3]))).toThrow(/truncated/);
    const w = new SegmentWriter(GENESIS);
    w.append(1, 1, strip(auditEntry()));
    const bytes = Buffer.from(w.cut());
    bytes[4] = 9; // the version byte
    expect(() => new Segment(1, bytes).entryAt(0)).toThrow(/version/);
  });
});
