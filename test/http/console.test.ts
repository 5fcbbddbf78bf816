import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_SKIP_REASON, launchBrowser, openConsole, RUN_BROWSER, screenshotPath, watchPage } from '../helpers/browser.js';
import { ADMIN_KEY, expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * The web console (issue 21, docs/console.md): GET /ui and its assets without a key, then the app in
 * a real browser: sign-in with a wrong and a right key, the key kept in sessionStorage only, pages
 * shown by the key's permissions, sign-out. The pages' own flows are in test/http/console-*.test.ts.
 */

const NO_AUTH = { authorization: '' };
let s: StartedServer;
let browser: Browser | undefined;

beforeAll(async () => {
  s = await startServer();
});

afterAll(async () => {
  await browser?.close();
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

describe('GET /ui and its assets', () => {
  it('the page is HTML with a same-origin CSP; every script and style it names is served with immutable caching and 304', async () => {
    const r = await s.req('GET', '/ui', undefined, NO_AUTH);
    await expectStatus(r, 200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    const html = await r.text();
    await expectStatus(await s.req('GET', '/ui/', undefined, NO_AUTH), 200);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith('data:'));
    expect(refs.length).toBeGreaterThanOrEqual(2);
    // Nothing from another host: every reference is one of the console's own assets.
    for (const u of refs) expect(u).toMatch(/^\/ui\/assets\/[\w.-]+\.(js|css)$/);
    for (const u of refs) {
      const a = await s.req('GET', u, undefined, NO_AUTH);
      await expectStatus(a, 200);
      expect(a.headers.get('content-type')).toBe(u.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      await expectStatus(await s.req('GET', u, undefined, { ...NO_AUTH, 'if-none-match': a.headers.get('etag')! }), 304);
    }
    await expectStatus(await s.req('GET', '/ui', undefined, { ...NO_AUTH, 'if-none-match': r.headers.get('etag')! }), 304);
  });

  it('only the built assets are reachable -> 404 NOT_FOUND for anything else', async () => {
    for (const name of ['index.html', '..%2Findex.html', '..%2F..%2Fpackage.json', 'nope.js']) {
      const r = await s.req('GET', `/ui/assets/${name}`, undefined, NO_AUTH);
      await expectStatus(r, 404);
      expect(await json(r)).toMatchObject({ error: true, status_code: 404, code: 'NOT_FOUND' });
    }
  });

  it('GET /api/whoami names the calling credential and its permissions; 401 without one', async () => {
    const me = await json(await s.req('GET', '/api/whoami'));
    expect(me).toEqual({ id: 'env-admin', kind: 'admin', name: expect.any(String), permissions: expect.arrayContaining(['admin']) });
    const created = await json(await s.req('POST', '/api/keys', { name: 'reader', permissions: ['data:read:users', 'stats:read'] }));
    const r = await s.req('GET', '/api/whoami', undefined, { authorization: `Bearer ${created.secret as string}` });
    await expectStatus(r, 200);
    expect(await json(r)).toEqual({ id: created.keyId, kind: 'api_key', name: 'reader', permissions: ['data:read:users', 'stats:read'] });
    const anon = await s.req('GET', '/api/whoami', undefined, NO_AUTH);
    await expectStatus(anon, 401);
    expect(await json(anon)).toMatchObject({ error: true, status_code: 401, code: 'UNAUTHORIZED' });
  });
});

describe('the console in a browser', () => {
  it.skipIf(!RUN_BROWSER)(
    `sign-in: a wrong key shows the server's message; the right key opens the console, kept in sessionStorage only; sign-out forgets it${BROWSER_SKIP_REASON}`,
    async () => {
      browser ??= await launchBrowser();
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      const watch = watchPage(page, s.base);
      await page.goto(`${s.base}/ui`, { waitUntil: 'load' });
      await page.getByLabel('API key').fill('tsk_wrong_key_000000000000000000000000000000000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/401 UNAUTHORIZED/);
      await page.screenshot({ path: screenshotPath('console-signin.png') });
      await page.getByLabel('API key').fill(ADMIN_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const nav = page.getByRole('navigation', { name: 'Console pages' });
      await nav.waitFor({ state: 'visible' });
      for (const name of ['Overview', 'Data', 'AQL', 'Indexes', 'Change feed', 'Search', 'Security & compliance'])
        await expect(nav.getByRole('link', { name }).isVisible(), name).resolves.toBe(true);
      expect(
        await page.evaluate<{ session: number; local: number; cookie: string }>(
          '({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie })',
        ),
      ).toEqual({
        session: 1,
        local: 0,
        cookie: '',
      });
      // A reload stays signed in (same tab).
      await page.reload({ waitUntil: 'load' });
      await nav.waitFor({ state: 'visible' });
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API key').waitFor({ state: 'visible' });
      expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
      expect(watch.foreign()).toEqual([]);
      expect(watch.problems).toEqual([]);
      await context.close();
    },
  );

  it.skipIf(!RUN_BROWSER)(`a key without admin sees only the pages its permissions allow${BROWSER_SKIP_REASON}`, async () => {
    browser ??= await launchBrowser();
    const created = await json(await s.req('POST', '/api/keys', { name: 'query-only', permissions: ['query:execute', 'stats:read'] }));
    const { context, page, watch } = await openConsole(browser, s, { key: created.secret as string });
    const links = await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link').allTextContents();
    expect(links).toEqual(['Overview', 'AQL']);
    await expect(page.getByText('Signed in as').textContent()).resolves.toContain('query-only');
    expect(watch.problems).toEqual([]);
    await context.close();
  });
});
