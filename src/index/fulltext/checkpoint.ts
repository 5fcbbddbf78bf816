import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { MemoryIndex, PostingList } from './postings.js';

/**
 * Checkpoint file of a fulltext index's in-memory side: documents (key,
 * length) and every posting list as flat little-endian arrays, with the
 * change-log sequence number it reflects and a CRC-32 of the whole file.
 * Loading one is a few large copies instead of one LevelDB entry per
 * posting; the commits after `seq` are replayed from the change log.
 *
 *   "THFT" u32 version | u32 index id | u32 n, config JSON | f64 seq
 *   u32 documents, then per document: u32 n, key utf8, i32 length
 *   u32 terms, then per term: u32 n, term utf8, u32 len,
 *       i32 docs[len] (document ordinals), i32 tfs[len], i32 positions[Σ tfs]
 *   u32 CRC-32 of everything before
 */
const MAGIC = 0x54484654; // "THFT"
const VERSION = 1;
/** Int32Arrays are copied as bytes when the host is little-endian (the file's order). */
const LE = os.endianness() === 'LE';

export interface CheckpointContent {
  indexId: number;
  config: string;
  seq: number;
  mem: MemoryIndex;
}

class Writer {
  private buf: Buffer;
  private at = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(b, 0, 0, this.at);
    this.buf = b;
  }
  u32(v: number): void {
    this.room(4);
    this.at = this.buf.writeUInt32LE(v, this.at);
  }
  i32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32LE(v, this.at);
  }
  f64(v: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(v, this.at);
  }
  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u32(n);
    this.room(n);
    this.at += this.buf.write(s, this.at, 'utf8');
  }
  ints(a: Int32Array, from: number, n: number): void {
    this.room(n * 4);
    if (LE) Buffer.from(a.buffer, a.byteOffset + from * 4, n * 4).copy(this.buf, this.at);
    else for (let i = 0; i < n; i++) this.buf.writeInt32LE(a[from + i]!, this.at + i * 4);
    this.at += n * 4;
  }
  done(): Buffer {
    const body = this.buf.subarray(0, this.at);
    const out = Buffer.allocUnsafe(this.at + 4);
    body.copy(out);
    out.writeUInt32LE(zlib.crc32(body), this.at);
    return out;
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error('checkpoint truncated');
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.at);
    this.at += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }
  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  ints(n: number): Int32Array {
    this.need(n * 4);
    const a = new Int32Array(n);
    if (LE) this.buf.copy(Buffer.from(a.buffer), 0, this.at, this.at + n * 4);
    else for (let i = 0; i < n; i++) a[i] = this.buf.readInt32LE(this.at + i * 4);
    this.at += n * 4;
    return a;
  }
  get done(): boolean {
    return this.at === this.buf.length;
  }
}

/** Serialise (synchronously: a consistent cut of the in-memory index). */
export function encodeCheckpoint(c: CheckpointContent): Buffer {
  const { mem } = c;
  const w = new Writer(1024 + mem.postings * 16);
  w.u32(MAGIC);
  w.u32(VERSION);
  w.u32(c.indexId);
  w.str(c.config);
  w.f64(c.seq);
  // documents in number order, renumbered densely (order kept, so posting lists stay sorted)
  const ordinal = new Int32Array(mem.docCapacity).fill(-1);
  w.u32(mem.n);
  let next = 0;
  for (let doc = 0; doc < mem.docCapacity; doc++) {
    const key = mem.docKeys[doc];
    if (key === undefined) continue;
    ordinal[doc] = next++;
    w.str(key);
    w.i32(mem.docLen[doc]!);
  }
  w.u32(mem.terms.size);
  for (const [term, pl] of mem.terms) {
    w.str(term);
    w.u32(pl.len);
    const docs = new Int32Array(pl.len);
    let positions = 0;
    for (let i = 0; i < pl.len; i++) {
      docs[i] = ordinal[pl.docs[i]!]!;
      positions += pl.tfs[i]!;
    }
    w.ints(docs, 0, pl.len);
    w.ints(pl.tfs, 0, pl.len);
    w.u32(positions);
    for (let i = 0; i < pl.len; i++) w.ints(pl.pool, pl.offs[i]!, pl.tfs[i]!);
  }
  return w.done();
}

/** Parse and check a checkpoint; throws on any corruption (CRC, structure, document references). */
export function decodeCheckpoint(file: Buffer): CheckpointContent {
  if (file.length < 8) throw new Error('checkpoint truncated');
  const body = file.subarray(0, file.length - 4);
  if (zlib.crc32(body) !== file.readUInt32LE(file.length - 4)) throw new Error('checkpoint checksum mismatch');
  const r = new Reader(body);
  if (r.u32() !== MAGIC) throw new Error('not a fulltext checkpoint');
  if (r.u32() !== VERSION) throw new Error('unknown checkpoint version');
  const indexId = r.u32();
  const config = r.str();
  const seq = r.f64();
  const mem = new MemoryIndex();
  const nDocs = r.u32();
  for (let i = 0; i < nDocs; i++) {
    const key = r.str();
    if (mem.loadDoc(key, r.i32()) !== i) throw new Error('checkpoint repeats a document');
  }
  const nTerms = r.u32();
  for (let t = 0; t < nTerms; t++) {
    const term = r.str();
    const len = r.u32();
    const docs = r.ints(len);
    const tfs = r.ints(len);
    const positions = r.ints(r.u32());
    for (let i = 0; i < len; i++) if (docs[i]! < 0 || docs[i]! >= nDocs || (i > 0 && docs[i]! <= docs[i - 1]!) || tfs[i]! < 1) throw new Error('checkpoint posting list is malformed');
    mem.loadList(term, PostingList.fromArrays(docs, tfs, positions));
  }
  if (!r.done) throw new Error('checkpoint has trailing bytes');
  return { indexId, config, seq, mem };
}

/** Write atomically: temp file, fsync, rename over the old one, fsync the directory. */
export async function writeCheckpointFile(file: string, data: Buffer): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const h = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.promises.rename(tmp, file);
  const d = await fs.promises.open(path.dirname(file), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
