import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { assertRead, assertWrite, type Caller, type TableAccess } from '../access.js';
import type { components } from '../api/types.js';
import type { DocumentStore, EntityKey } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import type { IndexManager, VectorIndex, VectorService } from '../index/index.js';
import type { Snapshot } from '../storage/index.js';
import type { CommitInfo, CommitParticipant, Transaction, TransactionManager } from '../txn/index.js';
import { type BlobInfo, type BlobPlan, type BlobSource, type BlobStore, PIECE_BYTES } from './blobs.js';
import { chunkText, contentFormat, DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, type Extractor } from './extract/index.js';
import {
  CHUNK_EMBEDDING,
  CHUNK_TABLE,
  CHUNK_TEXT,
  CHUNK_VECTOR_INDEX,
  CONTENT_TABLE,
  type ContentChunk,
  type ContentMeta,
  chunkKey,
  contentKey,
} from './keys.js';
import { retrieve } from './retrieve.js';

type Schemas = components['schemas'];
export type ContentImportRequest = Schemas['ContentImportRequest'];
export type ContentImportResponse = Schemas['ContentImportResponse'];
export type ContentRetrieveRequest = Schemas['ContentRetrieveRequest'];
export type ContentRetrieveResponse = Schemas['ContentRetrieveResponse'];

/** Fields the server computes; an import may not set them. */
const COMPUTED = new Set(['created_at', 'hash_sha256', 'chunk_count']);
const ID = /^[A-Za-z0-9][A-Za-z0-9._~@+=-]{0,255}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Most content metadata kept in memory for retrieval filters (beyond: the cache starts over). */
const META_CACHE_MAX = 100_000;

/** Default THEMIS_MAX_BLOB_BYTES: 1 GiB. */
export const DEFAULT_MAX_BLOB_BYTES = 1024 ** 3;

const tooLarge = (max: number) =>
  new ThemisError('PAYLOAD_TOO_LARGE', `the blob is larger than ${max} bytes (THEMIS_MAX_BLOB_BYTES)`, {
    details: { field: 'blob', limit: max },
  });
const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });
const notFound = (id: string) => new ThemisError('NOT_FOUND', `content ${id} does not exist`);

/** A stored blob opened for reading: its metadata and its bytes as of the moment it was opened. */
export interface OpenBlob {
  readonly size: number;
  readonly hash: string;
  readonly mimeType: string;
  readonly filename: string | undefined;
  /** The bytes [start, end) piece by piece; `close` must follow (it releases the read view). */
  read(start: number, end: number): AsyncGenerator<Buffer>;
  close(): void;
}

interface Ports {
  documents: DocumentStore;
  transactions: TransactionManager;
  indexes: IndexManager;
  vectors: VectorService;
  blobs: BlobStore;
  snapshot: () => Snapshot;
  /** Text extraction in worker threads (off the event loop, with time and memory limits). */
  extractor: Extractor;
}

/**
 * Content for RAG applications (docs/content.md): contents with their
 * chunks and blobs, imported in one transaction, chunks indexed for BM25
 * and vector search by the ordinary commit path, and retrieval.
 */
export class ContentService {
  /** Transactions this service runs: the only ones that may write the content tables. */
  private readonly owned = new Set<string>();
  /** Blob bytes of the transactions in flight, by sha256. */
  private readonly pending = new Map<string, Map<string, BlobSource>>();
  /** One import or delete of an id at a time (the old chunk set is read before the commit). */
  private readonly locks = new Map<string, Promise<unknown>>();
  private ensuring: Promise<void> | undefined;
  /**
   * Content metadata by id (null: no such content), read once from storage
   * and dropped when a commit changes the content (the participant's
   * `applied`): retrieval filters look at the metadata of every candidate.
   */
  private readonly metas = new Map<string, ContentMeta | null>();

  constructor(
    private readonly p: Ports,
    /** Largest blob PUT /content/{id}/blob takes (THEMIS_MAX_BLOB_BYTES). */
    readonly maxBlobBytes: number = DEFAULT_MAX_BLOB_BYTES,
  ) {}

  /** Ends the extraction workers (extractions waiting or running fail with 503). */
  close(): Promise<void> {
    return this.p.extractor.close();
  }

  // ---------------------------------------------------------------- import

