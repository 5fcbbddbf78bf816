export { Cache } from './module.js';
export {
  type CacheFilter,
  type CacheHit,
  type CacheOptions,
  type CachePut,
  type CacheQuery,
  type CacheQueryResult,
  CacheService,
  BRUTE_FORCE_MAX,
  MAX_TOP_K,
  OVERFETCH_MAX,
  SIMILARITY_BUCKETS,
} from './service.js';
