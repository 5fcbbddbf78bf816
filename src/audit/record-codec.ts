import crypto from 'node:crypto';
import { readVarint, seqCodec, writeAscii, writeVarint } from '../storage/index.js';
import type { AuditEntry, AuditRecord } from './entry.js';

/**
 * How audit entries are stored (docs/audit.md, "Storage and the hash
 * chain"): binary records, appended in id order to a staging area the
 * moment a request is recorded, and written as *segments* — one LevelDB
 * value per flush or commit holding consecutive records:
 *
 *   record    len u32 BE     bytes of `body`
 *             body           version u8 (2)
 *                            flags u8       bit 0: success, bit 1: seq present
 *                            statusCode u16 BE
 *                            time varint    ms since the epoch (a key record), else ms since the previous record
 *                            [seq varint]   when flag bit 1
 *                            12 strings     user, userId, action, entityType, entityId, oldValue, newValue,
 *                                           ipAddress, sessionId, errorMessage, method, route
 *             hash 32 bytes  SHA-256( previous record's hash ‖ len ‖ body )
 *
 * A record's id is its segment's first id (the key) plus its position.
 * (Version 1 records, written before: `version, id u64, time f64, status
 * u16, flags, [seq f64], strings`; still read.)
 *
 * A string is a header byte h and what it says:
 *
 *   0          null
 *   1..251     h - 1 bytes of UTF-8 follow
 *   252        the same value as this field of the previous record
 *   253        k (a byte): the first k bytes (ASCII) of the previous record's value, then a string
 *              (1..251 or 255) with the rest
 *   255        a u32 BE m, then m - 1 bytes of UTF-8
 *
 * 252 and 253 refer to the previous record of the same segment, and never
 * appear in a *key record* (the first of a segment and every 64th after):
 * a record is decoded from the key record before it. Most fields repeat
 * from one request to the next (user, action, route, address, the request
 * id's prefix), so an entry takes about half the bytes — and bytes are what
 * LevelDB's log, memtable and compaction pay for.
 *
 * The first record's "previous hash" is 32 zero bytes (the genesis), or the
 * retention anchor. Inside the staging area every record's input to the
 * hash is one contiguous range: the previous hash sits right before `len`.
 */

export const HASH_BYTES = 32;
const VERSION = 2;
const VERSION_1 = 1;
const FIXED_1 = 1 + 8 + 8 + 2 + 1; // a version 1 body without seq and strings
const FIXED = 1 + 1 + 2 + 10 + 10; // a body without strings, at most (varints of 10 bytes)
const FIELDS = 12;
/** Every KEY_EVERY-th record of a segment (from its first) refers to no other record; stored segments hold at most this many. */
export const KEY_EVERY = 64;
const NULL_STR = 0;
const MAX_SHORT = 250;
const SAME = 252;
const PREFIX = 253;
const LONG_STR = 0xff;
/** Shorter common prefixes are not worth a reference. */
const MIN_PREFIX = 6;

const SEGMENT_TAG = Buffer.of(0x53); // 'S'

/** A segment's key in the audit keyspace: 'S' and its first entry's id (u64 BE). */
export function segmentKey(firstId: number): Buffer {
  return Buffer.concat([SEGMENT_TAG, seqCodec.encode(firstId)]);
}

/** The first id a segment key names (`at`: where its 'S' is — 0 inside the keyspace, 1 in a full LevelDB key). */
export function segmentKeyId(key: Buffer, at = 0): number {
  return seqCodec.decode(key.subarray(at + 1, at + 9));
}

/** Store segments cut in order (cutSegments, cutFirst) under their keys, the first holding entry `firstId`. */
export function putSegments(put: (key: Buffer, segment: Buffer) => void, firstId: number, segments: Buffer[]): void {
  let id = firstId;
  for (const seg of segments) {
    put(segmentKey(id), seg);
    id += KEY_EVERY; // every segment but the last is full
  }
}

/** The genesis "previous hash": 32 zero bytes. */
export const GENESIS = Buffer.alloc(HASH_BYTES);