  async import(req: ContentImportRequest, caller: Caller): Promise<ContentImportResponse> {
    assertWrite(caller.access, CONTENT_TABLE);
    assertWrite(caller.access, CHUNK_TABLE);
    const input = req.content;
    const id = input.id ?? uuidv7();
    for (const k of Object.keys(input)) {
      if (k.startsWith('_')) throw bad(`content.${k}`, `content field names may not start with "_" (${k})`);
      if (COMPUTED.has(k)) throw bad(`content.${k}`, `content.${k} is computed by the server and cannot be imported`);
    }
    const blob = req.blob === undefined ? undefined : decodeBase64(req.blob);
    if (blob !== undefined && input.size_bytes !== undefined && input.size_bytes !== blob.length)
      throw bad('content.size_bytes', `content.size_bytes is ${input.size_bytes} but the blob decodes to ${blob.length} bytes`);
    const mimeType = input.mime_type ?? 'application/octet-stream';
    let chunks: Record<string, unknown>[];
    // Chunks absent (not an empty list) and a blob of a type text can be read from: the chunks come from its text.
    if (req.chunks === undefined && blob !== undefined && contentFormat(mimeType, input.original_filename) !== undefined) {
      const text = await this.p.extractor.extract(blob, mimeType, input.original_filename);
      chunks = chunkText(text, {
        size: req.chunking?.size ?? DEFAULT_CHUNK_SIZE,
        overlap: req.chunking?.overlap ?? DEFAULT_CHUNK_OVERLAP,
      }).map((c) => ({ id: `${id}#${c.seq_num}`, content_id: id, seq_num: c.seq_num, text: c.text }));
    } else {
      if (req.chunking !== undefined)
        throw bad(
          'chunking',
          'chunking applies only to an import with a blob of a readable type (text, Markdown, HTML, PDF, DOCX) and no chunks',
        );
      chunks = this.checkChunks(id, req.chunks ?? []);
    }
    const dimension = embeddingDimension(chunks);
    await this.ensureIndexes(dimension !== undefined);
    if (dimension !== undefined) {
      const ix = this.vectorIndex();
      if (ix !== undefined && ix.def.dimension !== null && ix.def.dimension !== dimension) {
        const i = chunks.findIndex((c) => c.embedding !== undefined);
        throw bad(
          `chunks.${i}.embedding`,
          `embeddings have ${dimension} dimensions; the vector index ${ix.def.name} on ${CHUNK_TABLE}.${CHUNK_EMBEDDING} has ${ix.def.dimension}`,
        );
      }
    }
    const newHash = blob === undefined ? null : createHash('sha256').update(blob).digest('hex');
    return this.locked(id, async () => {
      const old = await this.chunkKeys(id);
      const prevText = this.p.documents.read(contentKey(id));
      const prev = prevText === undefined ? undefined : (JSON.parse(prevText) as ContentMeta);
      // A re-import without a blob keeps the blob the content has (uploaded with PUT /content/{id}/blob, say).
      const kept = blob === undefined && prev?.hash_sha256 ? { hash: prev.hash_sha256, size: prev.size_bytes! } : undefined;
      if (kept && input.size_bytes !== undefined && input.size_bytes !== kept.size)
        throw bad('content.size_bytes', `content.size_bytes is ${input.size_bytes} but the blob the content keeps has ${kept.size} bytes`);
      const hash = newHash ?? kept?.hash ?? null;
      const meta: Record<string, unknown> = {
        ...input,
        id,
        mime_type: mimeType,
        ...(blob !== undefined ? { size_bytes: blob.length } : kept ? { size_bytes: kept.size } : {}),
        created_at: Date.now(),
        hash_sha256: hash,
        chunk_count: chunks.length,
      };
      const replaced = prev !== undefined;
      const keep = new Set<string>();
      await this.write(caller, id, newHash === null ? undefined : [newHash, { kind: 'bytes', bytes: blob! }], (txn) => {
        const txm = this.p.transactions;
        txm.put(txn, contentKey(id), { text: JSON.stringify(meta), doc: meta });
        for (const c of chunks) {
          const k = chunkKey(id, c.seq_num as number);
          keep.add(k.key);
          txm.put(txn, k, { text: JSON.stringify(c), doc: c });
        }
        for (const k of old) if (!keep.has(k.key)) txm.delete(txn, k);
      });
      return { status: 'ok', content_id: id, chunk_count: chunks.length, hash_sha256: hash, replaced };
    });
  }

