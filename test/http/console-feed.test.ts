import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_SKIP_REASON, launchBrowser, openConsole, RUN_BROWSER, screenshotPath } from '../helpers/browser.js';
import { expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * The console's Change feed and Search pages (console/src/pages/changefeed.tsx, search.tsx) in a
 * real browser: the live feed over SSE with a key-prefix filter and pause/resume without loss;
 * fulltext search with highlighted snippets and vector search, each compared with the HTTP API's
 * own answer.
 */

let s: StartedServer;
let browser: Browser | undefined;

const ARTICLES: { pk: string; title: string; body: string }[] = [
  {
    pk: 'a01',
    title: 'MVCC explained',
    body: 'MVCC (multi-version concurrency control) keeps several versions of a row so readers never block writers. With MVCC every transaction reads a consistent snapshot.',
  },
  {
    pk: 'a02',
    title: 'B-trees on disk',
    body: 'A B-tree keeps keys sorted in wide pages, so a lookup touches few disk blocks. Most relational databases store their indexes as B-trees.',
  },
  {
    pk: 'a03',
    title: 'Inside LevelDB',
    body: 'LevelDB is an embedded key-value store: writes go to a log and a memtable, then to sorted tables that compaction merges in the background.',
  },
  {
    pk: 'a04',
    title: 'HNSW graphs',
    body: 'HNSW builds a layered proximity graph for approximate nearest-neighbour search over vectors; a greedy walk from the top layer finds close points fast.',
  },
  {
    pk: 'a05',
    title: 'Snapshot isolation',
    body: 'Snapshot isolation is built on MVCC: each transaction sees the database as of its start, and the first committer wins when two write the same key.',
  },
  {
    pk: 'a06',
    title: 'Write-ahead logging',
    body: 'A write-ahead log records every change before it reaches the data files, so a crash loses nothing that was acknowledged.',
  },
  {
    pk: 'a07',
    title: 'LSM trees versus B-trees',
    body: 'Log-structured merge trees such as LevelDB trade read amplification for cheap sequential writes; B-trees update pages in place.',
  },
  {
    pk: 'a08',
    title: 'Garbage collection of versions',
    body: 'Old row versions pile up under MVCC; vacuum or compaction removes versions no running snapshot can still see.',
  },
  {
    pk: 'a09',
    title: 'BM25 ranking',
    body: 'BM25 scores a document by term frequency, inverse document frequency and length normalisation; it is the default ranking of most fulltext engines.',
  },
  {
    pk: 'a10',
    title: 'Bloom filters',
    body: 'A Bloom filter answers "definitely not present" without touching disk; LevelDB keeps one per sorted table to skip useless reads.',
  },
  {
    pk: 'a11',
    title: 'Change data capture',
    body: 'A change feed streams every committed write in order, so caches, search indexes and analytics stay in sync with the primary database.',
  },
  {
    pk: 'a12',
    title: 'Query planning',
    body: 'The planner picks an index scan when a predicate is selective and a full scan otherwise, estimating costs from statistics.',
  },
  {
    pk: 'a13',
    title: 'Vector databases',
    body: 'Vector databases index embeddings with HNSW or IVF so a k-nearest-neighbour query does not compare against every stored vector.',
  },
  {
    pk: 'a14',
    title: 'Two-phase locking',
    body: 'Two-phase locking acquires locks while a transaction grows and releases them only when it shrinks; unlike MVCC, readers can wait for writers.',
  },
  {
    pk: 'a15',
    title: 'Compaction strategies',
    body: 'Leveled compaction bounds space amplification, size-tiered compaction lowers write amplification; LevelDB uses levels.',
  },
  {
    pk: 'a16',
    title: 'Secondary indexes',
    body: 'A secondary index maps a column value to primary keys; it must be updated in the same transaction as the row it points to.',
  },
  {
    pk: 'a17',
    title: 'Replication basics',
    body: 'Leader-follower replication ships the log to followers; synchronous replication waits for an acknowledgement before commit.',
  },
  {
    pk: 'a18',
    title: 'Checkpoints',
    body: 'A checkpoint writes in-memory structures to disk so recovery replays only the log written after it.',
  },
  {
    pk: 'a19',
    title: 'Tokenizers and stemming',
    body: 'A fulltext analyzer splits text into tokens, lowercases them, drops stopwords and reduces words to their stems.',
  },
  {
    pk: 'a20',
    title: 'Time travel queries',
    body: 'Keeping old versions, as MVCC does, allows reading the database as of a past point in time.',
  },
];

/** items: 4-dimensional vectors in three clusters (L2). */
const ITEMS: { pk: string; name: string; category: string; embedding: number[] }[] = [];
const CLUSTERS: [string, number[]][] = [
  ['tools', [1, 0, 0, 0]],
  ['fruit', [0, 1, 0, 0]],
  ['books', [0, 0, 1, 0.5]],
];
const NAMES: Record<string, string[]> = {
  tools: ['hammer', 'wrench', 'screwdriver', 'pliers', 'saw', 'chisel', 'drill'],
  fruit: ['apple', 'pear', 'plum', 'cherry', 'banana', 'mango', 'kiwi'],
  books: ['atlas', 'novel', 'cookbook', 'dictionary', 'poems', 'manual'],
};
for (const [category, centre] of CLUSTERS) {
  NAMES[category]!.forEach((name, i) => {
    const embedding = centre.map((c, d) => Math.round((c + (((i * 7 + d * 3) % 5) - 2) * 0.04 * (d + 1)) * 1000) / 1000);
    ITEMS.push({ pk: `${category.slice(0, 1)}${String(i + 1).padStart(2, '0')}`, name, category, embedding });
  });
}

/** PUT /entities/{key}: 201 for a new key, 200 for a replaced one. */
async function put(path: string, body: { blob: Record<string, unknown> }): Promise<void> {
  const r = await s.req('PUT', path, body);
  expect([200, 201], `PUT ${path}: HTTP ${r.status} ${await r.clone().text()}`).toContain(r.status);
}

async function del(path: string): Promise<void> {
  const r = await s.req('DELETE', path);
  expect(r.status, `DELETE ${path}: ${await r.clone().text()}`).toBe(200);
  expect(await json(r)).toMatchObject({ deleted: true });
}

beforeAll(async () => {
  s = await startServer();
  for (const a of ARTICLES) await put(`/entities/articles:${a.pk}`, { blob: { title: a.title, body: a.body } });
  await expectStatus(
    await s.req('POST', '/index/create', { table: 'articles', column: 'body', type: 'fulltext', config: { language: 'en' } }),
    200,
  );
  await expectStatus(
    await s.req('POST', '/vector/index/create', { name: 'items_vec', table: 'items', field: 'embedding', dimension: 4, metric: 'L2' }),
    201,
  );
  const ins = await json(
    await s.req('POST', '/vector/batch_insert', {
      index: 'items_vec',
      items: ITEMS.map((it) => ({ pk: it.pk, vector: it.embedding, fields: { name: it.name, category: it.category } })),
    }),
  );
  expect(ins).toMatchObject({ errors: 0 });
});

afterAll(async () => {
  await browser?.close();
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

const T = { timeout: 15_000 };

/** The keys of the feed's rows, newest first. */
async function feedKeys(page: Page): Promise<string[]> {
  return page.locator('table[aria-label="Change events"] td.cf-key').allTextContents();
}

/** The operations of the feed's rows, newest first. */
async function feedOps(page: Page): Promise<string[]> {
  return page.locator('table[aria-label="Change events"] tbody tr td:nth-child(3)').allTextContents();
}

async function waitForKey(page: Page, key: string): Promise<void> {
  await page
    .locator('table[aria-label="Change events"] td.cf-key', { hasText: new RegExp(`^${key}$`) })
    .first()
    .waitFor(T);
}

describe('console: Change feed', () => {
  it.skipIf(!RUN_BROWSER)(
    `a prefix-filtered live feed: writes arrive with key and operation, other tables stay out, pause/resume loses nothing${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const { context, page, watch } = await openConsole(browser, s, { route: 'changefeed' });
      const state = page.getByRole('status', { name: 'Connection state' });
      await state.filter({ hasText: /Live\s*Following all keys/ }).waitFor(T);
      // Starts at "now": none of the seeded writes is shown.
      expect(await feedKeys(page)).toEqual([]);

      await page.getByLabel('Key prefix').fill('articles:');
      await page.getByRole('button', { name: 'Apply' }).click();
      await state.filter({ hasText: /Live\s*Following keys starting with articles:/ }).waitFor(T);

      await put('/entities/articles:new1', { blob: { title: 'MVCC in practice', body: 'Readers never wait.' } });
      await waitForKey(page, 'articles:new1');
      expect(await feedKeys(page)).toEqual(['articles:new1']);
      expect(await feedOps(page)).toEqual(['put']);
      // The value is there, collapsed, and opens as pretty JSON.
      const firstRow = page.locator('table[aria-label="Change events"] tbody tr').first();
      await expect(firstRow.locator('summary').textContent()).resolves.toContain('"title":"MVCC in practice"');

      // Another table's write is a real change of the log, but not shown under the prefix.
      await put('/entities/notes:n1', { blob: { text: 'not an article' } });
      const notes = await json<{ entries: { key: string }[] }>(await s.req('GET', '/changefeed?from_seq=0&key_prefix=notes:'));
      expect(notes.entries.map((e) => e.key)).toEqual(['notes:n1']);
      await put('/entities/articles:new2', { blob: { title: 'B-tree splits', body: 'Pages split when full.' } });
      await del('/entities/articles:a05');
      await waitForKey(page, 'articles:a05');
      expect(await feedKeys(page)).toEqual(['articles:a05', 'articles:new2', 'articles:new1']);
      expect(await feedOps(page)).toEqual(['delete', 'put', 'put']);

      // Pause: the stream closes; a write meanwhile is counted but not shown, and arrives on resume.
      await page.getByRole('button', { name: 'Pause' }).click();
      await state.filter({ hasText: /Paused/ }).waitFor(T);
      await put('/entities/articles:new3', { blob: { title: 'LevelDB compaction', body: 'Levels merge.' } });
      await page.getByRole('status', { name: 'Waiting changes' }).filter({ hasText: '1 new while paused' }).waitFor(T);
      expect(await feedKeys(page)).toEqual(['articles:a05', 'articles:new2', 'articles:new1']);
      await page.getByRole('button', { name: 'Resume' }).click();
      await waitForKey(page, 'articles:new3');
      await state.filter({ hasText: /Live/ }).waitFor(T);
      // A few more changes, live, for a mixed feed.
      await put('/entities/articles:new1', { blob: { title: 'MVCC in practice', body: 'Readers never wait.', rev: 2 } });
      await del('/entities/articles:a10');
      await put('/entities/articles:a04', {
        blob: { title: 'HNSW graphs', body: 'Layered proximity graphs.', tags: ['vector', 'ann'] },
      });
      await waitForKey(page, 'articles:a04');
      // Every change exactly once, in order, newest first.
      expect(await feedKeys(page)).toEqual([
        'articles:a04',
        'articles:a10',
        'articles:new1',
        'articles:new3',
        'articles:a05',
        'articles:new2',
        'articles:new1',
      ]);
      expect(await feedOps(page)).toEqual(['put', 'delete', 'put', 'put', 'delete', 'put', 'put']);
      const seqs = (await page.locator('table[aria-label="Change events"] tbody tr td:first-child').allTextContents()).map(Number);
      const log = await json<{ entries: { seq: number }[] }>(
        await s.req('GET', `/changefeed?from_seq=${seqs.at(-1)! - 1}&key_prefix=articles:`),
      );
      expect(seqs).toEqual(log.entries.map((e) => e.seq).reverse());
      await page.locator('table[aria-label="Change events"] tbody tr').nth(0).locator('summary').click();
      await expect(page.locator('table[aria-label="Change events"] tbody tr').nth(0).locator('pre.json').textContent()).resolves.toContain(
        '"ann"',
      );
      await page.screenshot({ path: screenshotPath('console-changefeed.png') });

      // Leaving the page aborts the stream (net::ERR_ABORTED is not a problem).
      await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Search' }).click();
      await page.getByRole('tab', { name: 'Fulltext' }).waitFor(T);
      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
  );
  it.skipIf(!RUN_BROWSER)(
    `from the beginning of the log; a prefix the key may not read stops with the server's 403 message${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const created = await json(await s.req('POST', '/api/keys', { name: 'articles-reader', permissions: ['data:read:articles'] }));
      const key = created.secret as string;
      const { context, page, watch } = await openConsole(browser, s, { key, route: 'changefeed' });
      const state = page.getByRole('status', { name: 'Connection state' });
      await state.filter({ hasText: /Live/ }).waitFor(T);

      // From sequence 0 with the prefix: every articles change of the log, newest first.
      const log = await json<{ entries: { seq: number; key: string; op: string }[] }>(
        await s.req('GET', '/changefeed?from_seq=0&limit=1000&key_prefix=articles:'),
      );
      expect(log.entries.length).toBeGreaterThan(20);
      await page.getByLabel('Key prefix').fill('articles:');
      await page.getByLabel('Start at').selectOption('beginning');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page
        .locator('table[aria-label="Change events"] tbody tr')
        .nth(log.entries.length - 1)
        .waitFor(T);
      expect(await feedKeys(page)).toEqual(log.entries.map((e) => e.key).reverse());
      expect(await feedOps(page)).toEqual(log.entries.map((e) => e.op).reverse());

      // notes: is not this key's table: the stream is refused, and the page says why in the server's words.
      const refused = await s.req('GET', '/changefeed/stream?key_prefix=notes:', undefined, { authorization: `Bearer ${key}` });
      await expectStatus(refused, 403);
      const { message } = await json<{ message: string }>(refused);
      await page.getByLabel('Key prefix').fill('notes:');
      await page.getByLabel('Start at').selectOption('now');
      await page.getByRole('button', { name: 'Apply' }).click();
      await state.filter({ hasText: /Error/ }).waitFor(T);
      expect(await page.getByRole('alert').textContent()).toContain(message);
      expect(await page.getByRole('alert').textContent()).toContain('403');
      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
  );
});

describe('console: Search', () => {
  it.skipIf(!RUN_BROWSER)(
    `fulltext hits in the API's order with the term in <mark>; a syntax error shows the server's message${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const api = await json<{ hits: { key: string; score: number }[]; total: number }>(
        await s.req('POST', '/search/fulltext', { table: 'articles', column: 'body', query: 'mvcc', limit: 10 }),
      );
      expect(api.hits.length).toBeGreaterThanOrEqual(4);
      const { context, page, watch } = await openConsole(browser, s, { route: 'search' });
      await page.getByLabel('Table').selectOption('articles');
      await expect(page.getByLabel('Column').inputValue()).resolves.toBe('body');
      await page.getByLabel('Query', { exact: true }).fill('mvcc');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const results = page.getByRole('region', { name: 'Fulltext results' });
      await results.locator('.sr-key').first().waitFor(T);
      expect(await results.locator('.sr-key').allTextContents()).toEqual(api.hits.map((h) => h.key));
      expect(await results.getByRole('status').textContent()).toContain(`${api.hits.length} of ${api.total} matching documents`);
      const scores = await results.locator('.sr-hit-head .badge').allTextContents();
      expect(scores).toEqual(api.hits.map((h) => `score ${h.score.toFixed(3)}`));
      // Every hit's snippet marks the term (case-insensitively), and only it.
      const firstMarks = await results.locator('.sr-hit').first().locator('mark').allTextContents();
      expect(firstMarks.length).toBeGreaterThanOrEqual(1);
      for (const hit of await results.locator('.sr-hit').all()) {
        const marks = await hit.locator('mark').allTextContents();
        expect(marks.length).toBeGreaterThanOrEqual(1);
        for (const m of marks) expect(m.toLowerCase()).toBe('mvcc');
      }
      await expect(results.locator('.sr-hit').first().locator('.sr-snippet').textContent()).resolves.toContain(
        'multi-version concurrency control',
      );
      await page.screenshot({ path: screenshotPath('console-search.png') });

      // The document opens on demand.
      await results.locator('.sr-hit').first().locator('summary').click();
      await expect(results.locator('.sr-hit').first().locator('pre.json').textContent()).resolves.toContain('"title": "');

      // A syntax error: the server's message, word for word.
      const bad = await s.req('POST', '/search/fulltext', { table: 'articles', column: 'body', query: '(mvcc', limit: 10 });
      await expectStatus(bad, 400);
      const badBody = await json<{ message: string }>(bad);
      await page.getByLabel('Query', { exact: true }).fill('(mvcc');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('alert').waitFor(T);
      expect(await page.getByRole('alert').textContent()).toContain(badBody.message);
      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
  );

  it.skipIf(!RUN_BROWSER)(
    `vector search returns the API's nearest keys; a wrong dimension is refused without a request${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const query = [0.95, 0.08, 0.02, -0.03];
      const api = await json<{ results: { pk: string; distance: number }[] }>(
        await s.req('POST', '/vector/search', { index: 'items_vec', vector: query, k: 8 }),
      );
      // The API's nearest is the true nearest (brute force, squared L2).
      const dist = (v: number[]) => v.reduce((acc, x, i) => acc + (x - query[i]!) ** 2, 0);
      const nearest = [...ITEMS].sort((a, b) => dist(a.embedding) - dist(b.embedding))[0]!;
      expect(api.results[0]!.pk).toBe(nearest.pk);

      const { context, page, watch } = await openConsole(browser, s, { route: 'search/vector' });
      await page.getByLabel('Vector index').selectOption('items_vec');
      await page.getByLabel('Query vector').fill(`[${query.join(', ')}]`);
      await page.getByLabel('k (neighbours)').fill('8');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const table = page.getByRole('table', { name: 'Vector hits' });
      await table.waitFor(T);
      const keys = await table.locator('td.vr-key').allTextContents();
      expect(keys).toEqual(api.results.map((r) => `items:${r.pk}`));
      expect(keys[0]).toBe(`items:${nearest.pk}`);
      expect(await table.locator('tbody tr td:nth-child(3)').allTextContents()).toEqual(api.results.map((r) => r.distance.toFixed(4)));
      // The hit's document, without its vector.
      const doc = await table.locator('tbody tr').first().locator('summary').textContent();
      expect(doc).toBe(JSON.stringify({ name: nearest.name, category: 'tools' }));
      await page.screenshot({ path: screenshotPath('console-vector-search.png') });

      const sent = () => watch.requested.filter((u) => u.endsWith('/vector/search')).length;
      const before = sent();
      await page.getByLabel('Query vector').fill('[1, 2, 3]');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('alert').waitFor(T);
      expect(await page.getByRole('alert').textContent()).toBe('Query vector has 3 numbers, but the index items_vec has dimension 4.');
      await page.getByLabel('Query vector').fill('[1, "two", 3, 4]');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'numbers only' }).waitFor(T);
      expect(await page.getByRole('alert').textContent()).toBe('Query vector must hold numbers only: item 2 is "two".');
      expect(sent()).toBe(before);
      expect(await table.count()).toBe(0);
      expect(watch.problems).toEqual([]);
      expect(watch.foreign()).toEqual([]);
      await context.close();
    },
  );
});
