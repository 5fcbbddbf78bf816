import { ALL_TABLES, assertRead, type TableAccess } from '../access.js';
import type { components } from '../api/types.js';
import { parseEntityKey } from '../documents/index.js';
import type { EntityStore } from '../entities/entity-store.js';
import { ThemisError } from '../errors.js';
import { DEFAULT_HIGHLIGHT, type HighlightOptions } from '../index/fulltext/index.js';
import { MAX_CANDIDATES, fuse, parseFusion, type Fusion, type HybridHit } from '../index/hybrid.js';
import type { IndexManager } from '../index/index-manager.js';
import type { VectorService } from '../index/vector/service.js';

/** The bodies as openapi.yaml defines them (validated by the schema before they get here). */
export type FulltextSearchRequest = components['schemas']['FulltextSearchRequest'];
export type HybridSearchRequest = components['schemas']['HybridSearchRequest'];

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

/** POST /search/fulltext and POST /search/hybrid over the fulltext and vector indexes, in the latest committed state. */
export class SearchService {
  constructor(
    private readonly indexes: IndexManager,
    private readonly vectors: VectorService,
    private readonly entities: EntityStore,
  ) {}

  /** BM25 top-k over a fulltext index (see docs/fulltext.md). Snippets are cut from the documents as stored now. */
  fulltext(o: FulltextSearchRequest, access: TableAccess = ALL_TABLES): FulltextSearchResponse {
    assertRead(access, o.table);
    const limit = o.limit ?? 10;
    const offset = o.offset ?? 0;
    const hl: HighlightOptions = { ...DEFAULT_HIGHLIGHT, ...o.highlight };
    const started = process.hrtime.bigint();
    const ft = this.indexes.fulltext(o.table, o.column);
    const r = ft.search(o.query, { limit, offset });
    const hits = r.hits.map((h) => {
      if (o.snippets === false) return { key: h.key, score: h.score };
      const text = this.entities.read(parseEntityKey(h.key));
      return { key: h.key, score: h.score, snippet: text === undefined ? '' : ft.snippet(JSON.parse(text), r.query, hl) };
    });
    return {
      table: o.table,
      column: o.column,
      query: o.query,
      count: hits.length,
      total: r.total,
      offset,
      limit,
      hits,
      took_ms: Number(process.hrtime.bigint() - started) / 1e6,
    };
  }

  /**
   * A BM25 list from the fulltext index on table.column and a k-NN list from
   * the vector index on the table, fused by reciprocal rank (default) or
   * weighted normalised scores (see docs/vector.md).
   */
  hybrid(o: HybridSearchRequest, access: TableAccess = ALL_TABLES): HybridSearchResponse {
    assertRead(access, o.table);
    const { text, vector: vec } = o;
    const fusion = parseFusion(o);
    const c = o.candidates ?? Math.max(100, fusion.k);
    // The schema bounds candidates; that it is at least k it cannot say.
    if (c < fusion.k)
      throw new ThemisError('VALIDATION_FAILED', `field "candidates" must be an integer from k to ${MAX_CANDIDATES}`, {
        details: { field: 'candidates' },
      });
    const started = process.hrtime.bigint();
    const ft = this.indexes.fulltext(o.table, text.column);
    const ix = this.vectors.resolve({ index: vec.index, table: o.table, vector_field: vec.field });
    assertRead(access, ix.def.table);
    const vectorHits = ix.search(vec.vector, c);
    const textHits = ft.search(text.query, { limit: c, offset: 0 }).hits;
    const prefix = o.table.length + 1;
    const results = fuse(textHits, vectorHits, fusion).map((h) => ({
      key: h.key,
      pk: h.key.slice(prefix),
      score: h.score,
      text: h.text,
      vector: h.vector,
    }));
    return {
      table: o.table,
      fusion: fusion.fusion,
      k: fusion.k,
      candidates: c,
      index: ix.def.name,
      count: results.length,
      results,
      took_ms: Number(process.hrtime.bigint() - started) / 1e6,
    };
  }
}
