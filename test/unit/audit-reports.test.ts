import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditLog } from '../../src/audit/index.js';
import { auditReportCsv, csvSafe } from '../../src/audit/report-render.js';
import { auditReport, complianceScore, MAX_BUCKETS, MAX_DISTINCT_KEYS, OTHER_KEY, reportPeriod } from '../../src/audit/reports.js';
import { ThemisError } from '../../src/errors.js';

/** A stand-in for the log: `entries` yields what it is given (already in the period), `summary` names the oldest. */
function fakeLog(entries: Partial<AuditEntry>[], oldestMs: number | null): AuditLog {
  return {
    summary: async () => ({ count: entries.length, first_id: 1, last_id: entries.length, oldest_ms: oldestMs }),
    entries: async function* () {
      for (const e of entries) yield e as AuditEntry;
    },
  } as unknown as AuditLog;
}

const entry = (i: number, over: Partial<AuditEntry> = {}): Partial<AuditEntry> => ({
  id: i,
  timestamp: new Date(1_000 + i).toISOString(),
  user: `u${i}`,
  action: 'GET_ENTITY',
  entityType: 't',
  entityId: `t:${i}`,
  success: true,
  statusCode: 200,
  ...over,
});

describe('audit report (unit)', () => {
  it('a timeline of more than MAX_BUCKETS buckets is 400 on group_by', async () => {
    const now = MAX_BUCKETS * 3_600_000 + 7_200_000;
    const p = reportPeriod(0, now, 0, now);
    await expect(auditReport(fakeLog([], 0), p, 'hour', now)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'group_by' },
    });
    // By the day the same period fits.
    const r = await auditReport(fakeLog([], 0), p, 'day', now);
    expect(r.timeline.length).toBe(Math.floor(now / 86_400_000) + 1);
  });

  it(`counters keep at most ${MAX_DISTINCT_KEYS} keys: the rest fold into ${OTHER_KEY}, capped is true, totals stay exact`, async () => {
    const n = MAX_DISTINCT_KEYS + 5;
    const es = Array.from({ length: n }, (_, i) => entry(i));
    const r = await auditReport(fakeLog(es, 1_000), reportPeriod(0, 1_000 + n, 0, 1_000 + n), 'user', 1_000 + n);
    expect(r.capped).toBe(true);
    expect(r.summary.total_events).toBe(n);
    expect(r.summary.unique_users).toBe(MAX_DISTINCT_KEYS);
    expect(r.groups.length).toBe(MAX_DISTINCT_KEYS + 1);
    expect(r.groups[0]).toEqual({ key: OTHER_KEY, count: 5, failed: 0 });
    expect(r.groups.reduce((a, g) => a + g.count, 0)).toBe(n);
  });

  it('without events the success rate is null and the timeline has its zero buckets', async () => {
    const r = await auditReport(fakeLog([], null), reportPeriod(0, 3 * 3_600_000 - 1, 0), 'action', 3 * 3_600_000);
    expect(r.summary.success_rate).toBeNull();
    expect(r.timeline).toEqual([0, 1, 2].map((h) => ({ timestamp: new Date(h * 3_600_000).toISOString(), event_count: 0 })));
  });

  it('reportPeriod: defaults and start after end', () => {
    expect(reportPeriod(undefined, undefined, 10, 100)).toEqual({ startMs: 90, endMs: 100 });
    expect(reportPeriod(5, undefined, 10, 100)).toEqual({ startMs: 5, endMs: 100 });
    expect(reportPeriod(undefined, 50, 10, 100)).toEqual({ startMs: 40, endMs: 50 });
    expect(() => reportPeriod(60, 50, 10)).toThrow(ThemisError);
  });
});

describe('CSV injection', () => {
  it('cells starting with = + - @ tab CR get a leading quote; others are unchanged', () => {
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(csvSafe(c)).toBe(`'${c}`);
    for (const c of ['a=1', 'x', '1', '']) expect(csvSafe(c)).toBe(c);
    expect(csvSafe(null)).toBe('');
  });

  it('the report CSV quotes and escapes through csv-stringify', async () => {
    const es = [entry(1, { user: '=cmd|"/c calc"!A1' }), entry(2, { user: 'a,b', success: false })];
    const csv = auditReportCsv(await auditReport(fakeLog(es, 1_000), reportPeriod(0, 2_000, 0, 2_000), 'user', 2_000));
    expect(csv).toBe('user,count,failed,success_rate\r\n"\'=cmd|""/c calc""!A1",1,0,1\r\n"a,b",1,1,0\r\n');
  });
});

describe('compliance score', () => {
  const base = (over: {
    chainOk?: boolean;
    level?: 'all' | 'writes' | 'off';
    policy?: boolean;
    auto?: boolean;
    failed?: number;
    forbidden?: number;
    total?: number;
  }) => ({
    period: { start: '', end: '' },
    pii_processing: {
      total_pii_records: 0,
      pii_access_events: 0,
      pii_deletion_events: 0,
      pseudonymization_active: true,
      encryption_enabled: true,
      note: '',
    },
    retention: {
      policies_active: 1,
      auto_deletion_enabled: over.auto ?? true,
      records_deleted_in_period: 0,
      audit_log_policy: over.policy === false ? null : { retention_days: 365, auto_deletion: true },
    },
    security: {
      failed_auth_attempts: over.failed ?? 0,
      unauthorized_access_attempts: over.forbidden ?? 0,
      data_breaches_detected: over.chainOk === false ? 1 : 0,
      total_events: over.total ?? 100,
      audit_level: over.level ?? 'all',
      audit_chain: { ok: over.chainOk ?? true, checked: 1, first_broken_id: null, reason: null },
      note: null,
    },
    data_subject_rights: { access_requests: 0, deletion_requests: 0, rectification_requests: 0, portability_requests: 0, note: '' },
  });

  it('each documented deduction', () => {
    expect(complianceScore(base({}))).toEqual({ score: 100, deductions: [] });
    expect(complianceScore(base({ chainOk: false })).score).toBe(60);
    expect(complianceScore(base({ level: 'off' })).score).toBe(80);
    expect(complianceScore(base({ level: 'writes' })).score).toBe(95);
    expect(complianceScore(base({ policy: false })).score).toBe(90);
    expect(complianceScore(base({ auto: false })).score).toBe(90);
    expect(complianceScore(base({ failed: 3 })).score).toBe(97);
    expect(complianceScore(base({ failed: 90 })).score).toBe(85);
    expect(complianceScore(base({ forbidden: 4 })).score).toBe(96);
    expect(complianceScore(base({ forbidden: 50 })).score).toBe(90);
    expect(complianceScore(base({ failed: 0, forbidden: 0, total: 0 })).score).toBe(100);
    const worst = complianceScore(base({ chainOk: false, level: 'off', policy: false, auto: false, failed: 50, forbidden: 50 }));
    expect(worst.score).toBe(0);
  });
});
