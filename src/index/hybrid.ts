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

function bad(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

/** Fusion settings of POST /search/hybrid, validated, defaults filled in. */
export function parseFusion(o: { fusion?: unknown; k?: unknown; weights?: unknown; rrf_k?: unknown }): FusionOptions {
  const fusion = o.fusion ?? 'rrf';
  if (fusion !== 'rrf' && fusion !== 'weighted') throw bad('fusion', 'field "fusion" must be "rrf" or "weighted"');
  const k = o.k ?? 10;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_HYBRID_K) throw bad('k', `field "k" must be an integer from 1 to ${MAX_HYBRID_K}`);
  const rrfK = o.rrf_k ?? DEFAULT_RRF_K;
  if (typeof rrfK !== 'number' || !Number.isFinite(rrfK) || rrfK < 0 || rrfK > 10_000) throw bad('rrf_k', 'field "rrf_k" must be a number from 0 to 10000');
  const weights = { text: fusion === 'rrf' ? 1 : 0.5, vector: fusion === 'rrf' ? 1 : 0.5 };
  if (o.weights !== undefined) {
    const w = o.weights as Record<string, unknown>;
    if (w === null || typeof w !== 'object' || Array.isArray(w)) throw bad('weights', 'field "weights" must be an object {text, vector}');
    for (const f of ['text', 'vector'] as const) {
      if (w[f] === undefined) continue;
      const x = w[f];
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1000) throw bad(`weights.${f}`, `field "weights.${f}" must be a number from 0 to 1000`);
      weights[f] = x;
    }
    if (weights.text === 0 && weights.vector === 0) throw bad('weights', 'at least one weight must be positive');
  }
  return { fusion, k, weights, rrfK };
}

/**
 * Fuse a BM25 list (best first) and a vector list (nearest first) into the
 * top k. `rrf`: Σ weight / (rrf_k + rank) over the lists a document is in.
 * `weighted`: each list's scores min-max normalised to [0, 1] (BM25 score
 * up, distance down; a list whose values are all equal gives 1), then
 * weight_text · text + weight_vector · vector (0 where absent). Ties are
 * ordered by key. Pure.
 */
export function fuse(text: readonly { key: string; score: number }[], vector: readonly { key: string; distance: number }[], o: FusionOptions): HybridHit[] {
  const hits = new Map<string, HybridHit>();
  const hit = (key: string): HybridHit => {
    let h = hits.get(key);
    if (!h) hits.set(key, (h = { key, score: 0, text: null, vector: null }));
    return h;
  };
  text.forEach((t, i) => (hit(t.key).text = { rank: i + 1, score: t.score }));
  vector.forEach((v, i) => (hit(v.key).vector = { rank: i + 1, distance: v.distance }));
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
