import crypto from 'node:crypto';
import type { AuditEntry, AuditRecord } from './entry.js';

/**
 * How audit entries are stored (docs/audit.md, "Storage and the hash
 * chain"): binary records, appended in id order to a staging buffer the
 * moment a request is recorded, and written as *segments* — one LevelDB
 * value per flush or commit holding consecutive records.
 *
 * A record:
 *
 *   len    u32 BE         bytes of `body`
 *   body   version u8 (1)
 *          id u64 BE (two u32)
 *          timestamp f64 BE (ms since the epoch)
 *          statusCode u16 BE
 *          flags u8       bit 0: success, bit 1: seq present
 *          [seq f64 BE]   when flag bit 1
 *          12 strings     user, userId, action, entityType, entityId, oldValue, newValue,
 *                         ipAddress, sessionId, errorMessage, method, route — each a length
 *                         byte n (0: null; 1..254: n - 1 bytes follow; 255: u32 BE m, m - 1 bytes follow)
 *                         and UTF-8
 *   hash   32 bytes       SHA-256( previous record's hash ‖ len ‖ body )
 *
 * The first record's "previous hash" is 32 zero bytes (the genesis), or the
 * retention anchor. Inside the staging buffer every record's input to the
 * hash is one contiguous range: the previous hash sits right before `len`.
 */

export const HASH_BYTES = 32;
const VERSION = 1;
const FIXED = 1 + 8 + 8 + 2 + 1 + 8; // body without strings, seq included
const NULL_STR = 0;
const LONG_STR = 0xff;

/** The genesis "previous hash": 32 zero bytes. */
export const GENESIS = Buffer.alloc(HASH_BYTES);

/**
 * The staging area: records appended (and hashed) as requests are recorded,
 * cut into segments when a batch is written. An arena: a cut segment is a
 * view of it, never overwritten (no copy per cut); a full arena is replaced
 * by a new one that starts with the last hash. Every record's hash input —
 * the previous hash and the record — is one contiguous range.
 */
export class SegmentWriter {
  private buf: Buffer;
  /** Where the records since the last cut start; the 32 bytes before it are the hash they link to. */
  private from = HASH_BYTES;
  private end = HASH_BYTES;
  /** Records since the last cut. */
  count = 0;

  constructor(prevHash: Buffer) {
    this.buf = Buffer.allocUnsafe(ARENA_BYTES);
    prevHash.copy(this.buf, 0);
  }

  /** The hash of the last record appended (or the link before the first). */
  get lastHash(): Buffer {
    return Buffer.from(this.buf.subarray(this.end - HASH_BYTES, this.end));
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.end - this.from;
  }

  /** Encode and hash one record. */
  append(id: number, ms: number, r: AuditRecord): void {
    const need =
      FIXED +
      4 +
      HASH_BYTES +
      12 * 5 +
      3 *
        (len(r.user) +
          len(r.userId) +
          r.action.length +
          len(r.entityType) +
          len(r.entityId) +
          len(r.oldValue) +
          len(r.newValue) +
          len(r.ipAddress) +
          len(r.sessionId) +
          len(r.errorMessage) +
          len(r.method) +
          len(r.route));
    if (this.end + need > this.buf.length) this.grow(need);
    const b = this.buf;
    const start = this.end;
    let o = start + 4;
    b[o++] = VERSION;
    b.writeUInt32BE(Math.floor(id / 2 ** 32), o);
    b.writeUInt32BE(id >>> 0, o + 4);
    b.writeDoubleBE(ms, o + 8);
    b.writeUInt16BE(r.statusCode, o + 16);
    const hasSeq = r.seq !== null && r.seq !== undefined;
    b[o + 18] = (r.success ? 1 : 0) | (hasSeq ? 2 : 0);
    o += 19;
    if (hasSeq) {
      b.writeDoubleBE(r.seq!, o);
      o += 8;
    }
    o = putStr(b, o, r.user);
    o = putStr(b, o, r.userId);
    o = putStr(b, o, r.action);
    o = putStr(b, o, r.entityType);
    o = putStr(b, o, r.entityId);
    o = putStr(b, o, r.oldValue);
    o = putStr(b, o, r.newValue);
    o = putStr(b, o, r.ipAddress);
    o = putStr(b, o, r.sessionId);
    o = putStr(b, o, r.errorMessage);
    o = putStr(b, o, r.method);
    o = putStr(b, o, r.route);
    b.writeUInt32BE(o - start - 4, start);
    // The previous hash ends where this record starts: one contiguous input. The digest comes back as a
    // latin1 ('binary') string, one char per byte: several times cheaper than a Buffer result per call.
    b.write(crypto.hash('sha256', b.subarray(start - HASH_BYTES, o), 'binary'), o, HASH_BYTES, 'latin1');
    this.end = o + HASH_BYTES;
    this.count++;
  }

  /** The records since the last cut, as one segment value (a view of the arena, never overwritten). */
  cut(): Buffer {
    const seg = this.buf.subarray(this.from, this.end);
    this.from = this.end;
    this.count = 0;
    return seg;
  }

  /** A new arena holding the last hash and the records not cut yet (the old one stays with the segments cut from it). */
  private grow(need: number): void {
    const keep = this.end - this.from + HASH_BYTES;
    const next = Buffer.allocUnsafe(Math.max(ARENA_BYTES, 2 * (keep + need)));
    this.buf.copy(next, 0, this.from - HASH_BYTES, this.end);
    this.buf = next;
    this.from = HASH_BYTES;
    this.end = keep;
  }
}

/** Size of a staging arena (a flush of ~1,000 GET entries is ~200 KB). */
const ARENA_BYTES = 1 << 20;

