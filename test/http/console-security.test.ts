import fs from 'node:fs';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_SKIP_REASON, launchBrowser, openConsole, RUN_BROWSER, screenshotPath } from '../helpers/browser.js';
import { expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * The console's Security & compliance page (docs/console.md) in a real browser: API keys (create with
 * the secret shown once, list, revoke with a confirm step), the audit log (filters, CSV export, chain
 * verification), reports (PDF download) and the PII classify playground; a key without admin sees
 * only the sections its permissions allow.
 */

const CSV_HEADER =
  'id,timestamp,user,userId,action,entityType,entityId,success,statusCode,ipAddress,sessionId,errorMessage,seq,method,route,oldValue,newValue';

let s: StartedServer;
let browser: Browser | undefined;
let auditorSecret = '';

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function createKey(body: Record<string, unknown>): Promise<{ keyId: string; secret: string }> {
  const r = await s.req('POST', '/api/keys', body);
  await expectStatus(r, 201);
  return json(r);
}

/** Waits until the named tab is the selected one (a click re-renders asynchronously, so a read right after may see the old state). */
async function selectedTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tab', { name, selected: true }).waitFor({ timeout: 15_000 });
}

/** RFC 4180: records of fields (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Clicks `click` and returns the file the page downloads. */
async function downloadOf(page: Page, click: () => Promise<void>): Promise<{ download: Download; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), click()]);
  const file = await download.path();
  return { download, bytes: fs.readFileSync(file) };
}

