export { Cache } from './module.js';
export {
  type CacheFilter,
  type CacheHit,
  type CacheOptions,
  type CachePut,
  type CacheQuery,
  type CacheQueryResult,
  CacheService,
  MAX_TOP_K,
  SIMILARITY_BUCKETS,
} from './service.js';
