export { Retention, DEFAULT_RETENTION_BATCH } from './module.js';
export {
  RetentionService,
  timestampMs,
  type CleanupResult,
  type PolicyInput,
  type PolicyRecord,
  type PolicyView,
  type RetentionOptions,
  type RetentionReport,
  type RunRecord,
} from './service.js';
export { changefeedTarget, DAY_MS, type RetentionTarget } from './target.js';
