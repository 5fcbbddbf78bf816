import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, sleep, startServer, type StartedServer } from '../helpers/server.js';

/**
 * GET /api/audit/export/csv (issue 16): the rows of GET /api/audit for the
 * same filters, hostile values round-tripping through RFC 4180 quoting, the
 * CSV-injection prefix, paging and `all=true`, no secret in the export, 400
 * before any CSV, 401/403/429.
 */

type Entry = Record<string, string | number | boolean | null>;
type Page = { entries: Entry[]; totalCount: number; page: number; pageSize: number; hasMore: boolean };

const HEADER =
  'id,timestamp,user,userId,action,entityType,entityId,success,statusCode,ipAddress,sessionId,errorMessage,seq,method,route,oldValue,newValue';
const COLUMNS = HEADER.split(',');
const NUMERIC = new Set(['id', 'statusCode', 'seq']);

/** An entry as the CSV shows it, with the injection prefix undone: every cell as text ('' for null). */
const asCells = (e: Entry): string[] => COLUMNS.map((c) => (e[c] === null ? '' : String(e[c])));
/** A parsed CSV row with the documented escaping undone (one leading `'` of a text cell). */
const unescaped = (row: string[]): string[] => row.map((v, i) => (!NUMERIC.has(COLUMNS[i]!) && v.startsWith("'") ? v.slice(1) : v));

async function exportCsv(
  s: StartedServer,
  q: string,
  headers?: Record<string, string>,
): Promise<{ res: Response; text: string; rows: string[][] }> {
  const res = await s.req('GET', `/api/audit/export/csv${q}`, undefined, headers);
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(200);
  const rows = parse(text, { record_delimiter: '\r\n', relax_column_count: false }) as string[][];
  expect(rows[0]!.join(',')).toBe(HEADER);
  return { res, text, rows: rows.slice(1) };
}

async function auditAll(s: StartedServer, q: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let page = 1; ; page++) {
    const r = await call(s, 'GET', `/api/audit?${q}&page=${page}&page_size=1000`);
    expect(r.status).toBe(200);
    const p = r.body as unknown as Page;
    out.push(...p.entries);
    if (!p.hasMore) return out;
  }
}

const HOSTILE_NAMES = ["=cmd|' /C calc'!A0", '+SUM(1,2) "quoted"', '-2+3', '@evil', "'apostrophe", 'comma, "quote", ünïcödé ☃ 🙂'];
const HOSTILE_PKS = [
  '=1+2',
  'a,b',
  'say "hi"',
  'line1\nline2',
  'cr\r\nlf',
  '@x',
  '-y',
  '+z',
  '\ttab',
  '＝full',
  'ünï ☃ 🙂 中文',
  "'q",
  'x:y/z',
];

