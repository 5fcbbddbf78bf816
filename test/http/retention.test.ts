import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Body, call, expectStatus, startServer, type StartedServer, sleep } from '../helpers/server.js';

/**
 * Retention policies (issue 16, docs/retention.md), black-box: the policy
 * API and its validation, persistence across a restart, cleanups deleting
 * exactly the expired documents through normal commits (entities, an
 * index and the change feed agree), the background job, the report's
 * figures against counts made here, and who may call what.
 */

const DAY = 86_400_000;
const policyOf = async (s: StartedServer, collection: string) =>
  ((await call(s, 'GET', '/api/retention')).body.policies as Body[]).find((p) => p.collection === collection);

/** `docs`: a mix of expired, fresh and timestamp-less documents of table `t`, all with kind "k" (indexed). */
function mixed(t: string, now: number) {
  return {
    expired: {
      [`${t}:old-iso`]: { kind: 'k', at: new Date(now - 40 * DAY).toISOString() },
      [`${t}:old-ms`]: { kind: 'k', at: now - 31 * DAY },
      [`${t}:old-date`]: { kind: 'k', at: new Date(now - 400 * DAY).toISOString().slice(0, 10) },
    },
    kept: {
      [`${t}:new-iso`]: { kind: 'k', at: new Date(now - 29 * DAY).toISOString() },
      [`${t}:new-ms`]: { kind: 'k', at: now },
      [`${t}:no-ts`]: { kind: 'k' },
      [`${t}:bad-ts`]: { kind: 'k', at: 'a long time ago' },
      [`${t}:obj-ts`]: { kind: 'k', at: { when: 1 } },
    },
  };
}

