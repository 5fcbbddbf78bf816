import { DEFAULTS } from '../config.js';
import type { Module } from '../kernel/index.js';
import { AuditLog } from './audit-log.js';

/**
 * The audit log (docs/audit.md): a commit participant (the entry of a write
 * is in the write's batch) and the store the request middleware
 * (src/server/audit.ts) records every other request in.
 */
export const Audit: Module<AuditLog> = {
  name: 'audit',
  async open(ctx) {
    const log = new AuditLog(ctx.engine, ctx.log, {
      level: ctx.config.audit ?? DEFAULTS.audit,
      flushMs: ctx.config.auditFlushMs ?? DEFAULTS.auditFlushMs,
    });
    await log.open();
    return log;
  },
  commit: (a) => a.participant,
  close: (a) => a.close(),
  gauges: [
    { name: 'themis_audit_entries_written_total', help: 'Audit entries written since start', type: 'counter', read: (a) => a.written },
    { name: 'themis_audit_entries_pending', help: 'Audit entries waiting in memory to be written', read: (a) => a.stats().pending },
  ],
};