  /** Chunks as imported, checked: content id, unique seq_num and id, no reserved field, embeddings of one dimension. */
  private checkChunks(id: string, chunks: readonly Schemas['ChunkInput'][]): Record<string, unknown>[] {
    const seqs = new Set<number>();
    const ids = new Set<string>();
    let dim: number | undefined;
    return chunks.map((c, i) => {
      const at = `chunks.${i}`;
      if (c.content_id !== undefined && c.content_id !== id)
        throw bad(`${at}.content_id`, `${at}.content_id is "${c.content_id.slice(0, 80)}", not the content's id "${id}"`);
      if (seqs.has(c.seq_num)) throw bad(`${at}.seq_num`, `${at}.seq_num ${c.seq_num} appears earlier in this import`);
      seqs.add(c.seq_num);
      const chunkId = c.id ?? `${id}#${c.seq_num}`;
      if (ids.has(chunkId)) throw bad(`${at}.id`, `${at}.id "${chunkId.slice(0, 80)}" appears earlier in this import`);
      ids.add(chunkId);
      for (const k of Object.keys(c)) if (k.startsWith('_')) throw bad(`${at}.${k}`, `chunk field names may not start with "_" (${k})`);
      if (c.embedding !== undefined) {
        dim ??= c.embedding.length;
        if (c.embedding.length !== dim)
          throw bad(`${at}.embedding`, `${at}.embedding has ${c.embedding.length} dimensions; earlier chunks have ${dim}`);
        if (!c.embedding.every(Number.isFinite)) throw bad(`${at}.embedding`, `${at}.embedding holds a number that is not finite`);
      }
      return { ...c, id: chunkId, content_id: id };
    });
  }

  /** Make the indexes the chunks need (once; an index an admin made beforehand, with other settings, is used as it is). */
  private ensureIndexes(vector: boolean): Promise<void> {
    const need = () => this.fulltextMissing() || (vector && this.vectorIndex() === undefined);
    if (!need()) return Promise.resolve();
    const run = (this.ensuring ?? Promise.resolve()).then(async () => {
      if (this.fulltextMissing())
        await this.p.indexes.create({ table: CHUNK_TABLE, column: CHUNK_TEXT, type: 'fulltext' }).catch(ignoreExists);
      if (vector && this.vectorIndex() === undefined)
        await this.p.vectors
          .createIndex({ name: CHUNK_VECTOR_INDEX, table: CHUNK_TABLE, field: CHUNK_EMBEDDING, metric: 'COSINE' })
          .catch(ignoreExists);
    });
    this.ensuring = run.catch(() => undefined);
    return run;
  }

  private fulltextMissing(): boolean {
    return !this.p.indexes.fulltextColumns(CHUNK_TABLE).includes(CHUNK_TEXT);
  }

  /** The vector index on `_chunks.embedding` (the first, if an admin made several). */
  vectorIndex(): VectorIndex | undefined {
    return this.p.vectors.manager.onTable(CHUNK_TABLE).find((x) => x.def.field === CHUNK_EMBEDDING);
  }

  // ---------------------------------------------------------------- reads

  meta(id: string, access: TableAccess): ContentMeta {
    assertRead(access, CONTENT_TABLE);
    return this.readMeta(id);
  }

  private readMeta(id: string): ContentMeta {
    const text = ID.test(id) ? this.p.documents.read(contentKey(id)) : undefined;
    if (text === undefined) throw notFound(id.slice(0, 256));
    return JSON.parse(text) as ContentMeta;
  }

  /** One page of a content's chunks in seq_num order, and how many it has. */
  async chunks(id: string, page: { offset: number; limit: number }, access: TableAccess): Promise<Schemas['ContentChunks']> {
    assertRead(access, CONTENT_TABLE);
    assertRead(access, CHUNK_TABLE);
    const meta = this.readMeta(id);
    const out: ContentChunk[] = [];
    let skip = page.offset;
    for await (const rows of this.chunkRows(id)) {
      for (const [, text] of rows) {
        if (skip > 0) {
          skip--;
          continue;
        }
        out.push(JSON.parse(text) as ContentChunk);
        if (out.length === page.limit) return { count: meta.chunk_count, offset: page.offset, limit: page.limit, chunks: out };
      }
    }
    return { count: meta.chunk_count, offset: page.offset, limit: page.limit, chunks: out };
  }