beforeAll(async () => {
  s = await startServer();
  // Realistic keys and traffic, so the lists, the audit log and the reports have something to show.
  const etl = await createKey({ name: 'etl-loader', permissions: ['data:read', 'data:write'], metadata: { owner: 'data-team' } });
  await createKey({ name: 'reporting-dashboard', permissions: ['audit:read', 'reports:read'], expires_in_days: 365 });
  const analytics = await createKey({
    name: 'analytics-readonly',
    permissions: ['data:read:orders', 'query:execute'],
    expires_in_days: 90,
    rate_limit: '100/s',
  });
  const legacy = await createKey({ name: 'legacy-ci-token', permissions: ['data:write'] });
  auditorSecret = (await createKey({ name: 'compliance-auditor', permissions: ['audit:read'] })).secret;
  await expectStatus(await s.req('DELETE', `/api/keys/${legacy.keyId}`), 200);
  const cities = ['Berlin', 'Hamburg', 'München', 'Köln', 'Leipzig', 'Dresden'];
  for (let i = 1; i <= 24; i++) {
    const doc = {
      name: `Customer ${i}`,
      city: cities[i % cities.length],
      plan: i % 3 === 0 ? 'pro' : 'basic',
      since: `2025-${String((i % 12) + 1).padStart(2, '0')}-01`,
    };
    await expectStatus(await s.req('PUT', `/entities/customers:c${i}`, { blob: doc }, bearer(etl.secret)), 201);
  }
  for (let i = 1; i <= 12; i++) {
    const order = { customer: `c${(i % 24) + 1}`, total: 19.9 * i, status: i % 4 === 0 ? 'refunded' : 'paid' };
    await expectStatus(await s.req('PUT', `/entities/orders:o${i}`, { blob: order }, bearer(etl.secret)), 201);
  }
  for (let i = 1; i <= 5; i++) await expectStatus(await s.req('GET', `/entities/orders:o${i}`, undefined, bearer(analytics.secret)), 200);
  // Refusals: a scoped key outside its table (403), a wrong key (401).
  await expectStatus(await s.req('GET', '/entities/customers:c1', undefined, bearer(analytics.secret)), 403);
  await expectStatus(await s.req('GET', '/api/whoami', undefined, bearer('tsk_not_a_real_key_0000000000000000000000000000')), 401);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

describe('the Security & compliance page', () => {
  it.skipIf(!RUN_BROWSER)(
    `admin: create a key (secret shown once), revoke it; the audit log shows both, filters, exports CSV and verifies; reports download as PDF; PII playground${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const { context, page, watch } = await openConsole(browser, s, { route: 'security/keys' });
      const tabs = page.getByRole('tablist', { name: 'Security sections' }).getByRole('tab');
      await expect(tabs.allTextContents()).resolves.toEqual(['API keys', 'Audit log', 'Reports', 'PII classify']);
      await selectedTab(page, 'API keys');

      // --- API keys: the seeded keys are listed (the revoked one marked), then create one.
      const keysTable = page.getByRole('table', { name: 'API keys' });
      await keysTable.getByText('analytics-readonly').waitFor({ timeout: 15_000 });
      await expect(keysTable.getByRole('row').filter({ hasText: 'legacy-ci-token' }).textContent()).resolves.toContain('revoked');
      await expect(keysTable.getByRole('row').filter({ hasText: 'etl-loader' }).textContent()).resolves.toContain('active');

      await page.getByLabel('Key name').fill('console-created');
      await page.getByRole('checkbox', { name: /^data:read / }).check();
      await page.getByRole('checkbox', { name: /^query:execute / }).check();
      await page.getByRole('button', { name: 'Create key' }).click();
      const secretBox = page.locator('.secret');
      await secretBox.waitFor({ timeout: 15_000 });
      const secret = (await secretBox.textContent())!.trim();
      expect(secret).toMatch(/^tsk_[A-Za-z0-9_-]{43}$/);
      await expect(page.getByRole('region', { name: 'New key secret' }).textContent()).resolves.toContain('will not be shown again');
      const me = await s.req('GET', '/api/whoami', undefined, bearer(secret));
      await expectStatus(me, 200);
      expect(await json(me)).toMatchObject({ kind: 'api_key', name: 'console-created', permissions: ['data:read', 'query:execute'] });
      await keysTable.getByText('console-created').waitFor({ timeout: 15_000 });
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: screenshotPath('console-keys.png') });

      // Dismiss clears it; a reload shows it nowhere either.
      await page.getByRole('button', { name: 'I have stored it: dismiss' }).click();
      await page.locator('.secret').waitFor({ state: 'detached', timeout: 15_000 });
      expect(await page.content()).not.toContain(secret);

      // Reload: the secret is gone from the page and the tab's storage; the key stays listed.
      await page.reload({ waitUntil: 'load' });
      const row = keysTable.getByRole('row').filter({ hasText: 'console-created' });
      await row.waitFor({ timeout: 15_000 });
      expect(await page.content()).not.toContain(secret);
      expect(await page.evaluate<string>('JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage })')).not.toContain(
        secret,
      );
      await expect(page.locator('.secret').count()).resolves.toBe(0);
      await expect(row.textContent()).resolves.toContain('active');

      // Revoke with the in-page confirm step: Cancel first keeps the key.
      await row.getByRole('button', { name: 'Revoke console-created' }).click();
      await row.getByRole('button', { name: 'Cancel' }).click();
      await expectStatus(await s.req('GET', '/api/whoami', undefined, bearer(secret)), 200);
      await row.getByRole('button', { name: 'Revoke console-created' }).click();
      await row.getByText('this cannot be undone').waitFor({ timeout: 15_000 });
      await row.getByRole('button', { name: 'Yes, revoke' }).click();
      await row.getByText('revoked').waitFor({ timeout: 15_000 });
      await expect(row.getByRole('button', { name: /Revoke/ }).count()).resolves.toBe(0);
      const gone = await s.req('GET', '/api/whoami', undefined, bearer(secret));
      await expectStatus(gone, 401);

      // --- Audit log: the key's creation and revocation are there.
      await page.getByRole('tab', { name: 'Audit log' }).click();
      await selectedTab(page, 'Audit log');
      const auditTable = page.getByRole('table', { name: 'Audit entries' });
      await auditTable.waitFor({ timeout: 15_000 });
      const actions = await auditTable.locator('tbody td.sec-action').allTextContents();
      expect(actions).toContain('CREATE_KEY');
      expect(actions).toContain('REVOKE_KEY');
      expect(actions).toContain('WHOAMI');
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await expect(page.getByRole('status').filter({ hasText: 'Hash chain intact' }).textContent({ timeout: 15_000 })).resolves.toMatch(
        /Hash chain intact: [\d,.]+ entries checked/,
      );
      await page.screenshot({ path: screenshotPath('console-audit.png') });

      // Filter by action: exactly the CREATE_KEY entries (5 seeded + 1 from the console).
      const expected = await json<{ totalCount: number }>(await s.req('GET', '/api/audit?action=CREATE_KEY'));
      expect(expected.totalCount).toBe(6);
      await page.getByLabel('Action', { exact: true }).fill('CREATE_KEY');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      // The unfiltered page stays shown until the filtered one arrives, and its count contains these words when it ends in 6
      // ("66 matching entries"; 65 now): wait for the count line that starts with exactly 6.
      await page
        .getByTestId('audit-count')
        .filter({ hasText: /^6 matching entries, showing 1–6 / })
        .waitFor({ timeout: 15_000 });
      const filtered = await auditTable.locator('tbody td.sec-action').allTextContents();
      expect(filtered).toEqual(Array(6).fill('CREATE_KEY'));
      await expect(auditTable.locator('tbody tr').count()).resolves.toBe(6);

      // CSV with the same filters: the documented header and one row per matching entry.
      const csv = await downloadOf(page, () => page.getByRole('button', { name: 'Download CSV' }).click());
      expect(csv.download.suggestedFilename()).toMatch(/^audit-\d{8}-\d{6}\.csv$/);
      const records = parseCsv(csv.bytes.toString('utf8'));
      expect(records[0]!.join(',')).toBe(CSV_HEADER);
      const rows = records.slice(1);
      expect(rows).toHaveLength(6);
      expect(rows.map((r) => r[4])).toEqual(Array(6).fill('CREATE_KEY'));
      expect(rows.map((r) => r[6])).toContain(
        JSON.parse(await (await s.req('GET', '/api/keys?include_revoked=true')).text()).keys.at(-1).keyId,
      );

      // --- Reports: the audit report's summary inline, its PDF downloads.
      await page.getByRole('tab', { name: 'Reports' }).click();
      const auditReport = page.getByRole('region', { name: 'Audit report' });
      await auditReport.getByRole('table', { name: 'Top actions' }).waitFor({ timeout: 15_000 });
      await expect(auditReport.getByRole('table', { name: 'Top actions' }).textContent()).resolves.toContain('PUT_ENTITY');
      await expect(auditReport.getByRole('table', { name: 'Top users' }).textContent()).resolves.toContain('etl-loader');
      await page.screenshot({ path: screenshotPath('console-reports.png') });
      const pdf = await downloadOf(page, () => auditReport.getByRole('button', { name: 'Download PDF' }).click());
      expect(pdf.bytes.subarray(0, 4).toString('latin1')).toBe('%PDF');
      expect(pdf.download.suggestedFilename()).toMatch(/^themis-audit-report-.*\.pdf$/);
      const compliance = page.getByRole('region', { name: 'Compliance report (GDPR)' });
      const cpdf = await downloadOf(page, () => compliance.getByRole('button', { name: 'Download PDF' }).click());
      expect(cpdf.bytes.subarray(0, 4).toString('latin1')).toBe('%PDF');

      // --- PII: an e-mail address and an IBAN are found and highlighted.
      await page.getByRole('tab', { name: 'PII classify' }).click();
      const text =
        'Sehr geehrte Frau Schmidt,\nbitte überweisen Sie den Betrag auf IBAN DE89370400440532013000.\nRückfragen an anna.schmidt@example.org oder Tel. +49 30 1234567.';
      await page.getByLabel('Text to classify').fill(text);
      await page.getByRole('button', { name: 'Classify', exact: true }).click();
      const findings = page.getByRole('table', { name: 'Findings' });
      await findings.waitFor({ timeout: 15_000 });
      const found = (await findings.locator('tbody tr').allTextContents()).join('\n');
      expect(found).toMatch(/email\s*anna\.schmidt@example\.org/);
      expect(found).toMatch(/iban\s*DE89370400440532013000/);
      const marks = await page.locator('.sec-highlight mark').allTextContents();
      expect(marks).toContain('anna.schmidt@example.org');
      expect(marks).toContain('DE89370400440532013000');
      await page.screenshot({ path: screenshotPath('console-pii.png') });

      expect(watch.foreign()).toEqual([]);
      expect(watch.problems).toEqual([]);
      await context.close();
    },
    180_000,
  );

  it.skipIf(!RUN_BROWSER)(
    `a key with only audit:read sees the Audit log tab, not API keys${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const { context, page, watch } = await openConsole(browser, s, { key: auditorSecret, route: 'security/keys' });
      const tabs = page.getByRole('tablist', { name: 'Security sections' }).getByRole('tab');
      await tabs.first().waitFor({ timeout: 15_000 });
      await expect(tabs.allTextContents()).resolves.toEqual(['Audit log']);
      await selectedTab(page, 'Audit log');
      const auditTable = page.getByRole('table', { name: 'Audit entries' });
      await auditTable.waitFor({ timeout: 15_000 });
      expect(await auditTable.locator('tbody tr').count()).toBeGreaterThan(10);
      await expect(page.getByRole('table', { name: 'API keys' }).count()).resolves.toBe(0);
      await expect(page.getByLabel('Key name').count()).resolves.toBe(0);
      // The page never asked for the key list (it would be 403 for this key).
      expect(watch.requested.filter((u) => new URL(u).pathname === '/api/keys')).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      expect(watch.problems).toEqual([]);
      await context.close();
    },
    60_000,
  );
});