async function insert(s: StartedServer, docs: Record<string, unknown>) {
  const r = await call(s, 'POST', '/transaction', { operations: Object.entries(docs).map(([key, blob]) => ({ op: 'put', key, blob })) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

describe('retention policies over HTTP', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_RETENTION_INTERVAL_MS: 'off' } });
  });
  afterAll(async () => {
    if (!s) return;
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('PUT creates and replaces a policy; GET lists it; DELETE removes it (404 after)', async () => {
    const r = await call(s, 'PUT', '/api/retention/crud', { retention_days: 30, timestamp_field: 'meta.created', auto_deletion: true });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      collection: 'crud',
      kind: 'table',
      source: 'policy',
      retention_days: 30,
      timestamp_field: 'meta.created',
      auto_deletion: true,
      last_cleanup: null,
      records_deleted: 0,
    });
    const created = r.body.created_at as string;
    const r2 = await call(s, 'PUT', '/api/retention/crud', { retention_days: 0.5, timestamp_field: 'at', auto_deletion: false });
    expect(r2.body).toMatchObject({ retention_days: 0.5, timestamp_field: 'at', auto_deletion: false, created_at: created });
    expect(await policyOf(s, 'crud')).toMatchObject({ retention_days: 0.5, timestamp_field: 'at' });
    const d = await call(s, 'DELETE', '/api/retention/crud');
    expect(d.status).toBe(200);
    expect(d.body).toEqual({ collection: 'crud', deleted: true });
    expect(await policyOf(s, 'crud')).toBeUndefined();
    const again = await call(s, 'DELETE', '/api/retention/crud');
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('NOT_FOUND');
    expect((await call(s, 'POST', '/api/retention/crud/run')).body.code).toBe('NOT_FOUND');
  });

  it('invalid policies are 400 VALIDATION_FAILED naming the field, and change nothing', async () => {
    const cases: [string, unknown, string][] = [
      ['v1', { retention_days: 0, timestamp_field: 'at', auto_deletion: true }, 'retention_days'],
      ['v1', { retention_days: -3, timestamp_field: 'at', auto_deletion: true }, 'retention_days'],
      ['v1', { retention_days: '30', timestamp_field: 'at', auto_deletion: true }, 'retention_days'],
      ['v1', { timestamp_field: 'at', auto_deletion: true }, 'retention_days'],
      ['v1', { retention_days: 30, timestamp_field: 'at' }, 'auto_deletion'],
      ['v1', { retention_days: 30, timestamp_field: 'at', auto_deletion: 'yes' }, 'auto_deletion'],
      ['v1', { retention_days: 30, auto_deletion: true }, 'timestamp_field'],
      ['v1', { retention_days: 30, timestamp_field: 'a..b', auto_deletion: true }, 'timestamp_field'],
      ['v1', { retention_days: 30, timestamp_field: 'at', auto_deletion: true, extra: 1 }, 'extra'],
      ['bad.name', { retention_days: 30, timestamp_field: 'at', auto_deletion: true }, 'collection'],
      ['changefeed', { retention_days: 30, auto_deletion: true }, 'collection'],
    ];
    for (const [c, body, field] of cases) {
      const r = await call(s, 'PUT', `/api/retention/${encodeURIComponent(c)}`, body);
      const ctx = `${c} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`;
      expect(r.status, ctx).toBe(400);
      expect(r.body, ctx).toMatchObject({ error: true, status_code: 400, code: 'VALIDATION_FAILED' });
      if (field !== 'extra') expect(r.body.field, ctx).toBe(field);
    }
    expect(await policyOf(s, 'v1')).toBeUndefined();
    expect((await call(s, 'DELETE', '/api/retention/bad.name')).body.field).toBe('collection');
    expect((await call(s, 'DELETE', '/api/retention/changefeed')).body.field).toBe('collection');
    expect((await call(s, 'POST', '/api/retention/changefeed/run')).body.field).toBe('collection');
  });

  it('a run deletes exactly the expired documents, through commits: entities, an index query and the change feed agree', async () => {
    const now = Date.now();
    const { expired, kept } = mixed('logs', now);
    await insert(s, { ...expired, ...kept, 'elsewhere:old': { kind: 'k', at: now - 400 * DAY } });
    await expectStatus(await s.req('POST', '/index/create', { table: 'logs', column: 'kind' }), 200);
    const lastSeq = (await call(s, 'GET', '/changefeed/stats')).body.last_seq as number;
    await expectStatus(await s.req('PUT', '/api/retention/logs', { retention_days: 30, timestamp_field: 'at', auto_deletion: false }), 200);
    const r = await call(s, 'POST', '/api/retention/logs/run');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ collection: 'logs', deleted: 3, without_timestamp: 3, batches: 1 });
    expect(Math.abs(Date.parse(r.body.cutoff as string) - (now - 30 * DAY))).toBeLessThan(60_000);
    for (const k of Object.keys(expired)) await expectStatus(await s.req('GET', `/entities/${k}`), 404);
    for (const k of Object.keys(kept)) await expectStatus(await s.req('GET', `/entities/${k}`), 200);
    await expectStatus(await s.req('GET', '/entities/elsewhere:old'), 200);
    const q = await call(s, 'POST', '/query', { table: 'logs', predicates: [{ column: 'kind', value: 'k' }], return: 'keys' });
    expect(q.status, JSON.stringify(q.body)).toBe(200);
    expect([...(q.body.keys as string[])].sort()).toEqual(Object.keys(kept).sort());
    const cf = await call(s, 'GET', `/changefeed?from_seq=${lastSeq}&limit=100&long_poll_ms=0`);
    const entries = cf.body.entries as { op: string; key: string; prev: unknown }[];
    expect(entries.filter((e) => e.key.startsWith('logs:')).map((e) => [e.op, e.key])).toEqual(
      Object.keys(expired)
        .sort()
        .map((k) => ['delete', k]),
    );
    expect(entries.find((e) => e.key === 'logs:old-ms')?.prev).toEqual(expired['logs:old-ms']);
    // Recorded on the policy; a second run finds nothing more.
    const p = await policyOf(s, 'logs');
    expect(p).toMatchObject({ last_cleanup_deleted: 3, records_deleted: 3 });
    expect(typeof p?.last_cleanup).toBe('string');
    const r2 = await call(s, 'POST', '/api/retention/logs/run');
    expect(r2.body).toMatchObject({ deleted: 0, batches: 0 });
    expect(await policyOf(s, 'logs')).toMatchObject({ last_cleanup_deleted: 0, records_deleted: 3 });
  });

  it('GET /api/reports/retention: the contract shape, figures counted from the data', async () => {
    const now = Date.now();
    const { expired, kept } = mixed('rep', now);
    await insert(s, { ...expired, ...kept });
    await expectStatus(await s.req('PUT', '/api/retention/rep', { retention_days: 30, timestamp_field: 'at', auto_deletion: true }), 200);
    const r = await call(s, 'GET', '/api/reports/retention');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const policies = r.body.policies as Body[];
    const rep = policies.find((p) => p.collection === 'rep')!;
    expect(Object.keys(rep).sort()).toEqual(
      [
        'collection',
        'retention_days',
        'auto_deletion_enabled',
        'last_cleanup',
        'records_total',
        'records_expired',
        'oldest_record_age_days',
      ].sort(),
    );
    // Counted here: every document is in the total, the three old ones are expired, the oldest is 400 days old.
    expect(rep).toEqual({
      collection: 'rep',
      retention_days: 30,
      auto_deletion_enabled: true,
      last_cleanup: null,
      records_total: Object.keys(expired).length + Object.keys(kept).length,
      records_expired: Object.keys(expired).length,
      oldest_record_age_days: 400,
    });
    // The change feed's policy is THEMIS_CDC_RETENTION (default 7 days), counted from the log.
    const cdc = policies.find((p) => p.collection === 'changefeed')!;
    const stats = (await call(s, 'GET', '/changefeed/stats')).body;
    expect(cdc).toMatchObject({ retention_days: 7, auto_deletion_enabled: true, records_total: stats.entries, records_expired: 0 });
    const logs = policies.find((p) => p.collection === 'logs')!;
    const tables = ['logs', 'elsewhere', 'rep'];
    // The audit log is a collection with its default policy (365 days, auto-deletion), counted from the log.
    const auditLogs = policies.find((p) => p.collection === 'audit_logs')!;
    expect(auditLogs).toMatchObject({ retention_days: 365, auto_deletion_enabled: true, records_expired: 0 });
    expect(auditLogs.records_total as number).toBeGreaterThan(5);
    expect(r.body.summary).toEqual({
      // The tables, and the built-in collections: changefeed, audit_logs, _llm_interactions.
      total_collections: tables.length + 3,
      collections_with_policy: policies.length,
      total_expired_records: policies.reduce((n, p) => n + (p.records_expired as number), 0),
      auto_deletion_active: true, // the change feed prunes itself (the job is off here)
      last_global_cleanup: logs.last_cleanup,
    });
    expect(policies.map((p) => p.collection).sort()).toEqual(['audit_logs', 'changefeed', 'logs', 'rep']);
    expect((r.body.summary as Body).total_expired_records).toBe(3);
    // Without stats nothing is counted.
    const lean = await call(s, 'GET', '/api/reports/retention?include_stats=false');
    const leanRep = (lean.body.policies as Body[]).find((p) => p.collection === 'rep')!;
    expect(leanRep).toMatchObject({ records_total: null, records_expired: null, oldest_record_age_days: null, retention_days: 30 });
    expect((lean.body.summary as Body).total_expired_records).toBeNull();
    expect((await call(s, 'GET', '/api/reports/retention?include_stats=maybe')).body).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'include_stats',
    });
  });

  it('policies and cleanup history survive a restart', async () => {
    const before = await call(s, 'GET', '/api/retention');
    expect(await s.stop()).toBe(0);
    s = await startServer({ dataDir: s.dataDir, env: { THEMIS_RETENTION_INTERVAL_MS: 'off' } });
    const after = await call(s, 'GET', '/api/retention');
    expect(after.body).toEqual(before.body);
    expect((after.body.policies as Body[]).map((p) => p.collection)).toContain('logs');
    expect(await policyOf(s, 'logs')).toMatchObject({ records_deleted: 3 });
  });

  it('admin manages policies; reports:read lists and reports but cannot change; others are refused', async () => {
    const key = async (permissions: string[]) => {
      const r = await call(s, 'POST', '/api/keys', { name: `ret ${permissions.join(',')}`, permissions });
      expect(r.status).toBe(201);
      return { authorization: `Bearer ${r.body.secret as string}` };
    };
    const reader = await key(['reports:read']);
    const other = await key(['data:read', 'data:write', 'stats:read', 'audit:read']);
    const body = { retention_days: 1, timestamp_field: 'at', auto_deletion: true };
    expect((await call(s, 'GET', '/api/retention', undefined, reader)).status).toBe(200);
    expect((await call(s, 'GET', '/api/reports/retention', undefined, reader)).status).toBe(200);
    for (const [m, p, b] of [
      ['PUT', '/api/retention/perm', body],
      ['DELETE', '/api/retention/logs', undefined],
      ['POST', '/api/retention/logs/run', undefined],
    ] as const) {
      expect((await call(s, m, p, b, reader)).body.code, `${m} ${p}`).toBe('FORBIDDEN');
      expect((await call(s, m, p, b, other)).body.code, `${m} ${p}`).toBe('FORBIDDEN');
    }
    expect((await call(s, 'GET', '/api/retention', undefined, other)).status).toBe(403);
    expect((await call(s, 'GET', '/api/reports/retention', undefined, other)).status).toBe(403);
    expect(await policyOf(s, 'perm')).toBeUndefined();
    expect(await policyOf(s, 'logs')).toMatchObject({ records_deleted: 3 });
  });
});

