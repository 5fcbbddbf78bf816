import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { type Engine, keyspace, prefixUpperBound, type Snapshot, WriteBatch } from '../storage/index.js';

const ks = keyspace('content');

/** Blob pieces: 'b' + blob id (16 bytes) + piece number (u32 BE) -> up to PIECE_BYTES bytes. */
const PIECE = 0x62;
/** The hash index: 'h' + sha256 (32 bytes) -> blob id (16) + size (f64 BE) + references (u32 BE). */
const HASH = 0x68;
/** A streamed upload in progress: 'u' + blob id -> start time (f64 BE); its pieces are removed at start-up if it never finished. */
const UPLOAD = 0x75;

/** Blobs are stored in pieces of this size (the last one shorter): a download reads one piece at a time. */
export const PIECE_BYTES = 256 * 1024;

export interface BlobInfo {
  readonly blobId: Buffer;
  readonly size: number;
  /** Content documents referring to the blob (identical blobs are stored once). */
  refs: number;
}

const pieceKey = (blobId: Buffer, n: number): Buffer => {
  const k = Buffer.allocUnsafe(21);
  k[0] = PIECE;
  blobId.copy(k, 1);
  k.writeUInt32BE(n, 17);
  return k;
};
const hashKey = (hash: Buffer): Buffer => Buffer.concat([Buffer.of(HASH), hash]);
const uploadKey = (blobId: Buffer): Buffer => Buffer.concat([Buffer.of(UPLOAD), blobId]);
const piecesOf = (size: number): number => Math.ceil(size / PIECE_BYTES);

function encodeInfo(i: BlobInfo): Buffer {
  const b = Buffer.allocUnsafe(28);
  i.blobId.copy(b, 0);
  b.writeDoubleBE(i.size, 16);
  b.writeUInt32BE(i.refs, 24);
  return b;
}

function decodeInfo(b: Buffer): BlobInfo {
  return { blobId: Buffer.from(b.subarray(0, 16)), size: b.readDoubleBE(16), refs: b.readUInt32BE(24) };
}

/** A blob's bytes for a commit: in memory (an import), or pieces an upload has staged already. */
export type BlobSource = { kind: 'bytes'; bytes: Buffer } | { kind: 'staged'; blobId: Buffer; size: number };

/** What a commit does to the stored blobs: reference changes per sha256 (hex), and where new blobs' bytes come from. */
export interface BlobPlan {
  readonly deltas: ReadonlyMap<string, number>;
  /** A staged source whose bytes turn out to be stored already is dropped in the same batch. */
  readonly sources: ReadonlyMap<string, BlobSource>;
}

/**
 * Content blobs (docs/content.md, "Blobs"): bytes in fixed-size pieces
 * under a random blob id, found by their sha256 and stored once however
 * many contents refer to them. References are counted from the content
 * documents by the commit that writes them (`apply`), in the same batch:
 * a blob's pieces exist exactly while some content refers to it.
 */
export class BlobStore {
  /** sha256 (hex) -> the stored blob; the in-memory copy of the hash index, updated in commit order. */
  private readonly byHash = new Map<string, BlobInfo>();

  private constructor(private readonly engine: Engine) {}

  /** Load the hash index; remove the pieces of uploads a crash or an abort left unfinished. */
  static async open(engine: Engine, log: Logger): Promise<BlobStore> {
    const s = new BlobStore(engine);
    const hashes = Buffer.of(HASH);
    for await (const [k, v] of engine.scan(ks, { gte: hashes, lt: prefixUpperBound(hashes) })) {
      s.byHash.set(k.toString('hex', 1), decodeInfo(v));
    }
    const uploads = Buffer.of(UPLOAD);
    let dropped = 0;
    for await (const [k] of engine.scan(ks, { gte: uploads, lt: prefixUpperBound(uploads) })) {
      await s.dropStaged(Buffer.from(k.subarray(1)));
      dropped++;
    }
    if (dropped > 0) log.info('removed the pieces of unfinished blob uploads', { uploads: dropped });
    return s;
  }

  /** The stored blob with this sha256 (hex), if any. */
  get(hash: string): BlobInfo | undefined {
    return this.byHash.get(hash);
  }

  get count(): number {
    return this.byHash.size;
  }

  /** Bytes stored (each distinct blob once). */
  get bytes(): number {
    let n = 0;
    for (const b of this.byHash.values()) n += b.size;
    return n;
  }

  /**
   * Refuses nothing; checks that every blob a commit starts referring to
   * has its bytes: stored already, or in `sources`. Returns what is missing
   * (a hash), or undefined.
   */
  missing(deltas: ReadonlyMap<string, number>, sources: ReadonlyMap<string, BlobSource>): string | undefined {
    for (const [hash, d] of deltas) if (d > 0 && !this.byHash.has(hash) && !sources.has(hash)) return hash;
    return undefined;
  }

