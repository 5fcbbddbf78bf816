// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText is the rendered text (the editor's lines joined by line breaks), which the tests compare
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_SKIP_REASON, launchBrowser, openConsole, RUN_BROWSER, screenshotPath } from '../helpers/browser.js';
import { expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * The console's AQL and Indexes pages (docs/console.md) in a real browser: a query typed into the
 * CodeMirror editor gives the rows POST /query/aql gives; bind variables; a syntax error is shown
 * with its line and column and marked in the editor; the query history; explain before and after
 * an index created on the Indexes page (the plan tree names it); drop through the page; fulltext
 * and vector indexes created through the page listed with their kinds.
 */

const CITIES = ['Berlin', 'Hamburg', 'Munich', 'Cologne', 'Frankfurt'];
const FIRST = ['Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Greta', 'Hannah', 'Jonas', 'Lena'];
const LAST = ['Schmidt', 'Weber', 'Fischer', 'Wagner', 'Becker'];
const Q_BERLIN = 'FOR u IN users FILTER u.city == "Berlin" SORT u.age RETURN u';
const Q_BIND = 'FOR u IN users FILTER u.city == @city SORT u.age RETURN u';

let s: StartedServer;
let browser: Browser | undefined;

beforeAll(async () => {
  s = await startServer();
  const ops: unknown[] = [];
  for (let i = 0; i < 50; i++) {
    const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`;
    ops.push({
      op: 'put',
      key: `users:u${String(i).padStart(2, '0')}`,
      blob: {
        name,
        age: 20 + ((i * 7) % 45),
        city: CITIES[(i * 3 + Math.floor(i / 7)) % CITIES.length],
        email: `${name.toLowerCase().replace(' ', '.')}@example.com`,
      },
    });
  }
  const topics = [
    ['Foxes in the city', 'The quick brown fox crosses the river at dawn.'],
    ['Release notes', 'Version 2 fixes forty bugs and speeds up indexing.'],
    ['River walks', 'A walk along the river, past the old mill and the bridge.'],
    ['Index tuning', 'Range indexes serve sorted scans; equality indexes serve lookups.'],
    ['Vector search', 'Nearest neighbours over embeddings with HNSW graphs.'],
    ['Fulltext basics', 'BM25 ranks documents by term frequency and rarity.'],
  ];
  topics.forEach(([title, body], i) => {
    ops.push({ op: 'put', key: `articles:a${i}`, blob: { title, body, embedding: [Math.cos(i), Math.sin(i), i / 6, 1 - i / 6] } });
  });
  await expectStatus(await s.req('POST', '/transaction', { operations: ops }), 200);
});

afterAll(async () => {
  await browser?.close();
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

async function aql(body: Record<string, unknown>) {
  const r = await s.req('POST', '/query/aql', body);
  await expectStatus(r, 200);
  return (await json(r)) as { count: number; entities: string[]; plan: { indexes: unknown[] } };
}

/** Replaces the editor's text by typing it (lines joined with Enter). */
async function typeQuery(page: Page, text: string) {
  const editor = page.getByRole('textbox', { name: 'AQL query' });
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (i > 0) await page.keyboard.press('Enter');
    await page.keyboard.type(line);
  }
  await expect.poll(() => editor.innerText(), { timeout: 15_000 }).toBe(text);
}

/** The `name` column of the results table. */
async function resultNames(page: Page): Promise<string[]> {
  const table = page.getByRole('table', { name: 'Query results' });
  await table.waitFor({ timeout: 15_000 });
  const headers = await table.locator('thead th').allInnerTexts();
  const col = headers.indexOf('name');
  expect(col).toBeGreaterThanOrEqual(0);
  return table.locator(`tbody tr td:nth-child(${col + 1})`).allInnerTexts();
}

async function gotoPage(page: Page, title: string) {
  await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: title, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor({ timeout: 15_000 });
}

async function indexNames(): Promise<string[]> {
  const r = await s.req('GET', '/index/stats');
  await expectStatus(r, 200);
  return ((await json(r)).indexes as { name: string }[]).map((i) => i.name);
}

describe('the AQL and Indexes pages in a browser', () => {
  it.skipIf(!RUN_BROWSER)(
    `AQL: a typed query shows the rows the API returns; bind variables; invalid bind JSON sends nothing; a syntax error names its line and column and marks it in the editor; the history lists the queries${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const { context, page, watch } = await openConsole(browser, s, { route: 'aql' });
      await page.getByRole('heading', { level: 1, name: 'AQL' }).waitFor({ timeout: 15_000 });

      // The query typed into the editor and run with the button: the same rows as the API, in order.
      const api = await aql({ query: Q_BERLIN });
      const apiNames = api.entities.map((e) => (JSON.parse(e) as { name: string }).name);
      expect(apiNames.length).toBe(11);
      await typeQuery(page, Q_BERLIN);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await expect.poll(() => resultNames(page), { timeout: 15_000 }).toEqual(apiNames);
      await expect(page.locator('.aql-summary').innerText()).resolves.toMatch(/^11 rows · \d+ ms$/);
      // The JSON tab holds the documents as objects.
      await page.getByRole('tab', { name: 'JSON' }).click();
      const shown = JSON.parse(await page.getByLabel('Query results as JSON').innerText()) as { name: string; city: string }[];
      expect(shown.map((d) => d.name)).toEqual(apiNames);
      expect(new Set(shown.map((d) => d.city))).toEqual(new Set(['Berlin']));
      await page.getByRole('tab', { name: 'Table' }).click();

      // A cursor: pages of the chosen size, "Load more" until the last.
      await typeQuery(page, 'FOR u IN users SORT u.name RETURN u.name');
      await page.getByLabel('Page size').fill('20');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      const summary = page.locator('.aql-summary');
      await expect.poll(() => summary.innerText(), { timeout: 15_000 }).toMatch(/^20 rows so far \(more available\)/);
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => summary.innerText(), { timeout: 15_000 }).toMatch(/^40 rows so far/);
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => summary.innerText(), { timeout: 15_000 }).toMatch(/^50 rows · /);
      expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
      const allNames = (await aql({ query: 'FOR u IN users SORT u.name RETURN u.name' })).entities;
      const cells = await page.getByRole('table', { name: 'Query results' }).locator('tbody td').allInnerTexts();
      expect(cells).toEqual(allNames);
      await page.getByLabel('Page size').fill('100');

      // Bind variables, and Ctrl-Enter in the editor runs.
      const hamburg = await aql({ query: Q_BIND, bind_vars: { city: 'Hamburg' } });
      const hamburgNames = hamburg.entities.map((e) => (JSON.parse(e) as { name: string }).name);
      await typeQuery(page, Q_BIND);
      await page.getByLabel('Bind variables').fill('{"city": "Hamburg"}');
      await page.getByRole('textbox', { name: 'AQL query' }).press('Control+Enter');
      await expect.poll(() => resultNames(page), { timeout: 15_000 }).toEqual(hamburgNames);
      expect(hamburgNames).not.toEqual(apiNames);

      // Invalid bind variables: an error, and no request.
      const before = watch.requested.filter((u) => u.endsWith('/query/aql')).length;
      await page.getByLabel('Bind variables').fill('{"city": ');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await expect(page.getByRole('alert').innerText()).resolves.toContain('Bind variables is not valid JSON');
      expect(watch.requested.filter((u) => u.endsWith('/query/aql')).length).toBe(before);
      await page.getByLabel('Bind variables').fill('{}');

      // A syntax error on line 3: the server's message, and the editor's cursor and mark on that line.
      const bad = 'FOR u IN users\nFILTER u.city ==\nRETURN u';
      const r = await s.req('POST', '/query/aql', { query: bad });
      await expectStatus(r, 400);
      const err = (await json(r)) as { message: string; line: number; column: number };
      expect(err).toMatchObject({ line: 3, column: 1 });
      await typeQuery(page, bad);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      const alert = page.getByRole('alert');
      // The bind-variables alert above stays until this run clears it: wait for the server's message, not just any alert.
      await alert.filter({ hasText: err.message }).waitFor({ timeout: 15_000 });
      expect(await alert.innerText()).toContain(err.message);
      expect(err.message).toContain('line 3, column 1');
      await page.getByRole('button', { name: 'Go to line 3, column 1' }).waitFor({ timeout: 15_000 });
      await expect(page.locator('.cm-line.cm-aql-error-line').allInnerTexts()).resolves.toEqual(['RETURN u']);
      await expect(page.locator('.cm-aql-error-mark').innerText()).resolves.toBe('RETURN');
      await expect(page.locator('.cm-line.cm-activeLine').innerText()).resolves.toBe('RETURN u');
      // Editing clears the mark.
      await page.keyboard.type('x');
      await expect.poll(() => page.locator('.cm-aql-error-line').count(), { timeout: 15_000 }).toBe(0);

      // The history: the two queries that ran (newest first, with the bind variables), not the failed one.
      const history = page.getByRole('list', { name: 'Query history' }).getByRole('listitem');
      await expect
        .poll(() => history.allInnerTexts(), { timeout: 15_000 })
        .toEqual([`${Q_BIND}\n{"city": "Hamburg"}`, 'FOR u IN users SORT u.name RETURN u.name', Q_BERLIN]);
      // Clicking an entry restores it.
      await history.nth(2).getByRole('button').click();
      await expect.poll(() => page.getByRole('textbox', { name: 'AQL query' }).innerText(), { timeout: 15_000 }).toBe(Q_BERLIN);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await expect.poll(() => resultNames(page), { timeout: 15_000 }).toEqual(apiNames);
      // Running it again moves it to the top instead of repeating it.
      await expect
        .poll(() => history.allInnerTexts(), { timeout: 15_000 })
        .toEqual([Q_BERLIN, `${Q_BIND}\n{"city": "Hamburg"}`, 'FOR u IN users SORT u.name RETURN u.name']);
      const stored = JSON.parse((await page.evaluate<string | null>("localStorage.getItem('themis.console.aqlHistory')")) ?? '[]') as {
        query: string;
      }[];
      expect(stored.map((h) => h.query)).toEqual([Q_BERLIN, Q_BIND, 'FOR u IN users SORT u.name RETURN u.name']);
      await page.screenshot({ path: screenshotPath('console-aql.png') });

      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
    120_000,
  );

  it.skipIf(!RUN_BROWSER)(
    `AQL: the warnings of a run (ArangoDB codes) are listed under the summary, also those of later pages${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const { context, page, watch } = await openConsole(browser, s, { route: 'aql' });
      await page.getByRole('heading', { level: 1, name: 'AQL' }).waitFor({ timeout: 15_000 });
      const warnings = page.getByRole('status', { name: 'Query warnings' });

      // No warnings: no list.
      await typeQuery(page, 'RETURN 1 + 1');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await expect.poll(() => page.locator('.aql-summary').innerText(), { timeout: 15_000 }).toMatch(/^1 row · /);
      expect(await warnings.count()).toBe(0);

      // Two warnings, as the API reports them.
      const q = "RETURN [1 / 0, REGEX_TEST('abc', '(')]";
      const api = (await json(await s.req('POST', '/query/aql', { query: q }))) as {
        extra: { warnings: { code: number; message: string }[] };
      };
      expect(api.extra.warnings.map((w) => w.code)).toEqual([1562, 1543]);
      await typeQuery(page, q);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await warnings.waitFor({ timeout: 15_000 });
      const items = warnings.getByRole('listitem');
      await expect.poll(() => items.allInnerTexts(), { timeout: 15_000 }).toEqual(api.extra.warnings.map((w) => `${w.code} ${w.message}`));
      expect(await warnings.innerText()).toMatch(/^2 warnings/);

      // A cursor: the warnings of later pages are added.
      await typeQuery(page, 'FOR i IN 1..30 RETURN i > 20 ? i / 0 : i');
      await page.getByLabel('Page size').fill('10');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await expect.poll(() => page.locator('.aql-summary').innerText(), { timeout: 15_000 }).toMatch(/^10 rows so far/);
      await page.getByRole('button', { name: 'Load more' }).click();
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => page.locator('.aql-summary').innerText(), { timeout: 15_000 }).toMatch(/^30 rows · /);
      // Ten warnings (rows 21..30), all listed: ArangoDB's default max_warning_count is 10.
      await expect.poll(() => items.count(), { timeout: 15_000 }).toBe(10);
      expect(await warnings.innerText()).toMatch(/^10 warnings/);
      await page.getByLabel('Page size').fill('100');

      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
    120_000,
  );

  it.skipIf(!RUN_BROWSER)(
    `explain without an index, create users.city on the Indexes page, explain again: the plan tree names the index; drop it through the page${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const { context, page, watch } = await openConsole(browser, s, { route: 'aql' });
      await page.getByRole('heading', { level: 1, name: 'AQL' }).waitFor({ timeout: 15_000 });
      expect(await indexNames()).not.toContain('users.city');

      // Without an index: a full scan, no index in the plan.
      await typeQuery(page, Q_BERLIN);
      await page.getByRole('button', { name: 'Explain' }).click();
      const plan = page.locator('.plan');
      await plan.waitFor({ timeout: 15_000 });
      await expect.poll(() => plan.innerText(), { timeout: 15_000 }).toContain('Indexes used (0)');
      expect(await plan.innerText()).toContain('full scan');
      expect(await plan.locator('.plan-index').count()).toBe(0);
      expect(await page.getByRole('table', { name: 'Query results' }).count()).toBe(0);

      // Create the index through the Indexes page, and check it exists through the API.
      await gotoPage(page, 'Indexes');
      await page.getByLabel('Index kind').selectOption('equality');
      await page.getByLabel('Table', { exact: true }).fill('users');
      await page.getByLabel('Columns').fill('city');
      await page.getByRole('button', { name: 'Create index' }).click();
      await page.getByRole('status').filter({ hasText: 'Created equality index users.city.' }).waitFor({ timeout: 15_000 });
      expect(await indexNames()).toContain('users.city');
      const row = page.getByRole('table', { name: 'Indexes' }).locator('tr[data-index="users.city"]');
      await row.waitFor({ timeout: 15_000 });
      expect(await row.innerText()).toContain('50 entries');

      // Explain again: the plan tree names the index the planner picked.
      const api = await aql({ query: Q_BERLIN, explain: true });
      expect(api.plan.indexes).toEqual([expect.objectContaining({ collection: 'users', type: 'equality', attribute: 'city' })]);
      await gotoPage(page, 'AQL');
      await typeQuery(page, Q_BERLIN);
      await page.getByRole('button', { name: 'Explain' }).click();
      await expect.poll(() => plan.innerText(), { timeout: 15_000 }).toContain('Indexes used (1)');
      const badges = await plan.locator('.plan-index').allInnerTexts();
      expect(badges).toEqual(['index users.city (equality)', 'index users.city (equality)']);
      expect(await plan.innerText()).toContain('index eq');
      await plan.scrollIntoViewIfNeeded();
      await page.screenshot({ path: screenshotPath('console-explain.png') });

      // Drop it through the page (with the in-page confirmation); the API no longer lists it.
      await gotoPage(page, 'Indexes');
      await row.waitFor({ timeout: 15_000 });
      await row.getByRole('button', { name: 'Drop users.city' }).click();
      await row.getByRole('button', { name: 'Yes, drop' }).click();
      await page.getByRole('status').filter({ hasText: 'Dropped equality index users.city.' }).waitFor({ timeout: 15_000 });
      await expect.poll(() => indexNames(), { timeout: 15_000 }).not.toContain('users.city');
      await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);

      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
    120_000,
  );

  it.skipIf(!RUN_BROWSER)(
    `Indexes: fulltext and vector indexes created through the page are listed with their kinds; a server error is shown${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const { context, page, watch } = await openConsole(browser, s, { route: 'indexes' });
      await page.getByRole('heading', { level: 1, name: 'Indexes' }).waitFor({ timeout: 15_000 });
      const table = page.getByRole('table', { name: 'Indexes' });
      // A composite unique index made through the API is listed too (after a refresh).
      await expectStatus(await s.req('POST', '/index/create', { table: 'users', columns: ['city', 'email'], unique: true }), 200);
      await page.getByRole('button', { name: 'Refresh' }).click();

      // A secondary range index, a fulltext and a vector index.
      await page.getByLabel('Index kind').selectOption('range');
      await page.getByLabel('Table', { exact: true }).fill('users');
      await page.getByLabel('Columns').fill('age');
      await page.getByRole('button', { name: 'Create index' }).click();
      await page.getByRole('status').filter({ hasText: 'Created range index users.age.' }).waitFor({ timeout: 15_000 });

      await page.getByLabel('Index kind').selectOption('fulltext');
      await page.getByLabel('Table', { exact: true }).fill('articles');
      await page.getByLabel('Column', { exact: true }).fill('body');
      await page.getByLabel('Language').selectOption('en');
      await page.getByRole('button', { name: 'Create index' }).click();
      await page.getByRole('status').filter({ hasText: 'Created fulltext index articles.body.' }).waitFor({ timeout: 15_000 });

      await page.getByLabel('Index kind').selectOption('vector');
      await page.getByLabel('Table', { exact: true }).fill('articles');
      await page.getByLabel('Vector field').fill('embedding');
      await page.getByLabel('Vector index name').fill('articles_emb');
      await page.getByLabel('Dimension').fill('4');
      await page.getByLabel('Metric').selectOption('COSINE');
      await page.getByRole('button', { name: 'Create index' }).click();
      await page.getByRole('status').filter({ hasText: 'Created vector index articles_emb.' }).waitFor({ timeout: 15_000 });

      // The API has them ...
      const tables = (await json(await s.req('GET', '/tables'))).tables as {
        name: string;
        indexes: { name: string; type: string }[];
        fulltext: { name: string }[];
        vector_indexes: { name: string; dimension: number; vectors: number }[];
      }[];
      const articles = tables.find((t) => t.name === 'articles')!;
      expect(articles.fulltext.map((f) => f.name)).toEqual(['articles.body']);
      expect(articles.vector_indexes).toEqual([expect.objectContaining({ name: 'articles_emb', dimension: 4, vectors: 6 })]);
      expect(
        tables
          .find((t) => t.name === 'users')!
          .indexes.map((i) => `${i.name} ${i.type}`)
          .sort(),
      ).toEqual(['users.age range', 'users.city,email equality']);

      // ... and the list shows each with its kind, fields and size.
      const rowOf = (name: string) => table.locator(`tr[data-index="${name}"]`);
      await rowOf('articles_emb').waitFor({ timeout: 15_000 });
      const cells = async (name: string) => (await rowOf(name).locator('td').allInnerTexts()).slice(0, 5);
      expect(await cells('users.city,email')).toEqual([
        'unique',
        'users.city,email',
        'users',
        'city, email',
        expect.stringMatching(/^50 entries/),
      ]);
      expect(await cells('users.age')).toEqual(['range', 'users.age', 'users', 'age', expect.stringMatching(/^50 entries/)]);
      expect(await cells('articles.body')).toEqual([
        'fulltext',
        'articles.body',
        'articles',
        'body',
        expect.stringMatching(/^6 documents/),
      ]);
      expect(await cells('articles_emb')).toEqual(['vector', 'articles_emb', 'articles', 'embedding', expect.stringMatching(/^6 vectors/)]);
      expect(await rowOf('articles_emb').innerText()).toContain('dimension 4');

      await page.screenshot({ path: screenshotPath('console-indexes.png') });

      // A server error (a second index on the same column) is shown in the server's words.
      await page.getByLabel('Index kind').selectOption('range');
      await page.getByLabel('Table', { exact: true }).fill('users');
      await page.getByLabel('Columns').fill('age');
      await page.getByRole('button', { name: 'Create index' }).click();
      const r = await s.req('POST', '/index/create', { table: 'users', column: 'age', type: 'range' });
      const apiErr = (await json(r)) as { message: string };
      expect(r.status).toBeGreaterThanOrEqual(400);
      await expect.poll(() => page.getByRole('alert').innerText(), { timeout: 15_000 }).toContain(apiErr.message);

      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
    120_000,
  );
});