describe('the retention job and the report limits', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({
      env: { THEMIS_RETENTION_INTERVAL_MS: '200', THEMIS_RATE_LIMIT_AUDIT: '3/min', THEMIS_CDC_RETENTION: '100000' },
    });
  });
  afterAll(async () => {
    if (!s) return;
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('the background job deletes expired documents of auto-deletion policies only, and records the run', async () => {
    const now = Date.now();
    const a = mixed('auto', now);
    const m = mixed('manual', now);
    await insert(s, { ...a.expired, ...a.kept, ...m.expired, ...m.kept });
    await expectStatus(await s.req('PUT', '/api/retention/auto', { retention_days: 30, timestamp_field: 'at', auto_deletion: true }), 200);
    await expectStatus(
      await s.req('PUT', '/api/retention/manual', { retention_days: 30, timestamp_field: 'at', auto_deletion: false }),
      200,
    );
    let p: Body | undefined;
    for (let i = 0; i < 100 && !p?.last_cleanup; i++) {
      await sleep(50);
      p = await policyOf(s, 'auto');
    }
    expect(p).toMatchObject({ last_cleanup_deleted: 3, records_deleted: 3 });
    for (const k of Object.keys(a.expired)) await expectStatus(await s.req('GET', `/entities/${k}`), 404);
    for (const k of Object.keys(a.kept)) await expectStatus(await s.req('GET', `/entities/${k}`), 200);
    for (const k of Object.keys(m.expired)) await expectStatus(await s.req('GET', `/entities/${k}`), 200);
    expect(await policyOf(s, 'manual')).toMatchObject({ last_cleanup: null, records_deleted: 0 });
    // Later passes keep running (and find nothing); the newest one is the global last cleanup.
    await sleep(500);
    const r = await call(s, 'GET', '/api/reports/retention');
    const auto = (r.body.policies as Body[]).find((x) => x.collection === 'auto')!;
    expect(auto.last_cleanup! > p!.last_cleanup!).toBe(true);
    expect(auto).toMatchObject({ records_expired: 0, records_total: Object.keys(a.kept).length });
    // THEMIS_CDC_RETENTION as an entry count is no policy in days: the change feed is a collection without one.
    // The audit log (default policy, auto-deletion) is cleaned by the same passes.
    expect((r.body.policies as Body[]).map((x) => x.collection).sort()).toEqual(['audit_logs', 'auto', 'manual']);
    const newest = (r.body.policies as Body[])
      .map((x) => x.last_cleanup as string | null)
      .reduce((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
    expect(r.body.summary).toMatchObject({
      // auto, manual, and the built-in changefeed, audit_logs, _llm_interactions.
      total_collections: 5,
      collections_with_policy: 3,
      auto_deletion_active: true,
      last_global_cleanup: newest,
    });
  });

  it('the report is rate-limited by THEMIS_RATE_LIMIT_AUDIT (429 RATE_LIMITED with Retry-After); the policy list is not', async () => {
    // One report was taken by the test above; two more are allowed.
    let last: Response | undefined;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      last = await s.req('GET', '/api/reports/retention?include_stats=false');
      statuses.push(last.status);
      if (last.status === 429) break;
      await last.text();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect((await last!.json()) as Body).toMatchObject({ code: 'RATE_LIMITED', status_code: 429 });
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await s.req('GET', '/api/retention')).status).toBe(200);
  });
});
