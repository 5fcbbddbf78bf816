import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * Binary checkpoint files of in-memory indexes (fulltext, vector): a
 * little-endian body followed by a CRC-32 of it, written atomically.
 */

/** Int32Arrays are copied as bytes when the host is little-endian (the file's order). */
const LE = os.endianness() === 'LE';

export class CheckpointWriter {
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
    // Short runs (a posting's positions: usually one) element-wise; a Buffer view per run costs more than the copy.
    if (LE && n > 8) Buffer.from(a.buffer, a.byteOffset + from * 4, n * 4).copy(this.buf, this.at);
    else for (let i = 0; i < n; i++) this.buf.writeInt32LE(a[from + i]!, this.at + i * 4);
    this.at += n * 4;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  /** The body followed by its CRC-32. */
  done(): Buffer {
    const body = this.buf.subarray(0, this.at);
    const out = Buffer.allocUnsafe(this.at + 4);
    body.copy(out);
    out.writeUInt32LE(zlib.crc32(body), this.at);
    return out;
  }
}

export class CheckpointReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  /** A reader over a file's body once its CRC-32 checks out (throws otherwise). */
  static checked(file: Buffer): CheckpointReader {
    if (file.length < 8) throw new Error('checkpoint truncated');
    const body = file.subarray(0, file.length - 4);
    if (zlib.crc32(body) !== file.readUInt32LE(file.length - 4)) throw new Error('checkpoint checksum mismatch');
    return new CheckpointReader(body);
  }
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
  /** A length-prefixed byte string (a view into the file). */
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  get done(): boolean {
    return this.at === this.buf.length;
  }
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
