import { Entities } from '../entities/index.js';
import { Indexes, Vectors } from '../index/index.js';
import type { Module } from '../kernel/index.js';
import { BlobStore } from './blobs.js';
import { Extractor } from './extract/index.js';
import { ContentService } from './service.js';

/**
 * Content for RAG (docs/content.md): contents and their chunks are
 * documents of the tables `_content` and `_chunks`, written in one
 * transaction per import through the ordinary commit path (so indexes, the
 * change feed, the audit log and PII policies see them); blobs live in the
 * `content` keyspace, referenced by sha256 and kept in step with the
 * content documents by this module's commit participant. Nothing to
 * recover beyond loading the blob hash index: blobs and their references
 * are written in the batch of the commit that changes the documents, and
 * uploads a crash cut short are removed at start.
 */
export const Content: Module<ContentService> = {
  name: 'content',
  after: [Entities, Indexes, Vectors],
  async open(ctx) {
    const blobs = await BlobStore.open(ctx.engine, ctx.log);
    return new ContentService(
      {
        documents: ctx.documents,
        transactions: ctx.transactions,
        indexes: ctx.get(Indexes),
        vectors: ctx.get(Vectors),
        blobs,
        snapshot: () => ctx.engine.snapshot(),
        extractor: new Extractor({
          timeoutMs: ctx.config.contentExtractTimeoutMs,
          maxMemoryMb: ctx.config.contentExtractMaxMemoryMb,
          log: ctx.log,
        }),
      },
      ctx.config.maxBlobBytes,
    );
  },
  commit: (s) => s.participant,
  close: (s) => s.close(),
  gauges: [
    { name: 'themis_content_blobs', help: 'Distinct blobs stored (identical blobs count once)', read: (s) => s.stats().blobs },
    { name: 'themis_content_blob_bytes', help: 'Bytes of the distinct blobs stored', read: (s) => s.stats().blob_bytes },
  ],
};
