import { parseEntityKey } from '../documents/index.js';
import type { EntityStore } from '../entities/entity-store.js';
import { ThemisError } from '../errors.js';
import { DEFAULT_HIGHLIGHT, type HighlightOptions } from '../index/fulltext/index.js';
import { MAX_CANDIDATES, fuse, parseFusion, type Fusion, type HybridHit } from '../index/hybrid.js';
import type { IndexManager } from '../index/index-manager.js';
import type { VectorService } from '../index/vector/service.js';

export const MAX_SEARCH_LIMIT = 10_000;
export const MAX_SEARCH_OFFSET = 100_000;

export interface FulltextSearchRequest {
  table?: unknown;
  column?: unknown;
  query?: unknown;
  limit?: unknown;
  offset?: unknown;
  snippets?: unknown;
  highlight?: unknown;
}

export interface FulltextSearchResponse {
  table: string;
  column: string;
  query: string;
  /** Hits returned (this page). */
  count: number;
  /** Documents matching the query. */
  total: number;
  offset: number;
  limit: number;
  hits: { key: string; score: number; snippet?: string }[];
  took_ms: number;
}

export interface HybridSearchRequest {
  table?: unknown;
  text?: unknown;
  vector?: unknown;
  k?: unknown;
  fusion?: unknown;
  weights?: unknown;
  rrf_k?: unknown;
  candidates?: unknown;
}

export interface HybridSearchResponse {
  table: string;
  fusion: Fusion;
  k: number;
  candidates: number;
  /** The vector index used. */
  index: string;
  count: number;
  results: { key: string; pk: string; score: number; text: HybridHit['text']; vector: HybridHit['vector'] }[];
  took_ms: number;
}

function bad(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

function highlightOptions(raw: unknown): HighlightOptions {
  if (raw === undefined) return DEFAULT_HIGHLIGHT;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('highlight', 'field "highlight" must be an object');
  const h = raw as Record<string, unknown>;
  const out = { ...DEFAULT_HIGHLIGHT };
  for (const f of ['pre_tag', 'post_tag'] as const) {
    if (h[f] === undefined) continue;
    if (typeof h[f] !== 'string' || h[f].length > 64) throw bad(`highlight.${f}`, `field "highlight.${f}" must be a string of at most 64 characters`);
    out[f] = h[f];
  }
  if (h.fragment_size !== undefined) {
    if (typeof h.fragment_size !== 'number' || !Number.isInteger(h.fragment_size) || h.fragment_size < 20 || h.fragment_size > 10_000) throw bad('highlight.fragment_size', 'field "highlight.fragment_size" must be an integer from 20 to 10000');
    out.fragment_size = h.fragment_size;
  }
  if (h.encoder !== undefined) {
    if (h.encoder !== 'none' && h.encoder !== 'html') throw bad('highlight.encoder', 'field "highlight.encoder" must be "none" or "html"');
    out.encoder = h.encoder;
  }
  return out;
}

/** POST /search/fulltext and POST /search/hybrid over the fulltext and vector indexes, in the latest committed state. */
export class SearchService {
  constructor(
    private readonly indexes: IndexManager,
    private readonly vectors: VectorService,
    private readonly entities: EntityStore,
  ) {}

  /** BM25 top-k over a fulltext index (see docs/fulltext.md). Snippets are cut from the documents as stored now. */
  fulltext(o: FulltextSearchRequest): FulltextSearchResponse {
    if (typeof o.table !== 'string') throw bad('table', 'missing required field "table"');
    if (typeof o.column !== 'string') throw bad('column', 'missing required field "column"');
    if (typeof o.query !== 'string') throw bad('query', 'field "query" must be a string');
    const int = (v: unknown, field: string, dflt: number, lo: number, hi: number): number => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(field, `field "${field}" must be an integer from ${lo} to ${hi}`);
      return v;
    };
    const limit = int(o.limit, 'limit', 10, 1, MAX_SEARCH_LIMIT);
    const offset = int(o.offset, 'offset', 0, 0, MAX_SEARCH_OFFSET);
    if (o.snippets !== undefined && typeof o.snippets !== 'boolean') throw bad('snippets', 'field "snippets" must be a boolean');
    const hl = highlightOptions(o.highlight);
    const started = process.hrtime.bigint();
    const ft = this.indexes.fulltext(o.table, o.column);
    const r = ft.search(o.query, { limit, offset });
    const hits = r.hits.map((h) => {
      if (o.snippets === false) return { key: h.key, score: h.score };
      const text = this.entities.read(parseEntityKey(h.key));
      return { key: h.key, score: h.score, snippet: text === undefined ? '' : ft.snippet(JSON.parse(text), r.query, hl) };
    });
    return { table: o.table, column: o.column, query: o.query, count: hits.length, total: r.total, offset, limit, hits, took_ms: Number(process.hrtime.bigint() - started) / 1e6 };
  }

  /**
   * A BM25 list from the fulltext index on table.column and a k-NN list from
   * the vector index on the table, fused by reciprocal rank (default) or
   * weighted normalised scores (see docs/vector.md).
   */
  hybrid(o: HybridSearchRequest): HybridSearchResponse {
    if (typeof o.table !== 'string') throw bad('table', 'missing required field "table"');
    const text = o.text as Record<string, unknown> | undefined;
    const vec = o.vector as Record<string, unknown> | undefined;
    if (text === null || typeof text !== 'object' || typeof text.column !== 'string' || typeof text.query !== 'string') throw bad('text', 'field "text" must be an object {column, query}');
    if (vec === null || typeof vec !== 'object' || vec.vector === undefined) throw bad('vector', 'field "vector" must be an object {vector, field?, index?}');
    const fusion = parseFusion(o);
    const c = o.candidates ?? Math.max(100, fusion.k);
    if (typeof c !== 'number' || !Number.isInteger(c) || c < fusion.k || c > MAX_CANDIDATES) throw bad('candidates', `field "candidates" must be an integer from k to ${MAX_CANDIDATES}`);
    const started = process.hrtime.bigint();
    const ft = this.indexes.fulltext(o.table, text.column);
    const ix = this.vectors.resolve({ index: vec.index, table: o.table, vector_field: vec.field });
    const vectorHits = ix.search(vec.vector, c);
    const textHits = ft.search(text.query, { limit: c, offset: 0 }).hits;
    const prefix = o.table.length + 1;
    const results = fuse(textHits, vectorHits, fusion).map((h) => ({ key: h.key, pk: h.key.slice(prefix), score: h.score, text: h.text, vector: h.vector }));
    return { table: o.table, fusion: fusion.fusion, k: fusion.k, candidates: c, index: ix.def.name, count: results.length, results, took_ms: Number(process.hrtime.bigint() - started) / 1e6 };
  }
}