/**
 * The staging area: records appended as requests are recorded (and hashed
 * in order when cut), cut into segments when a batch is written. An arena:
 * a cut segment is a view of it, never overwritten (no copy per cut); a
 * full arena is replaced by a new one that starts with the last hash.
 */
export class SegmentWriter {
  private buf: Buffer;
  /** Where the records since the last cut start; the 32 bytes before it are the hash they link to. */
  private from = HASH_BYTES;
  private end = HASH_BYTES;
  /** Where the first record without its hash starts. */
  private sealed = HASH_BYTES;
  /** Where each key record since the last cut starts (cutSegments splits there). */
  private keyStarts: number[] = [];
  /** The previous record's strings (what 252/253 refer to) and time. */
  private readonly prev: (string | null)[] = new Array(FIELDS).fill(null);
  private prevMs = 0;
  /** Records since the last cut. */
  count = 0;

  constructor(prevHash: Buffer) {
    this.buf = Buffer.allocUnsafe(ARENA_BYTES);
    prevHash.copy(this.buf, 0);
  }

  /** The hash of the last record appended (or the link before the first). */
  get lastHash(): Buffer {
    this.seal();
    return Buffer.from(this.buf.subarray(this.end - HASH_BYTES, this.end));
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.end - this.from;
  }

  /** Encode one record, at time `ms` (never before the previous record's; its hash follows when it is cut). */
  append(ms: number, r: AuditRecord): void {
    const need =
      FIXED +
      4 +
      HASH_BYTES +
      FIELDS * 7 +
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
    const key = this.count % KEY_EVERY === 0;
    if (key) this.keyStarts.push(start);
    const t = Math.max(Math.floor(ms), this.prevMs);
    const hasSeq = r.seq !== null && r.seq !== undefined;
    b[start + 4] = VERSION;
    b[start + 5] = (r.success ? 1 : 0) | (hasSeq ? 2 : 0);
    b.writeUInt16BE(r.statusCode, start + 6);
    let o = writeVarint(b, start + 8, key ? t : t - this.prevMs);
    this.prevMs = t;
    if (hasSeq) o = writeVarint(b, o, r.seq!);
    const p = this.prev;
    o = putField(b, o, r.user, p, 0, key);
    o = putField(b, o, r.userId, p, 1, key);
    o = putField(b, o, r.action, p, 2, key);
    o = putField(b, o, r.entityType, p, 3, key);
    o = putField(b, o, r.entityId, p, 4, key);
    o = putField(b, o, r.oldValue, p, 5, key);
    o = putField(b, o, r.newValue, p, 6, key);
    o = putField(b, o, r.ipAddress, p, 7, key);
    o = putField(b, o, r.sessionId, p, 8, key);
    o = putField(b, o, r.errorMessage, p, 9, key);
    o = putField(b, o, r.method, p, 10, key);
    o = putField(b, o, r.route, p, 11, key);
    b.writeUInt32BE(o - start - 4, start);
    this.end = o + HASH_BYTES; // the hash is filled in by seal()
    this.count++;
  }

  /**
   * Hash the records appended since the last seal, in order. Done in one
   * tight loop when a batch is cut rather than once per request: the same
   * work, faster than interleaved with request handling.
   */
  private seal(): void {
    const b = this.buf;
    let o = this.sealed;
    while (o < this.end) {
      const bodyEnd = o + 4 + b.readUInt32BE(o);
      // The previous hash ends where this record starts: one contiguous input. The digest comes back as a
      // latin1 ('binary') string, one char per byte: several times cheaper than a Buffer result per call.
      b.write(crypto.hash('sha256', b.subarray(o - HASH_BYTES, bodyEnd), 'binary'), bodyEnd, HASH_BYTES, 'latin1');
      o = bodyEnd + HASH_BYTES;
    }
    this.sealed = o;
  }

  /** The records since the last cut, as one segment value (a view of the arena, never overwritten). */
  cut(): Buffer {
    this.seal();
    const seg = this.buf.subarray(this.from, this.end);
    this.startOver();
    return seg;
  }

