import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components } from '../../src/api/types.js';
import { call, sleep, startServer, type Body, type StartedServer } from '../helpers/server.js';
import { alterStoredEntry } from '../helpers/audit-storage.js';

/**
 * GET /api/reports/audit and /api/reports/compliance (issue 16): every
 * figure checked against counts computed here from GET /api/audit (paged)
 * for the same period; group_by, timeline, period bounds, CSV parsed back,
 * PDFs rendered with pdftoppm/pdftotext, parameters and permissions.
 */

type Entry = components['schemas']['AuditEntry'];
type AuditReport = components['schemas']['AuditReport'];

const HOSTILE = '=HYPERLINK("http://x")';

/** Every entry of [start, end] from GET /api/audit, paged (small pages: the paging is exercised too). */
async function auditEntries(s: StartedServer, start: number | string, end: number | string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let page = 1; ; page++) {
    const r = await call(s, 'GET', `/api/audit?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}&page_size=7&page=${page}`);
    expect(r.status).toBe(200);
    out.push(...(r.body.entries as Entry[]));
    if (!r.body.hasMore) break;
  }
  return out;
}

const rate = (ok: number, n: number) => Math.round((ok / n) * 10_000) / 10_000;

/** Count, failed per key. */
function tally(entries: Entry[], key: (e: Entry) => string | null): Map<string | null, { count: number; failed: number }> {
  const m = new Map<string | null, { count: number; failed: number }>();
  for (const e of entries) {
    const k = key(e);
    const v = m.get(k) ?? { count: 0, failed: 0 };
    v.count++;
    if (!e.success) v.failed++;
    m.set(k, v);
  }
  return m;
}
const sorted = (m: Map<string | null, { count: number; failed: number }>) =>
  [...m.entries()].sort((a, b) => b[1].count - a[1].count || String(a[0]).localeCompare(String(b[0])));

function expectedReport(entries: Entry[]) {
  const total = entries.length;
  const ok = entries.filter((e) => e.success).length;
  const actions = sorted(tally(entries, (e) => e.action));
  const users = sorted(tally(entries, (e) => e.user));
  return {
    summary: {
      total_events: total,
      successful_events: ok,
      failed_events: total - ok,
      success_rate: total === 0 ? null : rate(ok, total),
      unique_users: new Set(entries.filter((e) => e.user !== null).map((e) => e.user)).size,
      unique_entities: new Set(entries.filter((e) => e.entityId !== null).map((e) => e.entityId)).size,
    },
    top_actions: actions.slice(0, 10).map(([action, v]) => ({ action, count: v.count, success_rate: rate(v.count - v.failed, v.count) })),
    top_users: users.slice(0, 10).map(([user, v]) => ({ user, action_count: v.count, failed_count: v.failed })),
  };
}

async function get(s: StartedServer, p: string, headers?: Record<string, string>): Promise<Response> {
  return s.req('GET', p, undefined, headers);
}

function pdfPages(pdf: Buffer, dir: string, name: string): { pages: string[]; text: string } {
  const file = path.join(dir, `${name}.pdf`);
  fs.writeFileSync(file, pdf);
  execFileSync('pdftoppm', ['-png', '-r', '60', file, path.join(dir, name)]);
  const pages = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.png'))
    .map((f) => path.join(dir, f));
  const text = execFileSync('pdftotext', ['-layout', file, '-']).toString('utf8');
  return { pages, text };
}

