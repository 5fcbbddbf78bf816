import fs from 'node:fs';
import path from 'node:path';
import { ThemisError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../paths.js';
import type { AreaRoute, RouteArea } from '../route-area.js';
import { once, type Static, serveStatic, staticBody } from '../static.js';

/**
 * The web console (docs/console.md), without authentication like /docs: its shell and bundle carry
 * no data; every data call the page makes carries the API key the user signs in with.
 *
 * - `GET /ui`: the single page (`dist/console/index.html`, built by `npm run build:console`, Vite);
 * - `GET /ui/assets/{file}`: its scripts and styles, content-hashed file names, cached for a year.
 *
 * Files are read on first request and kept in memory (the bundle is a few hundred kB); the
 * allow-list is what the build wrote into `dist/console/assets`, nothing else of the disk.
 */

const CONSOLE_DIR = path.join(PACKAGE_ROOT, 'dist', 'console');

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * This origin only. `style-src 'unsafe-inline'`: CodeMirror and uPlot set styles from script
 * (style elements and attributes); scripts stay 'self'-only. `blob:` images: none today, but
 * downloads (CSV, PDF) are object URLs the page opens itself.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PAGE_HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
/** Asset names carry a content hash: a new build has new names, so a year of caching never serves a stale file. */
const ASSET_HEADERS = { 'Cache-Control': 'public, max-age=31536000, immutable', 'X-Content-Type-Options': 'nosniff' };

function notBuilt(): never {
  throw new ThemisError(
    'UNAVAILABLE',
    'the web console is not built in this installation (dist/console is missing): run `npm run build` (or `npm start`, which builds)',
  );
}

const page = once((): Static | undefined => {
  const file = path.join(CONSOLE_DIR, 'index.html');
  return fs.existsSync(file) ? staticBody(fs.readFileSync(file), 'text/html; charset=utf-8') : undefined;
});

/** name -> body, for every file the build put in dist/console/assets (read lazily, once each). */
const assets = once((): Map<string, () => Static> => {
  const dir = path.join(CONSOLE_DIR, 'assets');
  const m = new Map<string, () => Static>();
  if (!fs.existsSync(dir)) return m;
  for (const name of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type !== undefined)
      m.set(
        name,
        once(() => staticBody(fs.readFileSync(path.join(dir, name)), type)),
      );
  }
  return m;
});

export function consoleRoutes(): AreaRoute[] {
  const conditional = ['if-none-match'] as const;
  return [
    {
      method: 'GET',
      path: '/ui',
      headers: conditional,
      handler: (req) => serveStatic(req, page() ?? notBuilt(), PAGE_HEADERS),
    },
    {
      method: 'GET',
      path: '/ui/assets/:file',
      headers: conditional,
      handler: (req) => {
        const name = req.params.file!;
        const f = assets().get(name);
        if (f === undefined)
          throw new ThemisError('NOT_FOUND', `no console asset named "${name.slice(0, 80)}" (the console's files are under /ui/assets/)`);
        return serveStatic(req, f(), ASSET_HEADERS);
      },
    },
  ];
}

export const consoleArea: RouteArea = {
  name: 'console',
  routes: () => consoleRoutes(),
};
