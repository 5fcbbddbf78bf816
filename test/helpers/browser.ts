import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { ADMIN_KEY, ROOT, type StartedServer } from './server.js';

/**
 * Pages in a real browser: playwright-core drives Debian's `chromium` (it downloads no browser of its
 * own). Without chromium the browser tests are skipped with the reason in their titles; with
 * THEMIS_REQUIRE_BROWSER=1 (CI, .ci/run) they fail instead. CHROMIUM names another binary.
 * THEMIS_UPDATE_SCREENSHOTS=1 writes screenshots to docs/images/ (the docs show them); otherwise they
 * go to a temporary folder.
 */

export const CHROMIUM = process.env.CHROMIUM ?? 'chromium';
export const BROWSER_REQUIRED = process.env.THEMIS_REQUIRE_BROWSER === '1';
const probe = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' });
export const HAVE_BROWSER = probe.error === undefined && probe.status === 0;
/** Run browser tests when chromium is there, or when CI requires it (they then fail). */
export const RUN_BROWSER = HAVE_BROWSER || BROWSER_REQUIRED;
export const BROWSER_SKIP_REASON = HAVE_BROWSER
  ? ''
  : BROWSER_REQUIRED
    ? ` (${CHROMIUM} not found and THEMIS_REQUIRE_BROWSER=1: fails)`
    : ` (skipped: ${CHROMIUM} not found; apt-get install chromium, or set THEMIS_REQUIRE_BROWSER=1 to fail instead)`;

/** The binary's absolute path (playwright wants one). */
function binaryPath(cmd: string): string {
  if (cmd.includes('/')) return cmd;
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.stdout.trim() || cmd;
}

export async function launchBrowser(): Promise<Browser> {
  expect(HAVE_BROWSER, `${CHROMIUM} is not installed but THEMIS_REQUIRE_BROWSER=1 (apt-get install chromium)`).toBe(true);
  const { chromium } = await import('playwright-core');
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: binaryPath(CHROMIUM), args: ['--no-sandbox'] });
}

let tmpShots: string | undefined;
/** Where the screenshot `name` goes: docs/images/ with THEMIS_UPDATE_SCREENSHOTS=1, else a temporary folder. */
export function screenshotPath(name: string): string {
  if (process.env.THEMIS_UPDATE_SCREENSHOTS === '1') return path.join(ROOT, 'docs/images', name);
  tmpShots ??= fs.mkdtempSync(path.join(os.tmpdir(), 'themis-shot-'));
  return path.join(tmpShots, name);
}

/** What went wrong on a page: failed requests, script errors, console errors (a CSP violation shows as one), requests to another host. */
export interface PageWatch {
  problems: string[];
  requested: string[];
  /** Requests to any host but the server's (data: and blob: URLs aside). */
  foreign(): string[];
}

export function watchPage(page: Page, base: string, opts: { allowConsoleErrors?: RegExp } = {}): PageWatch {
  const problems: string[] = [];
  const requested: string[] = [];
  page.on('request', (q) => requested.push(q.url()));
  page.on('requestfailed', (q) => {
    const err = q.failure()?.errorText ?? '?';
    // A stream the page closes itself (the change feed when leaving its page) is aborted, not failed.
    if (err !== 'net::ERR_ABORTED') problems.push(`request failed: ${q.url()} (${err})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // The browser logs every 4xx answer a page's fetch gets; tests provoke some on purpose.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    if (opts.allowConsoleErrors?.test(text)) return;
    problems.push(`console: ${text}`);
  });
  const host = new URL(base).host;
  return {
    problems,
    requested,
    foreign: () =>
      requested.filter((u) => {
        const url = new URL(u);
        return url.protocol !== 'data:' && url.protocol !== 'blob:' && url.host !== host;
      }),
  };
}

/** Opens the console at `/ui#/<route>` and signs in with `key` (the admin key by default). */
export async function openConsole(
  browser: Browser,
  s: StartedServer,
  opts: { key?: string; route?: string; width?: number; height?: number } = {},
) {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 } });
  const page = await context.newPage();
  const watch = watchPage(page, s.base);
  const res = await page.goto(`${s.base}/ui${opts.route ? `#/${opts.route}` : ''}`, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  await page.getByLabel('API key').fill(opts.key ?? ADMIN_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console pages' }).waitFor({ state: 'visible', timeout: 15_000 });
  return { context, page, watch };
}