  /**
   * The records since the last cut as segments of at most KEY_EVERY records,
   * each starting with a key record: what the log stores, so that reading
   * one entry reads at most one such segment.
   */
  cutSegments(): Buffer[] {
    this.seal();
    const out: Buffer[] = [];
    const k = this.keyStarts;
    for (let i = 0; i < k.length; i++) out.push(this.buf.subarray(k[i]!, i + 1 < k.length ? k[i + 1]! : this.end));
    this.startOver();
    return out;
  }

  /** After a cut: what follows starts a new segment (its first record is a key record). */
  private startOver(): void {
    this.from = this.end;
    this.count = 0;
    this.keyStarts = [];
  }

  /**
   * Cut the first `n` records staged since the last cut (as cutSegments)
   * and keep the rest staged. The rest is encoded again, starting with a
   * key record, since it may refer to records that are cut now. Rare (a
   * group commit split before a commit's entry), so it simply decodes and
   * re-appends.
   */
  cutFirst(n: number): Buffer[] {
    if (n >= this.count) return this.cutSegments();
    const from = this.from;
    // Decoded before the arena is written over from `from` again.
    const staged = this.cutSegments().flatMap((seg) => new Segment(0, seg).entries());
    this.end = from;
    this.sealed = from;
    this.from = from;
    this.prevMs = 0;
    for (let i = 0; i < n; i++) this.append(Date.parse(staged[i]!.timestamp), staged[i]!);
    const out = this.cutSegments();
    for (let i = n; i < staged.length; i++) this.append(Date.parse(staged[i]!.timestamp), staged[i]!);
    return out;
  }

  /** A new arena holding the last hash and the records not cut yet (the old one stays with the segments cut from it). */
  private grow(need: number): void {
    const keep = this.end - this.from + HASH_BYTES;
    const next = Buffer.allocUnsafe(Math.max(ARENA_BYTES, 2 * (keep + need)));
    this.seal();
    this.buf.copy(next, 0, this.from - HASH_BYTES, this.end);
    const shift = this.from - HASH_BYTES;
    for (let i = 0; i < this.keyStarts.length; i++) this.keyStarts[i]! -= shift;
    this.buf = next;
    this.from = HASH_BYTES;
    this.end = keep;
    this.sealed = keep;
  }
}

/** Size of a staging arena (a flush of ~1,000 GET entries is ~100 KB). */
const ARENA_BYTES = 1 << 20;

const len = (s: string | null | undefined): number => (s === null || s === undefined ? 0 : s.length);

/** Field `f` of a record: a reference to the previous record's value where it pays, else the value. */
function putField(b: Buffer, o: number, s: string | null | undefined, prev: (string | null)[], f: number, key: boolean): number {
  if (s === null || s === undefined) {
    prev[f] = null;
    b[o] = NULL_STR;
    return o + 1;
  }
  const p = prev[f]!;
  prev[f] = s;
  if (key || p === null) return putStr(b, o, s);
  if (p === s) {
    b[o] = SAME;
    return o + 1;
  }
  // The common ASCII prefix (request ids, keys of one table, ...).
  const n = Math.min(s.length, p.length, 255);
  let k = 0;
  while (k < n) {
    const c = s.charCodeAt(k);
    if (c > 0x7f || c !== p.charCodeAt(k)) break;
    k++;
  }
  if (k < MIN_PREFIX) return putStr(b, o, s);
  b[o] = PREFIX;
  b[o + 1] = k;
  return putStr(b, o + 2, s.slice(k));
}

function putStr(b: Buffer, o: number, s: string): number {
  const n = s.length;
  if (n <= MAX_SHORT) {
    // ASCII (nearly everything recorded): copied char by char, no native call.
    const end = writeAscii(b, o + 1, s);
    if (end >= 0) {
      b[o] = n + 1;
      return end;
    }
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes <= MAX_SHORT) {
    b[o] = bytes + 1;
    return o + 1 + b.write(s, o + 1, 'utf8');
  }
  b[o] = LONG_STR;
  b.writeUInt32BE(bytes + 1, o + 1);
  return o + 5 + b.write(s, o + 5, 'utf8');
}

