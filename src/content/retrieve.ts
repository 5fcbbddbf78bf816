import type { components } from '../api/types.js';
import type { DocumentStore } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import { fuse, parseFusion } from '../index/hybrid.js';
import type { FulltextIndex, VectorIndex } from '../index/index.js';
import { type ContentChunk, type ContentMeta, chunkKey, parseChunkKey } from './keys.js';

type Schemas = components['schemas'];
type Request = Schemas['ContentRetrieveRequest'];
type Response = Schemas['ContentRetrieveResponse'];
type Result = Response['results'][number];
type Scalar = string | number | boolean | null;

interface Sources {
  documents: DocumentStore;
  /** A content's metadata (null: no such content), as the latest commits left it. */
  meta: (id: string) => ContentMeta | null;
  /** The BM25 index on `_chunks.text`; undefined before the first import. */
  fulltext: () => FulltextIndex | undefined;
  /** The vector index on `_chunks.embedding`; undefined before the first embedding. */
  vectorIndex: () => VectorIndex | undefined;
}

const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });

/**
 * POST /content/retrieve (docs/content.md, "Retrieval"): the top-k chunks
 * by BM25 (`query`), by vector distance (`embedding`), or both fused by
 * reciprocal rank (or weighted scores), restricted to contents matching
 * `filter`, each with its content's metadata and optionally its
 * neighbouring chunks. Filters apply while the lists are drawn: the vector
 * search skips chunks whose content does not match (k found whenever k
 * exist); the BM25 list is filtered within its `candidates` best.
 */
export function retrieve(o: Request, src: Sources): Response {
  const started = process.hrtime.bigint();
  if (o.query === undefined && o.embedding === undefined)
    throw bad('query', 'give "query" (BM25 over the chunk text), "embedding" (vector search), or both');
  const k = o.k ?? 10;
  const fusion = parseFusion({ fusion: o.fusion, k, weights: o.weights, rrf_k: o.rrf_k });
  const filtered = o.filter !== undefined && Object.keys(o.filter).length > 0;
  if (o.candidates !== undefined && o.candidates < k) throw bad('candidates', `field "candidates" must be at least k (${k})`);
  // The BM25 list is filtered after it is drawn (more candidates with a filter); the vector search filters as it goes.
  const textCandidates = o.candidates ?? Math.max(filtered ? 1000 : 100, k);
  const vectorCandidates = o.candidates ?? Math.max(100, k);

  const metaOf = src.meta;
  const match = contentFilter(o.filter);
  const accept = (key: string): boolean => {
    const m = metaOf(parseChunkKey(key).contentId);
    return m !== null && match(m);
  };

  let textHits: { key: string; score: number }[] = [];
  if (o.query !== undefined) {
    const ft = src.fulltext();
    if (ft !== undefined) {
      const hits = ft.search(o.query, { limit: textCandidates, offset: 0 }).hits;
      textHits = filtered ? hits.filter((h) => accept(h.key)) : hits;
    }
  }
  let vectorHits: { key: string; distance: number }[] = [];
  let cosine = true;
  if (o.embedding !== undefined) {
    const ix = src.vectorIndex();
    if (!o.embedding.every(Number.isFinite)) throw bad('embedding', 'embedding holds a number that is not finite');
    if (ix !== undefined) {
      cosine = ix.def.metric === 'COSINE';
      if (ix.def.dimension !== null && ix.def.dimension !== o.embedding.length)
        throw bad(
          'embedding',
          `embedding has ${o.embedding.length} dimensions; the chunks' vector index ${ix.def.name} has ${ix.def.dimension}`,
        );
      vectorHits = ix.search(o.embedding, o.query === undefined ? k : vectorCandidates, filtered ? accept : undefined);
    }
  }

  const mode: Response['mode'] = o.query !== undefined && o.embedding !== undefined ? 'hybrid' : o.query !== undefined ? 'text' : 'vector';
  let ranked: { key: string; score: number; text: Result['text']; vector: Result['vector'] }[];
  if (mode === 'hybrid') ranked = fuse(textHits, vectorHits, fusion);
  else if (mode === 'text')
    ranked = textHits.slice(0, k).map((h, i) => ({ key: h.key, score: h.score, text: { rank: i + 1, score: h.score }, vector: null }));
  else
    ranked = vectorHits.slice(0, k).map((h, i) => ({
      key: h.key,
      score: cosine ? 1 - h.distance : -h.distance,
      text: null,
      vector: { rank: i + 1, distance: h.distance },
    }));

  const window = o.window ?? 0;
  const shown = (c: ContentChunk): ContentChunk => {
    if (o.include_embedding === true || c.embedding === undefined) return c;
    const { embedding: _e, ...rest } = c;
    return rest;
  };
  const chunkAt = (contentId: string, seq: number): ContentChunk | undefined => {
    if (seq < 0) return undefined;
    const text = src.documents.read(chunkKey(contentId, seq));
    return text === undefined ? undefined : shown(JSON.parse(text) as ContentChunk);
  };
  const results: Result[] = [];
  for (const h of ranked) {
    const { contentId, seq } = parseChunkKey(h.key);
    const text = src.documents.read(chunkKey(contentId, seq));
    const content = metaOf(contentId);
    // Deleted since the index answered (a concurrent delete): left out.
    if (text === undefined || content === null) continue;
    const r: Result = { chunk: shown(JSON.parse(text) as ContentChunk), content, score: h.score, text: h.text, vector: h.vector };
    if (window > 0) {
      const before: ContentChunk[] = [];
      const after: ContentChunk[] = [];
      for (let d = window; d >= 1; d--) {
        const c = chunkAt(contentId, seq - d);
        if (c) before.push(c);
      }
      for (let d = 1; d <= window; d++) {
        const c = chunkAt(contentId, seq + d);
        if (c) after.push(c);
      }
      r.context = { before, after };
    }
    results.push(r);
  }
  return {
    mode,
    ...(mode === 'hybrid' ? { fusion: fusion.fusion } : {}),
    k,
    count: results.length,
    results,
    took_ms: Number(process.hrtime.bigint() - started) / 1e6,
  };
}

/** A predicate over content metadata: `content_ids` (any of), and each other field equal to the value or one of the array's values. */
function contentFilter(filter: Request['filter']): (m: ContentMeta) => boolean {
  if (filter === undefined) return () => true;
  const ids = filter.content_ids === undefined ? undefined : new Set(filter.content_ids);
  const fields: [string, Scalar[]][] = [];
  for (const [name, v] of Object.entries(filter)) {
    if (name === 'content_ids') continue;
    fields.push([name, Array.isArray(v) ? (v as Scalar[]) : [v as Scalar]]);
  }
  return (m) => {
    if (ids !== undefined && !ids.has(m.id)) return false;
    const rec = m as Record<string, unknown>;
    return fields.every(([name, values]) => values.some((x) => rec[name] === x));
  };
}