const len = (s: string | null | undefined): number => (s === null || s === undefined ? 0 : s.length);

function putStr(b: Buffer, o: number, s: string | null | undefined): number {
  if (s === null || s === undefined) {
    b[o] = NULL_STR;
    return o + 1;
  }
  const n = s.length;
  if (n < 128) {
    // ASCII (nearly everything recorded): copied char by char, no native call.
    let k = 0;
    for (; k < n; k++) {
      const c = s.charCodeAt(k);
      if (c > 0x7f) break;
      b[o + 1 + k] = c;
    }
    if (k === n) {
      b[o] = n + 1;
      return o + 1 + n;
    }
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes + 1 < LONG_STR) {
    b[o] = bytes + 1;
    return o + 1 + b.write(s, o + 1, 'utf8');
  }
  b[o] = LONG_STR;
  b.writeUInt32BE(bytes + 1, o + 1);
  return o + 5 + b.write(s, o + 5, 'utf8');
}

/** One stored segment, its records located (not decoded). */
export class Segment {
  /** Offset of each record's `len` field. */
  private readonly offsets: number[] = [];

  constructor(
    readonly firstId: number,
    readonly bytes: Buffer,
  ) {
    let o = 0;
    while (o < bytes.length) {
      if (o + 4 > bytes.length) throw new TypeError('truncated audit segment');
      const n = bytes.readUInt32BE(o);
      if (n < FIXED - 8 || o + 4 + n + HASH_BYTES > bytes.length) throw new TypeError('truncated audit segment');
      this.offsets.push(o);
      o += 4 + n + HASH_BYTES;
    }
  }

  get count(): number {
    return this.offsets.length;
  }

  get lastId(): number {
    return this.firstId + this.offsets.length - 1;
  }

  /** Where record i starts (its `len`): a segment's tail from there is a segment itself. */
  offsetOf(i: number): number {
    return this.offsets[i]!;
  }

  /** The id a record says it has (the key's firstId + index, unless it was tampered with). */
  idAt(i: number): number {
    const o = this.offsets[i]! + 5;
    return this.bytes.readUInt32BE(o) * 2 ** 32 + this.bytes.readUInt32BE(o + 4);
  }

  timeAt(i: number): number {
    return this.bytes.readDoubleBE(this.offsets[i]! + 13);
  }

  /** `len ‖ body` of record i: what its hash covers after the previous hash. */
  framed(i: number): Buffer {
    const o = this.offsets[i]!;
    return this.bytes.subarray(o, o + 4 + this.bytes.readUInt32BE(o));
  }

  hashAt(i: number): Buffer {
    const o = this.offsets[i]!;
    const end = o + 4 + this.bytes.readUInt32BE(o);
    return this.bytes.subarray(end, end + HASH_BYTES);
  }

  entryAt(i: number): AuditEntry {
    return decodeBody(this.framed(i).subarray(4));
  }
}

/** Decode a record's body; throws on bytes that are not one. */
export function decodeBody(b: Buffer): AuditEntry {
  if (b[0] !== VERSION) throw new TypeError(`unknown audit record version ${b[0]}`);
  const id = b.readUInt32BE(1) * 2 ** 32 + b.readUInt32BE(5);
  const ms = b.readDoubleBE(9);
  const statusCode = b.readUInt16BE(17);
  const flags = b[19]!;
  const c = { o: 20 };
  let seq: number | null = null;
  if (flags & 2) {
    seq = b.readDoubleBE(c.o);
    c.o += 8;
  }
  const user = getStr(b, c);
  const userId = getStr(b, c);
  const action = getStr(b, c) ?? '';
  const entityType = getStr(b, c);
  const entityId = getStr(b, c);
  const oldValue = getStr(b, c);
  const newValue = getStr(b, c);
  const ipAddress = getStr(b, c);
  const sessionId = getStr(b, c);
  const errorMessage = getStr(b, c);
  const method = getStr(b, c);
  const route = getStr(b, c);
  if (c.o !== b.length) throw new TypeError('audit record has trailing bytes');
  return {
    id,
    timestamp: new Date(ms).toISOString(),
    user,
    userId,
    action,
    entityType,
    entityId,
    oldValue,
    newValue,
    success: (flags & 1) === 1,
    statusCode,
    ipAddress,
    sessionId,
    errorMessage,
    seq,
    method,
    route,
  };
}

function getStr(b: Buffer, c: { o: number }): string | null {
  if (c.o >= b.length) throw new TypeError('truncated audit record');
  const h = b[c.o]!;
  if (h === NULL_STR) {
    c.o += 1;
    return null;
  }
  let start = c.o + 1;
  let n = h - 1;
  if (h === LONG_STR) {
    n = b.readUInt32BE(c.o + 1) - 1;
    start = c.o + 5;
  }
  if (start + n > b.length) throw new TypeError('truncated audit record');
  c.o = start + n;
  return b.toString('utf8', start, start + n);
}

/** SHA-256(prev ‖ framed): a record's hash, recomputed (verification). */
export function recordHash(prev: Buffer, framed: Buffer): Buffer {
  return crypto.createHash('sha256').update(prev).update(framed).digest();
}

/** Re-encode an entry as a record body with the given id and time (tests, migration: `SegmentWriter` for many). */
export function encodeSegment(prevHash: Buffer, entries: AuditEntry[]): { segment: Buffer; lastHash: Buffer } {
  const w = new SegmentWriter(prevHash);
  for (const e of entries) w.append(e.id, Date.parse(e.timestamp), e);
  const lastHash = w.lastHash;
  return { segment: w.cut(), lastHash };
}
