import type { ClassicLevel } from 'classic-level';
import { type AuditEntry, encodeSegment, GENESIS, Segment, segmentKeyId } from '../../src/audit/index.js';

/**
 * Tampering with the stored audit log the way someone with access to the
 * data directory could (src/audit/record-codec.ts: segments of records,
 * each with its hash): change an entry's content but keep its stored hash,
 * or drop a record from its segment.
 */

/** The audit keyspace's prefix byte and the segments' tag. */
const PREFIX = 0x78;
const S = 0x53;

/** Segment `seg` with record `index` changed by `change` (its stored hash kept, so the chain no longer matches). */
export function withAlteredRecord(seg: Segment, index: number, change: (e: AuditEntry) => void): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < seg.count; i++) {
    if (i === index) {
      const e = { ...seg.entryAt(i) }; // a copy: the segment keeps what it decoded
      change(e);
      parts.push(new Segment(0, encodeSegment(GENESIS, [e]).segment).framed(0), seg.hashAt(i));
    } else parts.push(seg.framed(i), seg.hashAt(i));
  }
  return Buffer.concat(parts);
}

/** Segment `seg` without record `index` (the rest untouched). */
export function withoutRecord(seg: Segment, index: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < seg.count; i++) if (i !== index) parts.push(seg.framed(i), seg.hashAt(i));
  return Buffer.concat(parts);
}

/** The stored segment holding entry `id`, with its full LevelDB key (a server's data directory opened directly). */
export async function segmentHolding(db: ClassicLevel<Buffer, Buffer>, id: number): Promise<{ key: Buffer; seg: Segment; index: number }> {
  for await (const [k, v] of db.iterator({ gte: Buffer.of(PREFIX, S), lt: Buffer.of(PREFIX, S + 1) })) {
    const seg = new Segment(segmentKeyId(k, 1), v);
    if (seg.firstId <= id && id <= seg.lastId) return { key: k, seg, index: id - seg.firstId };
  }
  throw new Error(`no stored segment holds audit entry ${id}`);
}

/** Change entry `id` in a closed server's LevelDB, keeping its stored hash. */
export async function alterStoredEntry(db: ClassicLevel<Buffer, Buffer>, id: number, change: (e: AuditEntry) => void): Promise<AuditEntry> {
  const { key, seg, index } = await segmentHolding(db, id);
  const before = { ...seg.entryAt(index) };
  await db.put(key, withAlteredRecord(seg, index, change));
  return before;
}

/** Every stored segment, in id order. */
export async function storedSegments(db: ClassicLevel<Buffer, Buffer>): Promise<Segment[]> {
  const out: Segment[] = [];
  for await (const [k, v] of db.iterator({ gte: Buffer.of(PREFIX, S), lt: Buffer.of(PREFIX, S + 1) }))
    out.push(new Segment(segmentKeyId(k, 1), v));
  return out;
}