  /**
   * Add a commit's blob changes to its batch and to the hash index (in
   * memory at once, so the next commit sees them); returns the undo for a
   * batch that fails.
   */
  apply(plan: BlobPlan, batch: WriteBatch): () => void {
    const undo: (() => void)[] = [];
    const used = new Set<BlobSource>();
    for (const [hash, d] of plan.deltas) {
      if (d === 0) continue;
      const cur = this.byHash.get(hash);
      if (cur === undefined) {
        if (d < 0) continue; // not stored (cannot happen when documents and index agree)
        const src = plan.sources.get(hash)!;
        used.add(src);
        const blobId = src.kind === 'staged' ? src.blobId : randomBytes(16);
        const size = src.kind === 'staged' ? src.size : src.bytes.length;
        if (src.kind === 'bytes') {
          for (let n = 0, o = 0; o < size; n++, o += PIECE_BYTES)
            batch.put(ks, pieceKey(blobId, n), src.bytes.subarray(o, o + PIECE_BYTES));
        } else batch.del(ks, uploadKey(blobId));
        const info: BlobInfo = { blobId, size, refs: d };
        batch.put(ks, hashKey(Buffer.from(hash, 'hex')), encodeInfo(info));
        this.byHash.set(hash, info);
        undo.push(() => this.byHash.delete(hash));
        continue;
      }
      const refs = cur.refs + d;
      if (refs > 0) {
        batch.put(ks, hashKey(Buffer.from(hash, 'hex')), encodeInfo({ ...cur, refs }));
        cur.refs = refs;
        undo.push(() => {
          cur.refs -= d;
        });
      } else {
        this.deletePieces(batch, cur.blobId, cur.size);
        batch.del(ks, hashKey(Buffer.from(hash, 'hex')));
        this.byHash.delete(hash);
        undo.push(() => this.byHash.set(hash, cur));
      }
    }
    // Staged uploads of bytes stored already (or not referenced after all): the commit drops their pieces.
    for (const src of plan.sources.values()) {
      if (src.kind !== 'staged' || used.has(src)) continue;
      this.deletePieces(batch, src.blobId, src.size);
      batch.del(ks, uploadKey(src.blobId));
    }
    return () => {
      for (const u of undo.reverse()) u();
    };
  }

  /**
   * The bytes [start, end) of a stored blob, piece by piece, as of
   * `snapshot` (a download stays consistent while the blob is replaced or
   * deleted meanwhile). Throws if a piece is missing.
   */
  async *read(info: BlobInfo, start: number, end: number, snapshot?: Snapshot): AsyncGenerator<Buffer> {
    const first = Math.floor(start / PIECE_BYTES);
    const last = Math.ceil(end / PIECE_BYTES) - 1;
    const get = (n: number) => this.engine.get(ks, pieceKey(info.blobId, n), snapshot);
    // One piece read ahead: the next read runs while the current piece is sent.
    let next = first <= last ? get(first) : undefined;
    try {
      for (let n = first; n <= last; n++) {
        const piece = await next!;
        next = n < last ? get(n + 1) : undefined;
        if (piece === undefined) throw new Error(`blob piece ${n} is missing`);
        const base = n * PIECE_BYTES;
        yield piece.subarray(Math.max(0, start - base), Math.min(piece.length, end - base));
      }
    } finally {
      // A read still in flight when the download stops: its result is not wanted (nor its failure).
      next?.catch(() => undefined);
    }
  }

  /** Every key the store holds (tests and the orphan check). */
  async *keys(): AsyncGenerator<Buffer> {
    for await (const [k] of this.engine.scan(ks)) yield k;
  }

  /**
   * Begin a streamed upload: pieces are written as they arrive under a new
   * blob id marked as staging; `finish` gives the sha256 and size for the
   * commit that makes the blob a content's (BlobSource `staged`), `discard`
   * removes the pieces. A crash before the commit leaves the marker, and the
   * next start removes the pieces.
   */
  async stage(): Promise<StagedUpload> {
    const blobId = randomBytes(16);
    const mark = Buffer.allocUnsafe(8);
    mark.writeDoubleBE(Date.now(), 0);
    await this.engine.commit(new WriteBatch().put(ks, uploadKey(blobId), mark));
    return new StagedUpload(this.engine, blobId, () => this.dropStaged(blobId));
  }

  private deletePieces(batch: WriteBatch, blobId: Buffer, size: number): void {
    for (let n = 0; n < piecesOf(size); n++) batch.del(ks, pieceKey(blobId, n));
  }

  /** Remove a staged upload's pieces and marker (in chunks: an upload may be large). */
  private async dropStaged(blobId: Buffer): Promise<void> {
    const from = Buffer.concat([Buffer.of(PIECE), blobId]);
    await this.engine.deleteRange(ks, { gte: from, lt: prefixUpperBound(from) });
    await this.engine.commit(new WriteBatch().del(ks, uploadKey(blobId)));
  }
}

/** The pieces of one streamed upload, written as the bytes arrive (see BlobStore.stage). */
export class StagedUpload {
  private readonly hash = createHash('sha256');
  private size = 0;
  private piece = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;

  constructor(
    private readonly engine: Engine,
    readonly blobId: Buffer,
    private readonly drop: () => Promise<void>,
  ) {}

  get bytes(): number {
    return this.size;
  }

  /** Take the next bytes; whole pieces are written (awaited: the caller reads on when storage has taken them). */
  async write(chunk: Buffer): Promise<void> {
    if (this.done) throw new Error('upload finished');
    this.hash.update(chunk);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= PIECE_BYTES) await this.flush(PIECE_BYTES);
  }

  /** Write the last piece; the blob's sha256 (hex) and size. */
  async finish(): Promise<{ hash: string; size: number }> {
    if (this.pendingBytes > 0) await this.flush(this.pendingBytes);
    this.done = true;
    return { hash: this.hash.digest('hex'), size: this.size };
  }

  async discard(): Promise<void> {
    this.done = true;
    this.pending = [];
    await this.drop();
  }

  private async flush(n: number): Promise<void> {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const piece = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    await this.engine.commit(new WriteBatch().put(ks, pieceKey(this.blobId, this.piece++), Buffer.from(piece)));
  }
}