  /** Contents in id order after `after`, filtered by mime type and category. */
  async list(
    o: { limit: number; after?: string; mimeType?: string; category?: string },
    access: TableAccess,
  ): Promise<Schemas['ContentList']> {
    assertRead(access, CONTENT_TABLE);
    const out: ContentMeta[] = [];
    const after = o.after === undefined || o.after === '' ? undefined : contentKey(o.after);
    for await (const rows of this.p.documents.scan({ table: CONTENT_TABLE, ...(after ? { after } : {}), size: 256 })) {
      for (const [, text] of rows) {
        const m = JSON.parse(text) as ContentMeta;
        if (o.mimeType !== undefined && m.mime_type !== o.mimeType) continue;
        if (o.category !== undefined && String(m.category) !== o.category) continue;
        if (out.length === o.limit) return { count: out.length, contents: out, next: out[out.length - 1]!.id };
        out.push(m);
      }
    }
    return { count: out.length, contents: out, next: null };
  }

  /** The blob of a content, opened for reading (404 without one); the caller must close it. */
  openBlob(id: string, access: TableAccess): OpenBlob {
    assertRead(access, CONTENT_TABLE);
    const snapshot = this.p.snapshot();
    try {
      const text = ID.test(id) ? this.p.documents.read(contentKey(id), snapshot) : undefined;
      if (text === undefined) throw notFound(id.slice(0, 256));
      const meta = JSON.parse(text) as ContentMeta;
      const info: BlobInfo | undefined = meta.hash_sha256 === null ? undefined : this.p.blobs.get(meta.hash_sha256);
      if (info === undefined) throw new ThemisError('NOT_FOUND', `content ${id} has no blob`);
      const blobs = this.p.blobs;
      return {
        size: info.size,
        hash: meta.hash_sha256!,
        mimeType: meta.mime_type,
        filename: meta.original_filename,
        read: (start, end) => blobs.read(info, start, end, snapshot),
        close: () => snapshot.close(),
      };
    } catch (e) {
      snapshot.close();
      throw e;
    }
  }

  // ---------------------------------------------------------------- changes

  async delete(id: string, caller: Caller): Promise<Schemas['ContentDeleteResponse']> {
    assertWrite(caller.access, CONTENT_TABLE);
    assertWrite(caller.access, CHUNK_TABLE);
    return this.locked(id, async () => {
      const meta = this.readMeta(id);
      const keys = await this.chunkKeys(id);
      await this.write(caller, id, undefined, (txn) => {
        this.p.transactions.delete(txn, contentKey(id));
        for (const k of keys) this.p.transactions.delete(txn, k);
      });
      return {
        status: 'ok',
        content_id: id,
        chunks_deleted: keys.length,
        blob_deleted: meta.hash_sha256 !== null && this.p.blobs.get(meta.hash_sha256) === undefined,
      };
    });
  }

