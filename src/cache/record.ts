/**
 * The stored form of a cache entry (keyspace `cache`, docs/cache.md):
 * 'e' + the key (UTF-8) -> version byte 1, the JSON header's length (u32 BE),
 * the JSON header `{v: value, p?: prompt, m?: metadata, x: expires_at ms |
 * null, w: written_at ms}`, then the embedding as little-endian float32s
 * (none when the entry has no embedding).
 */

export const ENTRY_PREFIX = 0x65; // 'e'
const VERSION = 1;

export type Scalar = string | number | boolean | null;
export type Metadata = Record<string, Scalar>;

export interface CacheRecord {
  value: unknown;
  prompt?: string;
  metadata?: Metadata;
  /** Epoch ms; null: never expires. */
  expiresAt: number | null;
  /** Epoch ms of the write (the LRU order after a restart). */
  writtenAt: number;
  embedding?: Float32Array;
}

export function entryKey(key: string): Buffer {
  const k = Buffer.allocUnsafe(1 + Buffer.byteLength(key));
  k[0] = ENTRY_PREFIX;
  k.write(key, 1, 'utf8');
  return k;
}

export function keyOfEntry(inner: Buffer): string {
  return inner.toString('utf8', 1);
}

export function encodeRecord(r: CacheRecord): Buffer {
  const header: Record<string, unknown> = { v: r.value, x: r.expiresAt, w: r.writtenAt };
  if (r.prompt !== undefined) header.p = r.prompt;
  if (r.metadata !== undefined) header.m = r.metadata;
  const json = Buffer.from(JSON.stringify(header));
  const dim = r.embedding?.length ?? 0;
  const out = Buffer.allocUnsafe(5 + json.length + 4 * dim);
  out[0] = VERSION;
  out.writeUInt32BE(json.length, 1);
  json.copy(out, 5);
  if (r.embedding) Buffer.from(r.embedding.buffer, r.embedding.byteOffset, 4 * dim).copy(out, 5 + json.length);
  return out;
}

/** The record; `withEmbedding: false` skips copying the vector (reads of a hit's value). */
export function decodeRecord(b: Buffer, withEmbedding = true): CacheRecord {
  if (b[0] !== VERSION) throw new Error(`cache entry of unknown format version ${b[0]}`);
  const n = b.readUInt32BE(1);
  const h = JSON.parse(b.toString('utf8', 5, 5 + n)) as { v: unknown; p?: string; m?: Metadata; x: number | null; w: number };
  const r: CacheRecord = { value: h.v, expiresAt: h.x, writtenAt: h.w };
  if (h.p !== undefined) r.prompt = h.p;
  if (h.m !== undefined) r.metadata = h.m;
  const bytes = b.length - 5 - n;
  if (withEmbedding && bytes > 0) {
    // A copy: the Buffer may share (and be unaligned in) LevelDB's read buffer.
    const copy = new Uint8Array(bytes);
    copy.set(b.subarray(5 + n));
    r.embedding = new Float32Array(copy.buffer);
  }
  return r;
}

/** Dimension of the stored embedding without decoding the header. */
export function embeddingDimOf(b: Buffer): number {
  return (b.length - 5 - b.readUInt32BE(1)) / 4;
}