describe('reports', () => {
  let s: StartedServer;
  let t0: number;
  let t1: number;
  let entries: Entry[];
  const keys: Record<string, string> = {};
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-reports-'));
  const as = (k: string) => ({ authorization: `Bearer ${keys[k]}` });

  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_AUTH_FAIL_LIMIT: 'off', THEMIS_RATE_LIMIT_AUDIT: 'off' } });
    for (const [name, permissions] of [
      ['alice', ['data:read', 'data:write']],
      ['bob', ['data:read']],
      ['carol', ['stats:read']],
      ['reporter', ['reports:read']],
      ['auditor', ['audit:read']],
      [HOSTILE, ['stats:read']],
    ] as const) {
      const r = await call(s, 'POST', '/api/keys', { name, permissions });
      expect(r.status).toBe(201);
      keys[name] = (r.body as { secret: string }).secret;
    }
    await sleep(20);
    t0 = Date.now();
    const traffic: [string, string, unknown, Record<string, string> | undefined, number][] = [
      ['PUT', '/entities/users:1', { blob: '{"a":1}' }, as('alice'), 201],
      ['PUT', '/entities/users:2', { blob: '{"a":2}' }, as('alice'), 201],
      ['PUT', '/entities/orders:1', { blob: '{"a":3}' }, as('alice'), 201],
      ['GET', '/entities/users:1', undefined, as('alice'), 200],
      ['GET', '/entities/users:404', undefined, as('alice'), 404],
      ['GET', '/entities/users:2', undefined, as('bob'), 200],
      ['GET', '/entities/orders:1', undefined, as('bob'), 200],
      ['PUT', '/entities/users:3', { blob: '{}' }, as('bob'), 403],
      ['GET', '/stats', undefined, as('carol'), 200],
      ['GET', '/entities/users:1', undefined, as('carol'), 403],
      ['GET', '/stats', undefined, as(HOSTILE), 200],
      ['GET', '/stats', undefined, { authorization: '' }, 401],
      ['GET', '/entities/users:1', undefined, { authorization: 'Bearer not-a-key-not-a-key' }, 401],
      ['GET', '/entities/nothing:here', undefined, undefined, 404],
    ];
    for (const [m, p, b, h, status] of traffic) {
      const r = await s.req(m, p, b, h);
      await r.text();
      expect(r.status, `${m} ${p}`).toBe(status);
    }
    await sleep(40);
    t1 = Date.now();
    await sleep(20);
    entries = await auditEntries(s, t0, t1);
    expect(entries.length).toBe(traffic.length);
  });
  afterAll(async () => {
    if (!s) return;
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the audit report JSON: every figure equals the counts of GET /api/audit for the period', async () => {
    const r = await call(s, 'GET', `/api/reports/audit?start=${t0}&end=${t1}`);
    expect(r.status).toBe(200);
    const rep = r.body as unknown as AuditReport;
    expect(rep.period).toEqual({ start: new Date(t0).toISOString(), end: new Date(t1).toISOString() });
    const exp = expectedReport(entries);
    expect(rep.summary).toEqual(exp.summary);
    expect(rep.top_actions).toEqual(exp.top_actions);
    expect(rep.top_users).toEqual(exp.top_users);
    // The known mix, literally: 6 failed (two 401, two 403, two 404) of 14, five principals.
    expect(rep.summary).toMatchObject({ total_events: 14, failed_events: 6, unique_users: 5 });
    expect(rep.top_users.find((u) => u.user === 'alice')).toEqual({ user: 'alice', action_count: 5, failed_count: 1 });
    expect(rep.top_users.find((u) => u.user === null)).toEqual({ user: null, action_count: 2, failed_count: 2 });
    expect(rep.top_actions.find((a) => a.action === 'LOGIN_FAILED')).toEqual({ action: 'LOGIN_FAILED', count: 2, success_rate: 0 });
    expect(rep.group_by).toBe('action');
    expect(rep.bucket).toBe('hour');
    expect(rep.capped).toBe(false);
    expect(rep.timeline.reduce((a, b) => a + b.event_count, 0)).toBe(14);
  });

  it('group_by user|action|entity_type|hour|day: groups equal the counts per key; the timeline sums to the total', async () => {
    const keyOf: Record<string, (e: Entry) => string | null> = {
      user: (e) => e.user,
      action: (e) => e.action,
      entity_type: (e) => e.entityType,
      hour: (e) => `${e.timestamp.slice(0, 13)}:00:00.000Z`,
      day: (e) => `${e.timestamp.slice(0, 10)}T00:00:00.000Z`,
    };
    for (const [g, key] of Object.entries(keyOf)) {
      const r = await call(s, 'GET', `/api/reports/audit?start=${t0}&end=${t1}&group_by=${g}`);
      expect(r.status, g).toBe(200);
      const rep = r.body as unknown as AuditReport;
      expect(rep.group_by).toBe(g);
      const exp = tally(entries, key);
      const got = new Map(rep.groups.filter((x) => x.count > 0).map((x) => [x.key, { count: x.count, failed: x.failed }]));
      expect(got, g).toEqual(exp);
      expect(
        rep.timeline.reduce((a, b) => a + b.event_count, 0),
        g,
      ).toBe(entries.length);
      if (g === 'hour' || g === 'day') {
        expect(rep.bucket).toBe(g);
        expect(rep.groups.map((x) => x.key)).toEqual(rep.timeline.map((x) => x.timestamp));
      }
      if (g !== 'hour' && g !== 'day') {
        // Most events first.
        const counts = rep.groups.map((x) => x.count);
        expect(counts).toEqual([...counts].sort((a, b) => b - a));
      }
    }
  });

  it('period bounds are inclusive and entries outside are excluded (epoch ms and ISO 8601)', async () => {
    const mid = entries[Math.floor(entries.length / 2)]!;
    const m = Date.parse(mid.timestamp);
    const after = entries.filter((e) => Date.parse(e.timestamp) >= m);
    const before = entries.filter((e) => Date.parse(e.timestamp) <= m - 1);
    expect(after.length).toBeGreaterThan(0);
    expect(before.length).toBeGreaterThan(0);
    const a = (await call(s, 'GET', `/api/reports/audit?start=${m}&end=${t1}`)).body as unknown as AuditReport;
    expect(a.summary).toEqual(expectedReport(after).summary);
    const b = (
      await call(
        s,
        'GET',
        `/api/reports/audit?start=${new Date(t0).toISOString()}&end=${encodeURIComponent(new Date(m - 1).toISOString())}`,
      )
    ).body as unknown as AuditReport;
    expect(b.summary).toEqual(expectedReport(before).summary);
    expect(a.summary.total_events + b.summary.total_events).toBe(entries.length);
    // A period before any traffic of this test holds only the setup (key creation), none of the traffic.
    const setup = (await call(s, 'GET', `/api/reports/audit?start=0&end=${t0 - 1}`)).body as unknown as AuditReport;
    expect(setup.summary.total_events).toBe((await auditEntries(s, 0, t0 - 1)).length);
    expect(setup.top_actions.map((x) => x.action)).not.toContain('PUT_ENTITY');
    // start=0 by the hour: the timeline starts at the oldest entry's hour, not at 1970.
    const all = (await call(s, 'GET', '/api/reports/audit?start=0&group_by=hour')).body as unknown as AuditReport;
    const oldest = (await auditEntries(s, 0, t1)).at(-1)!;
    expect(all.timeline[0]!.timestamp).toBe(`${oldest.timestamp.slice(0, 13)}:00:00.000Z`);
  });

  it('the default period is the last 24 hours, ending now', async () => {
    const before = Date.now();
    const rep = (await call(s, 'GET', '/api/reports/audit')).body as unknown as AuditReport;
    const end = Date.parse(rep.period.end);
    expect(end).toBeGreaterThanOrEqual(before);
    expect(end - Date.parse(rep.period.start)).toBe(24 * 3_600_000);
    expect(rep.summary.total_events).toBeGreaterThanOrEqual(entries.length);
  });

  it('CSV: the groups as rows, parsed back; a hostile user name is escaped', async () => {
    const r = await get(s, `/api/reports/audit?start=${t0}&end=${t1}&group_by=user&format=csv`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="themis-audit-report-.+\.csv"$/);
    const rows = parse(await r.text(), { columns: true }) as Record<string, string>[];
    const exp = sorted(tally(entries, (e) => e.user));
    expect(rows.map((x) => [x.user, Number(x.count), Number(x.failed)])).toEqual(
      exp.map(([k, v]) => [k === null ? '' : k.startsWith('=') ? `'${k}` : k, v.count, v.failed]),
    );
    expect(rows.some((x) => x.user === `'${HOSTILE}`)).toBe(true);
    expect(rows.some((x) => x.user!.startsWith('='))).toBe(false);
  });

  it('PDF: headers, pages, and the text holds the title, the period and the top actions', async () => {
    const r = await get(s, `/api/reports/audit?start=${t0}&end=${t1}&format=pdf`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pdf');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="themis-audit-report-.+\.pdf"$/);
    const pdf = Buffer.from(await r.arrayBuffer());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const { pages, text } = pdfPages(pdf, tmp, 'audit');
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(fs.statSync(pages[0]!).size).toBeGreaterThan(1000);
    expect(text).toContain('Audit Report');
    expect(text).toContain(new Date(t0).toISOString());
    expect(text).toContain(new Date(t1).toISOString());
    for (const a of expectedReport(entries).top_actions) expect(text).toContain(a.action);
    expect(text).toContain('alice');
  });

  it('the compliance report: figures against the audit counts of the period, and the score by its formula', async () => {
    const r = await call(s, 'GET', `/api/reports/compliance?start=${t0}&end=${t1}`);
    expect(r.status).toBe(200);
    const c = r.body as Body & {
      security: Record<string, unknown>;
      retention: Record<string, unknown>;
      pii_processing: Record<string, unknown>;
      data_subject_rights: Record<string, unknown>;
      score_deductions: { reason: string; points: number }[];
      compliance_score: number;
    };
    const failedAuth = entries.filter((e) => e.action === 'LOGIN_FAILED').length;
    const forbidden = entries.filter((e) => e.statusCode === 403).length;
    expect(failedAuth).toBe(2);
    expect(forbidden).toBe(2);
    expect(c.period).toEqual({ start: new Date(t0).toISOString(), end: new Date(t1).toISOString() });
    expect(c.security).toMatchObject({
      failed_auth_attempts: failedAuth,
      unauthorized_access_attempts: forbidden,
      data_breaches_detected: 0,
      total_events: entries.length,
      audit_level: 'all',
      audit_chain: { ok: true, first_broken_id: null },
    });
    expect(c.pii_processing).toMatchObject({
      total_pii_records: 0,
      pii_access_events: 0,
      pii_deletion_events: 0,
      pseudonymization_active: false,
      // the PII vault always encrypts (AES-256-GCM); no policy pseudonymizes and the vault holds nothing yet
      encryption_enabled: true,
      erased_records: 0,
      pii_policies: 0,
      detected_in_writes: 0,
    });
    expect(typeof c.pii_processing.note).toBe('string');
    expect(c.data_subject_rights).toMatchObject({
      access_requests: 0,
      deletion_requests: 0,
      rectification_requests: 0,
      portability_requests: 0,
    });
    const policies = (await call(s, 'GET', '/api/retention')).body.policies as { collection: string }[];
    expect(c.retention).toMatchObject({
      policies_active: policies.length,
      auto_deletion_enabled: true,
      records_deleted_in_period: 0,
      audit_log_policy: { retention_days: 365, auto_deletion: true },
    });
    // The documented formula: 100 − 5 (no pseudonymization) − min(15, % failed logins) − min(10, % 403).
    const pct = (n: number) => Math.round(Math.min(100, (100 * n) / entries.length) * 10) / 10;
    expect(c.score_deductions).toEqual([
      { reason: 'pseudonymization_inactive', points: 5 },
      { reason: 'failed_auth_rate', points: Math.min(15, pct(failedAuth)) },
      { reason: 'forbidden_rate', points: Math.min(10, pct(forbidden)) },
    ]);
    expect(c.compliance_score).toBe(Math.round((100 - 5 - Math.min(15, pct(failedAuth)) - Math.min(10, pct(forbidden))) * 10) / 10);
  });

  it('records deleted by a retention cleanup in the period are counted', async () => {
    const a = Date.now();
    await (await s.req('PUT', '/entities/old:1', { blob: '{"ts":1000}' })).text();
    await (await s.req('PUT', '/entities/old:2', { blob: '{"ts":2000}' })).text();
    expect((await call(s, 'PUT', '/api/retention/old', { retention_days: 1, timestamp_field: 'ts', auto_deletion: false })).status).toBe(
      200,
    );
    const run = await call(s, 'POST', '/api/retention/old/run');
    expect(run.body.deleted).toBe(2);
    await sleep(5);
    const b = Date.now();
    const c = (await call(s, 'GET', `/api/reports/compliance?start=${a}&end=${b}`)).body as { retention: Record<string, unknown> };
    expect(c.retention.records_deleted_in_period).toBe(2);
    const before = (await call(s, 'GET', `/api/reports/compliance?start=${t0}&end=${t1}`)).body as { retention: Record<string, unknown> };
    expect(before.retention.records_deleted_in_period).toBe(0);
  });

  it('compliance PDF: headers and text', async () => {
    const r = await get(s, `/api/reports/compliance?start=${t0}&end=${t1}&format=pdf`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pdf');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="themis-compliance-report-.+\.pdf"$/);
    const { pages, text } = pdfPages(Buffer.from(await r.arrayBuffer()), tmp, 'compliance');
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(text).toContain('Compliance Report');
    expect(text).toContain(new Date(t0).toISOString());
    expect(text).toContain('Compliance score');
    expect(text).toContain('Failed authentication attempts');
  });

  it('400 VALIDATION_FAILED with the field for bad parameters', async () => {
    for (const [p, field] of [
      ['/api/reports/audit?start=yesterday', 'start'],
      ['/api/reports/audit?end=12:00', 'end'],
      [`/api/reports/audit?start=${t1}&end=${t0}`, 'start'],
      ['/api/reports/audit?group_by=week', 'group_by'],
      ['/api/reports/audit?format=xml', 'format'],
      ['/api/reports/compliance?format=csv', 'format'],
      ['/api/reports/compliance?start=nope', 'start'],
      [`/api/reports/compliance?start=${t1}&end=${t0}`, 'start'],
    ] as const) {
      const r = await call(s, 'GET', p);
      expect(r.status, p).toBe(400);
      expect(r.body, p).toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
  });

  it('permissions: reports:read suffices; audit:read alone is 403; no key is 401', async () => {
    for (const p of ['/api/reports/audit', '/api/reports/compliance']) {
      expect((await get(s, p, as('reporter'))).status, p).toBe(200);
      const f = await call(s, 'GET', p, undefined, as('auditor'));
      expect(f.status, p).toBe(403);
      expect(f.body.code).toBe('FORBIDDEN');
      expect((await get(s, p, { authorization: '' })).status, p).toBe(401);
    }
  });

  it('the report requests are audited as REPORT_AUDIT and REPORT_COMPLIANCE', async () => {
    const all = await auditEntries(s, t1 + 1, Date.now());
    expect(all.some((e) => e.action === 'REPORT_AUDIT' && e.success)).toBe(true);
    expect(all.some((e) => e.action === 'REPORT_COMPLIANCE' && e.success)).toBe(true);
  });
});

describe('the compliance report and a broken audit chain', () => {
  it('an entry altered in LevelDB: one detected breach, the chain reported broken, 40 points deducted', async () => {
    let s = await startServer();
    for (let i = 0; i < 4; i++) await (await s.req('PUT', `/entities/t:${i}`, { blob: { i } })).text();
    expect(await s.stop()).toBe(0);
    const db = new ClassicLevel<Buffer, Buffer>(path.join(s.dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    // Entry 2's user changes in storage, its hash stays (test/helpers/audit-storage.ts).
    expect(
      (
        await alterStoredEntry(db, 2, (e) => {
          e.user = 'someone-else';
        })
      ).id,
    ).toBe(2);
    await db.close();
    s = await startServer({ dataDir: s.dataDir });
    const c = await call(s, 'GET', '/api/reports/compliance');
    expect(c.status).toBe(200);
    const sec = c.body.security as Record<string, unknown>;
    expect(sec.data_breaches_detected).toBe(1);
    expect(sec.audit_chain).toMatchObject({ ok: false, first_broken_id: 2 });
    expect(typeof sec.note).toBe('string');
    expect(c.body.score_deductions).toContainEqual({ reason: 'audit_chain_broken', points: 40 });
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });
});