  /**
   * PUT /content/{id}/blob: the bytes as they arrive, in pieces, then one
   * commit that makes them the content's blob (creating the content, with
   * no chunks, if it does not exist; otherwise keeping its metadata and
   * chunks). Bytes stored already (same sha256) are kept once: the upload's
   * pieces are dropped by that commit. An upload that fails or is cut short
   * leaves nothing (its pieces are removed, at the latest at the next start).
   */
  async uploadBlob(
    id: string,
    o: { mimeType?: string; filename?: string; declaredBytes?: number },
    body: AsyncIterable<Buffer>,
    caller: Caller,
  ): Promise<Schemas['ContentBlobUploadResponse']> {
    assertWrite(caller.access, CONTENT_TABLE);
    if (!ID.test(id))
      throw bad('id', `"${id.slice(0, 80)}" is not a content id (1-256 of A-Z a-z 0-9 . _ ~ @ + = -, starting with a letter or digit)`);
    if (o.declaredBytes !== undefined && o.declaredBytes > this.maxBlobBytes) throw tooLarge(this.maxBlobBytes);
    const staged = await this.p.blobs.stage();
    let hash: string;
    let size: number;
    try {
      for await (const chunk of body) {
        if (staged.bytes + chunk.length > this.maxBlobBytes) throw tooLarge(this.maxBlobBytes);
        await staged.write(chunk);
      }
      ({ hash, size } = await staged.finish());
    } catch (e) {
      await staged.discard();
      throw e;
    }
    const stored = this.p.blobs.get(hash) !== undefined;
    try {
      return await this.locked(id, async () => {
        const prevText = this.p.documents.read(contentKey(id));
        const prev = prevText === undefined ? undefined : (JSON.parse(prevText) as ContentMeta);
        const meta: ContentMeta = prev
          ? { ...prev, mime_type: o.mimeType ?? prev.mime_type, size_bytes: size, hash_sha256: hash }
          : {
              id,
              mime_type: o.mimeType ?? 'application/octet-stream',
              size_bytes: size,
              created_at: Date.now(),
              hash_sha256: hash,
              chunk_count: 0,
            };
        if (o.filename !== undefined) meta.original_filename = o.filename;
        await this.write(caller, id, [hash, { kind: 'staged', blobId: staged.blobId, size }], (txn) => {
          this.p.transactions.put(txn, contentKey(id), { text: JSON.stringify(meta), doc: meta });
        });
        return { status: 'ok', content_id: id, hash_sha256: hash, size_bytes: size, created: prev === undefined, deduplicated: stored };
      });
    } catch (e) {
      // The commit did not happen (refused, or its batch failed): nothing refers to the staged pieces.
      await staged.discard().catch(() => undefined);
      throw e;
    }
  }

  /** Set one chunk's embedding (found by chunk id). */
  async putEmbedding(id: string, chunkId: string, embedding: number[], caller: Caller): Promise<ContentChunk> {
    assertWrite(caller.access, CHUNK_TABLE);
    if (!embedding.every(Number.isFinite)) throw bad('embedding', 'embedding holds a number that is not finite');
    await this.ensureIndexes(true);
    const ix = this.vectorIndex();
    if (ix !== undefined && ix.def.dimension !== null && ix.def.dimension !== embedding.length)
      throw bad('embedding', `embedding has ${embedding.length} dimensions; the vector index ${ix.def.name} has ${ix.def.dimension}`);
    return this.locked(id, async () => {
      this.readMeta(id);
      let found: ContentChunk | undefined;
      for await (const rows of this.chunkRows(id)) {
        for (const [, text] of rows) {
          const c = JSON.parse(text) as ContentChunk;
          if (c.id === chunkId) found = c;
        }
        if (found) break;
      }
      if (found === undefined) throw new ThemisError('NOT_FOUND', `content ${id} has no chunk ${chunkId.slice(0, 256)}`);
      const next = { ...found, embedding };
      await this.write(caller, id, undefined, (txn) => {
        this.p.transactions.put(txn, chunkKey(id, found!.seq_num), { text: JSON.stringify(next), doc: next });
      });
      return next;
    });
  }

  retrieve(o: ContentRetrieveRequest, access: TableAccess): ContentRetrieveResponse {
    assertRead(access, CONTENT_TABLE);
    assertRead(access, CHUNK_TABLE);
    return retrieve(o, {
      documents: this.p.documents,
      meta: (id) => this.cachedMeta(id),
      fulltext: () => (this.fulltextMissing() ? undefined : this.p.indexes.fulltext(CHUNK_TABLE, CHUNK_TEXT)),
      vectorIndex: () => this.vectorIndex(),
    });
  }

  private cachedMeta(id: string): ContentMeta | null {
    let m = this.metas.get(id);
    if (m === undefined) {
      const text = this.p.documents.read(contentKey(id));
      m = text === undefined ? null : (JSON.parse(text) as ContentMeta);
      if (this.metas.size >= META_CACHE_MAX) this.metas.clear();
      this.metas.set(id, m);
    }
    return m;
  }

  // ---------------------------------------------------------------- commits

  /** Run `fill` in a transaction of this service and commit it, with the blob bytes it stores (if any). */
  private async write(caller: Caller, id: string, blob: [string, BlobSource] | undefined, fill: (txn: Transaction) => void): Promise<void> {
    const txm = this.p.transactions;
    const txn = txm.begin('read_committed', true);
    // The audit entry of the commit names the content, not the first of its documents.
    if (caller.origin) caller.origin.subject = { entityType: 'content', entityId: id };
    txn.origin = caller.origin;
    this.owned.add(txn.id);
    if (blob) this.pending.set(txn.id, new Map([blob]));
    try {
      fill(txn);
      await txm.commit(txn);
    } finally {
      this.owned.delete(txn.id);
      this.pending.delete(txn.id);
      if (txn.state === 'active') txm.rollback(txn);
    }
  }

