import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_SKIP_REASON, launchBrowser, openConsole, RUN_BROWSER, screenshotPath } from '../helpers/browser.js';
import { expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * The console's Overview and Data pages (docs/console.md) in a real browser: live health, version,
 * rates and charts; the tables with their exact counts, a table's pages, and creating, editing and
 * deleting a document through the UI, checked against the HTTP API.
 */

/**
 * The little of the DOM the functions run in the page use: the tests are type-checked without the DOM
 * library (it clashes with Node's fetch types), and the page's CSP forbids evaluating strings.
 */
interface PageDocument {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<{ dataset: Record<string, string | undefined> }>;
}

let s: StartedServer;
let browser: Browser | undefined;

const CITIES = ['Berlin', 'Lyon', 'Porto', 'Oslo', 'Vienna', 'Zurich', 'Ghent', 'Turin'];
const FIRST = ['Ada', 'Ben', 'Cleo', 'Dan', 'Eva', 'Finn', 'Gia', 'Hugo', 'Ines', 'Jon'];
const LAST = ['Meyer', 'Rossi', 'Silva', 'Berg', 'Novak'];
const key = (i: number) => `u${String(i).padStart(3, '0')}`;

function user(i: number) {
  const first = FIRST[i % FIRST.length]!;
  const last = LAST[i % LAST.length]!;
  return {
    name: `${first} ${last}`,
    city: CITIES[i % CITIES.length]!,
    age: 21 + ((i * 7) % 45),
    email: `${first.toLowerCase()}.${last.toLowerCase()}${i}@example.org`,
    active: i % 3 !== 0,
  };
}

beforeAll(async () => {
  s = await startServer();
  for (let i = 1; i <= 40; i++) await expectStatus(await s.req('PUT', `/entities/users:${key(i)}`, { blob: JSON.stringify(user(i)) }), 201);
  for (let i = 1; i <= 6; i++)
    await expectStatus(
      await s.req('PUT', `/entities/orders:o${i}`, { blob: JSON.stringify({ user: `users:${key(i)}`, total: i * 12.5, status: 'paid' }) }),
      201,
    );
});

afterAll(async () => {
  await browser?.close();
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

/** Requests against the server until stopped: reads, writes and an AQL query, so the charts have something to show. */
function traffic(): { stop: () => Promise<void> } {
  let running = true;
  const run = (async () => {
    let i = 0;
    while (running) {
      i++;
      await s.req('GET', `/entities/users:${key((i % 40) + 1)}`);
      if (i % 3 === 0) await s.req('PUT', `/entities/events:e${i}`, { blob: JSON.stringify({ n: i, at: new Date().toISOString() }) });
      if (i % 10 === 0) await s.req('POST', '/query/aql', { query: 'FOR u IN users FILTER u.age > 30 RETURN u.name' });
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await run;
    },
  };
}

/** A stat tile of the Overview page, by its label. */
const tile = (page: Page, name: string) => page.getByRole('group', { name, exact: true });

describe('console: Overview', () => {
  it.skipIf(!RUN_BROWSER)(`health, version, live rates and charts from /health, /metrics and /stats${BROWSER_SKIP_REASON}`, async () => {
    browser ??= await launchBrowser();
    const health = await json(await s.req('GET', '/health'));
    const { context, page, watch } = await openConsole(browser, s, { route: 'overview' });
    await tile(page, 'Health').getByText(String(health.status), { exact: true }).waitFor({ timeout: 15_000 });
    await expect(tile(page, 'Version').locator('.value').textContent()).resolves.toBe(health.version);
    await expect(tile(page, 'Health').textContent()).resolves.toContain(`writes ${health.writes}`);
    // Exact document count of the user tables (users 40 + orders 6; `vectors` is empty).
    await tile(page, 'Documents').getByText('46', { exact: true }).waitFor({ timeout: 15_000 });
    await expect(tile(page, 'Documents').textContent()).resolves.toContain('in 3 tables');
    expect(await page.locator('.ov-plot canvas').count()).toBeGreaterThanOrEqual(3);
    // Storage: the documents' JSON bytes, as GET /tables sums them.
    const tablesNow = (await json(await s.req('GET', '/tables'))).tables as { bytes: number }[];
    const bytes = tablesNow.reduce((n, t) => n + t.bytes, 0);
    await expect(tile(page, 'Storage size').locator('.value').textContent()).resolves.toBe(`${(bytes / 1024).toFixed(1)} KiB`);

    // Traffic while the page polls (every 2 s): the rates come from counter deltas between polls.
    const load = traffic();
    try {
      const value = async (name: string) => (await tile(page, name).locator('.value').textContent()) ?? '';
      const positive = (label: string, unit: string) =>
        page.waitForFunction(
          ([l, u]) => {
            const doc = (globalThis as unknown as { document: PageDocument }).document;
            const m = new RegExp(`^(\\d+(?:\\.\\d+)?) ${u}$`).exec(doc.querySelector(`[aria-label="${l}"] .value`)?.textContent ?? '');
            return m !== null && Number(m[1]) > 0;
          },
          [label, unit],
          { timeout: 15_000 },
        );
      await positive('Request rate', 'req/s');
      await positive('Commit rate', 'commits/s');
      expect(Number.parseFloat(await value('Request rate'))).toBeGreaterThan(0);
      await expect(value('Latency p95')).resolves.toMatch(/^\d+(\.\d+)? ms$/);
      // The charts hold points (one per poll after the first); ~6 s of traffic so they have lines.
      await page.waitForFunction(
        () =>
          Array.from((globalThis as unknown as { document: PageDocument }).document.querySelectorAll('figure.ov-chart')).every(
            (f) => Number(f.dataset.points) >= 5,
          ),
        undefined,
        { timeout: 20_000 },
      );
      await page.screenshot({ path: screenshotPath('console-overview.png') });
    } finally {
      await load.stop();
    }
    // Once the writes stop, the tile shows the change feed's head and oldest retained entry as /changefeed/stats does.
    const cf = await json(await s.req('GET', '/changefeed/stats'));
    expect(Number(cf.last_seq)).toBeGreaterThan(46);
    await tile(page, 'Change-feed lag')
      .getByText(`head seq ${cf.last_seq} − oldest retained seq ${cf.first_seq}`)
      .waitFor({ timeout: 15_000 });
    await expect(tile(page, 'Change-feed lag').locator('.value').textContent()).resolves.toBe(
      `${Number(cf.last_seq) - Number(cf.first_seq) + 1} changes`,
    );
    expect(watch.problems).toEqual([]);
    expect(watch.foreign()).toEqual([]);
    await context.close();
  });

  it.skipIf(!RUN_BROWSER)(`a key without stats:read sees health and the public rates, and a note${BROWSER_SKIP_REASON}`, async () => {
    browser ??= await launchBrowser();
    const created = await json(await s.req('POST', '/api/keys', { name: 'reader', permissions: ['data:read'] }));
    const { context, page, watch } = await openConsole(browser, s, { key: created.secret as string, route: 'overview' });
    await page.getByRole('note').getByText('stats:read').waitFor({ timeout: 15_000 });
    await page.getByRole('group', { name: 'Health' }).getByText('healthy', { exact: true }).waitFor({ timeout: 15_000 });
    // data:read: the documents' size from GET /tables, not LevelDB's figures (GET /stats).
    await tile(page, 'Storage size').getByText('documents’ JSON', { exact: true }).waitFor({ timeout: 15_000 });
    await expect(tile(page, 'Storage size').textContent()).resolves.not.toContain('on disk');
    expect(await page.getByRole('group', { name: 'Change-feed lag' }).count()).toBe(0);
    expect(watch.requested.filter((u) => u.endsWith('/stats'))).toEqual([]);
    expect(watch.problems).toEqual([]);
    await context.close();
  });
});

/** The text of the document editor (CodeMirror: one element per line). */
const editorText = async (page: Page) => (await page.locator('#doc-json .cm-line').allTextContents()).join('\n');

describe('console: Data', () => {
  it.skipIf(!RUN_BROWSER)(`tables with exact counts, paging, and create / edit / delete of a document${BROWSER_SKIP_REASON}`, async () => {
    browser ??= await launchBrowser();
    const { context, page, watch } = await openConsole(browser, s, { route: 'data' });
    const tables = page.getByRole('table', { name: 'Tables' });
    await tables.waitFor({ timeout: 15_000 });
    const usersRow = tables.getByRole('row').filter({ hasText: 'users' });
    await expect(usersRow.getByRole('cell').nth(1).textContent()).resolves.toBe('40');
    await expect(tables.getByRole('row').filter({ hasText: 'orders' }).getByRole('cell').nth(1).textContent()).resolves.toBe('6');

    // Enter on a focused row opens the table.
    await usersRow.focus();
    await page.keyboard.press('Enter');
    const range = page.locator('.data-range');
    await range.getByText('rows 1–25 of 40').waitFor({ timeout: 15_000 });
    expect(page.url()).toMatch(/#\/data\/users$/);
    const docs = page.getByRole('table', { name: 'Documents of users' });
    const keysShown = async () => (await docs.locator('tbody tr td:first-child').allTextContents()).map((k) => k.trim());
    expect(await keysShown()).toEqual(Array.from({ length: 25 }, (_, i) => key(i + 1)));
    await expect(docs.locator('thead th').allTextContents()).resolves.toEqual(['_key', 'name', 'city', 'age', 'email', 'active']);
    await expect(docs.locator('tbody tr').first().textContent()).resolves.toContain(user(1).email);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshotPath('console-data.png') });

    await page.getByRole('button', { name: 'Next' }).click();
    await range.getByText('rows 26–40 of 40').waitFor({ timeout: 15_000 });
    expect(await keysShown()).toEqual(Array.from({ length: 15 }, (_, i) => key(i + 26)));
    await expect(page.getByRole('button', { name: 'Next' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await range.getByText('rows 1–25 of 40').waitFor({ timeout: 15_000 });

    // Create a document through the form: stored exactly as entered (compact JSON text).
    const entered = { name: 'Zoe Adler', city: 'Lyon', age: 31, email: 'zoe.adler@example.org', tags: ['beta', 'vip'] };
    await page.getByRole('button', { name: 'New document' }).click();
    await page.getByLabel('Key', { exact: true }).fill('u999');
    await page.getByLabel('Document JSON').fill(JSON.stringify(entered, null, 2));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Document users:u999' }).waitFor({ timeout: 15_000 });
    const created = await s.req('GET', '/entities/users:u999');
    await expectStatus(created, 200);
    const createdBody = await json(created);
    expect(createdBody.blob).toBe(JSON.stringify(entered));
    expect(JSON.parse(createdBody.blob as string)).toEqual(entered);
    await range.getByText('rows 1–25 of 41').waitFor({ timeout: 15_000 });

    // Invalid JSON: an error in the page, nothing sent.
    const editor = page.getByLabel('Document JSON');
    // The editor (CodeMirror) shows the stored document, pretty-printed.
    await expect.poll(() => editorText(page), { timeout: 15_000 }).toBe(JSON.stringify(entered, null, 2));
    const sentBefore = watch.requested.filter((u) => u.includes('/entities')).length;
    await editor.fill('{"name": "Zoe Adler", "age": 3');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/Document JSON is not valid JSON/);
    await editor.fill('[1, 2]');
    await page.getByRole('button', { name: 'Save' }).click();
    // The alert above is still there with its old message until the click re-renders it: wait for the new one.
    await page
      .getByRole('alert')
      .filter({ hasText: /must be a JSON object/ })
      .waitFor({ timeout: 15_000 });
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/must be a JSON object/);
    expect(watch.requested.filter((u) => u.includes('/entities')).length).toBe(sentBefore);
    expect((await json(await s.req('GET', '/entities/users:u999'))).blob).toBe(JSON.stringify(entered));

    // Edit: Save replaces the document.
    const edited = { ...entered, age: 32, city: 'Porto' };
    await editor.fill(JSON.stringify(edited, null, 2));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText('Saved users:u999').waitFor({ timeout: 15_000 });
    expect(JSON.parse((await json(await s.req('GET', '/entities/users:u999'))).blob as string)).toEqual(edited);

    // Delete, confirmed inside the page.
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('group', { name: 'Confirm delete' });
    await confirm.waitFor({ timeout: 15_000 });
    await expectStatus(await s.req('GET', '/entities/users:u999'), 200);
    await confirm.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('heading', { name: 'Document users:u999' }).waitFor({ state: 'detached', timeout: 15_000 });
    await expectStatus(await s.req('GET', '/entities/users:u999'), 404);
    await range.getByText('rows 1–25 of 40').waitFor({ timeout: 15_000 });
    expect(page.url()).toMatch(/#\/data\/users$/);

    // A click on a row opens that document in the editor.
    await docs.getByRole('row').filter({ hasText: 'u007' }).click();
    await page.getByRole('heading', { name: 'Document users:u007' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => editorText(page), { timeout: 15_000 }).toBe(JSON.stringify(user(7), null, 2));
    expect(page.url()).toMatch(/#\/data\/users\/u007$/);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshotPath('console-document.png') });

    // A new table from the tables list: the list then shows it with its count.
    await page.getByRole('link', { name: 'All tables' }).click();
    await page.getByRole('table', { name: 'Tables' }).waitFor({ timeout: 15_000 });
    // A key that exists already: the server's 409 is shown and the stored document stays as it was.
    await page.getByLabel('Table', { exact: true }).fill('users');
    await page.getByLabel('Key', { exact: true }).fill('u001');
    await page.getByLabel('Document JSON').fill('{"name":"Someone else"}');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/\(409 CONFLICT\)/);
    expect(JSON.parse((await json(await s.req('GET', '/entities/users:u001'))).blob as string)).toEqual(user(1));
    await page.getByLabel('Table', { exact: true }).fill('notes');
    await page.getByLabel('Key', { exact: true }).fill('n1');
    await page.getByLabel('Document JSON').fill('{"title":"First note","pinned":true}');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Document notes:n1' }).waitFor({ timeout: 15_000 });
    expect((await json(await s.req('GET', '/entities/notes:n1'))).blob).toBe('{"title":"First note","pinned":true}');
    await page.getByRole('link', { name: 'All tables' }).click();
    await expect(
      page.getByRole('table', { name: 'Tables' }).getByRole('row').filter({ hasText: 'notes' }).getByRole('cell').nth(1).textContent(),
    ).resolves.toBe('1');

    expect(watch.problems).toEqual([]);
    expect(watch.foreign()).toEqual([]);
    await context.close();
  });
});
