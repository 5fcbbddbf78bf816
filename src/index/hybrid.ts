import { ThemisError } from '../errors.js';

/** Reciprocal rank fusion's rank constant (Cormack et al. 2009). */
export const DEFAULT_RRF_K = 60;
export const MAX_HYBRID_K = 1000;
export const MAX_CANDIDATES = 10_000;

export type Fusion = 'rrf' | 'weighted';

export interface FusionOptions {
  fusion: Fusion;
  k: number;
  weights: { text: number; vector: number };
  rrfK: number;
}

export interface HybridHit {
  key: string;
  score: number;
  /** 1-based rank and BM25 score in the fulltext list (null: not among its candidates). */
  text: { rank: number; score: number } | null;
  /** 1-based rank and distance in the vector list (null: not among its candidates). */
  vector: { rank: number; distance: number } | null;
}

/**
 * Fusion settings of POST /search/hybrid with defaults filled in. The
 * request schema (openapi.yaml) has checked types and ranges; what it cannot
 * say is checked here: at least one weight must be positive.
 */
export function parseFusion(o: {
  fusion?: Fusion;
  k?: number;
  weights?: { text?: number; vector?: number };
  rrf_k?: number;
}): FusionOptions {
  const fusion = o.fusion ?? 'rrf';
  const even = fusion === 'rrf' ? 1 : 0.5;
  const weights = { text: o.weights?.text ?? even, vector: o.weights?.vector ?? even };
  if (weights.text === 0 && weights.vector === 0)
    throw new ThemisError('VALIDATION_FAILED', 'at least one weight must be positive', { details: { field: 'weights' } });
  return { fusion, k: o.k ?? 10, weights, rrfK: o.rrf_k ?? DEFAULT_RRF_K };
}

/**
 * Fuse a BM25 list (best first) and a vector list (nearest first) into the
 * top k. `rrf`: Σ weight / (rrf_k + rank) over the lists a document is in.
 * `weighted`: each list's scores min-max normalised to [0, 1] (BM25 score
 * up, distance down; a list whose values are all equal gives 1), then
 * weight_text · text + weight_vector · vector (0 where absent). Ties are
 * ordered by key. Pure.
 */
export function fuse(
  text: readonly { key: string; score: number }[],
  vector: readonly { key: string; distance: number }[],
  o: FusionOptions,
): HybridHit[] {
  const hits = new Map<string, HybridHit>();
  const hit = (key: string): HybridHit => {
    let h = hits.get(key);
    if (!h) hits.set(key, (h = { key, score: 0, text: null, vector: null }));
    return h;
  };
  text.forEach((t, i) => {
    hit(t.key).text = { rank: i + 1, score: t.score };
  });
  vector.forEach((v, i) => {
    hit(v.key).vector = { rank: i + 1, distance: v.distance };
  });
  const norm = (values: number[]) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    return (x: number) => (hi === lo ? 1 : (x - lo) / (hi - lo));
  };
  const textNorm = o.fusion === 'weighted' && text.length > 0 ? norm(text.map((t) => t.score)) : undefined;
  const vecNorm = o.fusion === 'weighted' && vector.length > 0 ? norm(vector.map((v) => -v.distance)) : undefined;
  for (const h of hits.values()) {
    if (o.fusion === 'rrf') {
      h.score = (h.text ? o.weights.text / (o.rrfK + h.text.rank) : 0) + (h.vector ? o.weights.vector / (o.rrfK + h.vector.rank) : 0);
    } else {
      h.score = (h.text ? o.weights.text * textNorm!(h.text.score) : 0) + (h.vector ? o.weights.vector * vecNorm!(-h.vector.distance) : 0);
    }
  }
  return [...hits.values()].sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, o.k);
}
