import { ThemisError } from '../../errors.js';
import type { components } from '../../api/types.js';
import { DEFAULT_HNSW, VECTOR_METRICS, type VectorMetric } from './hnsw-index.js';

/** A vector index as stored (keyspace `vector`) and listed. */
export interface VectorIndexDef {
  /** Never reused; names the checkpoint file. */
  id: number;
  name: string;
  table: string;
  /** Dotted path of the vector inside the entity. */
  field: string;
  /** Fixed by the first vector indexed (or at creation); null until then. */
  dimension: number | null;
  metric: VectorMetric;
  M: number;
  efConstruction: number;
  /** Beam width of searches (changeable at run time). */
  efSearch: number;
  /** `building` while the backfill runs; `dropping` until a drop has removed its entries. */
  state: 'building' | 'ready' | 'dropping';
  created_at: string;
}

export type VectorIndexSpec = Pick<
  VectorIndexDef,
  'name' | 'table' | 'field' | 'dimension' | 'metric' | 'M' | 'efConstruction' | 'efSearch'
>;

/** The index POST /vector/* uses when the request names none. */
export const DEFAULT_VECTOR_INDEX: VectorIndexSpec = {
  name: 'vector_index',
  table: 'vectors',
  field: 'embedding',
  dimension: null,
  ...DEFAULT_HNSW,
};

export const INDEX_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const PATH = /^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/;

function bad(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

export function parseMetric(v: unknown): VectorMetric {
  if (v === undefined) return DEFAULT_HNSW.metric;
  const m = typeof v === 'string' ? v.toUpperCase() : v;
  if (typeof m !== 'string' || !(VECTOR_METRICS as readonly string[]).includes(m))
    throw bad('metric', `field "metric" must be one of ${VECTOR_METRICS.join(', ')}`);
  return m as VectorMetric;
}

export function parseFieldPath(v: unknown, field = 'field'): string {
  if (typeof v !== 'string' || !PATH.test(v) || v.length > 256)
    throw bad(field, `field "${field}" must be a field path (names joined by ".", e.g. embedding or meta.vec)`);
  return v;
}

export function parseIndexName(v: unknown, field = 'name'): string {
  if (typeof v !== 'string' || !INDEX_NAME.test(v)) throw bad(field, `field "${field}" must be an index name (1-128 of A-Z a-z 0-9 _ -)`);
  return v;
}

/** POST /vector/index/create as openapi.yaml defines it (the schema checked names, paths and ranges). */
export type VectorIndexCreateRequest = components['schemas']['VectorIndexCreateRequest'];

/** A create request with defaults filled in and the metric in its canonical case. */
export function parseVectorIndexSpec(b: VectorIndexCreateRequest): VectorIndexSpec {
  return {
    name: b.name,
    table: b.table,
    field: b.field ?? DEFAULT_VECTOR_INDEX.field,
    dimension: b.dimension ?? null,
    metric: parseMetric(b.metric),
    M: b.M ?? DEFAULT_HNSW.M,
    efConstruction: b.efConstruction ?? DEFAULT_HNSW.efConstruction,
    efSearch: b.efSearch ?? DEFAULT_HNSW.efSearch,
  };
}

/**
 * What a checkpoint must match: everything that shapes the graph except the
 * dimension (a checkpoint taken before the first vector has none; the
 * checkpoint records it separately), not efSearch, not the state.
 */
export function graphIdentity(d: VectorIndexDef): string {
  return JSON.stringify({ id: d.id, table: d.table, field: d.field, metric: d.metric, M: d.M, efConstruction: d.efConstruction });
}

/** The definition as GET /vector/index/config shows it (contract fields first). */
export function describeVectorIndex(d: VectorIndexDef): Record<string, unknown> {
  return {
    objectName: d.name,
    dimension: d.dimension,
    metric: d.metric,
    efSearch: d.efSearch,
    M: d.M,
    efConstruction: d.efConstruction,
    hnswEnabled: true,
    table: d.table,
    field: d.field,
    state: d.state,
    created_at: d.created_at,
  };
}
