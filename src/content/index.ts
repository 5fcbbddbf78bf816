export { BlobStore, PIECE_BYTES, StagedUpload } from './blobs.js';
export {
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
export { Content } from './module.js';
export { type ContentImportRequest, type ContentRetrieveRequest, ContentService, type OpenBlob } from './service.js';
