import { Entities } from '../entities/module.js';
import type { Module } from '../kernel/index.js';
import { RetentionService } from './service.js';
import { changefeedTarget } from './target.js';

/** Default most deletes per commit of a cleanup (THEMIS_RETENTION_BATCH). */
export const DEFAULT_RETENTION_BATCH = 500;

/**
 * Retention policies and the cleanup job (docs/retention.md). Modules owning
 * a built-in collection list this one in `after` and call
 * `ctx.get(Retention).registerTarget(…)` in their `open`.
 */
export const Retention: Module<RetentionService> = {
  name: 'retention',
  after: [Entities],
  async open(ctx) {
    const s = await RetentionService.open(ctx.engine, ctx.documents, ctx.get(Entities), ctx.log, {
      intervalMs: ctx.config.retentionIntervalMs,
      batchSize: ctx.config.retentionBatchSize ?? DEFAULT_RETENTION_BATCH,
    });
    s.registerTarget(changefeedTarget(ctx.changeLog, ctx.config.cdcRetention));
    s.start();
    return s;
  },
  close: (s) => s.close(),
  gauges: [
    {
      name: 'themis_retention_policies',
      help: 'Retention policies in force (set, built-in defaults, configured)',
      read: (s) => s.policyCount,
    },
  ],
};
