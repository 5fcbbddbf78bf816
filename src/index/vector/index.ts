export {
  HnswIndex,
  checkVector,
  DEFAULT_HNSW,
  MAX_DIMENSION,
  MAX_K,
  VECTOR_METRICS,
  type VectorMetric,
  type VectorHit,
  type HnswOptions,
} from './hnsw-index.js';
export {
  DEFAULT_VECTOR_INDEX,
  describeVectorIndex,
  parseFieldPath,
  parseIndexName,
  parseMetric,
  parseVectorIndexSpec,
  type VectorIndexDef,
  type VectorIndexSpec,
} from './vector-def.js';
export { VectorIndex, type VectorIndexStats } from './vector-index.js';
export { VectorManager, type VectorIndexListing } from './vector-manager.js';
export {
  VectorService,
  parseVectorFilter,
  MAX_BATCH_ITEMS,
  type BatchInsertResponse,
  type VectorSearchResponse,
  type VectorFilter,
} from './service.js';
export { Vectors } from './module.js';