/** One stored segment, its records located (decoded on demand). */
export class Segment {
  /** Offset of each record's `len` field. */
  private readonly offsets: number[] = [];
  /** Each record's time (version 2: summed from the deltas once). */
  private readonly times: number[] = [];
  /** Record version (1 or 2). */
  private readonly version: number;
  /** Blocks of KEY_EVERY entries, each decoded once when first read (a key entry and those referring back to it). */
  private readonly blocks = new Map<number, AuditEntry[]>();

  constructor(
    readonly firstId: number,
    readonly bytes: Buffer,
  ) {
    this.version = bytes.length > 4 ? bytes[4]! : 0;
    if (this.version !== VERSION && this.version !== VERSION_1) throw new TypeError('not an audit segment');
    const end = bytes.length;
    const min = this.version === VERSION ? 4 : FIXED_1;
    let o = 0;
    while (o < end) {
      if (o + 4 > end) throw new TypeError('truncated audit segment');
      const n = bytes.readUInt32BE(o);
      if (n < min || o + 4 + n + HASH_BYTES > end) throw new TypeError('truncated audit segment');
      this.offsets.push(o);
      if (this.version === VERSION) {
        const c = { o: o + 8 };
        const t = readVarint(bytes, c);
        this.times.push(this.offsets.length % KEY_EVERY === 1 ? t : this.times[this.times.length - 1]! + t);
      } else this.times.push(bytes.readDoubleBE(o + 13));
      o += 4 + n + HASH_BYTES;
    }
    if (o !== end || this.offsets.length === 0) throw new TypeError('truncated audit segment');
  }

  get count(): number {
    return this.offsets.length;
  }

  get lastId(): number {
    return this.firstId + this.offsets.length - 1;
  }

  /** The id record i has: the key's firstId + i (a version 1 record also says which id it has: that one, unless tampered with). */
  idAt(i: number): number {
    if (this.version === VERSION) return this.firstId + i;
    const o = this.offsets[i]! + 5;
    return this.bytes.readUInt32BE(o) * 2 ** 32 + this.bytes.readUInt32BE(o + 4);
  }

  timeAt(i: number): number {
    return this.times[i]!;
  }

  /** `len ‖ body` of record i: what its hash covers after the previous hash. */
  framed(i: number): Buffer {
    const o = this.offsets[i]!;
    return this.bytes.subarray(o, o + 4 + this.bytes.readUInt32BE(o));
  }

  /** Record i's stored hash. */
  hashAt(i: number): Buffer {
    const o = this.offsets[i]!;
    const end = o + 4 + this.bytes.readUInt32BE(o);
    return this.bytes.subarray(end, end + HASH_BYTES);
  }

  /** The last record's stored hash. */
  get lastHash(): Buffer {
    return this.hashAt(this.count - 1);
  }

  /** Entry i: its block (the key record before it and the rest up to the next) is decoded once and kept. */
  entryAt(i: number): AuditEntry {
    return this.block(Math.floor(i / KEY_EVERY))[i % KEY_EVERY]!;
  }

  /** Every entry, in order. */
  entries(): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (let b = 0; b * KEY_EVERY < this.offsets.length; b++) out.push(...this.block(b));
    return out;
  }

  private block(b: number): AuditEntry[] {
    let block = this.blocks.get(b);
    if (block === undefined) {
      block = [];
      const prev: (string | null)[] = new Array(FIELDS).fill(null);
      const end = Math.min(this.offsets.length, (b + 1) * KEY_EVERY);
      for (let j = b * KEY_EVERY; j < end; j++)
        block.push(decodeBody(this.framed(j).subarray(4), prev, j % KEY_EVERY === 0, this.firstId + j, this.times[j]!));
      this.blocks.set(b, block);
    }
    return block;
  }
}

