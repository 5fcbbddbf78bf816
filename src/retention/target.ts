import type { ChangeLog } from '../cdc/index.js';
import type { Retention } from '../config.js';

export const DAY_MS = 86_400_000;

/**
 * A built-in collection other modules register with the retention service
 * (`registerTarget`): the audit log (`audit_logs`), later LLM interactions,
 * the semantic cache, the PII vault. The service owns the policy (days,
 * auto-deletion, persisted), the job and the report; the target only counts
 * and deletes its own records. Records older than `cutoffMs` (epoch ms) are
 * expired.
 */
export interface RetentionTarget {
  readonly name: string;
  /** The policy in force while no PUT /api/retention/{name} set one (e.g. 365 for the audit log); none: no policy until one is set. */
  readonly defaultDays?: number;
  /** Auto-deletion of the default policy (default false). */
  readonly defaultAutoDeletion?: boolean;
  /**
   * A read-only target: its policy is set elsewhere (configuration) and it removes its records itself
   * (e.g. the change feed, THEMIS_CDC_RETENTION). PUT, DELETE and run on it are 400; it is listed and reported.
   */
  fixedPolicy?(): { retentionDays: number; autoDeletion: boolean } | undefined;
  /** Records held now. */
  count(): Promise<number> | number;
  /** Records older than `cutoffMs`. */
  expiredCount(cutoffMs: number): Promise<number> | number;
  /** Time (epoch ms) of the oldest record; undefined when there is none. */
  oldestMs(): Promise<number | undefined> | number | undefined;
  /**
   * Delete up to `max` records older than `cutoffMs` in one atomic write; resolves to how many it deleted
   * (fewer than `max`: none are left). The service calls it repeatedly, yielding to the event loop between calls.
   */
  deleteExpired?(cutoffMs: number, max: number): Promise<number>;
}

/**
 * The change feed as an informational target: its retention is THEMIS_CDC_RETENTION, applied by the
 * change log itself every few seconds (src/cdc/change-log.ts). Only an age (`7d`) is a policy in days;
 * with an entry count or `forever` it is counted among the collections but has no policy.
 */
export function changefeedTarget(log: ChangeLog, retention: Retention): RetentionTarget {
  const firstTs = async (): Promise<number | undefined> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await log.read({ fromSeq: Math.max(0, log.stats().first_seq - 1), limit: 1 });
        const e = r.entries[0];
        return e === undefined ? undefined : Date.parse(e.ts);
      } catch {
        // GONE: retention moved the first entry between stats() and read(); look again.
      }
    }
    return undefined;
  };
  return {
    name: 'changefeed',
    fixedPolicy: () => (retention.kind === 'age' ? { retentionDays: retention.ms / DAY_MS, autoDeletion: true } : undefined),
    count: () => log.stats().entries,
    oldestMs: firstTs,
    async expiredCount(cutoffMs) {
      // Entries are in time order: count from the oldest until one is young enough (the log prunes itself, so this is short).
      const cutoff = new Date(cutoffMs).toISOString();
      let from = Math.max(0, log.stats().first_seq - 1);
      let n = 0;
      try {
        for (;;) {
          const r = await log.read({ fromSeq: from, limit: 1000 });
          for (const e of r.entries) {
            if (e.ts >= cutoff) return n;
            n++;
          }
          if (r.entries.length === 0 || r.nextSeq === from) return n;
          from = r.nextSeq;
        }
      } catch {
        return n; // entries pruned while counting: they are no longer expired records
      }
    },
  };
}