  /**
   * The commit participant: refuses writes to the content tables from any
   * other transaction (they keep their invariants: chunks belong to a
   * content, blobs are referenced), and keeps the blobs' references in step
   * with the content documents in the commit's batch.
   */
  readonly participant: CommitParticipant<{ blobs: BlobPlan; undo?: () => void }> = {
    name: 'content',
    prepare: (info: CommitInfo) => {
      let touches = false;
      for (const c of info.changes) {
        if (c.table !== CONTENT_TABLE && c.table !== CHUNK_TABLE) continue;
        touches = true;
        if (!this.owned.has(info.txnId))
          throw new ThemisError('FORBIDDEN', `table ${c.table} is written through the /content endpoints only (${c.key})`, {
            details: { table: c.table },
          });
      }
      if (!touches) return undefined;
      const deltas = new Map<string, number>();
      const add = (hash: unknown, d: number) => {
        if (typeof hash === 'string') deltas.set(hash, (deltas.get(hash) ?? 0) + d);
      };
      for (const c of info.changes) {
        if (c.table !== CONTENT_TABLE) continue;
        if (c.op === 'put') add((c.doc as ContentMeta).hash_sha256, 1);
        if (c.prev !== null) add((c.prevDoc as ContentMeta).hash_sha256, -1);
      }
      const sources = this.pending.get(info.txnId) ?? new Map<string, BlobSource>();
      const missing = this.p.blobs.missing(deltas, sources);
      if (missing !== undefined) throw new ThemisError('INTERNAL', `blob ${missing} is neither stored nor part of the commit`);
      return { blobs: { deltas, sources } };
    },
    write: (_info, plan, batch) => {
      if (plan) plan.undo = this.p.blobs.apply(plan.blobs, batch);
    },
    applied: (info, plan) => {
      if (plan) for (const c of info.changes) if (c.table === CONTENT_TABLE) this.metas.delete(c.pk);
    },
    aborted: (_info, plan) => plan?.undo?.(),
  };

  // ---------------------------------------------------------------- helpers

  private async *chunkRows(id: string): AsyncGenerator<(readonly [string, string])[]> {
    const prefix = `${CHUNK_TABLE}:${id}:`;
    for await (const rows of this.p.documents.scan({ table: CHUNK_TABLE, after: { key: prefix, table: CHUNK_TABLE, pk: `${id}:` } })) {
      const end = rows.findIndex(([k]) => !k.startsWith(prefix));
      if (end >= 0) {
        yield rows.slice(0, end);
        return;
      }
      yield rows;
    }
  }

  private async chunkKeys(id: string): Promise<EntityKey[]> {
    const out: EntityKey[] = [];
    for await (const rows of this.chunkRows(id))
      for (const [key] of rows) out.push({ key, table: CHUNK_TABLE, pk: key.slice(CHUNK_TABLE.length + 1) });
    return out;
  }

  private locked<T>(id: string, f: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(f, f);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }

  /** Figures for /metrics and the stats. */
  stats(): { blobs: number; blob_bytes: number; piece_bytes: number } {
    return { blobs: this.p.blobs.count, blob_bytes: this.p.blobs.bytes, piece_bytes: PIECE_BYTES };
  }
}

function ignoreExists(e: unknown): void {
  if (e instanceof ThemisError && e.code === 'INDEX_EXISTS') return;
  throw e;
}

function embeddingDimension(chunks: readonly Record<string, unknown>[]): number | undefined {
  for (const c of chunks) if (Array.isArray(c.embedding)) return c.embedding.length;
  return undefined;
}

/** Standard base64 (padding optional, whitespace ignored); 400 naming `blob` otherwise. */
function decodeBase64(s: string): Buffer {
  const t = s.replace(/[\s]/g, '');
  if (!BASE64.test(t) || t.length % 4 === 1 || (t.endsWith('=') && t.length % 4 !== 0))
    throw bad('blob', 'blob is not valid base64 (standard alphabet A-Z a-z 0-9 + /, optional = padding)');
  return Buffer.from(t, 'base64');
}
