import path from 'node:path';
import { DEFAULTS } from '../config.js';
import type { Module } from '../kernel/index.js';
import { CacheService, SIMILARITY_BUCKETS } from './service.js';

/**
 * The semantic cache (docs/cache.md): entries are not documents (no change
 * feed, no transactions); they live in the `cache` keyspace, written with
 * their own batches. Recovery: `open` loads every entry and restores the
 * HNSW graphs (one per embedding dimension) from their checkpoints in
 * `<dataDir>/cache`, reconciled with the entries (LevelDB stays the truth),
 * or rebuilds them from the stored embeddings; entries that expired while
 * the server was down are deleted then.
 */
export const Cache: Module<CacheService> = {
  name: 'cache',
  open: (ctx) =>
    CacheService.open(ctx.engine, {
      threshold: ctx.config.cacheThreshold ?? DEFAULTS.cacheThreshold,
      defaultTtlSec: ctx.config.cacheDefaultTtlSec ?? DEFAULTS.cacheDefaultTtlSec,
      maxEntries: ctx.config.cacheMaxEntries ?? DEFAULTS.cacheMaxEntries,
      maxBytes: ctx.config.cacheMaxBytes ?? DEFAULTS.cacheMaxBytes,
      checkpointDir: path.join(ctx.config.dataDir, 'cache'),
      checkpointMs: ctx.config.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
      log: ctx.log,
    }),
  backup: (s, b) => s.backup(b),
  close: (s) => s.close(),
  gauges: [
    { name: 'themis_cache_entries', help: 'Entries in the semantic cache', read: (s) => s.stats().entries },
    {
      name: 'themis_cache_bytes',
      help: 'Bytes of the semantic cache entries (keys, values, prompts, metadata, embeddings)',
      read: (s) => s.stats().bytes,
    },
    { name: 'themis_cache_hits_total', help: 'Semantic cache lookups that hit', type: 'counter', read: (s) => s.counters.hits },
    { name: 'themis_cache_misses_total', help: 'Semantic cache lookups that missed', type: 'counter', read: (s) => s.counters.misses },
    {
      name: 'themis_cache_evictions_total',
      help: 'Semantic cache entries evicted (LRU, size limits)',
      type: 'counter',
      read: (s) => s.counters.evictions,
    },
    {
      name: 'themis_cache_expired_total',
      help: 'Semantic cache entries removed after their TTL',
      type: 'counter',
      read: (s) => s.counters.expired,
    },
    {
      name: 'themis_cache_searches_total',
      help: 'Semantic cache searches by how they were answered: graph (plain HNSW walk), direct (a filter left few entries, each compared), overfetch (filter applied to a wider unfiltered walk), filtered_walk (filter inside the walk)',
      label: 'path',
      type: 'counter',
      read: (s) => Object.entries(s.searches),
    },
    {
      name: 'themis_cache_similarity',
      help: 'Cosine similarity of the nearest entry on every semantic cache lookup, hits and misses alike (for tuning the threshold)',
      buckets: SIMILARITY_BUCKETS,
      read: (s) => s.similarity,
    },
  ],
};
