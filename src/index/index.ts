export { IndexManager, type IndexListing } from './index-manager.js';
export type { IndexCheckpoints } from './checkpoint-scheduler.js';
export type { ReplayEntry } from './replay.js';
export type { LatestValue, CommitClock } from './backfill.js';
export { parseIndexSpec, indexName, INDEX_TYPES, type IndexDef, type IndexSpec, type IndexType } from './index-def.js';
export { indexTuples, valueAt, MAX_ENTRIES_PER_DOCUMENT } from './extract.js';
export * from './fulltext/index.js';
export * from './vector/index.js';
export { Indexes, checkpointsOf, commitClockOf, latestOf } from './module.js';
