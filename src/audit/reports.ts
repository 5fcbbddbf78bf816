import type { components } from '../api/types.js';
import type { RetentionService } from '../retention/index.js';
import { ThemisError } from '../errors.js';
import type { AuditLog } from './audit-log.js';

/**
 * The audit and compliance reports (docs/audit.md, "Reports"): figures
 * computed from the audit log's entries of a period, streamed oldest first
 * (`AuditLog.entries`) with bounded memory, and counters the log's indexes
 * answer without reading entries (`AuditLog.query(...).totalCount`).
 */

export const GROUP_BY = ['user', 'action', 'entity_type', 'hour', 'day'] as const;
export type GroupBy = (typeof GROUP_BY)[number];
export type Bucket = 'hour' | 'day';

/** Distinct keys each counter keeps (users, actions, entity types, entities); beyond it new keys fold into OTHER_KEY and `capped` is true. */
export const MAX_DISTINCT_KEYS = 100_000;
/** The group that collects keys beyond MAX_DISTINCT_KEYS. */
export const OTHER_KEY = '(other)';
/** Most timeline buckets a report draws (an hourly timeline covers at most ~416 days). */
export const MAX_BUCKETS = 10_000;
/** Rows of `top_actions` and `top_users`. */
export const TOP_N = 10;
/** The automatic timeline bucket (group_by user|action|entity_type) is the hour for periods up to this long, else the day. */
export const AUTO_HOURLY_MAX_MS = 72 * 3_600_000;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Audit verbs the compliance report counts (the PII module's routes). */
export const PII_REVEAL_ACTION = 'PII_REVEAL';
export const PII_DELETE_ACTION = 'PII_DELETE';
export const LOGIN_FAILED_ACTION = 'LOGIN_FAILED';

export interface Period {
  startMs: number;
  endMs: number;
}

/** GET /api/reports/audit: openapi.yaml `AuditReport`. */
export type AuditReport = components['schemas']['AuditReport'];

/** The period of a report: both bounds inclusive; missing ones default (`end`: now, `start`: `end` minus `defaultSpanMs`). */
export function reportPeriod(startMs: number | undefined, endMs: number | undefined, defaultSpanMs: number, now = Date.now()): Period {
  const end = endMs ?? now;
  const start = startMs ?? end - defaultSpanMs;
  if (start > end) throw new ThemisError('VALIDATION_FAILED', 'query parameter "start" is after "end"', { details: { field: 'start' } });
  if (start < 0 || end > 8.64e15)
    throw new ThemisError('VALIDATION_FAILED', 'the period is outside the representable times', {
      details: { field: start < 0 ? 'start' : 'end' },
    });
  return { startMs: start, endMs: end };
}

/** A counter of keys that keeps at most MAX_DISTINCT_KEYS of them. */
class CappedCounter<V> {
  readonly map = new Map<string | null, V>();
  capped = false;
  constructor(private readonly make: () => V) {}
  get(key: string | null): V {
    let v = this.map.get(key);
    if (v === undefined) {
      if (this.map.size >= MAX_DISTINCT_KEYS) {
        this.capped = true;
        key = OTHER_KEY;
        v = this.map.get(key);
      }
      if (v === undefined) this.map.set(key, (v = this.make()));
    }
    return v;
  }
}

/** A set that keeps at most MAX_DISTINCT_KEYS values (its size is then a lower bound). */
class CappedSet {
  readonly set = new Set<string>();
  capped = false;
  add(v: string): void {
    if (this.set.has(v)) return;
    if (this.set.size >= MAX_DISTINCT_KEYS) this.capped = true;
    else this.set.add(v);
  }
}

const rate = (ok: number, n: number): number => Math.round((ok / n) * 10_000) / 10_000;
/** The start of the UTC hour or day holding `ms` (ms >= 0). */
const floorTo = (ms: number, b: Bucket): number => ms - (ms % (b === 'hour' ? HOUR_MS : DAY_MS));
const iso = (ms: number): string => new Date(ms).toISOString();

/** The timeline's bucket: the grouping's for hour/day, else hourly for periods up to AUTO_HOURLY_MAX_MS, daily beyond. */
export function bucketOf(groupBy: GroupBy, p: Period): Bucket {
  if (groupBy === 'hour' || groupBy === 'day') return groupBy;
  return p.endMs - p.startMs <= AUTO_HOURLY_MAX_MS ? 'hour' : 'day';
}

/**
 * The audit report of a period. One pass over the period's entries, oldest
 * first; memory: the counters (at most MAX_DISTINCT_KEYS keys each) and the
 * timeline's buckets. The timeline has every bucket (zeros included) from
 * the later of the period's start and the oldest retained entry to the
 * earlier of its end and now; more than MAX_BUCKETS is 400 (field group_by).
 */
export async function auditReport(log: AuditLog, p: Period, groupBy: GroupBy, now = Date.now()): Promise<AuditReport> {
  const bucket = bucketOf(groupBy, p);
  const oldest = (await log.summary()).oldest_ms;
  const tFrom = floorTo(Math.max(p.startMs, oldest ?? p.startMs), bucket);
  const tTo = floorTo(Math.max(Math.min(p.endMs, now), Math.max(p.startMs, oldest ?? p.startMs)), bucket);
  const step = bucket === 'hour' ? HOUR_MS : DAY_MS;
  const nBuckets = Math.floor((tTo - tFrom) / step) + 1;
  if (nBuckets > MAX_BUCKETS)
    throw new ThemisError(
      'VALIDATION_FAILED',
      `the period needs ${nBuckets} ${bucket} buckets, more than ${MAX_BUCKETS}: shorten it or group by day`,
      { details: { field: 'group_by' } },
    );
  const buckets = new Map<number, { count: number; failed: number }>();
  for (let t = tFrom; t <= tTo; t += step) buckets.set(t, { count: 0, failed: 0 });

  let total = 0;
  let ok = 0;
  const actions = new CappedCounter(() => ({ count: 0, ok: 0 }));
  const users = new CappedCounter(() => ({ count: 0, failed: 0 }));
  const entityTypes = new CappedCounter(() => ({ count: 0, failed: 0 }));
  const uniqueUsers = new CappedSet();
  const uniqueEntities = new CappedSet();
  for await (const e of log.entries({ startMs: p.startMs, endMs: p.endMs }, false)) {
    total++;
    if (e.success) ok++;
    const a = actions.get(e.action);
    a.count++;
    if (e.success) a.ok++;
    const u = users.get(e.user);
    u.count++;
    if (!e.success) u.failed++;
    const t = entityTypes.get(e.entityType);
    t.count++;
    if (!e.success) t.failed++;
    if (e.user !== null) uniqueUsers.add(e.user);
    if (e.entityId !== null) uniqueEntities.add(e.entityId);
    const bt = floorTo(Date.parse(e.timestamp), bucket);
    let b = buckets.get(bt);
    // Entries are never after now or before the oldest one; a clock step back could still place one outside: add its bucket.
    if (b === undefined) buckets.set(bt, (b = { count: 0, failed: 0 }));
    b.count++;
    if (!e.success) b.failed++;
  }
  const byCount = <T extends { count: number }>(m: Map<string | null, T>) =>
    [...m.entries()].sort((x, y) => y[1].count - x[1].count || String(x[0]).localeCompare(String(y[0])));
  const timeline = [...buckets.entries()].sort((x, y) => x[0] - y[0]);
  let groups: AuditReport['groups'];
  if (groupBy === 'hour' || groupBy === 'day') groups = timeline.map(([t, b]) => ({ key: iso(t), count: b.count, failed: b.failed }));
  else {
    const m = groupBy === 'user' ? users.map : groupBy === 'entity_type' ? entityTypes.map : undefined;
    groups = m
      ? byCount(m).map(([key, v]) => ({ key, count: v.count, failed: v.failed }))
      : byCount(actions.map).map(([key, v]) => ({ key, count: v.count, failed: v.count - v.ok }));
  }
  return {
    period: { start: iso(p.startMs), end: iso(p.endMs) },
    summary: {
      total_events: total,
      successful_events: ok,
      failed_events: total - ok,
      success_rate: total === 0 ? null : rate(ok, total),
      unique_users: uniqueUsers.set.size,
      unique_entities: uniqueEntities.set.size,
    },
    top_actions: byCount(actions.map)
      .slice(0, TOP_N)
      .map(([action, v]) => ({ action: action ?? '', count: v.count, success_rate: rate(v.ok, v.count) })),
    top_users: byCount(users.map)
      .slice(0, TOP_N)
      .map(([user, v]) => ({ user, action_count: v.count, failed_count: v.failed })),
    timeline: timeline.map(([t, b]) => ({ timestamp: iso(t), event_count: b.count })),
    group_by: groupBy,
    bucket,
    groups,
    capped: actions.capped || users.capped || entityTypes.capped || uniqueUsers.capped || uniqueEntities.capped,
  };
}

// ------------------------------------------------------------------ compliance

/** One deduction of the compliance score (stable reasons, docs/audit.md). */
export type ScoreItem = ComplianceReport['score_deductions'][number];

/** GET /api/reports/compliance: openapi.yaml `ComplianceReport`. */
export type ComplianceReport = components['schemas']['ComplianceReport'];

const PII_NOTE =
  'total_pii_records: values held in the PII vault now (active and soft-deleted; erased_records: crypto-shredded ones); pii_access_events / pii_deletion_events: PII_REVEAL / PII_DELETE audit entries of the period; detected_in_writes: documents written to tables with a `detect` policy in which PII was found (all time).';
const RIGHTS_NOTE =
  'access_requests: PII_REVEAL entries; deletion_requests: PII_DELETE entries; no endpoint serves rectification or portability requests yet (0).';

/** What the PII module tells the compliance report (figures only; docs/pii.md). */
export interface PiiFigures {
  /** Values held in the vault (active and soft-deleted). */
  records: number;
  /** Values erased by crypto-shredding. */
  shredded: number;
  policies: number;
  pseudonymization_active: boolean;
  encryption_enabled: boolean;
  /** Documents written to `detect` tables with PII found. */
  detected_documents: number;
}

const NO_PII: PiiFigures = {
  records: 0,
  shredded: 0,
  policies: 0,
  pseudonymization_active: false,
  encryption_enabled: false,
  detected_documents: 0,
};

/** Entries of the period matching the equality filters, counted from the log's indexes (no entry is read). */
async function countOf(log: AuditLog, p: Period, eq: Parameters<AuditLog['query']>[0]['eq']): Promise<number> {
  return (await log.query({ startMs: p.startMs, endMs: p.endMs, ...(eq ? { eq } : {}), page: 1, pageSize: 1 })).totalCount;
}

/**
 * The compliance score: 100 minus the deductions (docs/audit.md, "The
 * compliance score"), clamped to 0..100, one decimal.
 */
export function complianceScore(r: Omit<ComplianceReport, 'compliance_score' | 'score_deductions'>): {
  score: number;
  deductions: ScoreItem[];
} {
  const d: ScoreItem[] = [];
  const s = r.security;
  if (!s.audit_chain.ok) d.push({ reason: 'audit_chain_broken', points: 40 });
  if (s.audit_level === 'off') d.push({ reason: 'audit_off', points: 20 });
  else if (s.audit_level === 'writes') d.push({ reason: 'audit_writes_only', points: 5 });
  if (r.retention.audit_log_policy === null) d.push({ reason: 'no_audit_log_retention_policy', points: 10 });
  if (!r.retention.auto_deletion_enabled) d.push({ reason: 'no_auto_deletion', points: 10 });
  if (!r.pii_processing.pseudonymization_active) d.push({ reason: 'pseudonymization_inactive', points: 5 });
  if (!r.pii_processing.encryption_enabled) d.push({ reason: 'encryption_disabled', points: 5 });
  const pct = (n: number) => (s.total_events === 0 ? 0 : (100 * n) / s.total_events);
  const auth = Math.round(Math.min(15, pct(s.failed_auth_attempts)) * 10) / 10;
  if (auth > 0) d.push({ reason: 'failed_auth_rate', points: auth });
  const forbidden = Math.round(Math.min(10, pct(s.unauthorized_access_attempts)) * 10) / 10;
  if (forbidden > 0) d.push({ reason: 'forbidden_rate', points: forbidden });
  const total = d.reduce((a, x) => a + x.points, 0);
  return { score: Math.round(Math.max(0, Math.min(100, 100 - total)) * 10) / 10, deductions: d };
}

/** The compliance report of a period (GET /api/reports/compliance). Verifies the whole chain: O(entries retained). */
export async function complianceReport(
  log: AuditLog,
  retention: RetentionService,
  p: Period,
  pii: PiiFigures = NO_PII,
): Promise<ComplianceReport> {
  const total = await countOf(log, p, undefined);
  const failedAuth = await countOf(log, p, { action: LOGIN_FAILED_ACTION });
  const reveals = await countOf(log, p, { action: PII_REVEAL_ACTION });
  const deletions = await countOf(log, p, { action: PII_DELETE_ACTION });
  let forbidden = 0;
  for await (const e of log.entries({ startMs: p.startMs, endMs: p.endMs, eq: { success: false } })) if (e.statusCode === 403) forbidden++;
  const chain = await log.verify();
  const policies = retention.list();
  const auditPolicy = policies.find((x) => x.collection === 'audit_logs');
  const summary = (await retention.report(false)).summary;
  const base: Omit<ComplianceReport, 'compliance_score' | 'score_deductions'> = {
    period: { start: iso(p.startMs), end: iso(p.endMs) },
    pii_processing: {
      total_pii_records: pii.records,
      pii_access_events: reveals,
      pii_deletion_events: deletions,
      pseudonymization_active: pii.pseudonymization_active,
      encryption_enabled: pii.encryption_enabled,
      erased_records: pii.shredded,
      pii_policies: pii.policies,
      detected_in_writes: pii.detected_documents,
      note: PII_NOTE,
    },
    retention: {
      policies_active: policies.length,
      auto_deletion_enabled: summary.auto_deletion_active,
      records_deleted_in_period: await retention.deletedBetween(p.startMs, p.endMs),
      audit_log_policy: auditPolicy ? { retention_days: auditPolicy.retention_days, auto_deletion: auditPolicy.auto_deletion } : null,
    },
    security: {
      failed_auth_attempts: failedAuth,
      unauthorized_access_attempts: forbidden,
      data_breaches_detected: chain.ok ? 0 : 1,
      total_events: total,
      audit_level: log.level,
      audit_chain: { ok: chain.ok, checked: chain.checked, first_broken_id: chain.first_broken_id, reason: chain.reason },
      note: chain.ok
        ? null
        : `the audit log's hash chain is broken at entry ${chain.first_broken_id}: an entry was altered, removed or inserted in storage (counted as one detected breach)`,
    },
    data_subject_rights: {
      access_requests: reveals,
      deletion_requests: deletions,
      rectification_requests: 0,
      portability_requests: 0,
      note: RIGHTS_NOTE,
    },
  };
  const { score, deductions } = complianceScore(base);
  return { ...base, compliance_score: score, score_deductions: deductions };
}