/**
 * Decode a record's body; `prev` holds the previous record's strings (and
 * receives this one's). A version 2 body holds neither its id nor its time
 * (they come from its segment): `id` and `ms`. Throws on bytes that are not
 * a record, and on a reference in a key record.
 */
export function decodeBody(b: Buffer, prev: (string | null)[], key: boolean, id: number, ms: number): AuditEntry {
  let flags: number;
  let statusCode: number;
  let seq: number | null = null;
  const c = { o: 0 };
  if (b[0] === VERSION) {
    if (b.length < 4) throw new TypeError('truncated audit record');
    flags = b[1]!;
    statusCode = b.readUInt16BE(2);
    c.o = 4;
    readVarint(b, c); // the time: from the segment
    if (flags & 2) seq = readVarint(b, c);
  } else if (b[0] === VERSION_1) {
    if (b.length < FIXED_1) throw new TypeError('truncated audit record');
    id = b.readUInt32BE(1) * 2 ** 32 + b.readUInt32BE(5);
    ms = b.readDoubleBE(9);
    statusCode = b.readUInt16BE(17);
    flags = b[19]!;
    c.o = 20;
    if (flags & 2) {
      if (b.length < c.o + 8) throw new TypeError('truncated audit record');
      seq = b.readDoubleBE(c.o);
      c.o += 8;
    }
  } else throw new TypeError(`unknown audit record version ${b[0]}`);
  for (let f = 0; f < FIELDS; f++) prev[f] = getField(b, c, prev[f]!, key);
  if (c.o !== b.length) throw new TypeError('audit record has trailing bytes');
  return {
    id,
    timestamp: new Date(ms).toISOString(),
    user: prev[0]!,
    userId: prev[1]!,
    action: prev[2] ?? '',
    entityType: prev[3]!,
    entityId: prev[4]!,
    oldValue: prev[5]!,
    newValue: prev[6]!,
    success: (flags & 1) === 1,
    statusCode,
    ipAddress: prev[7]!,
    sessionId: prev[8]!,
    errorMessage: prev[9]!,
    seq,
    method: prev[10]!,
    route: prev[11]!,
  };
}

function getField(b: Buffer, c: { o: number }, prev: string | null, key: boolean): string | null {
  if (c.o >= b.length) throw new TypeError('truncated audit record');
  const h = b[c.o]!;
  if (h === SAME || h === PREFIX) {
    if (key || prev === null) throw new TypeError('audit record refers to a value it cannot see');
    if (h === SAME) {
      c.o += 1;
      return prev;
    }
    const k = b[c.o + 1]!;
    if (k > prev.length) throw new TypeError('audit record refers past the previous value');
    c.o += 2;
    const rest = getStr(b, c);
    if (rest === null) throw new TypeError('audit record has a null after a prefix');
    return prev.slice(0, k) + rest;
  }
  return getStr(b, c);
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
    if (c.o + 5 > b.length) throw new TypeError('truncated audit record');
    n = b.readUInt32BE(c.o + 1) - 1;
    start = c.o + 5;
  } else if (h > MAX_SHORT + 1) throw new TypeError(`bad string header ${h} in audit record`);
  if (start + n > b.length) throw new TypeError('truncated audit record');
  c.o = start + n;
  return b.toString('utf8', start, start + n);
}

/** SHA-256(prev ‖ framed): a record's hash, recomputed (verification). */
export function recordHash(prev: Buffer, framed: Buffer): Buffer {
  return crypto.createHash('sha256').update(prev).update(framed).digest();
}

/** Encode entries (with their times; their ids are the segment's) as one segment after `prevHash` (tests, conversion). */
export function encodeSegment(prevHash: Buffer, entries: AuditEntry[]): { segment: Buffer; lastHash: Buffer } {
  const w = new SegmentWriter(prevHash);
  for (const e of entries) w.append(Date.parse(e.timestamp), e);
  const lastHash = w.lastHash;
  return { segment: w.cut(), lastHash };
}
