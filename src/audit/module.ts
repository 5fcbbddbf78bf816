import { DEFAULTS } from '../config.js';
import type { Module } from '../kernel/index.js';
import { Retention } from '../retention/index.js';
import { AuditLog } from './audit-log.js';

/** What closing the module undoes: the log's registration with retention. */
const unregister = new WeakMap<AuditLog, () => void>();

/**
 * The audit log (docs/audit.md): a commit participant (the entry of a write
 * is in the write's batch) and the store the request middleware
 * (src/server/audit.ts) records every other request in. Registered with
 * retention as `audit_logs` (default 365 days, auto-deletion on: the oldest
 * entries go, and the chain's anchor moves with them).
 */
export const Audit: Module<AuditLog> = {
  name: 'audit',
  after: [Retention],
  async open(ctx) {
    const log = new AuditLog(ctx.engine, ctx.log, {
      level: ctx.config.audit ?? DEFAULTS.audit,
      flushMs: ctx.config.auditFlushMs ?? DEFAULTS.auditFlushMs,
    });
    await log.open();
    unregister.set(
      log,
      ctx.get(Retention).registerTarget({
        name: 'audit_logs',
        defaultDays: 365,
        defaultAutoDeletion: true,
        count: async () => (await log.summary()).count,
        expiredCount: (cutoffMs) => log.countBefore(cutoffMs),
        oldestMs: async () => (await log.summary()).oldest_ms ?? undefined,
        deleteExpired: (cutoffMs, max) => log.deleteOlderThan(cutoffMs, max),
      }),
    );
    return log;
  },
  commit: (a) => a.participant,
  close: async (a) => {
    unregister.get(a)?.();
    await a.close();
  },
  gauges: [
    { name: 'themis_audit_entries_written_total', help: 'Audit entries written since start', type: 'counter', read: (a) => a.written },
    { name: 'themis_audit_entries_pending', help: 'Audit entries waiting in memory to be written', read: (a) => a.stats().pending },
  ],
};
