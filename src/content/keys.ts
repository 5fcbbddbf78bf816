import type { components } from '../api/types.js';
import type { EntityKey } from '../documents/index.js';

export type ContentMeta = components['schemas']['ContentMeta'];
export type ContentChunk = components['schemas']['ContentChunk'];

/** The tables the content module keeps: one document per content (its metadata), one per chunk. Written only through /content. */
export const CONTENT_TABLE = '_content';
export const CHUNK_TABLE = '_chunks';
/** The chunk field indexed for BM25, and the one holding embeddings. */
export const CHUNK_TEXT = 'text';
export const CHUNK_EMBEDDING = 'embedding';
/** The vector index made on first use when none covers `_chunks.embedding`. */
export const CHUNK_VECTOR_INDEX = 'content_chunks';

/** A chunk's key: `_chunks:<content id>:<seq_num, 10 digits>`, so a content's chunks are one key range in seq_num order. */
export function chunkKey(contentId: string, seq: number): EntityKey {
  const pk = `${contentId}:${seq.toString().padStart(10, '0')}`;
  return { key: `${CHUNK_TABLE}:${pk}`, table: CHUNK_TABLE, pk };
}

/** The content id and seq_num of a chunk key `_chunks:<id>:<seq>`. */
export function parseChunkKey(key: string): { contentId: string; seq: number } {
  const at = key.lastIndexOf(':');
  return { contentId: key.slice(CHUNK_TABLE.length + 1, at), seq: Number(key.slice(at + 1)) };
}

export function contentKey(id: string): EntityKey {
  return { key: `${CONTENT_TABLE}:${id}`, table: CONTENT_TABLE, pk: id };
}
