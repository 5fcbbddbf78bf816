import crypto from 'node:crypto';
import type { Logger } from '../log.js';
import { type Engine, keyspace, WriteBatch } from '../storage/index.js';
import type { AuditEntry } from './entry.js';
import { GENESIS, HASH_BYTES, putSegments, Segment, SegmentWriter, segmentKeyId } from './record-codec.js';

/**
 * Format 1 of the audit log (before segments): one key per entry,
 * `'E' id(8) -> JSON [17 fields..., prevHash, hash]` with hex hashes over
 * `prevHash \n JSON(fields)`, and 8-byte id chunks under 'I'. A log in that
 * format is converted at open: its old chain is checked (and the result
 * logged), its entries are re-encoded into segments with a new chain that
 * starts at the old anchor, and its index is dropped (rebuilt from the
 * segments). Interrupted, the conversion resumes where it stopped.
 */

const ks = keyspace('audit');
const E = 0x45;
const S = 0x53;
const I = 0x49;
const ANCHOR = Buffer.from('Manchor', 'latin1');
const INDEXED = Buffer.from('Mindexed', 'latin1');
/** Format 1's canonical field order (what its hashes covered). */
export const FORMAT1_FIELDS = [
  'id',
  'timestamp',
  'user',
  'userId',
  'action',
  'entityType',
  'entityId',
  'oldValue',
  'newValue',
  'success',
  'statusCode',
  'ipAddress',
  'sessionId',
  'errorMessage',
  'seq',
  'method',
  'route',
] as const;
const CHUNK = 4096;

export async function migrateFormat1(engine: Engine, log: Logger): Promise<void> {
  const range = (tag: number) => ({ gte: Buffer.of(tag), lt: Buffer.of(tag + 1) });
  // Resuming: the segments already written continue the new chain.
  let writer: SegmentWriter | undefined;
  let next: number | undefined;
  for await (const [k, v] of engine.scan(ks, { ...range(S), reverse: true, limit: 1 })) {
    const seg = new Segment(segmentKeyId(k), v);
    writer = new SegmentWriter(Buffer.from(seg.lastHash));
    next = seg.lastId + 1;
  }
  const oldAnchor = await engine.get(ks, ANCHOR);
  const anchorHex = oldAnchor !== undefined && oldAnchor.length === 64 ? oldAnchor.toString('latin1') : undefined;
  const resumed = writer !== undefined;
  let prevHex = resumed ? undefined : (anchorHex ?? '0'.repeat(64));
  let firstOld: number | undefined;
  let converted = 0;
  let brokenAt: number | undefined;
  let batch = new WriteBatch();
  let staged: number | undefined;
  const cut = async () => {
    if (writer !== undefined && writer.count > 0) putSegments((k, v) => batch.put(ks, k, v), staged!, writer.cutSegments());
    staged = undefined;
    await engine.commit(batch);
    batch = new WriteBatch();
  };
  for await (const chunk of engine.scanChunks(ks, range(E), 1024, 1024)) {
    for (const [k, v] of chunk) {
      const a = JSON.parse(v.toString('utf8')) as unknown[];
      const fields = a.slice(0, FORMAT1_FIELDS.length);
      const e = Object.fromEntries(FORMAT1_FIELDS.map((f, i) => [f, fields[i]])) as unknown as AuditEntry;
      firstOld ??= e.id;
      if (prevHex !== undefined && brokenAt === undefined) {
        const ok =
          a[FORMAT1_FIELDS.length] === prevHex &&
          crypto.hash('sha256', `${prevHex}\n${JSON.stringify(fields)}`, 'hex') === a[FORMAT1_FIELDS.length + 1];
        if (!ok) brokenAt = e.id;
      }
      prevHex = a[FORMAT1_FIELDS.length + 1] as string;
      if (next !== undefined && e.id < next) {
        batch.del(ks, k); // converted before an interruption
        continue;
      }
      writer ??= new SegmentWriter(anchorHex === undefined ? GENESIS : Buffer.from(anchorHex, 'hex'));
      staged ??= e.id;
      writer.append(Date.parse(e.timestamp), e);
      batch.del(ks, k);
      converted++;
      if (writer.count >= CHUNK) await cut();
    }
  }
  await cut();
  // The old index chunks have another layout: dropped, rebuilt from the segments at open.
  for await (const chunk of engine.scanChunks(ks, range(I), 1024, 1024)) for (const [k] of chunk) batch.del(ks, k);
  batch.del(ks, INDEXED);
  if (anchorHex !== undefined && firstOld !== undefined) {
    const a = Buffer.alloc(HASH_BYTES + 8);
    Buffer.from(anchorHex, 'hex').copy(a, 0);
    a.writeUInt32BE(Math.floor((firstOld - 1) / 2 ** 32), HASH_BYTES);
    a.writeUInt32BE((firstOld - 1) >>> 0, HASH_BYTES + 4);
    batch.put(ks, ANCHOR, a);
  }
  await engine.commit(batch);
  log.warn('audit log converted from format 1 to segments; the chain was re-hashed from its anchor', {
    entries: converted,
    old_chain: brokenAt !== undefined ? `broken at id ${brokenAt}` : resumed ? 'checked from where the conversion resumed' : 'verified',
  });
}