describe('GET /api/audit/export/csv', () => {
  let s: StartedServer;
  const secrets: string[] = [];
  const keyIds: string[] = [];

  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_AUTH_FAIL_LIMIT: 'off', THEMIS_RATE_LIMIT_AUDIT: 'off' } });
    for (const name of HOSTILE_NAMES) {
      const r = await call(s, 'POST', '/api/keys', { name, permissions: ['data:read'] });
      expect(r.status).toBe(201);
      secrets.push(r.body.secret as string);
      keyIds.push(r.body.keyId as string);
    }
    for (const pk of HOSTILE_PKS) {
      const r = await s.req('PUT', `/entities/${encodeURIComponent(`hostile:${pk}`)}`, { blob: { pk } });
      expect(r.status, pk).toBe(201);
    }
    // A table name may start with '-': the entityType and entityId cells then start with it.
    expect((await s.req('PUT', `/entities/${encodeURIComponent('-cmd:=1+2')}`, { blob: {} })).status).toBe(201);
    // Each hostile key reads each hostile entity: the names land in `user`, the keys in `entityId`.
    for (const secret of secrets)
      for (const pk of HOSTILE_PKS) {
        const r = await s.req('GET', `/entities/${encodeURIComponent(`hostile:${pk}`)}`, undefined, { authorization: `Bearer ${secret}` });
        expect(r.status).toBe(200);
      }
  });
  afterAll(async () => {
    if (!s) return;
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('headers: text/csv, an attachment named audit-<timestamp>.csv', async () => {
    const { res } = await exportCsv(s, '?entity_type=hostile');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{8}T\d{6}Z\.csv"$/);
    expect(res.headers.get('x-total-count')).toBe(String(HOSTILE_PKS.length * (1 + HOSTILE_NAMES.length)));
    // HEAD: the same headers, no body (not an event stream's).
    const head = await s.req('HEAD', '/api/audit/export/csv?entity_type=hostile');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(head.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{8}T\d{6}Z\.csv"$/);
    expect(await head.text()).toBe('');
  });

  it("hostile values round-trip exactly: the rows are GET /api/audit's entries for the same filters", async () => {
    const expected = await auditAll(s, 'entity_type=hostile');
    expect(expected).toHaveLength(HOSTILE_PKS.length * (1 + HOSTILE_NAMES.length));
    const { rows } = await exportCsv(s, '?entity_type=hostile');
    expect(rows.map(unescaped)).toEqual(expected.map(asCells));
    // Every hostile key and name is in there, exactly.
    const col = (c: string) => new Set(rows.map((r) => unescaped(r)[COLUMNS.indexOf(c)]));
    for (const pk of HOSTILE_PKS) expect(col('entityId').has(`hostile:${pk}`), JSON.stringify(pk)).toBe(true);
    for (const n of HOSTILE_NAMES) expect(col('user').has(n), n).toBe(true);
    // A filter on a hostile name: the same entries as GET /api/audit.
    const q = `user=${encodeURIComponent(HOSTILE_NAMES[5]!)}&entity_type=hostile`;
    const byUser = await exportCsv(s, `?${q}`);
    expect(byUser.rows.map(unescaped)).toEqual((await auditAll(s, q)).map(asCells));
    expect(byUser.rows).toHaveLength(HOSTILE_PKS.length);
  });

  it("cells starting with = + - @ tab CR or ' come out prefixed with ' (no formula reaches a spreadsheet)", async () => {
    const { rows, text } = await exportCsv(s, '?entity_type=hostile');
    const users = new Set(rows.map((r) => r[COLUMNS.indexOf('user')]));
    for (const n of HOSTILE_NAMES) {
      const dangerous = /^[=+\-@\t\r']/.test(n);
      expect(users.has(dangerous ? `'${n}` : n), n).toBe(true);
      if (dangerous) expect(users.has(n), n).toBe(false);
    }
    // No cell of any row starts with a formula character.
    for (const r of rows)
      for (const [i, v] of r.entries())
        if (!NUMERIC.has(COLUMNS[i]!)) expect(v, `${COLUMNS[i]}=${JSON.stringify(v)}`).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
    // A table starting with '-': entityType and entityId prefixed, and the round trip exact.
    const dash = await exportCsv(s, '?entity_type=-cmd');
    expect(dash.rows).toHaveLength(1);
    expect(dash.rows[0]![COLUMNS.indexOf('entityType')]).toBe("'-cmd");
    expect(dash.rows[0]![COLUMNS.indexOf('entityId')]).toBe("'-cmd:=1+2");
    expect(dash.rows.map(unescaped)).toEqual((await auditAll(s, 'entity_type=-cmd')).map(asCells));
    // RFC 4180: CRLF line ends; the quoted newline of a pk is inside a quoted field.
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text).toContain('"hostile:line1\nline2"');
    expect(text).toContain('"hostile:say ""hi"""');
  });

  it('no secret of a created key appears anywhere in the export', async () => {
    const { text } = await exportCsv(s, '?all=true');
    expect(secrets).toHaveLength(HOSTILE_NAMES.length);
    for (const secret of secrets) expect(text).not.toContain(secret);
    for (const id of keyIds) expect(text).toContain(id); // the key ids are there (userId), the secrets are not
  });

  it('paging and all=true over a few thousand entries: the same rows as GET /api/audit, newest first', async () => {
    const N = 3000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          const i = next++;
          const r = await s.req('GET', `/entities/bulk:${i}`);
          expect(r.status).toBe(404);
          await r.text();
        }
      }),
    );
    const expected = (await auditAll(s, 'entity_type=bulk')).map(asCells);
    expect(expected).toHaveLength(N);
    const ids = expected.map((c) => Number(c[0]));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const all = await exportCsv(s, '?entity_type=bulk&all=true');
    expect(all.rows.map(unescaped)).toEqual(expected);
    expect(all.res.headers.get('x-total-count')).toBeNull();
    // Default page: page 1 of 10,000 -> every one of the 3000.
    expect((await exportCsv(s, '?entity_type=bulk')).rows.map(unescaped)).toEqual(expected);
    const paged: string[][] = [];
    for (let page = 1; page <= 4; page++) {
      const p = await exportCsv(s, `?entity_type=bulk&page=${page}&page_size=700`);
      expect(p.res.headers.get('x-total-count')).toBe(String(N));
      expect(p.res.headers.get('x-has-more')).toBe(String(page * 700 < N));
      expect(p.rows).toHaveLength(700);
      paged.push(...p.rows.map(unescaped));
    }
    const p5 = await exportCsv(s, '?entity_type=bulk&page=5&page_size=700');
    expect(p5.rows).toHaveLength(N - 4 * 700);
    expect(p5.res.headers.get('x-has-more')).toBe('false');
    paged.push(...p5.rows.map(unescaped));
    expect(paged).toEqual(expected);
    expect((await exportCsv(s, '?entity_type=bulk&page=6&page_size=700')).rows).toEqual([]);

    // The whole log up to a moment: all=true equals GET /api/audit, with no filter but time.
    const end = Date.now();
    await sleep(5);
    const whole = (await auditAll(s, `end=${end}`)).map(asCells);
    const wholeCsv = await exportCsv(s, `?all=true&end=${end}`);
    expect(wholeCsv.rows.map(unescaped)).toEqual(whole);
    expect(whole.length).toBeGreaterThan(N + HOSTILE_PKS.length * HOSTILE_NAMES.length);
  });

  it('a slow reader gets every row (backpressure), and a reader that goes away does not hurt the server', async () => {
    const expected = (await auditAll(s, 'entity_type=bulk')).map(asCells);
    const res = await s.req('GET', '/api/audit/export/csv?entity_type=bulk&all=true');
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      await sleep(20);
    }
    const rows = parse(Buffer.concat(parts).toString('utf8'), { record_delimiter: '\r\n' }) as string[][];
    expect(rows.slice(1).map(unescaped)).toEqual(expected);

    for (let i = 0; i < 5; i++) {
      const ctl = new AbortController();
      const r = await fetch(`${s.base}/api/audit/export/csv?all=true`, {
        headers: { authorization: `Bearer test-admin-key-0123456789` },
        signal: ctl.signal,
      });
      const rd = r.body!.getReader();
      await rd.read();
      ctl.abort();
      await rd.read().catch(() => undefined);
    }
    expect((await s.req('GET', '/health/ready')).status).toBe(200);
    expect((await exportCsv(s, '?entity_type=bulk&all=true')).rows).toHaveLength(expected.length);
  });

  it('invalid parameters: 400 VALIDATION_FAILED naming the field, as JSON, before any CSV', async () => {
    const cases: [string, string][] = [
      ['page_size=10001', 'page_size'],
      ['page_size=0', 'page_size'],
      ['page=0', 'page'],
      ['page=x', 'page'],
      ['start=yesterday', 'start'],
      ['end=nope', 'end'],
      ['start=2000&end=1000', 'start'],
      ['success=maybe', 'success'],
      ['all=maybe', 'all'],
      ['all=true&page=2', 'all'],
      ['all=true&page_size=10', 'all'],
      [`user=${'u'.repeat(1025)}`, 'user'],
    ];
    for (const [q, field] of cases) {
      const r = await s.req('GET', `/api/audit/export/csv?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.headers.get('content-type'), q).toMatch(/^application\/json/);
      const body = (await r.json()) as Record<string, unknown>;
      expect(body.code, q).toBe('VALIDATION_FAILED');
      expect(body.field, q).toBe(field);
    }
    // The boundary is accepted.
    await exportCsv(s, '?page_size=10000&entity_type=none');
  });

  it('401 without a credential, 403 without audit:read; the export is itself audited (EXPORT_AUDIT)', async () => {
    const none = await s.req('GET', '/api/audit/export/csv', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as Record<string, unknown>).code).toBe('UNAUTHORIZED');
    const forbidden = await call(s, 'GET', '/api/audit/export/csv', undefined, { authorization: `Bearer ${secrets[0]!}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    const reader = await call(s, 'POST', '/api/keys', { name: 'auditor', permissions: ['audit:read'] });
    const ok = await s.req('GET', '/api/audit/export/csv?entity_type=hostile', undefined, {
      authorization: `Bearer ${reader.body.secret as string}`,
    });
    expect(ok.status).toBe(200);
    await ok.text();
    const logged = (await call(s, 'GET', '/api/audit?action=EXPORT_AUDIT&page_size=1000')).body as unknown as Page;
    expect(logged.entries.map((e) => [e.user, e.statusCode, e.success])).toContainEqual(['auditor', 200, true]);
    expect(logged.entries.map((e) => e.statusCode)).toContain(403);
  });

  it('rate-limited with the audit routes (429 with Retry-After and X-RateLimit-*)', async () => {
    const t = await startServer({ env: { THEMIS_RATE_LIMIT_AUDIT: '3/min' } });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await t.req('GET', '/api/audit/export/csv');
        expect(r.status).toBe(200);
        expect(r.headers.get('x-ratelimit-limit')).toBe('3');
        await r.text();
      }
      const r = await t.req('GET', '/api/audit/export/csv');
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).not.toBeNull();
      expect(((await r.json()) as Record<string, unknown>).code).toBe('RATE_LIMITED');
    } finally {
      expect(await t.stop()).toBe(0);
      fs.rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
